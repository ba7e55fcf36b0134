"""``capex validate PATH...``: check assumption files and every overlay they define."""

from __future__ import annotations

from ...core.errors import AssumptionError, Problem
from ...loading.paths import expand_paths
from ...loading.scenario import load_with_overlays
from ..jsonout import print_json


def cmd_validate(args) -> int:
    files = [f for f, _ in expand_paths(args.paths or ["assumptions"])]
    problems: list[Problem] = []
    lines = []
    for f in files:
        sc, _, file_problems = load_with_overlays(f, allow_partial=True)
        if sc is None or file_problems:
            problems.extend(file_problems)
            continue
        lines.append(f"ok  {f}: {_summary(sc)}")
    if args.json:
        print_json(
            {
                "ok": not problems,
                "files": [str(f) for f in files],
                "problems": [str(p) for p in problems],
            }
        )
    else:
        print("\n".join(lines))
    if problems:
        raise AssumptionError(problems)
    return 0


def _summary(sc) -> str:
    c = sc.provenance_counts()
    kind = "partial base" if sc.partial else sc.model
    ov = f"; overlays: {', '.join(sc.overlays)}" if sc.overlays else ""
    if sc.unused:
        ov += f"; ignored (unused by its switches): {', '.join(sc.unused)}"
    return (
        f"{kind}, {c['parameters']} parameters ({c['sourced']} sourced, "
        f"{c['hypothetical']} hypothetical), {len(sc.uncertain())} uncertain{ov}"
    )
