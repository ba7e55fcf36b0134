"""Processes for series inputs (AR(1), GBM) and shocks: moments against theory.

Truth (Hamilton 1994, ch. 3; Hull 2018, ch. 14): an AR(1) z_t = mu + phi (z_{t-1} - mu) +
sigma e_t started in its stationary distribution has mean mu, sd sigma / sqrt(1 - phi^2) and
lag-1 autocorrelation phi in every year; GBM log increments are N(drift - vol^2 / 2, vol^2); a
shock with yearly probability p has struck by the (t+1)-th year in a share 1 - (1 - p)^(t+1) of
the draws. Tolerances are 5 standard errors of each estimate at n draws.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np
import pytest

from model.core.errors import AssumptionError
from model.engine.designs import Design
from model.engine.inputs import inputs_from_uniforms
from model.engine.simulate import simulate
from model.loading.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "assumptions" / "anthropic_fluidstack.yaml"
N = 40_000

PROCESSES = """\
schema: 1
name: processes-test
title: processes (test)
model: programme
extends: {base}
correlations: []
parameters:
  utilisation:
    process: ar1
    scale: logit
    mean: 0.75
    phi: 0.6
    sigma: 0.3
    start: stationary
    unit: share
    hypothetical: test
  price_per_gpu_hour:
    process: gbm
    start: {{dist: lognormal, p05: 2.0, p95: 3.5}}
    drift: -0.2
    volatility: 0.25
    unit: USD/GPU-hour
    shock: {{probability: 0.1, size: 0.5}}
    hypothetical: test
