"""Figures of the inputs: what the run drew for every uncertain input, coloured by provenance.

* :func:`input_distributions`: small multiples, one histogram per uncertain input (a series
  input in one representative year), in the input's unit, its median marked;
* :func:`series_input_fans`: for every uncertain input that varies by year (``series`` and
  any other by-year form, e.g. a stochastic ``process``), a fan chart by year (P05-P95,
  P25-P75, median) with five of the run's draws as thin lines.

Colour is provenance throughout: green sourced, vermillion HYPOTHETICAL (also marked "(H)"),
blue calibrated to observations (the same meaning as the report's assumptions table).

The values are the run's own: ``Results.inputs`` keeps every uncertain input's draws, by year
where it varies by year. Where a run does not hold an input's paths, :func:`regenerate_inputs`
draws them again for the first draws with the engine's own design and sampler (same seed,
same design, same numbers; calibrated inputs are skipped: they have figures of their own).
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure as MplFigure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from ..core.formatting import format_input
from ..engine.designs import Design
from ..engine.inputs import inputs_from_uniforms
from .figures import (
    BLUE,
    DPI,
    GREEN,
    HEIGHT,
    VERMILLION,
    WIDTH,
    Figure,
    MoneyScale,
    _fan,
    _fan_legend,
    _header,
    _quantiles,
    _styled,
    _sub,
    _year_axis,
    currency_words,
    money_scale,
)

#: Draws regenerated when a run does not hold an input's values.
REGENERATED_DRAWS = 2_000
#: Sample paths drawn over a fan (the run's first draws).
SAMPLE_PATHS = 5
#: Provenance kind -> (colour, legend label).
PROVENANCE = {
    "sourced": (GREEN, "sourced (cited in the bibliography)"),
    "hypothetical": (VERMILLION, "HYPOTHETICAL (no source)"),
    "calibrated": (BLUE, "calibrated to sourced observations"),
}
COLOUR_WORDS = {"sourced": "green", "hypothetical": "vermillion", "calibrated": "blue"}
#: How a panel title marks a provenance besides its colour.
MARK = {"hypothetical": ", marked (H)"}
#: Forms whose values never vary by year (no fan), or are not numbers.
NOT_BY_YEAR = ("scalar", "switch", "calibrated")
PANEL_WIDTH, PANEL_HEIGHT = 2.05, 1.9  # inches per small-multiple panel
PATH_COLOR = "#222222"
#: Characters of a panel title that fit on one line at 9 pt.
TITLE_CHARS = 24


# ============================================================================ values
def provenance_kind(p) -> str:
    """``sourced``, ``hypothetical`` or ``calibrated`` (the assumptions table's kinds)."""
    prov = p.provenance
    if prov is not None and prov.is_hypothetical:
        return "hypothetical"
    if p.form == "calibrated":
        return "calibrated"
    return "sourced"


def regenerate_inputs(res, draws: int = REGENERATED_DRAWS) -> dict:
    """Every input's values for the run's first ``draws`` draws, drawn again with the run's
    design, seed and sampler (:class:`~model.engine.designs.Design`,
    :func:`~model.engine.inputs.inputs_from_uniforms`): identical to what the run used.

    Calibrated inputs are not refitted: their values here are NaN (read them from the run).
    """
    sc = res.scenario
    k = int(min(draws, res.draws))
    design = Design(sc, res.draws, int(res.attrs["seed"]), str(res.attrs["design"]))
    stand_in = {
        p.name: np.full((1, sc.n_years), np.nan)
        for p in sc.parameters.values()
        if p.form == "calibrated"
    }
    return inputs_from_uniforms(sc, design.uniforms(0, k), design.names, stand_in)


def input_values(res, name: str, regenerated: dict | None = None) -> np.ndarray | None:
    """An uncertain input's draws, (draws,) or (draws, years): the run's own when it holds
    them, else regenerated for the first draws (``regenerated``: a
    :func:`regenerate_inputs` result to reuse); None when neither has them."""
    v = res.inputs.get(name)
    if v is None:
        regenerated = regenerate_inputs(res) if regenerated is None else regenerated
        v = regenerated.get(name)
    if v is None or np.ndim(v) == 0:
        return None
    v = np.asarray(v, dtype=float)
    if v.ndim == 2 and v.shape[1] == 1:
        v = v[:, 0]
    return v if v.shape[0] > 1 else None


def representative_year(p, years) -> int:
    """The year a by-year input is shown in: its uncertain given year nearest the middle of
    the horizon (the middle year when it gives none)."""
    lo, hi = int(years[0]), int(years[-1])
    given = [int(y) for y, d in (p.points or ()) if not d.is_fixed and lo <= int(y) <= hi]
    mid = (lo + hi) / 2
    return min(given or range(lo, hi + 1), key=lambda y: (abs(y - mid), y))


def _panel_values(res, p, regenerated: dict) -> tuple[np.ndarray, int | None] | None:
    """(draws of one uncertain input, the year shown or None)."""
    v = input_values(res, p.name, regenerated)
    if v is None:
        return None
    if v.ndim == 1:
        return v, None
    year = representative_year(p, res.scenario.years)
    return v[:, year - int(res.scenario.start)], year


# ============================================================================ axes
def _trim(x: float, decimals: int = 2) -> str:
    s = f"{x:,.{decimals}f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s.replace("-", "\u2212")


def unit_axis(values, unit: str, sc) -> tuple:
    """(tick formatter, axis label) for values in a canonical ``unit``: money in the scale
    that suits them with its currency and money year, shares and rates in %."""
    money = currency_words(sc).split(", ")[1]
    if unit.startswith("USD"):
        per = unit[len("USD") :].lstrip("/")
        if per in ("GPU-hour", "MWh"):
            return (lambda t: f"${_trim(t)}"), f"{sc.currency} per {per} ({money})"
        scale = (
            MoneyScale(1e6, "M", "millions")
            if per == "MW"
            else money_scale(np.quantile(values, [0.01, 0.99]) if np.size(values) else [0.0])
        )
        label = f"{sc.currency} {scale.word}{' per ' + per if per else ''} ({money})"
        return (lambda t: scale.fmt(t)), label
    if unit in ("share", "1/year"):
        return (lambda t: f"{_trim(100 * t)} %"), "%" if unit == "share" else "% per year"
    words = {"ratio": "ratio (×)", "GPU/MW": "GPUs per MW", "years": "years"}
    return (lambda t: _trim(t, 3)), words.get(unit, unit or "no unit")


def _view_range(v: np.ndarray) -> tuple[float, float]:
    lo, hi = (float(x) for x in np.quantile(v, [0.002, 0.998]))
    if hi <= lo:
        pad = max(abs(lo) * 0.05, 1e-9)
        lo, hi = lo - pad, hi + pad
    return lo, hi


# ============================================================================ small multiples
def grid_shape(n: int) -> tuple[int, int]:
    """(rows, columns) of ``n`` panels: 4 columns up to 20 inputs (5 rows), 5 beyond."""
    cols = max(1, min(n, 4 if n <= 20 else 5))
    return -(-n // cols), cols


def panel_title(name: str, year: int | None, hypothetical: bool) -> tuple[str, float]:
    """(title, font size) of a panel: ``name in year (H)``, on two lines when it would run
    into the next panel, smaller when the name alone is too long."""
    tail = " ".join(
        ([f"in {year}"] if year is not None else []) + (["(H)"] if hypothetical else [])
    )
    size = 9.0 if len(name) <= TITLE_CHARS else max(6.5, 9.0 * TITLE_CHARS / len(name))
    one = f"{name} {tail}".strip()
    if len(one) <= TITLE_CHARS or not tail:
        return one, size
    if len(one) <= TITLE_CHARS + 3:  # a little smaller rather than a line for "(H)"
        return one, 9.0 * TITLE_CHARS / len(one)
    return f"{name}\n{tail}", size


def _panel(ax, v: np.ndarray, p, year, sc) -> None:
    """One input's histogram in its unit, median dotted, coloured by provenance."""
    kind = provenance_kind(p)
    color = PROVENANCE[kind][0]
    v = v[np.isfinite(v)]
    lo, hi = _view_range(v)
    ax.hist(
        v,  # draws beyond the central 99.6 % fall outside the bins (said in the caption)
        bins=np.linspace(lo, hi, 31),
        color=color,
        alpha=0.85,
        weights=np.full(v.size, 1.0 / max(v.size, 1)),
    )
    med = float(np.median(v))
    ax.axvline(med, color="black", linestyle=":", linewidth=1.3)
    fmt, label = unit_axis(v, p.spec.unit, sc)
    ax.set_xlim(lo, hi)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda t, _p: fmt(t)))
    ax.tick_params(axis="x", labelsize=8)
    ax.set_yticks([])
    ax.spines["left"].set_visible(False)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(label, fontsize=8)
    title, size = panel_title(p.name, year, kind == "hypothetical")
    ax.set_title(title, loc="left", fontsize=size, fontweight="bold", color=color)
    ax.set_ylim(0, ax.get_ylim()[1] * 1.3)  # headroom: the median's label sits above the bars
    right = med < (lo + hi) / 2
    ax.text(
        0.98 if right else 0.02,
        0.96,
        f"median\n{format_input(med, p.spec.unit)}",
        transform=ax.transAxes,
        ha="right" if right else "left",
        va="top",
        fontsize=7.5,
        linespacing=1.0,
        bbox=dict(boxstyle="round,pad=0.2", facecolor="white", edgecolor="none", alpha=0.8),
    )


