"""Commands that need the Monte Carlo engine: run, compare (sensitivity, calibrate and report
register themselves from their own modules through :func:`register`)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from .jsonout import print_json
from .errors import AssumptionError, Problem
from .units import format_amount

DEFAULT_DRAWS = 10_000
DEFAULT_SEED = 0


def count(text: str) -> int:
    """A whole number as users write it on the command line: 10000, 10_000, 1e6, 1M."""
    import argparse

    from .units import parse_amount

    try:
        x = parse_amount(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; write e.g. 10000 or 1e6")
    if x != int(x) or abs(x) > 1e15:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number; write e.g. 10000")
    return int(x)


def add_run_options(p, draws: int = DEFAULT_DRAWS, one_scenario: bool = True,
                    workers: bool = False) -> None:
    """Options shared by every command that simulates (``--workers`` for those that run
    :func:`model.simulation.simulate`)."""
    if one_scenario:
        p.add_argument("--scenario", help="apply a named overlay from the file's scenarios:")
    p.add_argument("--draws", type=count, default=draws,
                   help=f"Monte Carlo draws, e.g. 10000 or 1e6 (default {draws:,})")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED,
                   help="random seed (default 0): same inputs + same seed = same numbers")
    p.add_argument("--design", choices=("mc", "lhs", "sobol"), default="mc",
                   help="sampling design (default mc)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    if workers:
        p.add_argument("--series-draws", type=count, default=200_000,
                       help="keep the yearly series (fan charts) of this many draws; metrics "
                            "are kept for every draw (default 200,000)")
        p.add_argument("--workers", type=int, default=None,
                       help="draws evaluated on this many CPUs at once (default: all, or "
                            "CAPEX_WORKERS); never changes a number")


def _check_run_args(args) -> None:
    problems = []
    if args.draws < 2:
        problems.append(Problem(f"--draws {args.draws} is too few; give at least 2", parameter="--draws"))
    if args.seed < 0:
        problems.append(Problem(f"--seed {args.seed} is negative; give a non-negative integer",
                                parameter="--seed"))
    if getattr(args, "series_draws", 1) < 1:
        problems.append(Problem(f"--series-draws {args.series_draws} is too few; give at least 1",
                                parameter="--series-draws"))
    if getattr(args, "workers", None) is not None and args.workers < 1:
        problems.append(Problem(f"--workers {args.workers} is too few; give at least 1",
                                parameter="--workers"))
    if getattr(args, "precision", None) is not None and not 0 < args.precision < 1:
        problems.append(Problem("--precision must lie between 0 and 1; give a relative error such as 0.005",
                                parameter="--precision"))
    if problems:
        raise AssumptionError(problems)


def fmt_metric(x: float, unit: str) -> str:
    """Compact cell text: $62.1B, 12.5 %, 12.7 (years), $2.11 (per GPU-hour)."""
    if x is None or not math.isfinite(x):
        return "n/a"
    if unit == "1/year":
        return f"{100 * x:.1f} %"
    if unit == "years":
        return f"{x:.1f}"
    if unit == "USD/GPU-hour":
        return f"${x:.2f}"
    if unit == "USD/year":
        return format_amount(x, "USD")  # the unit column says per year
    return format_amount(x, unit)


UNIT_LABEL = {"USD": "USD", "1/year": "%/year", "years": "years", "USD/GPU-hour": "USD/GPU-h",
              "USD/year": "USD/year", "ratio": "ratio"}


def summary_table(results) -> str:
    """The readable summary printed by ``capex run``."""
    d = results.to_json_dict()
    sc = results.scenario
    lines = [
        f"{sc.title}" + (f" [{sc.overlay}]" if sc.overlay else ""),
        f"{sc.model} model, {sc.start}-{sc.end}, {d['draws']:,} draws ({d['design']}, seed "
        f"{d['seed']}), {sc.currency} nominal" + (f" ({sc.currency_year} money)"
                                                  if sc.currency_year else ""),
        "",
    ]
    probs = d["probabilities"]
    labels = {"npv_positive": "P(NPV > 0)", "payback_within_horizon": "P(payback by "
              f"{sc.end})", "gap_closed_by_end": f"P(gap closed by {sc.end})"}
    lines.append("   ".join(f"{labels[k]} = {v['value']:.3f} ± {v['mcse']:.3f}"
                           for k, v in probs.items()))
    lines.append("")
    head = (f"{'metric':<29}{'unit':<11}{'P05':>10}{'P50':>10}{'P95':>10}{'mean ± MCSE':>22}"
            f"{'undefined':>11}")
    lines += [head, "-" * len(head)]
    for name, m in d["metrics"].items():
        u = m["unit"]
        f = (lambda x, u=u: fmt_metric(float("nan") if x is None else x, u))
        mean = f"{f(m['mean'])} ± {f(m['mcse']).lstrip('$')}"
        lines.append(f"{name:<29}{UNIT_LABEL.get(u, u):<11}{f(m['p05']):>10}{f(m['p50']):>10}"
                     f"{f(m['p95']):>10}{mean:>22}{100 * m['undefined_share']:>10.1f}%")
    c = d["provenance"]
    lines += ["", f"inputs: {c['parameters']} parameters, {c['sourced']} sourced, "
              f"{c['hypothetical']} hypothetical; input hash {d['input_hash'][:12]}",
              "terms: docs/concepts.md"]
    return "\n".join(lines)


def write_run_outputs(results, out: Path, command: str = "capex run") -> None:
    """results.nc, summary.csv and summary.json into the owned folder ``out`` (staged aside,
    swapped in atomically; see :mod:`model.outputs`)."""
    from .outputs import OwnedOutput

    with OwnedOutput(out, command=command, kind="run") as folder:
        results.to_netcdf(folder.path_for("results.nc"))
        results.summary().to_csv(folder.path_for("summary.csv"), index_label="metric")
        folder.write_text("summary.json", json.dumps(results.to_json_dict(), indent=2) + "\n")


def cmd_run(args) -> int:
    from .cli import _default_paths
    from .loading import load_scenario
    from .simulation import simulate

    _check_run_args(args)
    path = _default_paths([args.path] if args.path else None)[0]
    sc = load_scenario(path, scenario=args.scenario)
    if args.out:  # before the work: a folder that cannot take the output stops here
        from .outputs import check_target

        check_target(Path(args.out))
    if getattr(args, "report", False) and args.report_out:
        from .outputs import check_target

        check_target(Path(args.report_out), "--report-out")
    res = simulate(sc, draws=args.draws, seed=args.seed, design=args.design,
                   precision=args.precision, progress=not args.quiet and not args.json,
                   workers=args.workers, series_draws=args.series_draws)
    if args.out:
        write_run_outputs(res, Path(args.out), command=_run_command(args, path))
    if getattr(args, "report", False):
        from .reporting import build_report

        written = build_report([res], out=Path(args.report_out) if args.report_out else None,
                               command=f"capex run {path} --report")
        report_paths = [str(p) for p in written]
    else:
        report_paths = []
    if args.json:
        print_json(res.to_json_dict())
    else:
        print(summary_table(res))
        if args.out:
            print(f"\nwrote {args.out}/results.nc, summary.csv, summary.json")
        for p in report_paths:
            print(f"report: {p}")
    return 0


def _run_command(args, path) -> str:
    import shlex

    parts = ["capex", "run", str(path)]
    if args.scenario:
        parts += ["--scenario", args.scenario]
    parts += ["--draws", str(args.draws), "--seed", str(args.seed), "--design", args.design,
              "--out", str(args.out)]
    return shlex.join(parts)


def parse_compare_targets(paths: list[str], scenarios: list[str] | None) -> list[tuple]:
    """``PATH`` or ``PATH:overlay`` entries, crossed with repeated ``--scenario`` (``base`` = none)."""
    targets = []
    for p in paths:
        file, _, overlay = p.partition(":") if not Path(p).exists() else (p, "", "")
        if overlay:
            targets.append((file, overlay))
        elif scenarios:
            targets.extend((file, None if s == "base" else s) for s in scenarios)
        else:
            targets.append((file, None))
    return targets


def compare_rows(results_list) -> list[dict]:
    """One dict per run with the comparison metrics (mean, MCSE) and probabilities."""
    rows = []
    for res in results_list:
        sc = res.scenario
        row = {"scenario": sc.label, "file": str(sc.path), "model": sc.model}
        if sc.model == "programme":
            npv = res.metric("npv")
            per_dollar = npv / res.metric("total_spend")
            row["metrics"] = {m: {k: res.metric_summary(m)[k] for k in
                                  ("unit", "mean", "mcse", "p05", "p50", "p95",
                                   "undefined_share")}
                              for m in ("npv", "irr", "payback_years", "peak_funding")}
            row["metrics"]["npv_per_dollar_capex"] = {
                "unit": "ratio", "mean": float(per_dollar.mean()),
                "mcse": float(per_dollar.std(ddof=1) / math.sqrt(per_dollar.size)),
                "p05": float(np.quantile(per_dollar, 0.05)),
                "p50": float(np.quantile(per_dollar, 0.5)),
                "p95": float(np.quantile(per_dollar, 0.95)), "undefined_share": 0.0}
        else:
            row["metrics"] = {m: {k: res.metric_summary(m)[k] for k in
                                  ("unit", "mean", "mcse", "p05", "p50", "p95",
                                   "undefined_share")}
                              for m in res.metric_names}
        row["probabilities"] = {p: res.probability(p) for p in res.probability_names}
        row["provenance"] = sc.provenance_counts()
        rows.append(row)
    return rows


def compare_table(rows: list[dict]) -> str:
    names = [r["scenario"] for r in rows]
    table: list[tuple[str, list[str]]] = []
    metric_order = [("npv", "NPV (mean ± MCSE)"), ("npv_per_dollar_capex", "NPV per $ of capex"),
                    ("irr", "IRR (median)"), ("payback_years", "payback (median)"),
                    ("peak_funding", "peak funding (mean)"),
                    ("revenue_gap_final", "final-year gap (mean)"),
                    ("cumulative_revenue_gap_total", "cumulative gap (mean)")]
    for key, label in metric_order:
        if not any(key in r["metrics"] for r in rows):
            continue
        cells = []
        for r in rows:
            m = r["metrics"].get(key)
            if m is None:
                cells.append("n/a")
            elif key in ("irr", "payback_years"):
                cells.append(fmt_metric(m["p50"], m["unit"]))
            elif key == "npv_per_dollar_capex":
                cells.append(f"{m['mean']:+.3f} ± {m['mcse']:.3f}")
            else:
                cells.append(f"{fmt_metric(m['mean'], m['unit'])} ± "
                             f"{fmt_metric(m['mcse'], m['unit']).lstrip('$')}")
        table.append((label, cells))
    for key, label in (("npv_positive", "P(NPV > 0)"), ("payback_within_horizon",
                                                        "P(payback in horizon)"),
                       ("gap_closed_by_end", "P(gap closed by end)")):
        if not any(key in r["probabilities"] for r in rows):
            continue
        cells = [(f"{r['probabilities'][key]['value']:.3f} ± "
                  f"{r['probabilities'][key]['mcse']:.3f}") if key in r["probabilities"] else
                 "n/a" for r in rows]
        table.append((label, cells))
    cells = [f"{r['provenance']['hypothetical']}/{r['provenance']['parameters']}" for r in rows]
    table.append(("hypothetical parameters", cells))
    width = 2 + max(len(c) for c in names + [c for _, cs in table for c in cs])
    lines = [f"{'':<26}" + "".join(f"{n:>{width}}" for n in names)]
    lines += [f"{label:<26}" + "".join(f"{c:>{width}}" for c in cells) for label, cells in table]
    return "\n".join(lines)


def run_compare(targets, draws, seed, design, progress=False, workers=None):
    """Load and simulate each (file, overlay) with the same seed (common random numbers)."""
    from .loading import load_scenario
    from .simulation import simulate

    problems, scenarios = [], []
    for file, overlay in targets:
        try:
            scenarios.append(load_scenario(file, scenario=overlay))
        except AssumptionError as e:
            problems.extend(e.problems)
    if problems:
        raise AssumptionError(problems)
    return [simulate(sc, draws=draws, seed=seed, design=design, progress=progress,
                     workers=workers) for sc in scenarios]


def cmd_compare(args) -> int:
    _check_run_args(args)
    targets = parse_compare_targets(args.paths, args.scenarios)
    if len(targets) < 2:
        raise AssumptionError(Problem(
            "compare needs at least two runs; give several files, FILE:overlay entries, or "
            "--scenario repeated (use 'base' for no overlay)", parameter="PATH"))
    results = run_compare(targets, args.draws, args.seed, args.design,
                          progress=not args.quiet and not args.json, workers=args.workers)
    rows = compare_rows(results)
    if args.json:
        print_json({"draws": args.draws, "seed": args.seed, "design": args.design,
                          "common_random_numbers": True, "runs": rows})
    else:
        print(f"{args.draws:,} draws each, seed {args.seed}, common random numbers "
              "(differences are not sampling noise of independent runs)\n")
        print(compare_table(rows))
    return 0


def register(sub, epilog):
    """Add the engine commands to the ``capex`` parser."""
    p = sub.add_parser("run", help="Monte Carlo run: distributions of NPV, IRR, payback...",
                       epilog=epilog)
    p.add_argument("path", nargs="?", metavar="PATH",
                   help="assumption file (default: assumptions/anthropic_fluidstack.yaml)")
    add_run_options(p, workers=True)
    p.add_argument("--precision", type=float,
                   help="target relative Monte Carlo standard error (one standard error, not a "
                        "95 %% interval) of the mean NPV, or of the mean final-year gap for the "
                        "industry model, e.g. 0.005: draws are added in blocks of 8,192 until met")
    p.add_argument("--out", help="folder for results.nc, summary.csv, summary.json")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.add_argument("--report", action="store_true", help="also write the report")
    p.add_argument("--report-out", help="report folder (default reports/<name>/)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("compare", help="run several files/overlays side by side (common random "
                       "numbers)", epilog=epilog)
    p.add_argument("paths", nargs="+", metavar="PATH", help="files, or FILE:overlay")
    add_run_options(p, one_scenario=False, workers=True)
    p.add_argument("--scenario", dest="scenarios", action="append",
                   help="overlay to compare (repeat; 'base' = no overlay)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_compare)

    from .sensitivity import register_cli as register_sensitivity

    register_sensitivity(sub, epilog, add_run_options)

    from .reporting import register_cli as register_report

    register_report(sub, epilog, add_run_options)

    from .calibration_cli import register_cli as register_calibrate

    register_calibrate(sub, epilog, add_run_options)
    return sub
