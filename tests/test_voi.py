"""Value of information (``capex voi``, :mod:`model.analysis.voi`) against closed forms.

Truth: a user model whose NPV is linear in independent normal inputs,
NPV = a X1 + b X2 + c with X1 ~ N(m1, s1), X2 ~ N(m2, s2) and X3 ~ N(0, 1) that does not enter,
so NPV ~ N(mu, s) with mu = a m1 + b m2 + c and s = sqrt(a^2 s1^2 + b^2 s2^2). For a normal
Y ~ N(mu, s), E[max(Y, 0)] = mu Phi(mu / s) + s phi(mu / s) (the mean of a censored normal), so
for the decision "invest if E[NPV] > 0":

* EVPI = E[max(NPV, 0)] - max(mu, 0) = mu Phi(mu/s) + s phi(mu/s) - max(mu, 0);
* EVPPI(X1) = E[max(E[NPV | X1], 0)] - max(mu, 0), and E[NPV | X1] = mu + a (X1 - m1) is normal
  with sd |a| s1: the same formula with s -> |a| s1;
* EVPPI(X3) = 0 (X3 does not enter); EVPPI({X1, X2}) = EVPI (they are every input that enters).
"""

from __future__ import annotations

import json
import math
import textwrap

import numpy as np
import pytest
from scipy import stats

from model.analysis.voi import voi, voi_from_draws
from model.cli import main

A, B, C = 1.0, 1.0, -0.5e9
M1, S1, M2, S2 = 1.0e9, 3.0e9, 0.5e9, 4.0e9
MU, S = A * M1 + B * M2 + C, math.hypot(A * S1, B * S2)
DRAWS = 20_000


def censored_gain(mu: float, s: float) -> float:
    """E[max(Y, 0)] - max(E Y, 0) for Y ~ N(mu, s)."""
    return mu * stats.norm.cdf(mu / s) + s * stats.norm.pdf(mu / s) - max(mu, 0.0)


MODEL = """
def linear(inputs, years):
    npv = inputs["slope"] * inputs["x1"] + inputs["x2"] + inputs["offset"]
    return {"npv": npv + 0.0 * inputs["x3"]}
"""

YAML = f"""
schema: 1
name: linear-voi
title: NPV linear in normal inputs (test)
model: python
python: linear_model.py:linear
currency: USD
years: {{start: 2025, end: 2026}}
sources:
  test-source:
    title: A test source
    publisher: Test Publisher
    published: 2025-01-31
    url: https://example.org/test-source
parameters:
  x1: {{dist: normal, mean: {M1:.0f}, sd: {S1:.0f}, unit: USD, hypothetical: closed form}}
  x2: {{dist: normal, mean: {M2:.0f}, sd: {S2:.0f}, unit: USD, hypothetical: closed form}}
  x3: {{dist: normal, mean: 0, sd: 1, unit: USD, source: test-source}}
  slope: {{value: {A}, unit: ratio, hypothetical: closed form}}
  offset: {{value: {C:.0f}, unit: USD, hypothetical: closed form}}
outputs:
  npv: {{unit: USD, kind: metric, description: NPV linear in the inputs.}}
scenarios:
  flipped:
    description: the slope of x1 reversed (the decision between the two depends on x1 only)
    slope: {{value: -1, unit: ratio, hypothetical: closed form}}
"""


@pytest.fixture(scope="module")
def linear_file(tmp_path_factory):
    d = tmp_path_factory.mktemp("voi")
    (d / "linear_model.py").write_text(textwrap.dedent(MODEL))
    (d / "linear.yaml").write_text(YAML)
    return d / "linear.yaml"


@pytest.fixture(scope="module")
def invest(linear_file):
    return voi(linear_file, draws=DRAWS, seed=3)


def _close(est: dict, truth: float, k: float = 3.0) -> None:
    assert abs(est["value"] - truth) <= k * est["se"], (est, truth)


def test_evpi_matches_the_censored_normal_closed_form(invest):
    assert invest.unit == "USD" and invest.options == ["invest", "don't"]
    _close(invest.evpi, censored_gain(MU, S))


