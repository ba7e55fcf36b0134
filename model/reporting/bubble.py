"""One page for the question: "The AI bubble question".

It sets the three published revenue-gap methods (Sequoia, Bain, J.P. Morgan: the gap models)
beside the bottom-up portfolio, each as published (the file's ``published`` overlay, fixed
inputs) and made uncertain (its default scenario), with its Monte Carlo errors, its share of
hypothetical inputs and the share of its spread that rests on them
(:func:`model.analysis.provenance.provenance_split`). ``capex report`` writes it next to the
reports when it reports a portfolio and at least one gap model together
(``reports/ai-bubble-question/``).
"""

from __future__ import annotations

import numpy as np
from matplotlib.lines import Line2D

from ..core.formatting import format_estimate, format_mean, format_value, probability_text
from ..core.vocabulary import PORTFOLIO_MODEL, is_gap_model
from . import figures as F

#: The folder of the page under the report root.
BUBBLE_DIR = "ai-bubble-question"
#: Short names of the published methods, by their model.
METHOD_NAMES = {
    "industry": "Sequoia (2024)",
    "capex_ratio": "Bain (2025)",
    "required_return": "J.P. Morgan (2025)",
}
#: The overlay of a gap-model file that reproduces its publication.
PUBLISHED = "published"


def wanted(results_list) -> bool:
    """Whether a set of runs holds what the page compares: a portfolio and a gap model."""
    models = [r.model for r in results_list]
    return PORTFOLIO_MODEL in models and any(is_gap_model(m) for m in models)


def _year_index(res, year: int) -> int:
    years = list(res.scenario.years)
    return years.index(year) if year in years else len(years) - 1


def published_values(res, year: int) -> dict | None:
    """Revenue required, AI revenue and gap in ``year`` under the file's ``published``
    overlay (fixed inputs: every draw the same), or None when it has none."""
    from ..engine.simulate import simulate  # deferred: the engine, only for this page
    from ..loading.scenario import load_scenario  # deferred: loaded with the engine

    if PUBLISHED not in res.scenario.overlays:
        return None
    sc = load_scenario(res.scenario.path, PUBLISHED)
    pub = simulate(sc, 2, 0, series_draws=2)
    k = _year_index(pub, year)
    # a publication that states no revenue leaves it uncertain: only what it fixes is shown
    revenue = sc.parameters.get("ai_revenue")
    open_revenue = revenue is None or revenue.is_uncertain
    names = ("revenue_required",) if open_revenue else ("revenue_required", "revenue_gap")
    return {name: float(pub.series[name][k, 0]) for name in names}


def _interval(values: np.ndarray, unit: str) -> dict:
    """Median and 90 % range of draws: ``{"p50", "range", "text"}`` (formatted)."""
    q = np.quantile(values, (0.05, 0.5, 0.95))
    p50, span = (
        format_value(q[1], unit),
        f"{format_value(q[0], unit)} to {format_value(q[2], unit)}",
    )
    return {"p50": p50, "range": span, "text": f"{p50} ({span})"}


def _split_text(split: dict) -> str:
    return format_mean(split["hypothetical"]["value"], split["hypothetical"]["mcse"], "share")


def gap_row(res, year: int, split: dict, link: str) -> dict:
    """One published method: as published and made uncertain, in ``year``."""
    k = _year_index(res, year)
    sc = res.scenario
    pub = published_values(res, year)
    req = res.series_values("revenue_required")[:, k]
    ai = res.series_values("ai_revenue")[:, k]
    gap = res.series_values("revenue_gap")[:, k]
    # a year's amounts, in the table as USD (its header says per year)
    closed = probability_text(_closed(res, k), res.draws)
    counts = sc.provenance_counts()
    return {
        "method": METHOD_NAMES.get(sc.model, _short(sc.title)),
        "title": sc.title,
        "link": link,
        "model": sc.model,
        "year": int(sc.years[k]),
        "published": _published_text(pub),
        "required": _interval(req, "USD"),
        "ai_revenue": _interval(ai, "USD"),
        "gap": _interval(gap, "USD"),
        "covered": closed,
        "hypothetical": f"{counts['hypothetical']} of {counts['parameters']}",
        "hypothetical_spread": _split_text(split),
        "required_draws": req,
        "published_required": None if pub is None else pub.get("revenue_required"),
    }


def _closed(res, k: int) -> dict:
    from ..engine.summaries import probability  # deferred: with the engine

    return probability(res.series_values("revenue_gap")[:, k] <= 0, res.errors)


def _published_text(pub: dict | None) -> str:
    if pub is None:
        return "no published overlay"
    parts = [f"required {format_value(pub['revenue_required'], 'USD')}"]
    if "revenue_gap" in pub and np.isfinite(pub["revenue_gap"]):
        parts.append(f"gap {format_value(pub['revenue_gap'], 'USD')}")
    return ", ".join(parts)


def portfolio_row(res, split: dict, link: str) -> dict:
    """The bottom-up portfolio: cumulative revenue against what the spending requires."""
    pf = res.portfolio
    k = _year_index(res, pf.coverage_year)
    req = res.series_values("revenue_required")[:, : k + 1].sum(axis=1)
    rev = res.series_values("revenue")[:, : k + 1].sum(axis=1)
    counts = res.scenario.provenance_counts()
    cov = res.metric_summary("revenue_coverage")
    return {
        "method": res.scenario.title,
        "link": link,
        "model": "portfolio",
        "year": pf.coverage_year,
        "members": ", ".join(res.members),
        "required": _interval(req, "USD"),
        "revenue": _interval(rev, "USD"),
        "shortfall": _interval(req - rev, "USD"),
        "coverage": format_estimate(cov["p50"], cov["quantile_mcse"]["p50"], "ratio"),
        "covered": probability_text(res.probability("revenue_covered"), res.draws),
        "hypothetical": f"{counts['hypothetical']} of {counts['parameters']}",
        "hypothetical_spread": _split_text(split),
        "coverage_draws": res.metric("revenue_coverage"),
    }


