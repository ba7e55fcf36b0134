"""Pure, vectorized financial functions: discounting, NPV, IRR, payback, funding, annuities.

Conventions (a contract that the rest of the model relies on)
-------------------------------------------------------------
* Rates are decimals per year (``0.08`` is 8 %/year); outflows are negative.
* Cash-flow arrays have shape ``(..., years)``: the last axis is years, any leading axes are
  Monte Carlo draws (or scenarios). Every function works on all leading axes at once; there is
  no Python loop over draws.
* The valuation date is 1 January of the first year. Year ``k``'s cash flow (``k = 0 .. T-1``)
  lands at the end of that year, so it is discounted with exponent ``k + 1``. With
  ``timing="mid"`` it lands mid-year, exponent ``k + 0.5``.

References
----------
.. [1] Brealey, R. A., Myers, S. C. & Allen, F. *Principles of Corporate Finance*, McGraw-Hill
   (chapters on net present value, the IRR rule and its pitfalls, payback, annuities).
.. [2] numpy-financial documentation, https://numpy.org/numpy-financial/ (``npv``, ``irr``,
   ``pmt``): the reference implementations the tests compare against.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = [
    "discount_factors",
    "present_value",
    "npv",
    "irr",
    "cumulative_cash_flow",
    "payback_years",
    "peak_funding",
    "annuity_factor",
    "annuity_payment",
    "levelized_cost",
]

_TIMING_OFFSETS = {"end": 1.0, "mid": 0.5}

# IRR search range in rate space: roots outside (IRR_MIN_RATE, IRR_MAX_RATE] are not found.
IRR_MIN_RATE = -0.99
IRR_MAX_RATE = 1e3


def _timing_offset(timing: str) -> float:
    """Discount-exponent offset for year index 0 under ``timing`` ("end" -> 1, "mid" -> 0.5)."""
    try:
        return _TIMING_OFFSETS[timing]
    except KeyError:
        raise ValueError(f"timing must be 'end' or 'mid', not {timing!r}") from None


def discount_factors(n_years, discount_rate, timing="end"):
    """Discount factors for ``n_years`` yearly cash flows.

    Parameters
    ----------
    n_years : int
        Number of years ``T`` [years].
    discount_rate : float or array_like, shape (...,)
        Discount rate [1/year], decimal (``0.08`` for 8 %). Must be > -1.
    timing : {"end", "mid"}, optional
        When in each year the cash flow lands: at the year end (exponent ``k + 1``, default)
        or mid-year (exponent ``k + 0.5``).

    Returns
    -------
    numpy.ndarray, shape (..., n_years)
        ``(1 + r) ** -(k + 1)`` (or ``-(k + 0.5)``) for ``k = 0 .. n_years - 1`` [-].

    References
    ----------
    .. [1] Brealey, Myers & Allen, *Principles of Corporate Finance*, ch. 2 (discount factors).
    """
    offset = _timing_offset(timing)
    rate = np.asarray(discount_rate, dtype=float)[..., np.newaxis]
    exponents = np.arange(int(n_years), dtype=float) + offset
    return (1.0 + rate) ** -exponents


def present_value(flows, discount_rate, timing="end", factors=None):
    """Present value at the valuation date of yearly flows.

    Parameters
    ----------
    flows : array_like, shape (..., years)
        Flows per year [any unit, e.g. USD]; the last axis is years.
    discount_rate : float or array_like, shape (...,)
        Discount rate [1/year], scalar or one per draw (broadcast against the leading axes of
        ``flows``).
    timing : {"end", "mid"}, optional
        Year-end (default) or mid-year discounting; see :func:`discount_factors`.
    factors : array_like, optional
        Precomputed :func:`discount_factors` (then ``discount_rate`` and ``timing`` are not
        used): callers discounting several flows at the same rates compute them once.

    Returns
    -------
    numpy.ndarray or float, shape (...)
        ``sum_k flows[..., k] * (1 + r) ** -(k + 1)`` [unit of ``flows``].

    See Also
    --------
    npv : the same calculation, named for net cash flows.

    Notes
    -----
    ``numpy_financial.npv(r, v)`` discounts ``v[0]`` with exponent 0; this function's value
    equals ``numpy_financial.npv(r, [0, *flows])`` (a leading zero for the valuation date).

    References
    ----------
    .. [1] Brealey, Myers & Allen, *Principles of Corporate Finance*, ch. 2.
    """
    flows = np.asarray(flows, dtype=float)
    if factors is None:
        factors = discount_factors(flows.shape[-1], discount_rate, timing)
    return np.sum(flows * factors, axis=-1)


def npv(cash_flows, discount_rate, timing="end", factors=None):
    """Net present value of yearly net cash flows (outflows negative).

    A thin wrapper of :func:`present_value`, kept for the name used in the literature.

    Parameters
    ----------
    cash_flows : array_like, shape (..., years)
        Net cash flow per year [USD], outflows negative; the last axis is years.
    discount_rate : float or array_like, shape (...,)
        Discount rate [1/year].
    timing : {"end", "mid"}, optional
        Year-end (default) or mid-year discounting.

    Returns
    -------
    numpy.ndarray or float, shape (...)
        NPV at 1 January of the first year [USD].

    References
    ----------
    .. [1] Brealey, Myers & Allen, *Principles of Corporate Finance*, ch. 2 and 5.
    .. [2] numpy-financial, ``npf.npv`` (which discounts its first value at exponent 0).
    """
    return present_value(cash_flows, discount_rate, timing, factors)


# --- IRR --------------------------------------------------------------------------------------


def _irr_grid():
    """Grid of ``s = log(1 + r)`` covering ``r`` in [-0.99, 1e3], dense near 0, containing 0.

    ``s = a * sinh(t)`` with ``t`` evenly spaced: spacing in ``s`` is about ``a * dt = 1.6e-3``
    near ``r = 0`` and grows to about 8 % of ``|s|`` at the ends (~160 points).
    """
    scale, step = 0.02, 0.08
    t_min = np.arcsinh(np.log1p(IRR_MIN_RATE) / scale)
    t_max = np.arcsinh(np.log1p(IRR_MAX_RATE) / scale)
    t_neg = np.linspace(t_min, 0.0, int(np.ceil(-t_min / step)) + 1)
    t_pos = np.linspace(0.0, t_max, int(np.ceil(t_max / step)) + 1)[1:]
    s = scale * np.sinh(np.concatenate([t_neg, t_pos]))
    s[t_neg.size - 1] = 0.0
    return s, t_neg.size - 1


_IRR_LOG_GRID, _IRR_ZERO_INDEX = _irr_grid()


def _scaled_exponents(log_growth, n_years):
    """Exponents ``e_k`` with ``exp(-e_k * s)`` a positive multiple of ``(1 + r) ** -(k + 1)``.

    For ``s = log(1 + r) >= 0`` this is ``k + 1``; for ``s < 0`` it is ``k + 1 - T``
    (multiplying the NPV by ``(1 + r) ** T > 0``), so every factor lies in (0, 1] and nothing
    overflows for any horizon. The sign of the scaled NPV equals the sign of the NPV.
    """
    k_plus_1 = np.arange(1, n_years + 1, dtype=float)
    return k_plus_1 - n_years * (np.asarray(log_growth)[..., np.newaxis] < 0)


def _scaled_npv(log_growth, flows):
    """Scaled NPV (same sign and roots as the NPV) and its slope at ``s = log(1 + r)``.

    ``log_growth`` has shape ``(n, m)`` and ``flows`` shape ``(n, T)``; returns two arrays of
    shape ``(n, m)``: the value and its derivative with respect to ``s``.
    """
    exponents = _scaled_exponents(log_growth, flows.shape[-1])  # (n, m, T)
    terms = flows[:, np.newaxis, :] * np.exp(-exponents * log_growth[..., np.newaxis])
    return np.sum(terms, axis=-1), -np.sum(exponents * terms, axis=-1)


@functools.lru_cache(maxsize=64)
def _irr_grid_factors(n_years):
    """Scaled discount factors on the IRR grid, shape (n_years, G), read-only."""
    grid = _IRR_LOG_GRID
    factors = np.exp(-_scaled_exponents(grid, n_years) * grid[:, np.newaxis]).T
    factors.flags.writeable = False
    return factors


def _refine_brackets(flows, lo, hi, found, start=None):
    """Roots of the scaled NPV in brackets ``[lo, hi]`` of ``s = log(1 + r)``, shape (n, m).

    Safeguarded Newton: a Newton step that leaves the current bracket is replaced by bisection,
    and every evaluation shrinks the bracket, so the root stays bracketed. A bracket must not
    straddle ``s = 0`` (where the scaling changes) for Newton to be effective. ``start``
    (inside the bracket) is the first iterate; the bracket's midpoint by default.
    """
    f_lo, _ = _scaled_npv(lo, flows)
    f_hi, _ = _scaled_npv(hi, flows)
    # Exact zeros at a cell end: take the end nearer r = 0 and keep it.
    lo_is_root, hi_is_root = f_lo == 0, f_hi == 0
    pick_lo = lo_is_root & (~hi_is_root | (np.abs(lo) <= np.abs(hi)))
    frozen = lo_is_root | hi_is_root | ~found
    first = 0.5 * (lo + hi) if start is None else start
    log_root = np.where(frozen, np.where(pick_lo, lo, hi), first)
    sign_lo = np.sign(f_lo)
    # iterate on the draws still moving only (each draw stops on its own criterion, so its
    # result does not depend on the other draws)
    active = np.nonzero(~frozen.ravel())[0]
    m = lo.shape[1]
    lo, hi, sign_lo, log_root = (a.ravel().copy() for a in (lo, hi, sign_lo, log_root))
    for _ in range(100):
        if active.size == 0:
            break
        rows = active // m
        x = log_root[active]
        value, slope = _scaled_npv(x[:, None], flows[rows])
        value, slope = value[:, 0], slope[:, 0]
        same_as_lo = np.sign(value) == sign_lo[active]
        lo[active] = np.where(same_as_lo, x, lo[active])
        hi[active] = np.where(same_as_lo, hi[active], x)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = x - value / slope
        inside = (newton > lo[active]) & (newton < hi[active])
        step_to = np.where(inside, newton, 0.5 * (lo[active] + hi[active]))
        step_to = np.where(value == 0, x, step_to)
        done = (value == 0) | (np.abs(step_to - x) <= 1e-15 * np.maximum(1.0, np.abs(x)))
        log_root[active] = step_to
        active = active[~done]
    log_root = log_root.reshape(frozen.shape)
    return log_root


def _irr_chunk(flows):
    """IRR for a 2-D block of draws ``flows`` of shape (n, T); see :func:`irr`."""
    grid = _IRR_LOG_GRID
    zero = _IRR_ZERO_INDEX
    # Scaled NPV on the whole grid at once: (n, T) @ (T, G).
    signs = np.sign(flows @ _irr_grid_factors(flows.shape[1]))
    left, right = signs[:, :-1], signs[:, 1:]
    # Cell i = [grid[i], grid[i+1]] holds a root if the sign changes or an end is exactly 0.
    has_root = (left * right < 0) | (left == 0) | (right == 0)

    # Nearest cell on each side of r = 0: first cell at or above 0, last cell below 0.
    above = has_root[:, zero:]
    below = has_root[:, :zero][:, ::-1]
    found = np.stack([below.any(axis=1), above.any(axis=1)], axis=1)  # (n, 2)
    cells = np.stack([zero - 1 - below.argmax(axis=1), zero + above.argmax(axis=1)], axis=1)
    cells = np.where(found, cells, zero)

    # Refine both cells at once in s = log(1 + r) (the scaled NPV is smooth inside each cell:
    # cells do not straddle s = 0).
    log_root = _refine_brackets(flows, grid[cells], grid[cells + 1], found)
    rates = np.where(found, np.expm1(log_root), np.inf)  # (n, 2): below, above

    nearest_below = np.abs(rates[:, 0]) < np.abs(rates[:, 1])
    result = np.where(nearest_below, rates[:, 0], rates[:, 1])
    degenerate = ~np.isfinite(flows).all(axis=1) | (flows == 0).all(axis=1)
    # roots seen on the grid: sign changes between grid points plus exact zeros at them
    count = np.count_nonzero(left * right < 0, axis=1) + np.count_nonzero(signs == 0, axis=1)
    return np.where(np.isinf(result) | degenerate, np.nan, result), np.where(degenerate, 0, count)


def _sign_changes_upper(coefficients):
    """An upper bound on :func:`_sign_changes`, cheaper: zeros take the sign of their sign bit.

    A zero counted with some sign can only add sign changes, never remove one, so a column
    whose bound is <= 1 has at most one sign change.
    """
    negative = np.signbit(coefficients)
    return np.count_nonzero(negative[1:] != negative[:-1], axis=0)


def _sign_changes(coefficients, zero):
    """Number of sign changes down axis 0 of year-major ``coefficients`` (T, m), ignoring the
    entries that ``zero`` (T, m) marks as zero, shape (m,)."""
    negative = np.signbit(coefficients)
    changes = np.count_nonzero(negative[1:] != negative[:-1], axis=0)
    columns = np.nonzero(zero.any(axis=0))[0]
    if columns.size:  # carry the last non-zero sign forward over zeros (those columns only)
        s = np.where(zero.take(columns, axis=1), 0.0, np.sign(coefficients.take(columns, axis=1)))
        idx = np.where(s != 0, np.arange(s.shape[0])[:, None], 0)
        np.maximum.accumulate(idx, axis=0, out=idx)
        carried = np.take_along_axis(s, idx, axis=0)
        changes[columns] = (carried[1:] * carried[:-1] < 0).sum(axis=0)
    return changes


def _taylor_shift(coefficients):
    """Coefficients of ``p(y + 1)`` from those of ``p(y)`` (year-major (T, m), power k in row k).

    The classic Taylor shift by 1 (Horner's scheme repeated): for i = 0 .. T-2 and
    j = T-2 down to i, c[j] += c[j + 1]. Additions of contiguous rows only: no binomial
    coefficients, no matrix product, so each column's result is independent of the others.
    """
    c = coefficients.copy()
    t = c.shape[0]
    for i in range(t - 1):
        for j in range(t - 2, i - 1, -1):
            c[j] += c[j + 1]
    return c


def _root_counts(coefficients):
    """Descartes bounds on the number of IRRs above 0 and in (-1, 0), shape (m,) each.

    ``coefficients`` (T, m) are those of Q(x) = sum_k f_k x^k, x = 1 / (1 + r). IRRs above 0
    are the positive roots z = r of Q(1 / (1 + z)) (1 + z)^(T-1) = sum_k f_k (1 + z)^(T-1-k)
    (the Taylor shift of the reversed coefficients); IRRs in (-1, 0) are the positive roots
    y = 1 / (1 + r) - 1 of Q(1 + y) (the Taylor shift of the coefficients). Coefficient j sums
    at most C(T, j + 1) flows, so one below 1e-12 * C(T, j + 1) * max|f| is rounding noise and
    treated as zero. Columns whose plain count (:func:`_sign_changes_upper`, no zero test) is
    already <= 1 on a side keep it: treating noise as zero can only lower a count.
    """
    t = coefficients.shape[0]
    counts = []
    for shifted in (_taylor_shift(coefficients[::-1]), _taylor_shift(coefficients)):
        count = _sign_changes_upper(shifted)
        recount = np.nonzero(count > 1)[0]
        if recount.size:
            sub = shifted.take(recount, axis=1)
            noise = (
                1e-12
                * np.abs(coefficients.take(recount, axis=1)).max(axis=0)
                * (_shift_sizes(t)[:, None])
            )
            count[recount] = _sign_changes(sub, zero=np.abs(sub) <= noise)
        counts.append(count)
    return counts


@functools.lru_cache(maxsize=64)
def _shift_sizes(n_years):
    """C(T, j + 1) for j = 0 .. T-1 (how many flows a shifted coefficient sums), read-only."""
    from scipy.special import comb  # deferred: only the rare multiple-root check needs it

    out = comb(n_years, np.arange(1, n_years + 1))
    out.flags.writeable = False
    return out


def _horner(coefficients, x):
    """Q(x) = sum_k c[k] x^k and dQ/dx by Horner's rule, vectorized over columns.

    ``coefficients`` has shape (T, m) (year-major: each year's row is contiguous), ``x`` shape
    (m,). With x = 1 / (1 + r), NPV(r) = x * Q(x), so Q has the same positive roots as the NPV.
    """
    value = coefficients[-1].copy()
    slope = np.zeros_like(value)
    for k in range(coefficients.shape[0] - 2, -1, -1):
        slope *= x
        slope += value
        value *= x
        value += coefficients[k]
    return value, slope


def _side_grid():
    """Bracketing grid of |s| = |log(1 + r)| for each side of r = 0, from 0 to the end of the
    search range: (2, G), row 0 above 0, row 1 below.

    Denser where IRRs of real projects fall (|r| below ~100 %).
    """
    inner = np.array([0.025, 0.05, 0.08, 0.12, 0.17, 0.23, 0.3, 0.4, 0.55, 0.8, 1.2, 2.0, 3.5])
    bottom, top = np.log1p(IRR_MIN_RATE), np.log1p(IRR_MAX_RATE)
    assert inner[-1] < -bottom < top
    return np.array([[0.0, *inner, top], [0.0, *inner, -bottom]])


_SIDE_GRID = _side_grid()
_SIDE_X = np.exp(-_SIDE_GRID * np.array([[1.0], [-1.0]]))[:, :, None]  # x on each side, (2, G, 1)
#: Unsafeguarded Newton steps tried on every draw before the safeguarded iteration.
_PLAIN_NEWTON_STEPS = 4


def _irr_bounded(coefficients):
    """IRR of columns with at most one root on each side of r = 0 (Descartes bounds <= 1).

    ``coefficients`` (T, m) are year-major flows. Each side's root, if any, is unique, and the
    side has one when Q (see :func:`_horner`) changes sign between r = 0 and the end of the
    search range. Q is then evaluated on that side's grid of 15 values of ``s = log(1 + r)``;
    the sign change brackets the root in a cell; Newton steps in ``s`` from the cell's secant
    point refine it (4 plain steps, kept when they stay in the cell and converge; otherwise a
    safeguarded iteration: Newton from the bracket end with the smaller ``|Q|``, from the
    other end if that step leaves the cell, bisection if both do), until the step, or the
    error it leaves when the steps contract quadratically, is below ``1e-14 (1 + |s|)``. The
    root closer to 0 is returned (NaN where there is none), with the number of roots (0, 1 or
    2: one per side at most). Elementwise operations only, so each column's result does not
    depend on the others (nor on how draws are chunked).
    """
    t, n = coefficients.shape
    exact_zero, found = _sides_with_roots(coefficients)
    count = found.sum(axis=0) + exact_zero
    up, down = np.nonzero(found[0])[0], np.nonzero(found[1])[0]
    rows = np.concatenate([up, down])
    below = np.repeat([False, True], [up.size, down.size])
    coefficients = coefficients.take(rows, axis=1)  # one column per side with a root
    lo, hi, f_lo, f_hi = _root_cells(coefficients, below)
    s = _secant_start(lo, hi, f_lo, f_hi)
    result = s.copy()
    active = np.nonzero((f_lo != 0) & (f_hi != 0))[0]
    coefficients = coefficients.take(active, axis=1)
    s, lo, hi = s[active], lo[active], hi[active]
    f_lo, f_hi = f_lo[active], f_hi[active]
    z, accepted = _plain_newton(coefficients, s, lo, hi)
    result[active[accepted]] = z[accepted]
    keep = ~accepted
    result[active.compress(keep)] = _safeguarded_newton(
        coefficients.compress(keep, axis=1), *(a.compress(keep) for a in (s, lo, hi, f_lo, f_hi))
    )
    return _nearest_root(result, up, down, n, exact_zero), count


def _sides_with_roots(coefficients):
    """Which side of r = 0 holds a root, per column: ``exact_zero`` (n,) where NPV(0) = 0
    exactly, ``found`` (2, n) (above, below) where Q changes sign between r = 0 and the end of
    the search range."""
    t = coefficients.shape[0]
    q_zero = coefficients.sum(axis=0)  # Q(1): the NPV at r = 0 (up to the factor x)
    exact_zero = (q_zero == 0) & (coefficients != 0).any(axis=0)  # NPV(0) = 0 exactly: r = 0
    ends = np.exp(-_SIDE_GRID[:, -1:] * np.array([[1.0], [-1.0]]))  # x at r = 1000 and -0.99
    q_ends = np.repeat(coefficients[-1][None, :], 2, axis=0)
    for k in range(t - 2, -1, -1):
        q_ends *= ends
        q_ends += coefficients[k]
    # a side holds a root when Q changes sign between r = 0 and its end
    found = (q_zero != 0) & (np.sign(q_ends) * np.sign(q_zero) < 0)  # (2, n): above, below
    return exact_zero, found


def _root_cells(coefficients, below):
    """The cell of each column's side grid that brackets its root: ``lo``, ``hi`` (in ``s``)
    and Q at both ends."""
    t = coefficients.shape[0]
    # Q on each problem's side grid, (G, m): s = +g above 0, s = -g below
    signed = np.where(below, -_SIDE_GRID[1][:, None], _SIDE_GRID[0][:, None])  # (G, m)
    x_grid = np.where(below, _SIDE_X[1], _SIDE_X[0])
    values = np.repeat(coefficients[-1][None, :], signed.shape[0], axis=0)
    for k in range(t - 2, -1, -1):
        values *= x_grid
        values += coefficients[k]
    # the first grid point, going out from s = 0, whose sign differs from the sign at 0 (an
    # exact zero counts as a change: it is then a cell end with Q = 0)
    positive = values > 0
    far = 1 + (positive[1:] != positive[0]).argmax(axis=0)
    columns = np.arange(coefficients.shape[1])
    s_far, f_far = signed[far, columns], values[far, columns]
    s_near, f_near = signed[far - 1, columns], values[far - 1, columns]
    lo, hi = np.where(below, s_far, s_near), np.where(below, s_near, s_far)
    f_lo, f_hi = np.where(below, f_far, f_near), np.where(below, f_near, f_far)
    return lo, hi, f_lo, f_hi


def _secant_start(lo, hi, f_lo, f_hi):
    """First iterate: the secant point of the cell in ``s`` (a cell end that is exactly a root
    is it; the midpoint where the secant leaves the cell)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        s = lo - f_lo * (hi - lo) / (f_hi - f_lo)
    s = np.where(f_hi == 0, hi, np.where(f_lo == 0, lo, s))
    return np.where((s > lo) & (s < hi) | (f_lo == 0) | (f_hi == 0), s, 0.5 * (lo + hi))


def _plain_newton(coefficients, s, lo, hi):
    """Plain Newton steps in ``s`` from the secant point (no bracket bookkeeping): from so close
    a start nearly every draw converges in four. A draw is accepted only if it stayed in its
    cell (the cell holds one root, so that root) and its last step, or the error that step
    leaves by the contraction seen, is below 1e-14 (1 + |s|). Returns (iterate, accepted)."""
    z = s.copy()
    step = previous = np.zeros(s.size)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for _ in range(_PLAIN_NEWTON_STEPS):
            x = np.exp(-z)
            value, dq = _horner(coefficients, x)
            delta = value / (x * dq)  # s - Q / (dQ/ds), dQ/ds = -x dQ/dx
            previous, step = step, np.abs(delta)
            z = z + delta
        tolerance = 1e-14 * (1.0 + np.abs(z))
        accepted = (
            (z > lo)
            & (z < hi)
            & ((step <= tolerance) | (step * (step / previous) ** 2 <= 0.1 * tolerance))
        )
    return z, accepted


def _safeguarded_newton(coefficients, s, lo, hi, f_lo, f_hi):
    """The root of each column in its cell by a safeguarded iteration (Newton from the bracket
    end with the smaller ``|Q|``, from the other end if that step leaves the cell, bisection if
    both do), each column stopping on its own criterion."""
    result = s.copy()
    active = np.arange(s.size)
    negative_lo = np.signbit(f_lo)
    d_lo = np.full(s.size, np.nan)  # dQ/ds at the bracket ends (unknown at grid points)
    d_hi = d_lo.copy()
    previous = np.zeros(s.size)  # the previous Newton step (0: none yet)
    for _ in range(100):
        if active.size == 0:
            break
        step_to, lo, hi, f_lo, f_hi, d_lo, d_hi, previous, done = _safeguarded_step(
            coefficients, s, lo, hi, f_lo, f_hi, d_lo, d_hi, previous, negative_lo
        )
        result[active] = step_to
        if done.any():
            keep = ~done
            active, coefficients = active.compress(keep), coefficients.compress(keep, axis=1)
            s, lo, hi, f_lo, f_hi, d_lo, d_hi, previous = (
                a.compress(keep) for a in (step_to, lo, hi, f_lo, f_hi, d_lo, d_hi, previous)
            )
            negative_lo = negative_lo.compress(keep)
        else:
            s = step_to
    return result


def _safeguarded_step(coefficients, s, lo, hi, f_lo, f_hi, d_lo, d_hi, previous, negative_lo):
    """One step of :func:`_safeguarded_newton`: the new bracket, the next iterate and which
    columns converged."""
    x = np.exp(-s)
    value, dq = _horner(coefficients, x)
    slope = -x * dq  # dQ/ds
    same_as_lo = np.signbit(value) == negative_lo  # (an exact zero ends the iteration)
    lo, f_lo, d_lo = (
        np.where(same_as_lo, a, b) for a, b in ((s, lo), (value, f_lo), (slope, d_lo))
    )
    hi, f_hi, d_hi = (
        np.where(same_as_lo, b, a) for a, b in ((s, hi), (value, f_hi), (slope, d_hi))
    )
    # Newton from the bracket end with the smaller |Q| (usually the new point); if that
    # leaves the bracket, from the other end; if both do, bisection
    lo_better = np.abs(f_lo) <= np.abs(f_hi)
    origin = np.where(lo_better, lo, hi)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        first = origin - np.where(lo_better, f_lo / d_lo, f_hi / d_hi)
        second = np.where(lo_better, hi - f_hi / d_hi, lo - f_lo / d_lo)
        step = np.abs(first - origin)
        # the error left by this step when the steps contract quadratically
        # (h_k = K h_(k-1)^2): K h^2 = h^3 / h_(k-1)^2
        predicted = step * (step / previous) ** 2
    first_in = (first > lo) & (first < hi)
    second_in = (second > lo) & (second < hi)
    step_to = np.where(first_in, first, np.where(second_in, second, 0.5 * (lo + hi)))
    # converged: the Newton step from the best end, or the error it leaves by the contraction
    # seen so far, is below 1e-14 (1 + |s|); a step too small to move off that end (rounding)
    # means the end itself is the root
    tolerance = 1e-14 * (1.0 + np.abs(origin))
    converged = (step <= tolerance) | (first_in & (predicted <= 0.1 * tolerance))
    step_to = np.where(value == 0, s, np.where(converged & ~first_in, origin, step_to))
    done = (value == 0) | converged | (hi - lo <= 1e-14 * (1.0 + np.abs(s)))
    previous = np.where(first_in, step, 0.0)
    return step_to, lo, hi, f_lo, f_hi, d_lo, d_hi, previous, done


def _nearest_root(result, up, down, n, exact_zero):
    """Per column, the root closer to r = 0 of the two sides (NaN where neither has one)."""
    rates = np.full((2, n), np.inf)
    rates[0, up] = np.expm1(result[: up.size])
    rates[1, down] = np.expm1(result[up.size :])
    rate = np.where(np.abs(rates[1]) < np.abs(rates[0]), rates[1], rates[0])
    rate = np.where(np.isinf(rate), np.nan, rate)
    return np.where(exact_zero, 0.0, rate)


def irr(cash_flows, timing="end"):
    """Internal rate of return of yearly net cash flows, vectorized over draws.

    The IRR is the rate ``r > -1`` at which ``npv(cash_flows, r) = 0``. When there are several
    roots the one closest to zero is returned, which is the rule of ``numpy_financial.irr``;
    :func:`irr_and_count` also says how many there are, :func:`irr_roots` lists them.

    Parameters
    ----------
    cash_flows : array_like, shape (..., years)
        Net cash flow per year [USD], outflows negative; the last axis is years.
    timing : {"end", "mid"}, optional
        Year-end or mid-year discounting. It does not change the IRR: mid-year discounting
        multiplies the NPV by ``(1 + r) ** 0.5 > 0``, which has the same roots.

    Returns
    -------
    numpy.ndarray or float, shape (...)
        IRR [1/year], decimal. NaN where no root is found: all flows of one sign (or no sign
        change at all), all flows zero, any flow non-finite, or every root outside the search
        range.

    Notes
    -----
    No per-draw root finder runs in Python. The method:

    0. Descartes' rule of signs, applied to the NPV polynomial rewritten for rates above 0
       and for rates in (-1, 0) (two Taylor shifts by 1: additions only), bounds the number
       of IRRs on each side. Where both bounds are <= 1 (conventional flows, and most flows
       with a refresh spend after years of income) each side holds at most one root: a grid
       of 29 values of ``s = log(1 + r)`` brackets it in one cell, and a safeguarded Newton
       iteration in ``s`` (Horner's rule on year-major coefficients; Newton from the bracket
       end with the smaller ``|NPV|``, bisection when both leave the cell) refines it to
       ``|ds| <= 1e-14 (1 + |s|)``, in 3-5 evaluations. These steps are elementwise over
       draws, so a draw's IRR does not depend on the other draws in the call. Other draws
       (and horizons over 40 years, where the shifted coefficients grow like 2^T and the
       rounding-noise test loses its power) go through steps 1-3.
    1. Evaluate a sign-preserving scaled NPV on a fixed grid of ~160 values of
       ``s = log(1 + r)`` covering ``r`` in [-0.99, 1000] (spacing ~1.6e-3 near ``r = 0``,
       ~8 % of ``|s|`` far out) as one matrix product per block of draws.
    2. Per draw, take the sign-change cell nearest ``r = 0`` from above and from below.
    3. Refine both cells at once with a vectorized safeguarded Newton iteration in ``s``
       (analytic slope; a step leaving the bracket falls back to bisection, so the root stays
       bracketed), until the step is below ``1e-15 * max(1, |s|)``: about 5 iterations for
       conventional flows, up to ~50 where bisection takes over (nearly double roots), at most
       100. Return the root with the smaller ``|r|``.

    The rate is accurate to about ``1e-15 * (1 + r)`` plus the rounding noise of the NPV
    (well below 1e-10 for well-conditioned flows), and ``|npv(irr)|`` is at rounding level.

    Limitations: roots below -0.99 or above 1000 are not searched; two roots closer together
    than the grid spacing (no sign change between grid points) are not seen, so a double root
    is found only if it falls exactly on a grid point (as ``r = 0`` does).

    References
    ----------
    .. [1] Brealey, Myers & Allen, *Principles of Corporate Finance*, ch. 5 (the IRR rule,
       multiple rates of return).
    .. [2] numpy-financial, ``npf.irr`` (roots of the NPV polynomial; closest to zero).
    """
    return irr_and_count(cash_flows, timing)[0]


def irr_and_count(cash_flows, timing="end"):
    """:func:`irr` and the number of IRRs in the search range, per draw.

    Parameters
    ----------
    cash_flows : array_like, shape (..., years)
        Net cash flow per year [USD], outflows negative.
    timing : {"end", "mid"}, optional

    Returns
    -------
    rate : numpy.ndarray, shape (...)
        As :func:`irr` [1/year].
    count : numpy.ndarray of int, shape (...)
        Distinct rates in [-0.99, 1000] at which the NPV is zero. Exact where Descartes' bound
        allows at most one root on each side of r = 0 (then 0, 1 or 2); otherwise the sign
        changes seen on the search grid (two roots closer than a grid cell count as none, a
        double root touching zero between grid points is not seen). ``count > 1`` is a draw
        with multiple IRRs: the rate reported is then the one closest to zero and the NPV,
        not the IRR, says whether it creates value (docs/model.md, "IRR").
    """
    _timing_offset(timing)  # validate only: the roots do not depend on timing
    flows = np.asarray(cash_flows, dtype=float)
    if flows.ndim == 0:
        raise ValueError("cash_flows must have a years axis (shape (..., years))")
    lead_shape = flows.shape[:-1]
    n_years = flows.shape[-1]
    flat = flows.reshape(-1, n_years)
    chunk = max(1, (1 << 21) // _IRR_LOG_GRID.size)  # ~2M grid evaluations per block
    result = np.empty(flat.shape[0])
    count = np.zeros(flat.shape[0], dtype=np.int64)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        finite = np.isfinite(flat).all(axis=1)
        # year-major: every per-year step below reads contiguous rows (no copy when the
        # flows are already a transposed year-major array)
        coefficients = np.ascontiguousarray(
            flat.T if finite.all() else np.where(finite[:, None], flat, 0.0).T
        )
        # one sign change: one root at most on each side (Descartes on the flows themselves);
        # otherwise count on the rewritten polynomials
        direct = finite & (_sign_changes_upper(coefficients) <= 1)
        other = np.nonzero(finite & ~direct)[0]
        if other.size and n_years <= 40:
            above, below = _root_counts(coefficients.take(other, axis=1))
            direct[other[(above <= 1) & (below <= 1)]] = True
        result[direct], count[direct] = _irr_bounded(coefficients.compress(direct, axis=1))
        rest = np.nonzero(~direct)[0]
        for start in range(0, rest.size, chunk):
            rows = rest[start : start + chunk]
            result[rows], count[rows] = _irr_chunk(flat[rows])
    count[~finite] = 0
    return result.reshape(lead_shape)[()], count.reshape(lead_shape)[()]


def irr_roots(cash_flows) -> np.ndarray:
    """Every IRR of one stream of yearly cash flows in the search range, ascending.

    The NPV is ``sum_k c_k x^(k+1)`` with ``x = 1 / (1 + r)``; the rates are ``1 / x - 1``
    for the real, positive roots ``x`` of that polynomial (``numpy.polynomial``, eigenvalues
    of the companion matrix) with ``r`` in [-0.99, 1000].

    Parameters
    ----------
    cash_flows : array_like, shape (years,)
        Net cash flow per year [USD], outflows negative.

    Returns
    -------
    numpy.ndarray
        The rates [1/year], decimals; empty where there is none.

    Examples
    --------
    Flows -1, 5, -6 have NPV zero at r = 100 % and r = 200 %:

    >>> irr_roots([-1.0, 5.0, -6.0])
    array([1., 2.])
    """
    flows = np.asarray(cash_flows, dtype=float).reshape(-1)
    nonzero = np.nonzero(flows)[0]
    if nonzero.size == 0 or not np.isfinite(flows).all():
        return np.empty(0)
    # drop trailing zero flows (leading ones only shift the polynomial by a power of x)
    x = np.polynomial.polynomial.polyroots(flows[nonzero[0] : nonzero[-1] + 1])
    x = x[(np.abs(x.imag) <= 1e-9 * np.maximum(1.0, np.abs(x.real))) & (x.real > 0)].real
    rates = np.sort(1.0 / x - 1.0)
    rates = rates[(rates >= IRR_MIN_RATE) & (rates <= IRR_MAX_RATE)]
    # a double root comes back as two nearly equal rates: keep one
    if rates.size < 2:
        return rates
    keep = np.concatenate([[True], np.diff(rates) > 1e-7 * (1.0 + np.abs(rates[1:]))])
    return rates[keep]


# --- Cumulative measures ----------------------------------------------------------------------


def cumulative_cash_flow(cash_flows):
    """Cumulative undiscounted cash flow at the end of each year.

    Parameters
    ----------
    cash_flows : array_like, shape (..., years)
        Net cash flow per year [USD].

    Returns
    -------
    numpy.ndarray, shape (..., years)
        Running sum over the years axis [USD].
    """
    return np.cumsum(np.asarray(cash_flows, dtype=float), axis=-1)


def payback_years(cash_flows, cumulative=None):
    """Undiscounted payback period: years until cumulative cash flow returns to zero.

    Time from the valuation date until the cumulative undiscounted cash flow first returns to
    >= 0 after having gone negative, interpolated linearly within the crossing year: if the
    cumulative before year ``k`` is ``C < 0`` and year ``k``'s flow is ``F`` with
    ``C + F >= 0``, payback is ``k + (-C) / F``.

    Parameters
    ----------
    cash_flows : array_like, shape (..., years)
        Net cash flow per year [USD], outflows negative.
    cumulative : array_like, optional
        Its cumulative sum along the years, when the caller already has it.

    Returns
    -------
    numpy.ndarray or float, shape (...)
        Payback period [years]. ``0.0`` when the cumulative cash flow never goes negative
        (nothing to pay back); NaN when it goes negative and does not return to >= 0 within the
        horizon, or when any flow is NaN. Only the first return counts: a later dip below
        zero does not change the result.

    References
    ----------
    .. [1] Brealey, Myers & Allen, *Principles of Corporate Finance*, ch. 5 (payback).
    """
    flows = np.asarray(cash_flows, dtype=float)
    cumulative = np.cumsum(flows, axis=-1) if cumulative is None else np.asarray(cumulative)
    before = cumulative - flows  # cumulative at the start of each year
    crossing = (before < 0) & (cumulative >= 0)
    any_crossing = crossing.any(axis=-1)
    year = np.argmax(crossing, axis=-1)
    c_before = np.take_along_axis(before, year[..., np.newaxis], axis=-1)[..., 0]
    flow = np.take_along_axis(flows, year[..., np.newaxis], axis=-1)[..., 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        within = np.where(any_crossing, -c_before / flow, np.nan)
    result = np.where(any_crossing, year + within, np.nan)
    never_negative = (cumulative >= 0).all(axis=-1)
    result = np.where(never_negative, 0.0, result)
    result = np.where(np.isnan(flows).any(axis=-1), np.nan, result)
    return result[()]


def peak_funding(cash_flows, cumulative=None):
    """Peak funding need: the deepest point of the cumulative undiscounted cash flow.

    Parameters
    ----------
    cash_flows : array_like, shape (..., years)
        Net cash flow per year [USD], outflows negative.
    cumulative : array_like, optional
        Its cumulative sum along the years, when the caller already has it.

    Returns
    -------
    numpy.ndarray or float, shape (...)
        ``max(-min_k cumulative[..., k], 0)`` [USD], a non-negative amount; 0 when the
        cumulative never goes negative.
    """
    if cumulative is None:
        cumulative = cumulative_cash_flow(cash_flows)
    return np.maximum(-np.min(cumulative, axis=-1), 0.0)[()]


# --- Annuities and levelized cost -------------------------------------------------------------


def annuity_factor(discount_rate, n_years):
    """Present value of 1 per year paid at the end of each of ``n_years`` years.

    Parameters
    ----------
    discount_rate : float or array_like
        Discount rate [1/year], > -1.
    n_years : int or array_like
        Number of yearly payments [years]; broadcast against ``discount_rate``.

    Returns
    -------
    numpy.ndarray or float
        ``(1 - (1 + r) ** -n) / r`` [years], and its limit ``n`` at ``r = 0``. Computed as
        ``-expm1(-n * log1p(r)) / r`` so that it stays accurate for ``r`` near 0.

    References
    ----------
    .. [1] Brealey, Myers & Allen, *Principles of Corporate Finance*, ch. 2 (annuities).
    """
    rate = np.asarray(discount_rate, dtype=float)
    n = np.asarray(n_years, dtype=float)
    zero = rate == 0
    safe_rate = np.where(zero, 1.0, rate)
    factor = -np.expm1(-n * np.log1p(safe_rate)) / safe_rate
    return np.where(zero, n, factor)[()]


def annuity_payment(present_value, discount_rate, n_years):
    """Level end-of-year payment over ``n_years`` whose present value is ``present_value``.

    Parameters
    ----------
    present_value : float or array_like
        Amount to recover, valued at the valuation date [USD].
    discount_rate : float or array_like
        Discount rate [1/year], > -1.
    n_years : int or array_like
        Number of yearly payments [years].

    Returns
    -------
    numpy.ndarray or float
        ``present_value / annuity_factor(r, n)`` [USD/year], the same sign as
        ``present_value``; ``present_value / n`` at ``r = 0``. Equal to
        ``-numpy_financial.pmt(r, n, present_value)``.

    References
    ----------
    .. [1] Brealey, Myers & Allen, *Principles of Corporate Finance*, ch. 2 (annuities).
    .. [2] numpy-financial, ``npf.pmt``.
    """
    return (np.asarray(present_value, dtype=float) / annuity_factor(discount_rate, n_years))[()]


def levelized_cost(costs, units, discount_rate, timing="end", factors=None):
    """Levelized cost: present value of costs over present value of units produced.

    Parameters
    ----------
    costs : array_like, shape (..., years)
        Cost per year [USD], as positive numbers.
    units : array_like, shape (..., years)
        Units delivered per year [e.g. MWh or GPU-hours].
    discount_rate : float or array_like, shape (...,)
        Discount rate [1/year].
    timing : {"end", "mid"}, optional
        Year-end (default) or mid-year discounting, applied to both.

    Returns
    -------
    numpy.ndarray or float, shape (...)
        ``PV(costs) / PV(units)`` [USD per unit]; NaN where ``PV(units) == 0``.

    References
    ----------
    .. [1] Lazard, *Levelized Cost of Energy Analysis* (method); Brealey, Myers & Allen,
       ch. 6 (equivalent annual cost).
    """
    pv_costs = present_value(costs, discount_rate, timing, factors)
    pv_units = present_value(units, discount_rate, timing, factors)
    pv_costs, pv_units = np.broadcast_arrays(pv_costs, pv_units)
    no_units = pv_units == 0
    result = np.divide(pv_costs, np.where(no_units, 1.0, pv_units))
    return np.where(no_units, np.nan, result)[()]
