"""Value of information: EVPI and EVPPI of each uncertain input and of groups of inputs.

The decision
------------
``decision="invest"``: two options, *invest* (net benefit = the output, e.g. NPV [USD]) and
*don't* (net benefit 0); the rule without further information is "invest if the expected output
is above 0". For a model that is not a programme the same rule reads "act on the sign of the
output's expectation" (the industry gap: the output is the gap; a user model: its metric).
``decision="overlays"``: the options are the file's base and each of its overlays (``scenarios:``),
simulated with common random numbers (same seed, same draws of the same input names); the rule is
"choose the option with the largest expected output".

With net benefits ``NB_k`` of options ``k`` [the output's unit]:

* EVPI = E[max_k NB_k] - max_k E[NB_k] (the most a decision maker should pay to learn every
  input before choosing);
* EVPPI(θ) = E_θ[max_k E[NB_k | θ]] - max_k E[NB_k] (to learn the inputs θ only).

Estimator
---------
One ordinary Monte Carlo run; E[NB_k | θ] is estimated by the single-loop nonparametric
regression of Strong, Oakley & Brennan (2014): regress each option's net benefit, draw by draw,
on θ and average the maximum of the fitted values over the draws. The regression here is a
least-squares cubic regression spline (in place of their penalised GAM) on the *ranks* of each
input (so the knots sit at quantiles and the fit is invariant to monotone transforms of an input):
``KNOTS`` interior knots, ``KNOTS + 3`` basis functions per input. For a group of inputs the
basis is the sum of the inputs' bases (an additive model, the GAM's default form) plus, for a
group of at most ``INTERACTIONS_UP_TO`` inputs, the product of the centred ranks of every pair
(bilinear interactions: a revenue that is price x utilisation).

Bias. (1) The fitted values carry estimation noise of variance about σ² p / n (p basis columns,
σ² the residual variance); the maximum is convex, so this biases EVPPI *upwards* where the fitted
value of an option crosses another's (Strong et al. 2014, §3); with ``n`` = 20,000 and p ≤ 10 per
input it is below 2 % of σ for a single input. Where the options never cross, the OLS fit's mean
equals the sample mean and an irrelevant input's EVPPI is exactly 0. (2) A group's regression
(additive splines and pairwise rank products) misses the interactions it does not span (of three
or more inputs; a pair's that is not bilinear in ranks): its EVPPI is then biased *downwards*
(none for an additive output such as a sum of cash flows; EVPI itself is computed directly,
without regression). On y = x1 x2 with normal inputs the pair's EVPPI is 0.348 ± 0.005 against
its true 0.338 (the additive splines alone: 0.288). (3) A spline with ``KNOTS`` knots cannot follow
an E[NB | θ] with sharper features than its knot spacing (downwards).

By-year inputs (series, processes, calibrated paths; ``res.inputs[name]`` of shape (n, T)) are
represented by their path's mean over the years, per draw: for a path that moves together it is a
monotone function of the draw's position, so the rank regression loses nothing; for a process or
independent years it summarises the path (the EVPPI of "the path's level").

Standard errors: the nonparametric (pairs) bootstrap over draws (Efron & Tibshirani 1993):
resample the draws with replacement, refit the regression on the resample (weighted least squares
with the resampling counts as weights, linearised: one solve with the full sample's X'X, exact to
first order in the weights, the weighted mean kept exact), recompute the estimate; ``resamples``
times (default 200), all resamples at once (matrix products, no loop over resamples). The error
is that of the Monte Carlo run and of the regression; the bias above is not in it.

References
----------
Strong M., Oakley J. E., Brennan A. (2014). Estimating multiparameter partial expected value of
perfect information from a probabilistic sensitivity analysis sample: a nonparametric regression
approach. *Medical Decision Making* 34(3):311-326. doi:10.1177/0272989X13505910.
Strong M., Oakley J. E. (2013). An efficient method for computing single-parameter partial
expected value of perfect information. *Medical Decision Making* 33(6):755-766.
Efron B., Tibshirani R. J. (1993). *An Introduction to the Bootstrap*. Chapman & Hall.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.interpolate import BSpline
from scipy.stats import rankdata

from ..core.errors import AssumptionError, Problem
from ..core.scenario import Scenario
from ..engine.simulate import simulate
from ..loading.scenario import load_scenario
from .sensitivity import _check_output, output_units
from .sensitivity.analyze import CATEGORY_ORDER

DECISIONS = ("invest", "overlays")
DEFAULT_DRAWS = 20_000
DEFAULT_RESAMPLES = 200
#: interior knots of each input's cubic regression spline (at quantiles 1/6 ... 5/6)
KNOTS = 5
DEGREE = 3
#: a group of at most this many inputs adds the products of their ranks, pair by pair
INTERACTIONS_UP_TO = 20


@dataclass
class VOIResult:
    """EVPI and EVPPI of one output and decision.

    Attributes
    ----------
    output, unit : str
        The output analysed and its canonical unit: every value below is in it [unit].
    decision : str
        ``invest`` or ``overlays``; ``options`` names the options compared.
    evpi : dict
        ``{"value", "se"}`` [unit].
    evppi : list of dict
        One row per uncertain input, largest first: ``input``, ``category``, ``provenance``,
        ``value``, ``se`` [unit].
    groups : list of dict
        ``group``, ``kind`` (``category`` | ``provenance``), ``inputs``, ``value``, ``se`` [unit].
    """

    scenario: str
    output: str
    unit: str
    decision: str
    options: list
    draws: int
    seed: int
    design: str
    resamples: int
    expected: dict
    evpi: dict
    evppi: list
    groups: list
    notes: list = field(default_factory=list)

    @property
    def best_option(self) -> str:
        """The option chosen without further information (largest expected net benefit)."""
        return max(self.expected, key=self.expected.get)

    def to_json_dict(self) -> dict:
        """The ``capex voi --json`` object (without ``schema_version`` and ``warnings``)."""
        return {
            "scenario": self.scenario,
            "output": self.output,
            "unit": self.unit,
            "decision": self.decision,
            "options": list(self.options),
            "expected": dict(self.expected),
            "best_option": self.best_option,
            "draws": self.draws,
            "seed": self.seed,
            "design": self.design,
            "resamples": self.resamples,
            "method": "regression spline on ranks (Strong, Oakley & Brennan 2014); "
            "additive for groups; pairs bootstrap standard errors",
            "evpi": dict(self.evpi),
            "evppi": [dict(r) for r in self.evppi],
            "groups": [dict(g) for g in self.groups],
            "notes": list(self.notes),
        }


# ============================================================================ the estimator
def spline_basis(x: np.ndarray, knots: int = KNOTS) -> np.ndarray:
    """Cubic B-spline basis (n, knots + 3) of the ranks of ``x``, without its first column (the
    intercept of the regression spans it: B-splines sum to one)."""
    u = (rankdata(x) - 0.5) / x.size
    t = np.r_[np.zeros(DEGREE + 1), np.arange(1, knots + 1) / (knots + 1), np.ones(DEGREE + 1)]
    b = BSpline.design_matrix(u, t, DEGREE).toarray()
    return b[:, 1:]


def pairwise(ranks: dict[str, np.ndarray], names: list[str]) -> np.ndarray:
    """Products of the centred ranks of every pair of ``names`` (n, pairs): the bilinear
    interactions a group's regression adds to its inputs' additive splines."""
    i, j = np.triu_indices(len(names), k=1)
    u = np.column_stack([ranks[nm] for nm in names])
    return u[:, i] * u[:, j]


def resample_counts(n: int, resamples: int, seed: int) -> np.ndarray:
    """Bootstrap counts (resamples, n): how often each draw is in each resample."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x701]))
    idx = rng.integers(0, n, size=(resamples, n)) + (np.arange(resamples) * n)[:, None]
    return np.bincount(idx.ravel(), minlength=resamples * n).reshape(resamples, n).astype(float)


