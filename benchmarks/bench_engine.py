"""Engine benchmark: throughput and memory of ``simulate`` at 1,000,000 draws.

Run: ``.venv/bin/python benchmarks/bench_engine.py [--draws N] [--loop-draws M]``

Prints draw-years per second and peak RSS of the vectorized engine on a 16-year programme with
every input uncertain (benchmarks/bench_programme.yaml), and, on the same scenario in the same
run, the throughput of a straightforward per-draw Python loop (the same model called one draw
at a time) as a ratio. Targets on the 2-core reference machine: >= 5,000,000 draw-years/s,
peak RSS <= 1 GB at 1M draws, >= 200x the per-draw loop. Results: benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

from model import load_scenario
from model.sampling import Design, sample_inputs
from model.simulation import run_model, simulate

HERE = Path(__file__).parent


def per_draw_loop(scenario, draws: int, seed: int) -> float:
    """Draw-years per second of the model evaluated one draw at a time (same inputs)."""
    design = Design(scenario, draws, seed)
    inputs = sample_inputs(scenario, design, 0, draws)
    t0 = time.perf_counter()
    for i in range(draws):
        one = {k: (v[i:i + 1] if hasattr(v, "ndim") and v.ndim >= 1 and v.shape[0] == draws
                   else v) for k, v in inputs.items()}
        run_model(scenario, one, 1)
    return draws * scenario.n_years / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=1_000_000)
    ap.add_argument("--loop-draws", type=int, default=3_000)
    ap.add_argument("--chunk", type=int, default=50_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    sc = load_scenario(HERE / "bench_programme.yaml")
    simulate(sc, draws=2_000, seed=args.seed)  # warm-up (imports, caches)
    t0 = time.perf_counter()
    res = simulate(sc, draws=args.draws, seed=args.seed, chunk_size=args.chunk,
                   series_draws=100_000)
    elapsed = time.perf_counter() - t0
    rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    vec = args.draws * sc.n_years / elapsed
    loop = per_draw_loop(sc, args.loop_draws, args.seed)
    print(f"scenario: {sc.name}, {sc.n_years} years, {len(sc.uncertain())} uncertain inputs")
    print(f"vectorized: {args.draws:,} draws in {elapsed:.2f} s = {vec:,.0f} draw-years/s "
          f"(target >= 5,000,000)")
    print(f"peak RSS: {rss_gb:.2f} GB (target <= 1 GB)")
    print(f"per-draw Python loop: {loop:,.0f} draw-years/s on {args.loop_draws:,} draws")
    print(f"speed-up: {vec / loop:,.0f}x (target >= 200x)")
    print(f"mean NPV: {res.metric('npv').mean() / 1e9:.2f} $B (sanity)")


if __name__ == "__main__":
    main()
