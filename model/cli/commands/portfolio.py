"""``capex portfolio FILE``: the members of a portfolio on the same draws, and their aggregate."""

from __future__ import annotations

from ...analysis.provenance import provenance_split
from ...engine.portfolio import simulate_portfolio
from ...loading.portfolio import load_portfolio
from ...reporting.portfolio_text import portfolio_text
from ..common import check_run_args
from ..jsonout import print_json


def cmd_portfolio(args) -> int:
    check_run_args(args)
    pf = load_portfolio(args.path)
    res = simulate_portfolio(
        pf,
        draws=args.draws,
        seed=args.seed,
        design=args.design,
        workers=args.workers,
        progress=not args.quiet and not args.json,
        scheduler=args.scheduler,
    )
    split = provenance_split(res, scheduler=args.scheduler)
    if args.json:
        timings = {"simulate": res.elapsed_seconds} if getattr(args, "timings", False) else None
        print_json({**res.to_json_dict(), "provenance_split": split}, timings=timings)
        return 0
    print(portfolio_text(res, split))
    return 0
