"""How much of a run's uncertainty rests on hypotheses: its provenance split by fixing.

For each provenance group (``hypothetical``, ``sourced``) the scenario — or the portfolio, in
every member, shared or own inputs, and the portfolio's own — is run again, on the same seed
(common random numbers), with every uncertain input of that group fixed at its median; the
group's share of the spread of an output Y is

    share_g = 1 - Var(Y | group g fixed at its medians) / Var(Y),

the part of Var(Y) that would go if the group were known (a "fixing" estimate of its total
effect, with the interaction terms it takes part in; not a variance-based Sobol' index, which
would average over the fixed values instead of taking the median [1]_). Inputs that cannot be
fixed at one value (processes, calibrated paths, shocks) stay uncertain and are counted under
``left_uncertain``. The error of each share is the spread over independent batches of draws.

References
----------
.. [1] Saltelli, A. et al. (2008). *Global Sensitivity Analysis. The Primer*, ch. 1 and 4
   (factor fixing, total effects). Wiley.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from ..core.distributions import fixed
from ..core.portfolio import Portfolio
from ..core.scenario import InputForm, Parameter
from ..core.vocabulary import key_metric
from ..engine.portfolio import batch_ids, simulate_portfolio
from ..engine.simulate import simulate

GROUPS = ("hypothetical", "sourced")


def provenance_of(p: Parameter) -> str:
    """``hypothetical`` or ``sourced``."""
    hyp = p.provenance is not None and p.provenance.is_hypothetical
    return "hypothetical" if hyp else "sourced"


def at_median(p: Parameter) -> Parameter | None:
    """The parameter fixed at its median (a series: each point at its own), or None when it
    cannot be one value (a process, a calibrated path, a shock)."""
    if p.shock is not None or p.form in (InputForm.PROCESS, InputForm.CALIBRATED):
        return None
    if p.form == InputForm.SCALAR:
        return replace(p, dist=fixed(float(p.dist.ppf(0.5))))
    points = tuple((y, d if d.is_fixed else fixed(float(d.ppf(0.5)))) for y, d in p.points)
    return replace(p, points=points)


def _fix(params: dict, group: str, prefix: str, left: list) -> dict:
    """``params`` with each uncertain input of ``group`` at its median (``left`` collects the
    names of those that cannot be one value)."""
    out = dict(params)
    for name, p in params.items():
        if not p.is_uncertain or provenance_of(p) != group:
            continue
        median = at_median(p)
        if median is None:
            left.append(prefix + name)
        else:
            out[name] = median
    return out


def fixed_group(target, group: str):
    """A scenario or portfolio with every uncertain input of ``group`` at its median, and the
    names of those that could not be fixed."""
    left: list[str] = []
    if not isinstance(target, Portfolio):
        return replace(target, parameters=_fix(target.parameters, group, "", left)), left
    members = tuple(
        replace(
            m,
            scenario=replace(
                m.scenario, parameters=_fix(m.scenario.parameters, group, f"{m.name}:", left)
            ),
        )
        for m in target.members
    )
    own = _fix(target.parameters, group, "", left)
    return replace(target, members=members, parameters=own), sorted(set(left))


def _rerun(res, target, scheduler=None):
    """``target`` on the run's draws, seed and design."""
    seed, design = int(res.attrs["seed"]), res.attrs["design"]
    if isinstance(target, Portfolio):
        return simulate_portfolio(target, res.draws, seed, design, scheduler=scheduler)
    return simulate(target, res.draws, seed, design, series_draws=1, scheduler=scheduler)


def provenance_split(res, metric: str | None = None, scheduler=None) -> dict:
    """The provenance split of a run's ``metric``.

    Parameters
    ----------
    res : Results or PortfolioResults
    metric : str, optional
        A metric of the run (default: the model's key metric, NPV or the final-year gap).
    scheduler : str or distributed.Client, optional
        Where the reruns' draws run (:func:`model.engine.simulate.simulate`).

    Returns
    -------
    dict
        ``{group: {"value", "mcse", "fixed", "left_uncertain"}}`` for ``hypothetical`` and
        ``sourced``, plus ``metric`` and ``method``.
    """
    metric = metric or key_metric(res.model)
    y = res.metric(metric)
    target = getattr(res, "portfolio", None) or res.scenario
    sc = target.as_scenario() if isinstance(target, Portfolio) else target
    batches = batch_ids(res)
    out = {
        "metric": metric,
        "method": "fix each group at its medians (same seed): 1 - Var(fixed) / Var(all)",
    }
    for group in GROUPS:
        fixed_target, left = fixed_group(target, group)
        again = _rerun(res, fixed_target, scheduler).metric(metric)
        n = sum(1 for p in sc.parameters.values() if p.is_uncertain and provenance_of(p) == group)
        out[group] = {**_share(y, again, batches), "fixed": n - len(left), "left_uncertain": left}
    return out


def _share(y: np.ndarray, fixed_y: np.ndarray, batches: np.ndarray) -> dict:
    """1 - Var(fixed) / Var(all), over the defined draws, with its batch error."""

    def share(a, b):
        ok = np.isfinite(a) & np.isfinite(b)
        v = float(np.var(a[ok], ddof=1)) if ok.sum() > 1 else math.nan
        return 1.0 - float(np.var(b[ok], ddof=1)) / v if v else math.nan

    per = [share(y[batches == k], fixed_y[batches == k]) for k in np.unique(batches)]
    return {"value": share(y, fixed_y), "mcse": float(np.nanstd(per, ddof=1) / math.sqrt(len(per)))}
