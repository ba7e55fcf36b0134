"""The parts of a report that only a portfolio has: its members on the same draws, whether its
revenue covers what its spending requires, and where the aggregate's variance comes from (by
member, by shared driver, by provenance), every number through the one formatter."""

from __future__ import annotations

import numpy as np
from matplotlib.lines import Line2D

from ..core.formatting import format_estimate, format_mean, format_value, probability_text
from . import figures as F


def portfolio_sensitivity(res) -> dict:
    """What the report's "which inputs drive the answer" shows for a portfolio (computed before
    anything is staged): the variance shares and the provenance split of the aggregate NPV
    (:func:`model.analysis.portfolio.provenance_split`)."""
    from ..analysis.provenance import provenance_split  # deferred: it reruns the portfolio

    return {"variance": res.variance_shares(), "provenance_split": provenance_split(res)}


def _share(v: dict | None) -> str:
    return format_mean(v["value"], v["mcse"], "share") if v else "n/a"


def member_table(res, data: dict) -> dict:
    """One row per member: years, NPV P50 at the portfolio's valuation date, P(NPV > 0), its
    share of Var(aggregate NPV)."""
    rows = []
    for name, m in res.members.items():
        npv = m.metric_summary("npv")
        rows.append(
            [
                name + (f" [{m.scenario.overlay}]" if m.scenario.overlay else ""),
                f"{m.scenario.start}–{m.scenario.end}",
                format_estimate(npv["p50"], npv["quantile_mcse"]["p50"], "USD"),
                probability_text(m.probability("npv_positive"), m.draws),
                _share(data["variance"]["by_member"].get(name)),
            ]
        )
    return {
        "title": "Members on the same draws",
        "columns": ["Member", "Years", "NPV P50 (own date)", "P(NPV > 0)", "Share of Var(NPV)"],
        "num": [False, False, True, True, True],
        "rows": rows,
    }


def driver_table(data: dict) -> dict:
    """One row per shared driver (first-order share), and the rest."""
    v = data["variance"]
    rows = [[f"`{k}` (shared)", _share(s)] for k, s in v["by_shared_driver"].items()]
    if v.get("rest"):
        rows.append(["members' own inputs and interactions (the rest)", _share(v["rest"])])
    return {
        "title": "Shared drivers",
        "columns": ["Driver", "Share of Var(aggregate NPV), first order"],
        "num": [False, True],
        "rows": rows,
    }


def provenance_table(data: dict) -> dict:
    """How much of the spread would go if each provenance group were known."""
    split = data["provenance_split"]
    rows = []
    for group in ("hypothetical", "sourced"):
        g = split[group]
        left = ", ".join(g["left_uncertain"]) or "none"
        rows.append([group, str(g["fixed"]), _share(g), left])
    return {
        "title": "Provenance split",
        "columns": [
            "Inputs",
            "Uncertain inputs fixed",
            "Share of Var(NPV) that goes",
            "Left uncertain",
        ],
        "num": [False, True, True, False],
        "rows": rows,
    }


def sensitivity_section(res, data: dict) -> dict:
    """The report's sensitivity block for a portfolio (the same keys the template reads)."""
    hyp = data["provenance_split"]["hypothetical"]
    return {
        "headline": (
            f"Fixing every hypothetical input at its median would remove "
            f"{_share(hyp)} of the spread of the aggregate NPV."
        ),
        "intro": (
            "A portfolio's members run on the same draws, so its spread splits by member (each "
            "member's covariance with the aggregate over the aggregate's variance; the shares "
            "add up to 1), by shared driver (first-order index from the run's own draws, "
            "RBD-FAST) and by provenance (the portfolio rerun on the same seed with a group "
            'of inputs fixed at their medians). Equations: docs/model.md, "Portfolios".'
        ),
        "figures": [],
        "tables": [member_table(res, data), driver_table(data), provenance_table(data)],
        "settings_text": (
            f"{res.draws:,} draws, seed {int(res.attrs['seed'])}; errors are ± one Monte Carlo "
            "standard error (member and provenance shares: spread over 20 batches of draws; "
            "drivers: RBD-FAST bootstrap)."
        ),
        "importance": {},
        "settings": {"method": "portfolio variance split", "draws": res.draws},
    }


