"""Sensitivity analysis: which assumptions move the answer, and how much rests on hypotheses.

``sensitivity(scenario, output="npv")`` returns a :class:`SensitivityResult` with

* **tornado**: each uncertain input at its P10 and P90 with every other input at its median
  (uniform 0.5 in the design); the output is evaluated at those points (one-at-a-time,
  deterministic), sorted by swing, with the base value (every input at its median);
* **spider**: the output against each top input's percentile (5, 10, ..., 95), others at median;
* **rank**: Spearman and partial rank correlation (PRCC) of each input with the output, from an
  ordinary Monte Carlo run (the same draws ``capex run`` makes with the same seed and design:
  no extra sampling; correlations declared in the file are respected);
* **sobol**: first-order (S1) and total (ST) variance-based indices with bootstrap confidence
  intervals, estimated with SALib's Saltelli (2010) estimators over a Saltelli design that the
  vectorized engine evaluates in chunks;
* **groups_category** and **groups_provenance**: the same indices for groups of inputs
  (capex, capacity, revenue, costs, finance; hypothetical vs sourced), from SALib's grouped
  analysis, and :attr:`SensitivityResult.hypothetical_share`, the share of the output's variance
  that rests on hypothetical inputs;
* **breakeven**: for each input, the value at which NPV = 0 (industry: the revenue gap = 0)
  with the others at their medians, or "none in range";
* **stress**: the output's distribution when one input is restricted to its lower or upper
  decile (draws of the ordinary run), for the top inputs.

What "share of the uncertainty from hypothetical inputs" means
--------------------------------------------------------------
Uncertainty is measured by the output's variance V. The share is the first-order Sobol index of
the *group* of hypothetical inputs H,

    S_H = Var(E[Y | X_H]) / V,

which is the expected fraction of the variance that would disappear if every hypothetical input
were known exactly (Saltelli et al. 2008, "factor prioritisation"): exactly the variance that
citing them could remove. The group's total index ST_H = 1 - S_sourced (for independent inputs)
adds the interactions between hypothetical and sourced inputs; both are reported, with bootstrap
intervals. For an additive model S_H equals the sum of the hypothetical inputs' own S1.

Correlated inputs
-----------------
Saltelli's pick-freeze design assumes independent inputs; swapping one column between two
independent samples breaks any declared correlation, and the usual indices then describe a
different model. When the file declares correlations this module therefore switches to the
estimator of Mara & Tarantola (2012) and Kucherenko et al. (2012) for dependent inputs under a
Gaussian copula, which stays valid: inputs are represented by normal scores with Pearson
correlation ``2 sin(pi rho_s / 6)`` (the copula whose Spearman correlation is the file's
``rho_s``; the Iman-Conover reordering of ``capex run`` induces the same rank correlation). For
an input (or group) y with complement z,

* the *full* first-order index S1 = Var(E[Y|y]) / V uses a cross matrix in which y comes from
  sample B and z is redrawn from its conditional distribution z | y (Cholesky factor with y
  first); it includes the variance y carries through the inputs correlated with it;
* the *independent* total index ST = E[Var(Y|z)] / V uses a cross matrix in which z comes from
  sample A and y is redrawn from y | z (Cholesky factor with z first); it excludes what y
  shares with correlated inputs.

Both are computed with SALib's estimators (``SALib.analyze.sobol.analyze`` on the two cross
designs) and bootstrap. For an input correlated with nothing the two cross matrices coincide
with Saltelli's and the numbers equal the independent-input analysis. Under dependence the S1
of a set of groups may sum to more than 1 (shared variance is counted in each correlated
group), and S1 may exceed ST. SALib's moment-independent delta (Borgonovo 2007) is also valid
on dependent samples, but it gives neither total nor grouped indices, so it cannot provide the
provenance split; it is not used.

Tornado, spider and break-even are one-at-a-time and hold the other inputs at their medians
whatever the declared correlations (stated in the output); rank correlations and the stress view
use the correlated ordinary run.

References
----------
.. [1] Saltelli, A., Annoni, P., Azzini, I., Campolongo, F., Ratto, M. & Tarantola, S. (2010).
   Variance based sensitivity analysis of model output. Design and estimator for the total
   sensitivity index. *Computer Physics Communications*, 181(2), 259-270.
.. [2] Saltelli, A. et al. (2008). *Global Sensitivity Analysis. The Primer*. Wiley (groups,
   factor prioritisation, tornado and one-at-a-time caveats).
.. [3] Herman, J. & Usher, W. (2017). SALib: An open-source Python library for sensitivity
   analysis. *Journal of Open Source Software*, 2(9), 97. https://salib.readthedocs.io
.. [4] Mara, T. A. & Tarantola, S. (2012). Variance-based sensitivity indices for models with
   dependent inputs. *Reliability Engineering & System Safety*, 107, 115-121.
.. [5] Kucherenko, S., Tarantola, S. & Annoni, P. (2012). Estimation of global sensitivity
   indices for models with dependent variables. *Computer Physics Communications*, 183(4),
   937-946.
.. [6] Marino, S., Hogue, I. B., Ray, C. J. & Kirschner, D. E. (2008). A methodology for
   performing global uncertainty and sensitivity analysis in systems biology. *Journal of
   Theoretical Biology*, 254(1), 178-196 (PRCC).
.. [7] Fieller, E. C., Hartley, H. O. & Pearson, E. S. (1957). Tests for rank correlation
   coefficients. I. *Biometrika*, 44(3/4), 470-481 (standard error of Spearman's rho).
.. [8] Iman, R. L. & Conover, W. J. (1982). A distribution-free approach to inducing rank
   correlation among input variables. *Communications in Statistics - Simulation and
   Computation*, 11(3), 311-334.
"""

from __future__ import annotations

import json
import math
import sys
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special, stats
from scipy.linalg import solve_triangular

from .jsonout import print_json
from .errors import AssumptionError, Problem
from .loading import Scenario, nearest_correlation
from .sampling import Design, InputVariable, input_variables, inputs_from_uniforms, \
    interpolation_weights, spearman_to_pearson

#: Every method; ``all`` selects them all.
METHODS = ("tornado", "spider", "rank", "sobol", "breakeven", "stress")
DEFAULT_DRAWS = 10_000
DEFAULT_SOBOL_N = 4096
DEFAULT_RESAMPLES = 200
#: Percentiles of the tornado swing (as uniforms of the design).
TORNADO_LOW, TORNADO_HIGH = 0.10, 0.90
#: Percentiles of the spider plot [%].
SPIDER_PERCENTILES = tuple(range(5, 100, 5))
#: Break-even search range as uniforms: the central 99.8 % of each input's distribution.
BREAKEVEN_RANGE = (0.001, 0.999)
#: Model rows per engine call (bounds memory; never changes results).
CHUNK = 16_384

OUTPUT_LABELS = {
    "npv": "NPV", "irr": "IRR", "payback_years": "payback period", "peak_funding":
    "peak funding", "levelized_cost_per_gpu_hour": "levelized cost per GPU-hour",
    "revenue_gap_final": "final-year revenue gap", "cumulative_revenue_gap_total":
    "cumulative revenue gap", "gap_close_year": "gap-closing year", "pv_revenue_gap":
    "present value of the revenue gap",
}
_GAP_OUTPUTS = ("revenue_gap_final", "cumulative_revenue_gap_total", "pv_revenue_gap")


# ============================================================================ outputs
def output_units(scenario: Scenario) -> dict[str, str]:
    """Valid ``output`` names of a scenario and their units."""
    from .simulation import INDUSTRY_METRICS, PROGRAMME_METRICS

    if scenario.model == "industry":
        out = {k: v[0] for k, v in INDUSTRY_METRICS.items()}
        if "discount_rate" not in scenario.parameters:
            out.pop("pv_revenue_gap", None)
        return out
    return {k: v[0] for k, v in PROGRAMME_METRICS.items()}


