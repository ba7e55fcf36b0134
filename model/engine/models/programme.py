"""The programme model: capex -> capacity cohorts -> revenue -> costs -> free cash flow.

Pure, vectorized functions. Year index k = t - start runs over 0..T-1; time is measured in
years from the valuation date (1 January of ``start``), so year k spans [k, k + 1). All
equations are in ``docs/model.md``.

Cohort c is the capacity bought by year c's spend. It comes online at time ``c + lead_time``
and its IT part is active for ``compute_life`` years; the active fraction of year k is the
overlap of [k, k + 1) with that window (so fractional lead times and lives work, and a cohort
coming online mid-year earns for part of the year). With ``refresh_it`` the IT part is re-bought
at each retirement (generation g = 1, 2, ... starting at ``c + lead_time + g * compute_life``),
the capacity continues, and each generation is a new cohort for pricing and depreciation.

Layout. The public functions take and return arrays of shape (draws, years). Inside, the
model computes year-major arrays (years, draws): every per-year step (the tax loop, cumulative
sums, Horner's rule in the IRR) then reads one contiguous row, and a per-draw number is a row
(1, draws) that broadcasts along contiguous memory. The (draws, years) arrays returned are
transposed views of those, with no copy.
"""

from __future__ import annotations

import math

import numpy as np

from ...core.vocabulary import VOCABULARY
from .. import financials

HOURS_PER_YEAR = 8760.0


def _row(x, n: int, t: int) -> np.ndarray:
    """A per-year input as (n, T) or (1, T) (scalars and fixed series broadcast)."""
    a = np.asarray(x, dtype=float)
    if a.ndim == 0:
        return np.full((1, t), float(a))
    if a.ndim == 1:
        return a.reshape(1, -1) if a.shape[0] == t else a.reshape(-1, 1) * np.ones((1, t))
    return a


def _draws(x, n: int) -> np.ndarray:
    """A per-draw scalar as a row (1, n), year-major (fixed values broadcast)."""
    a = np.asarray(x, dtype=float)
    if a.ndim == 0 or a.size == 1:
        return np.full((1, n), float(a.reshape(-1)[0]))
    return a.reshape(1, -1)


def _years(x, n: int, t: int) -> np.ndarray:
    """A per-year input as a contiguous (T, n) or (T, 1) array, year-major."""
    return np.ascontiguousarray(_row(x, n, t).T)


def _delayed_shares_ym(schedule, build_delay, n: int) -> np.ndarray:
    """:func:`delayed_shares`, year-major (T, n)."""
    sched = np.asarray(schedule, dtype=float).reshape(-1)
    t = sched.shape[0]
    delay = _draws(build_delay, n)
    d = np.floor(delay)
    f = delay - d
    # padded[t + 1 + i] = schedule[i]; lower indices are the zeros "before the schedule"
    padded = np.concatenate([np.zeros(t + 1), sched])
    shift = np.minimum(d, t + 1.0).astype(np.int64)  # a delay past the horizon moves it all out
    idx = (np.arange(t) + (t + 1)).reshape(-1, 1) - shift  # (T, n), >= 0
    return (1.0 - f) * padded.take(idx) + f * padded.take(idx - 1)


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
    return _delayed_shares_ym(schedule, build_delay, n).T