def _panels(res) -> list[tuple]:
    """(parameter, draws, year shown) of every uncertain input the run has values of."""
    regenerated: dict | None = None
    out = []
    for p in res.scenario.uncertain():
        if p.name not in res.inputs and p.form != "calibrated" and regenerated is None:
            regenerated = regenerate_inputs(res)
        got = _panel_values(res, p, regenerated or {})
        if got is not None:
            out.append((p, *got))
    return out


def _distribution_legend(fig, kinds) -> None:
    handles = [
        Patch(color=PROVENANCE[k][0], alpha=0.85, label=PROVENANCE[k][1] + MARK.get(k, ""))
        for k in kinds
    ]
    handles.append(Line2D([], [], color="black", linestyle=":", linewidth=1.3, label="median"))
    fig.legend(handles=handles, loc="outside lower center", ncols=min(4, len(handles)))


@_styled
def input_distributions(res) -> Figure | None:
    """Small multiples: one histogram per uncertain input, coloured by provenance (None when
    every input is fixed)."""
    sc = res.scenario
    panels = _panels(res)
    if not panels:
        return None
    rows, cols = grid_shape(len(panels))
    fig = _figure(cols * PANEL_WIDTH, rows * PANEL_HEIGHT + 1.15)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, (p, v, year) in zip(axes, panels):
        _panel(ax, v, p, year, sc)
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    kinds = [k for k in PROVENANCE if any(provenance_kind(p) == k for p, _, _ in panels)]
    _distribution_legend(fig, kinds)
    n = len(panels)
    _header(
        fig,
        f"The {n} uncertain input{'s' if n != 1 else ''}: what the run drew",
        f"{_sub(sc)} · money in {currency_words(sc)}",
    )
    return Figure(
        "input_distributions",
        fig,
        "The uncertain inputs",
        _distributions_caption(res, panels, kinds),
        f"Small multiples: a histogram of each of the {n} uncertain inputs, coloured by "
        "provenance, with the median marked.",
    )