def evppi(x: np.ndarray, nb: np.ndarray, counts: np.ndarray | None) -> dict:
    """EVPPI of the inputs behind design matrix ``x`` (n, p) for net benefits ``nb`` (n, K)
    [unit], with its bootstrap error over ``counts`` (resamples, n); ``{"value", "se"}``.

    The fit is ordinary least squares (normal equations, minimum-norm solution where the basis is
    rank-deficient, e.g. an input with few distinct values). A resample's weighted fit is taken to
    first order, beta_w = beta + (X'X)^-1 X' diag(w - 1) e (e: the residuals), which is exact for
    the fitted values' linear part and avoids refitting ``resamples`` times."""
    n = x.shape[0]
    gram_inv = np.linalg.pinv(x.T @ x, hermitian=True)
    beta = gram_inv @ (x.T @ nb)  # (p, K)
    fitted = x @ beta
    value = float(fitted.max(axis=1).mean() - nb.mean(axis=0).max())
    value = 0.0 if value < 1e-12 * float(np.abs(nb).max()) else value  # round-off of a zero
    if counts is None or len(counts) < 2:
        return {"value": value, "se": float("nan")}
    e = nb - fitted
    d = counts - 1.0
    best = None
    for k in range(nb.shape[1]):
        if not np.any(e[:, k]):
            fk = np.broadcast_to(fitted[:, k], counts.shape)
        else:
            dbeta = ((d * e[:, k]) @ x) @ gram_inv  # (B, p)
            fk = fitted[:, k] + dbeta @ x.T  # (B, n)
            # the weighted fit's intercept keeps its weighted mean on the data's (exactly, not
            # only to first order): shift each resample's fit by the difference
            fk += ((counts @ nb[:, k]) - (counts * fk).sum(axis=1))[:, None] / counts.sum(axis=1)[
                :, None
            ]
        best = fk if best is None else np.maximum(best, fk)
    boot = (counts * best).sum(axis=1) / n - (counts @ nb / n).max(axis=1)
    return {"value": value, "se": float(np.std(boot, ddof=1))}


