"""``capex run PATH``: one Monte Carlo run; its summary, its JSON, its output folder, its report."""

from __future__ import annotations

import json
from pathlib import Path

from ...core.errors import AssumptionError, Problem
from ...engine.simulate import goes_out_of_core, parse_memory, simulate
from ...engine.store import STORE_NAME, relocate
from ...loading.paths import default_paths
from ...loading.scenario import load_scenario
from ...reporting.outputs import OwnedOutput, check_target
from ...reporting.text import summary_table
from ..common import check_run_args, command_text, probability_targets
from ..jsonout import print_json


def _check_targets(res) -> None:
    """Every ``--prob`` target names a metric of this run's model (exit 2 otherwise)."""
    problems = [
        Problem(
            f"--prob {t.key}: {t.metric!r} is not a metric of the {res.model} model; use one of "
            + ", ".join(res.metric_names),
            str(res.scenario.path),
            None,
            "--prob",
        )
        for t in res.targets
        if t.metric not in res.metrics
    ]
    if problems:
        raise AssumptionError(problems)


def _formats(args) -> tuple[str, ...]:
    """The files ``--format`` adds to ``--out`` (checked before the run: exit 2 for a name that
    is not a format, a missing library, or ``--format`` without ``--out``)."""
    if getattr(args, "format", None) is None:
        return ()
    if not args.out:
        raise AssumptionError(
            Problem(
                "needs --out DIR, the folder its files go into; e.g. --out results "
                f"--format {args.format}",
                parameter="--format",
            )
        )
    from ...reporting.exports import parse_formats  # deferred: only --format needs it

    return parse_formats(args.format)


def _simulate_kw(args, progress: bool) -> dict:
    return dict(
        draws=args.draws,
        seed=args.seed,
        design=args.design,
        precision=args.precision,
        max_draws=args.max_draws,
        progress=progress,
        workers=args.workers,
        series_draws=args.series_draws,
        scheduler=getattr(args, "scheduler", None),
        memory_budget=getattr(args, "memory_budget", None),
    )


def _finish(res, args, progress: bool) -> None:
    """The ``--prob`` targets and the posterior check of a finished run."""
    res.targets = probability_targets(args)[0]
    _check_targets(res)
    if not args.no_posterior_check:
        from ...analysis.posterior import posterior_check  # deferred: refits, only if calibrated

        res.posterior_check = posterior_check(
            res, workers=args.workers, progress=progress, scheduler=getattr(args, "scheduler", None)
        )


def _over_budget(sc, args) -> bool:
    """True when ``--out`` is given and the run is over the memory budget (it then streams its
    draws to ``DIR/draws.zarr``)."""
    if not args.out:
        return False
    try:
        budget = None if args.memory_budget is None else parse_memory(args.memory_budget)
    except ValueError:
        return False  # simulate reports it
    draws = args.max_draws if args.precision is not None else args.draws
    return goes_out_of_core(sc, draws, args.series_draws, args.workers, budget)


def _run_into_store(sc, path, args, formats, progress) -> tuple:
    """An out-of-core run with ``--out DIR``: the draws stream to ``DIR/draws.zarr`` in the
    owned folder's staging copy; the summaries are written beside it, and the folder is
    swapped in only when everything is written (``model.reporting.outputs.OwnedOutput``)."""
    if formats:
        raise AssumptionError(
            Problem(
                "--format writes every draw into one file, but this run is over its memory "
                "budget and streams its draws to DIR/draws.zarr (xarray.open_zarr reads it); "
                "leave out --format, or raise --memory-budget",
                parameter="--format",
            )
        )
    command = command_text("run", [path], args, ("--out", args.out))
    with OwnedOutput(Path(args.out), command=command, kind="run") as folder:
        res = simulate(
            sc, **_simulate_kw(args, progress), store=folder.path_for(STORE_NAME), out_of_core=True
        )
        _finish(res, args, progress)
        res.compute_summaries()
        folder.write_text("summary.json", json.dumps(res.to_json_dict(), indent=2) + "\n")
        res.summary().to_csv(folder.path_for("summary.csv"), index_label="metric")
    relocate(res, Path(args.out) / STORE_NAME)
    return res, [STORE_NAME, "summary.csv", "summary.json"]


def cmd_run(args) -> int:
    check_run_args(args)
    formats = _formats(args)
    path = default_paths([args.path] if args.path else None)[0]
    sc = load_scenario(path, scenario=args.scenario)
    if args.out:  # before the work: a folder that cannot take the output stops here
        check_target(Path(args.out))
    if args.report and args.report_out:
        check_target(Path(args.report_out), "--report-out")
    progress = not args.quiet and not args.json
    if _over_budget(sc, args):
        res, out_files = _run_into_store(sc, path, args, formats, progress)
    else:
        res = simulate(sc, **_simulate_kw(args, progress))
        _finish(res, args, progress)
        if args.out:
            from ...reporting.exports import write_run_outputs  # deferred: xarray, pandas

            out_args = ("--out", args.out) + (("--format", ",".join(formats)) if formats else ())
            out_files = write_run_outputs(
                res,
                Path(args.out),
                command=command_text("run", [path], args, out_args),
                formats=formats,
            )
    report_paths = []
    if args.report:
        from ...reporting import build_report  # deferred: matplotlib, Jinja2

        written = build_report(
            [res],
            out=Path(args.report_out) if args.report_out else None,
            command=f"capex run {path} --report",
            posterior_check=not args.no_posterior_check,
        )
        report_paths = [str(p) for p in written]
    if args.json:
        timings = {"simulate": res.elapsed_seconds} if getattr(args, "timings", False) else None
        print_json(res.to_json_dict(), timings=timings)
        return 0
    print(summary_table(res))
    if args.out:
        print(f"\nwrote {args.out}/{', '.join(out_files)}")
    for p in report_paths:
        print(f"report: {p}")
    return 0
