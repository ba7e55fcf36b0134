"""Figures of a :class:`~model.sensitivity.SensitivityResult` (matplotlib, no display needed).

Each function returns a :class:`matplotlib.figure.Figure`; :func:`save_figures` writes them all
as PNG. Money is shown in billions of dollars ($B), rates in percent, and hypothetical inputs are
marked with a hatch and "(H)" so the reader sees at a glance what rests on unsourced numbers.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from ..analysis.sensitivity.result import SensitivityResult  # noqa: E402
from ..core.formatting import format_value as fmt_value  # noqa: E402
from .outputs import OwnedOutput  # noqa: E402

HYP_COLOR = "#d95f02"
SRC_COLOR = "#1b9e77"
LOW_COLOR = "#7570b3"
HIGH_COLOR = "#e7298a"
MAX_INPUTS = 15


# ============================================================================ helpers
def axis_label(r: SensitivityResult) -> str:
    """Axis label of the output with its unit, e.g. ``NPV [$B, nominal USD]``."""
    name = r.output_label
    name = name[0].upper() + name[1:] if not name.isupper() else name
    unit = {
        "USD": "$B",
        "USD/year": "$B per year",
        "1/year": "% per year",
        "years": "years",
        "USD/GPU-hour": "$ per GPU-hour",
    }.get(r.unit, r.unit)
    return f"{name} [{unit}]"


def value_formatter(unit: str) -> FuncFormatter:
    """Tick formatter: $B for money, % for rates, plain numbers otherwise."""
    if unit in ("USD", "USD/year"):

        def f(x, _pos=None):
            b = x / 1e9
            dec = 0 if abs(b) >= 10 or float(round(b, 6)).is_integer() else 1
            return f"{'-' if b < 0 else ''}${abs(b):,.{dec}f}B"
    elif unit in ("1/year", "share"):

        def f(x, _pos=None):
            return f"{100 * x:.0f} %"
    elif unit == "USD/GPU-hour":

        def f(x, _pos=None):
            return f"${x:.2f}"
    else:

        def f(x, _pos=None):
            return f"{x:g}"

    return FuncFormatter(f)


def _tx(text: str) -> str:
    """Text with dollar signs escaped (matplotlib reads $...$ as mathematics)."""
    return text.replace("$", r"\$")


def _label(name: str, provenance: str) -> str:
    return f"{name} (H)" if provenance == "hypothetical" else name


def _title(r: SensitivityResult, what: str) -> str:
    return _tx(f"{what}\n{r.title}" + (f" [{r.scenario}]" if r.scenario not in r.title else ""))


def _zero_line(ax, r: SensitivityResult, vertical: bool = True):
    if r.unit in ("USD", "USD/year"):
        (ax.axvline if vertical else ax.axhline)(0.0, color="black", lw=0.8, alpha=0.6)


def _footnote(fig: Figure, text: str):
    fig.text(0.01, 0.01, text, fontsize=7.5, color="#555555", ha="left", va="bottom", wrap=True)


def _empty(message: str) -> Figure:
    fig = plt.figure(figsize=(7, 2))
    fig.text(0.5, 0.5, message, ha="center", va="center")
    return fig


# ============================================================================ figures
def plot_tornado(r: SensitivityResult, max_inputs: int = MAX_INPUTS) -> Figure:
    """Tornado: the output with each input at P10 and P90, others at their medians."""
    if r.tornado is None:
        return _empty("tornado not computed (method 'tornado')")
    t = r.tornado.head(max_inputs).iloc[::-1]
    base = r.base_value
    fig, ax = plt.subplots(figsize=(9.5, 1.2 + 0.42 * len(t)))
    for i, row in enumerate(t.itertuples()):
        hatch = "//" if row.provenance == "hypothetical" else None
        for val, color in ((row.output_p10, LOW_COLOR), (row.output_p90, HIGH_COLOR)):
            if np.isfinite(val):
                ax.barh(
                    i,
                    val - base,
                    left=base,
                    color=color,
                    alpha=0.85,
                    hatch=hatch,
                    edgecolor="white",
                    height=0.7,
                )
    labels = [
        _tx(
            f"{_label(row.input, row.provenance)}\n{fmt_value(row.value_p10, row.unit)}"
            f" → {fmt_value(row.value_p90, row.unit)}"
        )
        for row in t.itertuples()
    ]
    ax.set_yticks(np.arange(len(t)), labels, fontsize=8)
    ax.axvline(base, color="#333333", lw=1.2)
    _zero_line(ax, r)
    ax.xaxis.set_major_formatter(value_formatter(r.unit))
    ax.set_xlabel(axis_label(r))
    ax.set_title(
        _title(
            r,
            f"Tornado: {r.output_label}, one input from its P10 to its P90, "
            "others at their medians",
        ),
        fontsize=10,
    )
    _tornado_legend(ax)
    ax.annotate(
        _tx(f"base {fmt_value(base, r.unit)}\n(all inputs at median)"),
        (base, len(t) - 0.5),
        xytext=(4, 0),
        textcoords="offset points",
        fontsize=8,
        va="bottom",
    )
    ax.set_ylim(-0.6, len(t) + 0.4)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def _tornado_legend(ax) -> None:
    """Swatches for P10, P90 and the hatching of hypothetical inputs."""
    ax.legend(
        handles=[
            Patch(color=LOW_COLOR, label="input at P10"),
            Patch(color=HIGH_COLOR, label="input at P90"),
            Patch(
                facecolor="white", edgecolor="#555555", hatch="//", label="hypothetical input (H)"
            ),
        ],
        loc="lower right",
        fontsize=8,
        framealpha=0.9,
    )


def plot_spider(r: SensitivityResult) -> Figure:
    """Spider: the output against each top input's percentile, others at their medians."""
    if r.spider is None:
        return _empty("spider not computed (method 'spider')")
    prov = {i.name: i.provenance for i in r.inputs}
    fig, ax = plt.subplots(figsize=(10.5, 5.5))
    for name, g in r.spider.groupby("input", sort=False):
        ls = "--" if prov.get(name) == "hypothetical" else "-"
        ax.plot(
            g["percentile"],
            g["output"],
            ls,
            marker="o",
            ms=3,
            label=_label(name, prov.get(name, "")),
        )
    ax.axhline(r.base_value, color="#333333", lw=1, alpha=0.7)
    ax.annotate(
        _tx(f"base {fmt_value(r.base_value, r.unit)} (all inputs at median)"),
        (5, r.base_value),
        xytext=(0, 3),
        textcoords="offset points",
        fontsize=8,
    )
    _zero_line(ax, r, vertical=False)
    ax.yaxis.set_major_formatter(value_formatter(r.unit))
    ax.set_xlabel("percentile of the input's distribution [%] (others at their medians)")
    ax.set_ylabel(axis_label(r))
    ax.set_xticks(range(5, 100, 10))
    ax.set_title(
        _title(r, f"Spider: {r.output_label} against each top input's percentile"), fontsize=10
    )
    ax.legend(
        fontsize=8,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        title="input\n(H = hypothetical,\ndashed)",
        title_fontsize=8,
    )
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_sobol(r: SensitivityResult, max_inputs: int = MAX_INPUTS) -> Figure:
    """First-order and total Sobol' indices per input with their bootstrap intervals."""
    if r.sobol is None:
        return _empty("Sobol' indices not computed (method 'sobol'; see notes)")
    s = r.sobol.head(max_inputs).iloc[::-1]
    fig, ax = plt.subplots(figsize=(9.5, 1.3 + 0.42 * len(s)))
    y = np.arange(len(s))
    h = 0.38
    for off, col, conf, _name, alpha in (
        (h / 2, "S1", "S1_conf", "first-order S1", 0.95),
        (-h / 2, "ST", "ST_conf", "total ST", 0.5),
    ):
        colors = [HYP_COLOR if p == "hypothetical" else SRC_COLOR for p in s["provenance"]]
        ax.barh(
            y + off,
            s[col].clip(lower=0),
            height=h,
            color=colors,
            alpha=alpha,
            xerr=s[conf],
            error_kw=dict(lw=0.8, capsize=2, ecolor="#333333"),
        )
    ax.set_yticks(y, [_label(a, b) for a, b in zip(s["input"], s["provenance"])], fontsize=8)
    ax.set_xlim(
        0,
        max(
            1e-3, float((s[["S1", "ST"]].max(axis=1) + s[["S1_conf", "ST_conf"]].max(axis=1)).max())
        )
        * 1.1,
    )
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _p: f"{100 * x:.0f} %"))
    ax.set_xlabel(f"share of the variance of {r.output_label} [%]")
    method = (
        "Saltelli design, independent inputs"
        if r.sobol_method == "saltelli"
        else "Gaussian-copula estimator for correlated inputs"
    )
    ax.set_title(
        _title(r, f"Sobol' indices of {r.output_label} (N = {r.sobol_n}, {method})"), fontsize=10
    )
    ci = int(round(100 * r.conf_level))
    ax.legend(
        handles=[
            Patch(color=SRC_COLOR, alpha=0.95, label="S1 (first-order), sourced"),
            Patch(color=HYP_COLOR, alpha=0.95, label="S1, hypothetical (H)"),
            Patch(color="#888888", alpha=0.5, label="ST (total), lighter bar"),
        ],
        loc="lower right",
        fontsize=8,
        title=f"whiskers: {ci} % bootstrap CI",
        title_fontsize=8,
    )
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def plot_provenance(r: SensitivityResult) -> Figure:
    """How much of the variance rests on hypothetical inputs, and on each category."""
    if r.groups_provenance is None or r.hypothetical_share is None:
        return _empty("provenance split not computed (method 'sobol'; see notes)")
    fig, (ax1, ax2) = plt.subplots(
        1, 2, figsize=(11, 4.4), gridspec_kw=dict(width_ratios=[1.05, 1])
    )
    _provenance_bar(ax1, r)
    _category_bars(ax2, r)
    h = r.hypothetical_share
    pct = 100 * max(min(h["s1"], 1.0), 0.0)
    fig.suptitle(
        _tx(
            f"{pct:.0f} % of the {r.output_label} uncertainty comes from hypothetical "
            f"inputs ({h['n_hypothetical']} of {h['n_hypothetical'] + h['n_sourced']} "
            f"uncertain inputs)\n{r.title}"
        ),
        fontsize=10,
    )
    ci = int(round(100 * r.conf_level))
    note = (
        f"Variance-based (Sobol') indices of groups of inputs, N = {r.sobol_n}, {ci} % "
        "bootstrap CI. The hypothetical share is the variance expected to vanish if every "
        "hypothetical input were known exactly."
    )
    if r.sobol_method != "saltelli":
        note += " Correlated inputs: shares may overlap."
    _footnote(fig, note)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig


