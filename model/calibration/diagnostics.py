"""Convergence diagnostics of a posterior (R-hat, bulk and tail ESS, divergences) and the
highest-density interval, through the ArviZ shim."""

from __future__ import annotations

import math

import numpy as np

from . import shim

#: Diagnostic thresholds: max R-hat, min ESS (bulk and tail) per chain, max divergences.
RHAT_MAX = 1.01
ESS_PER_CHAIN_MIN = 100
DIVERGENCES_MAX = 0


def diagnose(
    idata,
    var_names: list[str],
    *,
    rhat_max: float = RHAT_MAX,
    ess_per_chain_min: float = ESS_PER_CHAIN_MIN,
    divergences_max: int = DIVERGENCES_MAX,
) -> dict:
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
    post = shim.group(idata, "posterior")[var_names]
    chains, draws = int(post.sizes["chain"]), int(post.sizes["draw"])
    rhat, ess_b, ess_t = shim.rhat_ess(post)

    r = {v: float(np.nanmax(np.asarray(rhat[v]))) for v in var_names}
    eb = {v: float(np.nanmin(np.asarray(ess_b[v]))) for v in var_names}
    et = {v: float(np.nanmin(np.asarray(ess_t[v]))) for v in var_names}
    div = 0
    if shim.has_group(idata, "sample_stats"):
        ss = shim.group(idata, "sample_stats")
        if "diverging" in ss:
            div = int(np.asarray(ss["diverging"]).sum())
    ess_min = ess_per_chain_min * chains
    messages = []
    bad_r = [f"{v} ({x:.3f})" for v, x in r.items() if not x <= rhat_max]
    if bad_r:
        messages.append(
            f"R-hat above {rhat_max}: {', '.join(bad_r)}: chains disagree (not "
            "converged or not identified)"
        )
    bad_b = [f"{v} ({x:.0f})" for v, x in eb.items() if not x >= ess_min]
    if bad_b:
        messages.append(f"bulk ESS below {ess_min:.0f}: {', '.join(bad_b)}")
    bad_t = [f"{v} ({x:.0f})" for v, x in et.items() if not x >= ess_min]
    if bad_t:
        messages.append(f"tail ESS below {ess_min:.0f}: {', '.join(bad_t)}")
    if div > divergences_max:
        messages.append(
            f"{div} divergent transitions: the posterior geometry is hard for "
            "NUTS (raise target_accept, or reparameterise)"
        )
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


def hdi(x: np.ndarray, prob: float = 0.94) -> tuple[float, float]:
    """Narrowest interval holding ``prob`` of the samples ``x``."""
    x = np.sort(np.asarray(x, dtype=float).ravel())
    n = x.size
    k = max(1, int(math.floor(prob * n)))
    if k >= n:
        return float(x[0]), float(x[-1])
    widths = x[k:] - x[: n - k]
    i = int(np.argmin(widths))
    return float(x[i]), float(x[i + k])
