"""Order statistics of samples: quantiles from one sort.

A run summarises millions of draws per metric. numpy's vectorised sort (x86-simd-sort in numpy
2.x) orders 1,000,000 doubles in ~28 ms, about what one ``numpy.quantile`` call costs, and on a
(years, draws) block it is twice as fast as ``numpy.quantile(axis=1)``, which partitions along a
strided axis. So a summary sorts once and reads every quantile (and, later, every order-statistic
interval) from the sorted values (``benchmarks/README.md``, "Summaries").
"""

from __future__ import annotations

import numpy as np


def sorted_quantiles(sorted_values: np.ndarray, probabilities) -> np.ndarray:
    """Quantiles of samples already sorted along their last axis.

    The linear method of ``numpy.quantile`` (Hyndman & Fan's definition 7): the quantile of
    probability p sits at the virtual index h = (n - 1) p and interpolates between the order
    statistics floor(h) and floor(h) + 1, with numpy's own rounding rule, so the result equals
    ``numpy.quantile(values, probabilities, axis=-1)`` to the last bit.

    Parameters
    ----------
    sorted_values : ndarray (..., n)
        Values sorted ascending along the last axis (``numpy.sort``: NaN last), n >= 1. A row
        holding NaN gets NaN quantiles, as in ``numpy.quantile``.
    probabilities : sequence of float
        In [0, 1].

    Returns
    -------
    ndarray (len(probabilities), ...)
        One row per probability (numpy's layout).

    References
    ----------
    Hyndman, R. J. and Fan, Y. (1996). Sample quantiles in statistical packages. The American
    Statistician 50(4), 361-365.
    """
    values = np.asarray(sorted_values)
    n = values.shape[-1]
    virtual = (n - 1) * np.asarray(probabilities, dtype=float)
    below = np.floor(virtual)
    gamma = (virtual - below).reshape(-1, *([1] * (values.ndim - 1)))
    below = np.minimum(below.astype(np.intp), n - 1)
    above = np.minimum(below + 1, n - 1)
    low = np.moveaxis(values[..., below], -1, 0)
    high = np.moveaxis(values[..., above], -1, 0)
    diff = high - low
    out = np.where(gamma >= 0.5, high - diff * (1 - gamma), low + diff * gamma)
    return np.where(np.isnan(values[..., -1]), np.nan, out)


def row_sort(values: np.ndarray) -> np.ndarray:
    """A sorted copy of ``values`` along the last axis (contiguous rows sort fastest)."""
    return np.sort(np.asarray(values, dtype=float), axis=-1)
