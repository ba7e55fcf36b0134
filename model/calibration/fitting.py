"""Bayesian calibration of time series (revenue, GPU-hour prices) to sourced observations.

:func:`fit` fits one curve (:data:`model.calibration.curves.MODELS`) to one observation file
(:func:`model.loading.observations.load_observations`) with PyMC, checks the sampler's
diagnostics and returns a :class:`~model.calibration.posterior.Calibration`. Every model observes
``log(value) ~ Normal(log prediction, noise)``; projections (``kind=projection``) are never
fitted: they become targets, e.g. P(revenue 2028 >= $70B).

Posteriors are cached as NetCDF, keyed by a hash of the observation file's bytes, the priors'
numbers, the model, the sampler settings and the versions of capex, PyMC and ArviZ; a cache file
also stores a hash of its own numbers, and one that is tampered, truncated, partial or foreign
is ignored with a warning and sampled again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import sys
import warnings
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..core.errors import (
    AssumptionError,
    CacheWarning,
    CalibrationError,
    ObservationError,
    Problem,
    display_path,
)
from ..core.units import UnknownUnit, parse_unit
from ..loading.observations import load_observations
from ..loading.priors import ModelPriors, Prior, load_priors
from . import shim
from .curves import MODELS, CurveParam, ModelSpec, design, models_for
from .posterior import Calibration, CalibrationWarning

if TYPE_CHECKING:
    import pandas as pd

#: Bump when the model code changes in a way that invalidates cached posteriors.
CALIBRATION_FORMAT = "capex-calibration-1"


def _resolve_priors(
    spec: ModelSpec, priors: dict[str, ModelPriors], priors_file: str, series_unit: str
) -> ModelPriors:
    """The priors of ``spec``, checked against its parameters."""
    if spec.name not in priors:
        raise ObservationError(
            Problem(
                f"no priors for model {spec.name!r}; add a '{spec.name}:' block under models: with "
                f"reference_date and {', '.join(p.name for p in spec.params)}",
                priors_file,
            )
        )
    mp = priors[spec.name]
    problems = []
    for ps in spec.params:
        pr = mp.params.get(ps.name)
        if pr is None:
            problems.append(
                Problem(
                    f"missing prior {ps.name!r} ({ps.meaning}); add it with distribution, unit and "
                    "source or hypothetical",
                    priors_file,
                    mp.line,
                    spec.name,
                )
            )
        else:
            problems.extend(_prior_problems(spec, ps, pr, priors_file, series_unit))
    for name in sorted(set(mp.params) - {p.name for p in spec.params}):
        problems.append(
            Problem(
                f"model {spec.name} has no parameter {name!r}; remove it (parameters: "
                f"{', '.join(p.name for p in spec.params)})",
                priors_file,
                mp.params[name].line,
                f"{spec.name}.{name}",
            )
        )
    if problems:
        raise ObservationError(problems)
    return mp


def _prior_problems(
    spec: ModelSpec, ps: CurveParam, pr: Prior, priors_file: str, series_unit: str
) -> list[Problem]:
    """A prior whose unit or family does not fit its curve parameter."""
    out = []
    units = (series_unit,) if ps.name == "level" else ps.units
    unit_ok = pr.unit in units
    if ps.name == "level" and not unit_ok:
        with contextlib.suppress(UnknownUnit):
            unit_ok = parse_unit(pr.unit)[0] == series_unit
    if not unit_ok:
        out.append(
            Problem(
                f"unit {pr.unit!r} does not fit {ps.name} ({ps.meaning}); use {' or '.join(units)}",
                priors_file,
                pr.line,
                f"{spec.name}.{ps.name}",
            )
        )
    if pr.distribution not in ps.families:
        out.append(
            Problem(
                f"distribution {pr.distribution} is not allowed for {ps.name}; use "
                f"{' or '.join(ps.families)}",
                priors_file,
                pr.line,
                f"{spec.name}.{ps.name}",
            )
        )
    return out


def _rv(pm, ps: CurveParam, pr: Prior):
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


def _build(spec: ModelSpec, mp: ModelPriors, obs, projections=None, projection_sigma=None):
    """The PyMC model of ``spec`` for the observation rows ``obs`` (and, in the "data +
    projections" variant, the projection rows with their own, inflated noise)."""
    import pymc as pm  # deferred: PyMC is slow to import and only sampling needs it
    import pytensor.tensor as pt  # deferred: with PyMC

    times, logw = design(obs["measure"].tolist(), obs["t"].to_numpy())
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
        pm.Normal(
            "obs", mu=mu, sigma=p["noise"], observed=np.log(obs["value"].to_numpy()), dims="obs_id"
        )
        if projections is not None and len(projections):
            pt_times, pt_logw = design(projections["measure"].tolist(), projections["t"].to_numpy())
            lcp = spec.log_curve(pt, p, pt.as_tensor_variable(pt_times - mp.reference_date))
            pm.Normal(
                "projections",
                mu=pt.logsumexp(lcp + pt_logw, axis=1),
                sigma=float(projection_sigma),
                observed=np.log(projections["value"].to_numpy()),
            )
    return m


def _versions() -> dict:
    """Versions that shape a posterior: capex (its models), PyMC (the sampler), ArviZ (the
    file format)."""
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
        "priors": {
            k: [p.distribution, sorted(p.args.items()), p.unit]
            for k, p in sorted(mp.params.items())
        },
        "settings": settings,
    }
    blob = json.dumps(material, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()


#: Groups a cached calibration must hold.
CACHE_GROUPS = (
    "posterior",
    "sample_stats",
    "log_likelihood",
    "observed_data",
    "posterior_predictive",
    "prior",
    "prior_predictive",
)


def content_hash(idata) -> str:
    """SHA-256 over every number of every group of a posterior (names, shapes, dtypes and
    bytes, in a fixed order): what a cache file must still hold to be used."""
    h = hashlib.sha256()
    for group in CACHE_GROUPS:
        if not shim.has_group(idata, group):
            h.update(f"[{group}: absent]".encode())
            continue
        ds = shim.group(idata, group)
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
    missing = [g for g in CACHE_GROUPS if not shim.has_group(idata, g)]
    if missing:
        return f"groups missing ({', '.join(missing)})"
    post = shim.group(idata, "posterior")
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
        raise AssumptionError(
            Problem(
                f"the calibration cache {display_path(p)} cannot be a folder because "
                f"{display_path(probe)} is a file; set CAPEX_CACHE_DIR to a folder (or remove the "
                "file)",
                display_path(p),
                None,
                "CAPEX_CACHE_DIR",
            )
        )
    if probe.exists() and not os.access(probe, os.W_OK | os.X_OK):
        raise AssumptionError(
            Problem(
                f"the calibration cache folder {display_path(probe)} is not writable; set "
                "CAPEX_CACHE_DIR to a folder you can write to",
                display_path(p),
                None,
                "CAPEX_CACHE_DIR",
            )
        )


def default_cache_dir() -> Path:
    """Where posteriors are cached by default: ``$CAPEX_CACHE_DIR/calibration``, else
    ``$XDG_CACHE_HOME/capex/calibration``, else ``~/.cache/capex/calibration``."""
    if os.environ.get("CAPEX_CACHE_DIR"):
        return Path(os.environ["CAPEX_CACHE_DIR"]) / "calibration"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "capex" / "calibration"


#: Calibrations fitted in this process, by cache key (a report re-uses the run's fit).
_MEMO: dict[str, Calibration] = {}


def fit(
    observations_path: str | Path,
    model: str,
    *,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 2,
    seed: int = 0,
    priors_path: str | Path | None = None,
    cache_dir: str | Path | None | bool = None,
    strict: bool = False,
    cores: int | None = None,
    target_accept: float = 0.95,
    prior_draws: int = 500,
    progress: bool = False,
    projection_sigma: float | None = None,
) -> Calibration:
    """Calibrate ``model`` to an observation file.

    Parameters
    ----------
    observations_path : str or Path
        Observation CSV (see :mod:`model.loading.observations`). Only ``kind=observation`` rows are
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
        Raise :class:`~model.core.errors.CalibrationError` when the diagnostics fail (otherwise a
        :class:`CalibrationWarning` is issued and ``diagnostics["ok"]`` is False).
    cores : int, optional
        Processes for the chains (default ``min(chains, 2)``); does not change the result.
    projection_sigma : float, optional
        Fit the rows of kind ``projection`` too (company plans), each as log(value) ~
        Normal(log prediction, projection_sigma): the named variant "data + projections"
        (``use_projections: {sigma: s}`` in an assumption file). Default: data only.
    target_accept : float
        NUTS target acceptance rate.
    prior_draws : int
        Prior predictive draws kept for the prior predictive check.
    progress : bool
        Show that sampling is under way on stderr (terminals only; never in a pipe).

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
    spec, obs, fitted, mp = _inputs(observations_path, model, priors_path)
    observations_path = Path(observations_path)
    shown = display_path(observations_path)
    settings = {
        "draws": int(draws),
        "tune": int(tune),
        "chains": int(chains),
        "seed": int(seed),
        "target_accept": float(target_accept),
        "prior_draws": int(prior_draws),
    }
    if projection_sigma is not None:  # only then: data-only fits keep their cache keys
        settings["projection_sigma"] = float(projection_sigma)
    key = _cache_key(observations_path.read_bytes(), spec, mp, settings)
    if cache_dir is None:
        cache_dir = default_cache_dir()
    cache_path = None
    if cache_dir is not False:
        check_cache_dir(Path(cache_dir))
        if key in _MEMO:
            return _checked(_MEMO[key], strict, shown, model)
        cache_path = Path(cache_dir) / f"{observations_path.stem}.{model}.{key[:16]}.nc"
    idata = _read_cached(cache_path, key, spec) if cache_path is not None else None
    from_cache = idata is not None
    if idata is None:
        with _sampling_status(
            progress,
            f"sampling the {model} posterior of "
            f"{observations_path.name} ({chains} chains x {draws} draws)",
        ):
            projections = obs[obs["kind"] == "projection"] if projection_sigma else None
            idata = _sample(spec, mp, fitted, settings, cores, projections)
        _stamp(idata, key, model, observations_path)
        if cache_path is not None:
            _write_cached(idata, cache_path)
    cal = Calibration(
        idata, spec, obs, mp, settings, key, from_cache=from_cache, cache_path=cache_path
    )
    if cache_dir is not False:
        _MEMO[key] = cal
    return _checked(cal, strict, shown, model)


def _inputs(observations_path, model: str, priors_path):
    """The curve, the observations (all rows and those fitted) and the priors of a fit."""
    if model not in MODELS:
        raise AssumptionError(
            Problem(
                f"unknown calibration model {model!r}; use one of {', '.join(MODELS)}",
                display_path(observations_path),
            )
        )
    spec = MODELS[model]
    observations_path = Path(observations_path)
    obs = load_observations(observations_path)
    shown = display_path(observations_path)
    if obs.attrs["unit"] != spec.dimension:
        raise ObservationError(
            Problem(
                f"model {model!r} fits a series in {spec.dimension} but this file is in "
                f"{obs.attrs['unit']}; use model {' or '.join(models_for(obs.attrs['unit']))}",
                shown,
            )
        )
    fitted = obs[obs["kind"] == "observation"]
    if len(fitted) < 2:
        raise ObservationError(
            Problem(
                f"only {len(fitted)} row(s) of kind observation; a calibration needs at least 2 "
                "(projections are not fitted)",
                shown,
            )
        )
    priors_path = Path(priors_path) if priors_path else observations_path.parent / "priors.yaml"
    mp = _resolve_priors(spec, load_priors(priors_path), display_path(priors_path), spec.dimension)
    return spec, obs, fitted, mp


def _checked(cal: Calibration, strict: bool, shown: str, model: str) -> Calibration:
    """``cal``, after raising (strict) or warning when it failed its diagnostics."""
    if not cal.diagnostics["ok"]:
        if strict:
            raise CalibrationError(Problem(_failure_message(cal), shown, None, model))
        warnings.warn(_failure_message(cal), CalibrationWarning, stacklevel=3)
    return cal


def _read_cached(cache_path: Path, key: str, spec: ModelSpec):
    """The cached posterior at ``cache_path`` if it is there and intact, else None (with a
    :class:`~model.core.errors.CacheWarning` when a file was there but could not be used)."""
    if not cache_path.exists():
        return None
    try:
        idata = shim.from_netcdf(cache_path)
        why = _cached_posterior_problem(idata, key, spec)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is re-sampled
        why = f"it cannot be read ({exc.__class__.__name__})"
    if why is None:
        return idata
    warnings.warn(
        f"ignoring the cached calibration {display_path(cache_path)}: {why}; sampling it again",
        CacheWarning,
        stacklevel=3,
    )
    return None


def _stamp(idata, key: str, model: str, observations_path: Path) -> None:
    """Record the cache key, model, observations and the content hash in the posterior."""
    post_attrs = idata["posterior"].attrs
    post_attrs["capex_key"] = key
    post_attrs["capex_model"] = model
    post_attrs["capex_observations"] = str(observations_path)
    post_attrs["capex_content_sha256"] = content_hash(idata)


def _write_cached(idata, cache_path: Path) -> None:
    """Keep a posterior in the cache (a failure to write is a warning, not an error)."""
    try:
        shim.to_netcdf(idata, cache_path)
    except OSError as exc:
        warnings.warn(
            f"could not write the calibration cache {display_path(cache_path)} "
            f"({exc.strerror}); the fit is used but not kept",
            CacheWarning,
            stacklevel=3,
        )


def _failure_message(cal: Calibration) -> str:
    return (
        f"calibration of {cal.observations.attrs['series']} with model {cal.model_name} "
        f"failed its diagnostics: {'; '.join(cal.diagnostics['messages'])}; sample longer "
        "(draws, tune), raise target_accept, or choose a better identified model"
    )


@contextlib.contextmanager
def _sampling_status(progress: bool, what: str):
    """A spinner on stderr while PyMC samples (terminals only: quiet in pipes)."""
    if not (progress and sys.stderr.isatty()):
        yield
        return
    from rich.console import Console  # deferred: only for a terminal

    with Console(stderr=True).status(f"capex: {what}"):
        yield


def _sample(
    spec: ModelSpec, mp: ModelPriors, fitted, settings: dict, cores: int | None, projections=None
):
    import pymc as pm  # deferred: PyMC is slow to import and only sampling needs it

    chains = settings["chains"]
    with shim.quiet_pymc(), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.filterwarnings("ignore", message=".*could not link to a BLAS")
        m = _build(spec, mp, fitted, projections, settings.get("projection_sigma"))
        with m:
            idata = shim.pm_sample(
                pm,
                draws=settings["draws"],
                tune=settings["tune"],
                chains=chains,
                cores=cores or min(chains, 2),
                seed=settings["seed"],
                target_accept=settings["target_accept"],
                initvals=spec.initvals(chains) if spec.initvals else None,
            )
            prior = pm.sample_prior_predictive(
                draws=settings["prior_draws"], random_seed=settings["seed"] + 1
            )
            idata = shim.add_groups(idata, prior, ["prior", "prior_predictive"])
            pm.sample_posterior_predictive(
                idata,
                extend_inferencedata=True,
                random_seed=settings["seed"] + 2,
                progressbar=False,
            )
    return idata


#: A LOO ranking of this many fitted observations or fewer is reported as unreliable.
MIN_RANKED_OBSERVATIONS = 5


def compare(observations_path: str | Path, models: list[str] | None = None, **kw) -> pd.DataFrame:
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
        and ``favoured`` (True for the model the data favour, only when the ranking is
        reliable). ``df.attrs["favoured"]`` names it (None when unreliable);
        ``df.attrs["reliable"]`` is False with 5 or fewer fitted observations or when a
        Pareto k exceeds min(1 - 1/log10(S), 0.7) for S posterior draws (ArviZ's threshold),
        and ``df.attrs["unreliable_because"]`` says
        which; ``df.attrs["clear"]`` is True when the comparison is reliable and the
        favourite's lead exceeds twice the standard error of the difference to every other
        model.
    """
    if models is None:
        models = models_for(load_observations(observations_path).attrs["unit"])
    cals = {m: fit(observations_path, m, **kw) for m in models}
    df = shim.compare({m: c.idata for m, c in cals.items()})
    loos = {m: cals[m].loo() for m in df.index}
    df["max_pareto_k"] = [loos[m]["max_pareto_k"] for m in df.index]
    threshold = min(loos[m]["k_threshold"] for m in df.index)
    df["diagnostics_ok"] = [cals[m].diagnostics["ok"] for m in df.index]
    rest = df.iloc[1:]
    # ArviZ flags unreliable LOO in a "warning" column, which some versions leave out when
    # nothing is flagged: the sample-size Pareto k threshold is checked here either way
    flagged = df["warning"].astype(bool).any() if "warning" in df.columns else False
    fitted = min(len(c.fitted) for c in cals.values())
    reasons = []
    if fitted <= MIN_RANKED_OBSERVATIONS:
        reasons.append(f"{fitted} fitted observations (a ranking needs more than 5)")
    if flagged or (df["max_pareto_k"] > threshold).any():
        reasons.append(
            f"Pareto k up to {df['max_pareto_k'].max():.2f} (above {threshold:.2f}, the "
            "threshold for this many posterior draws)"
        )
    df.attrs["reliable"] = not reasons
    df.attrs["unreliable_because"] = "; ".join(reasons)
    df.attrs["clear"] = bool(
        df.attrs["reliable"] and len(rest) and (rest["elpd_diff"].abs() > 2 * rest["dse"]).all()
    )
    # a ranking that cannot be trusted is no preference
    df.attrs["favoured"] = df.index[0] if df.attrs["reliable"] else None
    df["favoured"] = [i == 0 and df.attrs["reliable"] for i in range(len(df))]
    return df
