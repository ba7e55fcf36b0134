"""The industry model: Sequoia's "AI's $600B question", with uncertainty.

revenue_required[t] = accelerator_revenue[t] x dc_cost_multiplier[t]
                      / (1 - end_user_gross_margin[t])
revenue_gap[t] = revenue_required[t] - ai_revenue[t]

With Sequoia's 2024 figures ($150B of Nvidia data-centre run-rate revenue, a multiplier of 2 for
the rest of the data centre, a 50 % end-user gross margin) the required revenue is
$150B x 2 / 0.5 = $600B.

References
----------
.. [1] Cahn, D. (2024-06-20). AI's $600B Question. Sequoia Capital.
       https://www.sequoiacap.com/article/ais-600b-question/
"""

from __future__ import annotations

import numpy as np

from .. import financials


def _as_matrix(x, n: int, t: int) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if a.ndim == 0:
        return np.full((n, t), float(a))
    if a.ndim == 1:
        return np.broadcast_to(a.reshape(1, -1) if a.shape[0] == t else a.reshape(-1, 1), (n, t))
    return np.broadcast_to(a, (n, t))


def revenue_required(accelerator_revenue, dc_cost_multiplier, end_user_gross_margin):
    """Revenue end users must earn to pay for the year's data-centre spend [USD/year].

    Parameters
    ----------
    accelerator_revenue : array_like [USD/year]
    dc_cost_multiplier : array_like [ratio], >= 1
    end_user_gross_margin : array_like [share], in [0, 1)
    """
    return (
        np.asarray(accelerator_revenue)
        * np.asarray(dc_cost_multiplier)
        / (1.0 - np.asarray(end_user_gross_margin))
    )


def industry_gap(inputs: dict, n: int, t: int, timing: str = "end") -> dict:
    """Run the industry model for ``n`` draws over ``t`` years.

    Returns
    -------
    dict
        Series (n, T) [USD/year]: ``revenue_required``, ``ai_revenue``, ``revenue_gap``,
        ``cumulative_revenue_gap``; metrics (n,): ``revenue_gap_final`` [USD/year],
        ``cumulative_revenue_gap_total`` [USD], ``gap_close_year`` [year index from start, NaN if
        the gap never closes], ``gap_closed_by_end`` [0/1], ``pv_revenue_gap`` [USD] when a
        discount rate is given.
    """
    acc = _as_matrix(inputs["accelerator_revenue"], n, t)
    mult = _as_matrix(inputs["dc_cost_multiplier"], n, t)
    margin = _as_matrix(inputs["end_user_gross_margin"], n, t)
    ai = _as_matrix(inputs["ai_revenue"], n, t)
    required = revenue_required(acc, mult, margin)
    gap = required - ai
    closed = gap <= 0.0
    first = np.where(closed.any(axis=1), closed.argmax(axis=1).astype(float), np.nan)
    out = {
        "revenue_required": np.array(required),
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
