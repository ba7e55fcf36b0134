"""Report figures (matplotlib, no pyplot state): fan charts, distributions, payback.

Every function takes a :class:`~model.engine.results.Results` and returns a :class:`Figure` spec: a
matplotlib ``Figure`` with a title, axis labels carrying units and currency, money in ``$B``
(or ``$T``), plus the caption and alt text the report shows next to it. :func:`save` writes it
as ``figures/<name>.png`` and returns its bytes (embedded in ``report.html``).

Colours are the Okabe–Ito colour-blind-safe palette. Figures are built with
``matplotlib.figure.Figure`` directly (the Agg canvas), so nothing here touches global pyplot
state and reports can be built in a library, a test or a thread.
"""

from __future__ import annotations

import base64
import io
import math
import struct
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg", force=False)

import numpy as np  # noqa: E402
from matplotlib.figure import Figure as MplFigure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter  # noqa: E402

from ..core.formatting import format_value, probability_text  # noqa: E402
from ..core.vocabulary import OUTPUTS, is_gap_model, is_user_model, outputs_of  # noqa: E402
from .outputs import PNG_MARK, check_inside  # noqa: E402

BLUE = "#0072B2"
VERMILLION = "#D55E00"
GREEN = "#009E73"
ORANGE = "#E69F00"
PURPLE = "#CC79A7"
SKY = "#56B4E9"
GREY = "#555555"
PALETTE = (BLUE, VERMILLION, GREEN, ORANGE, PURPLE, SKY, "#000000")

FAN_Q = (0.05, 0.25, 0.5, 0.75, 0.95)
WIDTH, HEIGHT = 8.0, 5.0  # inches; 1280 x 800 px at DPI
DPI = 160
MINUS = "\u2212"

#: rcParams applied while drawing (a context, never global)
STYLE = {
    "font.size": 10.5,
    "axes.titlesize": 12.5,
    "axes.titleweight": "bold",
    "axes.labelsize": 10.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "legend.fontsize": 9.5,
    "legend.frameon": False,
}


@dataclass
class Figure:
    """A report figure: the matplotlib figure and the words around it."""

    name: str
    fig: MplFigure
    title: str
    caption: str
    alt: str


# ============================================================================ formatting
@dataclass(frozen=True)
class MoneyScale:
    """How money is shown on an axis: divisor and suffix (``$B``, ``$T``, ``$M``)."""

    div: float
    suffix: str
    word: str

    def fmt(self, v: float, decimals: int | None = None) -> str:
        x = v / self.div
        if decimals is None:  # axis ticks: $5B, $2.5B, $10B
            decimals = 0 if float(round(x, 6)).is_integer() else 1
        s = f"${abs(x):,.{decimals}f}{self.suffix}"
        return f"{MINUS}{s}" if x < 0 and round(abs(x), decimals) != 0 else s

    def formatter(self) -> FuncFormatter:
        return FuncFormatter(lambda v, _pos: self.fmt(v, None))


def money_scale(values) -> MoneyScale:
    """The scale that suits the largest absolute value of ``values``."""
    arr = np.asarray(values, dtype=float)
    arr = arr[np.isfinite(arr)]
    top = float(np.max(np.abs(arr))) if arr.size else 0.0
    if top >= 2e12:
        return MoneyScale(1e12, "T", "trillions")
    if top >= 1e9:
        return MoneyScale(1e9, "B", "billions")
    return MoneyScale(1e6, "M", "millions")


def currency_words(scenario) -> str:
    """``USD, nominal`` or ``USD, 2024 money``."""
    if scenario.currency_year:
        return f"{scenario.currency}, {scenario.currency_year} money"
    return f"{scenario.currency}, nominal"


def _money_label(scale: MoneyScale, scenario, per_year: bool = False) -> str:
    per = " per year" if per_year else ""
    return f"{scenario.currency} {scale.word}{per} ({currency_words(scenario).split(', ')[1]})"


def _new(width=WIDTH, height=HEIGHT, ncols=1, **kw):
    fig = MplFigure(figsize=(width, height), dpi=DPI, layout="constrained")
    axes = fig.subplots(1, ncols, **kw)
    return fig, axes


HEADER_INCHES = 0.62


def _header(fig, title: str, subtitle: str | None = None) -> None:
    """Bold title and a grey subtitle (the scenario) above the axes, left-aligned.

    The space is reserved from the constrained layout, so long titles never collide with
    the axes; very long subtitles are shortened.
    """
    h = fig.get_figheight()
    fig.get_layout_engine().set(rect=(0, 0, 1, 1 - HEADER_INCHES / h))
    fig.text(0.012, 1 - 0.07 / h, title, ha="left", va="top", fontsize=13, fontweight="bold")
    if subtitle:
        if len(subtitle) > 110:
            subtitle = subtitle[:107] + "..."
        fig.text(0.012, 1 - 0.36 / h, subtitle, ha="left", va="top", fontsize=10, color=GREY)


