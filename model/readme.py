"""Regenerate the results table and the example output of ``README.md`` from the shipped
assumption files.

``python -m model.readme`` runs every runnable file in ``assumptions/`` (same seed and draws
for all: common random numbers) and rewrites the table between ``<!-- results:start -->`` and
``<!-- results:end -->``. Nothing in that table is typed by hand.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from pathlib import Path

import numpy as np

from .cli_engine import fmt_metric
from .loading import load_scenario
from .simulation import simulate
from .units import format_amount

START, END = "<!-- results:start -->", "<!-- results:end -->"
EXAMPLE_START, EXAMPLE_END = "<!-- example:start -->", "<!-- example:end -->"
DEFAULT = "anthropic_fluidstack.yaml"


def fmt_probability(p: dict, draws: int) -> str:
    """``0.031 ± 0.002``, or ``< 0.0001 (0 of 10,000 draws)`` at the edges."""
    if p["value"] == 0.0:
        return f"< {1 / draws:.2g} (0 of {draws:,} draws)"
    if p["value"] == 1.0:
        return f"> {1 - 1 / draws:.4g} ({draws:,} of {draws:,} draws)"
    digits = 4 if min(p["value"], 1 - p["value"]) < 0.01 else 3
    return f"{p['value']:.{digits}f} ± {p['mcse']:.{digits}f}"


def median_payback(res) -> str:
    """Median of payback years counting 'never' as infinitely late."""
    pb = res.metric("payback_years")
    pb = np.where(np.isfinite(pb), pb, np.inf)
    med = float(np.median(pb))
    return f"{med:.1f} years" if math.isfinite(med) else f"after {res.scenario.end}"


def results_rows(folder: Path, draws: int, seed: int) -> list[dict]:
    rows = []
    for path in sorted(folder.glob("*.yaml")):
        sc = load_scenario(path, allow_partial=True)
        if sc.partial:
            continue
        res = simulate(sc, draws=draws, seed=seed)
        c = sc.provenance_counts()
        row = {"file": path.name, "title": sc.title,
               "hypothetical": f"{c['hypothetical']}/{c['parameters']}"}
        if sc.model == "programme":
            cap = sc.parameters["capex_total"].dist
            p = res.probability("npv_positive")
            row.update(headline=f"{format_amount(cap.mean())} capex, {sc.start}-{sc.end}",
                       probability=f"P(NPV > 0) = {fmt_probability(p, draws)}",
                       median=f"NPV {fmt_metric(res.metric_summary('npv')['p50'], 'USD')}",
                       payback=median_payback(res))
        else:
            p = res.probability("gap_closed_by_end")
            gap = res.metric_summary("revenue_gap_final")["p50"]
            row.update(headline=f"revenue gap, {sc.start}-{sc.end}",
                       probability=f"P(gap closed by {sc.end}) = "
                                   f"{fmt_probability(p, draws)}",
                       median=f"{sc.end} gap {format_amount(gap)}/year", payback="n/a")
        rows.append(row)
    return rows


def render_table(rows: list[dict], draws: int, seed: int) -> str:
    lines = ["| system | headline | answer | median | median payback | hypothetical inputs |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| [{r['title']}](assumptions/{r['file']}) | {r['headline']} | "
                     f"{r['probability']} | {r['median']} | {r['payback']} | "
                     f"{r['hypothetical']} |")
    lines.append("")
    lines.append(f"*{draws:,} draws per file, seed {seed}; regenerate with "
                 "`python -m model.readme`.*")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m model.readme", description=__doc__)
    ap.add_argument("--readme", default="README.md")
    ap.add_argument("--assumptions", default="assumptions")
    ap.add_argument("--draws", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    readme = Path(args.readme)
    text = readme.read_text(encoding="utf-8")
    if START not in text or END not in text:
        print(f"{readme}: no {START} ... {END} markers", file=sys.stderr)
        return 2
    table = render_table(results_rows(Path(args.assumptions), args.draws, args.seed),
                         args.draws, args.seed)
    new = re.sub(re.escape(START) + r".*?" + re.escape(END), lambda m: f"{START}\n{table}\n{END}",
                 text, flags=re.S)
    if EXAMPLE_START in new:
        from .cli_engine import summary_table

        res = simulate(load_scenario(Path(args.assumptions) / DEFAULT), draws=args.draws,
                       seed=args.seed)
        block = f"{EXAMPLE_START}\n```\n{summary_table(res)}\n```\n{EXAMPLE_END}"
        new = re.sub(re.escape(EXAMPLE_START) + r".*?" + re.escape(EXAMPLE_END),
                     lambda m: block, new, flags=re.S)
    tmp = readme.with_suffix(".md.tmp")
    tmp.write_text(new, encoding="utf-8")
    tmp.replace(readme)
    print(f"wrote the results table of {readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