def default_output(scenario: Scenario) -> str:
    """``npv`` for programmes, ``revenue_gap_final`` for the industry model."""
    return "revenue_gap_final" if scenario.model == "industry" else "npv"


def breakeven_output(scenario: Scenario, output: str) -> str:
    """Output whose zero defines break-even: NPV (programme) or the chosen gap (industry)."""
    if scenario.model == "industry":
        return output if output in _GAP_OUTPUTS else "revenue_gap_final"
    return "npv"


def _check_output(scenario: Scenario, output: str | None) -> str:
    valid = output_units(scenario)
    if output is None:
        return default_output(scenario)
    if output not in valid:
        raise AssumptionError(Problem(
            f"output {output!r} is not an output of the {scenario.model} model; use one of "
            f"{', '.join(valid)}", parameter="--output"))
    return output


def _parse_methods(methods) -> tuple[str, ...]:
    if isinstance(methods, str):
        methods = [m for m in methods.replace(" ", "").split(",") if m]
    out: list[str] = []
    for m in methods:
        if m == "all":
            out.extend(METHODS)
        elif m in METHODS:
            out.append(m)
        else:
            raise AssumptionError(Problem(
                f"method {m!r} unknown; use one or more of {', '.join(METHODS)} (comma-"
                "separated) or all", parameter="--method"))
    if not out:
        raise AssumptionError(Problem(f"no method given; use one or more of "
                                      f"{', '.join(METHODS)} or all", parameter="--method"))
    return tuple(m for m in METHODS if m in out)


# ============================================================================ inputs
@dataclass(frozen=True)
class InputInfo:
    """One column of the design, with what the tables need to describe it."""

    name: str
    parameter: str
    category: str
    provenance: str  # "hypothetical" | "sourced"
    unit: str
    year: int | None  # year whose value represents a series input (None for scalars)
    form: str

    @property
    def label(self) -> str:
        return self.name if self.year is None or "[" in self.name else \
            f"{self.name} ({self.year})"


def _input_info(scenario: Scenario, v: InputVariable) -> InputInfo:
    p = scenario.parameters[v.parameter]
    prov = "hypothetical" if (p.provenance is not None and p.provenance.is_hypothetical) \
        else "sourced"
    year = v.year
    if p.form == "series" and year is None:
        # the year whose value stands for the path: the horizon's last year for the industry
        # gap, the first uncertain year (e.g. the first cohort's launch price) for programmes
        year = scenario.end if scenario.model == "industry" else next(
            y for y, d in p.points if not d.is_fixed)
    return InputInfo(v.name, v.parameter, p.category, prov, p.spec.unit, year, p.form)


def input_values(scenario: Scenario, info: InputInfo, u) -> np.ndarray:
    """The value [canonical unit] an input takes at uniforms ``u`` (series: in ``info.year``;
    calibrated paths: NaN, described by their percentile)."""
    u = np.asarray(u, dtype=float)
    p = scenario.parameters[info.parameter]
    if p.form == "scalar":
        return p.dist.ppf(u)
    if p.form == "series":
        if "[" in info.name:  # one point of a series whose years move independently
            return dict(p.points)[info.year].ppf(u)
        # a path moving together: every uncertain point at u, interpolated to info.year
        years = [y for y, _ in p.points]
        w = interpolation_weights(years, np.array([info.year]), p.interpolation)[:, 0]
        vals = np.stack([d.ppf(u) for _, d in p.points], axis=-1)
        return vals @ w
    return np.full(u.shape, np.nan)


# ============================================================================ evaluation
class _Engine:
    """Evaluate model outputs for rows of a uniform matrix, in chunks (no per-row loop)."""

    def __init__(self, scenario: Scenario, names: list[str], outputs: list[str], seed: int):
        from .simulation import calibrated_paths

        self.scenario = scenario
        self.names = names
        self.outputs = list(dict.fromkeys(outputs))
        self.calibrated = calibrated_paths(scenario, seed) if any(
            p.form == "calibrated" for p in scenario.parameters.values()) else {}
        self.rows = 0

    def __call__(self, u: np.ndarray) -> dict[str, np.ndarray]:
        from .simulation import run_model

        u = np.clip(np.asarray(u, dtype=float), 1e-12, 1.0 - 1e-12)
        n = u.shape[0]
        out = {o: np.empty(n) for o in self.outputs}
        with np.errstate(all="ignore"):
            for start in range(0, n, CHUNK):
                stop = min(start + CHUNK, n)
                inputs = inputs_from_uniforms(self.scenario, u[start:stop], self.names,
                                              self.calibrated)
                res = run_model(self.scenario, inputs, stop - start,
                                with_irr="irr" in self.outputs)
                for o in self.outputs:
                    out[o][start:stop] = np.broadcast_to(np.asarray(res[o], float),
                                                         (stop - start,))
        self.rows += n
        return out


