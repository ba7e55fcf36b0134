"""``capex sweep PATH --vary NAME=LO:HI:N [--vary ...]``: a statistic over a grid of one or two
inputs, common random numbers across points (:mod:`model.analysis.sweep`)."""

from __future__ import annotations

from pathlib import Path

from ...analysis.sweep import axis_label, sweep, sweep_figure
from ...core.formatting import format_estimate, format_value
from ...loading.paths import default_paths
from ...loading.scenario import load_scenario
from ...reporting.outputs import check_file_target, write_owned_file
from ..common import check_run_args
from ..jsonout import print_json


def cmd_sweep(args) -> int:
    check_run_args(args)
    path = default_paths([args.path] if args.path else None)[0]
    sc = load_scenario(path, scenario=args.scenario)
    if args.plot:  # before the work: a path that cannot take the figure stops here
        check_file_target(Path(args.plot), "--plot")
    res = sweep(
        sc, args.varies or [], args.stat, args.draws, args.seed, args.design, None, args.scheduler
    )
    written = None
    if args.plot:
        from ...reporting.figures import owned_png  # deferred: matplotlib

        written = write_owned_file(Path(args.plot), owned_png(sweep_figure(res)), "--plot")
    if args.json:
        d = res.to_json_dict()
        d["figure"] = str(written) if written else None
        print_json(d)
        return 0
    st = res.statistic
    print(f"{sc.label}: {st.label} over the grid ({res.draws:,} draws per point, seed "
          f"{res.seed}, common random numbers)\n")  # fmt: skip
    a = res.varies[0]
    if len(res.varies) == 1:
        print(f"{axis_label(a):36}{st.label:>24}")
        for x, y, e in zip(a.values, res.values, res.mcse):
            print(f"{format_value(x, a.unit):36}{format_estimate(y, e, st.unit):>24}")
    else:
        b = res.varies[1]
        print(f"rows: {axis_label(a)}; columns: {axis_label(b)}")
        print(f"{'':14}" + "".join(f"{format_value(y, b.unit):>12}" for y in b.values))
        for i, x in enumerate(a.values):
            cells = "".join(f"{format_value(v, st.unit):>12}" for v in res.values[i])
            print(f"{format_value(x, a.unit):14}{cells}")
    if written:
        print(f"\nwrote {written}")
    return 0
