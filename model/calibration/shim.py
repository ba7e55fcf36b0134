"""ArviZ and PyMC behind one shim: the only module that touches their version differences.

ArviZ 0.x (``InferenceData``) and 1.x (``xarray.DataTree``) differ in groups, LOO results and
NetCDF reading; PyMC 5 and 6 differ in how the log-likelihood is stored. Every call that depends
on the version goes through the helpers below.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from ..core.fileio import file_mode, folder_mode, remove_dead_temps, temp_sibling

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)  # arviz 0.x announces its 1.0 refactor
    import arviz as az

AZ_MAJOR = int(az.__version__.split(".")[0])


def group(idata, name: str) -> xr.Dataset:
    """One group (``posterior``, ``sample_stats``, ...) as an ``xarray.Dataset``."""
    g = idata[name]
    return g if isinstance(g, xr.Dataset) else g.to_dataset()


def has_group(idata, name: str) -> bool:
    """Whether ``idata`` has the group ``name``."""
    if hasattr(idata, "groups") and callable(idata.groups):  # arviz 0.x
        return name in idata.groups()
    return name in getattr(idata, "children", {})  # DataTree


def add_groups(idata, other, names: list[str]):
    """Copy groups ``names`` of ``other`` into ``idata``; returns ``idata``."""
    for name in names:
        if not has_group(other, name):
            continue
        if hasattr(idata, "add_groups"):  # arviz 0.x
            if has_group(idata, name):
                continue
            idata.add_groups({name: group(other, name)})
        else:  # DataTree
            idata[name] = xr.DataTree(group(other, name))
    return idata


def rhat_ess(ds: xr.Dataset) -> tuple[xr.Dataset, xr.Dataset, xr.Dataset]:
    """Rank-normalised split R-hat, bulk ESS and tail ESS of every variable."""
    return az.rhat(ds), az.ess(ds, method="bulk"), az.ess(ds, method="tail")


def loo(idata) -> dict:
    """PSIS-LOO: ``{elpd, se, p, pareto_k (array), max_pareto_k, warning, messages}``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = az.loo(idata, pointwise=True, var_name="obs")
    # 0.x: a pandas Series (elpd_loo, p_loo, ...); 1.x: a dataclass (elpd, p, ...) that also
    # supports res[key]
    elpd, p = (res["elpd_loo"], res["p_loo"]) if AZ_MAJOR < 1 else (res["elpd"], res["p"])
    k = np.asarray(res["pareto_k"], dtype=float).ravel()
    max_k = float(np.nanmax(k)) if k.size else math.nan
    threshold = pareto_k_threshold(idata)
    try:
        flagged = bool(res["warning"])
    except (KeyError, AttributeError, TypeError):  # not reported by every ArviZ version
        flagged = bool(max_k > threshold)
    return {
        "elpd": float(elpd),
        "se": float(res["se"]),
        "p": float(p),
        "pareto_k": k,
        "max_pareto_k": max_k,
        "warning": flagged,
        "k_threshold": threshold,
        "messages": sorted({str(w.message).split("\n")[0] for w in caught}),
    }


def pareto_k_threshold(idata) -> float:
    """The Pareto k above which PSIS-LOO is unreliable for this posterior's sample size S:
    min(1 - 1 / log10(S), 0.7) (Vehtari et al. 2024, "Pareto smoothed importance sampling",
    JMLR 25(72); ArviZ's ``good_k``)."""
    post = idata.posterior
    s = int(post.sizes.get("chain", 1)) * int(post.sizes.get("draw", 1))
    return float(min(1.0 - 1.0 / math.log10(s), 0.7)) if s > 10 else 0.0


def compare(idatas: dict) -> pd.DataFrame:
    """``arviz.compare`` by PSIS-LOO, with 1.x column names (elpd, p, elpd_diff, weight, se,
    dse, warning) whatever the version."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if AZ_MAJOR < 1:
            df = az.compare(idatas, ic="loo", var_name="obs")
        else:
            df = az.compare(idatas, var_name="obs")
    df = df.rename(columns={"elpd_loo": "elpd", "p_loo": "p"})
    return df.drop(columns=[c for c in ("scale",) if c in df.columns])


def to_netcdf(idata, path: Path) -> None:
    """Write ``idata`` (all groups) to NetCDF, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=folder_mode())
    remove_dead_temps(path)  # a fit killed while it wrote its cache
    tmp = temp_sibling(path)
    try:
        idata.to_netcdf(tmp, engine="h5netcdf")  # InferenceData and DataTree alike
        os.chmod(tmp, file_mode())  # the umask's mode, as every file capex writes
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def from_netcdf(path: Path):
    """Read a file written by :func:`_az_to_netcdf` fully into memory."""
    if AZ_MAJOR < 1:
        with az.rc_context({"data.load": "eager"}):
            return az.from_netcdf(str(path), engine="h5netcdf")
    with xr.open_datatree(str(path), engine="h5netcdf") as tree:
        return tree.load().copy()


def pm_sample(
    pm, *, draws, tune, chains, cores, seed, target_accept, initvals, init="jitter+adapt_diag"
):
    """``pymc.sample`` with the log-likelihood stored, quietly, on pymc 5 and 6."""
    kw = dict(
        draws=draws,
        tune=tune,
        chains=chains,
        cores=cores,
        random_seed=seed,
        target_accept=target_accept,
        progressbar=False,
        initvals=initvals,
        compute_convergence_checks=False,
        init=init,
    )
    try:
        return pm.sample(**kw, idata_kwargs={"log_likelihood": True})
    except TypeError:  # idata_kwargs not accepted: compute afterwards
        idata = pm.sample(**kw)
        pm.compute_log_likelihood(idata, progressbar=False)
        return idata


@contextlib.contextmanager
def quiet_pymc():
    loggers = [logging.getLogger(n) for n in ("pymc", "pymc.sampling", "pytensor")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for lg, lv in zip(loggers, levels):
            lg.setLevel(lv)