# ============================================================================ result
@dataclass
class SensitivityResult:
    """Everything ``sensitivity`` computed. DataFrames are ``None`` for methods not run.

    Attributes
    ----------
    scenario, model, output, unit : str
        Scenario label, model kind, analysed output and its unit.
    base_value : float
        Output with every input at its median [unit].
    tornado, spider, rank, sobol, groups_category, groups_provenance, breakeven, stress :
        pandas.DataFrame or None
    hypothetical_share : dict or None
        ``s1``, ``s1_low``, ``s1_high`` (first-order index of the hypothetical group and its
        interval), ``st``, ``st_low``, ``st_high`` (total index), ``n_hypothetical``,
        ``n_sourced``, ``conf_level``, ``method``.
    sobol_method : str
        ``saltelli`` (independent inputs) or ``gaussian-copula`` (declared correlations).
    notes : list of str
        Caveats printed with the tables (correlations, undefined outputs, ...).
    """

    scenario: str
    title: str
    model: str
    output: str
    unit: str
    methods: tuple
    draws: int
    seed: int
    design: str
    sobol_n: int
    conf_level: float
    base_value: float = float("nan")
    breakeven_output: str = "npv"
    tornado: pd.DataFrame | None = None
    spider: pd.DataFrame | None = None
    rank: pd.DataFrame | None = None
    sobol: pd.DataFrame | None = None
    groups_category: pd.DataFrame | None = None
    groups_provenance: pd.DataFrame | None = None
    breakeven: pd.DataFrame | None = None
    stress: pd.DataFrame | None = None
    hypothetical_share: dict | None = None
    sobol_sums: dict | None = None
    sobol_method: str = ""
    sobol_rows: int = 0
    correlated: tuple = ()
    notes: list = field(default_factory=list)
    timings: dict = field(default_factory=dict)
    inputs: list = field(default_factory=list)

    @property
    def output_label(self) -> str:
        return OUTPUT_LABELS.get(self.output, self.output)

    # ------------------------------------------------------------------ headline
    def headline(self) -> str:
        """The provenance sentence for the report's headline."""
        label = self.output_label
        lab = label
        h = self.hypothetical_share
        n_hyp = sum(1 for i in self.inputs if i.provenance == "hypothetical")
        n = len(self.inputs)
        if h is None:
            if n_hyp == 0:
                return (f"None of the {lab} uncertainty comes from hypothetical inputs: every "
                        f"uncertain input ({n}) is sourced.")
            why = ("the Sobol' split was skipped (see notes)" if "sobol" in self.methods else
                   "run the sobol method to see what share of the uncertainty rests on them")
            return f"{n_hyp} of {n} uncertain inputs are hypothetical; {why}."
        if n_hyp == 0:
            return (f"None of the {lab} uncertainty comes from hypothetical inputs: every "
                    f"uncertain input ({n}) is sourced.")
        pct = _pct(h["s1"])
        if h["n_sourced"] == 0:
            return (f"{pct} % of the {lab} uncertainty comes from hypothetical inputs (all {n} "
                    "uncertain inputs are hypothetical): cite them to shrink it.")
        ci = int(round(100 * self.conf_level))
        detail = (f"({n_hyp} of {n} uncertain inputs; first-order Sobol' index of the group, "
                  f"{ci} % CI {_pct(h['s1_low'])}-{_pct(h['s1_high'])} %; total index "
                  f"{_pct(h['st'])} %)")
        if h["s1"] >= 0.25:
            return (f"{pct} % of the {lab} uncertainty comes from hypothetical inputs: cite "
                    f"them to shrink it {detail}.")
        return (f"{pct} % of the {lab} uncertainty comes from hypothetical inputs {detail}; "
                "the rest rests on sourced inputs: narrowing their cited ranges, not citing "
                "more, is what shrinks it.")

    # ------------------------------------------------------------------ JSON
    def to_json_dict(self) -> dict:
        """One JSON-serialisable object (``capex sensitivity --json``)."""
        def table(df):
            if df is None:
                return None
            return [{k: _json_value(v) for k, v in row.items()}
                    for row in df.reset_index(drop=True).to_dict(orient="records")]

        return {
            "scenario": self.scenario,
            "title": self.title,
            "model": self.model,
            "output": self.output,
            "unit": self.unit,
            "methods": list(self.methods),
            "draws": self.draws,
            "seed": self.seed,
            "design": self.design,
            "sobol_n": self.sobol_n,
            "sobol_model_evaluations": self.sobol_rows,
            "conf_level": self.conf_level,
            "base_value": _json_value(self.base_value),
            "breakeven_output": self.breakeven_output,
            "headline": self.headline(),
            "hypothetical_share": None if self.hypothetical_share is None else
            {k: _json_value(v) for k, v in self.hypothetical_share.items()},
            "sobol_method": self.sobol_method or None,
            "sobol_sums": None if self.sobol_sums is None else
            {k: _json_value(v) for k, v in self.sobol_sums.items()},
            "correlated_inputs": list(self.correlated),
            "inputs": [{"name": i.name, "parameter": i.parameter, "category": i.category,
                        "provenance": i.provenance, "unit": i.unit, "year": i.year}
                       for i in self.inputs],
            "tornado": table(self.tornado),
            "spider": table(self.spider),
            "rank": table(self.rank),
            "sobol": table(self.sobol),
            "groups_category": table(self.groups_category),
            "groups_provenance": table(self.groups_provenance),
            "breakeven": table(self.breakeven),
            "stress": table(self.stress),
            "notes": list(self.notes),
            "timings_seconds": {k: round(v, 3) for k, v in self.timings.items()},
        }

    # ------------------------------------------------------------------ text
    def fmt(self, x) -> str:
        """The output's value as text ($12.3B, 11.2 %, 7.4 years)."""
        return fmt_value(x, self.unit)

    def summary_text(self) -> str:
        """Readable tables (``capex sensitivity``)."""
        return "\n".join(_text_sections(self))

    def to_markdown(self, figures: dict | None = None) -> str:
        """The report section (Markdown); ``figures`` maps plot names to relative paths."""
        return _markdown(self, figures or {})


def _pct(x) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{100 * min(max(x, 0.0), 1.0):.0f}"


def _json_value(v):
    if isinstance(v, (np.floating, float)):
        v = float(v)
        return v if math.isfinite(v) else None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


def fmt_value(x, unit: str) -> str:
    """Compact text of a value in a canonical unit."""
    from .units import format_amount

    if x is None or not isinstance(x, (int, float, np.floating)) or not math.isfinite(x):
        return "n/a"
    if unit == "1/year":
        return f"{100 * x:.1f} %"
    if unit == "years":
        return f"{x:.2f} y"
    if unit == "USD/GPU-hour":
        return f"${x:.2f}"
    if unit == "USD/MW":
        return f"${x / 1e6:.1f}M/MW"
    if unit in ("USD", "USD/year"):
        a = abs(x)
        sign = "-" if x < 0 else ""
        if 1e6 <= a < 1e9:
            return f"{sign}${a / 1e6:.0f}M"
        if a >= 1e12:
            return f"{sign}${a / 1e12:.2f}T"
        if a >= 1e9:
            return f"{sign}${a / 1e9:.2f}B" if a < 1e10 else f"{sign}${a / 1e9:.1f}B"
        return f"{sign}${a:,.0f}"
    if unit == "share":
        return f"{100 * x:.1f} %"
    if unit == "ratio":
        return f"{x:.3g}"
    return format_amount(x, unit)