@F._styled
def coverage_figure(res) -> F.Figure:
    """Cumulative revenue against the cumulative revenue the spending requires, by year."""
    sc = res.scenario
    years = sc.years
    revenue = np.cumsum(res.series_values("revenue"), axis=1)
    required = np.cumsum(res.series_values("revenue_required"), axis=1)
    year = res.portfolio.coverage_year
    fig, scale = F._two_fans(
        sc,
        years,
        required,
        "required",
        revenue,
        "revenue",
        "Cumulative revenue vs the revenue the spending requires",
    )
    ax = fig.axes[0]
    ax.axvline(year, color=F.GREY, linewidth=1.2, linestyle="--")
    ax.set_ylabel(F._money_label(scale, sc).replace(" per year", ""))
    k = int(np.searchsorted(years, year))
    return F.Figure(
        "coverage",
        fig,
        "Cumulative revenue vs the revenue the spending requires",
        f"Sum of the members' revenue (blue) and of the revenue their capex and IT refresh "
        f"require by Sequoia's multiplier, spend / (1 − end-user gross margin) (vermillion), "
        f"from {years[0]}; the dashed line is {year}, the year of the question. Medians in "
        f"{year}: revenue {scale.fmt(np.median(revenue[:, k]), 1)}, required "
        f"{scale.fmt(np.median(required[:, k]), 1)} ({F.currency_words(sc)}). Bands: P25–P75 "
        "and P05–P95 of the draws.",
        "Fan chart of cumulative revenue in blue and cumulative revenue required in red.",
    )


@F._styled
def member_figure(res) -> F.Figure:
    """Each member's NPV at the portfolio's valuation date: median, P25–P75 and P05–P95."""
    from ..engine.portfolio import discounted_member_npv  # deferred: only portfolio reports

    names = list(res.members)
    values = [discounted_member_npv(res.portfolio, res.members[n]) for n in names]
    q = np.array([np.quantile(v, (0.05, 0.25, 0.5, 0.75, 0.95)) for v in values])
    scale = F.money_scale(q)
    fig, ax = F._new(height=1.2 + 0.45 * len(names))
    y = np.arange(len(names))[::-1]
    ax.hlines(y, q[:, 0], q[:, 4], color=F.BLUE, alpha=0.45, linewidth=2)
    ax.hlines(y, q[:, 1], q[:, 3], color=F.BLUE, linewidth=7)
    ax.plot(q[:, 2], y, "|", color="black", markersize=14, markeredgewidth=2)
    ax.axvline(0, color=F.GREY, linewidth=1)
    ax.set_yticks(y, names)
    handles = [
        Line2D([], [], color="black", marker="|", linestyle="", markersize=12, label="median"),
        Line2D([], [], color=F.BLUE, linewidth=7, label="P25–P75 (half of the draws)"),
        Line2D([], [], color=F.BLUE, alpha=0.45, linewidth=2, label="P05–P95 (90 % of the draws)"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=3)
    ax.xaxis.set_major_formatter(scale.formatter())
    ax.set_xlabel(F._money_label(scale, res.scenario))
    F._header(fig, "NPV of each member", F._sub(res.scenario))
    return F.Figure(
        "members_npv",
        fig,
        "NPV of each member",
        f"Each member's NPV at 1 January {res.scenario.start} (the portfolio's valuation date), "
        f"on the same draws: black tick the median, thick bar P25–P75, thin bar P05–P95 "
        f"({F.currency_words(res.scenario)}). Median aggregate NPV "
        f"{format_value(float(np.median(res.metric('npv'))), 'USD')}.",
        "Horizontal interval chart: one bar per member from P05 to P95 of its NPV.",
    )
