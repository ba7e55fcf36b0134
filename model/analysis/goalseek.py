"""Goal seek: the value of one input at which a statistic of the Monte Carlo hits a target.

``goal_seek(scenario, "price_per_gpu_hour", "P(npv>0)=0.5")`` answers "at what GPU-hour price
is an NPV above zero a coin flip?". The input is **fixed** at a candidate value in every draw
(or, with ``shift=True``, its whole distribution is multiplied by a candidate factor), the
scenario is simulated, and the statistic is compared with the target; a bracketing root search
finds the value where the two meet.

Targets (:class:`GoalTarget`)
-----------------------------
``P(metric op value)=prob``
    a probability, e.g. ``P(npv>0)=0.5`` [share];
``metric:pNN=value``
    a quantile, ``npv:p50=0`` (any ``p01`` .. ``p99``) [the metric's unit];
``metric:mean=value``
    the mean, ``npv:mean=1B`` [the metric's unit].

Method
------
Every evaluation uses the same seed and the ``mc`` design, whose uniforms are drawn per input
*name*: the other inputs take the same values in every evaluation (common random numbers), so
for a model monotone in the input the statistic is monotone in the candidate value, without
Monte Carlo noise between evaluations. The search starts on the input's P0.1-P99.9 range (a
fixed input: half to twice its value; ``shift``: factors 0.5 to 2), kept inside its valid bounds,
and widens it (up to four times) until the statistic crosses the target; when it never does,
a located error says what the statistic does over the widest range.

The root search is the Illinois method [1]_ (regula falsi that halves the weight of an end kept
twice), which keeps the root bracketed: a mean or quantile of a continuous input is a smooth
function of the value, where it converges superlinearly (a linear model: in one or two steps); a
probability is a step function of the value (it moves by 1/draws as single draws cross the
threshold), where the bracket still shrinks on every step. It stops when the statistic is within
1/20 of its MCSE of the target (:data:`STAT_TOLERANCE`), when the bracket is a billionth of the
range searched (a jump of the step function straddles the target: the closer end is returned),
or after 60 steps.

The answer's **uncertainty** is the interval of values at which the statistic equals target ±
its Monte Carlo standard error (MCSE) at the answer: two more root searches on the same draws,
started from the evaluations already made.
It is the Monte Carlo uncertainty of the answer, not the uncertainty of the other inputs.

Forms
-----
``scalar`` inputs take the value itself [the input's unit], or with ``shift`` a factor [ratio]
on every draw (clipped to the input's valid bounds). ``series`` inputs are varied as a whole
path: the value is a factor [ratio] on the path, fixed at its median in every year (or, with
``shift``, on every year's distribution); the result gives the resulting median path. Processes,
calibrated series and switches cannot be varied (a located error).

References
----------
.. [1] Dowell, M. and Jarratt, P. (1971). A modified regula falsi method for computing the root
   of an equation. *BIT* 11, 168-174.
"""

from __future__ import annotations

import hashlib
import math
import re
import warnings
from dataclasses import dataclass, field, replace

import numpy as np

from ..core.distributions import Distribution, fixed
from ..core.errors import AssumptionError, CapexWarning, Problem, did_you_mean
from ..core.formatting import format_input, format_value
from ..core.provenance import Provenance
from ..core.statistics import sorted_quantiles
from ..core.targets import ProbabilityTarget, _metric_problem
from ..core.units import parse_amount
from ..core.vocabulary import OUTPUTS
from ..engine.simulate import simulate

_STAT = re.compile(r"^\s*(?P<metric>[a-z_][a-z0-9_]*)\s*:\s*(?P<stat>mean|p\d{2})\s*$")
_HOW = (
    "write P(METRIC OP VALUE)=PROBABILITY, METRIC:pNN=VALUE or METRIC:mean=VALUE, e.g. "
    '"P(npv>0)=0.5", "npv:p50=0" or "npv:mean=1B"'
)
#: widenings of the search range before giving up
WIDENINGS = 4
#: a root search stops when the statistic is this many MCSE from the target ...
STAT_TOLERANCE = 0.05
#: ... or its bracket is this share of the range searched (a jump of a step function) ...
X_TOLERANCE = 1e-9
#: ... or after this many steps
MAX_STEPS = 60


