"""``capex sensitivity PATH``: which inputs drive the answer, and how much rests on hypotheses."""

from __future__ import annotations

from pathlib import Path

from ...analysis.sensitivity import sensitivity
from ...core.errors import AssumptionError, Problem
from ...loading.paths import default_paths
from ...loading.scenario import load_scenario
from ...reporting.outputs import check_target
from ...reporting.text import sensitivity_text
from ..common import output_path_problems
from ..jsonout import print_json


def cmd_sensitivity(args) -> int:
    problems = output_path_problems(args)
    if args.top < 1:
        problems.append(Problem(f"--top {args.top} is too few; give at least 1", parameter="--top"))
    if problems:
        raise AssumptionError(problems)
    path = default_paths([args.path] if args.path else None)[0]
    sc = load_scenario(path, scenario=args.scenario)
    if args.plots:  # before the work: a folder that cannot take the figures stops here
        check_target(Path(args.plots), "--plots")
    res = sensitivity(
        sc,
        output=args.output,
        methods=args.method,
        draws=args.draws,
        seed=args.seed,
        design=args.design,
        sobol_n=args.sobol_n,
        num_resamples=args.resamples,
        top=args.top,
        progress=not args.quiet and not args.json,
        scheduler=args.scheduler,
    )
    written = []
    if args.plots:
        from ...reporting.sensitivity_figures import save_figures  # deferred: matplotlib

        written = save_figures(
            res, Path(args.plots), command=f"capex sensitivity {path} --plots {args.plots}"
        )
    if args.json:
        d = res.to_json_dict(timings=False)
        d["figures"] = [str(p) for p in written]
        print_json(d, timings=res.timings if getattr(args, "timings", False) else None)
        return 0
    print(sensitivity_text(res))
    if written:
        print(f"\nwrote {len(written)} figures to {args.plots}")
    return 0
