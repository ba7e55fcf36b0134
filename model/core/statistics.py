"""Order statistics and Monte Carlo errors of samples: quantiles from one sort, the error of
every quantile, mean and probability under the three ways a run's draws can depend on each
other.

A run summarises millions of draws per metric. numpy's vectorised sort (x86-simd-sort in numpy
2.x) orders 1,000,000 doubles in ~28 ms, about what one ``numpy.quantile`` call costs, and on a
(years, draws) block it is twice as fast as ``numpy.quantile(axis=1)``, which partitions along a
strided axis. So a summary sorts once and reads every quantile and every order-statistic
interval from the sorted values (``benchmarks/README.md``, "Whole process").

How the draws depend on each other decides the error (:class:`ErrorModel`):

* ``iid``: plain Monte Carlo; the draws are independent, the effective sample size is n.
* ``clustered``: calibrated inputs; every draw takes one of K posterior trajectories, so draws
  sharing a trajectory are dependent. Errors are cluster-robust (the variance of the cluster
  sums; several calibrated inputs: multiway clustering by inclusion-exclusion, Cameron, Gelbach
  & Miller 2011).
* ``replicates``: Latin hypercube and Sobol' designs; the draws form R independent randomized
  replicates of equal size, and the error of a statistic is the spread of its R replicate
  values over sqrt(R) (Owen 2013, ch. 17).

Quantile errors follow ArviZ's ``mcse(method="quantile")`` (Vehtari et al. 2021): the
effective sample size of the indicator ``x <= q`` sets a Beta distribution of the quantile's
probability, whose 15.9 % and 84.1 % points, read as order statistics, bracket the quantile by
about two standard errors. It is written here on ``scipy.special.betaincinv`` because importing
ArviZ costs ~1.5 s, more than a whole ``capex run``; ``tests/test_statistics.py`` checks it
against ArviZ.

References
----------
.. [1] Hyndman, R. J. & Fan, Y. (1996). Sample quantiles in statistical packages. *The
   American Statistician*, 50(4), 361-365.
.. [2] Vehtari, A., Gelman, A., Simpson, D., Carpenter, B. & Buerkner, P.-C. (2021).
   Rank-normalization, folding, and localization: an improved R-hat for assessing convergence
   of MCMC. *Bayesian Analysis*, 16(2), 667-718.
.. [3] Cameron, A. C., Gelbach, J. B. & Miller, D. L. (2011). Robust inference with multiway
   clustering. *Journal of Business & Economic Statistics*, 29(2), 238-249.
.. [4] Owen, A. B. (2013). *Monte Carlo theory, methods and examples*, ch. 17 (randomized
   quasi-Monte Carlo: independent replicates).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
from scipy import special

#: Probabilities of the Beta distribution read as order statistics for a quantile's error:
#: Phi(-1) and Phi(1), one standard deviation either side (ArviZ's choice).
_ONE_SD = (0.1586553, 0.8413447)


def sorted_quantiles(sorted_values: np.ndarray, probabilities) -> np.ndarray:
    """Quantiles of samples already sorted along their last axis.

    The linear method of ``numpy.quantile`` (Hyndman & Fan's definition 7): the quantile of
    probability p sits at the virtual index h = (n - 1) p and interpolates between the order
    statistics floor(h) and floor(h) + 1, with numpy's own rounding rule, so the result equals
    ``numpy.quantile(values, probabilities, axis=-1)`` to the last bit. ``+inf`` values (draws
    beyond a horizon: "never") sort last; a quantile that reaches them is ``+inf``.

    Parameters
    ----------
    sorted_values : ndarray (..., n)
        Values sorted ascending along the last axis (``numpy.sort``: NaN last), n >= 1. A row
        holding NaN gets NaN quantiles, as in ``numpy.quantile``.
    probabilities : sequence of float
        In [0, 1].

    Returns
    -------
    ndarray (len(probabilities), ...)
        One row per probability (numpy's layout).
    """
    values = np.asarray(sorted_values)
    n = values.shape[-1]
    virtual = (n - 1) * np.asarray(probabilities, dtype=float)
    below = np.floor(virtual)
    gamma = (virtual - below).reshape(-1, *([1] * (values.ndim - 1)))
    below = np.minimum(below.astype(np.intp), n - 1)
    above = np.minimum(below + 1, n - 1)
    low = np.moveaxis(values[..., below], -1, 0)
    high = np.moveaxis(values[..., above], -1, 0)
    with np.errstate(invalid="ignore"):
        diff = high - low
        out = np.where(gamma >= 0.5, high - diff * (1 - gamma), low + diff * gamma)
    out = np.where(np.isposinf(high) & (gamma > 0), np.inf, out)
    out = np.where(np.isposinf(low), np.inf, out)
    return np.where(np.isnan(values[..., -1]), np.nan, out)


def quantile_mcse(sorted_values: np.ndarray, probabilities, ess: np.ndarray | float) -> np.ndarray:
    """Monte Carlo standard error of quantiles, from order statistics (ArviZ's method).

    For probability p and effective sample size S, the quantile's probability is
    Beta(S p + 1, S (1 - p) + 1); its 15.9 % and 84.1 % points a1, a2 give the order statistics
    x[floor(a1 n - 1)] and x[ceil(a2 n - 1)], half of whose distance is the error.

    Parameters
    ----------
    sorted_values : ndarray (n,)
        The draws, sorted (``+inf`` for "never" draws).
    probabilities : sequence of float
    ess : float or ndarray (len(probabilities),)
        Effective sample size of the indicator ``x <= q_p`` (n for independent draws).

    Returns
    -------
    ndarray (len(probabilities),)
        [unit of the values]; ``inf`` where the interval reaches "never" draws, NaN for fewer
        than 4 draws.
    """
    x = np.asarray(sorted_values, dtype=float)
    p = np.asarray(probabilities, dtype=float)
    n = x.size
    if n < 4:
        return np.full(p.shape, np.nan)
    s = np.broadcast_to(np.asarray(ess, dtype=float), p.shape)
    a = s * p + 1.0
    b = s * (1.0 - p) + 1.0
    with np.errstate(invalid="ignore"):
        lo = special.betaincinv(a, b, _ONE_SD[0]) * n - 1.0
        hi = special.betaincinv(a, b, _ONE_SD[1]) * n - 1.0
    i1 = np.floor(np.maximum(np.nan_to_num(lo, nan=0.0), 0.0)).astype(np.intp)
    i2 = np.ceil(np.minimum(np.nan_to_num(hi, nan=n - 1.0), n - 1.0)).astype(np.intp)
    with np.errstate(invalid="ignore"):
        return (x[i2] - x[i1]) / 2.0


@dataclass
class ErrorModel:
    """How a run's draws depend on each other, hence how its Monte Carlo errors are computed.

    Parameters
    ----------
    method : {"iid", "clustered", "replicates"}
    groupings : list of ndarray (n,) of int
        ``clustered``: per calibrated input, the posterior trajectory each draw took.
    replicate : ndarray (n,) of int, optional
        ``replicates``: the replicate of each draw (0..R-1, equal sizes).
    clusters : int
        ``clustered``: trajectories available per calibrated input (K).
    """

    method: str = "iid"
    groupings: list = field(default_factory=list)
    replicate: np.ndarray | None = None
    clusters: int = 0

    @property
    def replicates(self) -> int:
        """Number of replicates (0 unless ``replicates``)."""
        return int(self.replicate.max()) + 1 if self.replicate is not None else 0

    def describe(self) -> dict:
        """What ``capex run --json`` says under ``errors``: the method and its reference."""
        if self.method == "replicates":
            return {
                "method": "replicates",
                "replicates": self.replicates,
                "text": f"spread of {self.replicates} independent randomized replicates of the "
                "design over sqrt(R) (Owen 2013, ch. 17)",
            }
        if self.method == "clustered":
            return {
                "method": "clustered",
                "trajectories": self.clusters,
                "calibrated_inputs": len(self.groupings),
                "text": "cluster-robust: draws sharing a posterior trajectory are dependent "
                "(Cameron, Gelbach & Miller 2011)",
            }
        return {"method": "iid", "text": "independent draws: sd / sqrt(n)"}

    def subset(self, mask: np.ndarray) -> ErrorModel:
        """The model of the draws ``mask`` selects (a conditional summary)."""
        if mask.all():
            return self
        return ErrorModel(
            self.method,
            [g[mask] for g in self.groupings],
            self.replicate[mask] if self.replicate is not None else None,
            self.clusters,
        )

    # ----------------------------------------------------------------- means, probabilities
    def mean_se(self, x: np.ndarray) -> float:
        """Standard error of the mean of ``x`` (all finite) [unit of x].

        Replicates: the spread of the replicates' means; clustered: the cluster-robust error
        (never below the independent one); a quasi-random design with calibrated inputs: the
        larger of the two (the replicates share the run's trajectories).
        """
        n = x.size
        if n < 2:
            return math.nan
        iid = float(x.var(ddof=1)) / n
        clustered = (
            math.sqrt(max(self._clustered_variance(x - x.mean(), iid), iid))
            if self.groupings
            else math.sqrt(iid)
        )
        if self.method == "replicates" and self.replicate is not None:
            counts = np.bincount(self.replicate)
            present = counts > 0
            if present.sum() >= 2:
                means = np.bincount(self.replicate, weights=x)[present] / counts[present]
                rep = _replicate_se(means)
                return max(rep, clustered) if self.groupings else rep
        return clustered

    def _clustered_variance(self, residual: np.ndarray, iid: float) -> float:
        """Multiway cluster-robust variance of a mean, by inclusion-exclusion over the
        groupings (one grouping: the plain cluster-robust variance)."""
        n = residual.size
        total = 0.0
        for k in range(1, len(self.groupings) + 1):
            for subset in itertools.combinations(self.groupings, k):
                ids = subset[0] if k == 1 else _intersect(subset)
                sums = np.bincount(ids, weights=residual)
                g = np.count_nonzero(np.bincount(ids))
                v = float(sums @ sums) / n**2 * (g / (g - 1) if g > 1 else 1.0)
                total += v if k % 2 else -v
        return total if total > 0 else iid

    def probability_se(self, indicator: np.ndarray) -> float:
        """Standard error of a share of draws (``indicator`` of 0/1)."""
        return self.mean_se(np.asarray(indicator, dtype=float))

    def ess(self, indicator: np.ndarray) -> float:
        """Effective sample size of the mean of ``indicator``: p (1 - p) / SE^2, the SE from
        this model (n when the draws are independent or the indicator is constant)."""
        n = indicator.size
        ind = np.asarray(indicator, dtype=float)
        p = float(ind.mean())
        if (self.method == "iid" and not self.groupings) or p in (0.0, 1.0):
            return float(n)
        se = self.mean_se(ind)
        return float(p * (1 - p) / se**2) if se > 0 else float(n)

    # ----------------------------------------------------------------- quantiles
    def quantile_se(
        self, x: np.ndarray, sorted_x: np.ndarray, probabilities, quantiles: np.ndarray
    ) -> np.ndarray:
        """Standard errors of the quantiles ``quantiles`` (of ``probabilities``) of ``x``.

        ``x`` holds every draw in draw order (``+inf`` for never), ``sorted_x`` the same sorted.
        The order-statistic interval of :func:`quantile_mcse` at the effective sample size of
        the indicator ``x <= q``: n for independent draws; from the cluster-robust or the
        replicate error of the indicator's mean otherwise (the pooled quantile's error through
        its indicator, as ArviZ does for MCMC chains).
        """
        probs = np.asarray(probabilities, dtype=float)
        if self.method == "iid" and not self.groupings:
            ess = np.full(probs.shape, float(x.size))
        else:
            ess = np.array([self.ess(x <= q) for q in quantiles])
        return quantile_mcse(sorted_x, probs, ess)


def _replicate_se(values: np.ndarray) -> float:
    """Standard error of the mean of R independent replicate estimates."""
    r = values.size
    return float(values.std(ddof=1) / math.sqrt(r)) if r >= 2 else math.nan


def _intersect(groupings) -> np.ndarray:
    """Cluster ids of the intersection of several groupings (one id per distinct tuple)."""
    stacked = np.stack([np.asarray(g, dtype=np.int64) for g in groupings], axis=1)
    return np.unique(stacked, axis=0, return_inverse=True)[1].reshape(-1)
