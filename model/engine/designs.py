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

Designs: ``mc`` (plain Monte Carlo), ``lhs`` (Latin hypercube) and ``sobol`` (scrambled Sobol'
points, inputs ordered by name). The two quasi-random designs are built as R independent
randomized *replicates* of equal size (:func:`replicate_count`; draw ``i`` belongs to
replicate ``floor(i R / n)``): each replicate is a Latin hypercube (or an Owen-scrambled Sobol'
sequence) of its own, seeded by ``(seed, name or 0x50B01, replicate)``. Their Monte Carlo
errors come from the spread between replicates (:mod:`model.core.statistics`): the plain
formula would be ~10x too loose for means.

Dependence between inputs is a Gaussian copula over per-input normal scores
(:func:`gaussian_copula`): every input keeps its own independent stream, and a correlated group
is mixed by the symmetric square root of its normal-score correlation matrix. So an input
shared by two files gets the same draws when its marginal and dependence are the same in both,
and draws that agree as closely as the two structures allow where they differ (the symmetric
root is the linear map closest to the identity, Mahalanobis whitening's inverse).

References
----------
.. [1] McKay, M. D., Beckman, R. J. & Conover, W. J. (1979). A comparison of three methods for
   selecting values of input variables in the analysis of output from a computer code.
   *Technometrics*, 21(2), 239-245.
.. [2] Owen, A. B. (1998). Scrambling Sobol' and Niederreiter-Xing points. *Journal of
   Complexity*, 14(4), 466-489.
.. [3] Owen, A. B. (2013). *Monte Carlo theory, methods and examples*, ch. 17 (independent
   replicates of randomized quasi-Monte Carlo).
.. [4] Kessy, A., Lewin, A. & Strimmer, K. (2018). Optimal whitening and decorrelation. *The
   American Statistician*, 72(4), 309-314 (the symmetric square root is the transform that
   changes the variables least).
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from ..core.scenario import InputForm, Scenario, correlation_matrix
from .correlation import gaussian_copula, mixing_matrix

#: Draws per block of the design (a constant of the method: changing it changes the numbers).
BLOCK = 8192
DESIGNS = ("mc", "lhs", "sobol")
#: Replicates of a quasi-random design (more for very large runs: see replicate_count).
REPLICATES = 16
#: Largest replicate of a quasi-random design [draws]: bounds the memory a replicate takes.
MAX_REPLICATE = 65_536


def correlated_groups(names: list[str], correlations) -> list[list[str]]:
    """The connected groups of inputs that correlations link (each sorted, by first name)."""
    parent = {nm: nm for nm in names}

    def root(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for c in correlations:
        parent[root(c.a)] = root(c.b)
    groups: dict[str, list[str]] = {}
    for nm in names:
        groups.setdefault(root(nm), []).append(nm)
    return sorted((sorted(g) for g in groups.values()), key=lambda g: g[0])


def replicate_count(draws: int, design: str) -> int:
    """Independent replicates of a design of ``draws`` draws: 1 for ``mc``; for ``lhs`` and
    ``sobol`` 16, or more so that no replicate exceeds 65,536 draws, and at most ``draws // 2``
    (a replicate needs two draws)."""
    if design == "mc":
        return 1
    return int(max(1, min(max(REPLICATES, -(-draws // MAX_REPLICATE)), draws // 2)))


def replicate_of(draws: int, replicates: int, start: int = 0, stop: int | None = None):
    """The replicate of every draw ``start..stop-1`` (int array): ``floor(i R / n)``."""
    stop = draws if stop is None else stop
    return (np.arange(start, stop, dtype=np.int64) * replicates) // max(draws, 1)


def _replicate_range(draws: int, replicates: int, r: int) -> tuple[int, int]:
    """First and one-past-last draw of replicate ``r`` (the inverse of replicate_of)."""
    return -(-r * draws // replicates), -(-(r + 1) * draws // replicates)


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
    """The design's columns, sorted by name (so the order never depends on file order).

    A process has one column per uncertain process parameter (``name.mean``) and one per year
    for its innovations (``name[2027]``; GBM from the second year, its first is the start); a
    shock one for the year it strikes (``name.shock``) and one per uncertain part
    (``name.shock.probability``, ``name.shock.size``)."""
    out = []
    for p in scenario.parameters.values():
        if not p.is_uncertain:
            continue
        if p.form == InputForm.PROCESS:
            out.extend(_process_variables(p, scenario.years))
        elif p.form == InputForm.SERIES and p.years_move == "independent":
            out.extend(
                InputVariable(f"{p.name}[{y}]", p.name, y) for y, d in p.points if not d.is_fixed
            )
        elif p.form != InputForm.SERIES or any(not d.is_fixed for _, d in p.points):
            out.append(InputVariable(p.name, p.name))
        if p.shock is not None:
            out.append(InputVariable(f"{p.name}.shock", p.name))
            out.extend(InputVariable(f"{p.name}.shock.{k}", p.name) for k in p.shock.uncertain())
    return sorted(out, key=lambda v: v.name)


def _process_variables(p, years) -> list[InputVariable]:
    first = 1 if p.process.kind == "gbm" else 0  # a GBM's first year is its start
    out = [InputVariable(f"{p.name}.{k}", p.name) for k in p.process.uncertain()]
    out += [InputVariable(f"{p.name}[{int(y)}]", p.name, int(y)) for y in years[first:]]
    return out


def design_correlations(scenario: Scenario) -> list:
    """The declared correlations on design columns. Between two processes: their innovations
    year by year (``a[2027]`` with ``b[2027]`` for every year both have). Between a process and
    another input: that input with the process's level, i.e. its uncertain ``start``, else its
    first innovation (an AR(1)'s stationary first year). Others as declared."""
    out = []
    for c in scenario.correlations:
        pa, pb = scenario.parameters.get(c.a), scenario.parameters.get(c.b)
        if pa is None or pb is None or InputForm.PROCESS not in (pa.form, pb.form):
            out.append(c)
        elif pa.form == pb.form:
            cols_a = {v.year: v.name for v in _process_variables(pa, scenario.years) if v.year}
            cols_b = {v.year: v.name for v in _process_variables(pb, scenario.years) if v.year}
            common = sorted(set(cols_a) & set(cols_b))
            out += [replace(c, a=cols_a[y], b=cols_b[y]) for y in common]
        else:
            a = _level_column(pa, scenario.years) if pa.form == InputForm.PROCESS else c.a
            b = _level_column(pb, scenario.years) if pb.form == InputForm.PROCESS else c.b
            out.append(replace(c, a=a, b=b))
    return out


def _level_column(p, years) -> str:
    """The design column that sets a process's level: its start, or its first innovation."""
    start = p.process.params.get("start")
    if start is not None and not start.is_fixed:
        return f"{p.name}.start"
    first = 1 if p.process.kind == "gbm" else 0
    return f"{p.name}[{int(years[first])}]"


@dataclass(frozen=True)
class Streams:
    """How one member of a portfolio keys its random streams.

    A *shared* input keeps its own name as stream key, so every member that has it draws the
    same uniforms; any other input is keyed ``member:name``, so two members' own inputs are
    independent even when they have the same name. ``correlations`` are the portfolio's
    dependence on stream keys (every member's own correlations, prefixed, and those declared
    between members); a member's design mixes a correlated group that reaches into other
    members with their columns too, generated from the same keys, so the mixed values agree.

    Parameters
    ----------
    member : str
        The member's name in the portfolio.
    shared : frozenset of str
        Parameters drawn once per draw for every member.
    correlations : tuple of Correlation
        On stream keys, for the whole portfolio.
    universe : tuple of str
        Every stream key of the portfolio, sorted: the column order of a joint Sobol' design.
    """

    member: str
    shared: frozenset = frozenset()
    correlations: tuple = ()
    universe: tuple = ()

    def key(self, variable: InputVariable) -> str:
        """The stream key of a design column."""
        if variable.parameter in self.shared:
            return variable.name
        return f"{self.member}:{variable.name}"


def member_correlations(scenario: Scenario, streams: Streams) -> list:
    """A member's own design correlations with both columns renamed to their stream keys."""
    keys = {v.name: streams.key(v) for v in input_variables(scenario)}
    return [
        replace(c, a=keys.get(c.a, c.a), b=keys.get(c.b, c.b))
        for c in design_correlations(scenario)
    ]


def _sobol_points(d: int, m: int, seed: int, r: int) -> np.ndarray:
    """``m`` points of replicate ``r`` of an Owen-scrambled Sobol' sequence in ``d`` dimensions."""
    from scipy.stats import qmc  # deferred: scipy.stats is slow to import

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # balance warning for non-2^m m
        eng = qmc.Sobol(
            d=d,
            scramble=True,
            rng=np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0x50B01, r))),
        )
        return eng.random(m)


class Design:
    """Uniform draws for every uncertain input of a scenario, by block, deterministic.

    Parameters
    ----------
    scenario : Scenario
    draws : int
        Total number of draws (fixes the block layout).
    seed : int
    design : {"mc", "lhs", "sobol"}
    streams : Streams, optional
        A portfolio member's stream keys (:class:`Streams`); by default every column's stream
        is keyed by its own name.
    """

    def __init__(
        self,
        scenario: Scenario,
        draws: int,
        seed: int,
        design: str = "mc",
        streams: Streams | None = None,
    ):
        if design not in DESIGNS:
            raise ValueError(f"design {design!r} unknown; use one of {', '.join(DESIGNS)}")
        self.scenario = scenario
        self.draws = int(draws)
        self.seed = int(seed)
        self.design = design
        self.streams = streams
        self.variables = input_variables(scenario)
        self.names = [v.name for v in self.variables]
        if streams is None:
            self.keys = list(self.names)
            corr = design_correlations(scenario)
        else:
            self.keys = [streams.key(v) for v in self.variables]
            corr = list(streams.correlations)
        self._set_mixing(corr)
        self.replicates = replicate_count(self.draws, design)
        self._block = lru_cache(maxsize=4)(self._make_block)
        self._replicate = lru_cache(maxsize=2)(self._make_replicate)

    def _set_mixing(self, corr: list) -> None:
        """The correlated groups this design mixes, over its own columns and, for a portfolio
        member, the other members' columns its groups reach (``self.columns`` lists them all:
        own first, then foreign)."""
        groups = correlated_groups(sorted({c.a for c in corr} | {c.b for c in corr}), corr)
        own = set(self.keys)
        groups = [g for g in groups if own.intersection(g)]
        foreign = sorted({k for g in groups for k in g} - own)
        self.columns = self.keys + foreign
        self.corr_names = sorted({k for g in groups for k in g})
        kept = [c for c in corr if c.a in self.corr_names]
        self.corr_matrix = correlation_matrix(self.corr_names, kept) if kept else None
        # one mixing matrix per group of inputs linked by correlations, so a group's draws do
        # not depend on correlations declared elsewhere in the file (not even in rounding)
        self.mixing = [
            (
                [self.columns.index(nm) for nm in group],
                mixing_matrix(correlation_matrix(group, [c for c in kept if c.a in group])),
            )
            for group in groups
        ]

    def _block_range(self, b: int) -> tuple[int, int]:
        return b * BLOCK, min((b + 1) * BLOCK, self.draws)

    def _make_block(self, b: int) -> np.ndarray:
        start, stop = self._block_range(b)
        n = stop - start
        k = len(self.columns)
        u = np.empty((k, n)).T  # (n, k) with each input's column contiguous
        if self.design == "mc" or not k:
            for j, key in enumerate(self.columns):
                rng = np.random.default_rng(
                    np.random.SeedSequence(self.seed, spawn_key=(name_key(key), b))
                )
                u[:, j] = rng.random(n)
        else:
            self._fill_from_replicates(u, start, stop)
        for idx, mixing in self.mixing:
            u[:, idx] = gaussian_copula(u[:, idx], mixing)
        return u

    def _fill_from_replicates(self, u: np.ndarray, start: int, stop: int) -> None:
        """Rows ``start..stop-1`` of a quasi-random design, from the replicates they fall in."""
        reps = replicate_of(self.draws, self.replicates, start, stop)
        for r in range(int(reps[0]), int(reps[-1]) + 1):
            r0, r1 = _replicate_range(self.draws, self.replicates, r)
            lo, hi = max(start, r0), min(stop, r1)
            u[lo - start : hi - start] = self._replicate(r)[lo - r0 : hi - r0]

    def _make_replicate(self, r: int) -> np.ndarray:
        """Replicate ``r`` of a quasi-random design, (m, k): an independent Latin hypercube
        (each input's strata permuted by its own stream) or Owen-scrambled Sobol' sequence
        (for a portfolio member, the portfolio's joint sequence over every stream key, of which
        the member takes its columns)."""
        r0, r1 = _replicate_range(self.draws, self.replicates, r)
        m = r1 - r0
        if self.design == "sobol":
            universe = list(self.streams.universe) if self.streams else self.columns
            points = _sobol_points(len(universe), m, self.seed, r)
            if self.streams is None:
                return points
            where = {key: j for j, key in enumerate(universe)}
            return points[:, [where[key] for key in self.columns]]
        u = np.empty((len(self.columns), m)).T
        for j, key in enumerate(self.columns):
            rng = np.random.default_rng(
                np.random.SeedSequence(self.seed, spawn_key=(name_key(key), 0x1A5, r))
            )
            u[:, j] = (rng.permutation(m) + rng.random(m)) / m
        return u

    def replicate_ids(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """The replicate of draws ``start..stop-1`` (all 0 for ``mc``)."""
        return replicate_of(self.draws, self.replicates, start, stop)

    def uniforms(self, start: int, stop: int) -> np.ndarray:
        """Uniforms for draws ``start..stop-1``, shape (stop - start, n_variables) (a
        portfolio member's foreign columns, used only for mixing, are left out)."""
        if not 0 <= start <= stop <= self.draws:
            raise ValueError(f"draw range {start}..{stop} outside 0..{self.draws}")
        first, last = start // BLOCK, max((stop - 1) // BLOCK, start // BLOCK)
        parts = [self._block(b) for b in range(first, last + 1)]
        cat = parts[0] if len(parts) == 1 else np.concatenate(parts)
        off = start - first * BLOCK
        return cat[off : off + (stop - start), : len(self.keys)]