def _styled(fn):
    """Draw under :data:`STYLE` (rc_context), without touching global settings."""

    def wrapper(*a, **kw):
        with matplotlib.rc_context(STYLE):
            return fn(*a, **kw)

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


def _fan(ax, x, q, color, label):
    """P05–P95 and P25–P75 bands and the median line of quantiles ``q`` (5, T)."""
    ax.fill_between(x, q[0], q[4], color=color, alpha=0.15, linewidth=0)
    ax.fill_between(x, q[1], q[3], color=color, alpha=0.32, linewidth=0)
    ax.plot(x, q[2], color=color, linewidth=2.2, label=label)


def _fan_legend(fig, entries, extra=()):
    """Legend below the axes: one median line per series, the band meaning, extra entries."""
    handles = []
    for lab, c in entries:  # each series' swatches in its own colours, as _fan draws them
        prefix = f"{lab}: " if len(entries) > 1 else ""
        handles += [
            Line2D([], [], color=c, linewidth=2.2, label=f"{lab}: median"),
            Patch(color=c, alpha=0.32, linewidth=0, label=f"{prefix}P25–P75 (half of the draws)"),
            Patch(color=c, alpha=0.15, linewidth=0, label=f"{prefix}P05–P95 (90 % of the draws)"),
        ]
    handles += list(extra)
    fig.legend(handles=handles, loc="outside lower center", ncols=2 if len(handles) > 3 else 3)


def _year_axis(ax, years):
    ax.set_xlim(years[0] - 0.3, years[-1] + 0.3)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=9))


def _quantiles(arr2d, qs=FAN_Q):
    return np.quantile(np.asarray(arr2d, dtype=float), qs, axis=0)


def _sub(scenario) -> str:
    return scenario.title + (f" [{scenario.overlay}]" if scenario.overlay else "")


def _inf_quantile(x: np.ndarray, q: float) -> float:
    """Quantile of ``x`` with NaN read as +inf (never happened): inf when beyond the finite."""
    s = np.sort(np.where(np.isfinite(x), x, np.inf))
    k = min(s.size - 1, max(0, int(math.ceil(q * s.size)) - 1))
    return float(s[k])


def _two_fans(sc, years, cost, cost_label, income, income_label, title):
    """Fan chart of two money series per year [USD/year]: cost in red, income in blue.
    Returns the figure and its money scale (for captions)."""
    q_cost, q_income = _quantiles(cost), _quantiles(income)
    scale = money_scale(np.concatenate([q_cost.ravel(), q_income.ravel()]))
    fig, ax = _new()
    _fan(ax, years, q_cost, VERMILLION, cost_label)
    _fan(ax, years, q_income, BLUE, income_label)
    ax.yaxis.set_major_formatter(scale.formatter())
    ax.set_ylim(bottom=0)
    _year_axis(ax, years)
    ax.set_xlabel("Year")
    ax.set_ylabel(_money_label(scale, sc, per_year=True))
    _header(fig, title, _sub(sc))
    _fan_legend(fig, [(cost_label, VERMILLION), (income_label, BLUE)])
    return fig, scale


# ============================================================================ programme
@_styled
def capex_vs_revenue(res) -> Figure:
    """Fan chart of capex (incl. IT refresh) and revenue per year."""
    sc = res.scenario
    years = res.scenario.years
    capex = res.series_values("spend") + res.series_values("refresh_spend")
    revenue = res.series_values("revenue")
    fig, scale = _two_fans(
        sc,
        years,
        capex,
        "capex (incl. IT refresh)",
        revenue,
        "revenue",
        "Capex vs revenue per year",
    )
    total_capex = np.median(capex.sum(axis=1))
    total_rev = np.median(revenue.sum(axis=1))
    return Figure(
        "capex_vs_revenue",
        fig,
        "Capex vs revenue per year",
        f"Yearly capital spending (announced capex × overrun, plus IT refresh) against revenue, "
        f"{years[0]}–{years[-1]}: capex in vermillion, revenue in blue. Lines are medians "
        f"across draws; dark bands hold the middle half of the draws, light bands 90 %. "
        f"Medians over the horizon: capex "
        f"{scale.fmt(total_capex, 1)}, revenue {scale.fmt(total_rev, 1)} "
        f"({currency_words(sc)}).",
        "Fan chart: capex per year in red, revenue per year in blue, with P05–P95 and "
        "P25–P75 bands.",
    )


