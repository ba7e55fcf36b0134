"""Stress and scenario analysis: the output with inputs restricted to bands, and the inputs that
differ most where the output lands in a region.

Stress analysis (``capex stress FILE --band capex_overrun=p90-p100``)
---------------------------------------------------------------------
The run's own design (:class:`model.engine.designs.Design`, the uniforms ``capex run`` draws
with the same seed and design) is evaluated twice on the vectorized engine
(:class:`model.analysis.sensitivity.evaluate.Evaluator`): as drawn (the *base*), and with the
uniforms of every banded input mapped into its band, ``u' = lo + (hi - lo) u``; every other
column keeps its draws (common random numbers), so the difference is the effect of the bands and
not sampling noise. Several bands act jointly. A banded input's draws after the map are exactly
a sample of its distribution restricted to the percentile band; inputs correlated with it keep
their own draws (an intervention on the banded input, not a conditioning of its partners).

Differences: of the means and of the key probability, paired draw by draw (their MCSE is the
error of the per-draw differences under the run's error model); of the quantiles, the
difference of the two quantiles with ``sqrt(se_base^2 + se_stressed^2)``, an upper bound (the
pairing makes the two quantiles positively correlated).

Scenario analysis (``capex scenario-analysis FILE --region top10``)
--------------------------------------------------------------------
The draws of one ordinary run whose output falls in a region (``top10``: the highest 10 %,
``bottom5``: the lowest 5 %, ``npv>0``: a target as ``--prob`` writes it). For every design
column: the median of its values in the region minus its median over all draws, in units of
its sd over all draws (calibrated paths: on their percentile scale). Significance: under the
hypothesis that the region is unrelated to the input, the region's m draws of the input's
percentile are a random subset of the run's n uniforms, whose median has standard error
``sqrt((1 - m/n) / (4 m))`` (the normal approximation of a sample median, density 1, with the
finite-population correction); ``z`` is the median percentile shift over it, marked ``*``,
``**``, ``***`` at two-sided 5 %, 1 %, 0.1 % (no correction for the number of inputs).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from ..core.errors import AssumptionError, Problem, did_you_mean
from ..core.scenario import Scenario
from ..core.statistics import ErrorModel
from ..core.targets import ProbabilityTarget
from ..core.vocabulary import OUTPUTS, is_gap_model, key_metric, outputs_of
from ..engine.designs import Design
from ..engine.inputs import trajectory_index
from ..engine.summaries import QUANTILE_KEYS, json_summary, summarise_metric
from .sensitivity.evaluate import Evaluator, input_info, input_values

_BAND = re.compile(r"^\s*([A-Za-z_][\w.\[\]]*)\s*=\s*p(\d+(?:\.\d+)?)\s*-\s*p(\d+(?:\.\d+)?)\s*$")
_REGION = re.compile(r"^\s*(top|bottom)\s*(\d+(?:\.\d+)?)\s*%?\s*$", re.IGNORECASE)
#: two-sided significance marks of |z| (5 %, 1 %, 0.1 %)
MARKS = ((3.291, "***"), (2.576, "**"), (1.960, "*"))


@dataclass(frozen=True)
class Band:
    """An input restricted to the percentiles ``lo..hi`` of its distribution [share, 0..1]."""

    name: str
    lo: float
    hi: float
    text: str


def parse_band(text: str, names: list[str]) -> Band:
    """A band from ``NAME=pLO-pHI`` (``capex_overrun=p90-p100``).

    Raises
    ------
    AssumptionError
        Located at ``--band``, with a did-you-mean for a misspelt input.
    """
    how = "write NAME=pLO-pHI with 0 <= LO < HI <= 100, e.g. capex_overrun=p90-p100"
    m = _BAND.match(str(text))
    if not m:
        raise _problem(f"--band {text!r} is not a band; {how}", "--band")
    name, lo, hi = m[1], float(m[2]) / 100, float(m[3]) / 100
    if name not in names:
        close = did_you_mean(name, names)
        hint = f"did you mean {close!r}?" if close else "use one of " + ", ".join(names)
        raise _problem(f"--band {text!r}: {name!r} is not an uncertain input; {hint}", "--band")
    if not 0 <= lo < hi <= 1:
        raise _problem(
            f"--band {text!r}: the percentiles are out of order or range; {how}", "--band"
        )
    return Band(name, lo, hi, str(text).strip())


def _problem(message: str, parameter: str) -> AssumptionError:
    return AssumptionError(Problem(message, parameter=parameter))


def key_probability(model: str) -> tuple[str, str, str, float]:
    """The probability a model is judged by: (name, metric, operator, threshold)."""
    if is_gap_model(model):
        return "gap_closed_by_end", "revenue_gap_final", "<=", 0.0
    metric = key_metric(model)
    return ("npv_positive" if metric == "npv" else f"{metric}>0"), metric, ">", 0.0


def _indicator(y: np.ndarray, op: str, threshold: float) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return (y <= threshold) if op == "<=" else (y > threshold)


@dataclass
class _Draws:
    """The run's design, its uniforms, the evaluator and the error model of its draws."""

    design: Design
    u: np.ndarray
    evaluator: Evaluator
    errors: ErrorModel


