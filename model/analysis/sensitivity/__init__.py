"""Sensitivity analysis: which assumptions move the answer, and how much rests on hypotheses.

Shaped like SALib: a design (:mod:`.design`: one-at-a-time rows, the ordinary run, Saltelli
matrices) is evaluated (:mod:`.evaluate`: the vectorized engine on uniform rows), analysed
(:mod:`.analyze`) and returned as a result (:mod:`.result`).

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

import sys
import time

import numpy as np

from ...core.errors import AssumptionError, Problem
from ...core.scenario import InputForm, Scenario
from ...core.vocabulary import is_built_in, is_gap_model, key_metric, outputs_of
from ...engine.designs import input_variables
from .analyze import breakeven, rank, sobol, spider, stress, tornado
from .design import ordinary_run
from .evaluate import Evaluator, input_info
from .result import SensitivityResult, corr_text

#: Every method; ``all`` selects them all.
METHODS = ("tornado", "spider", "rank", "sobol", "breakeven", "stress")
DEFAULT_DRAWS = 10_000
DEFAULT_SOBOL_N = 4096
DEFAULT_RESAMPLES = 200
_GAP_OUTPUTS = ("revenue_gap_final", "cumulative_revenue_gap_total", "pv_revenue_gap")


def output_units(scenario: Scenario) -> dict[str, str]:
    """Valid ``output`` names of a scenario and their units."""
    out = {o.name: o.unit for o in outputs_of(scenario.model, "metric") if o.name != "total_spend"}
    if is_gap_model(scenario.model) and "discount_rate" not in scenario.parameters:
        out.pop("pv_revenue_gap", None)
    return out


def default_output(scenario: Scenario) -> str:
    """``npv`` for programmes, ``revenue_gap_final`` for the industry model, a user model's
    first declared metric."""
    return key_metric(scenario.model)


def breakeven_output(scenario: Scenario, output: str) -> str:
    """Output whose zero defines break-even: NPV (programme), the chosen gap (industry), the
    chosen output (a user model)."""
    if not is_built_in(scenario.model):
        return output
    if is_gap_model(scenario.model):
        return output if output in _GAP_OUTPUTS else "revenue_gap_final"
    return "npv"


def _check_output(scenario: Scenario, output: str | None) -> str:
    valid = output_units(scenario)
    if output is None:
        return default_output(scenario)
    if output not in valid:
        raise AssumptionError(
            Problem(
                f"output {output!r} is not an output of the {scenario.model} model; use one of "
                f"{', '.join(valid)}",
                parameter="--output",
            )
        )
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
            raise AssumptionError(
                Problem(
                    f"method {m!r} unknown; use one or more of {', '.join(METHODS)} (comma-"
                    "separated) or all",
                    parameter="--method",
                )
            )
    if not out:
        raise AssumptionError(
            Problem(
                f"no method given; use one or more of {', '.join(METHODS)} or all",
                parameter="--method",
            )
        )
    return tuple(m for m in METHODS if m in out)


# ============================================================================ main entry
def sensitivity(
    scenario: Scenario,
    output: str | None = None,
    methods=("tornado", "spider", "rank", "sobol", "breakeven", "stress"),
    draws: int = DEFAULT_DRAWS,
    seed: int = 0,
    design: str = "mc",
    sobol_n: int = DEFAULT_SOBOL_N,
    num_resamples: int = DEFAULT_RESAMPLES,
    conf_level: float = 0.95,
    top: int = 6,
    results=None,
    progress: bool = False,
    scheduler=None,
) -> SensitivityResult:
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
    scheduler : str or distributed.Client, optional
        Where the designs' rows and the ordinary run are evaluated (``local``, ``dask``, an
        address; :mod:`model.engine.schedulers`); by default this process (never changes a
        number).

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
    variables = input_variables(scenario)
    problems = setting_problems(scenario, draws, seed, sobol_n, conf_level, num_resamples)
    if not variables and not problems:
        problems.append(
            Problem(
                "has no uncertain input, so there is nothing to analyse; give "
                "some parameters a distribution",
                str(scenario.path),
            )
        )
    if problems:
        raise AssumptionError(problems)
    names = [v.name for v in variables]
    infos = [input_info(scenario, v) for v in variables]
    be_out = breakeven_output(scenario, output)
    engine = Evaluator(scenario, names, [output, be_out], seed, scheduler)
    settings = dict(
        methods=methods,
        draws=int(draws),
        seed=int(seed),
        design=design,
        sobol_n=int(sobol_n),
        conf_level=float(conf_level),
    )
    res = _new_result(scenario, output, be_out, infos, settings)
    say = _reporter(progress)
    t0 = time.perf_counter()
    base = engine(np.full((1, len(names)), 0.5))
    res.base_value = float(base[output][0])
    _one_at_a_time(res, scenario, engine, infos, output, be_out, float(base[be_out][0]), top)
    if {"rank", "stress"} & set(methods):
        _from_ordinary_run(res, scenario, engine, names, infos, output, design, top, results, say)
    if "sobol" in methods:
        t = time.perf_counter()
        sobol(
            res,
            scenario,
            engine,
            infos,
            output,
            int(sobol_n),
            int(seed),
            int(num_resamples),
            float(conf_level),
            say,
            only=(methods == ("sobol",)),
        )
        res.timings["sobol"] = time.perf_counter() - t
    if "tornado" not in methods:
        res.tornado = None  # computed only to rank the inputs of the spider/stress views
    res.notes.extend(_notes(res, scenario, infos, output))
    res.timings["total"] = time.perf_counter() - t0
    return res


def _new_result(scenario, output, be_out, infos, settings) -> SensitivityResult:
    return SensitivityResult(
        scenario=scenario.label,
        title=scenario.title,
        model=scenario.model,
        output=output,
        unit=output_units(scenario)[output],
        breakeven_output=be_out,
        correlated=tuple(_correlated_names(scenario)),
        inputs=infos,
        **settings,
    )


def setting_problems(scenario, draws, seed, sobol_n, conf_level, num_resamples) -> list:
    """What is wrong with the settings of an analysis."""
    problems = []
    if scenario.partial:
        problems.append(
            Problem(
                "is a partial base (partial: true); analyse a file that extends it",
                str(scenario.path),
            )
        )
    if int(draws) < 10:
        problems.append(
            Problem(f"--draws {draws} is too few; give at least 10", parameter="--draws")
        )
    if int(seed) < 0:
        problems.append(
            Problem(f"--seed {seed} is negative; give a non-negative integer", parameter="--seed")
        )
    n = int(sobol_n)
    if n < 16 or n & (n - 1):
        problems.append(
            Problem(
                f"--sobol-n {sobol_n} is not a power of two of at least 16; use "
                "one (e.g. 1024, 4096) so the Sobol' sequence stays balanced",
                parameter="--sobol-n",
            )
        )
    if not 0 < conf_level < 1:
        problems.append(
            Problem(
                "confidence level is not between 0 and 1; give e.g. 0.95", parameter="conf_level"
            )
        )
    if int(num_resamples) < 10:
        problems.append(
            Problem(
                f"{num_resamples} bootstrap resamples are too few; give at least 10",
                parameter="--resamples",
            )
        )
    return problems


def _correlated_names(scenario: Scenario) -> list[str]:
    return sorted({c.a for c in scenario.correlations} | {c.b for c in scenario.correlations})


def _reporter(progress: bool):
    def say(msg):
        if progress:
            print(f"capex sensitivity: {msg}", file=sys.stderr, flush=True)

    return say


def _one_at_a_time(res, scenario, engine, infos, output, be_out, be_base, top) -> None:
    """Tornado (also ranking the inputs for the spider and stress views), spider, break-even.

    A process's yearly innovations are left out (one year's noise at its P10 says little); its
    parameters (start, drift, ...) stay, and its Sobol' group index carries the whole process."""
    innovations = {i.name for i in infos if _is_innovation(scenario, i)}
    if innovations:
        res.notes.append(
            "tornado, spider and break-even leave out the yearly innovations of processes; "
            "the Sobol' index of each process (one group: its parameters and innovations) "
            "gives its whole share"
        )
    methods = set(res.methods)
    t0 = time.perf_counter()
    if {"tornado", "spider", "stress"} & methods:
        table = tornado(scenario, engine, infos, output, res.base_value)
        res.tornado = table[~table["input"].isin(innovations)].reset_index(drop=True)
        res.timings["tornado"] = time.perf_counter() - t0
    if "spider" in methods:
        t = time.perf_counter()
        res.spider = spider(scenario, engine, infos, output, _order(res, infos)[:top])
        res.timings["spider"] = time.perf_counter() - t
    if "breakeven" in methods:
        t = time.perf_counter()
        table = breakeven(scenario, engine, infos, be_out, be_base)
        res.breakeven = table[~table["input"].isin(innovations)].reset_index(drop=True)
        res.timings["breakeven"] = time.perf_counter() - t


