"""Sensitivity analysis against closed forms.

The industry model's final-year gap is ``accelerator_revenue * m / (1 - g) - ai_revenue``; with
``m`` and ``g`` fixed it is linear in the two revenues, so for independent normal inputs the
first-order Sobol' indices are the variance shares ``c^2 sd_a^2 / V`` and ``sd_r^2 / V`` with
``c = m / (1 - g)`` and ``V = c^2 sd_a^2 + sd_r^2``. ``discount_rate`` enters only the present
value of the gap, not the final-year gap: an input that does not enter the output.

Monte Carlo tolerances are the estimator's own bootstrap intervals (SALib), at 99 %.
"""

from __future__ import annotations

import json
import math
import textwrap

import numpy as np
import pytest

from model.analysis.sensitivity import sensitivity
from model.analysis.sensitivity.design import saltelli_matrices
from model.core.errors import AssumptionError
from model.engine.correlation import spearman_to_pearson
from model.loading.scenario import load_scenario

C = 2.0 / (1.0 - 0.5)  # dc_cost_multiplier / (1 - end_user_gross_margin)
SD_ACC, SD_AI = 5e9, 12e9
CONF = 0.99


def industry_yaml(tmp_path, correlation: float | None = None):
    corr = (
        f"correlations:\n  - [accelerator_revenue, ai_revenue, {correlation}]\n"
        if correlation is not None
        else ""
    )
    text = (
        textwrap.dedent(f"""\
        schema: 1
        name: linear-gap
        title: Linear gap (test)
        model: industry
        years: {{start: 2024, end: 2026}}
        sources:
          src:
            title: A test source
            publisher: Test Publisher
            published: 2025-01-31
            url: https://example.org/test
        parameters:
          accelerator_revenue: {{dist: normal, mean: 150B, sd: {SD_ACC:.0f}, unit: USD/year,
                                source: src}}
          dc_cost_multiplier: {{value: 2, unit: ratio, source: src}}
          end_user_gross_margin: {{value: 0.5, unit: share, source: src}}
          ai_revenue: {{dist: normal, mean: 100B, sd: {SD_AI:.0f}, unit: USD/year,
                       hypothetical: guess}}
          discount_rate: {{dist: uniform, low: 0.05, high: 0.15, unit: 1/year,
                          hypothetical: guess}}
        """)
        + corr
    )
    path = tmp_path / "linear_gap.yaml"
    path.write_text(text)
    return load_scenario(path)


@pytest.fixture(scope="module")
def linear_result(tmp_path_factory):
    sc = industry_yaml(tmp_path_factory.mktemp("lin"))
    return sensitivity(
        sc,
        output="revenue_gap_final",
        methods=("tornado", "sobol", "rank"),
        draws=2000,
        seed=3,
        sobol_n=2048,
        conf_level=CONF,
    )


def _row(df, col, name):
    return df.set_index(col).loc[name]


def test_sobol_first_order_equals_variance_shares(linear_result):
    r = linear_result
    v = (C * SD_ACC) ** 2 + SD_AI**2
    analytic = {
        "accelerator_revenue": (C * SD_ACC) ** 2 / v,
        "ai_revenue": SD_AI**2 / v,
        "discount_rate": 0.0,
    }
    assert r.sobol_method == "saltelli"
    for name, s1 in analytic.items():
        row = _row(r.sobol, "input", name)
        assert row["S1"] == pytest.approx(s1, abs=row["S1_conf"] + 1e-12)
        # additive model: total = first-order
        assert row["ST"] == pytest.approx(s1, abs=row["ST_conf"] + 1e-12)
    sums = r.sobol_sums
    assert sums["sum_S1"] == pytest.approx(1.0, abs=sums["sum_S1_conf"])
    assert sums["sum_S1_conf"] < 0.1  # the interval is informative, not vacuous


def test_input_not_in_output_has_zero_total_index_and_is_last_in_tornado(linear_result):
    r = linear_result
    row = _row(r.sobol, "input", "discount_rate")
    assert row["ST"] == pytest.approx(0.0, abs=row["ST_conf"] + 1e-12)
    assert r.tornado["input"].iloc[-1] == "discount_rate"
    assert r.tornado["swing"].iloc[-1] == pytest.approx(0.0, abs=1e-6)
    # swings of the others are the closed form: (P90 - P10) of each normal times its slope
    z = 2 * 1.2815515655446004
    assert _row(r.tornado, "input", "accelerator_revenue")["swing"] == pytest.approx(
        C * SD_ACC * z, rel=1e-9
    )
    assert _row(r.tornado, "input", "ai_revenue")["swing"] == pytest.approx(SD_AI * z, rel=1e-9)
    assert r.base_value == pytest.approx(C * 150e9 - 100e9, rel=1e-12)