def evpi(nb: np.ndarray, counts: np.ndarray | None) -> dict:
    """E[max_k NB_k] - max_k E[NB_k] [unit] and its bootstrap error; ``{"value", "se"}``."""
    value = float(nb.max(axis=1).mean() - nb.mean(axis=0).max())
    value = 0.0 if value < 1e-12 * float(np.abs(nb).max()) else value  # round-off of a zero
    if counts is None or len(counts) < 2:
        return {"value": value, "se": float("nan")}
    n = nb.shape[0]
    boot = counts @ nb.max(axis=1) / n - (counts @ nb / n).max(axis=1)
    return {"value": value, "se": float(np.std(boot, ddof=1))}


def voi_from_draws(
    nb: np.ndarray,
    inputs: dict[str, np.ndarray],
    groups: dict[str, list[str]] | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    knots: int = KNOTS,
) -> tuple[dict, dict, dict]:
    """EVPI, EVPPI of each input and of each group, from draws.

    Parameters
    ----------
    nb : ndarray (n, K)
        Net benefit of each option in each draw [unit]; (n,) is the decision "act if the mean is
        above 0" (options: the value, and 0).
    inputs : dict
        Input name -> its per-draw values (n,).
    groups : dict, optional
        Group name -> the names of its inputs (an additive regression on them).
    resamples, seed : bootstrap resamples of the errors (0: none) and their seed.
    knots : interior knots of each input's spline.

    Returns
    -------
    (evpi, evppi, groups) : dict, dict name -> dict, dict name -> dict
        Each ``{"value", "se"}`` [unit].
    """
    nb = np.asarray(nb, dtype=float)
    if nb.ndim == 1:
        nb = np.column_stack([nb, np.zeros_like(nb)])
    scale = float(np.abs(nb).max()) or 1.0  # the maximum is positive-homogeneous
    z = nb / scale
    n = z.shape[0]
    counts = resample_counts(n, resamples, seed) if resamples > 1 else None
    varies = [nm for nm, v in inputs.items() if np.ptp(v) > 0]
    bases = {nm: spline_basis(inputs[nm], knots) for nm in varies}
    ranks = {nm: (rankdata(inputs[nm]) - 0.5) / n - 0.5 for nm in varies}

    def one(names):
        names = [nm for nm in names if nm in bases]
        if not names:
            return {"value": 0.0, "se": 0.0}
        cols = [bases[nm] for nm in names]
        if 1 < len(names) <= INTERACTIONS_UP_TO:
            cols += [pairwise(ranks, names)]
        return _scaled(evppi(np.hstack([np.ones((n, 1)), *cols]), z, counts), scale)

    per_input = {nm: one([nm]) for nm in inputs}
    per_group = {g: one(names) for g, names in (groups or {}).items()}
    return _scaled(evpi(z, counts), scale), per_input, per_group