def _year_bars_with_never(
    labels, shares, never, color, label, never_label, xlabel, marked=None, marked_label=""
):
    """Bar chart of the share of draws by year, plus a red bar for "never" [share of draws];
    ``marked`` (a part of each year's share) is drawn hatched on top, labelled
    ``marked_label``."""
    fig, ax = _new()
    xs = np.arange(len(labels))
    marked = np.zeros(len(labels)) if marked is None else np.asarray(marked, dtype=float)
    plain = np.asarray(shares, dtype=float) - marked
    ax.bar(xs, plain, color=color, alpha=0.85, label=label)
    if marked.any():
        ax.bar(
            xs,
            marked,
            bottom=plain,
            color="white",
            edgecolor=color,
            hatch="///",
            linewidth=1.0,
            label=marked_label,
        )
    ax.bar([len(labels) + 0.6], [never], color=VERMILLION, alpha=0.85, label=never_label)
    ax.text(
        len(labels) + 0.6, never, f"{100 * never:.0f} %", ha="center", va="bottom", fontsize=9.5
    )
    ticks = list(xs[:: max(1, len(labels) // 8)]) + [len(labels) + 0.6]
    ax.set_xticks(ticks, [str(labels[int(i)]) for i in ticks[:-1]] + ["never"])
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_ylabel("share of draws")
    ax.set_xlabel(xlabel)
    ax.legend(loc="upper left")
    ax.grid(axis="x", visible=False)
    return fig


@_styled
def cumulative_fcf(res) -> Figure:
    """Fan chart of cumulative free cash flow with the payback crossing.

    Year ``t``'s point is the cumulative FCF at the end of year ``t`` (cash flows land at year
    end); the first point, at the end of the year before the start, is the valuation date
    (1 January of the first year) where nothing has been spent. A payback of ``p`` years then
    sits at ``start - 1 + p`` on this axis: inside the calendar year it happens in.
    """
    sc = res.scenario
    years = res.scenario.years
    cum = res.series_values("cumulative_fcf")
    x = np.concatenate([[years[0] - 1], years])
    q = _quantiles(cum)
    q = np.concatenate([np.zeros((len(FAN_Q), 1)), q], axis=1)
    scale = money_scale(q)
    fig, ax = _new()
    _fan(ax, x, q, GREEN, "cumulative FCF")
    ax.axhline(0, color="black", linewidth=0.9)
    pb = res.metric("payback_years")
    p_pb = res.probability("payback_within_horizon")
    med = _inf_quantile(pb, 0.5)
    extra = []
    if math.isfinite(med):
        xm = years[0] - 1 + med
        ax.axvline(xm, color=PURPLE, linestyle="--", linewidth=1.6)
        extra.append(
            Line2D(
                [],
                [],
                color=PURPLE,
                linestyle="--",
                linewidth=1.6,
                label=f"median payback (all draws): {med:.1f} years, during "
                f"{int(math.floor(years[0] + med - 1e-9))}",
            )
        )
        note = (
            f"the median payback over all draws (those never paying back count as "
            f"longest) is {med:.1f} years from 1 January {years[0]}, during "
            f"{int(math.floor(years[0] + med - 1e-9))} (dashed line)"
        )
    else:
        note = f"in most draws cumulative FCF is still negative at the end of {years[-1]}"
        extra.append(
            Line2D([], [], color="none", label=f"median payback (all draws): after {years[-1]}")
        )
    extra.append(
        Line2D(
            [], [], color="none", label=f"P(payback by end of {years[-1]}) = {p_pb['value']:.2f}"
        )
    )
    ax.yaxis.set_major_formatter(scale.formatter())
    ax.set_xlim(x[0] - 0.2, x[-1] + 0.2)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=9))
    ax.set_xlabel(f"End of year (first point: valuation date, 1 January {years[0]})")
    ax.set_ylabel(_money_label(scale, sc))
    _header(fig, "Cumulative free cash flow and payback", _sub(sc))
    _fan_legend(fig, [("cumulative FCF", GREEN)], extra)
    return Figure(
        "cumulative_fcf",
        fig,
        "Cumulative free cash flow and payback",
        f"Running sum of free cash flow (revenue minus capex, operating costs and tax), "
        f"undiscounted, at each year end (median line and bands in green; the dashed purple "
        f"line is the median payback date). The programme has paid back when the curve "
        f"crosses zero; {note}. P(payback by end of {years[-1]}) = {_pt(res, p_pb)}.",
        "Fan chart of cumulative free cash flow with a zero line and the median payback date.",
    )


@_styled
def _distribution(
    values,
    title,
    xlabel,
    fmt,
    name,
    caption,
    alt,
    ref=None,
    ref_label=None,
    shade_below=None,
    note=None,
    label_fmt=None,
) -> Figure:
    """Histogram (left) and empirical CDF (right) of the finite draws of a metric."""
    v = np.asarray(values, dtype=float)
    finite = np.sort(v[np.isfinite(v)])
    fig, (ax1, ax2) = _new(width=WIDTH + 1.5, ncols=2)
    lo, hi = np.quantile(finite, [0.002, 0.998]) if finite.size else (0, 1)
    if hi <= lo:
        lo, hi = lo - 1, hi + 1
    bins = np.linspace(lo, hi, 50)
    ax1.hist(
        finite, bins=bins, color=BLUE, alpha=0.8, weights=np.full(finite.size, 1.0 / max(v.size, 1))
    )
    if shade_below is not None and lo < shade_below:
        for ax in (ax1, ax2):
            ax.axvspan(lo, min(shade_below, hi), color=VERMILLION, alpha=0.08, linewidth=0)
    top = ax1.get_ylim()[1]
    ax1.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0 if top >= 0.05 else 1))
    ax1.set_ylabel("share of draws per bin")
    ecdf = np.arange(1, finite.size + 1) / max(v.size, 1)
    ax2.step(finite, ecdf, where="post", color=BLUE, linewidth=2)
    ax2.set_ylim(0, 1.0)
    ax2.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax2.set_ylabel("P(value ≤ x)")
    med = np.quantile(finite, 0.5) if finite.size else float("nan")
    for ax in (ax1, ax2):
        ax.xaxis.set_major_formatter(FuncFormatter(lambda t, _p: fmt(t)))
        ax.xaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
        ax.set_xlim(lo, hi)
        ax.set_xlabel(xlabel)
        if math.isfinite(med):
            ax.axvline(med, color="black", linewidth=1.2, linestyle=":")
        if ref is not None and lo <= ref <= hi:
            ax.axvline(ref, color=VERMILLION, linewidth=1.4)
    handles = [
        Line2D([], [], color="black", linestyle=":", label=f"median {(label_fmt or fmt)(med)}")
    ]
    if ref is not None and lo <= ref <= hi:
        handles.append(Line2D([], [], color=VERMILLION, label=ref_label))
    elif ref is not None:
        side = "left" if ref < lo else "right"
        handles.append(
            Line2D([], [], color="none", label=f"{ref_label}: off the chart, to the {side}")
        )
    ax1.legend(handles=handles, loc="upper left")
    ax1.set_title("Distribution", loc="left", fontsize=11)
    ax2.set_title("Cumulative distribution", loc="left", fontsize=11)
    main, _, sub = title.partition(" — ")
    _header(fig, main, sub or None)
    if note:
        ax2.text(
            0.03,
            0.97,
            note,
            transform=ax2.transAxes,
            ha="left",
            va="top",
            fontsize=10.5,
            bbox=dict(boxstyle="round,pad=0.3", facecolor="white", edgecolor=GREY, alpha=0.9),
        )
    if finite.size and (finite[0] < lo or finite[-1] > hi):
        caption += " The axes show the central 99.6 % of the draws."
    return Figure(name, fig, title.split(" — ")[0], caption, alt)


