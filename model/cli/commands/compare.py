"""``capex compare A B ...``: several runs side by side, on common random numbers, and the paired
difference of each run from the first (draw by draw: its error is that of the difference, not
of two independent runs)."""

from __future__ import annotations

from ...analysis.compare import (
    compare_rows,
    input_agreement,
    paired_differences,
    parse_targets,
    run_compare,
)
from ...core.formatting import format_mean, format_probability, format_value
from ...core.vocabulary import OUTPUTS
from ...reporting.text import agreement_text, compare_table
from ..common import check_run_args
from ..jsonout import print_json


def cmd_compare(args) -> int:
    check_run_args(args)
    targets = parse_targets(args.paths, args.scenarios)
    results = run_compare(
        targets,
        args.draws,
        args.seed,
        args.design,
        progress=not args.quiet and not args.json,
        workers=args.workers,
        scheduler=args.scheduler,
    )
    rows = compare_rows(results)
    agreement = input_agreement(results)
    pairs = paired_differences(results)
    if args.json:
        timings = {"simulate": sum(r.elapsed_seconds for r in results)}
        print_json(
            {
                "draws": args.draws,
                "seed": args.seed,
                "design": args.design,
                "common_random_numbers": True,
                "runs": rows,
                "paired_differences": pairs,
                "input_agreement": agreement,
            },
            timings=timings if getattr(args, "timings", False) else None,
        )
        return 0
    print(
        f"{args.draws:,} draws each, seed {args.seed}, common random numbers (differences are "
        "not sampling noise of independent runs)\n"
    )
    print(compare_table(rows, args.draws))
    if pairs:
        print("\npaired differences (draw by draw; ± is the MCSE of the difference):")
        print("\n".join(paired_line(p) for p in pairs))
    print("\n" + agreement_text(agreement))
    return 0


def paired_line(p: dict) -> str:
    """One pair in words: ``NPV a - b: mean -$1.2B ± $0.01B (independent runs ± $0.3B);
    P(a > b) = 0.31 ± 0.01; difference of medians -$1.1B``."""
    spec = OUTPUTS.get(p["metric"])
    name = spec.short if spec else p["metric"]
    m = p["mean_difference"]
    unpaired = format_mean(m["value"], p["unpaired_mcse"], p["unit"]).partition(" ± ")[2]
    prob = format_probability(p["prob_a_greater"]["value"], p["prob_a_greater"]["mcse"], p["pairs"])
    median = p["median_difference"]
    return (
        f"  {name} {p['a']} - {p['b']}: mean {format_mean(m['value'], m['mcse'], p['unit'])} "
        f"(independent runs: ± {unpaired or 'n/a'}); P({p['a']} > {p['b']})"
        f"{' ' if prob[0] in '<>' else ' = '}{prob}; difference of medians "
        f"{'n/a' if median is None else format_value(median, p['unit'])}"
    )
