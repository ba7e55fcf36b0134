"""``capex report PATH...``: simulate each scenario and write its report (and, for several, a
comparison page and the index of the report root)."""

from __future__ import annotations

import sys
from pathlib import Path

from ...core.errors import AssumptionError, Problem, display_path
from ...engine.simulate import simulate
from ...loading.paths import default_paths, expand_paths
from ...loading.scenario import load_scenario
from ...reporting import content
from ...reporting.report import (
    build_report,
    check_report_targets,
    report_folder_name,
    report_targets,
)
from ..common import check_run_args, command_text, probability_targets


def load_targets(paths: list[str], scenario: str | None = None, overlays: bool = False):
    """Load every scenario to report (all problems at once); skip partial bases of folders.

    Returns ``(scenarios, skipped)`` where ``skipped`` lists the partial files left out.
    """
    problems: list[Problem] = []
    scenarios, skipped = [], []
    for path, from_folder in expand_paths(paths):
        try:
            base = load_scenario(path, allow_partial=True)
        except AssumptionError as e:
            problems.extend(e.problems)
            continue
        if base.partial:
            if from_folder:
                skipped.append(path)
            else:
                problems.append(
                    Problem(
                        "is a partial base (partial: true), not a runnable "
                        "scenario; report a file that extends it",
                        str(path),
                    )
                )
            continue
        wanted = [scenario] if scenario else [None]
        if overlays and not scenario:
            wanted += list(base.overlays)
        for ov in wanted:
            try:
                scenarios.append(base if ov is None else load_scenario(path, scenario=ov))
            except AssumptionError as e:
                problems.extend(e.problems)
    if problems:
        raise AssumptionError(problems)
    if not scenarios:
        raise AssumptionError(
            Problem(
                "no runnable scenario found (only partial bases); name a file that extends them",
                parameter="PATH",
            )
        )
    return scenarios, skipped


def cmd_report(args) -> int:
    check_run_args(args)
    args.paths = default_paths(args.paths or None)
    scenarios, skipped = load_targets(args.paths, args.scenario, args.overlays)
    names = [report_folder_name(sc) for sc in scenarios]
    root, finals = report_targets(names, Path(args.out) if args.out else None)
    check_report_targets(root, finals, len(names) > 1)  # before the work
    for p in skipped:
        print(f"skipped {display_path(p)}: partial base (partial: true)", file=sys.stderr)
    results = [
        simulate(
            sc,
            draws=args.draws,
            seed=args.seed,
            design=args.design,
            progress=not args.quiet,
            workers=args.workers,
            series_draws=args.series_draws,
        )
        for sc in scenarios
    ]
    targets = probability_targets(args)[0]
    for res in results:
        res.targets = [t for t in targets if t.metric in res.metrics]
    extra = (
        [x for t in targets for x in ("--prob", t.key)]
        + (["--out", args.out] if args.out else [])
        + (["--no-sensitivity"] if args.no_sensitivity else [])
        + (["--overlays"] if args.overlays else [])
    )
    written = build_report(
        results,
        out=Path(args.out) if args.out else None,
        command=command_text("report", args.paths, args, tuple(extra)),
        sensitivity=not args.no_sensitivity,
    )
    for res, path in zip(results, written):
        p = content.headline(res, None)["probabilities"][0]
        print(
            f"wrote {display_path(path)}/report.html (+ report.md, figures/, summary.json): "
            f"{p['label']} = {p['text']}"
        )
    for path in written[len(results) :]:
        print(f"wrote {display_path(path)}" + ("/compare.html" if path.is_dir() else ""))
    return 0
