"""Goal seek against closed forms.

The industry model's final-year gap is ``accelerator_revenue * m / (1 - g) - ai_revenue``; with
``m = 2`` and ``g = 0.5`` fixed it is ``4 A - R``, linear in two independent normal inputs
``A ~ N(150B, 5B)`` and ``R ~ N(100B, 12B)`` [USD/year]. Hand formulas:

* mean gap = 0 with A fixed at a: ``4 a - E[R] = 0``, so ``a* = E[R] / 4 = 25B``;
* P(gap > 0) = p with A fixed at a: ``P(R < 4 a) = Phi((4 a - 100B) / 12B) = p``, so
  ``a* = (100B + z_p 12B) / 4``; for p = 0.8, z = 0.8416: a* = 27.525B;
* median gap = 0 with R fixed at r: ``median(4 A) - r = 0``, so ``r* = 4 x 150B = 600B``;
* mean gap = 0 with A's distribution multiplied by f: ``4 f E[A] - E[R] = 0``, so
  ``f* = 100 / 600 = 1/6``.

The reported uncertainty is one Monte Carlo standard error either side, so the closed form is
checked within three of them.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest
from jsonschema import Draft202012Validator

from model.analysis.goalseek import GoalTarget, goal_seek
from model.cli import main
from model.core.errors import AssumptionError
from model.loading.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
Z80 = 0.8416212335729143  # standard normal quantile of 0.8
DRAWS = 10_000


@pytest.fixture(scope="module")
def path(tmp_path_factory) -> Path:
    text = textwrap.dedent("""\
        schema: 1
        name: linear-gap
        title: Linear gap (test)
        model: industry
        years: {start: 2024, end: 2026}
        sources:
          src:
            title: A test source
            publisher: Test Publisher
            published: 2025-01-31
            url: https://example.org/test
        parameters:
          accelerator_revenue: {dist: normal, mean: 150B, sd: 5B, unit: USD/year, source: src}
          dc_cost_multiplier: {value: 2, unit: ratio, source: src}
          end_user_gross_margin: {value: 0.5, unit: share, source: src}
          ai_revenue: {dist: normal, mean: 100B, sd: 12B, unit: USD/year, hypothetical: guess}
          discount_rate: {dist: uniform, low: 0.05, high: 0.15, unit: 1/year,
                          hypothetical: guess}
        """)
    p = tmp_path_factory.mktemp("goal") / "linear_gap.yaml"
    p.write_text(text)
    return p


@pytest.fixture(scope="module")
def sc(path):
    return load_scenario(path)


def within(res, truth: float, k: float = 3.0) -> None:
    low, high = res.uncertainty
    assert low <= res.value <= high
    half = (high - low) / 2
    assert half > 0
    assert abs(res.value - truth) <= k * half, (res.value, truth, half)


def test_the_mean_target_is_the_closed_form(sc):
    res = goal_seek(sc, "accelerator_revenue", "revenue_gap_final:mean=0", draws=DRAWS)
    within(res, 25e9)
    assert res.mode == "fixed" and res.form == "scalar" and res.unit == "USD/year"
    assert abs(res.achieved["value"]) < 1e-3 * res.achieved["mcse"] * 1e3
    assert res.evaluations >= 3


def test_a_probability_target_is_the_normal_quantile(sc):
    res = goal_seek(sc, "accelerator_revenue", "P(revenue_gap_final>0)=0.8", draws=DRAWS)
    within(res, (100e9 + Z80 * 12e9) / 4)
    # the achieved probability is the target to a step (1 / draws) and within its own MCSE
    assert abs(res.achieved["value"] - 0.8) <= res.achieved["mcse"]
    half_prob = goal_seek(sc, "accelerator_revenue", "P(revenue_gap_final>0)=50%", draws=DRAWS)
    within(half_prob, 25e9)


def test_a_quantile_target_on_the_other_input(sc):
    res = goal_seek(sc, "ai_revenue", "revenue_gap_final:p50=0", draws=DRAWS)
    within(res, 600e9)
    assert res.uncertainty[0] < 600e9 < res.uncertainty[1] or abs(res.value - 600e9) < 1e9


def test_shift_multiplies_the_distribution(sc):
    res = goal_seek(sc, "accelerator_revenue", "revenue_gap_final:mean=0", shift=True)
    within(res, 1 / 6)
    assert res.mode == "shift" and res.unit == "ratio"


def test_common_random_numbers_make_it_reproducible(sc):
    a = goal_seek(sc, "accelerator_revenue", "P(revenue_gap_final>0)=0.8", draws=2000, seed=4)
    b = goal_seek(sc, "accelerator_revenue", "P(revenue_gap_final>0)=0.8", draws=2000, seed=4)
    assert a.to_json_dict() == b.to_json_dict()


def test_a_series_is_varied_as_a_whole_path():
    sc = load_scenario(ROOT / "assumptions" / "industry_600b_question.yaml")
    res = goal_seek(sc, "ai_revenue", "revenue_gap_final:mean=0", draws=2000)
    assert res.form == "series" and res.unit == "ratio" and res.value > 0
    assert res.path and all(v > 0 for v in res.path.values())
    assert abs(res.achieved["value"]) <= 3 * res.achieved["mcse"]


@pytest.mark.parametrize(
    "text,stat,metric,value",
    [
        ("P(npv>0)=0.5", "probability", "npv", 0.5),
        ("P(irr >= 12%) = 25%", "probability", "irr", 0.25),
        ("npv:p50=0", "p50", "npv", 0.0),
        ("npv:p10=-1B", "p10", "npv", -1e9),
        ("npv:mean=1.5B", "mean", "npv", 1.5e9),
    ],
)
def test_targets_parse(text, stat, metric, value):
    t = GoalTarget.parse(text)
    assert (t.statistic, t.metric, t.value) == (stat, metric, value)


@pytest.mark.parametrize(
    "text,match",
    [
        ("npv>0", "is not a target"),
        ("P(npv>0)=1.5", "strictly between 0 and 1"),
        ("npv:median=0", "names no statistic"),
        ("nvp:mean=0", "did you mean 'npv'"),
        ("P(nvp>0)=0.5", "did you mean 'npv'"),
        ("npv:mean=lots", "is not a number"),
    ],
)
def test_bad_targets_say_how_to_write_them(text, match):
    with pytest.raises(ValueError, match=match):
        GoalTarget.parse(text)


def test_bad_input_and_unreachable_target_are_located_errors(sc, path, capsys):
    with pytest.raises(AssumptionError, match="did you mean 'accelerator_revenue'"):
        goal_seek(sc, "accelerator_revenu", "revenue_gap_final:mean=0")
    with pytest.raises(AssumptionError, match="no value of discount_rate"):
        goal_seek(sc, "discount_rate", "revenue_gap_final:mean=0", draws=500)
    with pytest.raises(AssumptionError, match="not a metric of this industry run"):
        goal_seek(sc, "accelerator_revenue", "npv:mean=0", draws=500)
    args = ["goal-seek", str(path), "--vary", "ai_revenu", "--target", "revenue_gap_final:mean=0"]
    assert main(args) == 2
    assert "did you mean 'ai_revenue'" in capsys.readouterr().err
    args = ["goal-seek", str(path), "--vary", "ai_revenue", "--target", "revenue_gap_fnal:mean=0"]
    assert main(args) == 2
    assert "did you mean 'revenue_gap_final'" in capsys.readouterr().err


def test_cli_text_and_json_validate_against_the_schema(path, capsys):
    argv = ["goal-seek", str(path), "--vary", "accelerator_revenue"]
    argv += ["--target", "P(revenue_gap_final>0)=0.5", "--draws", "2000"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "accelerator_revenue" in out and "evaluations" in out and "achieved" in out
    assert main([*argv, "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    schema = json.loads((ROOT / "docs" / "schema" / "goal-seek.schema.json").read_text("utf-8"))
    Draft202012Validator.check_schema(schema)
    errors = list(Draft202012Validator(schema).iter_errors(d))
    assert not errors, [e.message for e in errors]
    assert {"vary", "value", "achieved", "target", "uncertainty", "evaluations"} <= set(d)
    assert d["vary"] == "accelerator_revenue" and len(d["uncertainty"]) == 2
    assert main([*argv[:-2], "--draws", "500", "--shift", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["mode"] == "shift" and not list(Draft202012Validator(schema).iter_errors(d))


def test_a_scaled_distribution_inverts_its_own_quantile_function():
    from model.analysis.goalseek import scaled
    from model.core.distributions import make_distribution

    base = make_distribution({"dist": "lognormal", "median": 2.0, "sigma": 0.3})
    d = scaled(base, 1.5, 0.0, 4.0)
    u = np.array([0.05, 0.3, 0.5, 0.8])
    x = d.ppf(u)
    # by construction: P(1.5 X <= 1.5 q_u) = u below the clip; at and above the clip, 1
    np.testing.assert_allclose(d.cdf(x), np.where(x >= 4.0, 1.0, u), rtol=1e-9)
    assert d.cdf(np.array([-1.0]))[0] == 0.0
