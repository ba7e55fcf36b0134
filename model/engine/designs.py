"""Sampling designs: uniforms in the unit hypercube for every uncertain input, by block.

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
power-of-two number of draws for its balance properties). Correlations are imposed on the
uniforms by :mod:`model.engine.correlation`.

References
----------
.. [1] McKay, M. D., Beckman, R. J. & Conover, W. J. (1979). A comparison of three methods for
   selecting values of input variables in the analysis of output from a computer code.
   *Technometrics*, 21(2), 239-245.
.. [2] Owen, A. B. (1998). Scrambling Sobol' and Niederreiter-Xing points. *Journal of
   Complexity*, 14(4), 466-489.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..core.scenario import InputForm, Scenario, correlation_matrix
from .correlation import iman_conover

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
        if p.form == InputForm.SERIES and p.years_move == "independent":
            out.extend(
                InputVariable(f"{p.name}[{y}]", p.name, y) for y, d in p.points if not d.is_fixed
            )
        else:
            out.append(InputVariable(p.name, p.name))
    return sorted(out, key=lambda v: v.name)


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
            from scipy.stats import qmc  # deferred: scipy.stats is slow to import

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # balance warning for non-2^m n
                eng = qmc.Sobol(
                    d=k,
                    scramble=True,
                    rng=np.random.default_rng(
                        np.random.SeedSequence(self.seed, spawn_key=(0x50B01,))
                    ),
                )
                if start:
                    eng.fast_forward(start)
                u[:] = eng.random(n)
        else:
            for j, name in enumerate(self.names):
                rng = np.random.default_rng(
                    np.random.SeedSequence(self.seed, spawn_key=(name_key(name), b))
                )
                if self.design == "lhs":
                    u[:, j] = (rng.permutation(n) + rng.random(n)) / n
                else:
                    u[:, j] = rng.random(n)
        if self.corr_matrix is not None and n > 1:
            idx = [self.names.index(c) for c in self.corr_names]
            rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(0x1C0B, b)))
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
        return cat[off : off + (stop - start)]
