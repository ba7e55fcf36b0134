"""Designs: the uniform matrices the sensitivity methods evaluate.

One-at-a-time rows (every input at its median but one), the ordinary Monte Carlo run (the draws
``capex run`` makes), and the Saltelli (2010) base and cross matrices, with their Gaussian-copula
form for correlated inputs (Mara & Tarantola 2012): see :mod:`model.analysis.sensitivity`.
"""

from __future__ import annotations

import numpy as np
from scipy import special
from scipy.linalg import solve_triangular

from ...core.scenario import Scenario, nearest_correlation
from ...engine.correlation import spearman_to_pearson
from ...engine.designs import Design, design_correlations


def oat_matrix(k: int, cols: list[int], us) -> np.ndarray:
    """Rows with every uniform 0.5 except column ``cols[i]`` set to ``us[i]``."""
    u = np.full((len(cols), k), 0.5)
    u[np.arange(len(cols)), cols] = us
    return u


def ordinary_run(scenario, engine, names, output, draws, seed, design, results):
    """Uniforms (n, k) and output (n,) of the run ``capex run`` makes with these settings."""
    if results is not None:
        a = results.attrs
        if a.get("input_hash") != scenario.input_hash:
            raise ValueError("results belong to another scenario (input hash differs)")
        d = Design(scenario, int(a["draws"]), int(a["seed"]), a["design"])
        u = d.uniforms(0, d.draws)
        y = results.metric(output)
        # guard: the regenerated uniforms must give the stored inputs
        for j, nm in enumerate(names):
            p = scenario.parameters.get(nm)
            if p is not None and p.form == "scalar" and nm in results.inputs:
                if not np.allclose(p.dist.ppf(u[:200, j]), results.inputs[nm][:200]):
                    raise ValueError(
                        "results were not made by simulate() with their stored seed and design"
                    )
                break
        return u, y
    d = Design(scenario, draws, seed, design)
    u = d.uniforms(0, draws)
    return u, engine(u)[output]


def normal_score_corr(scenario: Scenario, names: list[str]) -> np.ndarray | None:
    """Pearson correlation of normal scores (k, k) for the declared Spearman correlations."""
    if not scenario.correlations:
        return None
    idx = {nm: j for j, nm in enumerate(names)}
    r = np.eye(len(names))
    for c in design_correlations(scenario):
        if c.a in idx and c.b in idx:
            r[idx[c.a], idx[c.b]] = r[idx[c.b], idx[c.a]] = float(spearman_to_pearson(c.rho))
    if np.array_equal(r, np.eye(len(names))):
        return None
    if np.linalg.eigvalsh(r).min() <= 1e-10:
        r = nearest_correlation(r) + 1e-9 * np.eye(len(names))
        d = np.sqrt(np.diag(r))
        r = r / np.outer(d, d)
    return r


def conditional_mix(
    x_resid: np.ndarray, x_keep: np.ndarray, keep: list[int], r: np.ndarray
) -> np.ndarray:
    """Normal scores whose columns ``keep`` come from ``x_keep`` and whose other columns are
    drawn from their conditional distribution given them, using the (whitened) residual of
    ``x_resid``: Cholesky factor of ``r`` in the order (keep, rest) (Mara & Tarantola 2012)."""
    k = r.shape[0]
    rest = [j for j in range(k) if j not in set(keep)]
    order = list(keep) + rest
    lower = np.linalg.cholesky(r[np.ix_(order, order)])
    e_keep = solve_triangular(lower, x_keep[:, order].T, lower=True).T
    e_res = solve_triangular(lower, x_resid[:, order].T, lower=True).T
    e = np.concatenate([e_keep[:, : len(keep)], e_res[:, len(keep) :]], axis=1)
    x = e @ lower.T
    out = np.empty_like(x)
    out[:, order] = x
    return out


def salib_base(k: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """SALib's Saltelli base matrices A and B: the two halves of a scrambled Sobol' sequence
    of dimension 2k, exactly as ``SALib.sample.sobol.sample`` draws them."""
    from scipy.stats import qmc  # deferred: scipy.stats is slow to import

    base = qmc.Sobol(d=2 * k, scramble=True, seed=seed).random(n)
    return base[:, :k], base[:, k:]


def saltelli_matrices(
    k: int, n: int, seed: int, sets: dict[str, list[int]], corr: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, dict, dict]:
    """Uniform design matrices of the (grouped) Saltelli scheme.

    Parameters
    ----------
    k, n : int
        Inputs and base samples.
    seed : int
        Scrambling seed.
    sets : dict
        Name -> column indices of an input or a group.
    corr : ndarray (k, k) or None
        Correlation of normal scores (None: independent inputs).

    Returns
    -------
    a, b : ndarray (n, k)
        Base matrices (uniforms; correlated through the Gaussian copula when ``corr``).
    first : dict
        Set name -> cross matrix for its first-order index (set from B, the rest from A or,
        with correlations, drawn given the set).
    total : dict
        Set name -> cross matrix for its total index (the same array object as ``first``
        when no correlation crosses the set's boundary).
    """
    a_u, b_u = salib_base(k, n, seed)
    first, total = {}, {}
    if corr is None:
        for name, cols in sets.items():
            m = a_u.copy()
            m[:, cols] = b_u[:, cols]
            first[name] = total[name] = m
        return a_u, b_u, first, total
    lower = np.linalg.cholesky(corr)
    xa = special.ndtri(a_u) @ lower.T
    xb = special.ndtri(b_u) @ lower.T
    for name, cols in sets.items():
        rest = [j for j in range(k) if j not in set(cols)]
        cut = bool(rest) and np.any(corr[np.ix_(cols, rest)] != 0.0)
        if not cut:
            m = xa.copy()
            m[:, cols] = xb[:, cols]
            first[name] = total[name] = special.ndtr(m)
        else:
            first[name] = special.ndtr(conditional_mix(xa, xb, cols, corr))
            total[name] = special.ndtr(conditional_mix(xb, xa, rest, corr))
    return special.ndtr(xa), special.ndtr(xb), first, total