def test_provenance_split_is_grouped_index_of_hypothetical_inputs(linear_result):
    r = linear_result
    h = r.hypothetical_share
    hyp = _row(r.groups_provenance, "provenance", "hypothetical")
    # the headline share *is* SALib's grouped first-order index of the hypothetical group
    assert h["s1"] == hyp["S1"]
    assert h["st"] == hyp["ST"]
    # additive model: the group's index is the sum of its members' first-order indices
    members = r.sobol[r.sobol["provenance"] == "hypothetical"]
    assert set(members["input"]) == {"ai_revenue", "discount_rate"}
    assert h["s1"] == pytest.approx(members["S1"].sum(), abs=hyp["S1_conf"])
    v = (C * SD_ACC) ** 2 + SD_AI**2
    assert h["s1"] == pytest.approx(SD_AI**2 / v, abs=hyp["S1_conf"])
    assert h["s1_low"] <= h["s1"] <= h["s1_high"]
    # the category groups: capex = accelerator_revenue alone, revenue = ai_revenue alone
    cat = r.groups_category.set_index("category")
    assert cat.loc["capex", "S1"] == _row(r.sobol, "input", "accelerator_revenue")["S1"]
    # the headline states both groups' first-order shares (independent inputs here)
    src = _row(r.groups_provenance, "provenance", "sourced")
    text = r.headline()
    assert f"hypothetical inputs (2 of 3) {round(100 * h['s1'])} %" in text
    assert f"sourced inputs (1 of 3) {round(100 * src['S1'])} %" in text
    assert "first-order Sobol' index" in text


def test_breakeven_price_matches_hand_calculation(tmp_path):
    capex, per_mw, gpus, util = 1e9, 40e6, 1000.0, 0.7
    pue, plf, power, cor, rate = 1.2, 0.8, 60.0, 0.1, 0.1
    text = textwrap.dedent(f"""\
        schema: 1
        name: one-cohort
        title: Deterministic one-cohort programme (test)
        model: programme
        years: {{start: 2025, end: 2029}}
        parameters:
          capex_total: {{value: {capex:.0f}, unit: USD, hypothetical: t}}
          capex_schedule: {{values: {{2025: 1.0}}, unit: share, hypothetical: t}}
          lead_time: {{value: 0, unit: years, hypothetical: t}}
          capex_per_mw: {{value: {per_mw:.0f}, unit: USD/MW, hypothetical: t}}
          compute_share: {{value: 0.6, unit: share, hypothetical: t}}
          compute_life: {{value: 5, unit: years, hypothetical: t}}
          facility_life: {{value: 5, unit: years, hypothetical: t}}
          revenue_model: capacity
          gpus_per_mw: {{value: {gpus}, unit: GPU/MW, hypothetical: t}}
          utilisation: {{value: {util}, unit: share, hypothetical: t}}
          price_per_gpu_hour: {{dist: uniform, low: 0.5, high: 5, unit: USD/GPU-hour,
                               hypothetical: t}}
          pue: {{value: {pue}, unit: ratio, hypothetical: t}}
          power_load_factor: {{value: {plf}, unit: share, hypothetical: t}}
          power_price: {{value: {power}, unit: USD/MWh, hypothetical: t}}
          fixed_opex_share: {{value: 0, unit: 1/year, hypothetical: t}}
          cost_of_revenue_share: {{value: {cor}, unit: share, hypothetical: t}}
          tax_rate: {{value: 0, unit: share, hypothetical: t}}
          discount_rate: {{value: {rate}, unit: 1/year, hypothetical: t}}
        """)
    (tmp_path / "p.yaml").write_text(text)
    sc = load_scenario(tmp_path / "p.yaml")
    r = sensitivity(sc, methods="breakeven")
    # spend at the end of 2025; five full years of operation, flows at each year's end
    mw = capex / per_mw
    d = [(1 + rate) ** -(k + 1) for k in range(5)]
    energy = mw * 8760 * pue * plf * power
    hours = mw * gpus * 8760 * util
    # NPV = sum_k ((1 - cor) p hours - energy) d_k - capex d_0 = 0
    price = (capex * d[0] / sum(d) + energy) / ((1 - cor) * hours)
    row = _row(r.breakeven, "input", "price_per_gpu_hour")
    assert row["status"] == "found"
    assert row["breakeven"] == pytest.approx(price, rel=1e-9)
    assert row["positive_when"] == "above"
    assert row["percentile"] == pytest.approx(100 * (price - 0.5) / 4.5, rel=1e-9)