# ============================================================================ targets
@dataclass(frozen=True)
class GoalTarget:
    """What a goal seek aims at: a statistic of one metric and the value it should take.

    Attributes
    ----------
    statistic : str
        ``"probability"``, ``"mean"`` or ``"pNN"`` (``p01`` .. ``p99``).
    metric : str
    value : float
        [share] for a probability, else [the metric's unit].
    probability : ProbabilityTarget or None
        The event of a probability target.
    text : str
        As written.
    """

    statistic: str
    metric: str
    value: float
    probability: ProbabilityTarget | None = None
    text: str = ""

    @classmethod
    def parse(cls, text: str) -> GoalTarget:
        """From ``P(npv>0)=0.5``, ``npv:p50=0`` or ``npv:mean=1B``.

        Raises
        ------
        ValueError
            Saying what is wrong and how to write it.
        """
        raw = str(text).strip()
        head, sep, tail = raw.rpartition("=")
        if not sep or not head or head.endswith(("<", ">")):
            raise ValueError(f"--target {raw!r} is not a target; {_HOW}")
        try:
            value = parse_amount(tail.strip())
        except ValueError:
            raise ValueError(
                f"--target {raw!r}: {tail.strip()!r} is not a number; {_HOW}"
            ) from None
        if head.strip().startswith("P("):
            return cls._probability(raw, head.strip(), value)
        m = _STAT.match(head)
        if not m or m["stat"] == "p00":
            raise ValueError(f"--target {raw!r} names no statistic; {_HOW}")
        problem = _metric_problem(m["metric"], f"--target {raw!r}")
        if problem:
            raise ValueError(problem)
        return cls(m["stat"], m["metric"], value, None, raw)

    @classmethod
    def _probability(cls, raw: str, head: str, value: float) -> GoalTarget:
        try:
            event = ProbabilityTarget.parse(head)
        except ValueError as exc:
            raise ValueError(f"--target {raw!r}: {str(exc).replace('--prob ', '')}") from None
        if not 0.0 < value < 1.0:
            raise ValueError(
                f"--target {raw!r}: a probability target must be strictly between 0 and 1 "
                "(50 % is 0.5 or 50%)"
            )
        return cls("probability", event.metric, value, event, raw)

    @property
    def name(self) -> str:
        """The statistic as printed: ``P(npv>0)``, ``npv:p50``, ``npv:mean``."""
        if self.statistic == "probability":
            return f"P({self.probability.key})"
        return f"{self.metric}:{self.statistic}"

    @property
    def unit(self) -> str:
        """``share`` for a probability, else the metric's unit."""
        return "share" if self.statistic == "probability" else OUTPUTS[self.metric].unit

    def evaluate(self, results) -> tuple[float, float]:
        """The statistic and its MCSE in ``results`` (a Results) [:attr:`unit`]."""
        if self.metric not in results.metrics:
            metrics = sorted(results.metrics)
            raise AssumptionError(
                Problem(
                    f"{self.metric!r} is not a metric of this {results.scenario.model} run; "
                    "target one of " + ", ".join(metrics),
                    parameter="--target",
                )
            )
        if self.statistic == "probability":
            p = results.probability_of(self.probability)
            return p["value"], p["mcse"]
        s = results.metric_summary(self.metric)
        if self.statistic == "mean":
            return s["mean"], s["mcse"]
        if self.statistic in s["quantile_mcse"]:
            return s[self.statistic], s["quantile_mcse"][self.statistic]
        return _quantile(results, self.metric, int(self.statistic[1:]) / 100)


def _quantile(results, metric: str, q: float) -> tuple[float, float]:
    """Any quantile of a metric and its MCSE, the way the run summaries compute the five."""
    x = results.metric(metric)
    defined = np.isfinite(x)
    errors = results.errors
    if OUTPUTS[metric].never is not None:
        x = np.where(defined, x, np.inf)
    elif not defined.all():
        x, errors = x[defined], errors.subset(defined)
    s = np.sort(x)
    value = sorted_quantiles(s, [q])
    se = errors.quantile_se(x, s, [q], value)
    return float(value[0]), float(se[0])