def npv_distribution(res) -> Figure:
    sc = res.scenario
    npv = res.metric("npv")
    scale = money_scale(np.quantile(npv, [0.01, 0.99]))
    p = res.probability("npv_positive")
    rate = _discount_text(sc)
    return _distribution(
        npv,
        f"Net present value — {_sub(sc)}",
        f"NPV ({sc.currency} {scale.word}, {currency_words(sc).split(', ')[1]}, at 1 Jan "
        f"{sc.start})",
        lambda t: scale.fmt(t),
        "npv_distribution",
        f"NPV of free cash flow discounted at {rate} (draws in blue; the dotted black line is "
        f"the median). Left of the vermillion line (shaded) the "
        f"programme destroys value. P(NPV > 0) = {_pt(res, p)}.",
        "Histogram and cumulative distribution of NPV with a line at zero.",
        ref=0.0,
        ref_label="NPV = 0 (break-even)",
        shade_below=0.0,
        note=f"P(NPV > 0) = {p['value']:.2f}",
    )


def irr_distribution(res) -> Figure:
    sc = res.scenario
    irr = res.metric("irr")
    und = float(np.mean(~np.isfinite(irr)))
    hurdle = _median_input(res, "discount_rate")
    note = f"undefined (no sign change) in {100 * und:.1f} % of draws" if und > 0 else None
    return _distribution(
        irr,
        f"Internal rate of return — {_sub(sc)}",
        "IRR (% per year, nominal)",
        lambda t: f"{100 * t:.0f}%".replace("-", MINUS),
        "irr_distribution",
        "IRR of the free cash flows; the red line is the (median) discount rate, the hurdle "
        "the IRR must clear for NPV > 0. "
        + (
            f"IRR is undefined in {100 * und:.1f} % of "
            "draws (cash flows without a sign change); those "
            "draws are left out of the bars."
            if und > 0
            else "IRR is defined in every draw."
        ),
        "Histogram and cumulative distribution of IRR with a line at the discount rate.",
        ref=hurdle,
        ref_label=f"discount rate {100 * hurdle:.1f}%" if hurdle is not None else None,
        shade_below=hurdle,
        note=note,
        label_fmt=lambda t: f"{100 * t:.1f}%".replace("-", MINUS),
    )


