"""Tests for model.financials.

Expected values come from hand arithmetic (shown in comments), closed forms, or
numpy-financial (``npf``), whose conventions differ from ours in one way: ``npf.npv(r, v)``
discounts ``v[0]`` with exponent 0, while we discount year k's flow with exponent k + 1 (valuation
date 1 January of year 0, flows at year end). So our ``npv(x, r)`` equals ``npf.npv(r, [0, *x])``,
and the IRR is unchanged because ``npv_ours(r) = npv_npf(r) / (1 + r)`` has the same roots for
r > -1.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import numpy_financial as npf
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from model.engine.financials import (
    annuity_factor,
    annuity_payment,
    cumulative_cash_flow,
    discount_factors,
    irr,
    irr_roots,
    levelized_cost,
    npv,
    payback_years,
    peak_funding,
    present_value,
)


def npf_irr(values):
    """numpy-financial's IRR with the rule "the root closest to zero" (its default up to 1.0;
    1.1 changed the default to prefer non-negative roots, so the rule is passed explicitly)."""
    try:
        return npf.irr(values, selection_logic=lambda roots: roots[np.argmin(np.abs(roots))])
    except TypeError:  # numpy-financial 1.0: no selection_logic, the rule is the default
        return npf.irr(values)


FAST = settings(max_examples=60, deadline=None)

amounts = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_subnormal=False)
rates = st.floats(min_value=-0.5, max_value=2.0, allow_nan=False)


def _cents(low, high):
    """Amounts in whole cents between ``low`` and ``high``.

    Whole cents keep hypothesis away from values like 1e-300 next to 1, for which
    ``npf.irr``'s polynomial roots (np.roots) are ill-conditioned and not a usable reference.
    """
    return st.integers(min_value=round(low * 100), max_value=round(high * 100)).map(
        lambda cents: cents / 100
    )


def _conventional_flows():
    """1-3 years of outflows then 1-13 years of non-negative inflows (one sign change)."""
    outflows = st.lists(_cents(-1000, -1), min_size=1, max_size=3)
    inflows = st.lists(_cents(0, 1000), min_size=1, max_size=13)
    return st.tuples(outflows, inflows).map(lambda pair: np.array(pair[0] + pair[1]))


# --- discounting and NPV -----------------------------------------------------------------------


def test_discount_factors_hand_values():
    # r = 10 %: 1/1.1, 1/1.21, 1/1.331; mid-year: 1/1.1**0.5, 1/1.1**1.5, 1/1.1**2.5.
    np.testing.assert_allclose(discount_factors(3, 0.1), [1 / 1.1, 1 / 1.21, 1 / 1.331], rtol=1e-14)
    np.testing.assert_allclose(
        discount_factors(3, 0.1, timing="mid"),
        [1.1**-0.5, 1.1**-1.5, 1.1**-2.5],
        rtol=1e-14,
    )


def test_discount_factors_shape_per_draw_rates():
    rate = np.array([0.0, 0.1, 0.2])
    factors = discount_factors(4, rate)
    assert factors.shape == (3, 4)
    np.testing.assert_allclose(factors[0], np.ones(4), rtol=0, atol=0)
    np.testing.assert_allclose(factors[2, 1], 1 / 1.44, rtol=1e-14)  # 1.2**-2


def test_discount_factors_rejects_unknown_timing():
    with pytest.raises(ValueError, match="timing"):
        discount_factors(3, 0.1, timing="start")


def test_npv_hand_example():
    # -100/1.1 + 60/1.21 + 60/1.331 = -90.909091 + 49.586777 + 45.078888 = 3.756574
    expected = -100 / 1.1 + 60 / 1.21 + 60 / 1.331
    np.testing.assert_allclose(npv([-100, 60, 60], 0.1), expected, rtol=1e-14)
    np.testing.assert_allclose(expected, 3.756574, rtol=1e-6)


@FAST
@given(st.lists(amounts, min_size=1, max_size=20), rates)
def test_npv_matches_numpy_financial_shifted(flows, rate):
    # npf.npv discounts its first value at exponent 0; a leading 0 shifts our year-end flows
    # to exponents 1..T, which is our convention.
    expected = npf.npv(rate, [0.0] + flows)
    scale = np.sum(np.abs(flows) * (1 + rate) ** -np.arange(1.0, len(flows) + 1))
    np.testing.assert_allclose(npv(flows, rate), expected, rtol=1e-10, atol=1e-12 * scale)


def test_npv_is_present_value_and_vectorized_over_draws():
    flows = np.array([[-100.0, 60.0, 60.0], [10.0, 20.0, 30.0]])
    rate = np.array([0.1, 0.05])
    result = npv(flows, rate)
    assert result.shape == (2,)
    np.testing.assert_array_equal(result, present_value(flows, rate))
    # Row 2 by hand: 10/1.05 + 20/1.1025 + 30/1.157625
    np.testing.assert_allclose(result[1], 10 / 1.05 + 20 / 1.1025 + 30 / 1.157625, rtol=1e-14)
    for row in range(2):
        np.testing.assert_allclose(result[row], npv(flows[row], rate[row]), rtol=1e-15)


@FAST
@given(st.lists(amounts, min_size=1, max_size=20), rates)
def test_mid_year_npv_is_end_year_times_half_year_growth(flows, rate):
    # Exponents k + 0.5 = (k + 1) - 0.5: every factor is multiplied by (1 + r)**0.5.
    end = npv(flows, rate)
    scale = np.sum(np.abs(flows))
    np.testing.assert_allclose(
        npv(flows, rate, timing="mid"), end * (1 + rate) ** 0.5, rtol=1e-12, atol=1e-12 * scale
    )


# --- IRR ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flows", "expected"),
    [
        # -100/(1+r) + 110/(1+r)^2 = 0  ->  1 + r = 1.1
        ([-100, 110], 0.1),
        # -100/(1+r) + 121/(1+r)^3 = 0  ->  (1 + r)^2 = 1.21
        ([-100, 0, 121], 0.1),
        # y = 1 + r: y^2 - 2.05 y + 1.045 = (y - 0.95)(y - 1.1): roots -5 % and +10 %; -5 % is
        # closer to zero.
        ([1, -2.05, 1.045], -0.05),
        # y^2 - 1.9 y + 0.88 = (y - 0.8)(y - 1.1): roots -20 % and +10 %; +10 % is closer.
        ([1, -1.9, 0.88], 0.1),
        # -100 y^2 + 230 y - 132 = -(10 y - 11)(10 y - 12): roots 10 % and 20 % -> 10 %.
        ([-100, 230, -132], 0.1),
        # (y - 1)^2: a double root exactly at 0.
        ([1, -2, 1], 0.0),
    ],
)
def test_irr_hand_roots(flows, expected):
    np.testing.assert_allclose(irr(flows), expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(irr(flows), npf_irr(flows), rtol=0, atol=1e-12)


def test_irr_numpy_financial_docstring_examples():
    # The examples of npf.irr's docstring: same rule (root nearest zero), same values.
    for flows, expected in [
        ([-100, 39, 59, 55, 20], 0.28095),
        ([-100, 0, 0, 74], -0.0955),
        ([-100, 100, 0, -7], -0.0833),
        ([-100, 100, 0, 7], 0.06206),
        ([-5, 10.5, 1, -8, 1], 0.0886),
    ]:
        assert round(float(irr(flows)), 5) == expected


@FAST
@given(_conventional_flows())
def test_irr_matches_numpy_financial_conventional(flows):
    assume(flows.sum() > -0.5 * np.abs(flows).sum())  # keeps the root above -0.99
    expected = npf_irr(flows)
    assume(np.isfinite(expected) and -0.9 < expected < 100)
    np.testing.assert_allclose(irr(flows), expected, rtol=1e-9, atol=1e-10)


@FAST
@given(st.lists(_cents(-1000, 1000), min_size=2, max_size=12))
def test_irr_matches_numpy_financial_random_signs(flows):
    expected = npf_irr(flows)
    # Our search range is (-0.99, 1000]; compare where npf's root nearest zero lies inside it.
    assume(np.isfinite(expected) and -0.9 < expected < 100)
    # two roots closer than a grid cell (a near-double root, e.g. [-489.67, 9.19, 996.57,
    # -493.26, -50.85]: r = -0.1443 and -0.1397) are invisible to the engine's sign-change
    # search, as documented (docs/model.md "Metrics"; tests/test_honest_statistics.py counts them)
    s = np.sort(np.log1p(irr_roots(np.asarray(flows, dtype=float))))
    assume(not (s.size > 1 and np.min(np.diff(s)) < 0.1))
    np.testing.assert_allclose(irr(flows), expected, rtol=1e-9, atol=1e-10)


@FAST
@given(st.lists(amounts, min_size=2, max_size=16))
def test_npv_at_irr_is_zero(flows):
    rate = irr(flows)
    assume(np.isfinite(rate))
    assert rate > -1
    # Size of the NPV's terms at that rate, so the check is relative to the rounding scale.
    scale = np.sum(np.abs(flows) * (1 + rate) ** -np.arange(1.0, len(flows) + 1))
    np.testing.assert_allclose(npv(flows, rate), 0.0, rtol=0, atol=1e-10 * scale)


@pytest.mark.parametrize(
    "flows",
    [[10.0, 20.0, 30.0], [-10.0, -20.0, -30.0], [0.0, 5.0, 0.0], [-5.0, 0.0, 0.0], [0.0, 0.0, 0.0]],
)
def test_irr_nan_without_sign_change(flows):
    assert np.isnan(irr(flows))
    # numpy-financial agrees (1.0: NaN; 1.1 answers -1, i.e. 1/(1 + r) infinite: no rate)
    reference = npf_irr(flows)
    assert np.isnan(reference) or reference == -1.0


def test_irr_nan_for_nonfinite_flows():
    assert np.isnan(irr([-100.0, np.nan, 120.0]))


@settings(max_examples=25, deadline=None)  # up to 9 irr calls per example
@given(st.lists(_conventional_flows(), min_size=1, max_size=6), st.integers(0, 4))
def test_irr_vectorized_equals_per_row(rows, pad):
    # Pad every row with zeros to a common length (trailing zero flows do not move the root).
    width = max(len(row) for row in rows) + pad
    table = np.zeros((len(rows), width))
    for i, row in enumerate(rows):
        table[i, : len(row)] = row
    table = np.vstack([table, np.full(width, 5.0)])  # plus an all-positive row (NaN)
    result = irr(table)
    assert result.shape == (len(rows) + 1,)
    per_row = np.array([irr(row) for row in table])
    # Equal up to rounding (a batched matrix product may round differently from a single row).
    np.testing.assert_allclose(result, per_row, rtol=1e-13, atol=1e-15)
    assert np.isnan(result[-1])
    # And with two leading axes.
    stacked = irr(np.stack([table, table[::-1]]))
    np.testing.assert_allclose(stacked, np.stack([per_row, per_row[::-1]]), rtol=1e-13, atol=1e-15)


@FAST
@given(st.lists(amounts, min_size=2, max_size=16))
def test_irr_mid_year_timing_unchanged(flows):
    np.testing.assert_array_equal(irr(flows, timing="mid"), irr(flows))


def test_irr_mid_year_root_is_root_of_mid_year_npv():
    flows = np.array([-100.0, 39, 59, 55, 20])
    rate = irr(flows, timing="mid")
    np.testing.assert_allclose(npv(flows, rate, timing="mid"), 0.0, rtol=0, atol=1e-11)


def test_irr_large_batch_memory_and_accuracy():
    rng = np.random.default_rng(20240101)
    flows = np.concatenate(
        [-rng.uniform(50, 100, (10_000, 3)), rng.uniform(0, 40, (10_000, 13))], axis=1
    )
    tracemalloc.start()
    try:
        rates = irr(flows)
        peak_bytes = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # The brief allows a few hundred MB; the chunked grid needs ~40 MB (one unchunked
    # draws x grid pass would take ~220 MB), so 100 MB checks that the grid is chunked.
    assert peak_bytes < 100e6
    assert rates.shape == (10_000,)
    sample = rng.choice(10_000, size=200, replace=False)
    expected = np.array([npf_irr(flows[i]) for i in sample])
    np.testing.assert_allclose(rates[sample], expected, rtol=0, atol=1e-10)


# --- cumulative measures -----------------------------------------------------------------------


def test_cumulative_cash_flow():
    np.testing.assert_array_equal(
        cumulative_cash_flow([[-100, 30, 40, 50], [1, 2, 3, 4]]),
        [[-100, -70, -30, 20], [1, 3, 6, 10]],
    )


@pytest.mark.parametrize(
    ("flows", "expected"),
    [
        # cum -100, -70, -30, 20: crosses in year 3 with C = -30, F = 50 -> 3 + 30/50 = 3.6
        ([-100, 30, 40, 50], 3.6),
        # cum -100, -50, 0: reaches exactly 0 at the end of year 2 -> 2 + 50/50 = 3.0
        ([-100, 50, 50], 3.0),
        # cum 10, -40, -20, 20: goes negative in year 1, returns in year 3 -> 3 + 20/40 = 3.5
        ([10, -50, 20, 40], 3.5),
        # cum -10, 10, -20, -15: first return in year 1 -> 1 + 10/20 = 1.5 (later dip ignored)
        ([-10, 20, -30, 5], 1.5),
        # cum -100, -70, -40: never returns -> NaN
        ([-100, 30, 30], np.nan),
        # never negative -> 0.0
        ([10, 20, 30], 0.0),
        ([0, 0, 0], 0.0),
    ],
)
def test_payback_hand_examples(flows, expected):
    np.testing.assert_allclose(payback_years(flows), expected, rtol=1e-14)


def test_payback_vectorized_over_draws():
    table = np.array([[-100, 30, 40, 50], [-100, 30, 30, 30], [10, 20, 30, 40], [-10, 20, -30, 5]])
    np.testing.assert_allclose(payback_years(table), [3.6, np.nan, 0.0, 1.5], rtol=1e-14)
    expected = np.tile([3.6, np.nan, 0.0, 1.5], (2, 1))
    np.testing.assert_allclose(payback_years(np.stack([table, table])), expected, rtol=1e-14)


def test_peak_funding_hand_examples():
    # cum -100, -70, -120, 80 -> deepest -120 -> 120; cum 10, 30 -> never negative -> 0
    np.testing.assert_allclose(
        peak_funding([[-100, 30, -50, 200], [10, 20, 0, 0]]), [120.0, 0.0], rtol=0, atol=0
    )


# --- annuities and levelized cost ----------------------------------------------------------------


def test_annuity_factor_hand_and_closed_form():
    # 1/1.1 + 1/1.21 + 1/1.331 = 0.909091 + 0.826446 + 0.751315 = 2.486852
    np.testing.assert_allclose(annuity_factor(0.1, 3), 1 / 1.1 + 1 / 1.21 + 1 / 1.331, rtol=1e-14)
    rate = np.array([-0.3, 0.01, 0.07, 0.5])
    n_years = np.array([1, 10, 25, 40])
    np.testing.assert_allclose(
        annuity_factor(rate, n_years), (1 - (1 + rate) ** -n_years) / rate, rtol=1e-12
    )
    np.testing.assert_allclose(
        annuity_factor(0.07, 25), discount_factors(25, 0.07).sum(), rtol=1e-13
    )


def test_annuity_rate_zero_limit():
    np.testing.assert_array_equal(annuity_factor(0.0, 12), 12.0)
    np.testing.assert_array_equal(annuity_payment(1200.0, 0.0, 12), 100.0)
    # Continuity near 0: factor = n - n(n+1)/2 r + O(r^2); n = 12, r = 1e-9 -> 12 - 78e-9
    np.testing.assert_allclose(annuity_factor(1e-9, 12), 12 - 78e-9, rtol=1e-15)


@FAST
@given(
    st.floats(min_value=-1e9, max_value=1e9, allow_subnormal=False),
    st.one_of(
        st.just(0.0),
        st.floats(min_value=-0.5, max_value=-1e-4),
        st.floats(min_value=1e-4, max_value=1.0),
    ),
    st.integers(min_value=1, max_value=60),
)
def test_annuity_payment_matches_numpy_financial_pmt(present, rate, n_years):
    # npf.pmt returns the payment with the opposite sign to the amount borrowed. Rates in
    # (0, 1e-4) are left out: npf computes ((1 + r)**n - 1) / r, which cancels (and divides by
    # zero below ~1e-16); the small-rate limit is checked against the series instead.
    expected = -npf.pmt(rate, n_years, present)
    np.testing.assert_allclose(
        annuity_payment(present, rate, n_years), expected, rtol=1e-9, atol=1e-9
    )


def test_levelized_cost_hand_example():
    # r = 10 %: PV(costs) = 1000/1.1 = 10000/11
    # PV(units) = 50/1.21 + 60.5/1.331 = 5000/121 + 500/11 = 10500/121
    # levelized = (10000/11) / (10500/121) = 110000/10500 = 220/21 = 10.476190...
    result = levelized_cost([1000.0, 0.0, 0.0], [0.0, 50.0, 60.5], 0.1)
    np.testing.assert_allclose(result, 220 / 21, rtol=1e-13)


def test_levelized_cost_zero_rate_and_nan_without_units():
    # r = 0: (100 + 100) / (10 + 10) = 10; second draw produces nothing -> NaN
    result = levelized_cost([[100.0, 100.0], [100.0, 100.0]], [[10.0, 10.0], [0.0, 0.0]], 0.0)
    np.testing.assert_allclose(result, [10.0, np.nan], rtol=1e-15)


def test_taylor_shift_equals_binomial_expansion():
    # truth: the coefficients of p(y + 1) are sum_k C(k, j) c_k (binomial theorem), computed
    # here with scipy's binomial coefficients; the engine uses repeated additions
    from scipy.special import comb

    from model.engine.financials import _taylor_shift

    rng = np.random.default_rng(3)
    coefficients = rng.normal(size=(12, 50))  # year-major: power k in row k
    k = np.arange(12)
    binomial = comb(k[:, None], k[None, :])  # C(k, j)
    np.testing.assert_allclose(
        _taylor_shift(coefficients), binomial.T @ coefficients, rtol=1e-12, atol=1e-12
    )


def test_descartes_counts_bound_the_roots_with_the_right_parity():
    # truth: the real roots of the NPV polynomial from numpy.roots (an eigenvalue method,
    # independent of the engine). Descartes: count >= roots on that side, same parity.
    from model.engine.financials import _root_counts

    rng = np.random.default_rng(5)
    flows = np.round(rng.normal(size=(300, 8)) * 100, 2)
    above, below = _root_counts(np.ascontiguousarray(flows.T))
    for row, n_above, n_below in zip(flows, above, below):
        # Q(x) = sum_k f_k x^k, x = 1 / (1 + r): r > 0 <=> 0 < x < 1; -1 < r < 0 <=> x > 1
        x = np.roots(row[::-1])
        x = x[np.abs(x.imag) < 1e-9].real
        roots_above = int(((x > 1e-9) & (x < 1 - 1e-9)).sum())
        roots_below = int((x > 1 + 1e-9).sum())
        assert n_above >= roots_above and (n_above - roots_above) % 2 == 0
        assert n_below >= roots_below and (n_below - roots_below) % 2 == 0
