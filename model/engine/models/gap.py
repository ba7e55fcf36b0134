"""The revenue gap shared by the industry-level models: required revenue against AI revenue.

Each revenue-gap model (:mod:`.industry`, :mod:`.capex_ratio`, :mod:`.required_return`) computes
only its ``revenue_required`` path; :func:`gap_outputs` turns it, with the AI revenue earned,
into the same series and metrics:

revenue_gap[t] = revenue_required[t] - ai_revenue[t]
cumulative_revenue_gap[t] = sum of revenue_gap[0..t]
"""

from __future__ import annotations

import numpy as np

from .. import financials


def as_matrix(x, n: int, t: int) -> np.ndarray:
    """An input as an (n, t) array: a scalar, a path (t,), per-draw values (n,) or (n, t)."""
    a = np.asarray(x, dtype=float)
    if a.ndim == 0:
        return np.full((n, t), float(a))
    if a.ndim == 1:
        return np.broadcast_to(a.reshape(1, -1) if a.shape[0] == t else a.reshape(-1, 1), (n, t))
    return np.broadcast_to(a, (n, t))


def gap_outputs(required, inputs: dict, n: int, t: int, timing: str = "end") -> dict:
    """The series and metrics of a revenue-gap model from its required revenue.

    Parameters
    ----------
    required : array_like (n, t) [USD/year]
        Revenue the industry must earn, year by year.
    inputs : dict
        ``ai_revenue`` [USD/year] and, optionally, ``discount_rate`` [1/year].
    n, t : int
        Draws and years.
    timing : {"end", "mid"}
        When in the year the gaps fall, for their present value.

    Returns
    -------
    dict
        Series (n, T) [USD/year]: ``revenue_required``, ``ai_revenue``, ``revenue_gap``,
        ``cumulative_revenue_gap`` [USD]; metrics (n,): ``revenue_gap_final`` [USD/year],
        ``cumulative_revenue_gap_total`` [USD], ``gap_close_year`` [year index from start, NaN if
        the gap never closes], ``gap_closed_by_end`` [0/1], ``pv_revenue_gap`` [USD] when a
        discount rate is given.
    """
    required = np.array(as_matrix(required, n, t))
    ai = as_matrix(inputs["ai_revenue"], n, t)
    gap = required - ai
    closed = gap <= 0.0
    first = np.where(closed.any(axis=1), closed.argmax(axis=1).astype(float), np.nan)
    out = {
        "revenue_required": required,
        "ai_revenue": np.array(ai),
        "revenue_gap": gap,
        "cumulative_revenue_gap": np.cumsum(gap, axis=1),
        "revenue_gap_final": gap[:, -1].copy(),
        "cumulative_revenue_gap_total": gap.sum(axis=1),
        "gap_close_year": first,
        "gap_closed_by_end": closed[:, -1].astype(float),
    }
    rate = inputs.get("discount_rate")
    if rate is not None:
        out["pv_revenue_gap"] = financials.present_value(
            gap, np.asarray(rate, dtype=float), timing=timing
        )
    return out
