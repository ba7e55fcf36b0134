"""The programme model: capex -> capacity cohorts -> revenue -> costs -> free cash flow.

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

from . import financials

HOURS_PER_YEAR = 8760.0


def _col(x, n: int) -> np.ndarray:
    """A per-draw scalar as a column (n, 1) (fixed values broadcast)."""
    a = np.asarray(x, dtype=float)
    if a.ndim == 0 or a.size == 1:
        return np.full((n, 1), float(a.reshape(-1)[0]))
    return a.reshape(-1, 1)


def _row(x, n: int, t: int) -> np.ndarray:
    """A per-year input as (n, T) or (1, T) (scalars and fixed series broadcast)."""
    a = np.asarray(x, dtype=float)
    if a.ndim == 0:
        return np.full((1, t), float(a))
    if a.ndim == 1:
        return a.reshape(1, -1) if a.shape[0] == t else a.reshape(-1, 1) * np.ones((1, t))
    return a


def delayed_shares(schedule: np.ndarray, build_delay, n: int) -> np.ndarray:
    """Shift a spending schedule later by ``build_delay`` years (fractional delays split).

    out[k] = (1 - f) schedule[k - d] + f schedule[k - d - 1], d = floor(delay), f = delay - d.
    Spending pushed past the horizon is outside the model.

    Parameters
    ----------
    schedule : ndarray (T,)
        Shares by year [share].
    build_delay : float or ndarray (n,)
        [years], >= 0.

    Returns
    -------
    ndarray (n, T)
    """
    sched = np.asarray(schedule, dtype=float).reshape(-1)
    t = sched.shape[0]
    delay = _col(build_delay, n)
    d = np.floor(delay).astype(np.int64)
    f = delay - d
    k = np.arange(t).reshape(1, -1)
    padded = np.concatenate([np.zeros(1), sched])  # index 0 is "before the schedule"

    def take(shift):
        idx = k - shift
        ok = (idx >= 0) & (idx < t)
        return np.where(ok, padded[np.clip(idx, -1, t - 1) + 1], 0.0)

    return (1.0 - f) * take(d) + f * take(d + 1)


def overlap(start: np.ndarray, length: np.ndarray, t: int) -> np.ndarray:
    """Fraction of each year k in [start, start + length): clip(min(k+1, end) - max(k, start)).

    Parameters
    ----------
    start, length : ndarray (n, C)
        [years from the valuation date], [years].
    t : int
        Number of years.

    Returns
    -------
    ndarray (n, C, T) in [0, 1]
    """
    k = np.arange(t, dtype=float)
    s = start[..., None]
    e = s + length[..., None]
    return np.clip(np.minimum(k + 1.0, e) - np.maximum(k, s), 0.0, 1.0)


def loss_carry_forward_tax(ebit: np.ndarray, tax_rate) -> np.ndarray:
    """Tax with losses carried forward without limit.

    tax[k] = tax_rate * max(ebit[k] - loss_pool, 0); the pool grows by losses and shrinks by
    the profit it shelters.

    Parameters
    ----------
    ebit : ndarray (n, T) [USD]
    tax_rate : float or ndarray (n,) [share]

    Returns
    -------
    ndarray (n, T) [USD], >= 0 (an amount paid)
    """
    rate = _col(tax_rate, ebit.shape[0])[:, 0]
    pool = np.zeros(ebit.shape[0])
    tax = np.zeros_like(ebit)
    for k in range(ebit.shape[1]):  # sequential in time by nature; vectorized over draws
        e = ebit[:, k]
        taxable = np.maximum(e - pool, 0.0)
        pool = np.maximum(pool - e, 0.0)
        tax[:, k] = rate * taxable
    return tax


def programme_cash_flows(inputs: dict, n: int, t: int, timing: str = "end",
                         with_irr: bool = True) -> dict:
    """Run the programme model for ``n`` draws over ``t`` years.

    Parameters
    ----------
    inputs : dict
        Sampled inputs in canonical units (see :func:`model.sampling.sample_inputs`):
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

    base_spend = _col(g("capex_total"), n) * shares  # announced money by year, before overrun
    spend = base_spend * _col(g("capex_overrun", 1.0), n)  # (n, T) what is actually paid
    mw = base_spend / _col(g("capex_per_mw"), n)  # overrun raises cost, not capacity

    compute_share = _col(g("compute_share"), n)
    it_life = _col(g("compute_life"), n)
    facility_life = _col(g("facility_life"), n)
    lead = _col(g("lead_time"), n)  # cohort c is online from c + lead [years]
    refresh = bool(g("refresh_it", False))
    refresh_ratio = _col(g("refresh_cost_ratio", 1.0), n) if refresh else 0.0

    capacity_model = g("revenue_model") == "capacity"
    has_hours = g("gpus_per_mw") is not None and g("utilisation") is not None
    lam = np.log1p(-np.minimum(_col(g("price_decline", 0.0), n), 1.0 - 1e-12))  # log(1 - d)
    price = None
    price_by_year = False
    if capacity_model:
        price_raw = np.asarray(g("price_per_gpu_hour"), dtype=float)
        # by launch year when it is a (1 or n, T) series; one number per draw otherwise
        price_by_year = (price_raw.ndim == 2 and price_raw.shape[1] > 1) or (
            price_raw.ndim == 1 and price_raw.size == t and n != t)  # a (T,) year series
        price = _row(price_raw, n, t) if price_by_year else _col(price_raw.reshape(-1), n)

    # Every cohort has the same timeline relative to its spend year (lead time, lives), so each
    # quantity is a kernel over j = k - c, built once per draw, then convolved with the cohorts'
    # money or MW: cost O(generations + cohorts) per (draw, year), not their product.
    j = np.arange(t, dtype=float).reshape(1, -1)
    active_first = overlap(lead, it_life, t)[:, 0, :]  # generation 0, (n, T)
    active_later = np.zeros((n, t))  # refresh generations
    priced_kernel = np.zeros((n, t))  # active x (1 - decline)^age
    per_generation = []  # (kernel, launch offset) for prices that vary by launch year
    keep_j = np.exp(j * lam)  # (1 - d)^j, (n, T)
    generations = 1
    if refresh:
        generations = min(math.ceil(t / max(float(it_life.min()), 1e-3)) + 1, 10_000)
    refresh_spend = np.zeros((n, t))
    book_value = np.zeros(n)
    it_cost = compute_share * spend[:, cohorts]  # (n, C)
    rows = np.arange(n).reshape(-1, 1)
    for gen in range(generations):  # loop over refresh generations, vectorized over draws
        start = lead + gen * it_life  # (n, 1) relative to the spend year
        if gen > 0 and (start >= t).all():
            break
        active = active_first if gen == 0 else overlap(start, it_life, t)[:, 0, :]
        if gen > 0:
            active_later += active
        if has_hours:
            # (1 - d)^(j - s) = exp(j lam) exp(-s lam); min(1, .) clips the age at 0
            decayed = active * np.minimum(keep_j * np.exp(-start * lam), 1.0)
            priced_kernel += decayed
            if price_by_year:
                per_generation.append((decayed, np.floor(start).astype(np.int64)))
        # absolute start of each cohort's generation, and whether it is bought in the horizon
        abs_start = cohorts.reshape(1, -1) + start  # (n, C)
        if gen > 0:
            bought = abs_start < t
            cost = np.where(bought, refresh_ratio * it_cost, 0.0)
            pay_year = cohorts.reshape(1, -1) + np.floor(start).astype(np.int64)
            flat = (rows * t + np.minimum(pay_year, t - 1))[bought]
            refresh_spend += np.bincount(flat, weights=cost[bought],
                                         minlength=n * t).reshape(n, t)
        else:
            cost = it_cost
        book_value += (cost * np.clip((abs_start + it_life - t) / it_life, 0.0, 1.0)).sum(axis=1)
    active_it = active_first + active_later
    # IT depreciation: generation 0 costs compute_share x spend, later ones refresh_ratio x that
    dep_it_kernel = (active_first + refresh_ratio * active_later) / it_life
    dep_facility_kernel = overlap(lead, facility_life, t)[:, 0, :] / facility_life
    facility_cost = (1.0 - compute_share) * spend
    book_value += (facility_cost[:, cohorts] * np.clip(
        (cohorts.reshape(1, -1) + lead + facility_life - t) / facility_life, 0.0, 1.0)).sum(axis=1)

    def convolve(weights: np.ndarray, kernel: np.ndarray) -> np.ndarray:
        """out[k] = sum over cohorts c of weights[c] x kernel[k - c]."""
        out = np.zeros((n, t))
        for c in cohorts:  # loop over spend years (a handful), vectorized over draws
            out[:, c:] += weights[:, c:c + 1] * kernel[:, :t - c]
        return out

    it_active_mw = convolve(mw, active_it)  # MW of active IT in each year
    in_service_capex = convolve(spend, active_it)
    depreciation = convolve(compute_share * spend, dep_it_kernel) + convolve(
        facility_cost, dep_facility_kernel)
    gpu_hours = np.zeros((n, t))
    priced_hours = np.zeros((n, t))  # GPU-hours x (1 - decline)^age: for the levelized cost
    revenue = np.zeros((n, t))
    if has_hours:
        unit_hours = _row(g("utilisation"), n, t) * (_col(g("gpus_per_mw"), n) * HOURS_PER_YEAR)
        gpu_hours = it_active_mw * unit_hours
        priced_hours = convolve(mw, priced_kernel) * unit_hours
        if capacity_model and not price_by_year:
            revenue = priced_hours * price
        elif capacity_model:
            prices = np.broadcast_to(price, (n, t))
            revenue_mw = np.zeros((n, t))
            for decayed, offset in per_generation:  # launch year of cohort c: c + offset
                launch = np.minimum(np.arange(t).reshape(1, -1) + offset, t - 1)
                revenue_mw += convolve(mw * np.take_along_axis(prices, launch, axis=1), decayed)
            revenue = revenue_mw * unit_hours

    if not capacity_model:
        revenue = np.broadcast_to(_row(g("revenue_path"), n, t), (n, t)) * _row(
            g("attributable_share"), n, t)
    return cash_flow_statement(inputs, n, t, timing, with_irr, {
        "spend": spend, "refresh_spend": refresh_spend, "capacity_mw": it_active_mw,
        "in_service_capex": in_service_capex, "depreciation": depreciation,
        "gpu_hours": gpu_hours, "priced_hours": priced_hours if has_hours else None,
        "revenue": revenue, "book_value": book_value})


