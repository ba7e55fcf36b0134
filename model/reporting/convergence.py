"""The report's convergence figure: the running mean of the headline metric and the running
headline probability against the number of draws, each with its ±1.96 MCSE band, computed with
the run's own error model at every checkpoint (cluster-robust for calibrated inputs,
replicates for quasi-random designs), so a reader sees whether the run has settled.
"""

from __future__ import annotations

import numpy as np

from ..core.formatting import format_value, probability_text
from ..core.targets import ProbabilityTarget
from ..core.vocabulary import OUTPUTS, is_built_in, is_gap_model, key_metric
from . import figures as F

#: Checkpoints of the running statistics (log-spaced draw counts).
CHECKPOINTS = 40


def _probability_key(res) -> tuple[str, np.ndarray]:
    """The headline probability and its per-draw indicator."""
    if is_gap_model(res.model):  # closed in the last year: the final-year gap at or below 0
        return "P(gap closed)", res.metric("revenue_gap_final") <= 0
    m = key_metric(res.model)
    label = "P(NPV > 0)" if m == "npv" else f"P({m} > 0)"
    return label, ProbabilityTarget.parse(f"{m}>0").indicator(res.metric(m)).astype(bool)


def running_statistics(res) -> dict:
    """Checkpoints (draw counts), the running mean of the headline metric and the running
    headline probability, each with its MCSE, from the run's own error model."""
    m = key_metric(res.model)
    x = res.metric(m)
    label, hit = _probability_key(res)
    n = x.size
    ks = np.unique(np.geomspace(min(100, n), n, CHECKPOINTS).astype(int))
    rows = []
    for k in ks:
        mask = np.zeros(n, dtype=bool)
        mask[:k] = True
        err = res.errors.subset(mask)
        xs = x[:k][np.isfinite(x[:k])]
        h = hit[:k].astype(float)
        rows.append(
            (
                k,
                xs.mean(),
                err.mean_se(xs) if xs.size == k else np.nan,
                h.mean(),
                err.probability_se(h),
            )
        )
    a = np.array(rows, dtype=float)
    return {
        "metric": m,
        "probability": label,
        "draws": a[:, 0],
        "mean": a[:, 1],
        "mean_se": a[:, 2],
        "p": a[:, 3],
        "p_se": a[:, 4],
    }


@F._styled
def convergence_figure(res) -> F.Figure:
    """Running mean and probability with 95 % MCSE bands (two panels)."""
    sc = res.scenario
    s = running_statistics(res)
    unit = OUTPUTS[s["metric"]].unit
    fig, (a1, a2) = F._new(width=F.WIDTH + 1.5, ncols=2)
    scale = F.money_scale(s["mean"]) if unit.startswith("USD") else None
    y = s["mean"] / (scale.div if scale else 1.0)
    e = 1.96 * s["mean_se"] / (scale.div if scale else 1.0)
    a1.fill_between(
        s["draws"], y - e, y + e, color=F.BLUE, alpha=0.2, linewidth=0, label="±1.96 MCSE (95 %)"
    )
    a1.plot(s["draws"], y, color=F.BLUE, linewidth=2, label="running mean")
    a2.fill_between(
        s["draws"],
        np.clip(s["p"] - 1.96 * s["p_se"], 0.0, 1.0),
        np.clip(s["p"] + 1.96 * s["p_se"], 0.0, 1.0),
        color=F.VERMILLION,
        alpha=0.2,
        linewidth=0,
        label="±1.96 MCSE (95 %)",
    )
    a2.plot(
        s["draws"], s["p"], color=F.VERMILLION, linewidth=2, label=f"running {s['probability']}"
    )
    for ax in (a1, a2):
        ax.set_xscale("log")
        ax.set_xlabel("draws (log scale)")
        ax.legend(loc="best")
    label = OUTPUTS[s["metric"]].short if s["metric"] in OUTPUTS else s["metric"]
    money = f"{sc.currency} {scale.word}" if scale else unit
    a1.set_ylabel(f"mean {label} ({money}, {F.currency_words(sc).split(', ')[1]})")
    a1.set_title(f"Mean {label}", loc="left", fontsize=11)
    a2.set_ylabel(s["probability"])
    a2.set_title(s["probability"], loc="left", fontsize=11)
    F._header(fig, "Convergence of the run", F._sub(sc))
    last_mean = format_value(s["mean"][-1], unit)
    p = {"value": s["p"][-1], "mcse": s["p_se"][-1]}
    return F.Figure(
        "convergence",
        fig,
        "Convergence",
        f"The running mean of {label} (blue) and the running {s['probability']} (vermillion) "
        f"as draws accumulate, each with its 95 % Monte Carlo band (±1.96 MCSE, "
        f"{res.errors.describe()['text']}); "
        f"with all {res.draws:,} draws: mean {last_mean}, {s['probability']} = "
        f"{probability_text(p, res.draws)}.",
        "Running mean and running probability against the number of draws, with error bands.",
    )


def convergence_section(res) -> dict | None:
    """The report section with the convergence figure (None for a built-in-free edge case)."""
    if res.draws < 200 or not (is_built_in(res.model) or key_metric(res.model)):
        return None
    return {
        "id": "convergence",
        "title": "Convergence",
        "intro": "Whether the run has settled: its headline statistics as the draws accumulate.",
        "figures": [convergence_figure(res)],
    }
