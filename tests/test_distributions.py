"""Distribution specs: quantile elicitation reproduces the quantiles, natural parameters match
scipy.stats (an independent implementation), truncation and discrete behave as their closed
forms say."""

import numpy as np
import pytest
from scipy import stats

from model.core.distributions import DistSpecError, make_distribution

QUANTILE_SPECS = [
    {"dist": "normal", "p05": 1.0, "p95": 3.0},
    {"dist": "normal", "p10": -2.0, "p50": 0.5, "p90": 3.0},  # consistent: symmetric
    {"dist": "lognormal", "p05": 0.95, "p95": 1.6},
    {"dist": "lognormal", "p10": 40e9, "p50": 50e9, "p90": 62.5e9},  # 40*62.5 = 50^2
    {"dist": "uniform", "p05": 10.0, "p95": 20.0},
    {"dist": "triangular", "p10": 1.0, "p50": 2.0, "p90": 3.5},
    {"dist": "pert", "p10": 1.0, "p50": 2.0, "p90": 3.5},
    {"dist": "pert", "p05": 0.1, "p50": 0.16, "p95": 0.3},
    {"dist": "beta", "p05": 0.2, "p95": 0.7},
    {"dist": "beta", "p10": 1.2, "p90": 1.8, "low": 1.0, "high": 2.0},
]


@pytest.mark.parametrize(
    "spec",
    QUANTILE_SPECS,
    ids=lambda s: s["dist"] + "-" + "-".join(k for k in s if k.startswith("p")),
)
def test_quantile_specs_reproduce_their_quantiles(spec):
    d = make_distribution(spec)
    keys = [k for k in spec if k.startswith("p")]
    probs = np.array([float(k[1:]) / 100 for k in keys])
    np.testing.assert_allclose(d.ppf(probs), [spec[k] for k in keys], rtol=1e-9)


def test_natural_parameters_match_scipy():
    # truth: scipy.stats frozen distributions with the textbook parameterisations
    u = np.linspace(0.01, 0.99, 25)
    cases = [
        ({"dist": "normal", "mean": 2.0, "sd": 0.5}, stats.norm(2.0, 0.5)),
        ({"dist": "lognormal", "median": 3.0, "sigma": 0.4}, stats.lognorm(0.4, scale=3.0)),
        ({"dist": "uniform", "low": 1.0, "high": 4.0}, stats.uniform(1.0, 3.0)),
        (
            {"dist": "triangular", "low": 0.0, "mode": 1.0, "high": 4.0},
            stats.triang(0.25, loc=0.0, scale=4.0),
        ),
        # PERT(a, m, b) = a + (b - a) Beta(1 + 4 (m - a)/(b - a), 1 + 4 (b - m)/(b - a))
        (
            {"dist": "pert", "low": 0.0, "mode": 1.0, "high": 4.0},
            stats.beta(2.0, 4.0, loc=0.0, scale=4.0),
        ),
        ({"dist": "beta", "alpha": 2.0, "beta": 5.0}, stats.beta(2.0, 5.0)),
    ]
    for spec, ref in cases:
        d = make_distribution(spec)
        np.testing.assert_allclose(d.ppf(u), ref.ppf(u), rtol=1e-10)
        assert d.mean() == pytest.approx(ref.mean(), rel=1e-10)
        assert d.sd() == pytest.approx(ref.std(), rel=1e-10)


def test_lognormal_by_arithmetic_mean_and_sd():
    # sigma^2 = ln(1 + (sd/mean)^2), mu = ln(mean) - sigma^2/2 (closed form)
    d = make_distribution({"dist": "lognormal", "mean": 10.0, "sd": 3.0})
    assert d.mean() == pytest.approx(10.0, rel=1e-12)
    assert d.sd() == pytest.approx(3.0, rel=1e-12)


def test_truncated_normal_matches_scipy_truncnorm():
    d = make_distribution({"dist": "normal", "mean": 1.0, "sd": 0.2, "min": 0.9, "max": 1.5})
    ref = stats.truncnorm((0.9 - 1.0) / 0.2, (1.5 - 1.0) / 0.2, loc=1.0, scale=0.2)
    u = np.linspace(0.0, 1.0, 11)
    np.testing.assert_allclose(d.ppf(u), ref.ppf(u), rtol=1e-9)
    assert d.mean() == pytest.approx(ref.mean(), rel=1e-7)
    assert d.sd() == pytest.approx(ref.std(), rel=1e-6)