@F._styled
def bubble_figure(rows: list[dict], bottom_up: dict | None) -> F.Figure:
    """Left: revenue required in the question's year by each published method (P05–P95, median,
    the published figure as a diamond); right: the bottom-up coverage distribution."""
    fig, (left, right) = F._new(width=10.0, height=4.8, ncols=2)
    req = [r["required_draws"] for r in rows]
    scale = F.money_scale(np.concatenate([np.quantile(v, (0.05, 0.95)) for v in req]))
    y = np.arange(len(rows))[::-1]
    for yi, r, v in zip(y, rows, req):
        q = np.quantile(v, (0.05, 0.25, 0.5, 0.75, 0.95))
        left.hlines(yi, q[0], q[4], color=F.VERMILLION, alpha=0.45, linewidth=2)
        left.hlines(yi, q[1], q[3], color=F.VERMILLION, linewidth=7)
        left.plot(q[2], yi, "|", color="black", markersize=14, markeredgewidth=2)
        if r["published_required"] is not None:
            left.plot(r["published_required"], yi, "D", color="black", markersize=7)
    left.set_yticks(y, [r["method"] for r in rows])
    left.set_xlim(left=0)
    left.xaxis.set_major_formatter(scale.formatter())
    left.set_xlabel(f"Revenue required in {rows[0]['year']}, USD {scale.word} per year (nominal)")
    left.set_title("Published methods: made uncertain", fontsize=11, loc="left")
    if bottom_up is not None:
        c = bottom_up["coverage_draws"]
        right.hist(c[np.isfinite(c)], bins=40, color=F.BLUE, alpha=0.8)
        right.axvline(1.0, color="black", linewidth=1.5, linestyle="--")
        right.set_xlabel(f"Coverage to {bottom_up['year']} (revenue / required)")
        right.set_ylabel("Draws")
        right.set_title("Bottom-up portfolio: coverage", fontsize=11, loc="left")
        right.set_xlim(0, max(1.1, float(np.nanmax(c)) * 1.05))
    handles = [
        Line2D([], [], color="black", marker="D", linestyle="", label="as published"),
        Line2D([], [], color="black", marker="|", linestyle="", markersize=12, label="median"),
        Line2D([], [], color=F.VERMILLION, linewidth=7, label="P25–P75"),
        Line2D([], [], color=F.VERMILLION, alpha=0.45, linewidth=2, label="P05–P95"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=4)
    F._header(fig, "The AI bubble question", "Three published methods and a bottom-up portfolio")
    return F.Figure(
        "bubble",
        fig,
        "The AI bubble question",
        "Left: the yearly revenue each published method says the AI build-out requires, with "
        "its inputs uncertain: black tick the median, thick bar P25–P75, thin bar P05–P95; the "
        "black diamond is the publication's own figure (its inputs fixed). Right: for the "
        "bottom-up portfolio, the draws' ratio of cumulative revenue to the cumulative revenue "
        "the spending requires (Sequoia's multiplier); right of the dashed line at 1, revenue "
        "covers it.",
        "Interval chart of required revenue by method, and a histogram of the portfolio's "
        "coverage ratio with a dashed line at 1.",
    )


def _short(title: str) -> str:
    return title if len(title) <= 34 else title[:32] + "…"


def page_context(results_list, folder_names, splits: dict) -> dict:
    """What the page templates render (everything formatted)."""
    rows, bottom = [], None
    year = next(r.portfolio.coverage_year for r in results_list if r.model == PORTFOLIO_MODEL)
    for res, name in zip(results_list, folder_names):
        link = f"../{name}/report"
        if is_gap_model(res.model):
            rows.append(gap_row(res, year, splits[name], link))
        elif res.model == PORTFOLIO_MODEL and bottom is None:
            bottom = portfolio_row(res, splits[name], link)
    first = results_list[0].attrs
    order = list(METHOD_NAMES)
    rows.sort(key=lambda r: order.index(r["model"]) if r["model"] in order else len(order))
    return {
        "rows": rows,
        "bottom_up": bottom,
        "year": year,
        "draws": int(first["draws"]),
        "seed": int(first["seed"]),
        "answer": _answer(rows, bottom, year),
    }


def _answer(rows: list[dict], bottom: dict | None, year: int) -> str:
    """The page's answer in one paragraph, every figure from the rows."""
    parts = [f"{r['method']}: P(revenue covers it in {r['year']}) = {r['covered']}" for r in rows]
    text = "; ".join(parts)
    if bottom is not None:
        text += (
            f". Bottom-up ({bottom['members']}): P(revenue to {year} covers what the spending "
            f"requires) = {bottom['covered']}, median coverage {bottom['coverage']}"
        )
    return text + "."


def page_json(ctx: dict) -> dict:
    """The page's numbers as JSON (bubble.json), draws left out."""
    drop = ("required_draws", "coverage_draws")
    rows = [{k: v for k, v in r.items() if k not in drop} for r in ctx["rows"]]
    bottom = ctx["bottom_up"]
    return {
        "year": ctx["year"],
        "draws": ctx["draws"],
        "seed": ctx["seed"],
        "published_methods": rows,
        "bottom_up": None if bottom is None else {k: v for k, v in bottom.items() if k not in drop},
        "answer": ctx["answer"],
    }
