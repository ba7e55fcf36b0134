"""Bayesian calibration of time series (revenue, GPU-hour prices) to sourced observations.

A calibration fits one model (:data:`MODELS`) to one observation file
(:func:`model.observations.load_observations`) with PyMC, checks the sampler's diagnostics
(R-hat, bulk and tail ESS, divergences) and turns the posterior into predictive draws that the
Monte Carlo uses as a time-series input::

    cal = fit("assumptions/observations/anthropic_revenue.csv", "logistic", cache_dir=".cache")
    cal.diagnostics["ok"]                         # False -> warned (CalibrationError if strict)
    cal.predictive_series([2026, 2027, 2028], n=10_000, seed=1)   # (n, 3) [USD/year]
    cal.prob_at_least(2028, 70e9)                 # P(calendar-2028 revenue >= $70B)

Revenue models describe the run-rate ``R(t)`` [USD/year], an instantaneous annualised figure.
A ``run_rate`` observation at date ``t`` is ``R(t)``; a ``calendar_year`` observation for year
``Y`` is the revenue earned in that year, the integral of ``R`` over ``[Y, Y+1]`` (Gauss-Legendre
quadrature). The price model describes ``p(t)`` [USD/GPU-hour]; the yearly figure is the average
over the year. Every model observes ``log(value) ~ Normal(log prediction, noise)``; projections
(``kind=projection``) are never fitted: they become targets, e.g. P(revenue 2028 >= $70B).

Posteriors are saved as NetCDF, keyed by a hash of the observation file's bytes, the priors and
the model and sampler settings, so runs do not re-sample.

ArviZ 0.x (``InferenceData``) and 1.x (``xarray.DataTree``) differ: every call that depends on
the version goes through the small ``_az_*`` helpers below.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import xarray as xr

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)  # arviz 0.x announces its 1.0 refactor
    import arviz as az

from .errors import (AssumptionError, CacheWarning, CalibrationError, CapexWarning,
                     ObservationError, Problem, display_path)
from .observations import ModelPriors, Prior, load_observations, load_priors

__all__ = [
    "MODELS",
    "REVENUE_MODELS",
    "PRICE_MODELS",
    "Calibration",
    "CalibrationWarning",
    "ModelSpec",
    "ParamSpec",
    "compare",
    "default_cache_dir",
    "diagnose",
    "fit",
    "models_for",
    "report_section",
]

#: Bump when the model code changes in a way that invalidates cached posteriors.
CALIBRATION_FORMAT = "capex-calibration-1"
#: Quadrature nodes per calendar year.
N_NODES = 12
#: Diagnostic thresholds: max R-hat, min ESS (bulk and tail) per chain, max divergences.
RHAT_MAX = 1.01
ESS_PER_CHAIN_MIN = 100
DIVERGENCES_MAX = 0

_log = logging.getLogger(__name__)


class CalibrationWarning(CapexWarning):
    """A calibration failed its diagnostics but is used anyway (``strict=False``)."""


# ============================================================================================
# ArviZ / PyMC version helpers (arviz 0.x: InferenceData; arviz 1.x: xarray.DataTree)

AZ_MAJOR = int(az.__version__.split(".")[0])


def _az_group(idata, name: str) -> xr.Dataset:
    """One group (``posterior``, ``sample_stats``, ...) as an ``xarray.Dataset``."""
    g = idata[name]
    return g if isinstance(g, xr.Dataset) else g.to_dataset()


def _az_has_group(idata, name: str) -> bool:
    """Whether ``idata`` has the group ``name``."""
    if hasattr(idata, "groups") and callable(idata.groups):  # arviz 0.x
        return name in idata.groups()
    return name in getattr(idata, "children", {})  # DataTree


def _az_add_groups(idata, other, names: list[str]):
    """Copy groups ``names`` of ``other`` into ``idata``; returns ``idata``."""
    for name in names:
        if not _az_has_group(other, name):
            continue
        if hasattr(idata, "add_groups"):  # arviz 0.x
            if _az_has_group(idata, name):
                continue
            idata.add_groups({name: _az_group(other, name)})
        else:  # DataTree
            idata[name] = xr.DataTree(_az_group(other, name))
    return idata


def _az_rhat_ess(ds: xr.Dataset) -> tuple[xr.Dataset, xr.Dataset, xr.Dataset]:
    """Rank-normalised split R-hat, bulk ESS and tail ESS of every variable."""
    return az.rhat(ds), az.ess(ds, method="bulk"), az.ess(ds, method="tail")


def _az_loo(idata) -> dict:
    """PSIS-LOO: ``{elpd, se, p, pareto_k (array), max_pareto_k, warning, messages}``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = az.loo(idata, pointwise=True)
    # 0.x: a pandas Series (elpd_loo, p_loo, ...); 1.x: a dataclass (elpd, p, ...) that also
    # supports res[key]
    elpd, p = (res["elpd_loo"], res["p_loo"]) if AZ_MAJOR < 1 else (res["elpd"], res["p"])
    k = np.asarray(res["pareto_k"], dtype=float).ravel()
    max_k = float(np.nanmax(k)) if k.size else math.nan
    try:
        flagged = bool(res["warning"])
    except (KeyError, AttributeError, TypeError):  # not reported by every ArviZ version
        flagged = bool(max_k > 0.7)
    return {
        "elpd": float(elpd),
        "se": float(res["se"]),
        "p": float(p),
        "pareto_k": k,
        "max_pareto_k": max_k,
        "warning": flagged,
        "messages": sorted({str(w.message).split("\n")[0] for w in caught}),
    }


def _az_compare(idatas: dict) -> pd.DataFrame:
    """``arviz.compare`` by PSIS-LOO, with 1.x column names (elpd, p, elpd_diff, weight, se,
    dse, warning) whatever the version."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if AZ_MAJOR < 1:
            df = az.compare(idatas, ic="loo")
        else:
            df = az.compare(idatas)
    df = df.rename(columns={"elpd_loo": "elpd", "p_loo": "p"})
    return df.drop(columns=[c for c in ("scale",) if c in df.columns])


def _az_to_netcdf(idata, path: Path) -> None:
    """Write ``idata`` (all groups) to NetCDF, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".nc", dir=path.parent)
    os.close(fd)
    try:
        idata.to_netcdf(tmp, engine="h5netcdf")  # InferenceData and DataTree alike
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _az_from_netcdf(path: Path):
    """Read a file written by :func:`_az_to_netcdf` fully into memory."""
    if AZ_MAJOR < 1:
        with az.rc_context({"data.load": "eager"}):
            return az.from_netcdf(str(path), engine="h5netcdf")
    with xr.open_datatree(str(path), engine="h5netcdf") as tree:
        return tree.load().copy()


def _pm_sample(pm, *, draws, tune, chains, cores, seed, target_accept, initvals,
               init="jitter+adapt_diag"):
    """``pymc.sample`` with the log-likelihood stored, quietly, on pymc 5 and 6."""
    kw = dict(draws=draws, tune=tune, chains=chains, cores=cores, random_seed=seed,
              target_accept=target_accept, progressbar=False, initvals=initvals,
              compute_convergence_checks=False, init=init)
    try:
        return pm.sample(**kw, idata_kwargs={"log_likelihood": True})
    except TypeError:  # idata_kwargs not accepted: compute afterwards
        idata = pm.sample(**kw)
        pm.compute_log_likelihood(idata, progressbar=False)
        return idata


