"""Regenerate the results table and the example output of ``README.md`` from the shipped
assumption files.

``python -m model.reporting.readme`` runs every runnable file in ``assumptions/`` (same seed and
draws for all: common random numbers) and rewrites the blocks between ``<!-- results:start -->``
and ``<!-- results:end -->`` and between ``<!-- example:start -->`` and ``<!-- example:end -->``;
``--check`` only reports whether they are current (exit 1 when they drifted). Nothing in those
blocks is typed by hand; every number goes through :mod:`model.core.formatting`.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from ..analysis.posterior import set_by_prior
from ..core.fileio import atomic_write
from ..core.formatting import format_estimate, format_value, probability_text
from ..core.scenario import InputForm
from ..core.vocabulary import OUTPUTS, PORTFOLIO_MODEL, is_user_model, key_metric
from ..engine.portfolio import simulate_portfolio
from ..engine.simulate import simulate
from ..loading.portfolio import is_portfolio_file, load_portfolio
from ..loading.scenario import load_scenario
from .markdown import md_escape
from .text import summary_table

START, END = "<!-- results:start -->", "<!-- results:end -->"
EXAMPLE_START, EXAMPLE_END = "<!-- example:start -->", "<!-- example:end -->"
DEFAULT = "anthropic_fluidstack.yaml"


def median_payback(res) -> str:
    """Median of payback over every draw, a draw that never pays back counting as beyond the
    horizon (the metric's never text where the median falls there), with its error."""
    m = res.metric_summary("payback_years")
    never = OUTPUTS["payback_years"].never
    return format_estimate(m["p50"], m["quantile_mcse"]["p50"], "years", never, res.scenario.end)


def _prior_set_note(sc) -> str:
    """ "; set by the prior: <input> <params>" for calibrated inputs whose fit left curve
    parameters to their priors (empty otherwise): how much of the row rests on priors."""
    if not any(p.form == InputForm.CALIBRATED for p in sc.parameters.values()):
        return ""
    decided = {k: v for k, v in set_by_prior(sc).items() if v}
    if not decided:
        return "; every curve parameter informed by data"
    return "; set by the prior: " + ", ".join(f"{k} {' and '.join(v)}" for k, v in decided.items())


def results_row(path: Path, res) -> dict:
    sc = res.scenario
    c = sc.provenance_counts()
    row = {
        "file": path.name,
        "title": sc.title,
        "hypothetical": f"{c['hypothetical']}/{c['parameters']}" + _prior_set_note(sc),
    }
    if is_user_model(sc.model):
        m = key_metric(sc.model)
        s = res.metric_summary(m)
        row.update(
            headline=f"user model {sc.user_model.reference}, {sc.start}-{sc.end}",
            probability=f"P({m} > 0) = {probability_text(res.probability_of(f'{m}>0'), res.draws)}",
            median=f"{m} {format_value(s['p50'], OUTPUTS[m].unit)}",
            payback="n/a",
        )
    elif sc.model == PORTFOLIO_MODEL:
        p = res.probability("revenue_covered")
        year = res.portfolio.coverage_year
        cov = res.metric_summary("revenue_coverage")["p50"]
        row.update(
            headline=f"{len(res.members)} programmes on shared drivers, {sc.start}-{sc.end}",
            probability=f"P(revenue {sc.start}-{year} covers what the spending requires) = "
            f"{probability_text(p, res.draws)}",
            median=f"coverage {format_value(cov, 'ratio')}",
            payback=median_payback(res),
        )
    elif sc.model == "programme":
        cap = sc.parameters["capex_total"].dist
        p = res.probability("npv_positive")
        row.update(
            headline=f"{format_value(cap.mean(), 'USD')} capex, {sc.start}-{sc.end}",
            probability=f"{OUTPUTS['npv_positive'].text(sc.end)} = "
            f"{probability_text(p, res.draws)}",
            median=f"NPV {format_value(res.metric_summary('npv')['p50'], 'USD')}",
            payback=median_payback(res),
        )
    else:
        p = res.probability("gap_closed_by_end")
        gap = res.metric_summary("revenue_gap_final")["p50"]
        row.update(
            headline=f"revenue gap, {sc.start}-{sc.end}",
            probability=f"{OUTPUTS['gap_closed_by_end'].text(sc.end)} = "
            f"{probability_text(p, res.draws)}",
            median=f"{sc.end} gap {format_value(gap, 'USD/year')}",
            payback="n/a",
        )
    return row


def results_rows(folder: Path, draws: int, seed: int) -> list[dict]:
    rows = []
    for path in sorted(folder.glob("*.yaml")):
        if is_portfolio_file(path):
            res = simulate_portfolio(load_portfolio(path), draws=draws, seed=seed)
            rows.append(results_row(path, res))
            continue
        sc = load_scenario(path, allow_partial=True)
        if not sc.partial:
            rows.append(results_row(path, simulate(sc, draws=draws, seed=seed)))
    return rows


def render_table(rows: list[dict], draws: int, seed: int) -> str:
    lines = [
        "| system | headline | answer | median | median payback | hypothetical inputs |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| [{md_escape(r['title'])}](assumptions/{r['file']}) | {r['headline']} | "
            f"{r['probability']} | {r['median']} | {r['payback']} | "
            f"{r['hypothetical']} |"
        )
    lines.append("")
    lines.append(
        f"*{draws:,} draws per file, seed {seed}; calibrated rows fitted with PyMC "
        f"{pymc_version()}; regenerate with `python -m model.reporting.readme`.*"
    )
    return "\n".join(lines)


def pymc_version() -> str:
    """The installed PyMC's version (calibrated rows depend on its sampler), or "none"."""
    from importlib import metadata  # deferred: only the README generator asks

    try:
        return metadata.version("pymc")
    except metadata.PackageNotFoundError:
        return "none"


def regenerate(text: str, assumptions: Path, draws: int, seed: int) -> str:
    """README text with its generated blocks rewritten."""
    table = render_table(results_rows(assumptions, draws, seed), draws, seed)
    new = re.sub(
        re.escape(START) + r".*?" + re.escape(END),
        lambda m: f"{START}\n{table}\n{END}",
        text,
        flags=re.S,
    )
    if EXAMPLE_START in new:
        res = simulate(load_scenario(assumptions / DEFAULT), draws=draws, seed=seed)
        block = f"{EXAMPLE_START}\n```\n{summary_table(res)}\n```\n{EXAMPLE_END}"
        new = re.sub(
            re.escape(EXAMPLE_START) + r".*?" + re.escape(EXAMPLE_END),
            lambda m: block,
            new,
            flags=re.S,
        )
    return new


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m model.reporting.readme", description=__doc__)
    ap.add_argument("--readme", default="README.md", help="the file to rewrite")
    ap.add_argument("--assumptions", default="assumptions", help="the shipped assumption files")
    ap.add_argument("--draws", type=int, default=10_000, help="draws per file")
    ap.add_argument("--seed", type=int, default=0, help="seed of every run")
    ap.add_argument("--check", action="store_true", help="only check; exit 1 on drift")
    args = ap.parse_args(argv)
    readme = Path(args.readme)
    text = readme.read_text(encoding="utf-8")
    if START not in text or END not in text:
        print(f"{readme}: no {START} ... {END} markers", file=sys.stderr)
        return 2
    new = regenerate(text, Path(args.assumptions), args.draws, args.seed)
    if args.check:
        print(f"{readme}: " + ("current" if new == text else "generated blocks drifted"))
        return 0 if new == text else 1
    atomic_write(readme, new)
    print(f"wrote the generated blocks of {readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