@_styled
def payback_distribution(res) -> Figure:
    """Share of draws paying back in each calendar year, and never within the horizon."""
    sc = res.scenario
    years = res.scenario.years
    pb = res.metric("payback_years")
    n = pb.size
    date = years[0] + pb[np.isfinite(pb)]
    cal = np.floor(date).astype(int)
    labels = [int(y) for y in range(years[0], years[-1] + 1)]
    shares = [float(np.sum(cal == y)) / n for y in labels]
    never = float(np.mean(~np.isfinite(pb)))
    via = res.metric("payback_via_terminal") > 0 if "payback_via_terminal" in res.metrics else None
    marked = None
    if via is not None:
        via_cal = np.floor(years[0] + pb[via]).astype(int)
        marked = [float(np.sum(via_cal == y)) / n for y in labels]
    fig = _year_bars_with_never(
        labels,
        shares,
        never,
        GREEN,
        "pays back during the year",
        f"not by end of {years[-1]}",
        "Calendar year in which cumulative free cash flow turns positive",
        marked,
        "only through the terminal value",
    )
    _header(fig, "When does it pay back?", _sub(sc))
    p = res.probability("payback_within_horizon")
    via_text = (
        f" Hatched: the {100 * float(np.mean(via)):.1f} % of draws that pay back only through "
        f"the terminal (book) value counted in {years[-1]}."
        if via is not None and via.any()
        else ""
    )
    return Figure(
        "payback_distribution",
        fig,
        "Payback year",
        f"Calendar year in which cumulative undiscounted free cash flow first returns to zero, "
        f"share of all draws; the red bar is the share that has not paid back by the end of "
        f"{years[-1]} (P(payback by end) = {_pt(res, p)}).{via_text}",
        "Bar chart of the payback year distribution with a bar for never; hatched the part "
        "that pays back only through the terminal value.",
    )


# ============================================================================ industry
@_styled
def required_vs_ai_revenue(res) -> Figure:
    sc = res.scenario
    years = res.scenario.years
    fig, _ = _two_fans(
        sc,
        years,
        res.series_values("revenue_required"),
        "revenue required",
        res.series_values("ai_revenue"),
        "AI revenue",
        "Revenue required vs AI revenue",
    )
    return Figure(
        "required_vs_ai_revenue",
        fig,
        "Revenue required vs AI revenue",
        "Revenue the end users of AI must earn to pay for the data centres being built "
        "(accelerator revenue × data-centre cost multiplier ÷ (1 − end-user gross margin)), "
        "against the AI revenue actually earned. Medians, P25–P75 and P05–P95 bands.",
        "Fan chart: revenue required in red and AI revenue in blue per year.",
    )


@_styled
def revenue_gap_fan(res) -> Figure:
    sc = res.scenario
    years = res.scenario.years
    q = _quantiles(res.series_values("revenue_gap"))
    scale = money_scale(q)
    fig, ax = _new()
    _fan(ax, years, q, PURPLE, "revenue gap")
    ax.axhline(0, color="black", linewidth=0.9)
    p = res.probability("gap_closed_by_end")
    ax.yaxis.set_major_formatter(scale.formatter())
    _year_axis(ax, years)
    ax.set_xlabel("Year")
    ax.set_ylabel(_money_label(scale, sc, per_year=True))
    _header(fig, "Revenue gap per year", _sub(sc))
    closed = Line2D([], [], color="none", label=f"P(gap closed in {years[-1]}) = {p['value']:.2f}")
    _fan_legend(fig, [("revenue gap", PURPLE)], [closed])
    return Figure(
        "revenue_gap",
        fig,
        "Revenue gap",
        "Revenue required minus AI revenue, per year (median and bands in purple). Below zero "
        "the gap is closed: AI revenue "
        f"covers the data-centre build-out. P(gap closed in {years[-1]}) = "
        f"{_pt(res, p)}.",
        "Fan chart of the revenue gap per year with a zero line.",
    )


