"""Scale benchmark: schedulers, per-task costs, out-of-core memory (issue "Scale out on Dask").

Run: ``.venv/bin/python benchmarks/bench_scale.py WHAT [--draws N] [--repeat R]`` with WHAT one of

* ``throughput``: engine-only draw-years/s of ``simulate`` at N draws (default 1,000,000) on
  ``benchmarks/bench_programme.yaml`` with the local scheduler (1 and 2 forked workers) and a
  Dask LocalCluster (1 and 2 single-threaded worker processes, started before the clock);
* ``overhead``: the cost of one task of r draws in one process (r = 8,192 .. 131,072), Dask's
  round trip of an empty task, and the cost of handing a result of s MB back to the client;
* ``memory``: peak summed PSS (this process and its workers) of out-of-core runs of 500,000
  and 5,000,000 draws (and an in-memory run of 500,000 for comparison), each in a fresh
  process;
The scaling model of benchmarks/README.md (draws per second on a 32-node cluster, the draws a
task needs for the scheduler overhead to stay under 5 %) is computed from the figures that
``overhead`` and ``throughput`` print. Results: benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from model.engine.allocator import keep_freed_memory

HERE = Path(__file__).parent
SCENARIO = HERE / "bench_programme.yaml"


def _scenario():
    from model.loading.scenario import load_scenario

    return load_scenario(SCENARIO)


def _timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def throughput(draws: int, repeat: int) -> dict:
    """Median engine-only draw-years/s per scheduler and worker count."""
    import distributed

    from model.engine.simulate import simulate

    sc = _scenario()
    kw = dict(draws=draws, seed=0, series_draws=100_000)
    out = {}
    simulate(sc, draws=20_000)  # warm the tables
    for w in (1, 2):
        ts = _timed(lambda w=w: simulate(sc, workers=w, **kw), repeat)
        out[f"local {w}"] = ts
    for w in (1, 2):
        t0 = time.perf_counter()
        cluster = distributed.LocalCluster(
            n_workers=w, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = distributed.Client(cluster)
        client.run(keep_freed_memory)  # as --scheduler dask does for the cluster it starts
        start = time.perf_counter() - t0
        simulate(sc, draws=20_000, scheduler=client)  # workers import the engine
        ts = _timed(lambda c=client: simulate(sc, scheduler=c, **kw), repeat)
        out[f"dask {w}"] = ts
        out[f"dask {w} start"] = [start]
        client.close()
        cluster.close()
    years = sc.n_years
    for k, ts in out.items():
        if "start" in k:
            print(f"{k:>14}: {ts[0]:.2f} s to start the cluster")
            continue
        rates = [draws * years / t for t in ts]
        print(
            f"{k:>14}: median {statistics.median(rates) / 1e6:.2f}M draw-years/s "
            f"({min(rates) / 1e6:.2f}M-{max(rates) / 1e6:.2f}M), {statistics.median(ts):.2f} s"
        )
    return out


def overhead(repeat: int) -> dict:
    """Per-task compute, Dask's empty-task round trip and result transfer cost."""
    import distributed

    from model.engine.designs import BLOCK
    from model.engine.simulate import ChunkRunner

    sc = _scenario()
    out = {}
    for rows in (BLOCK, 4 * BLOCK, 16 * BLOCK):
        runner = ChunkRunner(sc, 0, "mc", 0, {}, None, BLOCK)
        runner.retarget(16 * BLOCK)
        with np.errstate(all="ignore"):
            runner.task_values(0, BLOCK)  # design and tables built
            ts = _timed(lambda r=rows, x=runner: x.task_values(0, r), repeat)
        values = runner.task_values(0, rows)[2]
        size = sum(v.nbytes for v in values.values())
        out[f"task {rows}"] = {"seconds": min(ts), "bytes": size}
        print(
            f"task of {rows:>7,} draws: {min(ts) * 1e3:7.1f} ms "
            f"({min(ts) / rows * 1e6:.2f} us/draw), result {size / 1e6:.1f} MB"
        )
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = distributed.Client(cluster)
    n = 400
    client.gather(client.map(_noop, range(50), pure=False))
    t0 = time.perf_counter()
    client.gather(client.map(_noop, range(n), pure=False))
    per_task = (time.perf_counter() - t0) / n
    out["dask empty task"] = per_task
    print(f"dask: empty task round trip {per_task * 1e3:.2f} ms (2 workers, {n} tasks)")
    for mb in (1, 8, 32):
        client.gather(client.map(_array, [mb] * 2, pure=False))
        t0 = time.perf_counter()
        client.gather(client.map(_array, [mb] * 10, pure=False))
        t = (time.perf_counter() - t0) / 10
        out[f"dask result {mb} MB"] = t
        print(f"dask: task returning {mb:>2} MB: {t * 1e3:.1f} ms ({t / mb * 1e3:.2f} ms/MB)")
    client.close()
    cluster.close()
    return out


def _noop(i):
    return i


def _array(mb: int):
    return np.ones(mb * 131_072)


def _memory_child(draws: int, store: bool) -> None:
    sys.path.insert(0, str(HERE))
    from bench_engine import PeakMemory

    from model.engine.simulate import simulate

    sc = _scenario()
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as tmp, PeakMemory() as peak:
        t0 = time.perf_counter()
        res = simulate(
            sc,
            draws=draws,
            series_draws=100_000,
            out_of_core=store,
            store=Path(tmp) / "draws.zarr" if store else None,
        )
        res.to_json_dict()
        seconds = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "draws": draws,
                "store": store,
                "seconds": seconds,
                "peak_gb": peak.peak_kib * 1024 / 1e9,
            }
        )
    )


def memory() -> list[dict]:
    """Peak memory of out-of-core runs (fresh processes)."""
    out = []
    for draws, store in ((500_000, False), (500_000, True), (5_000_000, True)):
        p = subprocess.run(
            [sys.executable, __file__, "memory-child", "--draws", str(draws)]
            + (["--store"] if store else []),
            capture_output=True,
            text=True,
            check=True,
        )
        row = json.loads(p.stdout.strip().splitlines()[-1])
        out.append(row)
        where = "out of core" if store else "in memory"
        print(
            f"{draws:>9,} draws {where:>11}: peak {row['peak_gb']:.2f} GB (summed PSS), "
            f"{row['seconds']:.1f} s with summaries"
        )
    return out


def main() -> None:
    keep_freed_memory()  # as the capex command does
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=("throughput", "overhead", "memory", "memory-child"))
    ap.add_argument("--draws", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--store", action="store_true")
    args = ap.parse_args()
    if args.what == "throughput":
        throughput(args.draws, args.repeat)
    elif args.what == "overhead":
        overhead(args.repeat)
    elif args.what == "memory":
        memory()
    else:
        _memory_child(args.draws, args.store)


if __name__ == "__main__":
    main()