def cash_flow_statement(inputs: dict, n: int, t: int, timing: str, with_irr: bool,
                        physical: dict) -> dict:
    """From capacity, capex and revenue to costs, tax, free cash flow and the metrics.

    Parameters
    ----------
    inputs : dict
        Sampled inputs (costs, tax, discount rate, terminal value switch).
    n, t : int
        Draws and years.
    timing : {"end", "mid"}
    with_irr : bool
    physical : dict
        (n, T) arrays ``spend``, ``refresh_spend`` [USD], ``capacity_mw`` [MW],
        ``in_service_capex``, ``depreciation``, ``revenue`` [USD], ``gpu_hours`` and
        ``priced_hours`` [GPU-hour] (None without GPU-hours); (n,) ``book_value`` [USD].

    Returns
    -------
    dict
        The series and metrics of :func:`programme_cash_flows`.
    """
    g = inputs.get
    spend, refresh_spend = physical["spend"], physical["refresh_spend"]
    revenue, priced_hours = physical["revenue"], physical["priced_hours"]
    energy_cost = physical["capacity_mw"] * HOURS_PER_YEAR * _col(g("pue"), n) * _col(
        g("power_load_factor"), n) * _row(g("power_price"), n, t)
    fixed_opex = _col(g("fixed_opex_share"), n) * physical["in_service_capex"]
    cor_share = _col(g("cost_of_revenue_share"), n)
    variable_cost = cor_share * revenue
    ebitda = revenue - energy_cost - fixed_opex - variable_cost
    ebit = ebitda - physical["depreciation"]
    tax = loss_carry_forward_tax(ebit, g("tax_rate"))
    terminal = np.zeros((n, t))
    if g("terminal_value", "none") == "book_value":
        terminal[:, -1] = physical["book_value"]
    fcf = ebitda - tax - spend - refresh_spend + terminal

    rate = np.asarray(g("discount_rate"), dtype=float)
    out = {
        "spend": spend,
        "refresh_spend": refresh_spend,
        "capacity_mw": physical["capacity_mw"],
        "gpu_hours": physical["gpu_hours"],
        "revenue": revenue,
        "energy_cost": energy_cost,
        "fixed_opex": fixed_opex,
        "variable_cost": variable_cost,
        "ebitda": ebitda,
        "depreciation": physical["depreciation"],
        "tax": tax,
        "terminal": terminal,
        "fcf": fcf,
        "cumulative_fcf": np.cumsum(fcf, axis=1),
    }
    factors = financials.discount_factors(t, rate.reshape(-1) if rate.ndim else rate, timing)
    costs = spend + refresh_spend + energy_cost + fixed_opex
    if priced_hours is not None:
        levelized = financials.levelized_cost(costs, priced_hours * (1.0 - cor_share), rate,
                                              factors=factors)
    else:
        levelized = np.full(n, np.nan)
    out.update({
        "npv": np.broadcast_to(financials.npv(fcf, rate, factors=factors), (n,)),
        "irr": financials.irr(fcf, timing=timing) if with_irr else np.full(n, np.nan),
        "payback_years": financials.payback_years(fcf),
        "peak_funding": financials.peak_funding(fcf),
        "levelized_cost_per_gpu_hour": np.broadcast_to(levelized, (n,)).astype(float),
        "total_spend": (spend + refresh_spend).sum(axis=1),
    })
    return out
