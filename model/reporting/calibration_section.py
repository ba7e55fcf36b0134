"""The calibration section of a report: what was fitted, its diagnostics, its projections
against the prediction, and its figures."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ..calibration import fit
from ..calibration.posterior import CalibrationWarning
from ..core.formatting import format_value
from ..core.scenario import sampler_settings
from . import calibration_figures as CF
from .figures import Figure


def _money(x: float, unit: str) -> str:
    """An amount of a calibrated series, per-year rates shown as plain dollars."""
    return format_value(float(x), "USD" if unit == "USD/year" else unit)


def _pyplot():
    """Matplotlib's pyplot on the non-interactive Agg backend."""
    import matplotlib  # deferred: matplotlib is heavy

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt  # deferred: matplotlib is heavy

    return plt


def _fit(c: dict, seed: int):
    """Fit the calibration a parameter declares, its warnings silenced (the text states them)."""
    kw = sampler_settings(c)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalibrationWarning)  # stated in the text instead
        return fit(c["observations"], c["model"], seed=seed, priors_path=c.get("priors"), **kw)


def _fitted_paragraph(parameter, cal, observations) -> str:
    """What was fitted, to which observations, and how a calendar year's figure is read."""
    return (
        f"{parameter.name} is the posterior predictive of a {cal.model_name} model "
        f"({cal.spec.description}) fitted with PyMC to {len(cal.fitted)} sourced observations "
        f"in {Path(observations).name}; each row's source is in that file. "
        f"{len(cal.projections)} projection(s) in the file are not fitted: they are compared "
        "with the prediction below. A calendar year's figure is the integral of the "
        "instantaneous curve over the year (a run-rate is an annualised instant)."
    )


def _diagnostics_paragraph(d: dict) -> str:
    """Whether the sampler's diagnostics passed, with their values."""
    return (
        (
            "Diagnostics passed"
            if d["ok"]
            else "Diagnostics FAILED (the draws are used anyway, treat them with caution)"
        )
        + f": max R-hat {d['max_rhat']:.3f}, min bulk ESS {d['min_ess_bulk']:.0f}, min tail ESS "
        f"{d['min_ess_tail']:.0f}, {d['divergences']} divergent transitions "
        f"({d['chains']} chains x {d['draws']} draws)."
        + ("" if d["ok"] else " " + "; ".join(d["messages"]) + ".")
    )


def _loo_paragraph(loo: dict) -> str:
    """The PSIS-LOO estimate and whether it can be trusted."""
    return (
        f"PSIS-LOO elpd {loo['elpd']:.2f} (SE {loo['se']:.2f}), max Pareto k "
        f"{loo['max_pareto_k']:.2f}"
        + (
            f" (above {loo.get('k_threshold', 0.7):.2f}: LOO is unreliable here)."
            if loo["max_pareto_k"] > loo.get("k_threshold", 0.7)
            else "."
        )
    )


def _priors_paragraph(cal) -> str:
    """How many priors are sourced and how many hypothetical, and which parameters the data
    did not inform (their prior decided them)."""
    n_hyp = sum(p.hypothetical is not None for p in cal.priors.params.values())
    summary = cal.summary()
    set_by = [
        f"{k} (posterior sd {r.posterior_sd:.3g} against prior sd {r.prior_sd:.3g})"
        for k, r in summary.iterrows()
        if r.set_by_prior
    ]
    learnt = (
        "Set by the prior, not the data (posterior sd above 0.7 x the prior's): "
        + ", ".join(set_by)
        + ". Whatever depends on them (the ceiling, the long run) is what the priors say."
        if set_by
        else "The data narrowed every parameter (posterior sd at most 0.7 x the prior's)."
    )
    return (
        f"Priors: {len(cal.priors.params) - n_hyp} sourced, {n_hyp} hypothetical "
        f"(see assumptions/observations/priors.yaml). {learnt}"
    )


def _projection_paragraphs(cal, seed: int) -> list[str]:
    """One paragraph per projection in the file, against the calibrated prediction."""
    return [
        f"Projection {r['date']} ({r['measure'].replace('_', ' ')}) "
        f"{_money(r['value'], cal.unit)}: P(at least this) = {r['prob_at_least']:.0%}; "
        f"calibrated median {_money(r['median'], cal.unit)} (90 %: "
        f"{_money(r['p05'], cal.unit)} to {_money(r['p95'], cal.unit)}). "
        f"Source: {r['source_title']}."
        for _, r in cal.targets(seed=seed).iterrows()
    ]


def _paragraphs(parameter, cal, observations, seed: int) -> list[str]:
    """The section's text: fit, diagnostics, LOO, priors, then each projection."""
    d = cal.diagnostics
    loo = cal.loo()
    paras = [
        _fitted_paragraph(parameter, cal, observations),
        _diagnostics_paragraph(d),
        _loo_paragraph(loo),
        _priors_paragraph(cal),
    ]
    return paras + _projection_paragraphs(cal, seed)


def _fan_chart(plt, parameter, cal, years: list[int], seed: int) -> Figure:
    """Fan chart of the calibrated curve against the observations and projections."""
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    CF.plot_predictive(cal, ax, years, seed=seed)
    fig.tight_layout()
    series = cal.observations.attrs.get("series")
    return Figure(
        f"calibration_{parameter.name}",
        fig,
        f"{parameter.name}: calibration to {series}",
        f"{cal.model_name} fit: the instantaneous curve (bands), observations (dots), "
        "projections (squares) and the calendar-year figures the Monte Carlo draws (bars).",
        f"Fan chart of the calibrated {parameter.name} against sourced observations.",
    )


def _predictive_checks(plt, parameter, cal) -> Figure:
    """Prior and posterior predictive checks side by side."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8))
    CF.plot_check(cal, axes[0], "prior")
    CF.plot_check(cal, axes[1], "posterior")
    fig.tight_layout()
    return Figure(
        f"calibration_{parameter.name}_checks",
        fig,
        f"{parameter.name}: predictive checks",
        "Prior (left) and posterior (right) predictive 90 % intervals of each fitted observation.",
        f"Prior and posterior predictive checks of the {parameter.name} calibration.",
    )


def report_section(parameter, scenario, seed: int = 0) -> dict:
    """Report section of a calibrated series parameter.

    Parameters
    ----------
    parameter : model.loading.Parameter
        With ``parameter.calibrated = {observations, model, [priors, draws, tune, chains]}``.
    scenario : model.loading.Scenario
        Its ``years`` are the years shown.
    seed : int
        Seed passed to :func:`fit` (the same as the run's, so the run's fit is re-used).

    Returns
    -------
    dict
        ``{"title", "paragraphs", "figures"}`` with figures as
        :class:`model.reporting.figures.Figure` (fan chart; prior and posterior predictive
        checks).
    """
    plt = _pyplot()
    c = parameter.calibrated
    cal = _fit(c, seed)
    years = [int(y) for y in np.asarray(scenario.years).tolist()]
    paras = _paragraphs(parameter, cal, c["observations"], seed)
    figs = [
        _fan_chart(plt, parameter, cal, years, seed),
        _predictive_checks(plt, parameter, cal),
    ]
    return {"title": f"Calibration of {parameter.name}", "paragraphs": paras, "figures": figs}
