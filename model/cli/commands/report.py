"""``capex report PATH...``: simulate each scenario and write its report (and, for several, a
comparison page and the index of the report root)."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path

from ...core.errors import AssumptionError, Problem, display_path
from ...core.portfolio import Portfolio
from ...engine.portfolio import simulate_portfolio
from ...engine.schedulers import map_tasks
from ...engine.simulate import simulate
from ...loading.paths import default_paths, expand_paths
from ...loading.portfolio import is_portfolio_file, load_portfolio
from ...loading.scenario import load_scenario
from ...reporting import content
from ...reporting.bubble import BUBBLE_DIR
from ...reporting.report import (
    build_report,
    check_report_targets,
    prepare_report,
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
        if is_portfolio_file(path):
            try:
                scenarios.append(load_portfolio(path))
            except AssumptionError as e:
                problems.extend(e.problems)
            continue
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


def _simulate(target, settings: dict):
    """One scenario's run, or a portfolio's (its members on the same draws)."""
    run = {k: settings[k] for k in ("draws", "seed", "design", "progress", "workers")}
    if isinstance(target, Portfolio):
        return simulate_portfolio(target, **run)
    return simulate(target, series_draws=settings["series_draws"], **run)


def report_task(item):
    """One scenario's run and the slow part of its report (a task of
    :func:`model.engine.schedulers.map_tasks`): ``(target, settings) -> (Results, prepared)``."""
    target, settings = item
    with _workers_env(settings["workers"]):
        res = _simulate(target, settings)
        res.targets = [t for t in settings["targets"] if t.metric in res.metrics]
        return res, prepare_report(res, settings["sensitivity"])


@contextmanager
def _workers_env(workers):
    """``CAPEX_WORKERS`` set to ``workers`` meanwhile (a task of several runs in parallel uses
    one process, its analyses too), as it was afterwards."""
    before = os.environ.get("CAPEX_WORKERS")
    if workers is not None:
        os.environ["CAPEX_WORKERS"] = str(workers)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("CAPEX_WORKERS", None)
        else:
            os.environ["CAPEX_WORKERS"] = before


def run_reports(scenarios, args, targets) -> tuple[list, list]:
    """Every scenario's run and report preparation: several scenarios in parallel, one task
    each (``--scheduler``; each task runs its own draws in one process), one scenario on every
    worker."""
    settings = dict(
        draws=args.draws,
        seed=args.seed,
        design=args.design,
        series_draws=args.series_draws,
        sensitivity=not args.no_sensitivity,
        targets=targets,
        progress=not args.quiet and len(scenarios) == 1,
        workers=args.workers if len(scenarios) == 1 else 1,
    )
    items = [(sc, settings) for sc in scenarios]
    if len(scenarios) == 1:
        done = [report_task(items[0])]
    else:
        done = map_tasks(report_task, items, args.scheduler, workers=args.workers)
    return [r for r, _ in done], [p for _, p in done]


def cmd_report(args) -> int:
    check_run_args(args)
    args.paths = default_paths(args.paths or None)
    scenarios, skipped = load_targets(args.paths, args.scenario, args.overlays)
    names = [report_folder_name(sc) for sc in scenarios]
    root, finals = report_targets(names, Path(args.out) if args.out else None)
    check_report_targets(root, finals, len(names) > 1, create=False)  # before the work
    for p in skipped:
        print(f"skipped {display_path(p)}: partial base (partial: true)", file=sys.stderr)
    targets = probability_targets(args)[0]
    results, prepared = run_reports(scenarios, args, targets)
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
        prepared=prepared,
    )
    for res, path in zip(results, written):
        p = content.headline(res, None)["probabilities"][0]
        print(
            f"wrote {display_path(path)}/report.html (+ report.md, figures/, summary.json): "
            f"{p['label']} = {p['text']}"
        )
    for path in written[len(results) :]:
        page = "/bubble.html" if path.name == BUBBLE_DIR else "/compare.html"
        print(f"wrote {display_path(path)}" + (page if path.is_dir() else ""))
    return 0