@contextlib.contextmanager
def _quiet_pymc():
    loggers = [logging.getLogger(n) for n in ("pymc", "pymc.sampling", "pytensor")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for lg, lv in zip(loggers, levels):
            lg.setLevel(lv)


# ============================================================================================
# models


@dataclass(frozen=True)
class ParamSpec:
    """A model parameter that needs a prior.

    Parameters
    ----------
    name : str
        Name in the priors file.
    units : tuple of str
        Accepted units (for ``level``: the series' dimension, filled in per model).
    families : tuple of str
        Accepted prior families.
    meaning : str
    log_scale : bool
        Sampled as ``log_<name>`` (a lognormal level is a normal log-level).
    """

    name: str
    units: tuple[str, ...]
    families: tuple[str, ...]
    meaning: str
    log_scale: bool = False


@dataclass(frozen=True)
class ModelSpec:
    """A calibration model.

    Parameters
    ----------
    name : str
    dimension : str
        Unit of the series it fits: ``USD/year`` (revenue run-rate) or ``USD/GPU-hour``.
    params : tuple of ParamSpec
        Parameters with priors (``noise`` last).
    log_curve : callable
        ``log_curve(xp, p, dt)``: log of the curve at ``dt`` years after the reference date,
        with ``xp`` numpy or ``pytensor.tensor`` and ``p`` a dict of parameter values (the
        level as ``log_level``).
    description : str
    derived : callable, optional
        ``derived(xp, p) -> dict`` of deterministic quantities to report (e.g. ``cap``).
    initvals : callable, optional
        ``initvals(chains) -> list of dict``: starting points per chain.
    """

    name: str
    dimension: str
    params: tuple[ParamSpec, ...]
    log_curve: Callable
    description: str
    derived: Callable | None = None
    initvals: Callable | None = None

    @property
    def curve_params(self) -> list[str]:
        """Names of the curve's parameters as the posterior stores them."""
        return [("log_" + p.name if p.log_scale else p.name)
                for p in self.params if p.name != "noise"]

    @property
    def free_params(self) -> list[str]:
        """Names of the sampled parameters (what the diagnostics look at)."""
        return [("log_" + p.name if p.log_scale else p.name) for p in self.params]


def _level(unit: str) -> ParamSpec:
    what = "run-rate" if unit == "USD/year" else "price"
    return ParamSpec("level", (unit,), ("lognormal",),
                     f"{what} at the reference date [{unit}]", log_scale=True)


_GROWTH = ParamSpec("growth", ("1/year",), ("lognormal", "normal"),
                    "growth rate of log run-rate at the reference date [1/year]")
_HEADROOM = ParamSpec("headroom", ("log-ratio",), ("lognormal",),
                      "ln(cap / run-rate at the reference date) [log-ratio]")
_DECAY = ParamSpec("growth_decay", ("1/year",), ("lognormal",),
                   "rate at which the excess growth fades [1/year]")
_LONG_RUN = ParamSpec("long_run_growth", ("1/year",), ("normal",),
                      "growth rate the run-rate settles to [1/year]")
_DECLINE = ParamSpec("decline", ("1/year",), ("normal", "lognormal"),
                     "yearly decline of log price [1/year]")
_NOISE = ParamSpec("noise", ("log",), ("lognormal", "halfnormal"),
                   "standard deviation of log(observed / model) [log]")


def _exponential(xp, p, dt):
    return p["log_level"] + p["growth"] * dt


def _logistic(xp, p, dt):
    h = p["headroom"]
    r = p["growth"] / (-xp.expm1(-h))
    return p["log_level"] + h - xp.logaddexp(0.0, xp.log(xp.expm1(h)) - r * dt)


def _gompertz(xp, p, dt):
    h = p["headroom"]
    return p["log_level"] - h * xp.expm1(-p["growth"] * dt / h)


def _decaying_growth(xp, p, dt):
    c = p["growth_decay"]
    g_inf = p["long_run_growth"]
    return p["log_level"] + g_inf * dt - (p["growth"] - g_inf) * xp.expm1(-c * dt) / c


def _exp_decline(xp, p, dt):
    return p["log_level"] - p["decline"] * dt


def _cap(xp, p):
    return {"cap": xp.exp(p["log_level"] + p["headroom"])}


_REV = "USD/year"
_PRICE = "USD/GPU-hour"

#: The calibration models, by name.
MODELS: dict[str, ModelSpec] = {
    "exponential": ModelSpec(
        "exponential", _REV, (_level(_REV), _GROWTH, _NOISE), _exponential,
        "constant log-growth (no deceleration): the baseline the others must beat"),
    "logistic": ModelSpec(
        "logistic", _REV, (_level(_REV), _GROWTH, _HEADROOM, _NOISE), _logistic,
        "logistic growth towards a cap (symmetric S-curve)", derived=_cap),
    "gompertz": ModelSpec(
        "gompertz", _REV, (_level(_REV), _GROWTH, _HEADROOM, _NOISE), _gompertz,
        "Gompertz growth towards a cap: log-growth decays exponentially to zero", derived=_cap),
    "decaying_growth": ModelSpec(
        "decaying_growth", _REV, (_level(_REV), _GROWTH, _DECAY, _LONG_RUN, _NOISE),
        _decaying_growth,
        "log-growth decaying exponentially to a long-run rate (no cap)"),
    "exp_decline": ModelSpec(
        "exp_decline", _PRICE, (_level(_PRICE), _DECLINE, _NOISE), _exp_decline,
        "exponential price decline"),
}
REVENUE_MODELS = ("exponential", "logistic", "gompertz", "decaying_growth")
PRICE_MODELS = ("exp_decline",)


def models_for(unit: str) -> list[str]:
    """Names of the models that fit a series in ``unit`` (``USD/year`` or ``USD/GPU-hour``)."""
    return [n for n, s in MODELS.items() if s.dimension == unit]


# ============================================================================================
# design: where and how each observation is compared with the curve


def _nodes(n: int = N_NODES) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes on [0, 1] and their weights (sum 1)."""
    x, w = np.polynomial.legendre.leggauss(n)
    return (x + 1.0) / 2.0, w / 2.0


def _design(measures, t, n: int = N_NODES) -> tuple[np.ndarray, np.ndarray]:
    """Times [decimal year] and log-weights, shape (rows, n), such that
    ``log value = logsumexp(log_curve(times) + logw, axis=1)``.

    An instantaneous row (run_rate, price) repeats its date with weight 1/n; a calendar-year
    row integrates the curve over ``[Y, Y+1]``.
    """
    x, w = _nodes(n)
    t = np.asarray(t, dtype=float)
    times = np.repeat(t[:, None], n, axis=1)
    logw = np.full(times.shape, -math.log(n))
    cal = np.asarray([m == "calendar_year" for m in measures])
    times[cal] = t[cal, None] + x[None, :]
    logw[cal] = np.log(w)[None, :]
    return times, logw


def _logsumexp_np(a: np.ndarray, axis: int) -> np.ndarray:
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    return np.squeeze(m, axis=axis) + np.log(np.sum(np.exp(a - m), axis=axis))


# ============================================================================================
# priors and model building


def _resolve_priors(spec: ModelSpec, priors: dict[str, ModelPriors], priors_file: str,
                    series_unit: str) -> ModelPriors:
    """The priors of ``spec``, checked against its parameters."""
    if spec.name not in priors:
        raise ObservationError(Problem(
            f"no priors for model {spec.name!r}; add a '{spec.name}:' block under models: with "
            f"reference_date and {', '.join(p.name for p in spec.params)}", priors_file))
    mp = priors[spec.name]
    problems = []
    for ps in spec.params:
        pr = mp.params.get(ps.name)
        if pr is None:
            problems.append(Problem(
                f"missing prior {ps.name!r} ({ps.meaning}); add it with distribution, unit and "
                "source or hypothetical", priors_file, mp.line, spec.name))
            continue
        units = (series_unit,) if ps.name == "level" else ps.units
        unit_ok = pr.unit in units
        if ps.name == "level" and not unit_ok:
            from .units import UnknownUnit, parse_unit

            with contextlib.suppress(UnknownUnit):
                unit_ok = parse_unit(pr.unit)[0] == series_unit
        if not unit_ok:
            problems.append(Problem(
                f"unit {pr.unit!r} does not fit {ps.name} ({ps.meaning}); use "
                f"{' or '.join(units)}", priors_file, pr.line, f"{spec.name}.{ps.name}"))
        if pr.distribution not in ps.families:
            problems.append(Problem(
                f"distribution {pr.distribution} is not allowed for {ps.name}; use "
                f"{' or '.join(ps.families)}", priors_file, pr.line, f"{spec.name}.{ps.name}"))
    extra = set(mp.params) - {p.name for p in spec.params}
    for name in sorted(extra):
        problems.append(Problem(
            f"model {spec.name} has no parameter {name!r}; remove it (parameters: "
            f"{', '.join(p.name for p in spec.params)})", priors_file, mp.params[name].line,
            f"{spec.name}.{name}"))
    if problems:
        raise ObservationError(problems)
    return mp


def _rv(pm, ps: ParamSpec, pr: Prior):
    a = pr.args
    if ps.log_scale:  # lognormal quantity sampled on the log scale
        return pm.Normal("log_" + ps.name, mu=math.log(a["median"]), sigma=a["sigma"])
    if pr.distribution == "lognormal":
        return pm.LogNormal(ps.name, mu=math.log(a["median"]), sigma=a["sigma"])
    if pr.distribution == "normal":
        return pm.Normal(ps.name, mu=a["mu"], sigma=a["sigma"])
    if pr.distribution == "halfnormal":
        return pm.HalfNormal(ps.name, sigma=a["sigma"])
    raise AssertionError(pr.distribution)


def _build(spec: ModelSpec, mp: ModelPriors, obs: pd.DataFrame):
    """The PyMC model of ``spec`` for the observation rows ``obs``."""
    import pymc as pm
    import pytensor.tensor as pt

    times, logw = _design(obs["measure"].tolist(), obs["t"].to_numpy())
    coords = {"obs_id": obs["line"].astype(int).tolist()}
    with pm.Model(coords=coords) as m:
        p = {}
        for ps in spec.params:
            rv = _rv(pm, ps, mp.params[ps.name])
            p[("log_" + ps.name) if ps.log_scale else ps.name] = rv
            if ps.log_scale:
                pm.Deterministic(ps.name, pt.exp(rv))
        if spec.derived is not None:
            for k, v in spec.derived(pt, p).items():
                pm.Deterministic(k, v)
        lc = spec.log_curve(pt, p, pt.as_tensor_variable(times - mp.reference_date))
        mu = pt.logsumexp(lc + logw, axis=1)
        pm.Normal("obs", mu=mu, sigma=p["noise"], observed=np.log(obs["value"].to_numpy()),
                  dims="obs_id")
    return m


# ============================================================================================
# diagnostics


def diagnose(idata, var_names: list[str], *, rhat_max: float = RHAT_MAX,
             ess_per_chain_min: float = ESS_PER_CHAIN_MIN,
             divergences_max: int = DIVERGENCES_MAX) -> dict:
    """Convergence diagnostics of a posterior.

    Parameters
    ----------
    idata : arviz.InferenceData or xarray.DataTree
    var_names : list of str
        Sampled parameters to check.
    rhat_max : float
        Largest acceptable rank-normalised split R-hat.
    ess_per_chain_min : float
        Smallest acceptable bulk and tail ESS, per chain.
    divergences_max : int
        Largest acceptable number of divergent transitions.

    Returns
    -------
    dict
        ``max_rhat``, ``min_ess_bulk``, ``min_ess_tail``, ``divergences``, ``chains``,
        ``draws``, ``ok`` (all thresholds met) and ``messages`` (one per failure, naming the
        parameters, then what to do).
    """
    post = _az_group(idata, "posterior")[var_names]
    chains, draws = int(post.sizes["chain"]), int(post.sizes["draw"])
    rhat, ess_b, ess_t = _az_rhat_ess(post)

    r = {v: float(np.nanmax(np.asarray(rhat[v]))) for v in var_names}
    eb = {v: float(np.nanmin(np.asarray(ess_b[v]))) for v in var_names}
    et = {v: float(np.nanmin(np.asarray(ess_t[v]))) for v in var_names}
    div = 0
    if _az_has_group(idata, "sample_stats"):
        ss = _az_group(idata, "sample_stats")
        if "diverging" in ss:
            div = int(np.asarray(ss["diverging"]).sum())
    ess_min = ess_per_chain_min * chains
    messages = []
    bad_r = [f"{v} ({x:.3f})" for v, x in r.items() if not x <= rhat_max]
    if bad_r:
        messages.append(f"R-hat above {rhat_max}: {', '.join(bad_r)}: chains disagree (not "
                        "converged or not identified)")
    bad_b = [f"{v} ({x:.0f})" for v, x in eb.items() if not x >= ess_min]
    if bad_b:
        messages.append(f"bulk ESS below {ess_min:.0f}: {', '.join(bad_b)}")
    bad_t = [f"{v} ({x:.0f})" for v, x in et.items() if not x >= ess_min]
    if bad_t:
        messages.append(f"tail ESS below {ess_min:.0f}: {', '.join(bad_t)}")
    if div > divergences_max:
        messages.append(f"{div} divergent transitions: the posterior geometry is hard for "
                        "NUTS (raise target_accept, or reparameterise)")
    return {
        "max_rhat": max(r.values()) if r else math.nan,
        "min_ess_bulk": min(eb.values()) if eb else math.nan,
        "min_ess_tail": min(et.values()) if et else math.nan,
        "divergences": div,
        "chains": chains,
        "draws": draws,
        "ok": not messages,
        "messages": messages,
    }


# ============================================================================================
# the calibration


def _hdi(x: np.ndarray, prob: float = 0.94) -> tuple[float, float]:
    """Narrowest interval holding ``prob`` of the samples ``x``."""
    x = np.sort(np.asarray(x, dtype=float).ravel())
    n = x.size
    k = max(1, int(math.floor(prob * n)))
    if k >= n:
        return float(x[0]), float(x[-1])
    widths = x[k:] - x[: n - k]
    i = int(np.argmin(widths))
    return float(x[i]), float(x[i + k])


class Calibration:
    """A fitted calibration: posterior, diagnostics and predictive draws.

    Built by :func:`fit`; not usually constructed directly.

    Attributes
    ----------
    idata : arviz.InferenceData or xarray.DataTree
        Groups posterior, sample_stats, log_likelihood, observed_data, posterior_predictive,
        prior, prior_predictive.
    model_name : str
    spec : ModelSpec
    observations : pandas.DataFrame
        All rows of the observation file (observations and projections).
    priors : ModelPriors
    settings : dict
        Sampler settings.
    key : str
        Cache key (sha256 of observations, priors, model and settings).
    diagnostics : dict
        See :func:`diagnose`.
    from_cache : bool
        Whether the posterior was read from the cache.
    """

    def __init__(self, idata, spec: ModelSpec, observations: pd.DataFrame,
                 priors: ModelPriors, settings: dict, key: str, *, from_cache: bool = False,
                 cache_path: Path | None = None):
        self.idata = idata
        self.spec = spec
        self.model_name = spec.name
        self.observations = observations
        self.priors = priors
        self.settings = dict(settings)
        self.key = key
        self.from_cache = from_cache
        self.cache_path = cache_path
        self.diagnostics = diagnose(idata, spec.free_params)
        post = _az_group(idata, "posterior")
        self._draws = {v: np.asarray(post[v]).reshape(-1)
                       for v in spec.curve_params + ["noise"]}
        self._warned = False

    # ---------------------------------------------------------------- basic facts
    @property
    def unit(self) -> str:
        """Unit of the series [USD/year or USD/GPU-hour]."""
        return self.spec.dimension

    @property
    def fitted(self) -> pd.DataFrame:
        """Observation rows that were fitted (``kind == 'observation'``)."""
        return self.observations[self.observations["kind"] == "observation"]

    @property
    def projections(self) -> pd.DataFrame:
        """Projection rows (not fitted)."""
        return self.observations[self.observations["kind"] == "projection"]

    @property
    def n_posterior(self) -> int:
        """Number of posterior draws (chains x draws)."""
        return int(self._draws["noise"].size)

    def _check_used(self) -> None:
        if not self.diagnostics["ok"] and not self._warned:
            self._warned = True
            warnings.warn(f"using calibration {self.model_name} of "
                          f"{self.observations.attrs.get('series')} although it failed its "
                          f"diagnostics: {'; '.join(self.diagnostics['messages'])}",
                          CalibrationWarning, stacklevel=3)

    # ---------------------------------------------------------------- summaries
    def summary(self, prob: float = 0.94) -> pd.DataFrame:
        """Posterior summary of every parameter.

        Parameters
        ----------
        prob : float
            Mass of the highest-density interval.

        Returns
        -------
        pandas.DataFrame
            Index: parameter; columns ``mean``, ``median``, ``sd``, ``hdi_low``, ``hdi_high``,
            ``r_hat``, ``ess_bulk``, ``ess_tail``, ``unit``. Sampled parameters first, then
            derived ones (``level`` [series unit], ``cap`` [USD/year]).
        """
        post = _az_group(self.idata, "posterior")
        free = self.spec.free_params
        names = free + [v for v in post.data_vars if v not in free]
        rhat, ess_b, ess_t = _az_rhat_ess(post[names])
        units = {"noise": "log", "cap": self.unit}
        for ps in self.spec.params:
            units[ps.name] = self.unit if ps.name == "level" else ps.units[0]
            if ps.log_scale:
                units["log_" + ps.name] = f"log({self.unit})"
        rows = {}
        for v in names:
            x = np.asarray(post[v]).reshape(-1)
            lo, hi = _hdi(x, prob)
            rows[v] = {
                "mean": float(np.mean(x)),
                "median": float(np.median(x)),
                "sd": float(np.std(x, ddof=1)),
                "hdi_low": lo,
                "hdi_high": hi,
                "r_hat": float(np.asarray(rhat[v])),
                "ess_bulk": float(np.asarray(ess_b[v])),
                "ess_tail": float(np.asarray(ess_t[v])),
                "unit": units.get(v, ""),
            }
        df = pd.DataFrame.from_dict(rows, orient="index")
        df.attrs["hdi_prob"] = prob
        return df

    def loo(self) -> dict:
        """PSIS-LOO of the fitted observations: ``elpd``, ``se``, ``p``, ``max_pareto_k``,
        ``warning``, ``messages`` (Pareto k above 0.7 means LOO is unreliable)."""
        if not hasattr(self, "_loo"):
            self._loo = _az_loo(self.idata)
        return self._loo

    # ---------------------------------------------------------------- predictions
    def _predict(self, times: np.ndarray, logw: np.ndarray, idx: np.ndarray,
                 noise: bool, rng: np.random.Generator) -> np.ndarray:
        """Predicted values [series unit], shape (len(idx), rows)."""
        p = {k: v[idx][:, None, None] for k, v in self._draws.items()}
        lc = self.spec.log_curve(np, p, (times - self.priors.reference_date)[None, :, :])
        with np.errstate(over="ignore", invalid="ignore"):
            logv = _logsumexp_np(lc + logw[None, :, :], axis=2)
            if noise:
                logv = logv + p["noise"][:, :, 0] * rng.standard_normal(logv.shape)
            return np.exp(logv)

    def _year_design(self, years) -> tuple[np.ndarray, np.ndarray]:
        years = [int(y) for y in years]
        return _design(["calendar_year"] * len(years), np.asarray(years, dtype=float))

    def predictive_series(self, years: list[int], n: int, seed: int, *,
                          noise: bool = True) -> np.ndarray:
        """Posterior predictive draws of the yearly figure.

        Parameters
        ----------
        years : list of int
            Calendar years.
        n : int
            Number of draws (the Monte Carlo's draws): posterior draws are resampled with
            replacement.
        seed : int
            Seed; the same seed gives the same array.
        noise : bool
            Add the observation noise (independently per year), as a reported figure would
            have. ``False`` gives the fitted curve only.

        Returns
        -------
        numpy.ndarray, shape (n, len(years))
            Revenue earned in each calendar year [USD/year] (the integral of the run-rate over
            the year), or the year's average price [USD/GPU-hour].
        """
        self._check_used()
        rng = np.random.default_rng(seed)
        idx = rng.integers(0, self.n_posterior, size=int(n))
        times, logw = self._year_design(years)
        return self._predict(times, logw, idx, noise, rng)

    def predictive_at(self, dates: list[float], n: int, seed: int, *,
                      noise: bool = True) -> np.ndarray:
        """Posterior predictive draws of the instantaneous value (run-rate or price).

        Parameters
        ----------
        dates : list of float
            Decimal years (2026.0 is 1 January 2026).
        n, seed, noise
            As in :meth:`predictive_series`.

        Returns
        -------
        numpy.ndarray, shape (n, len(dates))
            Run-rate [USD/year] or price [USD/GPU-hour].
        """
        self._check_used()
        rng = np.random.default_rng(seed)
        idx = rng.integers(0, self.n_posterior, size=int(n))
        times, logw = _design(["run_rate"] * len(dates), np.asarray(dates, dtype=float))
        return self._predict(times, logw, idx, noise, rng)

    def prob_at_least(self, year: int | float, value: float, *, measure: str = "calendar_year",
                      seed: int = 0, noise: bool = True) -> float:
        """Posterior predictive probability that the figure reaches ``value``.

        Parameters
        ----------
        year : int or float
            Calendar year (``measure="calendar_year"``), or a decimal-year date for an
            instantaneous figure (``measure="run_rate"`` or ``"price"``).
        value : float
            Threshold [series unit], e.g. ``70e9`` [USD/year].
        measure : str
            ``calendar_year`` (the year's revenue or average price) or ``run_rate``/``price``.
        seed : int
            Seed of the noise draws.
        noise : bool
            See :meth:`predictive_series`.

        Returns
        -------
        float
            Share of all posterior draws (each with one noise draw) at or above ``value``.
        """
        self._check_used()
        rng = np.random.default_rng(seed)
        idx = np.arange(self.n_posterior)
        if measure == "calendar_year":
            times, logw = self._year_design([year])
        else:
            times, logw = _design(["run_rate"], np.asarray([float(year)]))
        x = self._predict(times, logw, idx, noise, rng)[:, 0]
        return float(np.mean(x >= value))

    def targets(self, seed: int = 0) -> pd.DataFrame:
        """The file's projections set against the calibrated prediction.

        Returns
        -------
        pandas.DataFrame
            One row per projection: ``date``, ``measure``, ``value``, ``fact_id``,
            ``source_title``, ``prob_at_least`` (posterior predictive P(figure >= value)),
            ``median``, ``p05``, ``p95`` [series unit].
        """
        rows = []
        proj = self.projections
        if proj.empty:
            return pd.DataFrame(columns=["date", "measure", "value", "fact_id", "source_title",
                                         "prob_at_least", "median", "p05", "p95"])
        times, logw = _design(proj["measure"].tolist(), proj["t"].to_numpy())
        rng = np.random.default_rng(seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CalibrationWarning)
            pred = self._predict(times, logw, np.arange(self.n_posterior), True, rng)
        for j, (_, r) in enumerate(proj.iterrows()):
            x = pred[:, j]
            rows.append({
                "date": r["date"], "measure": r["measure"], "value": r["value"],
                "fact_id": r["fact_id"], "source_title": r["source_title"],
                "prob_at_least": float(np.mean(x >= r["value"])),
                "median": float(np.median(x)), "p05": float(np.quantile(x, 0.05)),
                "p95": float(np.quantile(x, 0.95)),
            })
        return pd.DataFrame(rows)

    # ---------------------------------------------------------------- figures
    def _curve_band(self, grid: np.ndarray, n: int, seed: int, group: str):
        if group == "prior":
            ds = _az_group(self.idata, "prior")
            draws = {v: np.asarray(ds[v]).reshape(-1) for v in self._draws}
        else:
            draws = self._draws
        rng = np.random.default_rng(seed)
        size = draws["noise"].size
        idx = rng.integers(0, size, size=min(n, size))
        p = {k: v[idx][:, None] for k, v in draws.items()}
        with np.errstate(over="ignore", invalid="ignore"):
            y = np.exp(self.spec.log_curve(np, p, grid[None, :] - self.priors.reference_date))
        return np.nanquantile(y, [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)

    def plot_predictive(self, ax, years: list[int], *, kind: str = "posterior", n: int = 2000,
                        seed: int = 0):
        """Fan chart of the calibrated curve against the observations.

        Draws the instantaneous curve (run-rate or price; 50 % and 90 % bands, median), the
        fitted observations (filled dots), the projections (open squares over their calendar
        year) and the predicted calendar-year figures with 90 % intervals (bars).

        Parameters
        ----------
        ax : matplotlib.axes.Axes
        years : list of int
            Calendar years to show predictions for.
        kind : str
            ``posterior`` or ``prior``.
        n : int
            Draws used for the bands.
        seed : int

        Returns
        -------
        matplotlib.axes.Axes
        """
        from matplotlib.ticker import MaxNLocator

        obs = self.observations
        t0 = min(float(obs["t"].min()), float(min(years))) - 0.25
        t1 = max(float(obs["t"].max()), float(max(years)) + 1.0)
        grid = np.linspace(t0, t1, 200)
        q = self._curve_band(grid, n, seed, kind)
        what = "run-rate" if self.unit == "USD/year" else "price"
        ax.fill_between(grid, q[0], q[4], alpha=0.18, color="C0", lw=0,
                        label=f"{kind} {what}, 90 %")
        ax.fill_between(grid, q[1], q[3], alpha=0.3, color="C0", lw=0, label="50 %")
        ax.plot(grid, q[2], color="C0", lw=1.5, label="median")
        fit_rows = obs[obs["kind"] == "observation"]
        inst = fit_rows[fit_rows["measure"] != "calendar_year"]
        ax.plot(inst["t"], inst["value"], "o", color="k", ms=5, label="observation")
        cal = fit_rows[fit_rows["measure"] == "calendar_year"]
        if not cal.empty:
            ax.plot(cal["t"] + 0.5, cal["value"], "D", color="k", ms=5,
                    label="observation (calendar year)")
        proj = obs[obs["kind"] == "projection"]
        if not proj.empty:
            x = np.where(proj["measure"] == "calendar_year", proj["t"] + 0.5, proj["t"])
            ax.plot(x, proj["value"], "s", mfc="none", color="C3", ms=7, label="projection")
        if kind == "posterior":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", CalibrationWarning)
                pred = self.predictive_series(years, n=n, seed=seed)
            lo, med, hi = np.quantile(pred, [0.05, 0.5, 0.95], axis=0)
            xs = np.asarray(years, dtype=float) + 0.5
            ax.errorbar(xs, med, yerr=[med - lo, hi - med], fmt="_", color="C1", ms=12,
                        capsize=3, label="calendar-year figure, 90 %")
        ax.set_yscale("log")
        ax.set_xlabel("year")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(f"{what} [{self.unit}]")
        series = self.observations.attrs.get("series", "")
        flag = "" if self.diagnostics["ok"] else "  (FAILED diagnostics)"
        ax.set_title(f"{series}: {self.model_name} ({kind}){flag}")
        ax.legend(fontsize=7, loc="best")
        return ax

    def plot_check(self, ax, kind: str = "posterior"):
        """Prior or posterior predictive check: each fitted observation against its
        predictive 90 % interval and median.

        Parameters
        ----------
        ax : matplotlib.axes.Axes
        kind : str
            ``posterior`` or ``prior``.

        Returns
        -------
        matplotlib.axes.Axes
        """
        from matplotlib.ticker import MaxNLocator

        group = f"{kind}_predictive"
        pp = np.exp(np.asarray(_az_group(self.idata, group)["obs"]))
        pp = pp.reshape(-1, pp.shape[-1])
        fit_rows = self.fitted
        x = fit_rows["t"].to_numpy() + np.where(fit_rows["measure"] == "calendar_year", 0.5, 0)
        lo, med, hi = np.quantile(pp, [0.05, 0.5, 0.95], axis=0)
        ax.vlines(x, lo, hi, color="C0" if kind == "posterior" else "C2", lw=3, alpha=0.5,
                  label=f"{kind} predictive 90 %")
        ax.plot(x, med, "_", color="C0" if kind == "posterior" else "C2", ms=12,
                label="median")
        ax.plot(x, fit_rows["value"], "o", color="k", ms=5, label="observed")
        ax.set_yscale("log")
        ax.set_xlabel("year")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(f"[{self.unit}]")
        series = self.observations.attrs.get("series", "")
        ax.set_title(f"{kind.capitalize()} predictive check: {series}, {self.model_name}")
        ax.legend(fontsize=7, loc="best")
        return ax

    def save_figures(self, directory: str | Path, years: list[int] | None = None) -> dict:
        """Write the fan chart and the prior/posterior predictive checks as PNG files.

        Parameters
        ----------
        directory : str or Path
        years : list of int, optional
            Years for the fan chart (default: the last observed year to five years later).

        Returns
        -------
        dict
            ``{"fan": path, "prior_check": path, "posterior_check": path}``.

        ``directory`` is an owned output folder: new or empty, or one capex wrote (see
        :mod:`model.outputs`); it is replaced as a whole.
        """
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        from .outputs import OwnedOutput

        directory = Path(directory)
        if years is None:
            last = int(math.floor(float(self.fitted["t"].max())))
            years = list(range(last, last + 6))
        stem = f"{self.observations.attrs.get('series', 'series')}.{self.model_name}"
        names = {}
        with OwnedOutput(directory, command="Calibration.save_figures", kind="figures") as out:
            fig, ax = plt.subplots(figsize=(7, 4.5))
            self.plot_predictive(ax, years)
            names["fan"] = f"{stem}.fan.png"
            fig.tight_layout()
            fig.savefig(out.path_for(names["fan"]), dpi=110)
            plt.close(fig)
            for kind in ("prior", "posterior"):
                fig, ax = plt.subplots(figsize=(6, 4))
                self.plot_check(ax, kind)
                names[f"{kind}_check"] = f"{stem}.{kind}_check.png"
                fig.tight_layout()
                fig.savefig(out.path_for(names[f"{kind}_check"]), dpi=110)
                plt.close(fig)
        return {k: directory / v for k, v in names.items()}

    # ---------------------------------------------------------------- export
    def to_json_dict(self) -> dict:
        """Everything a report needs, JSON-serialisable.

        Returns
        -------
        dict
            ``model``, ``description``, ``series``, ``observations`` (path, sha256 prefix, rows
            fitted), ``unit``, ``priors`` (with provenance), ``settings``, ``key``,
            ``diagnostics``, ``loo``, ``summary`` (per parameter), ``targets`` (projections
            with P(figure >= projection)).
        """
        def num(x):
            x = float(x)
            return x if math.isfinite(x) else None

        diag = {k: (num(v) if isinstance(v, (float, np.floating)) else v)
                for k, v in self.diagnostics.items()}
        loo = {k: v for k, v in self.loo().items() if k != "pareto_k"}
        loo = {k: (num(v) if isinstance(v, float) else v) for k, v in loo.items()}
        summ = self.summary()
        summary = {idx: {c: (num(v) if c != "unit" else v) for c, v in row.items()}
                   for idx, row in summ.to_dict(orient="index").items()}
        targets = self.targets().to_dict(orient="records")
        for t in targets:
            for k, v in t.items():
                if isinstance(v, (float, np.floating)):
                    t[k] = num(v)
        return {
            "model": self.model_name,
            "description": self.spec.description,
            "series": self.observations.attrs.get("series"),
            "observations": {
                "path": self.observations.attrs.get("path"),
                "fitted_rows": int(len(self.fitted)),
                "projection_rows": int(len(self.projections)),
            },
            "unit": self.unit,
            "priors": self.priors.to_dict(),
            "settings": self.settings,
            "key": self.key,
            "from_cache": self.from_cache,
            "diagnostics": diag,
            "loo": loo,
            "summary": summary,
            "targets": targets,
        }

    def __repr__(self) -> str:
        d = self.diagnostics
        return (f"Calibration({self.observations.attrs.get('series')!r}, "
                f"{self.model_name!r}, ok={d['ok']}, max_rhat={d['max_rhat']:.3f}, "
                f"min_ess_bulk={d['min_ess_bulk']:.0f}, divergences={d['divergences']})")


# ============================================================================================
# fitting, caching, comparing


def _versions() -> dict:
    """Versions that shape a posterior: capex (its models), PyMC (the sampler), ArviZ (the
    file format)."""
    from importlib import metadata

    out = {}
    for pkg in ("capex", "pymc", "arviz"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "unknown"
    return out


def _cache_key(obs_bytes: bytes, spec: ModelSpec, mp: ModelPriors, settings: dict) -> str:
    material = {
        "format": CALIBRATION_FORMAT,
        "versions": _versions(),
        "observations_sha256": hashlib.sha256(obs_bytes).hexdigest(),
        "model": spec.name,
        # the numbers only: rewording a rationale does not change the posterior
        "reference_date": mp.reference_date,
        "priors": {k: [p.distribution, sorted(p.args.items()), p.unit]
                   for k, p in sorted(mp.params.items())},
        "settings": settings,
    }
    blob = json.dumps(material, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()


#: Groups a cached calibration must hold.
CACHE_GROUPS = ("posterior", "sample_stats", "log_likelihood", "observed_data",
                "posterior_predictive", "prior", "prior_predictive")


def content_hash(idata) -> str:
    """SHA-256 over every number of every group of a posterior (names, shapes, dtypes and
    bytes, in a fixed order): what a cache file must still hold to be used."""
    h = hashlib.sha256()
    for group in CACHE_GROUPS:
        if not _az_has_group(idata, group):
            h.update(f"[{group}: absent]".encode())
            continue
        ds = _az_group(idata, group)
        for name in sorted(map(str, ds.variables)):
            arr = np.ascontiguousarray(np.asarray(ds[name].values))
            if arr.dtype.kind in "OUS":  # coordinates of text
                data = "\x1f".join(map(str, arr.ravel().tolist())).encode()
            else:
                data = arr.tobytes()
            h.update(f"{group}/{name}/{arr.dtype.str}/{arr.shape}".encode())
            h.update(data)
    return h.hexdigest()


def _cached_posterior_problem(idata, key: str, spec: ModelSpec) -> str | None:
    """Why a posterior read from the cache cannot be used, or None when it can."""
    missing = [g for g in CACHE_GROUPS if not _az_has_group(idata, g)]
    if missing:
        return f"groups missing ({', '.join(missing)})"
    post = _az_group(idata, "posterior")
    attrs = post.attrs
    if attrs.get("capex_key") != key:
        return "it belongs to other observations, priors, settings or versions"
    need = set(spec.free_params) | set(spec.curve_params) | {"noise"}
    absent = sorted(v for v in need if v not in post)
    if absent:
        return f"variables missing ({', '.join(absent)})"
    if attrs.get("capex_content_sha256") != content_hash(idata):
        return "its numbers do not match its content hash (changed or damaged)"
    return None


def check_cache_dir(cache_dir: Path) -> None:
    """Stop (exit 2) before sampling when the cache location cannot be a folder.

    Raises
    ------
    AssumptionError
    """
    p = Path(cache_dir)
    probe = p
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise AssumptionError(Problem(
            f"the calibration cache {display_path(p)} cannot be a folder because "
            f"{display_path(probe)} is a file; set CAPEX_CACHE_DIR to a folder (or remove the "
            "file)", display_path(p), None, "CAPEX_CACHE_DIR"))
    if probe.exists() and not os.access(probe, os.W_OK | os.X_OK):
        raise AssumptionError(Problem(
            f"the calibration cache folder {display_path(probe)} is not writable; set "
            "CAPEX_CACHE_DIR to a folder you can write to", display_path(p), None,
            "CAPEX_CACHE_DIR"))


def default_cache_dir() -> Path:
    """Where posteriors are cached by default: ``$CAPEX_CACHE_DIR/calibration``, else
    ``$XDG_CACHE_HOME/capex/calibration``, else ``~/.cache/capex/calibration``."""
    if os.environ.get("CAPEX_CACHE_DIR"):
        return Path(os.environ["CAPEX_CACHE_DIR"]) / "calibration"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "capex" / "calibration"


#: Calibrations fitted in this process, by cache key (a report re-uses the run's fit).
_MEMO: dict[str, "Calibration"] = {}


def fit(observations_path: str | Path, model: str, *, draws: int = 1000, tune: int = 1000,
        chains: int = 2, seed: int = 0, priors_path: str | Path | None = None,
        cache_dir: str | Path | None | bool = None, strict: bool = False,
        cores: int | None = None, target_accept: float = 0.95,
        prior_draws: int = 500) -> Calibration:
    """Calibrate ``model`` to an observation file.

    Parameters
    ----------
    observations_path : str or Path
        Observation CSV (see :mod:`model.observations`). Only ``kind=observation`` rows are
        fitted; projections become targets.
    model : str
        A key of :data:`MODELS` whose unit matches the file's.
    draws, tune, chains : int
        NUTS draws and tuning steps per chain, and number of chains.
    seed : int
        Sampler seed (prior and posterior predictive use seed+1, seed+2).
    priors_path : str or Path, optional
        Priors file; default ``priors.yaml`` next to the observation file.
    cache_dir : str, Path, None or False
        Directory of cached posteriors (NetCDF): a posterior with the same key (observation
        file bytes, priors' numbers, model, sampler settings) is read instead of re-sampled,
        and a new one is written. ``None``: :func:`default_cache_dir`; ``False``: no cache.
        Within one process a fit with the same key is returned from memory.
    strict : bool
        Raise :class:`~model.errors.CalibrationError` when the diagnostics fail (otherwise a
        :class:`CalibrationWarning` is issued and ``diagnostics["ok"]`` is False).
    cores : int, optional
        Processes for the chains (default ``min(chains, 2)``); does not change the result.
    target_accept : float
        NUTS target acceptance rate.
    prior_draws : int
        Prior predictive draws kept for the prior predictive check.

    Returns
    -------
    Calibration

    Raises
    ------
    ObservationError
        Malformed observation or priors file, or a model that does not fit the file's unit.
    CalibrationError
        ``strict=True`` and the diagnostics failed.
    """
    if model not in MODELS:
        raise AssumptionError(Problem(
            f"unknown calibration model {model!r}; use one of {', '.join(MODELS)}",
            display_path(observations_path)))
    spec = MODELS[model]
    observations_path = Path(observations_path)
    obs = load_observations(observations_path)
    shown = display_path(observations_path)
    if obs.attrs["unit"] != spec.dimension:
        raise ObservationError(Problem(
            f"model {model!r} fits a series in {spec.dimension} but this file is in "
            f"{obs.attrs['unit']}; use model {' or '.join(models_for(obs.attrs['unit']))}",
            shown))
    fitted = obs[obs["kind"] == "observation"]
    if len(fitted) < 2:
        raise ObservationError(Problem(
            f"only {len(fitted)} row(s) of kind observation; a calibration needs at least 2 "
            "(projections are not fitted)", shown))
    priors_path = Path(priors_path) if priors_path else observations_path.parent / "priors.yaml"
    priors = load_priors(priors_path)
    mp = _resolve_priors(spec, priors, display_path(priors_path), spec.dimension)

    settings = {"draws": int(draws), "tune": int(tune), "chains": int(chains),
                "seed": int(seed), "target_accept": float(target_accept),
                "prior_draws": int(prior_draws)}
    key = _cache_key(observations_path.read_bytes(), spec, mp, settings)
    cache_path = None
    idata = None
    from_cache = False
    if cache_dir is None:
        cache_dir = default_cache_dir()
    if cache_dir is not False:
        check_cache_dir(Path(cache_dir))
    if key in _MEMO and cache_dir is not False:
        cal = _MEMO[key]
        if not cal.diagnostics["ok"]:
            if strict:
                raise CalibrationError(Problem(_failure_message(cal), shown, None, model))
            warnings.warn(_failure_message(cal), CalibrationWarning, stacklevel=2)
        return cal
    if cache_dir is not False:
        cache_path = Path(cache_dir) / f"{observations_path.stem}.{model}.{key[:16]}.nc"
        if cache_path.exists():
            why = None
            try:
                idata = _az_from_netcdf(cache_path)
                why = _cached_posterior_problem(idata, key, spec)
            except Exception as exc:  # noqa: BLE001 - any unreadable file is re-sampled
                why = f"it cannot be read ({exc.__class__.__name__})"
            if why is None:
                from_cache = True
            else:
                idata = None
                warnings.warn(f"ignoring the cached calibration {display_path(cache_path)}: "
                              f"{why}; sampling it again", CacheWarning, stacklevel=2)
    if idata is None:
        idata = _sample(spec, mp, fitted, settings, cores)
        post_attrs = idata["posterior"].attrs
        post_attrs["capex_key"] = key
        post_attrs["capex_model"] = model
        post_attrs["capex_observations"] = str(observations_path)
        post_attrs["capex_content_sha256"] = content_hash(idata)
        if cache_path is not None:
            try:
                _az_to_netcdf(idata, cache_path)
            except OSError as exc:
                warnings.warn(f"could not write the calibration cache {display_path(cache_path)} "
                              f"({exc.strerror}); the fit is used but not kept", CacheWarning,
                              stacklevel=2)
    cal = Calibration(idata, spec, obs, mp, settings, key, from_cache=from_cache,
                      cache_path=cache_path)
    if cache_dir is not False:
        _MEMO[key] = cal
    if not cal.diagnostics["ok"]:
        if strict:
            raise CalibrationError(Problem(_failure_message(cal), shown, None, model))
        warnings.warn(_failure_message(cal), CalibrationWarning, stacklevel=2)
    return cal


def _failure_message(cal: Calibration) -> str:
    return (f"calibration of {cal.observations.attrs['series']} with model {cal.model_name} "
            f"failed its diagnostics: {'; '.join(cal.diagnostics['messages'])}; sample longer "
            "(draws, tune), raise target_accept, or choose a better identified model")


def _sample(spec: ModelSpec, mp: ModelPriors, fitted: pd.DataFrame, settings: dict,
            cores: int | None):
    import pymc as pm

    chains = settings["chains"]
    with _quiet_pymc(), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.filterwarnings("ignore", message=".*could not link to a BLAS")
        m = _build(spec, mp, fitted)
        with m:
            idata = _pm_sample(
                pm, draws=settings["draws"], tune=settings["tune"], chains=chains,
                cores=cores or min(chains, 2), seed=settings["seed"],
                target_accept=settings["target_accept"],
                initvals=spec.initvals(chains) if spec.initvals else None)
            prior = pm.sample_prior_predictive(draws=settings["prior_draws"],
                                               random_seed=settings["seed"] + 1)
            idata = _az_add_groups(idata, prior, ["prior", "prior_predictive"])
            pm.sample_posterior_predictive(idata, extend_inferencedata=True,
                                           random_seed=settings["seed"] + 2, progressbar=False)
    return idata


def compare(observations_path: str | Path, models: list[str] | None = None,
            **kw) -> pd.DataFrame:
    """Compare models on one observation file by PSIS-LOO (ArviZ).

    Parameters
    ----------
    observations_path : str or Path
    models : list of str, optional
        Default: every model fitting the file's unit.
    **kw
        Passed to :func:`fit` (draws, seed, cache_dir, ...).

    Returns
    -------
    pandas.DataFrame
        Index: model, best first. Columns ``rank``, ``elpd``, ``p``, ``elpd_diff``,
        ``weight``, ``se``, ``dse``, ``warning`` (ArviZ, when it reports one),
        ``max_pareto_k``, ``diagnostics_ok``
        and ``favoured`` (True for the model the data favour). ``df.attrs["favoured"]`` names
        it; ``df.attrs["reliable"]`` is False when a Pareto k exceeds ArviZ's threshold (LOO
        estimates unreliable, usual with a handful of points); ``df.attrs["clear"]`` is True
        when the comparison is reliable and the favourite's lead exceeds twice the standard
        error of the difference to every other model.
    """
    if models is None:
        models = models_for(load_observations(observations_path).attrs["unit"])
    cals = {m: fit(observations_path, m, **kw) for m in models}
    df = _az_compare({m: c.idata for m, c in cals.items()})
    df["max_pareto_k"] = [cals[m].loo()["max_pareto_k"] for m in df.index]
    df["diagnostics_ok"] = [cals[m].diagnostics["ok"] for m in df.index]
    df["favoured"] = [i == 0 for i in range(len(df))]
    df.attrs["favoured"] = df.index[0]
    rest = df.iloc[1:]
    # ArviZ flags unreliable LOO in a "warning" column, which some versions leave out when
    # nothing is flagged: the Pareto k threshold (0.7) is checked here either way
    flagged = df["warning"].astype(bool).any() if "warning" in df.columns else False
    df.attrs["reliable"] = not bool(flagged or (df["max_pareto_k"] > 0.7).any())
    df.attrs["clear"] = bool(df.attrs["reliable"] and len(rest)
                             and (rest["elpd_diff"].abs() > 2 * rest["dse"]).all())
    return df


# ============================================================================================
# report hook (model.reporting calls it for every calibrated parameter)


def _money(x: float, unit: str) -> str:
    from .units import format_amount

    return format_amount(float(x), "USD" if unit == "USD/year" else unit)


def report_section(parameter, scenario, seed: int = 0) -> dict:
    """Report section of a calibrated series parameter.

    Parameters
    ----------
    parameter : model.loading.Parameter
        With ``parameter.calibrated = {observations, model, [priors, draws, tune, chains]}``.
    scenario : model.loading.Scenario
        Its ``years`` are the years shown.
    seed : int
        Seed passed to :func:`fit` (the same as the run's, so the run's fit is re-used).

    Returns
    -------
    dict
        ``{"title", "paragraphs", "figures"}`` with figures as
        :class:`model.reporting.figures.Figure` (fan chart; prior and posterior predictive
        checks).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from .reporting.figures import Figure

    c = parameter.calibrated
    kw = {k: c[k] for k in ("draws", "tune", "chains") if k in c}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalibrationWarning)  # stated in the text instead
        cal = fit(c["observations"], c["model"], seed=seed, priors_path=c.get("priors"), **kw)
    years = [int(y) for y in np.asarray(scenario.years).tolist()]
    d = cal.diagnostics
    loo = cal.loo()
    series = cal.observations.attrs.get("series")
    n_hyp = sum(p.hypothetical is not None for p in cal.priors.params.values())
    paras = [
        f"{parameter.name} is the posterior predictive of a {cal.model_name} model "
        f"({cal.spec.description}) fitted with PyMC to {len(cal.fitted)} sourced observations "
        f"in {Path(c['observations']).name}; each row's source is in that file. "
        f"{len(cal.projections)} projection(s) in the file are not fitted: they are compared "
        "with the prediction below. A calendar year's figure is the integral of the "
        "instantaneous curve over the year (a run-rate is an annualised instant).",
        ("Diagnostics passed" if d["ok"] else "Diagnostics FAILED (the draws are used anyway, "
         "treat them with caution)")
        + f": max R-hat {d['max_rhat']:.3f}, min bulk ESS {d['min_ess_bulk']:.0f}, min tail ESS "
        f"{d['min_ess_tail']:.0f}, {d['divergences']} divergent transitions "
        f"({d['chains']} chains x {d['draws']} draws)."
        + ("" if d["ok"] else " " + "; ".join(d["messages"]) + "."),
        f"PSIS-LOO elpd {loo['elpd']:.2f} (SE {loo['se']:.2f}), max Pareto k "
        f"{loo['max_pareto_k']:.2f}"
        + (" (above 0.7: LOO is unreliable with this few points)."
           if loo["max_pareto_k"] > 0.7 else "."),
        f"Priors: {len(cal.priors.params) - n_hyp} sourced, {n_hyp} hypothetical "
        "(see assumptions/observations/priors.yaml); with few observations the extrapolation "
        "follows the priors on growth and deceleration.",
    ]
    tg = cal.targets(seed=seed)
    for _, r in tg.iterrows():
        paras.append(
            f"Projection {r['date']} ({r['measure'].replace('_', ' ')}) "
            f"{_money(r['value'], cal.unit)}: P(at least this) = {r['prob_at_least']:.0%}; "
            f"calibrated median {_money(r['median'], cal.unit)} (90 %: "
            f"{_money(r['p05'], cal.unit)} to {_money(r['p95'], cal.unit)}). "
            f"Source: {r['source_title']}.")

    figs = []
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    cal.plot_predictive(ax, years, seed=seed)
    fig.tight_layout()
    figs.append(Figure(
        f"calibration_{parameter.name}", fig, f"{parameter.name}: calibration to {series}",
        f"{cal.model_name} fit: the instantaneous curve (bands), observations (dots), "
        "projections (squares) and the calendar-year figures the Monte Carlo draws (bars).",
        f"Fan chart of the calibrated {parameter.name} against sourced observations."))
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8))
    cal.plot_check(axes[0], "prior")
    cal.plot_check(axes[1], "posterior")
    fig.tight_layout()
    figs.append(Figure(
        f"calibration_{parameter.name}_checks", fig, f"{parameter.name}: predictive checks",
        "Prior (left) and posterior (right) predictive 90 % intervals of each fitted "
        "observation.",
        f"Prior and posterior predictive checks of the {parameter.name} calibration."))
    return {"title": f"Calibration of {parameter.name}", "paragraphs": paras, "figures": figs}