# ============================================================================ shifted inputs
@dataclass(frozen=True)
class ScaledDistribution(Distribution):
    """``base`` with every draw multiplied by ``factor`` and clipped to ``[low, high]`` (the
    input's valid bounds): ``ppf(u) = clip(factor * base.ppf(u))``, so a draw keeps its uniform
    (common random numbers) and its rank."""

    base: Distribution | None = None
    factor: float = 1.0
    low: float = -math.inf
    high: float = math.inf

    def ppf(self, u):
        return np.clip(self.factor * self.base.ppf(u), self.low, self.high)

    @property
    def is_fixed(self) -> bool:
        return self.base.is_fixed

    def mean(self) -> float:
        if self.base.is_fixed:
            return float(self.ppf(np.asarray([0.5]))[0])
        return float(np.mean(self.ppf((np.arange(4096) + 0.5) / 4096)))

    def sd(self) -> float:
        return float(np.std(self.ppf((np.arange(4096) + 0.5) / 4096)))

    def cdf(self, x, truncated: bool = True):
        """P(clip(factor X) <= x): the base CDF at x / factor (mirrored for a negative factor),
        0 below the lower clip and 1 from the upper clip on."""
        x = np.asarray(x, dtype=float)
        if self.factor == 0:
            inner = np.where(x >= 0.0, 1.0, 0.0)
        elif self.factor > 0:
            inner = np.asarray(self.base.cdf(x / self.factor, truncated), dtype=float)
        else:
            inner = 1.0 - np.asarray(self.base.cdf(x / self.factor, truncated), dtype=float)
        return np.where(x < self.low, 0.0, np.where(x >= self.high, 1.0, inner))

    def describe(self, fmt=lambda x: f"{x:.4g}") -> str:
        return f"{self.base.describe(fmt)}, times {self.factor:.6g}"

    def __repr__(self) -> str:
        return f"{self.base!r} * {self.factor:.6g}"


def scaled(dist: Distribution, factor: float, low: float, high: float) -> Distribution:
    """``dist`` multiplied by ``factor`` (a fixed value stays a :func:`fixed` one)."""
    if dist.is_fixed:
        return fixed(float(np.clip(factor * dist.mean(), low, high)))
    return ScaledDistribution(dist.family, dist.params, dist.given, base=dist, factor=factor,
                              low=low, high=high)  # fmt: skip


# ============================================================================ the varied input
@dataclass(frozen=True)
class _Vary:
    """How a candidate value becomes a scenario: the input, the mode and the first range."""

    scenario: object
    name: str
    shift: bool

    @property
    def param(self):
        return self.scenario.parameters[self.name]

    @property
    def series(self) -> bool:
        return self.param.form == "series"

    @property
    def unit(self) -> str:
        return "ratio" if self.shift or self.series else self.param.spec.unit

    @property
    def mode(self) -> str:
        return "shift" if self.shift else "fixed"

    def bounds(self) -> tuple[float, float]:
        """The valid range of the candidate value."""
        spec = self.param.spec
        if not (self.shift or self.series):
            return _inset(spec.low, spec.high)
        return (0.0, math.inf)

    def first_range(self) -> tuple[float, float]:
        """Where the search starts [the candidate's unit]."""
        if self.shift:
            return 0.5, 2.0
        if self.series:
            ratios = [
                (d.quantile(0.001) / m, d.quantile(0.999) / m)
                for _, d in self.param.points
                if (m := d.quantile(0.5)) > 0
            ]
            if not ratios:
                return 0.5, 2.0
            lo, hi = min(r[0] for r in ratios), max(r[1] for r in ratios)
            return (lo, hi) if hi > lo else (0.5, 2.0)
        d = self.param.dist
        lo, hi = d.quantile(0.001), d.quantile(0.999)
        if hi <= lo:
            lo, hi = (0.5 * lo, 2.0 * lo) if lo > 0 else (lo - 1.0, lo + 1.0)
        b = self.bounds()
        return max(lo, b[0]), min(hi, b[1])

    def path(self, value: float) -> dict | None:
        """A series' median path at factor ``value``: year -> value [the input's unit]."""
        if not self.series:
            return None
        lo, hi = self.param.spec.low, self.param.spec.high
        return {
            int(y): float(np.clip(value * d.quantile(0.5), lo, hi)) for y, d in self.param.points
        }

    def scenario_at(self, value: float):
        """The scenario with the input at candidate ``value``."""
        p, spec = self.param, self.param.spec
        why = f"goal seek: {self.name} {self.mode} at {value:.9g}"
        if not self.series:
            if self.shift:
                dist = scaled(p.dist, value, spec.low, spec.high)
                return self.scenario.with_values(reason=why, **{self.name: dist})
            return self.scenario.with_values(reason=why, **{self.name: float(value)})
        points = tuple(
            (y, scaled(d, value, spec.low, spec.high) if self.shift
             else fixed(float(np.clip(value * d.quantile(0.5), spec.low, spec.high))))
            for y, d in p.points
        )  # fmt: skip
        new = replace(p, points=points, provenance=Provenance(hypothetical=why))
        params = {**self.scenario.parameters, self.name: new}
        keep = [
            c
            for c in self.scenario.correlations
            if params[c.a].is_uncertain and params[c.b].is_uncertain
        ]
        digest = hashlib.sha256(f"{self.scenario.input_hash}|{why}".encode()).hexdigest()
        return replace(self.scenario, parameters=params, correlations=keep, input_hash=digest)