def _figure(width: float, height: float) -> MplFigure:
    """A figure at least as wide as the report's others (the same scale on the page)."""
    return MplFigure(figsize=(max(width, WIDTH), height), dpi=DPI, layout="constrained")


def _distributions_caption(res, panels, kinds) -> str:
    shown = [f"{p.name} in {y}" for p, _, y in panels if y is not None]
    years = (
        f" Inputs that vary by year are shown in one year ({', '.join(shown)}); their paths by "
        "year follow."
        if shown
        else ""
    )
    few = [p.name for p, v, _ in panels if v.shape[0] < res.draws]
    if few:
        years += (
            f" {', '.join(few)}: the run's first {REGENERATED_DRAWS:,} draws, drawn again with "
            "its seed and design."
        )
    legend = "; ".join(f"{COLOUR_WORDS[k]} = {PROVENANCE[k][1]}{MARK.get(k, '')}" for k in kinds)
    return (
        f"Each panel is one uncertain input: a histogram of its {res.draws:,} draws in this run "
        f"(x axis in the input's unit, money in {currency_words(res.scenario)}; bar height = "
        "share of draws, each panel on its own scale), the dotted line its median. Colour = "
        f"provenance: {legend}.{years} The axes show the central 99.6 % of each input's draws."
    )


# ============================================================================ fans
def _by_year(res, p, regenerated: dict | None) -> np.ndarray | None:
    """(draws, years) of an uncertain input that varies by year, else None."""
    v = input_values(res, p.name, regenerated)
    t = res.scenario.n_years
    if v is None or v.ndim != 2 or v.shape[1] != t or t < 2:
        return None
    return v


