"""``capex validate PATH...``: check assumption files and every overlay they define."""

from __future__ import annotations

from ...core.errors import AssumptionError, Problem
from ...loading.paths import expand_paths
from ...loading.portfolio import is_portfolio_file, load_portfolio
from ...loading.scenario import load_with_overlays
from ..jsonout import print_json


def cmd_validate(args) -> int:
    files = [f for f, _ in expand_paths(args.paths or ["assumptions"])]
    problems: list[Problem] = []
    lines = []
    for f in files:
        if is_portfolio_file(f):
            try:
                lines.append(f"ok  {f}: {_portfolio_summary(load_portfolio(f))}")
            except AssumptionError as e:
                problems.extend(e.problems)
            continue
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


def _portfolio_summary(pf) -> str:
    members = ", ".join(m.name + (f" [{m.overlay}]" if m.overlay else "") for m in pf.members)
    c = pf.as_scenario().provenance_counts()
    return (
        f"portfolio of {len(pf.members)} members ({members}); shared: "
        f"{', '.join(pf.shared) or 'none'}; {c['parameters']} parameters ({c['sourced']} "
        f"sourced, {c['hypothetical']} hypothetical); {len(pf.correlations)} correlations "
        "between members"
    )


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
