"""The calibration models as curves: their parameters, equations and quadrature design.

Pure numpy (no PyMC, no ArviZ): each curve is written once for an array module ``xp`` (numpy or
``pytensor.tensor``), so the same equation builds the PyMC model and computes predictions. The
model names and the unit of the series they fit are also in
:data:`model.core.vocabulary.CALIBRATION_MODELS` (a test checks the two agree).

Revenue models describe the run-rate ``R(t)`` [USD/year], an instantaneous annualised figure;
a ``calendar_year`` observation is the integral of ``R`` over the year (Gauss-Legendre
quadrature, :func:`design`). The price model describes ``p(t)`` [USD/GPU-hour]. The equations
are in docs/model.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

#: Quadrature nodes per calendar year.
N_NODES = 12


@dataclass(frozen=True)
class CurveParam:
    """A model parameter that needs a prior.

    Parameters
    ----------
    name : str
        Name in the priors file.
    units : tuple of str
        Accepted units (for ``level``: the series' dimension, filled in per model).
    families : tuple of str
        Accepted prior families.
    meaning : str
    log_scale : bool
        Sampled as ``log_<name>`` (a lognormal level is a normal log-level).
    """

    name: str
    units: tuple[str, ...]
    families: tuple[str, ...]
    meaning: str
    log_scale: bool = False


@dataclass(frozen=True)
class ModelSpec:
    """A calibration model.

    Parameters
    ----------
    name : str
    dimension : str
        Unit of the series it fits: ``USD/year`` (revenue run-rate) or ``USD/GPU-hour``.
    params : tuple of CurveParam
        Parameters with priors (``noise`` last).
    log_curve : callable
        ``log_curve(xp, p, dt)``: log of the curve at ``dt`` years after the reference date,
        with ``xp`` numpy or ``pytensor.tensor`` and ``p`` a dict of parameter values (the
        level as ``log_level``).
    description : str
    derived : callable, optional
        ``derived(xp, p) -> dict`` of deterministic quantities to report (e.g. ``cap``).
    initvals : callable, optional
        ``initvals(chains) -> list of dict``: starting points per chain.
    """

    name: str
    dimension: str
    params: tuple[CurveParam, ...]
    log_curve: Callable
    description: str
    derived: Callable | None = None
    initvals: Callable | None = None

    @property
    def curve_params(self) -> list[str]:
        """Names of the curve's parameters as the posterior stores them."""
        return [
            ("log_" + p.name if p.log_scale else p.name) for p in self.params if p.name != "noise"
        ]

    @property
    def free_params(self) -> list[str]:
        """Names of the sampled parameters (what the diagnostics look at)."""
        return [("log_" + p.name if p.log_scale else p.name) for p in self.params]


def _level(unit: str) -> CurveParam:
    what = "run-rate" if unit == "USD/year" else "price"
    return CurveParam(
        "level", (unit,), ("lognormal",), f"{what} at the reference date [{unit}]", log_scale=True
    )


_GROWTH = CurveParam(
    "growth",
    ("1/year",),
    ("lognormal", "normal"),
    "growth rate of log run-rate at the reference date [1/year]",
)
_HEADROOM = CurveParam(
    "headroom",
    ("log-ratio",),
    ("lognormal",),
    "ln(cap / run-rate at the reference date) [log-ratio]",
)
_DECAY = CurveParam(
    "growth_decay", ("1/year",), ("lognormal",), "rate at which the excess growth fades [1/year]"
)
_LONG_RUN = CurveParam(
    "long_run_growth", ("1/year",), ("normal",), "growth rate the run-rate settles to [1/year]"
)
_DECLINE = CurveParam(
    "decline", ("1/year",), ("normal", "lognormal"), "yearly decline of log price [1/year]"
)
_NOISE = CurveParam(
    "noise",
    ("log",),
    ("lognormal", "halfnormal"),
    "standard deviation of log(observed / model) [log]",
)


def _exponential(xp, p, dt):
    return p["log_level"] + p["growth"] * dt


def _logistic(xp, p, dt):
    h = p["headroom"]
    r = p["growth"] / (-xp.expm1(-h))
    return p["log_level"] + h - xp.logaddexp(0.0, xp.log(xp.expm1(h)) - r * dt)


def _gompertz(xp, p, dt):
    h = p["headroom"]
    return p["log_level"] - h * xp.expm1(-p["growth"] * dt / h)


def _decaying_growth(xp, p, dt):
    c = p["growth_decay"]
    g_inf = p["long_run_growth"]
    return p["log_level"] + g_inf * dt - (p["growth"] - g_inf) * xp.expm1(-c * dt) / c


def _exp_decline(xp, p, dt):
    return p["log_level"] - p["decline"] * dt


def _cap(xp, p):
    return {"cap": xp.exp(p["log_level"] + p["headroom"])}


_REV = "USD/year"
_PRICE = "USD/GPU-hour"

#: The calibration models, by name.
MODELS: dict[str, ModelSpec] = {
    "exponential": ModelSpec(
        "exponential",
        _REV,
        (_level(_REV), _GROWTH, _NOISE),
        _exponential,
        "constant log-growth (no deceleration): the baseline the others must beat",
    ),
    "logistic": ModelSpec(
        "logistic",
        _REV,
        (_level(_REV), _GROWTH, _HEADROOM, _NOISE),
        _logistic,
        "logistic growth towards a cap (symmetric S-curve)",
        derived=_cap,
    ),
    "gompertz": ModelSpec(
        "gompertz",
        _REV,
        (_level(_REV), _GROWTH, _HEADROOM, _NOISE),
        _gompertz,
        "Gompertz growth towards a cap: log-growth decays exponentially to zero",
        derived=_cap,
    ),
    "decaying_growth": ModelSpec(
        "decaying_growth",
        _REV,
        (_level(_REV), _GROWTH, _DECAY, _LONG_RUN, _NOISE),
        _decaying_growth,
        "log-growth decaying exponentially to a long-run rate (no cap)",
    ),
    "exp_decline": ModelSpec(
        "exp_decline",
        _PRICE,
        (_level(_PRICE), _DECLINE, _NOISE),
        _exp_decline,
        "exponential price decline",
    ),
}
REVENUE_MODELS = ("exponential", "logistic", "gompertz", "decaying_growth")
PRICE_MODELS = ("exp_decline",)


def models_for(unit: str) -> list[str]:
    """Names of the models that fit a series in ``unit`` (``USD/year`` or ``USD/GPU-hour``)."""
    return [n for n, s in MODELS.items() if s.dimension == unit]


def nodes(n: int = N_NODES) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes on [0, 1] and their weights (sum 1)."""
    x, w = np.polynomial.legendre.leggauss(n)
    return (x + 1.0) / 2.0, w / 2.0


def design(measures, t, n: int = N_NODES) -> tuple[np.ndarray, np.ndarray]:
    """Times [decimal year] and log-weights, shape (rows, n), such that
    ``log value = logsumexp(log_curve(times) + logw, axis=1)``.

    An instantaneous row (run_rate, price) repeats its date with weight 1/n; a calendar-year
    row integrates the curve over ``[Y, Y+1]``.
    """
    x, w = nodes(n)
    t = np.asarray(t, dtype=float)
    times = np.repeat(t[:, None], n, axis=1)
    logw = np.full(times.shape, -math.log(n))
    cal = np.asarray([m == "calendar_year" for m in measures])
    times[cal] = t[cal, None] + x[None, :]
    logw[cal] = np.log(w)[None, :]
    return times, logw


def logsumexp(a: np.ndarray, axis: int) -> np.ndarray:
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    return np.squeeze(m, axis=axis) + np.log(np.sum(np.exp(a - m), axis=axis))