def _scaled(d: dict, scale: float) -> dict:
    """An estimate on the scale of the data; an error of round-off size (a zero) is 0."""
    se = d["se"] if not d["se"] < 1e-12 else 0.0
    return {"value": d["value"] * scale, "se": se * scale}


# ============================================================================ from a file
@dataclass(frozen=True)
class _Input:
    name: str
    category: str
    provenance: str
    values: np.ndarray


def uncertain_inputs(scenario: Scenario, res) -> list[_Input]:
    """The run's uncertain inputs as one number per draw (a by-year input: its path's mean)."""
    out = []
    for name in sorted(res.inputs):
        p = scenario.parameters.get(name)
        if p is None or not p.is_uncertain:
            continue
        v = np.asarray(res.inputs[name], dtype=float)
        v = v.reshape(v.shape[0], -1).mean(axis=1)
        if not np.all(np.isfinite(v)) or np.ptp(v) == 0:
            continue
        hyp = p.provenance is not None and p.provenance.is_hypothetical
        out.append(_Input(name, p.category, "hypothetical" if hyp else "sourced", v))
    return out


def input_groups(infos: list[_Input]) -> dict[str, tuple[str, list[str]]]:
    """Group label -> (kind, inputs): each category (in the usual order), then each provenance."""
    cats = [c for c in CATEGORY_ORDER if any(i.category == c for i in infos)]
    cats += sorted({i.category for i in infos} - set(cats))
    out = {c: ("category", [i.name for i in infos if i.category == c]) for c in cats}
    for prov in ("hypothetical", "sourced"):
        names = [i.name for i in infos if i.provenance == prov]
        if names:
            out[prov] = ("provenance", names)
    return out


def _runs(path, scenario, decision, draws, seed, design, progress, scheduler=None):
    """(option -> Results, the scenario whose inputs describe the draws)."""
    kw = dict(progress=progress, scheduler=scheduler)
    if isinstance(path, Scenario):
        if decision == "overlays":
            path = path.path
        else:
            return {"invest": simulate(path, draws, seed, design, **kw)}, path
    base = load_scenario(path, scenario=scenario if decision == "invest" else None)
    if decision == "invest":
        return {"invest": simulate(base, draws, seed, design, **kw)}, base
    if not base.overlays:
        raise AssumptionError(
            Problem(
                f"{path} has no overlays (scenarios:) to choose between; use --decision invest",
                parameter="--decision",
            )
        )
    runs = {"base": simulate(base, draws, seed, design, **kw)}
    for name in base.overlays:
        sc = load_scenario(path, scenario=name)
        runs[name] = simulate(sc, draws, seed, design, scheduler=scheduler)
    return runs, base


def _check(decision, draws, resamples) -> None:
    problems = []
    if decision not in DECISIONS:
        problems.append(
            Problem(f"decision {decision!r}: use one of {', '.join(DECISIONS)}", "--decision")
        )
    if draws < 100:
        problems.append(Problem(f"--draws {draws} is too few; give at least 100", "--draws"))
    if resamples < 0:
        problems.append(
            Problem(f"--resamples {resamples} is negative; give 0 or more", "--resamples")
        )
    if problems:
        raise AssumptionError(*problems)


