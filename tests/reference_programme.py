"""Reference implementation of the programme model for tests: the straightforward per-cohort
form (arrays of shape (draws, cohorts, years), one generation at a time). The engine in
model/engine/models/programme.py computes the same numbers with kernels over the years since spend; this file
is the independent check that the faster form changed nothing. (Copied from the first engine
version, which the hand-calculated tests of tests/test_programme.py validated.)

The programme model: capex -> capacity cohorts -> revenue -> costs -> free cash flow.

Pure, vectorized functions over arrays of shape (draws, years) and (draws, cohorts, years). Year
index k = t - start runs over 0..T-1; time is measured in years from the valuation date
(1 January of ``start``), so year k spans [k, k + 1). All equations are in ``docs/model.md``.

Cohort c is the capacity bought by year c's spend. It comes online at time ``c + lead_time``
and its IT part is active for ``compute_life`` years; the active fraction of year k is the
overlap of [k, k + 1) with that window (so fractional lead times and lives work, and a cohort
coming online mid-year earns for part of the year). With ``refresh_it`` the IT part is re-bought
at each retirement (generation g = 1, 2, ... starting at ``c + lead_time + g * compute_life``),
the capacity continues, and each generation is a new cohort for pricing and depreciation.
"""

from __future__ import annotations

import math

import numpy as np

# the small helpers are shared (validated by the hand calculations of test_programme.py); what
# is independent here is the per-cohort, per-generation computation below
from model.engine.models.programme import (  # noqa: E402
    HOURS_PER_YEAR,
    _draws,
    _row,
    cash_flow_statement,
    delayed_shares,
    overlap,
)


def _col(x, n: int) -> np.ndarray:
    """A per-draw scalar as a column (n, 1) (fixed values broadcast)."""
    return _draws(x, n).reshape(-1, 1)


