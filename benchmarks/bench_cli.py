"""Whole-process benchmark of the ``capex`` command: what a user waits for.

Run: ``.venv/bin/python benchmarks/bench_cli.py [--repeat 5]``

Times each command as a fresh process (interpreter start, imports, work, output) and prints
the median of ``--repeat`` runs with the range. Budgets on the 2-core reference machine
(benchmarks/README.md):

* ``capex --help`` <= 0.3 s
* ``capex validate assumptions/anthropic_fluidstack.yaml`` <= 0.8 s
* ``capex run`` (the default scenario, 10,000 draws) <= 1.5 s
* ``capex run --draws 1000000 --json --quiet`` >= 5,000,000 draw-years/s (whole process)
* a 5 MB assumption file validates in <= 2 s; a billion-laughs file is refused in <= 1 s;
  ``capex run --draws 1e9`` is refused (memory guard) in <= 1 s.

The engine-only figure of the 1M-draw run (time inside :func:`model.simulate`) is printed
next to the whole-process one.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CAPEX = [sys.executable, "-m", "model"]


def timed(argv: list[str], repeat: int, ok=(0,)) -> list[float]:
    """Wall-clock seconds of ``repeat`` fresh processes running ``capex ARGV``."""
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        p = subprocess.run(CAPEX + argv, capture_output=True, text=True, cwd=ROOT)
        out.append(time.perf_counter() - t0)
        if p.returncode not in ok:
            raise SystemExit(f"capex {' '.join(argv)} exited {p.returncode}:\n{p.stderr}")
    return out


def big_file(folder: Path) -> Path:
    """A valid 5.9 MB assumption file: the minimal fixture plus 20,000 sources."""
    text = (ROOT / "tests" / "fixtures" / "valid_minimal.yaml").read_text()
    head, rest = text.split("parameters:", 1)
    extra = "".join(
        f"  extra-{i}:\n    title: A long title of a report about data centres number {i} "
        f"{'x' * 120}\n    publisher: Publisher {i}\n    published: 2025-01-01\n"
        f"    url: https://example.org/{i}\n"
        for i in range(20_000)
    )
    path = folder / "big.yaml"
    path.write_text(head.replace("sources:\n", "sources:\n" + extra, 1) + "parameters:" + rest)
    return path


def engine_seconds(draws: int) -> tuple[float, int]:
    """Seconds inside ``simulate`` for the default scenario at ``draws`` (one process)."""
    code = (
        "import json, time\nfrom model import load_scenario, simulate\n"
        "from model.engine.allocator import keep_freed_memory\nkeep_freed_memory()\n"
        "sc = load_scenario('assumptions/anthropic_fluidstack.yaml')\n"
        f"t0 = time.perf_counter(); res = simulate(sc, draws={draws})\n"
        "t1 = time.perf_counter(); d = res.to_json_dict(); t2 = time.perf_counter()\n"
        "print(json.dumps([t1 - t0, t2 - t1, sc.n_years]))"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    engine, summary, years = json.loads(p.stdout)
    return engine, summary, years


def line(name: str, runs: list[float], budget: str) -> None:
    print(
        f"{name:<58} median {statistics.median(runs):6.2f} s "
        f"(runs {min(runs):.2f}-{max(runs):.2f})   budget {budget}"
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=5, help="runs per command (median)")
    ap.add_argument("--draws", type=int, default=1_000_000, help="draws of the throughput run")
    args = ap.parse_args(argv)
    r = args.repeat
    line("capex --help", timed(["--help"], r), "<= 0.3 s")
    line(
        "capex validate assumptions/anthropic_fluidstack.yaml",
        timed(["validate", "assumptions/anthropic_fluidstack.yaml"], r),
        "<= 0.8 s",
    )
    line("capex run (default scenario, 10,000 draws)", timed(["run", "--quiet"], r), "<= 1.5 s")
    with tempfile.TemporaryDirectory() as d:
        line(
            "capex validate (5.9 MB file, 20,000 sources)",
            timed(["validate", str(big_file(Path(d)))], r),
            "<= 2 s",
        )
    line(
        "capex validate (billion-laughs file): refused",
        timed(["validate", "tests/fixtures/attack/alias_bomb.yaml"], r, ok=(2,)),
        "<= 1 s",
    )
    line(
        "capex run --draws 1e9: refused by the memory guard",
        timed(["run", "--draws", "1e9", "--quiet"], r, ok=(2,)),
        "<= 1 s",
    )
    runs = timed(["run", "--draws", str(args.draws), "--json", "--quiet"], min(r, 3))
    years = 16
    rate = [args.draws * years / t for t in runs]
    print(
        f"{f'capex run --draws {args.draws} --json --quiet':<58} median "
        f"{statistics.median(runs):6.2f} s = {statistics.median(rate) / 1e6:.2f}M "
        f"draw-years/s (runs {min(rate) / 1e6:.2f}-{max(rate) / 1e6:.2f}M)   budget >= 5M"
    )
    engine = [engine_seconds(args.draws) for _ in range(min(r, 3))]
    e = statistics.median(x[0] for x in engine)
    s = statistics.median(x[1] for x in engine)
    print(
        f"{'  of which inside simulate() (engine only)':<58} median {e:6.2f} s = "
        f"{args.draws * years / e / 1e6:.2f}M draw-years/s; summaries and JSON {s:.2f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