def voi(
    path,
    output: str | None = None,
    decision: str = "invest",
    scenario: str | None = None,
    draws: int = DEFAULT_DRAWS,
    seed: int = 0,
    design: str = "mc",
    resamples: int = DEFAULT_RESAMPLES,
    progress: bool = False,
    scheduler=None,
) -> VOIResult:
    """EVPI and EVPPI (each input, each category, hypothetical vs sourced) of a file's decision.

    Parameters
    ----------
    path : str, pathlib.Path or Scenario
        The assumption file (``decision="overlays"`` needs its overlays).
    output : str, optional
        The net benefit [its unit] (default npv; industry: revenue_gap_final; a user model: its
        first metric).
    decision : {"invest", "overlays"}
        "act if the expected output is above 0", or "choose the overlay (or base) of largest
        expected output" (common random numbers).
    scenario : str, optional
        ``decision="invest"``: the overlay to apply first.
    draws, seed, design : the Monte Carlo run (one per option).
    resamples : int
        Bootstrap resamples of the standard errors (0: none).
    scheduler : str or distributed.Client, optional
        Where the runs' draws run (:mod:`model.engine.schedulers`; never changes a number).

    Returns
    -------
    VOIResult
        Every value in the output's unit; see :mod:`model.analysis.voi` for the estimator.
    """
    _check(decision, draws, resamples)
    runs, base = _runs(path, scenario, decision, draws, seed, design, progress, scheduler)
    output = _check_output(base, output)
    nb = np.column_stack([r.metric(output) for r in runs.values()])
    options = list(runs) if decision == "overlays" else ["invest", "don't"]
    if decision == "invest":
        nb = np.column_stack([nb[:, 0], np.zeros(nb.shape[0])])
    keep = np.all(np.isfinite(nb), axis=1)
    notes = []
    if not keep.all():
        notes.append(
            f"{int((~keep).sum()):,} draws where {output} is undefined are left out "
            "(the analysis is conditional on a defined output)"
        )
    infos = _infos(runs, base)
    if not infos:
        raise AssumptionError(
            Problem(
                f"{base.name} has no uncertain input: there is nothing to learn; give the inputs "
                "you are unsure of a distribution",
                "--output",
            )
        )
    groups = input_groups(infos)
    e, per_input, per_group = voi_from_draws(
        nb[keep],
        {i.name: i.values[keep] for i in infos},
        {g: names for g, (_, names) in groups.items()},
        resamples,
        seed,
    )
    return VOIResult(
        scenario=base.name,
        output=output,
        unit=output_units(base).get(output, ""),
        decision=decision,
        options=options,
        draws=int(keep.sum()),
        seed=seed,
        design=design,
        resamples=resamples,
        expected=dict(zip(options, map(float, nb[keep].mean(axis=0)), strict=True)),
        evpi=e,
        evppi=_input_rows(infos, per_input),
        groups=[
            {"group": g, "kind": kind, "inputs": names, **per_group[g]}
            for g, (kind, names) in groups.items()
        ],
        notes=notes + _decision_notes(e, per_input),
    )


def _decision_notes(e: dict, per_input: dict) -> list[str]:
    if e["value"] > 0 and all(r["value"] == 0 for r in per_input.values()):
        return [
            "no single input, learnt alone, would change the decision (its EVPPI is 0): only "
            "learning several together could (the groups, the EVPI)"
        ]
    return []


def _infos(runs: dict, base: Scenario) -> list[_Input]:
    """The inputs of the base run (with common random numbers an overlay's draws of the same
    input are a monotone transform of them: the rank regression is the same)."""
    return uncertain_inputs(base, next(iter(runs.values())))


def _input_rows(infos: list[_Input], per_input: dict) -> list[dict]:
    rows = [
        {"input": i.name, "category": i.category, "provenance": i.provenance, **per_input[i.name]}
        for i in infos
    ]
    return sorted(rows, key=lambda r: (-r["value"], r["input"]))
