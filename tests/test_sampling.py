"""The sampling engine: closed-form means, rank correlation, determinism, designs.

Monte Carlo tolerances come from standard errors (k x MCSE), passed by keyword.
"""

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from model import load_scenario
from model.engine.correlation import gaussian_copula, mixing_matrix
from model.engine.designs import BLOCK, Design, input_variables
from model.engine.inputs import sample_inputs
from model.engine.simulate import simulate

FIX = Path(__file__).parent / "fixtures"
VALID = FIX / "valid_minimal.yaml"


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(VALID)


def test_lognormal_input_mean_matches_closed_form(scenario):
    # price_per_gpu_hour ~ lognormal with p05 = 1.5, p95 = 3.5:
    # sigma = ln(3.5/1.5) / (2 * 1.6449), mu = ln(1.5) + 1.6449 sigma, mean = exp(mu + sigma^2/2)
    z = stats.norm.ppf(0.95)
    sigma = np.log(3.5 / 1.5) / (2 * z)
    mu = np.log(1.5) + z * sigma
    mean = np.exp(mu + sigma**2 / 2)
    n = 100_000
    x = sample_inputs(scenario, Design(scenario, n, seed=3), 0, n)["price_per_gpu_hour"]
    mcse = x.std(ddof=1) / np.sqrt(n)
    assert x.mean() == pytest.approx(mean, abs=4 * mcse)


def test_the_copula_reaches_the_requested_spearman(scenario):
    # the fixture asks for rank correlation 0.3 between utilisation and price: the Gaussian
    # copula's population Spearman is exactly 0.3 (Nelsen 2006, 5.1.2); the sample's SE is
    # about (1 - 0.3^2) / sqrt(n) = 0.003
    n = 100_000
    ins = sample_inputs(scenario, Design(scenario, n, seed=5), 0, n)
    rho = stats.spearmanr(ins["utilisation"], ins["price_per_gpu_hour"]).statistic
    assert rho == pytest.approx(0.3, abs=4 * 0.003)
    # and leaves uncorrelated pairs uncorrelated (SE of Spearman ~ 1/sqrt(n))
    rho0 = stats.spearmanr(ins["utilisation"], ins["capex_per_mw"]).statistic
    assert rho0 == pytest.approx(0.0, abs=4 / np.sqrt(n))


def test_the_copula_keeps_uniform_marginals_and_declared_rank_correlations():
    rng = np.random.default_rng(0)
    n = 200_000
    u = rng.random((n, 3))
    target = np.array([[1, 0.7, -0.4], [0.7, 1, 0.0], [-0.4, 0.0, 1]])
    v = gaussian_copula(u, mixing_matrix(target))
    # each column stays uniform: Kolmogorov-Smirnov against U(0, 1)
    for j in range(3):
        assert stats.kstest(v[:, j], "uniform").pvalue > 1e-3
    rho = stats.spearmanr(v).statistic
    # Spearman's SE ~ 1/sqrt(n) = 0.0022
    np.testing.assert_allclose(rho[0, 1], 0.7, atol=0.01)
    np.testing.assert_allclose(rho[0, 2], -0.4, atol=0.01)
    np.testing.assert_allclose(rho[1, 2], 0.0, atol=0.01)


@pytest.mark.parametrize("design", ["mc", "lhs", "sobol"])
def test_results_identical_whatever_the_chunk_size(scenario, design):
    draws = 2 * BLOCK + 1234  # three blocks, the last one partial
    a = simulate(scenario, draws=draws, seed=11, design=design, chunk_size=1_000)
    b = simulate(scenario, draws=draws, seed=11, design=design, chunk_size=100_000)
    np.testing.assert_array_equal(a.metric("npv"), b.metric("npv"))
    np.testing.assert_array_equal(a.ds["fcf"].values, b.ds["fcf"].values)


def test_same_seed_same_numbers_and_different_seed_different_numbers(scenario):
    a = simulate(scenario, draws=500, seed=1)
    b = simulate(scenario, draws=500, seed=1)
    c = simulate(scenario, draws=500, seed=2)
    np.testing.assert_array_equal(a.metric("npv"), b.metric("npv"))
    assert not np.array_equal(a.metric("npv"), c.metric("npv"))


def test_common_random_numbers_across_overlays(scenario):
    # the bear overlay changes only the price: every other input gets the very same draws
    bear = load_scenario(VALID, scenario="bear")
    n = 3000
    a = sample_inputs(scenario, Design(scenario, n, seed=9), 0, n)
    b = sample_inputs(bear, Design(bear, n, seed=9), 0, n)
    np.testing.assert_array_equal(a["capex_per_mw"], b["capex_per_mw"])
    np.testing.assert_array_equal(a["compute_life"], b["compute_life"])
    assert not np.array_equal(a["price_per_gpu_hour"], b["price_per_gpu_hour"])