def _draws(
    scenario: Scenario, outputs: list[str], draws: int, seed: int, design: str, scheduler=None
) -> _Draws:
    if scenario.partial:
        raise _problem("is a partial base (partial: true); analyse a file that extends it", "PATH")
    d = Design(scenario, int(draws), int(seed), design)
    if not d.names:
        raise _problem("has no uncertain input; give some parameters a distribution", "PATH")
    u = d.uniforms(0, d.draws)
    ev = Evaluator(scenario, d.names, outputs, int(seed), scheduler)
    groupings = [
        trajectory_index(u[:, d.names.index(k)], p.shape[0]).astype(np.int64)
        for k, p in sorted(ev.calibrated.items())
        if k in d.names
    ]
    clusters = max((p.shape[0] for p in ev.calibrated.values()), default=0)
    if design != "mc":
        errors = ErrorModel("replicates", groupings, d.replicate_ids(0, d.draws), clusters)
    else:
        errors = ErrorModel("clustered", groupings, None, clusters) if groupings else ErrorModel()
    return _Draws(d, u, ev, errors)


def _check_output(scenario: Scenario, output: str | None) -> str:
    output = output or key_metric(scenario.model)
    metrics = [o.name for o in outputs_of(scenario.model, "metric")]
    if output not in metrics:
        close = did_you_mean(output, metrics)
        hint = f"did you mean {close!r}?" if close else "use one of " + ", ".join(metrics)
        raise _problem(f"--output {output!r} is not a metric of this model; {hint}", "--output")
    return output


# ============================================================================ stress
@dataclass
class StressResult:
    """Base and stressed distributions of one output on the same draws.

    ``base`` and ``stressed`` are metric summaries (:func:`summarise_metric`: mean, sd, mcse,
    p05..p95 with ``quantile_mcse``) [unit]; ``difference`` stressed - base of ``mean`` (paired
    MCSE), ``p05``/``p50``/``p95`` (MCSE an upper bound) [unit]; ``probability`` the key
    probability's base, stressed and paired difference [share].
    """

    scenario: str
    model: str
    output: str
    unit: str
    draws: int
    seed: int
    design: str
    bands: list[Band]
    base: dict
    stressed: dict
    difference: dict
    probability: dict
    notes: list[str] = field(default_factory=list)

    def to_json_dict(self) -> dict:
        """The ``capex stress --json`` object (docs/schema/stress.schema.json)."""
        pick = ("mean", "sd", "mcse", *QUANTILE_KEYS, "quantile_mcse", "undefined_share")
        return json_summary(
            {
                "scenario": self.scenario,
                "model": self.model,
                "output": self.output,
                "unit": self.unit,
                "draws": self.draws,
                "seed": self.seed,
                "design": self.design,
                "common_random_numbers": True,
                "bands": [
                    {"input": b.name, "low": b.lo, "high": b.hi, "text": b.text} for b in self.bands
                ],
                "base": {k: self.base[k] for k in pick},
                "stressed": {k: self.stressed[k] for k in pick},
                "difference": self.difference,
                "probability": self.probability,
                "notes": list(self.notes),
            }
        )


