"""Quantiles from one sort (model/core/statistics.py) against numpy.quantile, the reference."""

import numpy as np
import pytest

from model.core.statistics import sorted_quantiles

PROBS = (0.0, 0.05, 0.25, 0.333, 0.5, 0.75, 0.95, 1.0)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 100, 10_001])
def test_sorted_quantiles_equal_numpy_to_the_last_bit(n):
    # truth: numpy.quantile's linear method (Hyndman & Fan definition 7) on the unsorted values
    rng = np.random.default_rng(n)
    x = rng.standard_normal(n) * 1e3
    assert np.array_equal(sorted_quantiles(np.sort(x), PROBS), np.quantile(x, PROBS))
    rows = rng.lognormal(size=(4, n))
    got = sorted_quantiles(np.sort(rows, axis=1), PROBS)
    assert got.shape == (len(PROBS), 4)
    assert np.array_equal(got, np.quantile(rows, PROBS, axis=1))


def test_a_row_holding_nan_gets_nan_quantiles_as_in_numpy():
    rows = np.array([[1.0, 2.0, 3.0], [1.0, np.nan, 3.0]])
    got = sorted_quantiles(np.sort(rows, axis=1), (0.5,))
    assert got[0, 0] == 2.0 and np.isnan(got[0, 1])
    assert np.isnan(np.quantile(rows, 0.5, axis=1)[1])


def test_hand_computed_quantile():
    # h = (5 - 1) * 0.3 = 1.2: 20 + 0.2 * (30 - 20) = 22
    assert sorted_quantiles(np.array([10.0, 20.0, 30.0, 40.0, 50.0]), (0.3,))[0] == pytest.approx(
        22
    )