def _is_innovation(scenario: Scenario, info) -> bool:
    """Whether a design column is one year's innovation of a process (``name[2027]``)."""
    p = scenario.parameters.get(info.parameter)
    return p is not None and p.form == "process" and "[" in info.name


def _order(res, infos) -> list[str]:
    return list(res.tornado["input"]) if res.tornado is not None else [i.name for i in infos]


def _from_ordinary_run(
    res, scenario, engine, names, infos, output, design, top, results, say
) -> None:
    """Rank correlations and the stress view, from the draws ``capex run`` makes."""
    t = time.perf_counter()
    say(f"ordinary run, {res.draws:,} draws")
    u, y = ordinary_run(scenario, engine, names, output, res.draws, res.seed, design, results)
    if "rank" in res.methods:
        res.rank = rank(infos, u, y, res.conf_level, res.notes)
    if "stress" in res.methods:
        res.stress = stress(infos, u, y, _order(res, infos)[:top], output)
    res.timings["ordinary_run"] = time.perf_counter() - t


def _notes(res, scenario, infos, output) -> list[str]:
    """The caveats printed with the tables."""
    notes = []
    one_at_a_time = {"tornado", "spider", "breakeven"} & set(res.methods)
    if res.tornado is not None and res.tornado["swing"].isna().any():
        notes.append(
            f"n/a in the tornado: the {output} is undefined with that input at P10 or "
            "P90 (e.g. no payback within the horizon, no IRR); such inputs are listed "
            "first."
        )
    paths = [i for i in infos if i.form == InputForm.SERIES and "[" not in i.name]
    if one_at_a_time and paths:
        notes.append(
            "a series input moves as one path; its values are shown for one year ("
            + ", ".join(f"{i.name} in {i.year}" for i in paths)
            + ")."
        )
    if scenario.correlations and one_at_a_time:
        notes.append(
            "tornado, spider and break-even move one input at a time with the others at "
            f"their medians, ignoring the declared correlations ({corr_text(scenario)});"
            " rank correlations, stress and Sobol' indices respect them."
        )
    return notes