def _provenance_parts(r: SensitivityResult) -> list[tuple[float, str, str]]:
    """(share, colour, label) of the stacked provenance bar."""
    gp = r.groups_provenance.set_index("provenance")
    hyp = float(gp.loc["hypothetical", "S1"]) if "hypothetical" in gp.index else 0.0
    src = float(gp.loc["sourced", "S1"]) if "sourced" in gp.index else 0.0
    hyp, src = max(hyp, 0.0), max(src, 0.0)
    parts = [
        (hyp, HYP_COLOR, "hypothetical inputs alone"),
        (src, SRC_COLOR, "sourced inputs alone"),
    ]
    if 1.0 - hyp - src > 0.005:
        parts.append((1.0 - hyp - src, "#bbbbbb", "neither alone (interactions)"))
    return parts


def _provenance_bar(ax, r: SensitivityResult) -> None:
    """The stacked bar of variance shares by provenance, with the hypothetical share's CI."""
    parts = _provenance_parts(r)
    left = 0.0
    for w, color, lab in parts:
        ax.barh(0, w, left=left, color=color, height=0.5, label=f"{lab}: {100 * w:.0f} %")
        if w > 0.12:
            ax.text(
                left + w / 2,
                0,
                f"{100 * w:.0f} %",
                ha="center",
                va="center",
                color="white",
                fontsize=12,
                fontweight="bold",
            )
        left += w
    h = r.hypothetical_share
    hyp = parts[0][0]
    if "hypothetical" in set(r.groups_provenance["provenance"]) and h["n_sourced"]:
        lo, hi = max(h["s1_low"], 0.0), min(max(h["s1_high"], 0.0), 1.0)
        ax.errorbar(
            hyp, 0.36, xerr=[[hyp - lo], [hi - hyp]], color="black", capsize=4, lw=1, fmt="|"
        )
        ha = "left" if hyp < 0.25 else "right" if hyp > 0.75 else "center"
        ax.text(
            lo if ha == "left" else hi if ha == "right" else hyp,
            0.43,
            f"hypothetical share, {int(round(100 * r.conf_level))} % CI "
            f"{100 * lo:.0f}-{100 * hi:.0f} %",
            ha=ha,
            va="bottom",
            fontsize=8,
        )
    ax.set_xlim(0, max(1.0, left))
    ax.set_ylim(-0.4, 1.25)
    ax.set_yticks([])
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _p: f"{100 * x:.0f} %"))
    ax.set_xlabel(f"share of the variance of {r.output_label} [%]")
    ax.legend(loc="upper center", fontsize=8, ncol=1, frameon=False)
    ax.set_title("By provenance (first-order index of each group)", fontsize=9)