def _inset(low: float, high: float) -> tuple[float, float]:
    """A valid range a hair inside its finite ends (a share of exactly 1 may divide by 0)."""
    eps = 1e-9
    lo = low + eps * max(1.0, abs(low)) if math.isfinite(low) else low
    hi = high - eps * max(1.0, abs(high)) if math.isfinite(high) else high
    return lo, hi


def check_vary(scenario, name: str, shift: bool) -> _Vary:
    """The input to vary, or a located error (unknown input; a form that cannot be varied)."""
    params = scenario.parameters
    where = str(scenario.path) if getattr(scenario, "path", None) else None
    if name not in params:
        varied = [n for n, p in params.items() if p.form in ("scalar", "series")]
        close = did_you_mean(name, varied)
        hint = f"did you mean {close!r}?" if close else "name one of " + ", ".join(varied)
        raise AssumptionError(Problem(f"unknown input {name!r}; {hint}", where, None,
                                      "--vary"))  # fmt: skip
    p = params[name]
    if p.form not in ("scalar", "series") or p.shock is not None and not shift:
        what = "a shocked series" if p.shock is not None else f"a {p.form} input"
        raise AssumptionError(
            Problem(
                "--vary: goal seek varies scalar inputs and series (the whole path); "
                f"{name} is {what}; vary one of its scalar inputs instead"
                + ("" if p.shock is None else ", or use --shift"),
                p.file or where,
                p.line,
                name,
            )
        )
    return _Vary(scenario, name, shift)


# ============================================================================ the result
@dataclass
class GoalSeekResult:
    """The answer of :func:`goal_seek`.

    Attributes
    ----------
    vary : str
        The input varied.
    mode : str
        ``fixed`` (the input fixed at the value in every draw) or ``shift`` (its distribution
        multiplied by the value).
    form : str
        ``scalar`` or ``series``.
    unit : str
        Of the value: the input's unit, or ``ratio`` (a factor: ``shift``, series).
    value : float
        The value at which the statistic hits the target [unit].
    uncertainty : tuple of (float or None)
        (low, high): the values at which the statistic is target ± its MCSE [unit]; ``None``
        when that crossing is outside the range searched.
    achieved : dict
        ``{"value", "mcse"}``: the statistic at ``value`` [the target's unit].
    target : GoalTarget
    evaluations : int
        Simulations run (each of ``draws`` draws, same seed).
    search_range : tuple of float
        The range searched [unit].
    path : dict or None
        A series: its median path at ``value`` (year -> [the input's unit]).
    """

    vary: str
    mode: str
    form: str
    unit: str
    input_unit: str
    value: float
    uncertainty: tuple
    achieved: dict
    target: GoalTarget
    evaluations: int
    search_range: tuple
    draws: int
    seed: int
    scenario: str
    path: dict | None = None
    notes: list = field(default_factory=list)

    def to_json_dict(self) -> dict:
        """The ``capex goal-seek --json`` object (docs/schema/goal_seek.schema.json)."""
        return {
            "scenario": self.scenario,
            "vary": self.vary,
            "mode": self.mode,
            "form": self.form,
            "unit": self.unit,
            "value": self.value,
            "uncertainty": list(self.uncertainty),
            "achieved": dict(self.achieved),
            "target": {
                "text": self.target.text,
                "statistic": self.target.name,
                "metric": self.target.metric,
                "value": self.target.value,
                "unit": self.target.unit,
            },
            "evaluations": self.evaluations,
            "search_range": list(self.search_range),
            "path": None if self.path is None else {str(y): v for y, v in self.path.items()},
            "draws": self.draws,
            "seed": self.seed,
        }

    def value_text(self, x: float | None) -> str:
        """A candidate value as printed (a factor as ``x1.23``)."""
        if x is None:
            return "beyond the range searched"
        if self.unit == "ratio" and (self.mode == "shift" or self.form == "series"):
            return f"x{x:.4g}"
        return format_input(x, self.unit)

    def path_text(self) -> str:
        """A series' median path at the answer, ``2026: $3.10/GPU-hour, 2030: ...``."""
        if not self.path:
            return ""
        return ", ".join(f"{y}: {format_value(v, self.input_unit)}" for y, v in self.path.items())