def test_evppi_of_each_input_matches_its_closed_form(invest):
    by = {r["input"]: r for r in invest.evppi}
    assert set(by) == {"x1", "x2", "x3"}
    _close(by["x1"], censored_gain(MU, abs(A) * S1))
    _close(by["x2"], censored_gain(MU, abs(B) * S2))
    # an input that does not enter the output is worth nothing, within its error
    assert abs(by["x3"]["value"]) <= 2 * by["x3"]["se"] + 1e-9 * S
    assert [r["input"] for r in invest.evppi] == ["x2", "x1", "x3"]  # largest first


def test_group_of_every_input_that_enters_is_worth_the_evpi(invest):
    groups = {g["group"]: g for g in invest.groups}
    assert groups["hypothetical"]["inputs"] == ["x1", "x2"]
    _close(groups["hypothetical"], censored_gain(MU, S))
    assert groups["sourced"]["inputs"] == ["x3"]
    assert abs(groups["sourced"]["value"]) <= 2 * groups["sourced"]["se"] + 1e-9 * S
    _close(groups["finance"], censored_gain(MU, S))  # every input (a user model's category)


def test_choosing_between_overlays_uses_common_random_numbers(linear_file):
    # base - flipped = 2 X1 draw by draw: EVPI = EVPPI(X1) = the gain of N(2 m1, 2 s1)
    res = voi(linear_file, decision="overlays", draws=DRAWS, seed=3)
    assert res.options == ["base", "flipped"] and res.best_option == "base"
    truth = censored_gain(2 * M1, 2 * S1)
    _close(res.evpi, truth)
    by = {r["input"]: r for r in res.evppi}
    _close(by["x1"], truth)
    for name in ("x2", "x3"):
        assert abs(by[name]["value"]) <= 2 * by[name]["se"] + 1e-9 * S


def test_the_estimator_on_raw_draws():
    # voi_from_draws directly (the decision "act if the mean is above 0" from a 1-d output)
    rng = np.random.default_rng(0)
    x1, x2 = rng.normal(1, 1, DRAWS), rng.normal(0.2, 1, DRAWS)
    e, per, groups = voi_from_draws(x1 + x2, {"x1": x1, "x2": x2}, {"both": ["x1", "x2"]}, seed=1)
    _close(e, censored_gain(1.2, math.sqrt(2)))
    _close(groups["both"], censored_gain(1.2, math.sqrt(2)))
    _close(per["x1"], censored_gain(1.2, 1.0))
    # no resamples: no error
    e, _, _ = voi_from_draws(x1 + x2, {"x1": x1}, resamples=0)
    assert math.isnan(e["se"]) and e["value"] > 0


def test_a_groups_regression_follows_a_product_of_its_inputs():
    # y = x1 x2 is not additive: E[y | x1, x2] = y, so EVPPI({x1, x2}) = EVPI; the additive
    # splines plus the rank product of the pair come within 3 errors + 5 % (stated bias bound)
    rng = np.random.default_rng(2)
    x1, x2 = rng.normal(1, 1, DRAWS), rng.normal(0.3, 1, DRAWS)
    e, _, groups = voi_from_draws(x1 * x2, {"x1": x1, "x2": x2}, {"both": ["x1", "x2"]}, seed=2)
    assert abs(groups["both"]["value"] - e["value"]) <= 3 * groups["both"]["se"] + 0.05 * e["value"]


def test_voi_json_validates_against_its_schema(linear_file, capsys):
    from jsonschema import Draft202012Validator  # deferred: a test-only dependency

    from model.cli import schema as S_  # deferred: the schema builder

    argv = ["voi", str(linear_file), "--draws", "5000", "--resamples", "50", "--json"]
    assert main(argv) == 0
    d = json.loads(capsys.readouterr().out)
    errors = list(Draft202012Validator(S_.voi_schema()).iter_errors(d))
    assert not errors, errors[:3]
    assert d["output"] == "npv" and d["decision"] == "invest"
    assert {"value", "se"} <= set(d["evpi"]) and len(d["evppi"]) == 3


def test_voi_text_and_errors(linear_file, capsys):
    assert main(["voi", str(linear_file), "--draws", "3000", "--resamples", "20", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "EVPI" in out and "x1" in out and "hypothetical" in out
    assert main(["voi", str(linear_file), "--output", "irr", "--quiet"]) == 2
    assert main(["voi", str(linear_file), "--draws", "10", "--quiet"]) == 2