"""


@pytest.fixture()
def scenario(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text(PROCESSES.format(base=BASE))
    return load_scenario(f)


def _inputs(sc, n=N, seed=0):
    d = Design(sc, n, seed)
    return inputs_from_uniforms(sc, d.uniforms(0, n), d.names)


def test_ar1_moments_on_the_logit_scale(scenario):
    x = _inputs(scenario)["utilisation"]
    z = np.log(x) - np.log1p(-x)
    mu, sd = math.log(0.75 / 0.25), 0.3 / math.sqrt(1 - 0.6**2)
    for t in (0, 5, z.shape[1] - 1):
        assert abs(z[:, t].mean() - mu) < 5 * sd / math.sqrt(N)
        # sd of a sample sd: sd / sqrt(2 n)
        assert abs(z[:, t].std() - sd) < 5 * sd / math.sqrt(2 * N)
    for t in (0, 7):
        r = np.corrcoef(z[:, t], z[:, t + 1])[0, 1]
        assert abs(r - 0.6) < 5 * (1 - 0.6**2) / math.sqrt(N)


def test_gbm_log_increments(scenario):
    plain = _without_shock(scenario)
    x = _inputs(plain)["price_per_gpu_hour"]
    inc = np.diff(np.log(x), axis=1)
    assert abs(inc.mean() - (-0.2 - 0.25**2 / 2)) < 5 * 0.25 / math.sqrt(inc.size)
    assert abs(inc[:, 3].std() - 0.25) < 5 * 0.25 / math.sqrt(2 * N)
    # increments are independent of each other
    assert abs(np.corrcoef(inc[:, 2], inc[:, 3])[0, 1]) < 5 / math.sqrt(N)


def test_shock_strikes_geometrically(scenario):
    sc, plain = scenario, _without_shock(scenario)
    d = Design(sc, N, 0)
    u = d.uniforms(0, N)
    with_shock = inputs_from_uniforms(sc, u, d.names)["price_per_gpu_hour"]
    # the same uniforms without the shock column's effect: the ratio is the multiplier
    d0 = Design(plain, N, 0)
    without = inputs_from_uniforms(plain, d0.uniforms(0, N), d0.names)["price_per_gpu_hour"]
    ratio = with_shock / without
    assert set(np.round(np.unique(ratio), 12)) <= {0.5, 1.0}
    struck = ratio < 0.75
    for t in range(ratio.shape[1]):
        truth = 1 - 0.9 ** (t + 1)
        assert abs(struck[:, t].mean() - truth) < 5 * math.sqrt(truth * (1 - truth) / N)
    # once struck, always struck
    assert (np.diff(struck.astype(int), axis=1) >= 0).all()


def test_a_process_run_does_not_depend_on_chunks_or_workers(scenario):
    one = simulate(scenario, draws=12_000, seed=3, workers=1)
    other = simulate(
        scenario, draws=12_000, seed=3, chunk_size=5_000, workers=2, parallel="processes"
    )
    np.testing.assert_array_equal(one.metric("npv"), other.metric("npv"))


def test_correlated_processes_have_correlated_innovations(scenario):
    # base.yaml declares [utilisation, price_per_gpu_hour, 0.4]: between two processes that
    # correlates their innovations year by year
    v = _inputs(_without_shock(scenario))
    z = np.log(v["utilisation"]) - np.log1p(-v["utilisation"])
    mu = math.log(3)
    e_util = z[:, 4] - (mu + 0.6 * (z[:, 3] - mu))  # = sigma e_4
    inc = np.diff(np.log(v["price_per_gpu_hour"]), axis=1)[:, 3]  # the same year's step
    r = np.corrcoef(e_util, inc)[0, 1]
    # Gaussian copula: normal scores correlate at 2 sin(pi rho_s / 6); se ~ (1 - r^2)/sqrt(n)
    truth = 2 * math.sin(math.pi * 0.4 / 6)
    assert abs(r - truth) < 5 * (1 - truth**2) / math.sqrt(N)


def _without_shock(sc):
    import dataclasses

    p = sc.parameters["price_per_gpu_hour"]
    params = {**sc.parameters, "price_per_gpu_hour": dataclasses.replace(p, shock=None)}
    return dataclasses.replace(sc, parameters=params)


@pytest.mark.parametrize(
    "change, message",
    [
        ("    phi: 0.6\n", "    phi: 1.2\n"),
        ("    process: ar1\n", "    process: ar2\n"),
        ("    mean: 0.75\n", "    mean: 1.5\n"),
        (
            "    shock: {{probability: 0.1, size: 0.5}}\n",
            "    shock: {{probability: 1.5, size: 0.5}}\n",
        ),
    ],
    ids=["phi", "kind", "logit-mean", "shock-probability"],
)
def test_bad_processes_are_located_errors(tmp_path, change, message):
    old, new = change, message
    text = PROCESSES.replace(old, new).format(base=BASE)
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    with pytest.raises(AssumptionError) as e:
        load_scenario(f)
    p = e.value.problems[0]
    assert p.file.endswith("bad.yaml") and p.line is not None
    assert p.parameter in ("utilisation", "price_per_gpu_hour")


def test_a_single_number_cannot_be_a_process(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text(
        textwrap.dedent(f"""\
            schema: 1
            name: s
            model: programme
            extends: {BASE}
            parameters:
              capex_overrun: {{process: gbm, start: 1, drift: 0, volatility: 0.1, unit: ratio,
                              hypothetical: t}}
            """)
    )
    with pytest.raises(AssumptionError, match="cannot be a process"):
        load_scenario(f)


def test_sensitivity_treats_a_process_as_one_input(scenario):
    from model.analysis.sensitivity import sensitivity

    r = sensitivity(scenario, methods=("sobol",), draws=500, seed=1, sobol_n=256)
    rows = list(r.sobol["input"])
    assert "price_per_gpu_hour" in rows and "utilisation" in rows
    assert not any("[" in x or "." in x for x in rows)  # no innovation or process-parameter row
    # one group evaluation per process: A, B and a first and a total cross matrix per input
    assert r.sobol_rows < 256 * (2 + 2 * len(rows) + 6)


def test_the_tornado_leaves_out_innovations_and_shows_process_parameters(scenario):
    from model.analysis.sensitivity import sensitivity

    r = sensitivity(scenario, methods=("tornado",), draws=300, seed=1)
    rows = r.tornado.set_index("input")
    assert not any("[" in x for x in rows.index)
    start = scenario.parameters["price_per_gpu_hour"].process.params["start"]
    # the start's P10/P90 are its own quantiles (pert p10 2.0 ... : by construction)
    assert rows.loc["price_per_gpu_hour.start", "value_p10"] == pytest.approx(start.ppf(0.1))
    assert any("innovations" in n for n in r.notes)
