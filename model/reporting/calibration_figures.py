"""Figures of a calibration: the fitted curve against its observations (fan chart) and the
prior and posterior predictive checks."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np

from ..calibration import shim
from ..calibration.posterior import Calibration, CalibrationWarning
from .outputs import OwnedOutput


def curve_band(cal: Calibration, grid: np.ndarray, n: int, seed: int, group: str):
    if group == "prior":
        ds = shim.group(cal.idata, "prior")
        draws = {v: np.asarray(ds[v]).reshape(-1) for v in cal.posterior_draws}
    else:
        draws = cal.posterior_draws
    rng = np.random.default_rng(seed)
    size = draws["noise"].size
    idx = rng.integers(0, size, size=min(n, size))
    p = {k: v[idx][:, None] for k, v in draws.items()}
    with np.errstate(over="ignore", invalid="ignore"):
        y = np.exp(cal.spec.log_curve(np, p, grid[None, :] - cal.priors.reference_date))
    return np.nanquantile(y, [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)


def plot_predictive(
    cal: Calibration, ax, years: list[int], *, kind: str = "posterior", n: int = 2000, seed: int = 0
):
    """Fan chart of the calibrated curve against the observations.

    Draws the instantaneous curve (run-rate or price; 50 % and 90 % bands, median), the
    fitted observations (filled dots), the projections (open squares over their calendar
    year) and the predicted calendar-year figures with 90 % intervals (bars).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    years : list of int
        Calendar years to show predictions for.
    kind : str
        ``posterior`` or ``prior``.
    n : int
        Draws used for the bands.
    seed : int

    Returns
    -------
    matplotlib.axes.Axes
    """
    from matplotlib.ticker import MaxNLocator  # deferred: matplotlib is heavy

    obs = cal.observations
    t0 = min(float(obs["t"].min()), float(min(years))) - 0.25
    t1 = max(float(obs["t"].max()), float(max(years)) + 1.0)
    grid = np.linspace(t0, t1, 200)
    q = curve_band(cal, grid, n, seed, kind)
    what = "run-rate" if cal.unit == "USD/year" else "price"
    ax.fill_between(grid, q[0], q[4], alpha=0.18, color="C0", lw=0, label=f"{kind} {what}, 90 %")
    ax.fill_between(grid, q[1], q[3], alpha=0.3, color="C0", lw=0, label="50 %")
    ax.plot(grid, q[2], color="C0", lw=1.5, label="median")
    fit_rows = obs[obs["kind"] == "observation"]
    inst = fit_rows[fit_rows["measure"] != "calendar_year"]
    ax.plot(inst["t"], inst["value"], "o", color="k", ms=5, label="observation")
    yearly = fit_rows[fit_rows["measure"] == "calendar_year"]
    if not yearly.empty:
        ax.plot(
            yearly["t"] + 0.5,
            yearly["value"],
            "D",
            color="k",
            ms=5,
            label="observation (calendar year)",
        )
    proj = obs[obs["kind"] == "projection"]
    if not proj.empty:
        x = np.where(proj["measure"] == "calendar_year", proj["t"] + 0.5, proj["t"])
        ax.plot(x, proj["value"], "s", mfc="none", color="C3", ms=7, label="projection")
    if kind == "posterior":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CalibrationWarning)
            pred = cal.predictive_series(years, n=n, seed=seed)
        lo, med, hi = np.quantile(pred, [0.05, 0.5, 0.95], axis=0)
        xs = np.asarray(years, dtype=float) + 0.5
        ax.errorbar(
            xs,
            med,
            yerr=[med - lo, hi - med],
            fmt="_",
            color="C1",
            ms=12,
            capsize=3,
            label="calendar-year figure, 90 %",
        )
    ax.set_yscale("log")
    ax.set_xlabel("year")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(f"{what} [{cal.unit}]")
    series = cal.observations.attrs.get("series", "")
    flag = "" if cal.diagnostics["ok"] else "  (FAILED diagnostics)"
    ax.set_title(f"{series}: {cal.model_name} ({kind}){flag}")
    ax.legend(fontsize=7, loc="best")
    return ax


def plot_check(cal: Calibration, ax, kind: str = "posterior"):
    """Prior or posterior predictive check: each fitted observation against its
    predictive 90 % interval and median.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    kind : str
        ``posterior`` or ``prior``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    from matplotlib.ticker import MaxNLocator  # deferred: matplotlib is heavy

    group = f"{kind}_predictive"
    pp = np.exp(np.asarray(shim.group(cal.idata, group)["obs"]))
    pp = pp.reshape(-1, pp.shape[-1])
    fit_rows = cal.fitted
    x = fit_rows["t"].to_numpy() + np.where(fit_rows["measure"] == "calendar_year", 0.5, 0)
    lo, med, hi = np.quantile(pp, [0.05, 0.5, 0.95], axis=0)
    ax.vlines(
        x,
        lo,
        hi,
        color="C0" if kind == "posterior" else "C2",
        lw=3,
        alpha=0.5,
        label=f"{kind} predictive 90 %",
    )
    ax.plot(x, med, "_", color="C0" if kind == "posterior" else "C2", ms=12, label="median")
    ax.plot(x, fit_rows["value"], "o", color="k", ms=5, label="observed")
    ax.set_yscale("log")
    ax.set_xlabel("year")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(f"[{cal.unit}]")
    series = cal.observations.attrs.get("series", "")
    ax.set_title(f"{kind.capitalize()} predictive check: {series}, {cal.model_name}")
    ax.legend(fontsize=7, loc="best")
    return ax


def save_figures(cal: Calibration, directory: str | Path, years: list[int] | None = None) -> dict:
    """Write the fan chart and the prior/posterior predictive checks as PNG files.

    Parameters
    ----------
    directory : str or Path
    years : list of int, optional
        Years for the fan chart (default: the last observed year to five years later).

    Returns
    -------
    dict
        ``{"fan": path, "prior_check": path, "posterior_check": path}``.

    ``directory`` is an owned output folder: new or empty, or one capex wrote (see
    :mod:`model.reporting.outputs`); it is replaced as a whole.
    """
    import matplotlib  # deferred: matplotlib is heavy

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt  # deferred: matplotlib is heavy

    directory = Path(directory)
    if years is None:
        last = int(math.floor(float(cal.fitted["t"].max())))
        years = list(range(last, last + 6))
    stem = f"{cal.observations.attrs.get('series', 'series')}.{cal.model_name}"
    names = {}
    with OwnedOutput(directory, command="Calibration.save_figures", kind="figures") as out:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        plot_predictive(cal, ax, years)
        names["fan"] = f"{stem}.fan.png"
        fig.tight_layout()
        fig.savefig(out.path_for(names["fan"]), dpi=110)
        plt.close(fig)
        for kind in ("prior", "posterior"):
            fig, ax = plt.subplots(figsize=(6, 4))
            plot_check(cal, ax, kind)
            names[f"{kind}_check"] = f"{stem}.{kind}_check.png"
            fig.tight_layout()
            fig.savefig(out.path_for(names[f"{kind}_check"]), dpi=110)
            plt.close(fig)
    return {k: directory / v for k, v in names.items()}
