"""Lease versus own for a neocloud, per GPU: a capex user model (template of `capex new --python`).

Owning a GPU costs its all-in price up front and its power and operations every hour; leasing
the same GPU costs the lease rate every hour. Both pay whether the GPU is busy or idle, so
utilisation does not enter. At the end of the horizon an owned GPU is sold for a share of its
price. With r the discount rate and flows at year end (year t = 1 .. T):

    saving_t            = (lease_rate - own_opex) x 8,760 h          [USD/year per GPU]
    npv_own_minus_lease = sum_t saving_t / (1 + r)^t - price + resale_share x price / (1 + r)^T

Positive means owning is worth more than leasing at the discount rate. Every input arrives as
an array with one value per draw (series inputs: one row per draw, one column per year), so the
arithmetic below is vectorised: no loop over draws.
"""

import numpy as np

HOURS_PER_YEAR = 8_760.0


def lease_versus_own(inputs, years):
    """capex calls this once per chunk of draws; return every output declared in the YAML."""
    t = np.arange(1, years.size + 1)  # year index 1..T, flows at year end
    r = inputs["discount_rate"][:, None]
    discount = (1.0 + r) ** -t  # (draws, years)
    saving = (inputs["lease_rate"] - inputs["own_opex"])[:, None] * HOURS_PER_YEAR
    saving = saving * np.ones(years.size)  # the same every year (draws, years)
    price = inputs["gpu_price"]
    resale = inputs["resale_share"] * price * discount[:, -1]
    npv = (saving * discount).sum(axis=1) - price + resale
    cumulative = np.cumsum(saving * discount, axis=1) - price[:, None]
    return {"npv_own_minus_lease": npv, "cumulative_advantage": cumulative}