def test_correlated_inputs_use_dependent_estimator(tmp_path):
    """Gaussian copula, Y = a Z1 - b Z2 with corr(Z1, Z2) = r: full first-order
    (a - b r)^2 / V and independent total a^2 (1 - r^2) / V, V = a^2 + b^2 - 2 a b r."""
    sc = industry_yaml(tmp_path, correlation=0.5)
    r = sensitivity(
        sc, output="revenue_gap_final", methods="sobol", seed=1, sobol_n=4096, conf_level=CONF
    )
    assert r.sobol_method == "gaussian-copula"
    a, b = C * SD_ACC, SD_AI
    rho = float(spearman_to_pearson(0.5))
    v = a * a + b * b - 2 * a * b * rho
    expect = {
        "accelerator_revenue": ((a - b * rho) ** 2 / v, a * a * (1 - rho**2) / v),
        "ai_revenue": ((b - a * rho) ** 2 / v, b * b * (1 - rho**2) / v),
    }
    for name, (s1, st) in expect.items():
        row = _row(r.sobol, "input", name)
        assert row["S1"] == pytest.approx(s1, abs=row["S1_conf"])
        assert row["ST"] == pytest.approx(st, abs=row["ST_conf"])
    assert any("correlat" in n for n in r.notes)


def test_design_is_salibs_saltelli_design():
    from SALib.sample import sobol as salib_sample

    k, n, seed = 4, 16, 7
    problem = {"num_vars": k, "names": list("abcd"), "bounds": [[0, 1]] * k}
    ref = salib_sample.sample(problem, n, calc_second_order=False, seed=seed)
    a, b, first, total = saltelli_matrices(k, n, seed, {c: [j] for j, c in enumerate("abcd")}, None)
    mine = np.stack([a] + [first[c] for c in "abcd"] + [b], axis=1).reshape(-1, k)
    np.testing.assert_array_equal(mine, ref)
    grouped = dict(problem, groups=["g1", "g2", "g1", "g2"])
    ref_g = salib_sample.sample(grouped, n, calc_second_order=False, seed=seed)
    _, _, fg, _ = saltelli_matrices(k, n, seed, {"g1": [0, 2], "g2": [1, 3]}, None)
    mine_g = np.stack([a, fg["g1"], fg["g2"], b], axis=1).reshape(-1, k)
    np.testing.assert_array_equal(mine_g, ref_g)


def test_cli_json_and_errors(tmp_path, capsys):
    from model.cli import resolve
    from model.cli.parser import build_parser

    industry_yaml(tmp_path)
    parser = build_parser()
    path = str(tmp_path / "linear_gap.yaml")
    args = parser.parse_args(
        [
            "sensitivity",
            path,
            "--json",
            "--sobol-n",
            "256",
            "--draws",
            "500",
            "--method",
            "tornado,sobol,breakeven,stress",
        ]
    )
    assert resolve(args.func)(args) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["output"] == "revenue_gap_final" and d["unit"] == "USD/year"
    assert d["hypothetical_share"]["s1"] == pytest.approx(
        SD_AI**2 / ((C * SD_ACC) ** 2 + SD_AI**2), abs=0.1
    )
    assert [row["input"] for row in d["tornado"]][-1] == "discount_rate"
    assert math.isfinite(d["base_value"])
    args = parser.parse_args(["sensitivity", path, "--output", "npv"])
    with pytest.raises(AssumptionError, match="revenue_gap_final"):
        resolve(args.func)(args)
    args = parser.parse_args(["sensitivity", path, "--method", "sobel"])
    with pytest.raises(AssumptionError, match="unknown"):
        resolve(args.func)(args)
    args = parser.parse_args(["sensitivity", path, "--sobol-n", "1000"])
    with pytest.raises(AssumptionError, match="power of two"):
        resolve(args.func)(args)
