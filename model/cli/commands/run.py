"""``capex run PATH``: one Monte Carlo run; its summary, its JSON, its output folder, its report."""

from __future__ import annotations

from pathlib import Path

from ...core.errors import AssumptionError, Problem
from ...engine.simulate import simulate
from ...loading.paths import default_paths
from ...loading.scenario import load_scenario
from ...reporting.outputs import check_target
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
    res = simulate(
        sc,
        draws=args.draws,
        seed=args.seed,
        design=args.design,
        precision=args.precision,
        max_draws=args.max_draws,
        progress=progress,
        workers=args.workers,
        series_draws=args.series_draws,
    )
    res.targets = probability_targets(args)[0]
    _check_targets(res)
    if not args.no_posterior_check:
        from ...analysis.posterior import posterior_check  # deferred: refits, only if calibrated

        res.posterior_check = posterior_check(res, workers=args.workers, progress=progress)
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