# ============================================================================ the search
class _Evaluator:
    """The statistic at candidate values, each simulated once (same draws, same seed)."""

    def __init__(self, vary: _Vary, target: GoalTarget, draws: int, seed: int, scheduler=None):
        self.vary, self.target, self.draws, self.seed = vary, target, draws, seed
        self.scheduler = scheduler
        self.cache: dict[float, tuple[float, float]] = {}

    def __call__(self, value: float) -> tuple[float, float]:
        value = float(value)
        if value not in self.cache:
            res = simulate(
                self.vary.scenario_at(value),
                draws=self.draws,
                seed=self.seed,
                scheduler=self.scheduler,
            )
            stat, se = self.target.evaluate(res)
            if not math.isfinite(stat):
                raise AssumptionError(
                    Problem(
                        f"{self.target.text!r}: {self.target.name} is undefined with "
                        f"{self.vary.name} at {value:.6g}; choose another statistic",
                        parameter="--target",
                    )
                )
            self.cache[value] = (stat, se)
        return self.cache[value]

    def bracket(self, level: float) -> tuple[float, float] | None:
        """The closest evaluated pair whose statistics straddle ``level``, or None."""
        xs = sorted(self.cache)
        for a, b in zip(xs, xs[1:]):
            fa, fb = self.cache[a][0] - level, self.cache[b][0] - level
            if fa == 0:
                return a, a
            if fa * fb < 0 or fb == 0:
                return a, b
        return None


def _widen(lo: float, hi: float, bounds: tuple[float, float], ratio: bool) -> tuple[float, float]:
    if ratio:
        return max(lo / 4.0, bounds[0]), min(hi * 4.0, bounds[1])
    w = hi - lo
    return max(lo - w, bounds[0]), min(hi + w, bounds[1])


def _find_bracket(ev: _Evaluator, level: float) -> tuple[float, float]:
    """Evaluate the range's ends, widening it until the statistic crosses ``level``."""
    vary = ev.vary
    lo, hi = vary.first_range()
    for _ in range(WIDENINGS + 1):
        ev(lo), ev(hi)
        found = ev.bracket(level)
        if found:
            return found
        lo, hi = _widen(lo, hi, vary.bounds(), vary.unit == "ratio")
    xs = sorted(ev.cache)
    stats = ", ".join(
        f"{format_value(ev.cache[x][0], ev.target.unit)} at {x:.4g}" for x in (xs[0], xs[-1])
    )
    raise AssumptionError(
        Problem(
            f"{ev.target.text!r}: no value of {vary.name} in [{xs[0]:.4g}, {xs[-1]:.4g}] "
            f"[{vary.unit}] reaches it ({ev.target.name} is {stats}); choose a reachable "
            "target or another input",
            parameter="--target",
        )
    )


