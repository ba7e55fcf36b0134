"""Portfolios: members on the same draws, shared inputs drawn once, own inputs independent,
and the aggregate as the per-draw sum (issue 19)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from model.core.errors import AssumptionError
from model.engine.portfolio import simulate_portfolio
from model.engine.simulate import simulate
from model.loading.portfolio import is_portfolio_file, load_portfolio
from model.loading.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
FIXED = ROOT / "tests" / "fixtures" / "deterministic_programme.yaml"
MARGIN = """
parameters:
  end_user_gross_margin: {value: 0.5, unit: share, hypothetical: test}
"""
UNIFORM_CAPEX = "capex_total: {dist: uniform, low: 50, high: 150, unit: USD, hypothetical: test}"


def _member(folder: Path, name: str, extra: str = UNIFORM_CAPEX, years: str = "") -> Path:
    """A member extending the all-fixed fixture, with ``extra`` parameters."""
    body = "\n".join(f"  {line}" for line in extra.splitlines())
    text = f"schema: 1\nname: {name}\nextends: {FIXED}\n{years}parameters:\n{body}\n"
    path = folder / f"{name}.yaml"
    path.write_text(text)
    return path


def _portfolio(folder: Path, members: list[str], shared=(), correlations="", name="pf") -> Path:
    lines = ["schema: 1", f"name: {name}", "portfolio:", "  members:"]
    lines += [f"    - {m}" for m in members]
    lines.append(f"  shared: [{', '.join(shared)}]")
    text = "\n".join(lines) + "\n" + MARGIN + correlations
    path = folder / f"{name}.yaml"
    path.write_text(text)
    return path


def _sd_error(x: np.ndarray) -> float:
    """Standard error of a sample standard deviation: sd sqrt((kurtosis - 1) / (4 n)) (the delta
    method on the sample variance, whose variance is (mu4 - sigma^4) / n)."""
    k = stats.kurtosis(x, fisher=False)
    return float(np.std(x, ddof=1) * math.sqrt((k - 1) / (4 * x.size)))


# ============================================================================ sums, streams
def test_two_linear_members_sharing_their_only_input_add_their_sds(tmp_path):
    # NPV is homogeneous of degree 1 in capex_total when everything else is fixed (every flow
    # scales with the capacity it buys, tax losses too), so NPV_m = k_m X. Shared X: the sds
    # add (sd1 + sd2, exactly); independent X: they add in quadrature (sd1 (+) sd2).
    _member(tmp_path, "lin-a")
    _member(tmp_path, "lin-b")
    shared = simulate_portfolio(
        load_portfolio(_portfolio(tmp_path, ["lin-a.yaml", "lin-b.yaml"], ["capex_total"])),
        20_000,
        seed=3,
    )
    sd1, sd2 = (np.std(r.metric("npv"), ddof=1) for r in shared.members.values())
    np.testing.assert_allclose(np.std(shared.metric("npv"), ddof=1), sd1 + sd2, rtol=1e-9)
    apart = simulate_portfolio(
        load_portfolio(_portfolio(tmp_path, ["lin-a.yaml", "lin-b.yaml"], name="apart")),
        20_000,
        seed=3,
    )
    sd1, sd2 = (np.std(r.metric("npv"), ddof=1) for r in apart.members.values())
    total = apart.metric("npv")
    assert abs(np.std(total, ddof=1) - math.hypot(sd1, sd2)) < 4 * _sd_error(total)
    assert np.std(total, ddof=1) < 0.8 * (sd1 + sd2)  # and clearly not the shared sum


def test_aggregate_is_the_per_draw_sum_and_shared_draws_are_identical(tmp_path):
    _member(
        tmp_path,
        "a",
        UNIFORM_CAPEX + "\nutilisation: {dist: uniform, low: 0.4, high: 0.9, "
        "unit: share, hypothetical: test}",
    )
    _member(
        tmp_path,
        "b",
        UNIFORM_CAPEX + "\nutilisation: {dist: uniform, low: 0.4, high: 0.9, "
        "unit: share, hypothetical: test}",
    )
    pf = load_portfolio(_portfolio(tmp_path, ["a.yaml", "b.yaml"], ["utilisation"]))
    res = simulate_portfolio(pf, 3000, seed=1)
    a, b = res.members["a"], res.members["b"]
    # a shared input: the same draws in every member
    np.testing.assert_array_equal(a.inputs["utilisation"], b.inputs["utilisation"])
    # an input of the same name that is not shared: independent streams (rank corr. ~ 0)
    rho = stats.spearmanr(a.inputs["capex_total"], b.inputs["capex_total"])[0]
    assert abs(rho) < 4 / math.sqrt(3000)
    for name in ("spend", "refresh_spend", "revenue", "fcf"):
        np.testing.assert_allclose(res.series[name], a.series[name] + b.series[name], rtol=1e-12)
    np.testing.assert_allclose(
        res.series["cumulative_fcf"], np.cumsum(a.series["fcf"] + b.series["fcf"], axis=0)
    )
    # same start year: the aggregate NPV is the sum of the members' NPVs
    np.testing.assert_allclose(res.metric("npv"), a.metric("npv") + b.metric("npv"), rtol=1e-12)
    np.testing.assert_allclose(
        res.metric("total_spend"), a.metric("total_spend") + b.metric("total_spend")
    )
    # Sequoia's multiplier by hand: (spend + refresh) / (1 - 0.5), summed to the last year
    need = 2 * (res.series["spend"] + res.series["refresh_spend"]).sum(axis=0)
    np.testing.assert_allclose(
        res.metric("revenue_coverage"), res.series["revenue"].sum(axis=0) / need, rtol=1e-12
    )
    shares = res.variance_shares()["by_member"]
    assert math.isclose(sum(s["value"] for s in shares.values()), 1.0, rel_tol=1e-9)


def test_members_starting_later_are_placed_and_discounted_to_the_portfolio_start(tmp_path):
    _member(tmp_path, "early")
    schedule = "capex_schedule: {values: {2026: 1.0}, unit: share, hypothetical: test}"
    _member(tmp_path, "late", UNIFORM_CAPEX + "\n" + schedule, "years: {start: 2026, end: 2031}\n")
    res = simulate_portfolio(load_portfolio(_portfolio(tmp_path, ["early.yaml", "late.yaml"])), 500)
    late = res.members["late"]
    assert list(res.scenario.years) == list(range(2025, 2032))
    # the later member's first year is the portfolio's second: its series sit one row down
    early = res.members["early"]
    np.testing.assert_allclose(res.series["revenue"][0], early.series["revenue"][0])
    np.testing.assert_allclose(
        res.series["revenue"][1:],
        np.vstack([early.series["revenue"][1:], np.zeros((1, 500))]) + late.series["revenue"],
    )
    # and its NPV (valued at 1 January 2026) is discounted one more year at its 10 % rate
    np.testing.assert_allclose(res.metric("npv"), early.metric("npv") + late.metric("npv") / 1.1)


def test_a_member_whose_inputs_are_all_shared_equals_its_standalone_run(tmp_path):
    # only where no input is a member's own do the draws equal a standalone run's: own inputs
    # are keyed member:input, so they are other draws of the same distribution
    path = _member(tmp_path, "solo")
    _member(tmp_path, "other")
    alone = simulate(load_scenario(path), 2000, seed=5)
    pf = load_portfolio(_portfolio(tmp_path, ["solo.yaml", "other.yaml"], ["capex_total"]))
    together = simulate_portfolio(pf, 2000, seed=5).members["solo"]
    np.testing.assert_array_equal(together.metric("npv"), alone.metric("npv"))
    own = simulate_portfolio(
        load_portfolio(_portfolio(tmp_path, ["solo.yaml", "other.yaml"], name="own")), 2000, 5
    ).members["solo"]
    assert not np.array_equal(own.metric("npv"), alone.metric("npv"))
    se = math.hypot(*(np.std(r.metric("npv"), ddof=1) / math.sqrt(2000) for r in (own, alone)))
    assert abs(own.metric("npv").mean() - alone.metric("npv").mean()) < 4 * se


def test_correlations_between_members_own_inputs(tmp_path):
    _member(tmp_path, "a")
    _member(tmp_path, "b")
    corr = "correlations:\n  - [a:capex_total, b:capex_total, 0.6]\n"
    res = simulate_portfolio(
        load_portfolio(_portfolio(tmp_path, ["a.yaml", "b.yaml"], correlations=corr)), 8000, seed=2
    )
    rho = stats.spearmanr(
        res.members["a"].inputs["capex_total"], res.members["b"].inputs["capex_total"]
    )[0]
    # a Gaussian copula of normal-score correlation r has Spearman 6/pi asin(r/2) (~0.582);
    # the standard error of Spearman's rho is about (1 - rho^2) / sqrt(n)
    want = 6 / math.pi * math.asin(0.6 / 2)
    assert abs(rho - want) < 4 * (1 - want**2) / math.sqrt(8000) or abs(rho - 0.6) < 0.03


def test_same_seed_same_numbers_and_json_keys(tmp_path):
    _member(tmp_path, "a")
    _member(tmp_path, "b")
    path = _portfolio(tmp_path, ["a.yaml", "b.yaml"], ["capex_total"])
    one = simulate_portfolio(load_portfolio(path), 1000, seed=9, workers=1)
    two = simulate_portfolio(load_portfolio(path), 1000, seed=9, workers=2)
    np.testing.assert_array_equal(one.metric("npv"), two.metric("npv"))
    d = one.to_json_dict()
    assert d["model"] == "portfolio" and set(d["members"]) == {"a", "b"}
    assert {"metrics", "probabilities"} <= set(d["members"]["a"])
    assert "revenue_covered" in d["probabilities"] and d["coverage_year"] == 2030
    assert set(d["variance"]) == {"by_member", "by_shared_driver", "rest"}


# ============================================================================ bad files
def test_a_shared_input_must_be_the_same_in_every_member(tmp_path):
    _member(tmp_path, "a")
    _member(
        tmp_path,
        "b",
        "capex_total: {dist: uniform, low: 60, high: 150, unit: USD, hypothetical: test}",
    )
    with pytest.raises(AssumptionError) as e:
        load_portfolio(_portfolio(tmp_path, ["a.yaml", "b.yaml"], ["capex_total"]))
    assert "shared input 'capex_total' is not the same in a" in str(e.value)
    assert "state it once under this file's parameters" in str(e.value)


def test_every_problem_of_a_portfolio_file_at_once(tmp_path):
    _member(tmp_path, "a")
    (tmp_path / "broken.yaml").write_text("schema: 1\nname: broken\nextends: nowhere.yaml\n")
    corr = "correlations:\n  - [zz:capex_total, a:capex_totl, 0.5]\n"
    path = _portfolio(tmp_path, ["a.yaml", "broken.yaml"], ["utilisaton"], corr)
    with pytest.raises(AssumptionError) as e:
        load_portfolio(path)
    text = str(e.value)
    assert "broken.yaml:3: extends" in text  # the member's own problem, located in it
    assert "member 'broken.yaml' does not load" in text
    assert (
        "shared input 'utilisaton' is not an input of any member; did you mean 'utilisation'"
        in text
    )
    assert "no member is called 'zz'" in text


def test_cli_portfolio_json_and_bad_file_exit_2(tmp_path):
    _member(tmp_path, "a")
    _member(tmp_path, "b")
    path = _portfolio(tmp_path, ["a.yaml", "b.yaml"], ["capex_total"])
    assert is_portfolio_file(path) and not is_portfolio_file(tmp_path / "a.yaml")
    run = [sys.executable, "-m", "model", "portfolio", str(path), "--draws", "500", "--json"]
    out = subprocess.run(run, capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert set(json.loads(out.stdout)["members"]) == {"a", "b"}
    bad = _portfolio(tmp_path, ["a.yaml", "missing.yaml"], name="bad")
    out = subprocess.run(run[:4] + [str(bad)], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "missing.yaml: file not found" in out.stderr
    scenario = ROOT / "assumptions" / "bain_2030.yaml"
    out = subprocess.run(run[:4] + [str(scenario)], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 2 and "is not a portfolio file" in out.stderr
    assert out.stderr.count("\n") <= 2  # one problem, not one per scenario key