def gap_final_distribution(res) -> Figure:
    sc = res.scenario
    g = res.metric("revenue_gap_final")
    scale = money_scale(np.quantile(g, [0.01, 0.99]))
    p = res.probability("gap_closed_by_end")
    return _distribution(
        g,
        f"Revenue gap in {sc.end} — {_sub(sc)}",
        f"revenue gap in {sc.end} ({sc.currency} {scale.word} per year, "
        f"{currency_words(sc).split(', ')[1]})",
        lambda t: scale.fmt(t),
        "gap_final_distribution",
        f"Distribution of the revenue gap in the last year, {sc.end}. Left of the red line the "
        f"gap is closed: P(gap closed) = {_pt(res, p)}.",
        "Histogram and cumulative distribution of the final-year revenue gap.",
        ref=0.0,
        ref_label="gap = 0 (closed)",
        note=f"P(closed) = {p['value']:.2f}",
    )


@_styled
def gap_close_distribution(res) -> Figure:
    sc = res.scenario
    years = res.scenario.years
    idx = res.metric("gap_close_year")
    n = idx.size
    labels = [int(y) for y in years]
    shares = [float(np.sum(idx == i)) / n for i in range(len(labels))]
    never = float(np.mean(~np.isfinite(idx)))
    fig = _year_bars_with_never(
        labels,
        shares,
        never,
        BLUE,
        "gap first closes in the year",
        f"not closed by {years[-1]}",
        "Year in which AI revenue first covers the revenue required",
    )
    _header(fig, "When does the gap close?", _sub(sc))
    return Figure(
        "gap_close_year",
        fig,
        "Year the gap first closes",
        f"Year in which the revenue gap first reaches zero, share of all draws; the red bar is "
        f"the share in which it never closes by {years[-1]}.",
        "Bar chart of the year the gap first closes, with a bar for never.",
    )


# ============================================================================ comparison
@_styled
def compare_probabilities(results_list) -> Figure:
    """Headline probabilities of several runs (one bar each) with ±2 MCSE error bars."""

    kinds = []
    for r in results_list:
        for p in r.probability_names:
            if p not in kinds:
                kinds.append(p)
    color = {k: PALETTE[i % len(PALETTE)] for i, k in enumerate(kinds)}
    rows = []  # (y, label, value, err, kind)
    y = 0.0
    for r in results_list:
        for p in r.probability_names:
            pr = r.probability(p)
            rows.append(
                (
                    y,
                    f"{r.scenario.label}  ·  {OUTPUTS[p].text(r.scenario.end)}",
                    pr["value"],
                    2 * pr["mcse"],
                    p,
                )
            )
            y += 1.0
        y += 0.6  # gap between runs
    fig, ax = _new(height=max(2.6, 0.42 * y + 1.4))
    for yy, _lab, v, err, kind in rows:
        ax.barh(
            yy,
            v,
            height=0.8,
            xerr=err,
            color=color[kind],
            alpha=0.85,
            capsize=3,
            error_kw=dict(linewidth=1.2),
        )
        ax.text(min(v + err + 0.015, 0.9), yy, f"{v:.2f}", va="center", fontsize=10)
    ax.set_yticks([r[0] for r in rows], [r[1] for r in rows])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xlabel("probability (error bars: ± 2 Monte Carlo standard errors)")
    _header(
        fig,
        "Headline probabilities side by side",
        "bars: probability; error bars: ± 2 Monte Carlo standard errors",
    )
    ax.grid(axis="y", visible=False)
    return Figure(
        "compare_probabilities",
        fig,
        "Headline probabilities",
        "Headline probabilities of each run with ± 2 MCSE error bars.",
        "Horizontal bar chart of the headline probabilities of each run.",
    )


@_styled
def compare_npv_cdf(results_list) -> Figure | None:
    runs = [r for r in results_list if r.model == "programme"]
    if not runs:
        return None
    allv = np.concatenate([np.quantile(r.metric("npv"), [0.005, 0.995]) for r in runs])
    scale = money_scale(allv)
    fig, ax = _new()
    for i, r in enumerate(runs):
        v = np.sort(r.metric("npv"))
        ax.step(
            v,
            np.arange(1, v.size + 1) / v.size,
            where="post",
            color=PALETTE[i % len(PALETTE)],
            linewidth=2,
            label=r.scenario.label,
        )
    ax.axvline(0, color="black", linewidth=1)
    ax.set_xlim(allv.min(), allv.max())
    ax.set_ylim(0, 1)
    ax.xaxis.set_major_formatter(scale.formatter())
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xlabel(
        f"NPV ({runs[0].scenario.currency} {scale.word}, at each scenario's valuation date)"
    )
    ax.set_ylabel("P(NPV ≤ x)")
    _header(
        fig, "NPV distributions", "cumulative distribution of each run; further right is better"
    )
    ax.legend(loc="upper left")
    return Figure(
        "compare_npv_cdf",
        fig,
        "NPV distributions",
        "Cumulative distributions of NPV; where a curve crosses the zero line is "
        "P(NPV ≤ 0). Further right is better.",
        "Overlaid cumulative distributions of NPV, one line per run.",
    )


