"""Rank correlation between inputs: Iman-Conover reordering of each block's uniforms.

Within each block, Iman-Conover reorders the uniforms of correlated inputs so their Spearman
rank correlation matches the file's ``correlations:`` while every marginal is kept exactly.

References
----------
.. [1] Iman, R. L. & Conover, W. J. (1982). A distribution-free approach to inducing rank
   correlation among input variables. *Communications in Statistics - Simulation and
   Computation*, 11(3), 311-334.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import special

from ..core.scenario import nearest_correlation


def spearman_to_pearson(rho_s):
    """Pearson correlation of normal scores giving Spearman ``rho_s``: 2 sin(pi rho_s / 6)."""
    return 2.0 * np.sin(np.pi * np.asarray(rho_s) / 6.0)


def iman_conover(u: np.ndarray, target_spearman: np.ndarray, rng: np.random.Generator):
    """Reorder the columns of ``u`` to the target rank correlation, keeping each column's values.

    Parameters
    ----------
    u : ndarray, shape (n, k)
        Independent uniforms (any marginal works: only ranks are used).
    target_spearman : ndarray, shape (k, k)
        Target Spearman correlation matrix (positive definite).
    rng : numpy.random.Generator
        For the random tie-free scores.

    Returns
    -------
    ndarray, shape (n, k)
    """
    n, k = u.shape
    if n < k + 2:
        return u
    target = spearman_to_pearson(target_spearman)
    np.fill_diagonal(target, 1.0)
    if np.linalg.eigvalsh(target).min() <= 1e-10:
        target = nearest_correlation(target)
        target = target + 1e-9 * np.eye(k)
    p = np.linalg.cholesky(target)
    base = _van_der_waerden_scores(n)
    scores = np.column_stack([rng.permutation(base) for _ in range(k)])
    e = np.corrcoef(scores, rowvar=False).reshape(k, k)
    f = np.linalg.cholesky(e)
    target_scores = scores @ np.linalg.solve(f, p.T)
    # ranks: the inverse permutation of the sort order (one sort instead of two)
    order = np.argsort(target_scores, axis=0)
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(n).reshape(-1, 1), axis=0)
    return np.take_along_axis(np.sort(u, axis=0), ranks, axis=0)


@lru_cache(maxsize=8)
def _van_der_waerden_scores(n: int) -> np.ndarray:
    """Normal scores Phi^-1(i / (n + 1)), i = 1..n, read-only."""
    base = special.ndtri(np.arange(1, n + 1) / (n + 1))
    base.flags.writeable = False
    return base
