"""The programme and industry models against hand calculations.

The deterministic fixture tests/fixtures/deterministic_programme.yaml has every input fixed:
$100 spent in 2025 (k = 0), online from 2026 (lead time 1), 10 MW (100 / 10 $/MW), IT share 0.5
with a 2-year life refreshed at 0.8x cost (refresh paid in 2028 and 2030), facility life 4,
1 GPU/MW, utilisation 0.1 in 2026 then 0.5 (step), price $0.003/GPU-hour halving each year of a
cohort's age, PUE 1.25, load factor 0.8, power $0.0001/MWh, fixed opex 2 %/year of capex in
service, cost of revenue 10 %, tax 20 % with loss carry-forward, discount 10 %, book-value
terminal value. The arithmetic is written out next to each expected number.
"""

from pathlib import Path

import numpy as np
import numpy_financial as npf
import pytest

from model import load_scenario
from model.engine.designs import Design
from model.engine.inputs import sample_inputs
from model.engine.models.programme import (
    delayed_shares,
    loss_carry_forward_tax,
    programme_cash_flows,
)
from model.engine.simulate import run_model, simulate

FIX = Path(__file__).parent / "fixtures"

# hours of one year of 10 MW x 1 GPU/MW: 10 * 8760 = 87,600 GPU-hours
# revenue by year k (cohort age in brackets, decline 0.5/year):
#   k1: 87,600 * 0.1 * 0.003 * 1 (gen 0, age 0)    = 26.28
#   k2: 87,600 * 0.5 * 0.003 * 0.5 (gen 0, age 1)  = 65.7
#   k3: 87,600 * 0.5 * 0.003 * 1 (gen 1, age 0)    = 131.4
#   k4: 87,600 * 0.5 * 0.003 * 0.5 (gen 1, age 1)  = 65.7
#   k5: 87,600 * 0.5 * 0.003 * 1 (gen 2, age 0)    = 131.4
REVENUE = [0.0, 26.28, 65.7, 131.4, 65.7, 131.4]
# energy: 10 MW * 8760 h * 1.25 * 0.8 * 0.0001 = 8.76 in each year with capacity online
ENERGY = [0.0, 8.76, 8.76, 8.76, 8.76, 8.76]
FIXED_OPEX = [0.0, 2.0, 2.0, 2.0, 2.0, 2.0]  # 0.02 * 100 while in service
VARIABLE = [0.1 * r for r in REVENUE]
EBITDA = [r - e - f - v for r, e, f, v in zip(REVENUE, ENERGY, FIXED_OPEX, VARIABLE)]
# = [0, 12.892, 48.37, 107.5, 48.37, 107.5]
# depreciation: IT gen 0 50/2 = 25 (k1, k2); gen 1 40/2 = 20 (k3, k4); gen 2 20 (k5);
# facility 50/4 = 12.5 (k1..k4)
DEPRECIATION = [0.0, 37.5, 37.5, 32.5, 32.5, 20.0]
# EBIT = [0, -24.608, 10.87, 75, 15.87, 87.5]; loss pool 24.608 after k1, 13.738 after k2,
# so taxable k3 = 75 - 13.738 = 61.262 -> tax 12.2524; k4: 0.2 * 15.87 = 3.174; k5: 17.5
TAX = [0.0, 0.0, 0.0, 12.2524, 3.174, 17.5]
SPEND = [100.0, 0, 0, 0, 0, 0]
REFRESH = [0.0, 0, 0, 40.0, 0, 40.0]  # 0.8 * 0.5 * 100 at each retirement (k3, k5)
# book value at the end of 2030 (t = 6): gen 2 IT bought at 5, life 2 -> 40 * (7 - 6) / 2 = 20
TERMINAL = [0.0, 0, 0, 0, 0, 20.0]
FCF = [e - t - s - r + b for e, t, s, r, b in zip(EBITDA, TAX, SPEND, REFRESH, TERMINAL)]
# = [-100, 12.892, 48.37, 55.2476, 45.196, 70.0]


@pytest.fixture(scope="module")
def deterministic():
    sc = load_scenario(FIX / "deterministic_programme.yaml")
    design = Design(sc, 3, seed=0)
    return run_model(sc, sample_inputs(sc, design, 0, 3), 3)


@pytest.mark.parametrize(
    "name,expected",
    [
        ("revenue", REVENUE),
        ("energy_cost", ENERGY),
        ("fixed_opex", FIXED_OPEX),
        ("variable_cost", VARIABLE),
        ("ebitda", EBITDA),
        ("depreciation", DEPRECIATION),
        ("tax", TAX),
        ("spend", SPEND),
        ("refresh_spend", REFRESH),
        ("terminal", TERMINAL),
        ("fcf", FCF),
    ],
)
def test_deterministic_series_by_hand(deterministic, name, expected):
    for row in np.broadcast_to(deterministic[name], (3, 6)):
        np.testing.assert_allclose(row, expected, rtol=1e-12, atol=1e-12)


