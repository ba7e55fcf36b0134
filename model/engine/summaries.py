"""What a run's metrics and probabilities are, in numbers, each with its Monte Carlo error.

A summary says exactly what it is:

* **Never-metrics** (payback, the year the revenue gap closes: outputs with a ``never`` text in
  the vocabulary): a draw that never gets there counts as beyond the horizon, so quantiles are
  over *all* draws; a quantile that falls there is ``inf`` (``null`` in JSON, "after 2040" in
  print). The mean over all draws does not exist then (``None``); the distribution among the
  draws that do get there is kept under ``conditional``, labelled so.
* **Other metrics** with undefined draws (an IRR without a sign change): quantiles are over the
  defined draws, and ``quantiles_of`` says so next to ``undefined_share``.
* Every quantile carries its error (``quantile_mcse``), every mean its ``mcse``, every
  probability its ``mcse``, estimated the way the run's draws depend on each other
  (:class:`model.core.statistics.ErrorModel`).
"""

from __future__ import annotations

import math

import numpy as np

from ..core.statistics import ErrorModel, sorted_quantiles
from ..core.vocabulary import OUTPUTS

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
QUANTILE_KEYS = ("p05", "p25", "p50", "p75", "p95")


def _distribution(ordered: np.ndarray, errors: ErrorModel) -> dict:
    """Mean, sd, MCSE, the five quantiles and their errors of ``ordered`` (finite or +inf),
    sorted once."""
    n = ordered.size
    if n == 0:
        nan = dict.fromkeys(QUANTILE_KEYS, math.nan)
        return {"mean": math.nan, "sd": math.nan, "mcse": math.nan, **nan, "quantile_mcse": nan}
    s = np.sort(ordered)
    q = sorted_quantiles(s, QUANTILES)
    qse = errors.quantile_se(ordered, s, QUANTILES, q)
    finite = bool(np.isfinite(s[-1]))
    mean = float(ordered.mean()) if finite else math.nan
    sd = float(ordered.std(ddof=1)) if finite and n > 1 else math.nan
    out = {"mean": mean, "sd": sd, "mcse": errors.mean_se(ordered) if finite else math.nan}
    out.update(zip(QUANTILE_KEYS, (float(v) for v in q)))
    out["quantile_mcse"] = dict(zip(QUANTILE_KEYS, (float(v) for v in qse)))
    return out


def summarise_metric(name: str, x: np.ndarray, errors: ErrorModel, extra: dict) -> dict:
    """The summary of one metric's draws ``x`` (NaN: undefined or never).

    Parameters
    ----------
    name : str
        Its vocabulary name (decides whether it can be "never").
    x : ndarray (draws,)
    errors : ErrorModel
    extra : dict
        Per-draw facts that feed it: ``irr_roots`` (for ``multiple_share``),
        ``payback_via_terminal`` (for ``via_terminal_share``).

    Returns
    -------
    dict
        ``unit``, ``mean``, ``sd``, ``mcse``, ``p05`` .. ``p95``, ``quantile_mcse``,
        ``defined_share``, ``undefined_share``, ``quantiles_of``; for never-metrics
        ``conditional`` (the same among defined draws, with ``share``); for the IRR
        ``multiple_share``; for payback ``via_terminal_share``.
    """
    spec = OUTPUTS.get(name)
    defined = np.isfinite(x)
    n, k = x.size, int(defined.sum())
    never = spec is not None and spec.never is not None
    out = {"unit": spec.unit if spec else ""}
    if never:
        out.update(_distribution(np.where(defined, x, np.inf), errors))
        out["quantiles_of"] = "all draws"
        cond = _distribution(x[defined], errors.subset(defined))
        cond.update(share=k / n if n else math.nan, draws=k)
        out["conditional"] = cond
    else:
        out.update(_distribution(x[defined], errors.subset(defined) if k < n else errors))
        out["quantiles_of"] = "all draws" if k == n else "defined draws"
    out["defined_share"] = k / n if n else math.nan
    out["undefined_share"] = 1.0 - k / n if n else math.nan
    if name == "irr" and "irr_roots" in extra:
        out["multiple_share"] = float(np.mean(extra["irr_roots"] > 1)) if n else math.nan
    if name == "payback_years" and "payback_via_terminal" in extra:
        out["via_terminal_share"] = float(np.mean(extra["payback_via_terminal"] > 0)) if n else 0
    return out


def probability(indicator: np.ndarray, errors: ErrorModel) -> dict:
    """A share of draws with its Monte Carlo standard error: ``{"value", "mcse"}``."""
    ind = np.asarray(indicator, dtype=float)
    p = float(ind.mean()) if ind.size else math.nan
    return {"value": p, "mcse": errors.probability_se(ind) if ind.size > 1 else math.nan}


def json_number(v):
    """A float for JSON: ``None`` for NaN and infinities (never, undefined)."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def json_summary(summary: dict) -> dict:
    """A metric summary with every non-finite number as ``None`` (nested dicts too)."""
    return {
        k: json_summary(v) if isinstance(v, dict) else json_number(v) for k, v in summary.items()
    }