# ============================================================================ main entry
def sensitivity(scenario: Scenario, output: str | None = None,
                methods=("tornado", "spider", "rank", "sobol", "breakeven", "stress"),
                draws: int = DEFAULT_DRAWS, seed: int = 0, design: str = "mc",
                sobol_n: int = DEFAULT_SOBOL_N, num_resamples: int = DEFAULT_RESAMPLES,
                conf_level: float = 0.95, top: int = 6, results=None,
                progress: bool = False) -> SensitivityResult:
    """Sensitivity analysis of one output of a scenario.

    Parameters
    ----------
    scenario : Scenario
        From :func:`model.load_scenario`.
    output : str, optional
        An output metric (see :func:`output_units`); default ``npv`` (programme) or
        ``revenue_gap_final`` (industry).
    methods : iterable of str or str
        Any of :data:`METHODS`, or ``"all"``; a comma-separated string is accepted.
    draws : int
        Draws of the ordinary Monte Carlo run used by ``rank`` and ``stress``.
    seed : int
        Seed of every random number (ordinary run, Sobol' scrambling, bootstrap).
    design : {"mc", "lhs", "sobol"}
        Design of the ordinary run (as ``capex run --design``).
    sobol_n : int
        Base samples N of the Saltelli design (a power of two); the model is evaluated
        N (k + 2) times for k independent inputs, plus N per group (and per correlated
        input or group cut by a correlation, once more).
    num_resamples : int
        Bootstrap resamples of the Sobol' confidence intervals.
    conf_level : float
        Level of every confidence interval (e.g. 0.95).
    top : int
        Inputs shown in the spider and stress views (the largest tornado swings).
    results : Results, optional
        An existing :func:`model.simulate` run of this scenario to use for ``rank`` and
        ``stress`` instead of running again.
    progress : bool
        Short progress messages on stderr.

    Returns
    -------
    SensitivityResult

    Raises
    ------
    AssumptionError
        Unknown output or method, bad numbers, no uncertain input, or (when only ``sobol`` is
        asked) an output undefined in part of the design.
    """
    output = _check_output(scenario, output)
    methods = _parse_methods(methods)
    problems = []
    if scenario.partial:
        problems.append(Problem("is a partial base (partial: true); analyse a file that extends "
                                "it", str(scenario.path)))
    if int(draws) < 10:
        problems.append(Problem(f"--draws {draws} is too few; give at least 10", parameter="--draws"))
    if int(seed) < 0:
        problems.append(Problem(f"--seed {seed} is negative; give a non-negative integer",
                                parameter="--seed"))
    n = int(sobol_n)
    if n < 16 or n & (n - 1):
        problems.append(Problem(f"--sobol-n {sobol_n} is not a power of two of at least 16; use one of at least 16 "
                                "(e.g. 1024, 4096) so the Sobol' sequence stays balanced",
                                parameter="--sobol-n"))
    if not 0 < conf_level < 1:
        problems.append(Problem("confidence level is not between 0 and 1; give e.g. 0.95",
                                parameter="conf_level"))
    if int(num_resamples) < 10:
        problems.append(Problem(f"{num_resamples} bootstrap resamples are too few; give at least 10",
                                parameter="--resamples"))
    variables = input_variables(scenario)
    if not variables and not problems:
        problems.append(Problem("has no uncertain input, so there is nothing to analyse; give "
                                "some parameters a distribution", str(scenario.path)))
    if problems:
        raise AssumptionError(problems)

    names = [v.name for v in variables]
    infos = [_input_info(scenario, v) for v in variables]
    be_out = breakeven_output(scenario, output)
    engine = _Engine(scenario, names, [output, be_out], seed)
    units = output_units(scenario)
    corr_names = sorted({c.a for c in scenario.correlations} | {c.b for c in scenario.correlations})
    res = SensitivityResult(
        scenario=scenario.label, title=scenario.title, model=scenario.model, output=output,
        unit=units[output], methods=methods, draws=int(draws), seed=int(seed), design=design,
        sobol_n=n, conf_level=float(conf_level), breakeven_output=be_out,
        correlated=tuple(corr_names), inputs=infos)

    def say(msg):
        if progress:
            print(f"capex sensitivity: {msg}", file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    base = engine(np.full((1, len(names)), 0.5))
    res.base_value = float(base[output][0])
    if {"tornado", "spider", "stress"} & set(methods):  # stress/spider use its ranking
        res.tornado = _tornado(scenario, engine, infos, output, res.base_value)
        res.timings["tornado"] = time.perf_counter() - t0
    order = list(res.tornado["input"]) if res.tornado is not None else names
    if "spider" in methods:
        t = time.perf_counter()
        res.spider = _spider(scenario, engine, infos, output, order[:top])
        res.timings["spider"] = time.perf_counter() - t
    if "breakeven" in methods:
        t = time.perf_counter()
        res.breakeven = _breakeven(scenario, engine, infos, be_out, float(base[be_out][0]))
        res.timings["breakeven"] = time.perf_counter() - t
    if {"rank", "stress"} & set(methods):
        t = time.perf_counter()
        say(f"ordinary run, {int(draws):,} draws")
        u, y = _ordinary_run(scenario, engine, names, output, int(draws), int(seed), design,
                             results)
        if "rank" in methods:
            res.rank = _rank(infos, u, y, conf_level, res.notes)
        if "stress" in methods:
            res.stress = _stress(infos, u, y, order[:top], output)
        res.timings["ordinary_run"] = time.perf_counter() - t
    if "sobol" in methods:
        t = time.perf_counter()
        _sobol(res, scenario, engine, infos, output, n, int(seed), int(num_resamples),
               float(conf_level), say, only=(methods == ("sobol",)))
        res.timings["sobol"] = time.perf_counter() - t
    if "tornado" not in methods:
        res.tornado = None  # computed only to rank the inputs of the spider/stress views
    if res.tornado is not None and res.tornado["swing"].isna().any():
        res.notes.append(f"n/a in the tornado: the {output} is undefined with that input at P10 "
                         "or P90 (e.g. no payback within the horizon, no IRR); such inputs are "
                         "listed first.")
    if ({"tornado", "spider", "breakeven"} & set(methods)) and any(
            i.form == "series" and "[" not in i.name for i in infos):
        res.notes.append("a series input moves as one path; its values are shown for one year "
                         "(" + ", ".join(f"{i.name} in {i.year}" for i in infos
                                         if i.form == "series" and "[" not in i.name) + ").")
    if corr_names and ({"tornado", "spider", "breakeven"} & set(methods)):
        res.notes.append(
            "tornado, spider and break-even move one input at a time with the others at their "
            f"medians, ignoring the declared correlations ({_corr_text(scenario)}); rank "
            "correlations, stress and Sobol' indices respect them.")
    res.timings["total"] = time.perf_counter() - t0
    return res


def _corr_text(scenario: Scenario) -> str:
    return ", ".join(f"{c.a}~{c.b} {c.rho:+.2f}" for c in scenario.correlations)


# ============================================================================ one at a time
def _oat_matrix(k: int, cols: list[int], us) -> np.ndarray:
    """Rows with every uniform 0.5 except column ``cols[i]`` set to ``us[i]``."""
    u = np.full((len(cols), k), 0.5)
    u[np.arange(len(cols)), cols] = us
    return u


def _tornado(scenario, engine, infos, output, base) -> pd.DataFrame:
    k = len(infos)
    cols = [j for j in range(k) for _ in (0, 1)]
    us = [TORNADO_LOW, TORNADO_HIGH] * k
    y = engine(_oat_matrix(k, cols, us))[output].reshape(k, 2)
    rows = []
    for j, info in enumerate(infos):
        lo, hi = y[j]
        vals = input_values(scenario, info, np.array([TORNADO_LOW, 0.5, TORNADO_HIGH]))
        rows.append({
            "input": info.name, "parameter": info.parameter, "category": info.category,
            "provenance": info.provenance, "unit": info.unit, "year": info.year,
            "value_p10": vals[0], "value_p50": vals[1], "value_p90": vals[2],
            "output_p10": lo, "output_p90": hi, "effect_p10": lo - base,
            "effect_p90": hi - base, "swing": abs(hi - lo),
        })
    df = pd.DataFrame(rows)
    # an input that makes the output undefined at P10 or P90 (no payback, no IRR) while the
    # base is defined moves it without bound: it goes first
    df["_key"] = df["swing"].fillna(np.inf if np.isfinite(base) else -1.0)
    df = df.sort_values(["_key", "input"], ascending=[False, True], kind="mergesort")
    return df.drop(columns="_key").reset_index(drop=True)


def _spider(scenario, engine, infos, output, top_names) -> pd.DataFrame:
    k = len(infos)
    idx = {i.name: j for j, i in enumerate(infos)}
    pcts = np.array(SPIDER_PERCENTILES, dtype=float)
    cols = [idx[nm] for nm in top_names for _ in pcts]
    us = np.tile(pcts / 100.0, len(top_names))
    y = engine(_oat_matrix(k, cols, us))[output]
    rows = []
    for a, nm in enumerate(top_names):
        info = infos[idx[nm]]
        vals = input_values(scenario, info, pcts / 100.0)
        for b, pc in enumerate(pcts):
            rows.append({"input": nm, "percentile": int(pc), "value": vals[b],
                         "unit": info.unit, "output": y[a * len(pcts) + b]})
    return pd.DataFrame(rows)


def _breakeven(scenario, engine, infos, be_out, base_value, grid: int = 201,
               iterations: int = 60) -> pd.DataFrame:
    """Vectorized grid scan + bisection (in the input's percentile) of output = 0."""
    k = len(infos)
    lo_u, hi_u = BREAKEVEN_RANGE
    ug = np.linspace(lo_u, hi_u, grid)
    cols = [j for j in range(k) for _ in ug]
    y = engine(_oat_matrix(k, cols, np.tile(ug, k)))[be_out].reshape(k, grid)
    s = np.sign(y)
    roots: list[list[tuple[float, float]]] = [[] for _ in range(k)]  # (lo, hi) brackets
    exact: list[list[float]] = [[] for _ in range(k)]
    for j in range(k):
        for i in range(grid - 1):
            if s[j, i] == 0 and np.isfinite(y[j, i]):
                exact[j].append(ug[i])
            elif np.isfinite(y[j, i]) and np.isfinite(y[j, i + 1]) and s[j, i] * s[j, i + 1] < 0:
                roots[j].append((ug[i], ug[i + 1]))
        if s[j, -1] == 0:
            exact[j].append(ug[-1])
    br = [(j, a, b) for j in range(k) for a, b in roots[j]]
    found: list[list[float]] = [list(e) for e in exact]
    if br:
        jj = np.array([b[0] for b in br])
        a = np.array([b[1] for b in br])
        b = np.array([b[2] for b in br])
        fa = np.sign(engine(_oat_matrix(k, list(jj), a))[be_out])
        for _ in range(iterations):
            m = 0.5 * (a + b)
            fm = np.sign(engine(_oat_matrix(k, list(jj), m))[be_out])
            left = fm == fa
            a = np.where(left, m, a)
            b = np.where(left, b, m)
            if np.all(b - a < 1e-13):
                break
        for j, r in zip(jj, 0.5 * (a + b)):
            found[j].append(float(r))
    rows = []
    for j, info in enumerate(infos):
        rs = sorted(found[j], key=lambda r: abs(r - 0.5))
        row = {"input": info.name, "parameter": info.parameter, "provenance": info.provenance,
               "unit": info.unit, "year": info.year,
               "median_value": float(input_values(scenario, info, np.array([0.5]))[0]),
               "range_low": float(input_values(scenario, info, np.array([lo_u]))[0]),
               "range_high": float(input_values(scenario, info, np.array([hi_u]))[0]),
               "n_roots": len(rs)}
        if rs:
            r = rs[0]
            row.update(breakeven=float(input_values(scenario, info, np.array([r]))[0]),
                       percentile=100.0 * r, status="found")
            # which side is positive: compare the grid just above the root
            above = y[j][ug > r]
            row["positive_when"] = ("above" if above.size and above[0] > 0 else "below")
        else:
            finite = y[j][np.isfinite(y[j])]
            status = "none in range" if finite.size else "undefined"
            row.update(breakeven=float("nan"), percentile=float("nan"), status=status,
                       positive_when=("always" if finite.size and (finite > 0).all() else
                                      "never" if finite.size else ""))
        rows.append(row)
    df = pd.DataFrame(rows)
    df["_found"] = df["status"] != "found"
    df["_dist"] = (df["percentile"] - 50.0).abs()
    df = df.sort_values(["_found", "_dist", "input"], kind="mergesort")
    return df.drop(columns=["_found", "_dist"]).reset_index(drop=True)


# ============================================================================ ordinary run
def _ordinary_run(scenario, engine, names, output, draws, seed, design, results):
    """Uniforms (n, k) and output (n,) of the run ``capex run`` makes with these settings."""
    if results is not None:
        a = results.ds.attrs
        if a.get("input_hash") != scenario.input_hash:
            raise ValueError("results belong to another scenario (input hash differs)")
        d = Design(scenario, int(a["draws"]), int(a["seed"]), a["design"])
        u = d.uniforms(0, d.draws)
        y = results.metric(output)
        # guard: the regenerated uniforms must give the stored inputs
        for j, nm in enumerate(names):
            p = scenario.parameters.get(nm)
            key = f"input_{nm}"
            if p is not None and p.form == "scalar" and key in results.ds:
                if not np.allclose(p.dist.ppf(u[:200, j]), results.ds[key].values[:200]):
                    raise ValueError("results were not made by simulate() with their stored "
                                     "seed and design")
                break
        return u, y
    d = Design(scenario, draws, seed, design)
    u = d.uniforms(0, draws)
    return u, engine(u)[output]


def _rank(infos, u, y, conf_level, notes) -> pd.DataFrame:
    ok = np.isfinite(y)
    if not ok.all():
        notes.append(f"rank correlations use the {ok.sum():,} draws where the output is defined "
                     f"({100 * (1 - ok.mean()):.1f} % undefined).")
    u, y = u[ok], y[ok]
    n, k = u.shape
    z = stats.norm.ppf(0.5 + conf_level / 2)
    if n < k + 4 or np.ptp(y) == 0:
        rho = np.full(k, np.nan)
        prcc = np.full(k, np.nan)
    else:
        r = np.column_stack([stats.rankdata(u, axis=0), stats.rankdata(y)])
        c = np.corrcoef(r, rowvar=False)
        rho = c[:-1, -1]
        p = np.linalg.pinv(c)
        prcc = -p[:-1, -1] / np.sqrt(p.diagonal()[:-1] * p[-1, -1])
    se_s = 1.06 / math.sqrt(max(n - 3, 1))  # Fieller et al. (1957)
    se_p = 1.0 / math.sqrt(max(n - 3 - (k - 1), 1))  # Fisher z of a partial correlation
    with np.errstate(all="ignore"):
        zs, zp = np.arctanh(np.clip(rho, -0.999999, 0.999999)), np.arctanh(
            np.clip(prcc, -0.999999, 0.999999))
    df = pd.DataFrame({
        "input": [i.name for i in infos], "category": [i.category for i in infos],
        "provenance": [i.provenance for i in infos],
        "spearman": rho, "spearman_low": np.tanh(zs - z * se_s),
        "spearman_high": np.tanh(zs + z * se_s),
        "prcc": prcc, "prcc_low": np.tanh(zp - z * se_p), "prcc_high": np.tanh(zp + z * se_p),
        "draws": n,
    })
    df["_k"] = -df["spearman"].abs().fillna(-1)
    return df.sort_values(["_k", "input"], kind="mergesort").drop(columns="_k").reset_index(
        drop=True)


def _stress(infos, u, y, top_names, output) -> pd.DataFrame:
    idx = {i.name: j for j, i in enumerate(infos)}

    def summ(mask, name, subset):
        v = y[mask]
        f = v[np.isfinite(v)]
        q = np.quantile(f, [0.05, 0.25, 0.5, 0.75, 0.95]) if f.size else [np.nan] * 5
        row = {"input": name, "subset": subset, "draws": int(mask.sum()),
               "mean": float(f.mean()) if f.size else np.nan,
               "p05": q[0], "p25": q[1], "p50": q[2], "p75": q[3], "p95": q[4],
               "prob_positive": float((v > 0).mean()) if v.size else np.nan,
               "undefined_share": float(1 - f.size / v.size) if v.size else np.nan}
        return row

    rows = [summ(np.ones(y.shape, bool), "(all inputs)", "all")]
    for nm in top_names:
        j = idx[nm]
        rows.append(summ(u[:, j] < 0.1, nm, "lower decile"))
        rows.append(summ(u[:, j] >= 0.9, nm, "upper decile"))
    return pd.DataFrame(rows)


# ============================================================================ Sobol
def _normal_score_corr(scenario: Scenario, names: list[str]) -> np.ndarray | None:
    """Pearson correlation of normal scores (k, k) for the declared Spearman correlations."""
    if not scenario.correlations:
        return None
    idx = {nm: j for j, nm in enumerate(names)}
    r = np.eye(len(names))
    for c in scenario.correlations:
        if c.a in idx and c.b in idx:
            r[idx[c.a], idx[c.b]] = r[idx[c.b], idx[c.a]] = float(spearman_to_pearson(c.rho))
    if np.array_equal(r, np.eye(len(names))):
        return None
    if np.linalg.eigvalsh(r).min() <= 1e-10:
        r = nearest_correlation(r) + 1e-9 * np.eye(len(names))
        d = np.sqrt(np.diag(r))
        r = r / np.outer(d, d)
    return r


def _conditional_mix(x_resid: np.ndarray, x_keep: np.ndarray, keep: list[int],
                     r: np.ndarray) -> np.ndarray:
    """Normal scores whose columns ``keep`` come from ``x_keep`` and whose other columns are
    drawn from their conditional distribution given them, using the (whitened) residual of
    ``x_resid``: Cholesky factor of ``r`` in the order (keep, rest) (Mara & Tarantola 2012)."""
    k = r.shape[0]
    rest = [j for j in range(k) if j not in set(keep)]
    order = list(keep) + rest
    lower = np.linalg.cholesky(r[np.ix_(order, order)])
    e_keep = solve_triangular(lower, x_keep[:, order].T, lower=True).T
    e_res = solve_triangular(lower, x_resid[:, order].T, lower=True).T
    e = np.concatenate([e_keep[:, :len(keep)], e_res[:, len(keep):]], axis=1)
    x = e @ lower.T
    out = np.empty_like(x)
    out[:, order] = x
    return out


def _salib_base(k: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """SALib's Saltelli base matrices A and B: the two halves of a scrambled Sobol' sequence
    of dimension 2k, exactly as ``SALib.sample.sobol.sample`` draws them."""
    from scipy.stats import qmc

    base = qmc.Sobol(d=2 * k, scramble=True, seed=seed).random(n)
    return base[:, :k], base[:, k:]


def saltelli_matrices(k: int, n: int, seed: int, sets: dict[str, list[int]],
                      corr: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, dict, dict]:
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
    a_u, b_u = _salib_base(k, n, seed)
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
            first[name] = special.ndtr(_conditional_mix(xa, xb, cols, corr))
            total[name] = special.ndtr(_conditional_mix(xb, xa, rest, corr))
    return special.ndtr(xa), special.ndtr(xb), first, total


def _salib_indices(names: list[str], membership: list[str] | None, ya, yb, y_first: dict,
                   y_total: dict, num_resamples: int, conf_level: float, seed: int) -> dict:
    """SALib's Saltelli (2010) estimators and bootstrap on precomputed model outputs.

    Parameters
    ----------
    names : list of str
        Input variables (SALib ``names``).
    membership : list of str or None
        Group of each variable (SALib ``groups``); None for one index per variable.
    ya, yb : ndarray (N,)
        Outputs of the base matrices A and B.
    y_first, y_total : dict
        Group (or variable) -> outputs (N,) of its first-order / total cross matrix (the same
        array object when they coincide, i.e. without a correlation across the group's
        boundary).
    num_resamples, conf_level, seed
        Bootstrap settings.

    Returns
    -------
    dict
        Group -> S1, S1_conf, ST, ST_conf (interval half-widths at ``conf_level``) and the
        bootstrap resamples S1_all, ST_all (num_resamples,).
    """
    from SALib.analyze import sobol as salib_sobol

    problem = {"num_vars": len(names), "names": list(names),
               "bounds": [[0.0, 1.0]] * len(names)}
    if membership is not None:
        problem["groups"] = list(membership)
        order = list(dict.fromkeys(membership))  # SALib's group order: first appearance
    else:
        order = list(names)
    n = ya.size

    def layout(cross):  # SALib's row layout: A, AB_1 .. AB_G, B for each base sample
        y = np.empty((n, len(order) + 2))
        y[:, 0] = ya
        for i, g in enumerate(order):
            y[:, i + 1] = cross[g]
        y[:, -1] = yb
        return y.reshape(-1)

    # SALib seeds its bootstrap only when seed is truthy; seed + 1 keeps seed 0 reproducible
    kw = dict(calc_second_order=False, num_resamples=num_resamples, conf_level=conf_level,
              seed=seed + 1, keep_resamples=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s_first = salib_sobol.analyze(problem, layout(y_first), **kw)
        same = all(y_first[g] is y_total[g] for g in order)
        s_total = s_first if same else salib_sobol.analyze(problem, layout(y_total), **kw)
    return {g: {"S1": float(s_first["S1"][i]), "S1_conf": float(s_first["S1_conf"][i]),
                "S1_all": np.asarray(s_first["S1_conf_all"])[:, i],
                "ST": float(s_total["ST"][i]), "ST_conf": float(s_total["ST_conf"][i]),
                "ST_all": np.asarray(s_total["ST_conf_all"])[:, i]}
            for i, g in enumerate(order)}


def _sobol(res: SensitivityResult, scenario, engine, infos, output, n, seed, num_resamples,
           conf_level, say, only: bool):
    k = len(infos)
    names = [i.name for i in infos]
    corr = _normal_score_corr(scenario, names)
    res.sobol_method = "saltelli" if corr is None else "gaussian-copula"

    # every set whose indices we need: each input, each category, each provenance class
    cat_of = {i.name: i.category for i in infos}
    prov_of = {i.name: i.provenance for i in infos}
    cats = [c for c in ("capex", "capacity", "revenue", "costs", "finance")
            if c in cat_of.values()]
    cats += sorted(set(cat_of.values()) - set(cats))
    provs = [p for p in ("hypothetical", "sourced") if p in prov_of.values()]
    sets: dict[str, list[int]] = {}
    key_of: dict[tuple, str] = {}

    def add(label, cols):
        cols = sorted(cols)
        key = tuple(cols)
        if key not in key_of:  # the same set (e.g. a one-input category) is evaluated once
            key_of[key] = label
            sets[label] = cols
        return key_of[key]

    input_key = {nm: add(f"input:{nm}", [j]) for j, nm in enumerate(names)}
    cat_key = {c: add(f"category:{c}", [j for j, nm in enumerate(names) if cat_of[nm] == c])
               for c in cats}
    prov_key = {p: add(f"provenance:{p}", [j for j, nm in enumerate(names)
                                           if prov_of[nm] == p]) for p in provs}
    everything = tuple(range(k))
    eval_sets = {lab: cols for lab, cols in sets.items() if tuple(cols) != everything}

    a, b, first, total = saltelli_matrices(k, n, seed, eval_sets, corr)
    mats = [a, b]
    ids = {}
    for lab in eval_sets:
        for kind, store in (("first", first), ("total", total)):
            m = store[lab]
            if kind == "total" and m is first[lab]:
                ids[(lab, kind)] = ids[(lab, "first")]
                continue
            ids[(lab, kind)] = len(mats)
            mats.append(m)
    rows = n * len(mats)
    say(f"Sobol' indices: {k} inputs, N = {n}, {rows:,} model evaluations "
        f"({res.sobol_method})")
    y = engine(np.concatenate(mats))[output].reshape(len(mats), n)
    res.sobol_rows = rows
    bad = ~np.isfinite(y)
    if bad.any():
        msg = (f"Sobol' indices need the {res.output} in every design row, but it is undefined "
               f"in {100 * bad.mean():.1f} % of them (e.g. no IRR without a sign change, no "
               "payback within the horizon); analyse npv or another always-defined output")
        if only:
            raise AssumptionError(Problem(msg + " instead", parameter="--output"))
        res.notes.append(msg + "; Sobol' indices were skipped.")
        return
    ya, yb = y[0], y[1]
    if np.ptp(y) == 0:
        res.notes.append(f"the {res.output} does not vary with the uncertain inputs (variance "
                         "0), so it has no variance to split; Sobol' indices were skipped.")
        return

    def indices(labels_for: dict[str, str], per_variable: bool):
        """Indices of the sets of a partition of the inputs (name -> set label), via SALib."""
        whole = [g for g, lab in labels_for.items() if tuple(sets[lab]) == everything]
        if whole:  # one block holding every input: Var(E[Y|X]) = V exactly
            return {whole[0]: dict(S1=1.0, S1_conf=0.0, ST=1.0, ST_conf=0.0,
                                   S1_all=np.ones(num_resamples),
                                   ST_all=np.ones(num_resamples))}
        y_first = {g: y[ids[(lab, "first")]] for g, lab in labels_for.items()}
        y_total = {g: y[ids[(lab, "total")]] for g, lab in labels_for.items()}
        membership = None
        if not per_variable:
            membership = [next(g for g, lab in labels_for.items() if j in sets[lab])
                          for j in range(k)]
        return _salib_indices(names, membership, ya, yb, y_first, y_total, num_resamples,
                              conf_level, seed)

    per_input = indices({nm: input_key[nm] for nm in names}, per_variable=True)
    per_cat = indices({c: cat_key[c] for c in cats}, per_variable=False)
    per_prov = indices({p: prov_key[p] for p in provs}, per_variable=False)

    z = stats.norm.ppf(0.5 + conf_level / 2)
    rows_in = []
    for info in infos:
        s = per_input[info.name]
        rows_in.append({"input": info.name, "parameter": info.parameter,
                        "category": info.category, "provenance": info.provenance,
                        "correlated": info.name in res.correlated, **_ci_cols(s)})
    df = pd.DataFrame(rows_in)
    df["_key"] = np.maximum(df["S1"], df["ST"])
    df = df.sort_values(["_key", "input"], ascending=[False, True],
                        kind="mergesort").drop(columns="_key").reset_index(drop=True)
    res.sobol = df

    def group_df(groups, per, kind):
        rows_g = []
        for gname in groups:
            members = [i.name for i in infos if (i.category if kind == "category" else
                                                 i.provenance) == gname]
            rows_g.append({kind: gname, "n_inputs": len(members), **_ci_cols(per[gname]),
                           "sum_S1_of_inputs": float(sum(per_input[m]["S1"] for m in members)),
                           "inputs": ", ".join(members)})
        return pd.DataFrame(rows_g)

    res.groups_category = group_df(cats, per_cat, "category")
    res.groups_provenance = group_df(provs, per_prov, "provenance")

    s1_all = np.stack([per_input[nm]["S1_all"] for nm in names], axis=1).sum(axis=1)
    st_all = np.stack([per_input[nm]["ST_all"] for nm in names], axis=1).sum(axis=1)
    res.sobol_sums = {
        "sum_S1": float(sum(per_input[nm]["S1"] for nm in names)),
        "sum_S1_conf": float(z * np.std(s1_all, ddof=1)),
        "sum_ST": float(sum(per_input[nm]["ST"] for nm in names)),
        "sum_ST_conf": float(z * np.std(st_all, ddof=1)),
    }
    n_h = sum(1 for i in infos if i.provenance == "hypothetical")
    if n_h == 0:
        h = dict(S1=0.0, S1_conf=0.0, ST=0.0, ST_conf=0.0)
    else:
        h = per_prov["hypothetical"]
    c = _ci_cols(h)
    res.hypothetical_share = {
        "s1": c["S1"], "s1_low": c["S1_low"], "s1_high": c["S1_high"],
        "st": c["ST"], "st_low": c["ST_low"], "st_high": c["ST_high"],
        "n_hypothetical": n_h, "n_sourced": k - n_h, "conf_level": conf_level,
        "method": res.sobol_method,
    }
    if corr is not None:
        res.notes.append(
            "declared correlations (" + _corr_text(scenario) + ") make the inputs dependent: "
            "Sobol' indices use the Gaussian-copula estimator for dependent inputs (Mara & "
            "Tarantola 2012): S1 is the full first-order index (includes variance shared with "
            "correlated inputs), ST the independent total index; S1 may exceed ST and the S1 "
            "of groups may sum to more than 1.")


def _ci_cols(s: dict) -> dict:
    s1, c1, st, ct = (float(s["S1"]), float(s["S1_conf"]), float(s["ST"]), float(s["ST_conf"]))
    return {"S1": s1, "S1_conf": c1, "S1_low": s1 - c1, "S1_high": s1 + c1,
            "ST": st, "ST_conf": ct, "ST_low": st - ct, "ST_high": st + ct}


# ============================================================================ text output
def _table(headers: list[str], rows: list[list[str]], align: str | None = None) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]
    align = align or "l" + "r" * (len(headers) - 1)
    def line(cells):
        return "  ".join(c.ljust(w) if a == "l" else c.rjust(w)
                         for c, w, a in zip(cells, widths, align))
    out = [line(headers), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in rows]
    return out


def _f2(x) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.3f}"


def _text_sections(r: SensitivityResult) -> list[str]:
    fv = r.fmt
    unit_note = f"[{r.unit}]"
    lines = [f"Sensitivity of {r.output} {unit_note}: {r.title}",
             f"{r.model} model; base value (every input at its median) {fv(r.base_value)}",
             "", r.headline(), ""]
    if r.tornado is not None and "tornado" in r.methods:
        lines.append(f"Tornado: {r.output} with one input at its P10 / P90, every other input at "
                     "its median")
        rows = [[t.input, t.provenance[:4], fmt_value(t.value_p10, t.unit),
                 fmt_value(t.value_p90, t.unit), fv(t.output_p10), fv(t.output_p90),
                 fv(t.swing)] for t in r.tornado.itertuples()]
        lines += _table(["input", "prov", "P10", "P90", f"{r.output} @P10",
                         f"{r.output} @P90", "swing"], rows, "llrrrrr")
        lines.append("")
    if r.sobol is not None:
        ci = int(round(100 * r.conf_level))
        lines.append(f"Sobol' indices (N = {r.sobol_n}, {r.sobol_rows:,} model runs, "
                     f"{r.sobol_method}; ± = {ci} % bootstrap CI half-width)")
        rows = [[s.input, s.category, s.provenance[:4], f"{s.S1:.3f} ± {s.S1_conf:.3f}",
                 f"{s.ST:.3f} ± {s.ST_conf:.3f}"] for s in r.sobol.itertuples()]
        lines += _table(["input", "category", "prov", "first-order S1", "total ST"], rows,
                        "lllrr")
        sm = r.sobol_sums
        lines.append(f"sum of S1 = {sm['sum_S1']:.3f} ± {sm['sum_S1_conf']:.3f}" + (
            " (1 - sum = share of the variance from interactions)"
            if r.sobol_method == "saltelli" else
            " (may exceed 1: correlated inputs share variance)"))
        lines.append("")
        lines.append("Grouped indices by category")
        rows = [[g.category, str(g.n_inputs), f"{g.S1:.3f} ± {g.S1_conf:.3f}",
                 f"{g.ST:.3f} ± {g.ST_conf:.3f}"] for g in r.groups_category.itertuples()]
        lines += _table(["category", "inputs", "S1", "ST"], rows)
        lines.append("")
        lines.append("Grouped indices by provenance")
        rows = [[g.provenance, str(g.n_inputs), f"{g.S1:.3f} ± {g.S1_conf:.3f}",
                 f"{g.ST:.3f} ± {g.ST_conf:.3f}"] for g in r.groups_provenance.itertuples()]
        lines += _table(["provenance", "inputs", "S1", "ST"], rows)
        lines.append("")
    if r.rank is not None:
        lines.append(f"Rank correlations ({int(r.rank['draws'].iloc[0]):,} draws of the ordinary "
                     "run)")
        rows = [[q.input, q.provenance[:4], _f2(q.spearman), _f2(q.prcc)]
                for q in r.rank.itertuples()]
        lines += _table(["input", "prov", "Spearman", "PRCC"], rows, "llrr")
        lines.append("")
    if r.breakeven is not None:
        target = OUTPUT_LABELS.get(r.breakeven_output, r.breakeven_output)
        lines.append(f"Break-even: value of each input at which {target} = 0, others at their "
                     f"medians (searched over P{100 * BREAKEVEN_RANGE[0]:g}-"
                     f"P{100 * BREAKEVEN_RANGE[1]:g})")
        rows = []
        for q in r.breakeven.itertuples():
            yr = f" in {int(q.year)}" if q.year is not None and q.year == q.year and \
                "[" not in q.input else ""
            if q.status == "found":
                be = fmt_value(q.breakeven, q.unit) + yr
                pc = f"P{q.percentile:.1f}"
                side = f"{target} > 0 {q.positive_when}"
            else:
                be, pc = q.status, ""
                side = {"always": f"{target} > 0 over the range", "never":
                        f"{target} <= 0 over the range"}.get(q.positive_when, "")
            rows.append([q.input, fmt_value(q.median_value, q.unit), be, pc, side])
        lines += _table(["input", "median", "break-even", "percentile", ""], rows, "lrrrl")
        lines.append("")
    if r.stress is not None:
        lines.append(f"Stress: {r.output} when one input is in its lower / upper decile "
                     "(draws of the ordinary run)")
        money = r.unit in ("USD", "USD/year")
        rows = [[s.input, s.subset, f"{s.draws:,}", fv(s.p05), fv(s.p50), fv(s.p95),
                 f"{s.prob_positive:.3f}" if money else f"{100 * s.undefined_share:.1f} %"]
                for s in r.stress.itertuples()]
        lines += _table(["input", "subset", "draws", "P05", "P50", "P95",
                         f"P({r.output} > 0)" if money else "undefined"], rows, "llrrrrr")
        lines.append("")
    if r.spider is not None and "tornado" not in r.methods:
        lines.append("Spider: see --plots for the figure; table in --json.")
        lines.append("")
    for note in r.notes:
        lines.append(f"note: {note}")
    lines.append("terms: docs/concepts.md")
    return lines


def _markdown(r: SensitivityResult, figures: dict) -> str:
    fv = r.fmt
    out = [f"## Sensitivity of {r.output_label} ({r.output}, {r.unit})", "",
           f"**{r.headline()}**", "",
           f"Base value (every input at its median): {fv(r.base_value)}.", ""]
    if r.hypothetical_share is not None and r.groups_provenance is not None:
        out += ["| provenance | inputs | first-order S1 | total ST |", "|---|---:|---:|---:|"]
        for g in r.groups_provenance.itertuples():
            out.append(f"| {g.provenance} | {g.n_inputs} | {g.S1:.2f} [{g.S1_low:.2f}, "
                       f"{g.S1_high:.2f}] | {g.ST:.2f} [{g.ST_low:.2f}, {g.ST_high:.2f}] |")
        out += ["", f"S1 of the hypothetical group is the share of the variance expected to "
                "vanish if every hypothetical input were known exactly; ST adds its "
                f"interactions with sourced inputs ({int(round(100 * r.conf_level))} % "
                "bootstrap intervals).", ""]
    for key, title in (("provenance", "Variance by provenance"), ("tornado", "Tornado"),
                       ("sobol", "Sobol' indices"), ("spider", "Spider"),
                       ("stress", "Stress view")):
        if key in figures:
            out += [f"![{title}]({figures[key]})", ""]
    if r.tornado is not None:
        out += ["### Tornado (one input at P10 / P90, others at their medians)", "",
                "| input | provenance | P10 | P90 | output @P10 | output @P90 | swing |",
                "|---|---|---:|---:|---:|---:|---:|"]
        for t in r.tornado.itertuples():
            out.append(f"| {t.input} | {t.provenance} | {fmt_value(t.value_p10, t.unit)} | "
                       f"{fmt_value(t.value_p90, t.unit)} | {fv(t.output_p10)} | "
                       f"{fv(t.output_p90)} | {fv(t.swing)} |")
        out.append("")
    if r.sobol is not None:
        out += [f"### Sobol' indices (N = {r.sobol_n}, {r.sobol_method})", "",
                "| input | category | provenance | S1 | ST |", "|---|---|---|---:|---:|"]
        for s in r.sobol.itertuples():
            out.append(f"| {s.input} | {s.category} | {s.provenance} | {s.S1:.3f} ± "
                       f"{s.S1_conf:.3f} | {s.ST:.3f} ± {s.ST_conf:.3f} |")
        out += ["", "| category | inputs | S1 | ST |", "|---|---:|---:|---:|"]
        for g in r.groups_category.itertuples():
            out.append(f"| {g.category} | {g.n_inputs} | {g.S1:.3f} ± {g.S1_conf:.3f} | "
                       f"{g.ST:.3f} ± {g.ST_conf:.3f} |")
        out.append("")
    if r.breakeven is not None:
        target = OUTPUT_LABELS.get(r.breakeven_output, r.breakeven_output)
        out += [f"### Break-even values ({target} = 0, others at their medians)", "",
                "| input | median | break-even | percentile |", "|---|---:|---:|---:|"]
        for q in r.breakeven.itertuples():
            be = fmt_value(q.breakeven, q.unit) if q.status == "found" else q.status
            pc = f"P{q.percentile:.1f}" if q.status == "found" else ""
            out.append(f"| {q.input} | {fmt_value(q.median_value, q.unit)} | {be} | {pc} |")
        out.append("")
    for note in r.notes:
        out.append(f"*Note: {note}*")
    return "\n".join(out) + "\n"


# ============================================================================ command line
def cmd_sensitivity(args) -> int:
    from .cli import _default_paths
    from .loading import load_scenario

    problems = []
    if args.draws < 10:
        problems.append(Problem(f"--draws {args.draws} is too few; give at least 10", parameter="--draws"))
    if args.seed < 0:
        problems.append(Problem(f"--seed {args.seed} is negative; give a non-negative integer",
                                parameter="--seed"))
    if args.top < 1:
        problems.append(Problem(f"--top {args.top} is too few; give at least 1", parameter="--top"))
    if problems:
        raise AssumptionError(problems)
    path = _default_paths([args.path] if args.path else None)[0]
    sc = load_scenario(path, scenario=args.scenario)
    if args.plots:  # before the work: a folder that cannot take the figures stops here
        from pathlib import Path

        from .outputs import check_target

        check_target(Path(args.plots), "--plots")
    res = sensitivity(sc, output=args.output, methods=args.method, draws=args.draws,
                      seed=args.seed, design=args.design, sobol_n=args.sobol_n,
                      num_resamples=args.resamples, top=args.top,
                      progress=not args.quiet and not args.json)
    written = []
    if args.plots:
        from pathlib import Path

        from .sensitivity_plots import save_figures

        written = save_figures(res, Path(args.plots),
                               command=f"capex sensitivity {path} --plots {args.plots}")
    if args.json:
        d = res.to_json_dict()
        d["figures"] = [str(p) for p in written]
        print_json(d)
    else:
        print(res.summary_text())
        if written:
            print(f"\nwrote {len(written)} figures to {args.plots}")
    return 0


def register_cli(sub, epilog, add_run_options):
    """Add ``capex sensitivity`` to the ``capex`` parser."""
    p = sub.add_parser(
        "sensitivity", epilog=epilog,
        help="what drives the answer: tornado, spider, rank correlations, Sobol' indices by "
             "input, category and provenance, break-even values, stress view")
    p.add_argument("path", nargs="?", metavar="PATH",
                   help="assumption file (default: assumptions/anthropic_fluidstack.yaml)")
    add_run_options(p, draws=DEFAULT_DRAWS)
    p.add_argument("--output", default=None, metavar="NAME",
                   help="output to analyse: npv (default), irr, payback_years, peak_funding, "
                        "levelized_cost_per_gpu_hour; industry: revenue_gap_final (default), "
                        "cumulative_revenue_gap_total, gap_close_year, pv_revenue_gap")
    p.add_argument("--method", default="all", metavar="M[,M...]",
                   help=f"any of {', '.join(METHODS)} (comma-separated) or all (default)")
    p.add_argument("--sobol-n", type=int, default=DEFAULT_SOBOL_N, metavar="N",
                   help=f"base samples of the Sobol' design, a power of two (default "
                        f"{DEFAULT_SOBOL_N})")
    p.add_argument("--resamples", type=int, default=DEFAULT_RESAMPLES,
                   help=f"bootstrap resamples of the Sobol' intervals (default "
                        f"{DEFAULT_RESAMPLES})")
    p.add_argument("--top", type=int, default=6, help="inputs in the spider and stress views")
    p.add_argument("--plots", metavar="DIR", help="write the figures (PNG) into DIR")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.set_defaults(func=cmd_sensitivity)
    return p