def test_deterministic_metrics_by_hand(deterministic):
    npv_hand = sum(f / 1.1 ** (k + 1) for k, f in enumerate(FCF))
    assert deterministic["npv"][0] == pytest.approx(npv_hand, rel=1e-12)
    # cumulative: -100, -87.108, -38.738, 16.5096 -> crosses in k = 3:
    # payback = 3 + 38.738 / 55.2476
    assert deterministic["payback_years"][0] == pytest.approx(3 + 38.738 / 55.2476, rel=1e-12)
    assert deterministic["peak_funding"][0] == pytest.approx(100.0, rel=1e-12)
    # IRR: numpy-financial on the same flows (its first flow is undiscounted, which shifts
    # every exponent by one and leaves the root unchanged)
    assert deterministic["irr"][0] == pytest.approx(npf.irr(FCF), rel=1e-8)
    # levelized cost: PV(spend + refresh + energy + fixed - terminal value) /
    # PV(GPU-hours x (1 - 0.1) x decline): the terminal value gives back part of the cost
    costs = [
        s + r + e + f - b for s, r, e, f, b in zip(SPEND, REFRESH, ENERGY, FIXED_OPEX, TERMINAL)
    ]
    sold = [0.0, 8760, 43800 * 0.5, 43800, 43800 * 0.5, 43800]
    pv = lambda xs: sum(x / 1.1 ** (k + 1) for k, x in enumerate(xs))  # noqa: E731
    assert deterministic["levelized_cost_per_gpu_hour"][0] == pytest.approx(
        pv(costs) / pv([0.9 * s for s in sold]), rel=1e-12
    )


def test_without_refresh_capacity_retires_and_facility_depreciates():
    sc = load_scenario(FIX / "deterministic_programme.yaml")
    inputs = sample_inputs(sc, Design(sc, 2, 0), 0, 2)
    inputs["refresh_it"] = False
    out = programme_cash_flows(inputs, 2, 6)
    # IT active only in k1, k2: revenue 26.28, 65.7 then nothing
    np.testing.assert_allclose(out["revenue"][0], [0, 26.28, 65.7, 0, 0, 0], rtol=1e-12)
    np.testing.assert_allclose(out["refresh_spend"][0], 0.0)
    # depreciation: IT 25 + facility 12.5 in k1, k2; facility alone 12.5 in k3, k4
    np.testing.assert_allclose(out["depreciation"][0], [0, 37.5, 37.5, 12.5, 12.5, 0], rtol=1e-12)


def test_fractional_build_delay_splits_a_year():
    # delay 0.25 moves a quarter of each year's share into the next year
    out = delayed_shares(np.array([0.4, 0.6, 0.0, 0.0]), np.array([0.25, 1.0, 0.0]), 3)
    np.testing.assert_allclose(out[0], [0.3, 0.1 + 0.45, 0.15, 0.0], rtol=1e-12)
    np.testing.assert_allclose(out[1], [0.0, 0.4, 0.6, 0.0], rtol=1e-12)
    np.testing.assert_allclose(out[2], [0.4, 0.6, 0.0, 0.0], rtol=1e-12)


def test_overrun_raises_cost_not_capacity():
    sc = load_scenario(FIX / "deterministic_programme.yaml")
    inputs = sample_inputs(sc, Design(sc, 2, 0), 0, 2)
    base = programme_cash_flows(inputs, 2, 6)
    inputs["capex_overrun"] = 1.5
    over = programme_cash_flows(inputs, 2, 6)
    np.testing.assert_allclose(over["spend"][0, 0], 150.0)
    np.testing.assert_allclose(over["revenue"], base["revenue"])
    np.testing.assert_allclose(over["capacity_mw"], base["capacity_mw"])


def test_loss_carry_forward_tax():
    ebit = np.array([[-10.0, 4.0, 10.0, -1.0, 3.0]])
    # pool 10 -> 6 after k1 (no tax) -> taxable 4 at k2 -> pool 0; k3 loss 1; k4 taxable 2
    np.testing.assert_allclose(loss_carry_forward_tax(ebit, 0.25), [[0, 0, 1.0, 0, 0.5]])


def test_company_share_revenue():
    sc = load_scenario(FIX / "deterministic_programme.yaml")
    inputs = sample_inputs(sc, Design(sc, 2, 0), 0, 2)
    inputs.update(
        revenue_model="company_share",
        revenue_path=np.array([0, 10, 20, 30, 40, 50.0]),
        attributable_share=0.5,
    )
    out = programme_cash_flows(inputs, 2, 6)
    np.testing.assert_allclose(out["revenue"][0], [0, 5, 10, 15, 20, 25.0])


def test_sequoia_arithmetic():
    # Sequoia (2024): $150B accelerator run-rate x 2 / (1 - 0.5) = $600B of revenue required
    res = simulate(load_scenario(FIX / "sequoia_2024.yaml"), draws=2, seed=0)
    np.testing.assert_allclose(res.ds["revenue_required"].values, 600e9, rtol=1e-12)
    np.testing.assert_allclose(res.ds["revenue_gap"].values, 500e9, rtol=1e-12)
    assert res.probability("gap_closed_by_end")["value"] == 0.0