@_styled
def compare_cumulative_fcf(results_list) -> Figure | None:
    runs = [r for r in results_list if r.model == "programme"]
    if not runs:
        return None
    fig, ax = _new()
    qs = []
    for r in runs:
        years = r.scenario.years
        x = np.concatenate([[years[0] - 1], years])
        q = _quantiles(r.series_values("cumulative_fcf"), (0.25, 0.5, 0.75))
        qs.append((x, np.concatenate([np.zeros((3, 1)), q], axis=1)))
    scale = money_scale(np.concatenate([q.ravel() for _, q in qs]))
    for i, (r, (x, q)) in enumerate(zip(runs, qs)):
        c = PALETTE[i % len(PALETTE)]
        ax.fill_between(x, q[0], q[2], color=c, alpha=0.15, linewidth=0)
        ax.plot(x, q[1], color=c, linewidth=2, label=r.scenario.label)
    ax.axhline(0, color="black", linewidth=0.9)
    ax.yaxis.set_major_formatter(scale.formatter())
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=9))
    ax.set_xlabel("End of year (first point: each run's valuation date)")
    ax.set_ylabel(f"{runs[0].scenario.currency} {scale.word}")
    _header(fig, "Cumulative free cash flow", "median of each run (line) and its P25–P75 (band)")
    ax.legend(loc="upper left")
    return Figure(
        "compare_cumulative_fcf",
        fig,
        "Cumulative free cash flow",
        "Median cumulative free cash flow of each run (line) and its P25–P75 band.",
        "Overlaid median cumulative free cash flow curves, one per run.",
    )


@_styled
def compare_revenue_gap(results_list) -> Figure | None:
    runs = [r for r in results_list if is_gap_model(r.model)]
    if not runs:
        return None
    fig, ax = _new()
    qs = [_quantiles(r.series_values("revenue_gap"), (0.25, 0.5, 0.75)) for r in runs]
    scale = money_scale(np.concatenate([q.ravel() for q in qs]))
    for i, (r, q) in enumerate(zip(runs, qs)):
        c = PALETTE[i % len(PALETTE)]
        years = r.scenario.years
        ax.fill_between(years, q[0], q[2], color=c, alpha=0.15, linewidth=0)
        ax.plot(years, q[1], color=c, linewidth=2, label=r.scenario.label)
    ax.axhline(0, color="black", linewidth=0.9)
    ax.yaxis.set_major_formatter(scale.formatter())
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=9))
    ax.set_xlabel("Year")
    ax.set_ylabel(f"{runs[0].scenario.currency} {scale.word} per year")
    _header(fig, "Revenue gap per year", "median of each run (line) and its P25–P75 (band)")
    ax.legend(loc="upper right")
    return Figure(
        "compare_revenue_gap",
        fig,
        "Revenue gap",
        "Median revenue gap per year of each run (line) and its P25–P75 band; below "
        "zero the gap is closed.",
        "Overlaid median revenue gap curves, one per run.",
    )


# ============================================================================ helpers
def _median_input(res, name: str) -> float | None:
    if name in res.inputs:
        return float(np.median(res.inputs[name]))
    p = res.scenario.parameters.get(name)
    if p is not None and p.form == "scalar":
        return float(p.dist.mean())
    return None


def _discount_text(sc) -> str:
    p = sc.parameters.get("discount_rate")
    if p is None:
        return "the discount rate"
    if p.form == "scalar" and p.dist.is_fixed:
        return f"{100 * p.dist.mean():.1f} % per year"
    return f"an uncertain discount rate ({p.describe(lambda x: f'{100 * x:.1f} %')})"


def _pt(res, p) -> str:

    return probability_text(p, int(res.attrs["draws"]))


def _axis_format(values, unit: str, sc):
    """(tick formatter, axis label, value text) for values in ``unit``: money in the scale
    that suits them, other units through the one formatter."""
    if unit.startswith("USD"):
        scale = money_scale(np.quantile(values, [0.01, 0.99]) if np.size(values) else [0.0])
        per = unit[len("USD") :]
        label = f"{sc.currency} {scale.word}{' ' + per.lstrip('/') if per else ''}"
        label = label.replace(" year", " per year") + f" ({currency_words(sc).split(', ')[1]})"
        return (lambda t: scale.fmt(t)), label, (lambda v: format_value(v, unit))
    return (lambda t: format_value(t, unit)), unit, (lambda v: format_value(v, unit))


