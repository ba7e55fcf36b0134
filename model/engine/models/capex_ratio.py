"""The capex-ratio model: Bain & Company's "$2 trillion by 2030", with uncertainty.

revenue_required[t] = data_centre_capex[t] / capex_to_revenue[t]
revenue_gap[t] = revenue_required[t] - ai_revenue[t]

Bain's Technology Report 2025 puts the data-centre capex that compute demand requires at about
$500B a year by 2030 and, at the capex-to-revenue ratio cloud providers can sustain, the revenue
that funds it at $2T (so the ratio is $500B / $2T = 0.25); the revenue the industry can fund
(shifted IT budgets and reinvested AI savings) falls $800B short, i.e. $1.2T. The gap and its
metrics are those of every revenue-gap model (:func:`.gap.gap_outputs`).

References
----------
.. [1] Bain & Company (2025-09-23). Technology Report 2025, as reported by Tom's Hardware and
       Cybernews. https://cybernews.com/tech/ai-progress-requires-billions-investment/
"""

from __future__ import annotations

import numpy as np

from .gap import as_matrix, gap_outputs


def revenue_required(data_centre_capex, capex_to_revenue):
    """Revenue that funds the year's data-centre capex at a sustainable ratio [USD/year].

    Parameters
    ----------
    data_centre_capex : array_like [USD/year]
    capex_to_revenue : array_like [share], in (0, 1]
    """
    return np.asarray(data_centre_capex) / np.asarray(capex_to_revenue)


def capex_ratio_gap(inputs: dict, n: int, t: int, timing: str = "end") -> dict:
    """Run the capex-ratio model for ``n`` draws over ``t`` years.

    Returns
    -------
    dict
        The outputs of :func:`.gap.gap_outputs` (series (n, T), metrics (n,)).
    """
    required = revenue_required(
        as_matrix(inputs["data_centre_capex"], n, t),
        as_matrix(inputs["capex_to_revenue"], n, t),
    )
    return gap_outputs(required, inputs, n, t, timing)
