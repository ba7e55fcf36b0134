"""``capex compare A B ...``: several runs side by side, on common random numbers."""

from __future__ import annotations

from ...analysis.compare import compare_rows, input_agreement, parse_targets, run_compare
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
    )
    rows = compare_rows(results)
    agreement = input_agreement(results)
    if args.json:
        print_json(
            {
                "draws": args.draws,
                "seed": args.seed,
                "design": args.design,
                "common_random_numbers": True,
                "runs": rows,
                "input_agreement": agreement,
            }
        )
        return 0
    print(
        f"{args.draws:,} draws each, seed {args.seed}, common random numbers (differences are "
        "not sampling noise of independent runs)\n"
    )
    print(compare_table(rows, args.draws))
    print("\n" + agreement_text(agreement))
    return 0
