"""Sampling: uniforms in the unit hypercube -> rank correlation -> each input's ``ppf``.

Determinism and common random numbers
-------------------------------------
Draws are generated in fixed *blocks* of :data:`BLOCK` draws (the last block may be shorter).
Block ``b`` of input ``name`` uses its own generator, seeded by ``SeedSequence(seed,
spawn_key=(hash(name), b))``. So

* results do not depend on the chunk size the engine uses (a chunk is any range of draws; the
  blocks it touches are generated whole and sliced);
* the same input name gets the same uniforms in two runs with the same seed and draw count
  (common random numbers), so ``compare`` and sensitivity differences are not noise.

Designs: ``mc`` (plain Monte Carlo), ``lhs`` (Latin hypercube, stratified within each block),
``sobol`` (one scrambled Sobol sequence over all uncertain inputs, inputs ordered by name; use a
power-of-two number of draws for its balance properties).

Correlation: within each block, Iman–Conover reorders the uniforms of correlated inputs so their
Spearman rank correlation matches the file's ``correlations:`` while every marginal is kept
exactly.

Series: the uncertain points of one series share one uniform per draw (``years_move:
together``), so a draw is a coherent path; with ``years_move: independent`` each point has its
own uniform (named ``name[year]``).

References
----------
.. [1] Iman, R. L. & Conover, W. J. (1982). A distribution-free approach to inducing rank
   correlation among input variables. *Communications in Statistics - Simulation and
   Computation*, 11(3), 311–334.
.. [2] McKay, M. D., Beckman, R. J. & Conover, W. J. (1979). A comparison of three methods for
   selecting values of input variables in the analysis of output from a computer code.
   *Technometrics*, 21(2), 239–245.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import special
from scipy.stats import qmc

from .distributions import Distribution
from .loading import Parameter, Scenario, correlation_matrix, nearest_correlation

#: Draws per block of the design (a constant of the method: changing it changes the numbers).
BLOCK = 8192
DESIGNS = ("mc", "lhs", "sobol")


def name_key(name: str) -> int:
    """Stable 32-bit integer of a name (Python's ``hash`` is salted per process)."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:4], "little")


@dataclass(frozen=True)
class InputVariable:
    """One column of the design: an uncertain parameter, or one year of an independent series."""

    name: str
    parameter: str
    year: int | None = None


def input_variables(scenario: Scenario) -> list[InputVariable]:
    """The design's columns, sorted by name (so the order never depends on file order)."""
    out = []
    for p in scenario.parameters.values():
        if not p.is_uncertain:
            continue
        if p.form == "series" and p.years_move == "independent":
            out.extend(InputVariable(f"{p.name}[{y}]", p.name, y)
                       for y, d in p.points if not d.is_fixed)
        else:
            out.append(InputVariable(p.name, p.name))
    return sorted(out, key=lambda v: v.name)


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


class Design:
    """Uniform draws for every uncertain input of a scenario, by block, deterministic.

    Parameters
    ----------
    scenario : Scenario
    draws : int
        Total number of draws (fixes the block layout).
    seed : int
    design : {"mc", "lhs", "sobol"}
    """

    def __init__(self, scenario: Scenario, draws: int, seed: int, design: str = "mc"):
        if design not in DESIGNS:
            raise ValueError(f"design {design!r} unknown; use one of {', '.join(DESIGNS)}")
        self.scenario = scenario
        self.draws = int(draws)
        self.seed = int(seed)
        self.design = design
        self.variables = input_variables(scenario)
        self.names = [v.name for v in self.variables]
        corr = scenario.correlations
        self.corr_names = sorted({c.a for c in corr} | {c.b for c in corr})
        self.corr_matrix = correlation_matrix(self.corr_names, corr) if corr else None
        self._block = lru_cache(maxsize=4)(self._make_block)

    def _block_range(self, b: int) -> tuple[int, int]:
        return b * BLOCK, min((b + 1) * BLOCK, self.draws)

    def _make_block(self, b: int) -> np.ndarray:
        start, stop = self._block_range(b)
        n = stop - start
        k = len(self.names)
        u = np.empty((k, n)).T  # (n, k) with each input's column contiguous
        if self.design == "sobol" and k:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # balance warning for non-2^m n
                eng = qmc.Sobol(d=k, scramble=True,
                                rng=np.random.default_rng(np.random.SeedSequence(
                                    self.seed, spawn_key=(0x50B01,))))
                if start:
                    eng.fast_forward(start)
                u[:] = eng.random(n)
        else:
            for j, name in enumerate(self.names):
                rng = np.random.default_rng(
                    np.random.SeedSequence(self.seed, spawn_key=(name_key(name), b)))
                if self.design == "lhs":
                    u[:, j] = (rng.permutation(n) + rng.random(n)) / n
                else:
                    u[:, j] = rng.random(n)
        if self.corr_matrix is not None and n > 1:
            idx = [self.names.index(c) for c in self.corr_names]
            rng = np.random.default_rng(np.random.SeedSequence(self.seed,
                                                               spawn_key=(0x1C0B, b)))
            u[:, idx] = iman_conover(u[:, idx], self.corr_matrix, rng)
        return u

    def uniforms(self, start: int, stop: int) -> np.ndarray:
        """Uniforms for draws ``start..stop-1``, shape (stop - start, n_variables)."""
        if not 0 <= start <= stop <= self.draws:
            raise ValueError(f"draw range {start}..{stop} outside 0..{self.draws}")
        first, last = start // BLOCK, max((stop - 1) // BLOCK, start // BLOCK)
        parts = [self._block(b) for b in range(first, last + 1)]
        cat = parts[0] if len(parts) == 1 else np.concatenate(parts)
        off = start - first * BLOCK
        return cat[off: off + (stop - start)]


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


def inputs_from_uniforms(scenario: Scenario, u: np.ndarray, names: list[str],
                         calibrated: dict | None = None) -> dict:
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
        elif p.form == "calibrated":
            paths = calibrated[name]
            idx = np.minimum((u_of(name) * paths.shape[0]).astype(np.int64), paths.shape[0] - 1)
            out[name] = paths[idx]
    return out


def sample_inputs(scenario: Scenario, design: Design, start: int, stop: int,
                  calibrated: dict | None = None) -> dict:
    """Every parameter's values for draws ``start..stop-1`` of ``design`` (see
    :func:`inputs_from_uniforms`)."""
    return inputs_from_uniforms(scenario, design.uniforms(start, stop), design.names, calibrated)


def scalar_dist(p: Parameter) -> Distribution | None:
    """The distribution of a scalar parameter (None for series and switches)."""
    return p.dist if p.form == "scalar" else None
