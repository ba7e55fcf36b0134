"""Engine benchmark: throughput and memory of ``simulate`` at 1,000,000 draws.

Run: ``.venv/bin/python benchmarks/bench_engine.py [--draws N] [--loop-draws M] [--repeat R]``

Prints draw-years per second and peak RSS of the vectorized engine on a 16-year programme with
every input uncertain (benchmarks/bench_programme.yaml), and, on the same scenario in the same
run, the throughput of a straightforward per-draw Python loop (the same model called one draw
at a time) as a ratio. Targets on the 2-core reference machine: >= 5,000,000 draw-years/s,
peak RSS <= 1 GB at 1M draws, >= 200x the per-draw loop. Results: benchmarks/README.md.

The engine runs as ``capex run`` does: default chunks (one sampling block, 8,192 draws), one
worker per CPU (forked processes on Linux, ``model/engine/parallel.py``), per-year series kept
for the first 100,000 draws, and the allocator tuned the way the ``capex`` command tunes it
(``model/engine/allocator.py``; ``--no-tune`` to measure without). Memory is the peak of the summed
proportional set size (PSS) of the process and its workers, so shared pages count once.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import threading
import time
from pathlib import Path

from model.engine.allocator import keep_freed_memory
from model.engine.designs import Design
from model.engine.inputs import sample_inputs
from model.engine.parallel import fork_available
from model.engine.simulate import default_workers, run_model, simulate
from model.loading.scenario import load_scenario

HERE = Path(__file__).parent


def per_draw_loop(scenario, draws: int, seed: int) -> float:
    """Draw-years per second of the model evaluated one draw at a time (same inputs)."""
    design = Design(scenario, draws, seed)
    inputs = sample_inputs(scenario, design, 0, draws)
    t0 = time.perf_counter()
    for i in range(draws):
        one = {
            k: (v[i : i + 1] if hasattr(v, "ndim") and v.ndim >= 1 and v.shape[0] == draws else v)
            for k, v in inputs.items()
        }
        run_model(scenario, one, 1)
    return draws * scenario.n_years / (time.perf_counter() - t0)


def _pss_kib(pid: str) -> int:
    """Proportional set size of a process [KiB]: shared pages split between their users."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("Pss:"))
    except (OSError, StopIteration):
        return 0


def _children(pid: str) -> list[str]:
    out = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            out += (task / "children").read_text().split()
    except OSError:
        pass
    return out


class PeakMemory:
    """Peak of the summed PSS of this process and its worker processes, sampled every 20 ms
    (Linux /proc). PSS counts each shared page once in total, so the sum is the memory the
    run really holds; RSS would count the shared results once per process."""

    def __init__(self):
        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            total = _pss_kib("self") + sum(_pss_kib(c) for c in _children("self"))
            self.peak_kib = max(self.peak_kib, total)
            self._stop.wait(0.02)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=1_000_000)
    ap.add_argument("--loop-draws", type=int, default=3_000)
    ap.add_argument("--repeat", type=int, default=3, help="timed runs of the engine")
    ap.add_argument("--workers", type=int, default=None, help="threads (default: one per CPU)")
    ap.add_argument("--series-draws", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-tune", action="store_true", help="leave the allocator alone")
    args = ap.parse_args()
    tuned = False if args.no_tune else keep_freed_memory()
    sc = load_scenario(HERE / "bench_programme.yaml")
    workers = args.workers or default_workers()
    simulate(sc, draws=20_000, seed=args.seed, workers=workers)  # warm-up (imports, tables)
    rates = []
    res = None
    for _ in range(args.repeat):
        res = None  # free the previous results first
        t0 = time.perf_counter()
        res = simulate(
            sc, draws=args.draws, seed=args.seed, workers=workers, series_draws=args.series_draws
        )
        rates.append(args.draws * sc.n_years / (time.perf_counter() - t0))
    # memory in a run of its own: reading /proc while timing would slow the run down
    res = None
    with PeakMemory() as memory:
        res = simulate(
            sc, draws=args.draws, seed=args.seed, workers=workers, series_draws=args.series_draws
        )
    peaks = [memory.peak_kib / 1024**2]
    rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    child_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2
    loops = [per_draw_loop(sc, args.loop_draws, args.seed) for _ in range(3)]
    loop = statistics.median(loops)
    vec = statistics.median(rates)
    print(
        f"scenario: {sc.name}, {sc.n_years} years, {len(sc.uncertain())} uncertain inputs; "
        f"{workers} worker(s) ({'processes' if workers > 1 and fork_available() else 'in process'}"
        f"); allocator tuned: {tuned}"
    )
    print(
        f"vectorized: {args.draws:,} draws, {args.repeat} runs: "
        + ", ".join(f"{r:,.0f}" for r in rates)
        + f" draw-years/s; median {vec:,.0f} (target >= 5,000,000)"
    )
    print(
        f"peak memory (PSS of the process and its workers, sampled): "
        f"{max(peaks):.2f} GB (target <= 1 GB); peak RSS of the process {rss_gb:.2f} GB, "
        f"of the largest worker {child_gb:.2f} GB"
    )
    print(
        f"per-draw Python loop: {', '.join(f'{x:,.0f}' for x in loops)} draw-years/s on "
        f"{args.loop_draws:,} draws; median {loop:,.0f}"
    )
    print(f"speed-up: {vec / loop:,.0f}x (medians; target >= 200x)")
    print(f"mean NPV: {res.metric('npv').mean() / 1e9:.2f} $B (sanity)")


if __name__ == "__main__":
    main()
