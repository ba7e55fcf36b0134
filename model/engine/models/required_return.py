"""The required-return model: J.P. Morgan's "$650 billion in perpetuity", with uncertainty.

revenue_required[t] = cumulative_ai_investment[t] x target_return[t] / return_margin[t]
revenue_gap[t] = revenue_required[t] - ai_revenue[t]

A perpetuity: the yearly return on the capital invested so far is
``cumulative_ai_investment x target_return``; only the share ``return_margin`` of revenue is a
return on capital (the rest pays the costs of running it), so revenue must be the return divided
by that share. J.P. Morgan (Nov 2025) states a 10 % return on the AI investment expected through
2030 (over $5 trillion) and ~$650B of annual revenue "into perpetuity"; the margin those two
figures imply, 0.10 x $5T / $650B = 0.769, is not stated. The gap and its metrics are those of
every revenue-gap model (:func:`.gap.gap_outputs`).

References
----------
.. [1] J.P. Morgan (2025-11-10), as reported by Tom's Hardware (2025-11).
       https://www.tomshardware.com/tech-industry/artificial-intelligence/
"""

from __future__ import annotations

import numpy as np

from .gap import as_matrix, gap_outputs


def revenue_required(cumulative_ai_investment, target_return, return_margin):
    """Yearly revenue whose return-on-capital share earns the target return, in perpetuity,
    on the capital invested so far [USD/year].

    Parameters
    ----------
    cumulative_ai_investment : array_like [USD]
    target_return : array_like [1/year], decimal (0.10 = 10 %)
    return_margin : array_like [share], in (0, 1]
    """
    return (
        np.asarray(cumulative_ai_investment) * np.asarray(target_return) / np.asarray(return_margin)
    )


def required_return_gap(inputs: dict, n: int, t: int, timing: str = "end") -> dict:
    """Run the required-return model for ``n`` draws over ``t`` years.

    Returns
    -------
    dict
        The outputs of :func:`.gap.gap_outputs` (series (n, T), metrics (n,)).
    """
    required = revenue_required(
        as_matrix(inputs["cumulative_ai_investment"], n, t),
        as_matrix(inputs["target_return"], n, t),
        as_matrix(inputs["return_margin"], n, t),
    )
    return gap_outputs(required, inputs, n, t, timing)
