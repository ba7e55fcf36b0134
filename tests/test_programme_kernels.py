"""The kernel form of the programme model (model/engine/models/programme.py) equals the
straightforward
per-cohort form (tests/reference_programme.py) on random draws of every input, including
fractional lead times, delays and lives, refresh generations and prices by launch year."""

from pathlib import Path

import numpy as np
import pytest

from model import load_scenario
from model.engine.designs import Design
from model.engine.inputs import sample_inputs
from model.engine.models.programme import programme_cash_flows

from .reference_programme import programme_cash_flows as reference_cash_flows

ROOT = Path(__file__).resolve().parents[1]
SERIES = (
    "spend",
    "refresh_spend",
    "capacity_mw",
    "gpu_hours",
    "revenue",
    "energy_cost",
    "fixed_opex",
    "variable_cost",
    "depreciation",
    "tax",
    "terminal",
    "fcf",
)
METRICS = ("npv", "irr", "payback_years", "peak_funding", "levelized_cost_per_gpu_hour")


def _inputs(path, n, seed, **override):
    sc = load_scenario(path)
    ins = sample_inputs(sc, Design(sc, n, seed), 0, n)
    ins.update(override)
    return sc, ins


@pytest.mark.parametrize("refresh", [True, False])
def test_kernels_equal_reference_on_random_draws(refresh):
    sc, ins = _inputs(ROOT / "benchmarks" / "bench_programme.yaml", 600, 3, refresh_it=refresh)
    fast = programme_cash_flows(ins, 600, sc.n_years)
    slow = reference_cash_flows(ins, 600, sc.n_years)
    for name in SERIES + METRICS:
        np.testing.assert_allclose(
            fast[name], slow[name], rtol=1e-9, atol=1e-3, equal_nan=True, err_msg=name
        )


def test_kernels_equal_reference_with_price_by_launch_year():
    n, t = 300, 16
    years_price = np.linspace(3.0, 1.0, t).reshape(1, -1) * np.linspace(0.8, 1.2, n)[:, None]
    sc, ins = _inputs(
        ROOT / "benchmarks" / "bench_programme.yaml", n, 5, price_per_gpu_hour=years_price
    )
    fast = programme_cash_flows(ins, n, t)
    slow = reference_cash_flows(ins, n, t)
    for name in ("revenue", "fcf", "npv", "levelized_cost_per_gpu_hour"):
        np.testing.assert_allclose(fast[name], slow[name], rtol=1e-9, atol=1e-3, err_msg=name)


@pytest.mark.parametrize("refresh", [True, False])
def test_kernels_equal_reference_with_lives_below_one_year(refresh):
    # IT lives of 0.3-2.5 years: draws under one year take the generation-by-generation
    # kernels (several generations start in one year), the others the closed form; both must
    # equal the per-cohort reference, draw by draw.
    n = 800
    lives = np.random.default_rng(11).uniform(0.3, 2.5, n)
    sc, ins = _inputs(
        ROOT / "benchmarks" / "bench_programme.yaml", n, 7, refresh_it=refresh, compute_life=lives
    )
    fast = programme_cash_flows(ins, n, sc.n_years)
    slow = reference_cash_flows(ins, n, sc.n_years)
    assert (lives < 1).any() and (lives >= 1).any()
    for name in SERIES + METRICS:
        np.testing.assert_allclose(
            fast[name], slow[name], rtol=1e-9, atol=1e-3, equal_nan=True, err_msg=name
        )
    # a draw's numbers do not depend on the other draws evaluated with it
    alone = programme_cash_flows(
        {
            k: (v[:50] if isinstance(v, np.ndarray) and v.shape[:1] == (n,) else v)
            for k, v in ins.items()
        },
        50,
        sc.n_years,
    )
    for name in SERIES + METRICS:
        np.testing.assert_array_equal(fast[name][:50], alone[name], err_msg=name)
