"""``capex stress PATH --band NAME=pLO-pHI`` and ``capex scenario-analysis PATH --region R``:
the output with inputs restricted to bands beside the base (same draws), and the inputs that
differ most where the output lands in a region (:mod:`model.analysis.stress`)."""

from __future__ import annotations

from ...analysis.stress import scenario_analysis, stress
from ...core.formatting import format_estimate, format_input, format_value
from ...loading.paths import default_paths
from ...loading.scenario import load_scenario
from ..common import check_run_args
from ..jsonout import print_json


def _scenario(args):
    check_run_args(args)
    path = default_paths([args.path] if args.path else None)[0]
    return load_scenario(path, scenario=args.scenario)


def cmd_stress(args) -> int:
    sc = _scenario(args)
    res = stress(
        sc, args.bands or [], args.output, args.draws, args.seed, args.design, args.scheduler
    )
    if args.json:
        print_json(res.to_json_dict())
        return 0
    bands = ", ".join(f"{b.name} in P{100 * b.lo:g}-P{100 * b.hi:g}" for b in res.bands)
    print(f"{sc.label}: {res.output} with {bands}")
    print(f"{res.draws:,} draws, seed {res.seed}, design {res.design}, same draws for both\n")
    print(f"{'':10}{'base':>24}{'stressed':>24}{'difference':>24}")
    for k in ("p05", "p50", "p95"):
        b, s, d = res.base, res.stressed, res.difference[k]
        print(
            f"{k.upper():10}{format_estimate(b[k], b['quantile_mcse'][k], res.unit):>24}"
            f"{format_estimate(s[k], s['quantile_mcse'][k], res.unit):>24}"
            f"{format_estimate(d['value'], d['mcse'], res.unit):>24}"
        )
    d = res.difference["mean"]
    print(
        f"{'mean':10}{format_estimate(res.base['mean'], res.base['mcse'], res.unit):>24}"
        f"{format_estimate(res.stressed['mean'], res.stressed['mcse'], res.unit):>24}"
        f"{format_estimate(d['value'], d['mcse'], res.unit):>24}"
    )
    p = res.probability
    print(
        f"{p['label']:10}"
        + "".join(
            f"{format_estimate(p[k]['value'], p[k]['mcse'], 'share'):>24}"
            for k in ("base", "stressed", "difference")
        )
    )
    print("\n" + "\n".join(f"note: {n}" for n in res.notes))
    return 0


def cmd_scenario_analysis(args) -> int:
    sc = _scenario(args)
    res = scenario_analysis(
        sc,
        args.region,
        args.output,
        args.draws,
        args.seed,
        args.design,
        getattr(args, "scheduler", None),
    )
    if args.json:
        print_json(res.to_json_dict())
        return 0
    print(
        f"{sc.label}: draws with {res.region_text} ({res.region_draws:,} of {res.draws:,}; "
        f"seed {res.seed}, design {res.design})\n"
    )
    print(f"{'input':34}{'median in region':>18}{'median overall':>18}{'shift [sd]':>12}  z")
    for r in res.rows[: args.top]:
        print(
            f"{r['input'][:33]:34}{format_input(r['median_region'], r['unit']):>18}"
            f"{format_input(r['median_all'], r['unit']):>18}{r['shift_sd']:>+12.2f}  "
            f"{format_value(r['z'], '', 1)} {r['mark']}"
        )
    if len(res.rows) > args.top:
        print(f"... {len(res.rows) - args.top} more inputs (--top)")
    print("\nsignificance: " + res.to_json_dict()["significance"])
    return 0
