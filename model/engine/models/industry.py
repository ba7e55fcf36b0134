"""The industry model: Sequoia's "AI's $600B question", with uncertainty.

revenue_required[t] = accelerator_revenue[t] x dc_cost_multiplier[t]
                      / (1 - end_user_gross_margin[t])
revenue_gap[t] = revenue_required[t] - ai_revenue[t]

With Sequoia's 2024 figures ($150B of Nvidia data-centre run-rate revenue, a multiplier of 2 for
the rest of the data centre, a 50 % end-user gross margin) the required revenue is
$150B x 2 / 0.5 = $600B. The gap and its metrics are those of every revenue-gap model
(:func:`.gap.gap_outputs`).

References
----------
.. [1] Cahn, D. (2024-06-20). AI's $600B Question. Sequoia Capital.
       https://www.sequoiacap.com/article/ais-600b-question/
"""

from __future__ import annotations

import numpy as np

from .gap import as_matrix, gap_outputs


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
        The outputs of :func:`.gap.gap_outputs` (series (n, T), metrics (n,)).
    """
    required = revenue_required(
        as_matrix(inputs["accelerator_revenue"], n, t),
        as_matrix(inputs["dc_cost_multiplier"], n, t),
        as_matrix(inputs["end_user_gross_margin"], n, t),
    )
    return gap_outputs(required, inputs, n, t, timing)