def _category_bars(ax, r: SensitivityResult) -> None:
    """First-order and total indices of each category of inputs."""
    gc = r.groups_category
    ax.bar(
        gc["category"],
        gc["S1"].clip(lower=0),
        yerr=gc["S1_conf"],
        color="#4c72b0",
        alpha=0.9,
        capsize=3,
        label="S1 (first-order)",
    )
    ax.bar(
        gc["category"],
        gc["ST"].clip(lower=0),
        color="none",
        edgecolor="#333333",
        lw=1.2,
        label="ST (total)",
    )
    ax.yaxis.set_major_formatter(FuncFormatter(lambda x, _p: f"{100 * x:.0f} %"))
    ax.set_ylabel("share of the variance [%]")
    ax.set_title("By category", fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)


def plot_stress(r: SensitivityResult) -> Figure:
    """The output's distribution with one input in its lower or upper decile."""
    if r.stress is None:
        return _empty("stress view not computed (method 'stress')")
    s = r.stress.iloc[::-1].reset_index(drop=True)
    prov = {i.name: i.provenance for i in r.inputs}
    fig, ax = plt.subplots(figsize=(11, 1.2 + 0.36 * len(s)))
    colors = {"all": "#333333", "lower decile": LOW_COLOR, "upper decile": HIGH_COLOR}
    for i, row in s.iterrows():
        c = colors[row["subset"]]
        ax.plot([row["p05"], row["p95"]], [i, i], color=c, lw=1.2)
        ax.plot([row["p25"], row["p75"]], [i, i], color=c, lw=6, alpha=0.6, solid_capstyle="butt")
        ax.plot(row["p50"], i, "o", color="white", mec=c, ms=5)
    labels = [
        (
            "all inputs"
            if row["subset"] == "all"
            else f"{_label(row['input'], prov.get(row['input'], ''))}: {row['subset']}"
        )
        for _, row in s.iterrows()
    ]
    ax.set_yticks(range(len(s)), labels, fontsize=8)
    all_p50 = float(s.loc[s["subset"] == "all", "p50"].iloc[0])
    ax.axvline(all_p50, color="#333333", lw=0.8, ls=":")
    _zero_line(ax, r)
    ax.xaxis.set_major_formatter(value_formatter(r.unit))
    ax.set_xlabel(axis_label(r) + ": P05-P95 line, P25-P75 box, median dot")
    ax.set_title(
        _title(r, f"Stress view: {r.output_label} with one input in its lower or upper decile"),
        fontsize=10,
    )
    ax.legend(
        handles=[
            Patch(color=LOW_COLOR, label="input in its lowest 10 %"),
            Patch(color=HIGH_COLOR, label="input in its highest 10 %"),
        ],
        fontsize=8,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
    )
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


PLOTS = {
    "tornado": plot_tornado,
    "spider": plot_spider,
    "sobol": plot_sobol,
    "provenance": plot_provenance,
    "stress": plot_stress,
}


def save_figures(
    r: SensitivityResult, folder: Path, dpi: int = 130, command: str = ""
) -> list[Path]:
    """Write every figure the result has data for as ``sensitivity_<name>.png`` into the owned
    output folder ``folder`` (staged aside and swapped in; see :mod:`model.reporting.outputs`)."""
    folder = Path(folder)
    have = {
        "tornado": r.tornado is not None,
        "spider": r.spider is not None,
        "sobol": r.sobol is not None,
        "provenance": r.groups_provenance is not None,
        "stress": r.stress is not None,
    }
    names = []
    with OwnedOutput(folder, command=command, kind="figures") as out:
        for name, fn in PLOTS.items():
            if not have[name]:
                continue
            fig = fn(r)
            fig.savefig(out.path_for(f"sensitivity_{name}.png"), dpi=dpi)
            plt.close(fig)
            names.append(f"sensitivity_{name}.png")
    return [folder / n for n in names]