def _solve(ev: _Evaluator, level: float, a: float, b: float, xtol: float) -> float:
    """A value in [a, b] where the statistic crosses ``level`` (a and b bracket it): the
    Illinois method, stopped within :data:`STAT_TOLERANCE` MCSE of the level or ``xtol``."""
    if a == b:
        return a
    fa, fb = ev(a)[0] - level, ev(b)[0] - level
    side = 0
    for _ in range(MAX_STEPS):
        if abs(b - a) <= xtol:
            break
        m = (a * fb - b * fa) / (fb - fa)
        if not min(a, b) < m < max(a, b):
            m = 0.5 * (a + b)
        stat, se = ev(m)
        fm = stat - level
        if fm == 0 or abs(fm) <= STAT_TOLERANCE * se:
            return m
        if (fm < 0) == (fa < 0):
            a, fa = m, fm
            fb = fb / 2 if side == -1 else fb
            side = -1
        else:
            b, fb = m, fm
            fa = fa / 2 if side == 1 else fa
            side = 1
    return a if abs(ev(a)[0] - level) <= abs(ev(b)[0] - level) else b


def _bound(ev: _Evaluator, level: float, xtol: float) -> float | None:
    """Where the statistic crosses ``level`` within the evaluations' range, or None."""
    found = ev.bracket(level)
    return None if found is None else _solve(ev, level, *found, xtol)


def _monotone(ev: _Evaluator) -> bool:
    s = np.array([ev.cache[x][0] for x in sorted(ev.cache)])
    d = np.diff(s)
    return bool((d >= 0).all() or (d <= 0).all())


def goal_seek(
    scenario, vary: str, target: str | GoalTarget, shift: bool = False, draws: int = 10_000,
    seed: int = 0, scheduler=None,
) -> GoalSeekResult:  # fmt: skip
    """The value of input ``vary`` at which a statistic of the Monte Carlo hits ``target``.

    Parameters
    ----------
    scenario : Scenario
        From :func:`model.load_scenario`.
    vary : str
        A scalar input, or a series (varied as a whole path by a factor).
    target : str or GoalTarget
        ``"P(npv>0)=0.5"``, ``"npv:p50=0"``, ``"npv:mean=1B"`` (see :class:`GoalTarget`).
    shift : bool
        Multiply the input's whole distribution by a factor instead of fixing it.
    draws : int
        Draws of each evaluation (the same draws each time: common random numbers).
    seed : int
    scheduler : str or distributed.Client, optional
        Where each evaluation's draws run (:mod:`model.engine.schedulers`; never changes a
        number).

    Returns
    -------
    GoalSeekResult
        The value [the input's unit, or ratio], its uncertainty (target ± MCSE), the statistic
        achieved and the number of simulations.

    Raises
    ------
    AssumptionError
        Unknown input, a form that cannot be varied, a bad or unreachable target.
    """
    if not isinstance(target, GoalTarget):
        try:
            target = GoalTarget.parse(target)
        except ValueError as exc:
            msg = str(exc).removeprefix("--target ")
            raise AssumptionError(Problem(msg, parameter="--target")) from None
    v = check_vary(scenario, vary, shift)
    ev = _Evaluator(v, target, draws, seed, scheduler)
    a, b = _find_bracket(ev, target.value)
    xs = sorted(ev.cache)
    xtol = X_TOLERANCE * (xs[-1] - xs[0])
    value = _solve(ev, target.value, a, b, xtol)
    achieved, se = ev(value)
    rising = ev(b)[0] >= ev(a)[0]  # the statistic grows with the value
    low, high = (_bound(ev, target.value + s * se, xtol) for s in ((-1, 1) if rising else (1, -1)))
    notes = []
    if not _monotone(ev):
        notes.append(
            f"{target.name} is not monotone in {vary} over the values evaluated; the answer is "
            "one crossing of the target"
        )
    if low is None or high is None:
        notes.append("one end of the uncertainty is outside the range searched")
    for n in notes:
        warnings.warn(n, CapexWarning, stacklevel=2)
    return GoalSeekResult(
        vary, v.mode, str(v.param.form),
        v.unit, v.param.spec.unit, value, (low, high), {"value": achieved, "mcse": se}, target,
        len(ev.cache), (xs[0], xs[-1]), draws, seed, scenario.name, v.path(value), notes,
    )  # fmt: skip
