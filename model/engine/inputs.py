"""Inputs: each parameter's values for rows of a uniform matrix, in canonical units.

Series: the uncertain points of one series share one uniform per draw (``years_move:
together``), so a draw is a coherent path; with ``years_move: independent`` each point has its
own uniform (named ``name[year]``). Calibrated series take a posterior path per draw.
"""

from __future__ import annotations

import numpy as np

from ..core.processes import ar1_paths, gbm_paths, shock_multiplier
from ..core.scenario import Parameter, Scenario
from .designs import Design


def interpolation_weights(points_years: list[int], years: np.ndarray, how: str) -> np.ndarray:
    """Matrix W (points x years) so that series = values_at_points @ W.

    ``linear``: linear between given years, the nearest given value held outside them;
    ``step``: the last given value held until the next; ``none``: exactly the given years
    (others 0, for ``capex_schedule``).
    """
    py = np.asarray(points_years, dtype=float)
    w = np.zeros((len(py), len(years)))
    for t, y in enumerate(years):
        if how == "none":
            hit = np.nonzero(py == y)[0]
            if hit.size:
                w[hit[0], t] = 1.0
        elif y <= py[0]:
            w[0, t] = 1.0
        elif y >= py[-1]:
            w[-1, t] = 1.0
        else:
            j = int(np.searchsorted(py, y, side="right")) - 1
            if how == "step" or py[j] == y:
                w[j, t] = 1.0
            else:
                frac = (y - py[j]) / (py[j + 1] - py[j])
                w[j, t] = 1.0 - frac
                w[j + 1, t] = frac
    return w


def _series_values(p: Parameter, u_of, years: np.ndarray, n: int) -> np.ndarray:
    py = [y for y, _ in p.points]
    w = interpolation_weights(py, years, p.interpolation)
    if not p.is_uncertain:
        return np.array([d.mean() for _, d in p.points]) @ w  # shape (T,)
    cols = []
    for y, d in p.points:
        if d.is_fixed:
            cols.append(np.full(n, d.mean()))
        else:
            u = u_of(p.name if p.years_move == "together" else f"{p.name}[{y}]")
            cols.append(d.ppf(u))
    return np.column_stack(cols) @ w  # (n, T)


def inputs_from_uniforms(
    scenario: Scenario, u: np.ndarray, names: list[str], calibrated: dict | None = None
) -> dict:
    """Every parameter's values for rows of a uniform matrix, in canonical units.

    Parameters
    ----------
    scenario : Scenario
    u : ndarray (n, k)
        Uniforms in [0, 1); column j belongs to input variable ``names[j]`` (see
        :func:`input_variables`). Sensitivity designs (Saltelli, one-at-a-time) call this with
        their own matrices.
    names : list of str
    calibrated : dict, optional
        name -> ndarray (M, T) of posterior predictive paths; draw i takes path
        ``floor(u_i * M)``.

    Returns
    -------
    dict
        name -> float (fixed scalar) or ndarray (n,) (uncertain scalar); parameters that may
        vary by year (series kinds) are always 2-D: (1, 1) or (n, 1) when given as one number,
        (1, T) or (n, T) as a series; switches as their value.
    """
    n = u.shape[0]
    col = {name: j for j, name in enumerate(names)}

    def u_of(name):
        return u[:, col[name]]

    out: dict = {}
    for name, p in scenario.parameters.items():
        by_year = p.spec.kind in ("series", "schedule")  # always 2-D: (1 or n, 1 or T)
        if p.form == "switch":
            out[name] = p.value
        elif p.form == "scalar":
            v = p.dist.mean() if p.dist.is_fixed else p.dist.ppf(u_of(name))
            out[name] = np.reshape(v, (-1, 1)) if by_year else v
        elif p.form == "series":
            v = _series_values(p, u_of, scenario.years, n)
            out[name] = v.reshape(1, -1) if v.ndim == 1 else v
        elif p.form == "process":
            out[name] = process_values(p, u_of, scenario.years, n)
        elif p.form == "calibrated":
            paths = calibrated[name]
            out[name] = paths[trajectory_index(u_of(name), paths.shape[0])]
        if p.shock is not None:
            out[name] = out[name] * _shock(p, u_of, len(scenario.years), n)
    return out


def _draws(d, u_of, name: str, n: int) -> np.ndarray:
    """A process or shock parameter per draw: its value, or its quantile at its column."""
    return np.full(n, d.mean()) if d.is_fixed else np.asarray(d.ppf(u_of(name)), dtype=float)


def process_values(p: Parameter, u_of, years: np.ndarray, n: int) -> np.ndarray:
    """A process's paths (n, T) [canonical unit] from its columns: its parameters' quantiles
    and standard-normal innovations Phi^-1(u) by year (:mod:`model.core.processes`)."""
    from scipy.special import ndtri  # deferred: scipy.special loads with the first process

    proc = p.process
    vals = {k: _draws(d, u_of, f"{p.name}.{k}", n) for k, d in proc.params.items()}
    first = 1 if proc.kind == "gbm" else 0
    e = np.zeros((n, len(years)))
    for t, y in enumerate(years[first:], start=first):
        e[:, t] = ndtri(u_of(f"{p.name}[{int(y)}]"))
    if proc.kind == "gbm":
        return gbm_paths(vals["start"], vals["drift"], vals["volatility"], e)
    return ar1_paths(vals["mean"], vals["phi"], vals["sigma"], e, proc.scale, vals.get("start"))


def _shock(p: Parameter, u_of, t: int, n: int) -> np.ndarray:
    """(n, T) multipliers of the parameter's shock."""
    s = p.shock
    prob = _draws(s.probability, u_of, f"{p.name}.shock.probability", n)
    size = _draws(s.size, u_of, f"{p.name}.shock.size", n)
    return shock_multiplier(u_of(f"{p.name}.shock"), prob, size, t)


def trajectory_index(u: np.ndarray, trajectories: int) -> np.ndarray:
    """The posterior trajectory (0..M-1) each draw of a calibrated input takes: floor(u M)."""
    return np.minimum((u * trajectories).astype(np.int64), trajectories - 1)


def sample_inputs(
    scenario: Scenario, design: Design, start: int, stop: int, calibrated: dict | None = None
) -> dict:
    """Every parameter's values for draws ``start..stop-1`` of ``design`` (see
    :func:`inputs_from_uniforms`)."""
    return inputs_from_uniforms(scenario, design.uniforms(start, stop), design.names, calibrated)