def programme_cash_flows(
    inputs: dict, n: int, t: int, timing: str = "end", with_irr: bool = True
) -> dict:
    """Run the programme model for ``n`` draws over ``t`` years.

    Parameters
    ----------
    inputs : dict
        Sampled inputs in canonical units (see :func:`model.engine.inputs.sample_inputs`):
        per-draw scalars as float or (n,), series as (T,) or (n, T), switches as values.
    n, t : int
        Draws and years.
    timing : {"end", "mid"}
        Cash-flow timing convention for discounting.
    with_irr : bool
        Compute the IRR (NaN otherwise): the costliest metric, skipped by callers that do not
        read it (sensitivity designs).

    Returns
    -------
    dict
        Series (n, T) [USD or MW]: ``spend``, ``refresh_spend``, ``capacity_mw``, ``gpu_hours``,
        ``revenue``, ``energy_cost``, ``fixed_opex``, ``variable_cost``, ``ebitda``,
        ``depreciation``, ``tax``, ``terminal``, ``fcf``, ``cumulative_fcf``; metrics (n,):
        ``npv``, ``irr``, ``payback_years``, ``peak_funding``, ``levelized_cost_per_gpu_hour``,
        ``total_spend``.
    """
    g = inputs.get
    schedule = np.asarray(g("capex_schedule"), dtype=float)
    if schedule.ndim == 2:  # a fixed schedule broadcast per draw is the same row
        schedule = schedule[0]
    shares = delayed_shares(schedule, g("build_delay", 0.0), n)  # (n, T)
    cohorts = np.nonzero(shares.any(axis=0))[0]  # only years that buy capacity
    shares_c = shares[:, cohorts]  # (n, C)
    cohort_year = cohorts.astype(float).reshape(1, -1)

    capex_total = _col(g("capex_total"), n)
    overrun = _col(g("capex_overrun", 1.0), n)
    base_spend_c = capex_total * shares_c  # announced money per cohort, before overrun
    spend_c = base_spend_c * overrun  # (n, C) what is actually paid
    mw_c = base_spend_c / _col(g("capex_per_mw"), n)  # overrun raises cost, not capacity

    compute_share = _col(g("compute_share"), n)
    it_life = _col(g("compute_life"), n)
    facility_life = _col(g("facility_life"), n)
    online = cohort_year + _col(g("lead_time"), n)  # (n, C) [years from valuation date]
    refresh = bool(g("refresh_it", False))
    refresh_ratio = _col(g("refresh_cost_ratio", 1.0), n) if refresh else None

    capacity_model = g("revenue_model") == "capacity"
    has_hours = g("gpus_per_mw") is not None and g("utilisation") is not None
    util = _row(g("utilisation"), n, t) if has_hours else None
    gpus_per_mw = _col(g("gpus_per_mw"), n) if has_hours else None
    decline = _col(g("price_decline", 0.0), n)[..., None]  # (n, 1, 1)
    log_keep = np.log1p(-np.minimum(decline, 1.0 - 1e-12))
    price = _row(g("price_per_gpu_hour"), n, t) if capacity_model else None

    spend = np.zeros((n, t))
    spend[:, cohorts] = spend_c
    refresh_spend = np.zeros((n, t))
    it_active_mw = np.zeros((n, t))  # MW-years of active IT in each year
    in_service_capex = np.zeros((n, t))
    gpu_hours = np.zeros((n, t))
    priced_hours = np.zeros((n, t))  # GPU-hours x (1 - decline)^age: for the levelized cost
    revenue = np.zeros((n, t))
    depreciation = np.zeros((n, t))
    book_value = np.zeros(n)

    k_years = np.arange(t, dtype=float)
    it_cost0 = compute_share * spend_c
    # (1 - decline)^(k - s) = exp(k lam) exp(-s lam), lam = log(1 - decline) <= 0: separable,
    # so no exponential of a (draw, cohort, year) array is needed; min(1, .) clips the age at 0
    lam = log_keep[..., 0]  # (n, 1)
    keep_k = np.exp(k_years[None, None, :] * lam[..., None]) if has_hours else None  # (n, 1, T)
    unit_hours = None
    if has_hours:
        unit_hours = util * (gpus_per_mw * HOURS_PER_YEAR)  # GPU-hours per active MW, (n, T)
    if refresh:
        horizon_gens = math.ceil(t / max(float(it_life.min()), 1e-3)) + 1
        generations = range(min(horizon_gens, 10_000))
    else:
        generations = range(1)
    priced_mw = np.zeros((n, t))  # sum of active MW x (1 - decline)^age
    revenue_mw = np.zeros((n, t))  # the same, x launch price
    for gen in generations:  # loop over refresh generations, vectorized over draws and cohorts
        start = online + gen * it_life  # (n, C)
        if gen > 0:
            bought = start < t  # a refresh is paid in the year it happens, inside the horizon
            if not bought.any():
                break
            cost = np.where(bought, refresh_ratio * it_cost0, 0.0)
            pay_year = np.clip(np.floor(start), 0, t - 1).astype(np.int64)
            onehot = (pay_year[..., None] == np.arange(t)) & bought[..., None]
            refresh_spend += np.einsum("nc,nct->nt", cost, onehot)
        else:
            cost = it_cost0
        life = np.broadcast_to(it_life, start.shape)  # each generation serves one IT life
        active = overlap(start, life, t)  # (n, C, T)
        it_active_mw += np.einsum("nct,nc->nt", active, mw_c)
        in_service_capex += np.einsum("nct,nc->nt", active, spend_c)
        # straight-line IT depreciation over its life from the time it comes online
        depreciation += np.einsum("nct,nc->nt", active, cost / life)
        remaining = np.clip((start + life - t) / life, 0.0, 1.0)
        if gen > 0:
            remaining = np.where(start < t, remaining, 0.0)
        book_value += (cost * remaining).sum(axis=1)
        if has_hours:
            factor = np.minimum(keep_k * np.exp(-start * lam)[..., None], 1.0)  # (n, C, T)
            factor *= active
            priced_mw += np.einsum("nct,nc->nt", factor, mw_c)
            if capacity_model:
                launch = np.clip(np.floor(start), 0, t - 1).astype(np.int64)
                p_launch = np.take_along_axis(np.broadcast_to(price, (n, t)), launch, axis=1)
                revenue_mw += np.einsum("nct,nc->nt", factor, mw_c * p_launch)
        if not refresh:
            break
    if has_hours:
        gpu_hours = it_active_mw * unit_hours
        priced_hours = priced_mw * unit_hours
        if capacity_model:
            revenue = revenue_mw * unit_hours

    # facility: depreciated from the online time over facility_life; it is not refreshed
    facility_cost = (1.0 - compute_share) * spend_c
    fac_active = overlap(online, facility_life * np.ones_like(online), t)
    depreciation += (facility_cost[..., None] * fac_active / facility_life[..., None]).sum(axis=1)
    book_value += (
        facility_cost * np.clip((online + facility_life - t) / facility_life, 0.0, 1.0)
    ).sum(axis=1)

    if not capacity_model:
        revenue = np.broadcast_to(_row(g("revenue_path"), n, t), (n, t)) * _row(
            g("attributable_share"), n, t
        )
    # costs, tax, cash flow and metrics: the engine's own (shared) statement
    return cash_flow_statement(
        inputs,
        n,
        t,
        timing,
        with_irr,
        {
            "spend": spend,
            "refresh_spend": refresh_spend,
            "capacity_mw": it_active_mw,
            "in_service_capex": in_service_capex,
            "depreciation": depreciation,
            "gpu_hours": gpu_hours,
            "priced_hours": priced_hours if has_hours else None,
            "revenue": revenue,
            "book_value": book_value,
        },
    )