def test_discrete_ppf_mean_and_sd():
    d = make_distribution({"dist": "discrete", "values": [3, 1, 2], "probs": [0.3, 0.2, 0.5]})
    # sorted values 1, 2, 3 with cumulative probabilities 0.2, 0.7, 1.0
    np.testing.assert_array_equal(
        d.ppf(np.array([0.0, 0.19, 0.2, 0.69, 0.7, 0.999])), [1, 1, 2, 2, 3, 3]
    )
    assert d.mean() == pytest.approx(1 * 0.2 + 2 * 0.5 + 3 * 0.3, rel=1e-12)
    var = 0.2 * (1 - 2.1) ** 2 + 0.5 * (2 - 2.1) ** 2 + 0.3 * (3 - 2.1) ** 2
    assert d.sd() == pytest.approx(np.sqrt(var), rel=1e-12)


def test_scale_converts_location_keys_only():
    d = make_distribution({"dist": "lognormal", "median": 50, "sigma": 0.2}, scale=1e9)
    assert d.quantile(0.5) == pytest.approx(50e9, rel=1e-12)
    assert d.p["sigma"] == pytest.approx(0.2)


def test_amount_strings_in_distributions():
    d = make_distribution({"dist": "uniform", "low": "30M", "high": "1.5T"})
    assert d.quantile(0.0) == pytest.approx(30e6) and d.quantile(1.0) == pytest.approx(1.5e12)


@pytest.mark.parametrize(
    "spec,phrase",
    [
        ({"dist": "weibull", "mean": 1}, "unknown distribution family"),
        ({"mean": 1}, "no distribution family"),
        ({"dist": "normal", "p05": 3, "p95": 1}, "must be below"),
        ({"dist": "normal", "mean": 1, "sd": -1}, "sd must be > 0"),
        ({"dist": "normal", "p10": 0, "p50": 2, "p90": 3}, "no normal distribution"),
        ({"dist": "lognormal", "median": -1, "sigma": 1}, "median must be > 0"),
        ({"dist": "beta", "p05": 0.5, "p95": 1.5}, "inside (0, 1)"),
        ({"dist": "triangular", "low": 0, "mode": 5, "high": 2}, "outside [low, high]"),
        ({"dist": "discrete", "values": [1, 2], "probs": [0.5, 0.6]}, "sum to 1.1"),
        ({"dist": "uniform", "low": 1}, "missing high"),
        ({"dist": "normal", "mean": 1, "sd": 1, "min": 2, "max": 1}, "must be below max"),
        ({"dist": "normal", "p05": 1}, "needs 2 quantiles"),
        ({"dist": "normal", "mean": 1, "sd": 1, "low": 0}, "does not take 'low'"),
    ],
)
def test_bad_specs_raise_with_a_fix(spec, phrase):
    with pytest.raises(DistSpecError) as info:
        make_distribution(spec)
    assert phrase in str(info.value)
    assert "; " in str(info.value)


def test_describe_and_repr_are_readable():
    d = make_distribution({"dist": "lognormal", "p05": 0.95, "p95": 1.6})
    assert repr(d) == "lognormal(p05=0.95, p95=1.6)"
    assert d.describe().startswith("lognormal, median 1.233, 90 % in [0.95, 1.6]")


@pytest.mark.parametrize(
    "a, b",
    [
        (1.0, 1.0),
        (1.0001, 4.9999),
        (2.0, 3.5),
        (3.2, 1.8),
        (5.0, 1.0),
        (1.0, 5.0),  # PERT range
        (0.5, 0.5),
        (0.3, 2.0),
        (2.0, 0.3),
        (0.05, 0.05),
        (20.0, 30.0),
        (60.0, 3.0),  # general beta
        (400.0, 300.0),  # too peaked for a table: the exact inverse is used
    ],
)
def test_tabulated_beta_quantile_matches_scipy(a, b):
    # Truth: scipy's exact inverse of the regularized incomplete beta function. The table is
    # promised within 1e-12 of it (absolute, on [0, 1]); tails down to 1e-15 are included,
    # where the quantile ~ (a B(a, b) u)^(1/a) is steep.
    from scipy import special

    from model.core.distributions import BETA_QUANTILE_TOLERANCE, beta_quantile

    rng = np.random.default_rng(7)
    u = np.concatenate(
        [
            rng.random(50_000),
            10 ** rng.uniform(-15, -1, 5_000),
            1 - 10 ** rng.uniform(-15, -1, 5_000),
            [0.0, 0.5, 1.0],
        ]
    )
    got = beta_quantile(a, b, u)
    np.testing.assert_allclose(
        got, special.betaincinv(a, b, u), rtol=0, atol=BETA_QUANTILE_TOLERANCE
    )
    assert BETA_QUANTILE_TOLERANCE == 1e-12
    assert np.all(np.diff(got[np.argsort(u)]) >= -BETA_QUANTILE_TOLERANCE)  # monotone
