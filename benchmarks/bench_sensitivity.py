"""Benchmark: Sobol' indices for every uncertain input of the default scenario.

Target (issue "Sensitivity analysis"): N = 4096 base samples within 30 s on the project
machine (2 shared cores). The timed call is ``sensitivity(scenario, methods="sobol",
sobol_n=4096)``: per-input first-order and total indices plus the grouped indices by category
and by provenance, with 200 bootstrap resamples each, through SALib's analyzer; the vectorized
engine evaluates the whole design in chunks.

Usage::

    .venv/bin/python benchmarks/bench_sensitivity.py [PATH] [--n 4096] [--repeat 3] [--all]
        [--check 30]

``--all`` also times every method at once (tornado, spider, rank, sobol, break-even, stress).
``--check S`` exits 1 if the best Sobol' time exceeds S seconds.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from model.analysis.sensitivity import sensitivity  # noqa: E402
from model.engine.designs import input_variables  # noqa: E402
from model.loading.scenario import load_scenario  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "path", nargs="?", default=str(ROOT / "assumptions" / "anthropic_fluidstack.yaml")
    )
    ap.add_argument("--n", type=int, default=4096, help="Saltelli base samples N")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--all", action="store_true", help="also time every method at once")
    ap.add_argument("--check", type=float, default=None, metavar="SECONDS")
    args = ap.parse_args(argv)

    sc = load_scenario(args.path)
    k = len(input_variables(sc))
    print(
        f"scenario {sc.label}: {k} uncertain inputs, {len(sc.correlations)} correlations; "
        f"python {platform.python_version()}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    times = []
    res = None
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        res = sensitivity(sc, methods="sobol", sobol_n=args.n, seed=0)
        times.append(time.perf_counter() - t0)
    best = min(times)
    print(
        f"sobol, N = {args.n}: {res.sobol_rows:,} model evaluations ({res.sobol_method}); "
        f"best {best:.1f} s, runs " + ", ".join(f"{t:.1f}" for t in times) + " s; "
        f"{1e6 * best / res.sobol_rows:.0f} us per evaluation"
    )
    h = res.hypothetical_share
    print(
        f"hypothetical share of the NPV variance: {100 * h['s1']:.1f} % "
        f"[{100 * h['s1_low']:.1f}, {100 * h['s1_high']:.1f}]"
    )
    if args.all:
        t0 = time.perf_counter()
        r_all = sensitivity(sc, methods="all", sobol_n=args.n, seed=0)
        t_all = time.perf_counter() - t0
        parts = ", ".join(f"{k} {v:.1f} s" for k, v in r_all.timings.items() if k != "total")
        print(f"all methods, N = {args.n}, 10,000 draws: {t_all:.1f} s ({parts})")
    if args.check is not None and best > args.check:
        print(f"FAIL: {best:.1f} s > {args.check:g} s", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