def stress(
    scenario: Scenario,
    bands: list[str] | list[Band],
    output: str | None = None,
    draws: int = 10_000,
    seed: int = 0,
    design: str = "mc",
    scheduler=None,
) -> StressResult:
    """The output's distribution with inputs restricted to percentile bands, beside the base.

    Parameters
    ----------
    scenario : Scenario
    bands : list of str or Band
        ``"capex_overrun=p90-p100"`` (see :func:`parse_band`); several act jointly.
    output : str, optional
        A metric of the model (default its key metric: NPV, the final-year revenue gap).
    draws, seed, design
        The run's settings (the same draws ``capex run`` makes with them).
    scheduler : str or distributed.Client, optional
        Where the draws are evaluated (:mod:`model.engine.schedulers`; never changes a number).

    Returns
    -------
    StressResult
    """
    output = _check_output(scenario, output)
    pname, pmetric, op, thr = key_probability(scenario.model)
    run = _draws(scenario, [output, pmetric], draws, seed, design, scheduler)
    parsed = [b if isinstance(b, Band) else parse_band(b, run.design.names) for b in bands]
    if not parsed:
        raise _problem("give at least one --band NAME=pLO-pHI", "--band")
    us = run.u.copy()
    for b in parsed:
        j = run.design.names.index(b.name)
        us[:, j] = b.lo + (b.hi - b.lo) * us[:, j]
    yb, ys = run.evaluator(run.u), run.evaluator(us)
    base = summarise_metric(output, yb[output], run.errors, {})
    stressed = summarise_metric(output, ys[output], run.errors, {})
    ib = _indicator(yb[pmetric], op, thr).astype(float)
    is_ = _indicator(ys[pmetric], op, thr).astype(float)
    both = np.isfinite(yb[output]) & np.isfinite(ys[output])
    diff = ys[output][both] - yb[output][both]
    difference = {
        "mean": {"value": float(diff.mean()), "mcse": run.errors.subset(both).mean_se(diff)}
    }
    for k in ("p05", "p50", "p95"):
        se = math.hypot(base["quantile_mcse"][k], stressed["quantile_mcse"][k])
        difference[k] = {"value": stressed[k] - base[k], "mcse": se}
    prob = {
        "name": pname,
        "label": OUTPUTS[pname].short if pname in OUTPUTS else f"P({pmetric} {op} 0)",
        "base": {"value": float(ib.mean()), "mcse": run.errors.probability_se(ib)},
        "stressed": {"value": float(is_.mean()), "mcse": run.errors.probability_se(is_)},
        "difference": {"value": float((is_ - ib).mean()), "mcse": run.errors.mean_se(is_ - ib)},
    }
    res = StressResult(
        scenario.label, scenario.model, output, base["unit"], run.design.draws, int(seed),
        design, parsed, base, stressed, difference, prob,
    )  # fmt: skip
    res.notes = _stress_notes(scenario, parsed)
    return res


def _stress_notes(scenario: Scenario, bands: list[Band]) -> list[str]:
    notes = [
        "same draws for base and stress (common random numbers): each banded input's uniforms "
        "are mapped into its band, u' = lo + (hi - lo) u; every other input keeps its draws"
    ]
    corr = {c.a for c in scenario.correlations} | {c.b for c in scenario.correlations}
    linked = [b.name for b in bands if b.name in corr]
    if linked:
        notes.append(
            "correlated with other inputs: " + ", ".join(linked) + "; their partners keep their "
            "own draws (the band is imposed on the input, not conditioned on)"
        )
    return notes


# ============================================================================ scenario analysis
@dataclass
class ScenarioAnalysis:
    """Which inputs differ most from their unconditional medians where the output is in a
    region: ``rows`` sorted by |shift| (``shift_sd`` [sd of the input], ``median_region``,
    ``median_all``, ``sd`` [the input's unit], ``z``, ``mark``)."""

    scenario: str
    model: str
    output: str
    region: str
    region_text: str
    draws: int
    seed: int
    design: str
    region_draws: int
    rows: list[dict]
    notes: list[str] = field(default_factory=list)

    def to_json_dict(self) -> dict:
        """The ``capex scenario-analysis --json`` object."""
        keys = ("scenario", "model", "output", "region", "region_text", "draws", "seed")
        out = {k: getattr(self, k) for k in keys}
        out |= {"design": self.design, "region_draws": self.region_draws}
        out |= {"region_share": self.region_draws / self.draws if self.draws else None}
        out |= {"significance": SIGNIFICANCE, "inputs": self.rows, "notes": list(self.notes)}
        return json_summary(out)


SIGNIFICANCE = (
    "z = (median percentile of the input in the region - its median percentile overall) / "
    "sqrt((1 - m/n) / (4 m)), the normal approximation of the median of m of the run's n "
    "draws under no relation; * |z| >= 1.96, ** >= 2.58, *** >= 3.29 (two-sided 5, 1, 0.1 %)"
)