def overlap(start: np.ndarray, length: np.ndarray, t: int) -> np.ndarray:
    """Fraction of each year k in [start, start + length): clip(min(k+1, end) - max(k, start)).

    The literal form of ``active(s, L, k)`` in docs/model.md, per cohort (the per-cohort
    reference in the tests uses it); the engine computes the same fractions year-major as
    differences of :func:`_before`.

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


def _before(x: np.ndarray, t: int) -> np.ndarray:
    """Fraction of each year j = 0..T-1 that lies before time ``x`` (1, n): clip(x - j, 0, 1),
    (T, n). The part of year j inside [a, b) is ``_before(b) - _before(a)``."""
    return np.clip(x - np.arange(t, dtype=float).reshape(-1, 1), 0.0, 1.0)


def it_kernels_closed(lead, it_life, lam, t: int, refresh: bool) -> dict:
    """Per-draw kernels of one cohort's IT over j = years since its spend year, closed form.

    Generation g of the IT serves [lead + g life, lead + (g + 1) life); with ``refresh`` the
    generations follow each other without a gap, so the IT is active from ``lead`` on, and at
    time ``lead + tau`` the active generation has age ``tau mod life``. Valid for
    ``it_life >= 1`` (at most one generation change per year); :func:`it_kernels_loop` holds
    for any life.

    Parameters
    ----------
    lead, it_life, lam : ndarray (1, n)
        Lead time [years], IT life [years], log(1 - price_decline) [1/year].
    t : int
        Years.
    refresh : bool

    Returns
    -------
    dict of ndarray (T, n), year-major
        ``first``: active fraction of generation 0; ``active``: of all generations;
        ``priced``: active x (1 - decline)^age (age from each generation's start, the first
        part-year at full price); ``refreshes``: refresh purchases in year j (None without
        refresh); ``before_lead``: the part of year j before the lead time.
    """
    j = np.arange(t, dtype=float).reshape(-1, 1)
    before_lead = _before(lead, t)
    first = _before(lead + it_life, t) - before_lead
    if not refresh:
        priced = first * np.minimum(np.exp(lam * (j - lead)), 1.0)
        return {
            "first": first,
            "active": first,
            "priced": priced,
            "refreshes": None,
            "before_lead": before_lead,
        }
    online = 1.0 - before_lead  # fraction of year j after `lead`
    tau = j - lead  # time online at the start of year j (< 0: not yet)
    started = tau >= 0.0
    since = np.maximum(tau, 0.0)
    # age of the generation active at the start of year j: tau mod life (clipped for rounding)
    age = np.clip(since - it_life * np.floor(since / it_life), 0.0, it_life)
    rest = it_life - age  # time until the next generation starts
    part = np.minimum(rest, 1.0)  # of the year still served by that generation
    # the rest of the year (if a generation starts inside it) is served at full price; before
    # the start, the year's part after `lead` at full price
    served = part * np.exp(lam * age) + (1.0 - part)
    priced = np.where(started, served, online)
    # a refresh is bought in year j when a generation g >= 1 starts inside [j, j + 1)
    refreshes = started & ((rest < 1.0) | ((age == 0.0) & (tau >= it_life)))
    return {
        "first": first,
        "active": online,
        "priced": priced,
        "refreshes": refreshes.astype(float),
        "before_lead": before_lead,
    }


def it_kernels_loop(lead, it_life, lam, t: int, refresh: bool, by_generation: bool = False) -> dict:
    """The kernels of :func:`it_kernels_closed`, generation by generation (any IT life).

    Parameters
    ----------
    lead, it_life, lam : ndarray (1, n)
        Lead time [years], IT life [years], log(1 - price_decline) [1/year].
    t : int
        Years.
    refresh : bool
    by_generation : bool
        Also return ``generations``: a list of (priced kernel of the generation (T, n), floor
        of its start (1, n)), for prices that vary by launch year.

    Returns
    -------
    dict of ndarray (T, n), year-major
        As :func:`it_kernels_closed`.
    """
    n = lead.shape[1]
    j = np.arange(t, dtype=float).reshape(-1, 1)
    before_lead = _before(lead, t)
    first = _before(lead + it_life, t) - before_lead
    later = np.zeros((t, n))
    priced = np.zeros((t, n))
    refreshes = np.zeros((t, n)) if refresh else None
    per_generation = []
    generations = 1
    if refresh:
        generations = min(math.ceil(t / max(float(it_life.min()), 1e-3)) + 1, 10_000)
    for gen in range(generations):  # loop over refresh generations, vectorized over draws
        start = lead + gen * it_life  # (1, n) relative to the spend year
        if gen > 0 and (start >= t).all():
            break
        active = first if gen == 0 else _before(start + it_life, t) - _before(start, t)
        if gen > 0:
            later += active
            refreshes += np.floor(start) == j
        decayed = active * np.minimum(np.exp(lam * (j - start)), 1.0)  # age clipped at 0
        priced += decayed
        if by_generation:
            per_generation.append((decayed, np.floor(start).astype(np.int64)))
    out = {
        "first": first,
        "active": first + later,
        "priced": priced,
        "refreshes": refreshes,
        "before_lead": before_lead,
    }
    if by_generation:
        out["generations"] = per_generation
    return out


def it_book_value_share(cohorts, lead, it_life, t: int, refresh: bool, refresh_ratio):
    """Undepreciated share of each cohort's IT spend at the horizon end, (C, n).

    Generation 0 costs the IT spend, later ones ``refresh_ratio`` x that; the generation active
    at the horizon end (time ``t``) keeps (life - age) / life of its cost; a cohort not yet
    online keeps all of it.

    Parameters
    ----------
    cohorts : ndarray (C,)
        Spend years [year index].
    lead, it_life : ndarray (1, n)
        [years].
    t : int
    refresh : bool
    refresh_ratio : float or ndarray (1, n)
    """
    tau = t - (cohorts.reshape(-1, 1) + lead)  # time online before the horizon end (C, n)
    if not refresh:
        return np.clip((it_life - tau) / it_life, 0.0, 1.0)
    since = np.maximum(tau, 0.0)
    generation = np.floor(since / it_life)
    age = np.clip(since - it_life * generation, 0.0, it_life)
    remaining = np.where(tau <= 0.0, 1.0, np.where(age > 0.0, (it_life - age) / it_life, 0.0))
    return remaining * np.where(generation >= 1, refresh_ratio, 1.0)


def _convolve(shares: np.ndarray, kernels: np.ndarray, cohorts: np.ndarray) -> np.ndarray:
    """out[m, k] = sum over cohorts c of shares[c] x kernels[m, k - c], year-major.

    Parameters
    ----------
    shares : ndarray (T, n)
    kernels : ndarray (M, T, n)
    cohorts : ndarray (C,)
        The years with any share (the others add nothing).

    Returns
    -------
    ndarray (M, T, n)
    """
    t = shares.shape[0]
    out = np.zeros_like(kernels)
    product = np.empty_like(kernels)
    for c in cohorts:  # loop over spend years (a handful), vectorized over draws and kernels
        np.multiply(kernels[:, : t - c], shares[c], out=product[:, : t - c])
        out[:, c:] += product[:, : t - c]
    return out


def _tax_ym(ebit: np.ndarray, tax_rate: np.ndarray) -> np.ndarray:
    """:func:`loss_carry_forward_tax` on year-major (T, n) EBIT, tax rate (1, n)."""
    rate = tax_rate.reshape(-1)
    pool = np.zeros(ebit.shape[1])
    tax = np.empty_like(ebit)
    for k in range(ebit.shape[0]):  # sequential in time by nature; vectorized over draws
        e = ebit[k]
        taxable = np.maximum(e - pool, 0.0)
        pool = np.maximum(pool - e, 0.0)
        np.multiply(rate, taxable, out=tax[k])
    return tax


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
    ebit = np.asarray(ebit, dtype=float)
    return _tax_ym(np.ascontiguousarray(ebit.T), _draws(tax_rate, ebit.shape[0])).T


def programme_cash_flows(
    inputs: dict, n: int, t: int, timing: str = "end", with_irr: bool = True
) -> dict:
    """Run the programme model for ``n`` draws over ``t`` years.

    Parameters
    ----------
    inputs : mapping
        Sampled inputs in canonical units (see :func:`model.engine.inputs.sample_inputs` and
        :class:`model.engine.interface.ModelInputs`): per-draw scalars as float or (n,), series
        as (T,) or (n, T), switches as values. An input left out takes its off-switch default
        from the vocabulary (:data:`model.core.vocabulary.VOCABULARY`).
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
        ``npv``, ``irr``, ``irr_roots`` (how many IRRs), ``payback_years``,
        ``payback_via_terminal`` (1 where only the terminal value pays back),
        ``revenue_capped_years`` (company_share: years the capacity bound capped), ``peak_funding``,
        ``levelized_cost_per_gpu_hour``, ``total_spend``.
    """
    get = _reader(inputs)
    capex = _capex(get, n)
    tl = _timeline(get, n)
    capacity_model = get("revenue_model") == "capacity"
    has_hours = get("gpus_per_mw") is not None and get("utilisation") is not None
    price, price_by_year = _launch_price(get, n, t) if capacity_model else (None, False)
    kern = _kernels(tl, t, by_generation=price_by_year)
    per_share = _per_share(capex, tl, kern, t, has_hours)
    it_active_mw = capex["mw_per_share"] * per_share[0]  # MW of active IT in each year
    physical = {
        "spend": capex["spend"],
        "refresh_spend": (
            tl["refresh_ratio"] * tl["compute_share"] * capex["spend_per_share"] * per_share[-1]
            if tl["refresh"]
            else np.zeros((t, n))
        ),
        "capacity_mw": it_active_mw,
        "in_service_capex": capex["spend_per_share"] * per_share[0],
        "depreciation": capex["spend_per_share"] * per_share[1],
        "gpu_hours": np.zeros((t, n)),
        "priced_hours": None,  # GPU-hours x (1 - decline)^age: for the levelized cost
        "revenue": np.zeros((t, n)),
        "book_value": _book_value(capex, tl, t),
    }
    if has_hours:
        unit_hours = _years(get("utilisation"), n, t) * (
            _draws(get("gpus_per_mw"), n) * HOURS_PER_YEAR
        )
        physical["gpu_hours"] = it_active_mw * unit_hours
        physical["priced_hours"] = (capex["mw_per_share"] * per_share[2]) * unit_hours
        if capacity_model:
            physical["revenue"] = _capacity_revenue(
                physical["priced_hours"], price, price_by_year, capex, kern, unit_hours, t, n
            )
    capped = np.zeros((t, n), dtype=bool)
    if not capacity_model:
        physical["revenue"], capped = _capped_company_revenue(get, it_active_mw, n, t)
    out = _statement(inputs, n, t, timing, with_irr, physical)
    out["revenue_capped"] = capped.T.astype(float)
    out["revenue_capped_years"] = capped.sum(axis=0).astype(float)
    return out


def _capped_company_revenue(get, it_active_mw: np.ndarray, n: int, t: int):
    """Company revenue x attributable share, capped by what the capacity online can earn:
    available GPU-hours (MW online x gpus_per_mw x 8,760) x max_revenue_per_gpu_hour (T, n);
    and where the cap binds (T, n) bool."""
    demand = np.broadcast_to(
        _years(get("revenue_path"), n, t) * _years(get("attributable_share"), n, t), (t, n)
    )
    bound = it_active_mw * (
        _draws(get("gpus_per_mw"), n) * HOURS_PER_YEAR * _draws(get("max_revenue_per_gpu_hour"), n)
    )
    capped = demand > bound
    return np.where(capped, bound, demand), capped


def _reader(inputs):
    """``get(name)``: the input, or its off-switch default from the vocabulary (the one place
    defaults are stated)."""
    specs = VOCABULARY["programme"]

    def get(name):
        if name in inputs:
            return inputs[name]
        return specs[name].default if name in specs else None

    return get


def _capex(get, n: int) -> dict:
    """Spending: shares by year (T, n) after the build delay, the spend years (cohorts), what
    a unit of share costs and how many MW it buys."""
    schedule = np.asarray(get("capex_schedule"), dtype=float)
    if schedule.ndim == 2:  # a fixed schedule broadcast per draw is the same row
        schedule = schedule[0]
    shares = _delayed_shares_ym(schedule, get("build_delay"), n)  # (T, n)
    capex_total = _draws(get("capex_total"), n)
    spend_per_share = capex_total * _draws(get("capex_overrun"), n)  # what is actually paid
    return {
        "shares": shares,
        "cohorts": np.nonzero(shares.any(axis=1))[0],  # only years that buy capacity
        "spend_per_share": spend_per_share,
        "mw_per_share": capex_total / _draws(get("capex_per_mw"), n),  # overrun: cost, not MW
        "spend": shares * spend_per_share,
    }


def _timeline(get, n: int) -> dict:
    """Per-draw lives, lead time, IT share, refresh and the log price decline (1, n)."""
    refresh = bool(get("refresh_it"))
    return {
        "compute_share": _draws(get("compute_share"), n),
        "it_life": _draws(get("compute_life"), n),
        "facility_life": _draws(get("facility_life"), n),
        "lead": _draws(get("lead_time"), n),  # cohort c is online from c + lead [years]
        "refresh": refresh,
        "refresh_ratio": _draws(get("refresh_cost_ratio"), n) if refresh else 0.0,
        # log(1 - decline)
        "lam": np.log1p(-np.minimum(_draws(get("price_decline"), n), 1.0 - 1e-12)),
    }


def _launch_price(get, n: int, t: int):
    """The GPU-hour price by launch year (T, n) when it is a series, else one per draw (1, n);
    and which of the two it is."""
    price_raw = np.asarray(get("price_per_gpu_hour"), dtype=float)
    by_year = (price_raw.ndim == 2 and price_raw.shape[1] > 1) or (
        price_raw.ndim == 1 and price_raw.size == t and n != t
    )  # a (T,) year series
    return (_years(price_raw, n, t) if by_year else _draws(price_raw.reshape(-1), n)), by_year


def _kernels(tl: dict, t: int, by_generation: bool) -> dict:
    """One cohort's IT kernels over the years since its spend year.

    Every cohort has the same timeline relative to its spend year (lead time, lives), so each
    quantity is a kernel over j = k - c, built once per draw, then convolved with the cohorts'
    shares: cost O(kernels x cohorts) per (draw, year). The kernels are in closed form where the
    IT life is at least a year, generation by generation otherwise (per draw, so a draw's
    numbers never depend on the other draws of its chunk).
    """
    lead, it_life, lam, refresh = tl["lead"], tl["it_life"], tl["lam"], tl["refresh"]
    if by_generation:
        return it_kernels_loop(lead, it_life, lam, t, refresh, by_generation=True)
    kern = it_kernels_closed(lead, it_life, lam, t, refresh)
    short = np.nonzero(it_life[0] < 1.0)[0] if refresh else np.empty(0, np.int64)
    if short.size:
        loop = it_kernels_loop(lead[:, short], it_life[:, short], lam[:, short], t, refresh)
        for key in ("first", "active", "priced", "refreshes"):
            kern[key][:, short] = loop[key]
    return kern


def _per_share(capex: dict, tl: dict, kern: dict, t: int, has_hours: bool) -> np.ndarray:
    """Active IT, depreciation (and priced hours, refresh purchases) per unit of share, summed
    over the cohorts: (kernels, T, n)."""
    first, active_it = kern["first"], kern["active"]
    # depreciation per unit of spend: IT straight-line over its life from online (generation 0
    # costs the IT spend, later ones refresh_ratio x that); facility over its life from online
    facility_active = _before(tl["lead"] + tl["facility_life"], t) - kern["before_lead"]
    dep_kernel = (
        tl["compute_share"] * (first + tl["refresh_ratio"] * (active_it - first)) / tl["it_life"]
        + (1.0 - tl["compute_share"]) / tl["facility_life"] * facility_active
    )
    stack = [active_it, dep_kernel]
    if has_hours:
        stack.append(kern["priced"])
    if tl["refresh"]:
        stack.append(kern["refreshes"])
    return _convolve(capex["shares"], np.stack(stack), capex["cohorts"])


def _book_value(capex: dict, tl: dict, t: int) -> np.ndarray:
    """Undepreciated IT and facility at the horizon end (n,) [USD]."""
    cohorts, lead = capex["cohorts"], tl["lead"]
    facility_left = np.clip(
        (cohorts.reshape(-1, 1) + lead + tl["facility_life"] - t) / tl["facility_life"], 0.0, 1.0
    )
    it_left = it_book_value_share(
        cohorts, lead, tl["it_life"], t, tl["refresh"], tl["refresh_ratio"]
    )
    share = tl["compute_share"]
    return capex["spend_per_share"][0] * (
        capex["shares"][cohorts] * (share * it_left + (1.0 - share) * facility_left)
    ).sum(axis=0)


def _capacity_revenue(priced_hours, price, by_year, capex, kern, unit_hours, t, n):
    """Revenue of the capacity sold by the GPU-hour at its launch price, declining with age."""
    if not by_year:
        return priced_hours * price
    prices = np.broadcast_to(price, (t, n))
    mw = capex["shares"] * capex["mw_per_share"]
    revenue_mw = np.zeros((t, n))
    for decayed, offset in kern["generations"]:  # launch year of cohort c: c + offset
        launch = np.minimum(np.arange(t).reshape(-1, 1) + offset, t - 1)
        weights = mw * np.take_along_axis(prices, launch, axis=0)
        revenue_mw += _convolve(weights, decayed[None], capex["cohorts"])[0]
    return revenue_mw * unit_hours


def cash_flow_statement(
    inputs: dict, n: int, t: int, timing: str, with_irr: bool, physical: dict
) -> dict:
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
    year_major = {
        k: (
            v
            if v is None or k == "book_value"
            else np.ascontiguousarray(np.broadcast_to(v, (n, t)).T)
        )
        for k, v in physical.items()
    }
    return _statement(inputs, n, t, timing, with_irr, year_major)


def _statement(inputs: dict, n: int, t: int, timing: str, with_irr: bool, physical: dict) -> dict:
    """:func:`cash_flow_statement` on year-major (T, n) arrays; returns (n, T) views."""
    get = _reader(inputs)
    spend, refresh_spend = physical["spend"], physical["refresh_spend"]
    revenue, priced_hours = physical["revenue"], physical["priced_hours"]
    energy_cost = (
        physical["capacity_mw"]
        * (HOURS_PER_YEAR * _draws(get("pue"), n) * _draws(get("power_load_factor"), n))
        * _years(get("power_price"), n, t)
    )
    fixed_opex = _draws(get("fixed_opex_share"), n) * physical["in_service_capex"]
    cor_share = _draws(get("cost_of_revenue_share"), n)
    variable_cost = cor_share * revenue
    ebitda = revenue - energy_cost - fixed_opex - variable_cost
    tax = _tax_ym(ebitda - physical["depreciation"], _draws(get("tax_rate"), n))
    terminal = np.zeros((t, n))
    if get("terminal_value") == "book_value":
        terminal[-1] = physical["book_value"]
    fcf = ebitda - tax - spend - refresh_spend + terminal
    cumulative = _running_sum(fcf)
    rate = _draws(get("discount_rate"), n)
    factors = _discount_rows(rate, t, n, timing)
    flows = fcf.T  # (n, T) views from here on
    if priced_hours is not None:
        # the break-even launch price: costs net of what the terminal value gives back, per
        # GPU-hour net of the cost of revenue (pricing every hour at it: pre-tax NPV = 0)
        costs = spend + refresh_spend + energy_cost + fixed_opex - terminal
        levelized = financials.levelized_cost(
            costs.T, (priced_hours * (1.0 - cor_share)).T, rate[0], factors=factors.T
        )
    else:
        levelized = np.full(n, np.nan)
    out = {
        "spend": spend.T,
        "refresh_spend": refresh_spend.T,
        "capacity_mw": physical["capacity_mw"].T,
        "gpu_hours": physical["gpu_hours"].T,
        "revenue": revenue.T,
        "energy_cost": energy_cost.T,
        "fixed_opex": fixed_opex.T,
        "variable_cost": variable_cost.T,
        "ebitda": ebitda.T,
        "depreciation": physical["depreciation"].T,
        "tax": tax.T,
        "terminal": terminal.T,
        "fcf": flows,
        "cumulative_fcf": cumulative.T,
        "levelized_cost_per_gpu_hour": levelized,
        "total_spend": (spend + refresh_spend).sum(axis=0),
    }
    out.update(_metrics(flows, cumulative, rate, factors, timing, with_irr, n))
    out["payback_via_terminal"] = _via_terminal(out["payback_years"], cumulative, terminal)
    return out


def _via_terminal(payback: np.ndarray, cumulative: np.ndarray, terminal: np.ndarray) -> np.ndarray:
    """1.0 where a draw pays back only through the terminal value (n,): the cumulative flow
    first returns to >= 0 in the last year, and would not without the terminal value."""
    t = cumulative.shape[0]
    return (np.isfinite(payback) & (payback > t - 1) & (cumulative[-1] - terminal[-1] < 0)).astype(
        float
    )


def _running_sum(fcf: np.ndarray) -> np.ndarray:
    """Cumulative sum down the years (T, n), one contiguous row at a time."""
    cumulative = np.empty_like(fcf)
    np.copyto(cumulative[0], fcf[0])
    for k in range(1, fcf.shape[0]):
        np.add(cumulative[k - 1], fcf[k], out=cumulative[k])
    return cumulative


def _discount_rows(rate: np.ndarray, t: int, n: int, timing: str) -> np.ndarray:
    """Discount factors (1 + r)^-(k + offset) (see :func:`financials.discount_factors`), one
    row per year (T, n): a running product of 1 / (1 + r)."""
    offset = financials._timing_offset(timing)
    per_year = 1.0 / (1.0 + rate[0])
    factors = np.empty((t, n))
    factors[0] = per_year if offset == 1.0 else np.sqrt(per_year)
    for k in range(1, t):
        np.multiply(factors[k - 1], per_year, out=factors[k])
    return factors


def _metrics(flows, cumulative, rate, factors, timing, with_irr, n) -> dict:
    """NPV, IRR (and how many IRRs there are), payback and peak funding of each draw's flows
    (n, T)."""
    if with_irr:
        rate_of_return, roots = financials.irr_and_count(flows, timing=timing)
    else:
        rate_of_return, roots = np.full(n, np.nan), np.full(n, np.nan)
    return {
        "npv": financials.npv(flows, rate[0], factors=factors.T),
        "irr": rate_of_return,
        "irr_roots": np.asarray(roots, dtype=float),
        "payback_years": financials.payback_years(flows, cumulative=cumulative.T),
        "peak_funding": financials.peak_funding(flows, cumulative=cumulative.T),
    }