def test_input_variables_are_sorted_and_independent_series_split(tmp_path):
    text = VALID.read_text().replace(
        "  utilisation:\n    dist: beta\n    alpha: 6\n    beta: 3\n",
        "  utilisation:\n    values:\n      2026: {dist: uniform, low: 0.5, high: 0.7}\n"
        "      2028: {dist: uniform, low: 0.6, high: 0.9}\n    years_move: independent\n",
    )
    text = text.replace("correlations:\n  - [utilisation, price_per_gpu_hour, 0.3]\n", "")
    path = tmp_path / "ind.yaml"
    path.write_text(text)
    sc = load_scenario(path)
    names = [v.name for v in input_variables(sc)]
    assert names == sorted(names)
    assert "utilisation[2026]" in names and "utilisation[2028]" in names
    n = 20_000
    ins = sample_inputs(sc, Design(sc, n, seed=1), 0, n)["utilisation"]
    # 2026 and 2028 drawn independently: rank correlation ~ 0 (SE 1/sqrt(n));
    # 2027 is the linear interpolation of the two (year 2027 = midpoint)
    assert stats.spearmanr(ins[:, 1], ins[:, 3]).statistic == pytest.approx(0, abs=4 / n**0.5)
    np.testing.assert_allclose(ins[:, 2], (ins[:, 1] + ins[:, 3]) / 2, rtol=1e-12)
    np.testing.assert_allclose(ins[:, 0], ins[:, 1])  # held flat before the first given year


def test_lhs_and_sobol_reduce_the_error_of_the_mean_npv(scenario):
    # the variance of the mean NPV across independent replications, for each design
    reps, n = 24, 1024
    var = {}
    for design in ("mc", "lhs", "sobol"):
        means = [
            simulate(scenario, draws=n, seed=100 + r, design=design).metric("npv").mean()
            for r in range(reps)
        ]
        var[design] = np.var(means, ddof=1)
    # with 24 replications a variance ratio is known to within a factor ~2 (F(23, 23) 99 %
    # quantile is 2.8): the designs must beat MC by more than that
    assert var["lhs"] < var["mc"] / 2.8
    assert var["sobol"] < var["mc"] / 2.8


def test_precision_adds_draws_until_met():
    # bear overlay: NPV sd / |mean| ~ 0.55, so a 0.5 % relative MCSE needs ~12,000 draws:
    # more than the first block of 8,192, so the loop has to add a block
    bear = load_scenario(VALID, scenario="bear")
    res = simulate(bear, draws=1000, seed=4, precision=0.005)
    npv = res.metric("npv")
    rel = npv.std(ddof=1) / np.sqrt(npv.size) / abs(npv.mean())
    assert rel <= 0.005
    assert npv.size % BLOCK == 0 and npv.size > BLOCK
    # the draws made first are unchanged by adding blocks (a one-block run gives the same)
    first = simulate(bear, draws=BLOCK, seed=4).metric("npv")
    np.testing.assert_array_equal(npv[:BLOCK], first)


@pytest.mark.parametrize("workers, parallel", [(2, "processes"), (3, "processes"), (2, "threads")])
def test_results_identical_whatever_the_workers(scenario, workers, parallel):
    # every chunk is a pure function of its draw range, written to its own rows: one worker and
    # several (processes sharing memory, or threads) give the very same numbers
    draws = 3 * BLOCK + 517
    one = simulate(scenario, draws=draws, seed=4, workers=1)
    many = simulate(
        scenario,
        draws=draws,
        seed=4,
        workers=workers,
        parallel=parallel,
        chunk_size=3_000,
        series_draws=BLOCK + 10,
    )
    for name in ("npv", "irr", "payback_years", "peak_funding"):
        np.testing.assert_array_equal(one.metric(name), many.metric(name))
    np.testing.assert_array_equal(one.ds["fcf"].values[: BLOCK + 10], many.ds["fcf"].values)
    for name in one.ds.data_vars:
        if name.startswith("input_"):
            np.testing.assert_array_equal(one.ds[name].values, many.ds[name].values)


def test_a_failing_worker_is_reported(scenario, monkeypatch):
    import model.engine.simulate as simulation
    from model.engine.parallel import WorkerError, fork_available

    if not fork_available():
        pytest.skip("worker processes need fork (Linux)")
    real = simulation.run_model

    def fail_after_first_chunk(sc, inputs, n, **kw):
        if n == 1_000 and fail_after_first_chunk.calls > 0:  # in a worker
            raise FloatingPointError("boom in a worker")
        fail_after_first_chunk.calls += 1
        return real(sc, inputs, n, **kw)

    fail_after_first_chunk.calls = 0
    monkeypatch.setattr(simulation, "run_model", fail_after_first_chunk)
    with pytest.raises(WorkerError, match="FloatingPointError: boom in a worker"):
        simulate(scenario, draws=5_000, seed=1, workers=2, chunk_size=1_000)


def test_workers_started_from_a_thread(scenario):
    # a caller may run simulate() off the main thread (a GUI, a server): the forked workers
    # must still run and give the same numbers
    import threading

    draws = 2 * BLOCK + 100
    one = simulate(scenario, draws=draws, seed=8, workers=1)
    out = {}
    thread = threading.Thread(
        target=lambda: out.update(
            res=simulate(scenario, draws=draws, seed=8, workers=2, chunk_size=4_000)
        )
    )
    thread.start()
    thread.join()
    np.testing.assert_array_equal(one.metric("npv"), out["res"].metric("npv"))