@_styled
def output_distribution(res, spec) -> Figure:
    """Histogram and CDF of a user model's metric."""
    sc = res.scenario
    v = res.metric(spec.name)
    fmt, label, text = _axis_format(v[np.isfinite(v)], spec.unit, sc)
    return _distribution(
        v,
        f"{spec.label[:1].upper()}{spec.label[1:]} — {_sub(sc)}",
        f"{spec.label} ({label})",
        fmt,
        f"{spec.name}_distribution",
        f"Distribution of {spec.label} over the draws: {spec.description}",
        f"Histogram and cumulative distribution of {spec.label}.",
        label_fmt=text,
    )


@_styled
def output_fan(res, spec) -> Figure:
    """Fan chart (median, P25-P75, P05-P95 by year) of a user model's series."""
    sc = res.scenario
    years = sc.years
    q = _quantiles(res.series_values(spec.name))
    fmt, label, _text = _axis_format(q, spec.unit, sc)
    fig, ax = _new()
    _fan(ax, years, q, BLUE, spec.label)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda t, _p: fmt(t)))
    _year_axis(ax, years)
    ax.set_xlabel("Year")
    ax.set_ylabel(label)
    _header(fig, f"{spec.label[:1].upper()}{spec.label[1:]} by year", _sub(sc))
    _fan_legend(fig, [(spec.label, BLUE)])
    return Figure(
        f"{spec.name}_fan",
        fig,
        spec.label,
        f"{spec.description} Median, P25-P75 and P05-P95 bands by year.",
        f"Fan chart of {spec.label} by year.",
    )


def user_model_figures(res) -> list[Figure]:
    """One distribution per declared metric, one fan chart per declared series."""
    figs = [output_distribution(res, o) for o in outputs_of(res.model, "metric")]
    figs += [output_fan(res, o) for o in outputs_of(res.model, "series") if o.name in res.series]
    return figs


def model_figures(res) -> list[Figure]:
    """The figures of one run, in reading order."""
    if is_user_model(res.model):
        return user_model_figures(res)
    if is_gap_model(res.model):
        return [
            required_vs_ai_revenue(res),
            revenue_gap_fan(res),
            gap_final_distribution(res),
            gap_close_distribution(res),
        ]
    return [
        capex_vs_revenue(res),
        cumulative_fcf(res),
        npv_distribution(res),
        irr_distribution(res),
        payback_distribution(res),
    ]


def comparison_figures(results_list) -> list[Figure]:
    figs = [
        compare_probabilities(results_list),
        compare_npv_cdf(results_list),
        compare_cumulative_fcf(results_list),
        compare_revenue_gap(results_list),
    ]
    return [f for f in figs if f is not None]


def save(figure, folder: Path, name: str | None = None) -> bytes:
    """Write ``<name>.png`` into ``folder``; return its bytes.

    ``figure`` is a :class:`Figure` or a bare matplotlib figure. The figure is closed (its
    memory released) afterwards.
    """
    fig = figure.fig if isinstance(figure, Figure) else figure
    name = name or figure.name
    check_inside(folder, Path(f"{name}.png"))  # figure names become file names: stay inside
    folder.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    data = buf.getvalue()
    (folder / f"{name}.png").write_bytes(data)
    if getattr(fig.canvas, "manager", None) is not None:  # made with pyplot: release it there
        import matplotlib.pyplot as plt  # deferred: only figures made with pyplot

        plt.close(fig)
    fig.clear()
    return data


def owned_png(fig, dpi: int | None = None) -> bytes:
    """A figure as PNG bytes marked as capex's (text chunk :data:`~.outputs.PNG_MARK`), so a
    later run may replace the file and no other file is ever taken for capex's; the figure is
    closed afterwards."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi or fig.dpi, metadata={PNG_MARK[0]: PNG_MARK[1]})
    if getattr(fig.canvas, "manager", None) is not None:  # made with pyplot: release it there
        import matplotlib.pyplot as plt  # deferred: only figures made with pyplot

        plt.close(fig)
    return buf.getvalue()


def png_size(data: bytes) -> tuple[int, int]:
    w, h = struct.unpack(">II", data[16:24])
    return int(w), int(h)


def figure_entry(fig: Figure, folder: Path) -> dict:
    """Save ``fig`` into ``folder`` and describe it for a template (with its PNG as a data URI,
    so report.html is one self-contained file)."""
    data = save(fig, folder)
    w, h = png_size(data)
    return {
        "name": fig.name,
        "title": fig.title,
        "caption": fig.caption,
        "alt": fig.alt,
        "width": w,
        "height": h,
        "data_uri": "data:image/png;base64," + base64.b64encode(data).decode("ascii"),
    }