def region_mask(region: str, output: str, values: dict) -> tuple[np.ndarray, str, str]:
    """The draws in a region, the metric it is of and its description.

    ``top10`` / ``bottom10`` (percent of draws, of ``output``; defined draws only) or a target
    ``metric op value`` as ``--prob`` writes it (``npv>0``).
    """
    m = _REGION.match(str(region))
    if m:
        share = float(m[2]) / 100
        if not 0 < share < 1:
            raise _problem(
                f"--region {region!r}: the percent must be between 0 and 100; e.g. --region top10",
                "--region",
            )
        y = values[output]
        q = np.nanquantile(y, 1 - share if m[1].lower() == "top" else share)
        with np.errstate(invalid="ignore"):
            mask = y >= q if m[1].lower() == "top" else y <= q
        return mask, output, f"{m[1].lower()} {m[2]} % of {output} draws"
    try:
        target = ProbabilityTarget.parse(region)
    except ValueError as exc:
        msg = str(exc).replace("--prob", "--region")
        if "is not a target" in msg:
            msg += ", or top10 / bottom10 (the highest / lowest 10 % of the output)"
        raise _problem(msg, "--region") from None
    return target.indicator(values[target.metric]), target.metric, target.label


def scenario_analysis(
    scenario: Scenario,
    region: str = "top10",
    output: str | None = None,
    draws: int = 10_000,
    seed: int = 0,
    design: str = "mc",
    scheduler=None,
) -> ScenarioAnalysis:
    """The inputs that differ most from their unconditional medians in a region of the output.

    Parameters
    ----------
    scenario : Scenario
    region : str
        ``top10``, ``bottom5``, or a target such as ``npv>0`` (see :func:`region_mask`).
    output : str, optional
        The metric ``topN`` / ``bottomN`` rank (default the key metric).
    draws, seed, design
        The run's settings.
    scheduler : str or distributed.Client, optional
        Where the draws are evaluated (never changes a number).

    Returns
    -------
    ScenarioAnalysis
    """
    output = _check_output(scenario, output)
    target_metric = _region_metric(region)
    run = _draws(
        scenario,
        [output] + ([target_metric] if target_metric else []),
        draws,
        seed,
        design,
        scheduler,
    )
    values = run.evaluator(run.u)
    mask, _, text = region_mask(region, output, values)
    m, n = int(mask.sum()), mask.size
    if m < 2:
        raise _problem(f"--region {region!r} holds {m} of {n} draws; widen it", "--region")
    rows = [_shift_row(scenario, v, run.u[:, j], mask) for j, v in enumerate(run.design.variables)]
    rows.sort(key=lambda r: -abs(r["shift_sd"]) if r["shift_sd"] is not None else 0.0)
    return ScenarioAnalysis(
        scenario.label, scenario.model, output, str(region), text, n, int(seed), design, m, rows,
        [f"{m:,} of {n:,} draws in the region; shifts in sd of each input over all draws"],
    )  # fmt: skip


def _region_metric(region: str) -> str | None:
    """The metric a target region names (None for top/bottom or a region that does not parse)."""
    if _REGION.match(str(region)):
        return None
    try:
        return ProbabilityTarget.parse(region).metric
    except ValueError:
        return None


def _shift_row(scenario: Scenario, variable, u: np.ndarray, mask: np.ndarray) -> dict:
    info = input_info(scenario, variable)
    x = input_values(scenario, info, u)
    scale, unit = "value", info.unit
    if not np.isfinite(x).all():  # a calibrated path: its percentile stands for it
        x, scale, unit = u, "percentile", "share"
    sd = float(x.std(ddof=1))
    med_all, med_in = float(np.median(x)), float(np.median(x[mask]))
    m, n = int(mask.sum()), mask.size
    se = math.sqrt(max(1 - m / n, 0.0) / (4 * m))
    z = (float(np.median(u[mask])) - float(np.median(u))) / se if se > 0 else math.nan
    mark = next((s for lim, s in MARKS if abs(z) >= lim), "")
    return {
        "input": info.label,
        "parameter": info.parameter,
        "category": info.category,
        "provenance": info.provenance,
        "unit": unit,
        "scale": scale,
        "median_region": med_in,
        "median_all": med_all,
        "sd": sd,
        "shift_sd": (med_in - med_all) / sd if sd > 0 else 0.0,
        "z": z,
        "mark": mark,
    }
