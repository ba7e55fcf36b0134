"""Stochastic processes for series inputs: uncertainty that moves through time.

A series parameter can be a process instead of per-year values (``process: ar1 | gbm``), and
any series (values or process) can carry a ``shock`` that strikes at most once per draw:

* **AR(1)** on a scale g (``linear``, ``log`` or ``logit``), z_t = g(x_t):
  z_t = mu + phi (z_{t-1} - mu) + sigma e_t with mu = g(mean); ``mean`` is in the parameter's
  unit, ``sigma`` on the scale (in the unit for ``linear``). The first year is the stationary
  distribution z_0 ~ N(mu, sigma^2 / (1 - phi^2)) (``start: stationary``, |phi| < 1) or
  g(start). Stationary sd on the scale: sigma / sqrt(1 - phi^2); lag-1 autocorrelation phi.
* **GBM**: log x_t = log x_{t-1} + drift - volatility^2 / 2 + volatility e_t, x_0 = start; so
  E[x_t] = x_0 exp(drift t) and the log increments are N(drift - vol^2/2, vol^2).
* **Shock**: the year it strikes is geometric, P(struck by the t-th year) = 1 - (1 - p)^t;
  from that year on the series is multiplied by (1 - size).

The innovations e_t are standard normal, one per year and draw, taken from the run's design
(one design column per year: ``name[year]``), so designs, common random numbers, chunking and
workers work on processes as on every input; the parameters (mean, phi, ... , probability,
size) may be distributions with their own columns (``name.mean``, ``name.shock``, ...).

References
----------
.. [1] Hamilton, J. D. (1994). *Time Series Analysis*, ch. 3 (AR(1): stationary moments).
.. [2] Hull, J. C. (2018). *Options, Futures, and Other Derivatives*, 10th ed., ch. 14
   (geometric Brownian motion, the -sigma^2/2 correction).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .distributions import Distribution

#: Process kinds and the parameters each takes (``start`` optional for AR(1)).
PROCESS_PARAMETERS = {
    "ar1": ("mean", "phi", "sigma", "start"),
    "gbm": ("start", "drift", "volatility"),
}
SCALES = ("linear", "log", "logit")


@dataclass(frozen=True)
class Process:
    """A process for a series input.

    Parameters
    ----------
    kind : {"ar1", "gbm"}
    params : dict of str to Distribution
        ``mean`` [unit], ``phi`` [1], ``sigma`` [scale], ``start`` [unit] (AR(1); ``start``
        absent = stationary); ``start`` [unit], ``drift`` [1/year], ``volatility`` [1/sqrt(year)]
        (GBM). Fixed values are distributions too (``fixed``).
    scale : {"linear", "log", "logit"}
        AR(1) only.
    """

    kind: str
    params: dict = field(default_factory=dict)
    scale: str = "linear"

    @property
    def stationary(self) -> bool:
        return self.kind == "ar1" and "start" not in self.params

    def uncertain(self) -> list[str]:
        """Names of the parameters that are distributions (each gets a design column)."""
        return [k for k, d in self.params.items() if not d.is_fixed]

    def describe(self, fmt) -> str:
        parts = [
            f"{k} {d.describe(fmt) if not d.is_fixed else fmt(d.mean())}"
            for k, d in self.params.items()
        ]
        start = "; start stationary" if self.stationary else ""
        scale = f" on the {self.scale} scale" if self.kind == "ar1" else ""
        return f"{self.kind.upper()} process{scale}: " + "; ".join(parts) + start


@dataclass(frozen=True)
class Shock:
    """A shock that strikes a series at most once per draw.

    Parameters
    ----------
    probability : Distribution
        Chance per year that it strikes (given it has not yet) [share].
    size : Distribution
        Share of the series lost from that year on [share].
    """

    probability: Distribution
    size: Distribution

    def uncertain(self) -> list[str]:
        return [k for k in ("probability", "size") if not getattr(self, k).is_fixed]

    def describe(self, fmt=lambda x: f"{x:.3g}") -> str:
        def show(d):
            return d.describe(fmt) if not d.is_fixed else fmt(d.mean())

        return f"shock: probability {show(self.probability)} a year, size {show(self.size)}"


def _to_scale(x, scale: str):
    if scale == "log":
        return np.log(x)
    if scale == "logit":
        return np.log(x) - np.log1p(-x)
    return x


def _from_scale(z, scale: str):
    if scale == "log":
        return np.exp(z)
    if scale == "logit":
        return 1.0 / (1.0 + np.exp(-z))
    return z


def ar1_paths(mean, phi, sigma, e: np.ndarray, scale: str = "linear", start=None) -> np.ndarray:
    """AR(1) paths (n, T) [unit] from innovations ``e`` (n, T) of standard normals.

    ``mean``, ``phi``, ``sigma``, ``start`` are per draw (n,) or scalars; ``start`` None is
    the stationary start.
    """
    mean, phi, sigma = (np.asarray(v, dtype=float).reshape(-1, 1) for v in (mean, phi, sigma))
    mu = _to_scale(mean, scale)
    z = np.empty_like(e, dtype=float)
    if start is None:
        z[:, :1] = mu + sigma / np.sqrt(1.0 - phi**2) * e[:, :1]
    else:
        z[:, :1] = _to_scale(np.asarray(start, dtype=float).reshape(-1, 1), scale)
    for t in range(1, e.shape[1]):  # a loop over years, each step vectorised over draws
        z[:, t : t + 1] = mu + phi * (z[:, t - 1 : t] - mu) + sigma * e[:, t : t + 1]
    return _from_scale(z, scale)


def gbm_paths(start, drift, volatility, e: np.ndarray) -> np.ndarray:
    """Geometric Brownian motion paths (n, T) [unit]: x_0 = start, then yearly log steps
    drift - volatility^2 / 2 + volatility e_t."""
    start, drift, vol = (
        np.asarray(v, dtype=float).reshape(-1, 1) for v in (start, drift, volatility)
    )
    steps = drift - 0.5 * vol**2 + vol * e[:, 1:]
    logs = np.concatenate([np.zeros((e.shape[0], 1)), np.cumsum(steps, axis=1)], axis=1)
    return start * np.exp(logs)


def shock_multiplier(u, probability, size, t: int) -> np.ndarray:
    """(n, T) factors: 1 before the year the shock strikes, 1 - size from it on.

    The strike year index k = floor(log(1 - u) / log(1 - p)) is geometric (first strike in year
    k with probability p (1 - p)^k), from one uniform ``u`` per draw.
    """
    u = np.asarray(u, dtype=float).reshape(-1, 1)
    p = np.broadcast_to(np.asarray(probability, dtype=float).reshape(-1, 1), u.shape)
    size = np.asarray(size, dtype=float).reshape(-1, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.where(p >= 1.0, 0.0, np.floor(np.log1p(-u) / np.log1p(-np.minimum(p, 1.0))))
    k = np.where(p <= 0.0, np.inf, k)
    years = np.arange(t).reshape(1, -1)
    return np.where(years >= k, 1.0 - size, 1.0)