@_styled
def series_input_fan(res, p, paths: np.ndarray) -> Figure:
    """Fan chart by year of one input (P05-P95, P25-P75, median) and five sample paths."""
    sc = res.scenario
    years = sc.years
    kind = provenance_kind(p)
    color = PROVENANCE[kind][0]
    paths = paths[np.all(np.isfinite(paths), axis=1)]
    q = _quantiles(paths)
    fmt, label = unit_axis(q, p.spec.unit, sc)
    fig = _figure(WIDTH, HEIGHT)
    ax = fig.subplots()
    _fan(ax, years, q, color, p.name)
    for row in paths[:SAMPLE_PATHS]:
        ax.plot(years, row, color=PATH_COLOR, linewidth=0.8, alpha=0.75, zorder=3)
    given = [int(y) for y, _d in (p.points or ()) if years[0] <= int(y) <= years[-1]]
    if given:
        idx = [y - int(sc.start) for y in given]
        ax.plot(given, q[2][idx], "o", color=color, markersize=6, zorder=4)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda t, _p: fmt(t)))
    _year_axis(ax, years)
    ax.set_xlabel("Year")
    ax.set_ylabel(label)
    words = "HYPOTHETICAL input" if kind == "hypothetical" else f"{kind} input"
    _header(fig, f"{p.name} by year, {label}", f"{words} · {_sub(sc)}")
    extra = [
        Line2D([], [], color=PATH_COLOR, linewidth=0.8, label=f"draws 1–{SAMPLE_PATHS} of the run")
    ]
    if given:
        extra.append(
            Line2D([], [], color=color, marker="o", linestyle="", label="year given in the file")
        )
    _fan_legend(fig, [(f"{p.name} ({kind})", color)], extra)
    return Figure(
        f"input_fan_{p.name}",
        fig,
        f"{p.name} by year",
        _fan_caption(res, p, paths.shape[0], given, kind),
        f"Fan chart of the input {p.name} by year with {SAMPLE_PATHS} sample paths.",
    )


def _how_text(p, given: list[int]) -> str:
    """How the file gives a by-year input: its years and interpolation, or its process, and
    its shock."""
    how = ""
    if p.form == "process":
        how = f" The input is a stochastic process: {p.describe(lambda x: f'{x:.3g}')}."
    elif given:
        between = {
            "linear": "linear between them",
            "step": "each held until the next",
            "none": "other years 0",
        }.get(p.interpolation, "")
        move = (
            "uncertain years move together (one draw sets the whole path)"
            if p.years_move == "together"
            else "each uncertain year drawn independently"
        )
        how = f" Years given in the file (dots): {', '.join(map(str, given))}, {between}; {move}."
    shock = getattr(p, "shock", None)
    if shock is not None and p.form != "process":  # a process's description names its shock
        how += f" With a shock: {shock.describe()}."
    return how


def _fan_caption(res, p, n: int, given: list[int], kind: str) -> str:
    sub = "" if n >= res.draws else f" (the first {n:,}, drawn again with the run's seed)"
    return (
        f"{p.spec.meaning} Median (line), P25–P75 and P05–P95 bands over {n:,} draws{sub}, "
        f"by year, and the run's first {SAMPLE_PATHS} draws as thin lines."
        f"{_how_text(p, given)} Colour = provenance: {COLOUR_WORDS[kind]}, "
        f"{PROVENANCE[kind][1]}."
    )


def series_input_fans(res) -> list[Figure]:
    """A fan chart for every uncertain input that varies by year (calibrated inputs have
    figures of their own)."""
    regenerated: dict | None = None
    figs = []
    for p in res.scenario.uncertain():
        if p.form in NOT_BY_YEAR:
            continue
        if p.name not in res.inputs and regenerated is None:
            regenerated = regenerate_inputs(res)
        paths = _by_year(res, p, regenerated)
        if paths is not None and np.ptp(paths, axis=1).any():
            figs.append(series_input_fan(res, p, paths))
    return figs


# ============================================================================ section
def input_section(res) -> dict | None:
    """The report's "The inputs" section (id, title, intro, figures), None when every input
    is fixed."""
    dist = input_distributions(res)
    if dist is None:
        return None
    fans = series_input_fans(res)
    counts = res.scenario.provenance_counts()
    intro = (
        "What the run drew for each uncertain input, before any model equation: the "
        "distribution of every uncertain input"
        + (", then the path by year of each input that varies by year" if fans else "")
        + ". Colour is provenance: green for sourced inputs, vermillion for HYPOTHETICAL ones "
        f"(no source; the file states why the value is plausible). Of the run's "
        f"{counts['parameters']} numeric parameters {counts['hypothetical']} are hypothetical; "
        "fixed inputs are listed under Assumptions."
    )
    return {"id": "inputs", "title": "The inputs", "intro": intro, "figures": [dist, *fans]}
