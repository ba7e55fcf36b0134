"""The distribution families of issue 17 (gamma, student_t, loguniform, metalog, mixture,
empirical): quantiles, CDFs and moments against scipy.stats or closed forms (independent
implementations), the metalog through its own quantiles and refusing infeasible ones, and every
family through the real loader (units, provenance, located errors)."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate, stats

from model import AssumptionError, load_scenario
from model.core.distributions import (
    DistSpecError,
    empirical,
    make_distribution,
    silverman_bandwidth,
)

ROOT = Path(__file__).resolve().parents[1]
VALID = ROOT / "tests" / "fixtures" / "valid_minimal.yaml"
U = np.array([0.01, 0.05, 0.5, 0.95, 0.99])

# ---------------------------------------------------------------- gamma, student_t, loguniform
SCIPY_CASES = [
    # truth: scipy.stats' frozen distributions in the textbook parameterisations
    ({"dist": "gamma", "shape": 2.5, "scale": 3.0}, stats.gamma(2.5, scale=3.0)),
    ({"dist": "gamma", "shape": 0.4, "scale": 1e9}, stats.gamma(0.4, scale=1e9)),
    (
        {"dist": "student_t", "location": 1.5, "scale": 0.2, "df": 4.0},
        stats.t(4.0, loc=1.5, scale=0.2),
    ),
    (
        {"dist": "student_t", "location": -3.0, "scale": 2.0, "df": 30.0},
        stats.t(30.0, loc=-3.0, scale=2.0),
    ),
    ({"dist": "loguniform", "low": 0.5, "high": 20.0}, stats.loguniform(0.5, 20.0)),
    ({"dist": "loguniform", "low": 1e8, "high": 1e11}, stats.loguniform(1e8, 1e11)),
]


@pytest.mark.parametrize("spec,ref", SCIPY_CASES, ids=lambda c: str(c)[:40])
def test_parametric_families_match_scipy(spec, ref):
    d = make_distribution(spec)
    np.testing.assert_allclose(d.ppf(U), ref.ppf(U), rtol=1e-10)
    assert d.mean() == pytest.approx(ref.mean(), rel=1e-10)
    assert d.sd() == pytest.approx(ref.std(), rel=1e-10)
    x = ref.ppf(np.linspace(0.001, 0.999, 37))
    np.testing.assert_allclose(d.cdf(x), ref.cdf(x), rtol=1e-10, atol=1e-15)


def test_student_t_moments_for_small_df():
    # E|T| is infinite for df <= 1, so the mean is undefined: NaN (scipy 1.17 says inf); the sd
    # is infinite for 1 < df <= 2 and undefined below (both as scipy)
    for df, mean_defined in ((0.8, False), (1.0, False), (1.5, True), (2.0, True)):
        d = make_distribution({"dist": "student_t", "location": 2.0, "scale": 1.0, "df": df})
        ref = stats.t(df, loc=2.0)
        assert (d.mean() == 2.0) if mean_defined else np.isnan(d.mean())
        assert d.sd() == ref.std() or (np.isnan(d.sd()) and np.isnan(ref.std()))


def test_gamma_by_mean_and_sd_and_by_quantiles():
    # shape = (mean/sd)^2, scale = sd^2/mean (moments of the gamma)
    d = make_distribution({"dist": "gamma", "mean": 6.0, "sd": 2.0})
    assert d.p["shape"] == pytest.approx(9.0) and d.p["scale"] == pytest.approx(2.0 / 3.0)
    assert d.mean() == pytest.approx(6.0, rel=1e-12) and d.sd() == pytest.approx(2.0, rel=1e-12)
    q = make_distribution({"dist": "gamma", "p05": 2.0, "p95": 9.0})
    np.testing.assert_allclose(q.ppf([0.05, 0.95]), [2.0, 9.0], rtol=1e-9)
    ref = stats.gamma(q.p["shape"], scale=q.p["scale"])  # the same gamma, by scipy
    np.testing.assert_allclose(ref.ppf([0.05, 0.95]), [2.0, 9.0], rtol=1e-9)


def test_loguniform_by_quantiles():
    # ln X uniform: ln q = ln a + p (ln b - ln a) for both quantiles
    d = make_distribution({"dist": "loguniform", "p10": 2.0, "p90": 50.0})
    a, b = d.p["low"], d.p["high"]
    np.testing.assert_allclose(stats.loguniform(a, b).ppf([0.1, 0.9]), [2.0, 50.0], rtol=1e-12)


@pytest.mark.parametrize(
    "spec,phrase",
    [
        ({"dist": "gamma", "shape": -1.0, "scale": 1.0}, "shape must be > 0"),
        ({"dist": "gamma", "shape": 2.0, "mean": 1.0}, "not both"),
        ({"dist": "student_t", "location": 0.0, "scale": 1.0}, "missing df"),
        ({"dist": "student_t", "location": 0.0, "scale": 1.0, "df": 0}, "df must be > 0"),
        ({"dist": "student_t", "p05": 1.0, "p95": 2.0}, "cannot be given by quantiles"),
        ({"dist": "loguniform", "low": 0.0, "high": 1.0}, "low must be > 0"),
        ({"dist": "loguniform", "low": 3.0, "high": 1.0}, "swap them"),
    ],
)
def test_bad_parameters_say_what_to_change(spec, phrase):
    with pytest.raises(DistSpecError, match=phrase):
        make_distribution(spec)


# ---------------------------------------------------------------- metalog
def _pkeys(spec: dict) -> tuple[np.ndarray, np.ndarray]:
    keys = [k for k in spec if k.startswith("p")]
    return np.array([float(k[1:]) / 100 for k in keys]), np.array([spec[k] for k in keys])


METALOGS = [
    {"dist": "metalog", "p10": 1.0, "p50": 3.0, "p90": 8.0},
    {"dist": "metalog", "p10": 40e9, "p50": 50e9, "p90": 75e9},
    {"dist": "metalog", "p05": 1.0, "p25": 2.0, "p50": 3.0, "p90": 8.0},
    {"dist": "metalog", "p05": 1.0, "p25": 2.0, "p50": 3.0, "p75": 5.0, "p95": 12.0},
    {"dist": "metalog", "p10": 1.0, "p50": 3.0, "p90": 8.0, "lower": 0.0},
    {"dist": "metalog", "p10": 1.0, "p50": 3.0, "p90": 8.0, "upper": 20.0},
    {"dist": "metalog", "p10": 0.2, "p50": 0.6, "p90": 0.7, "lower": 0.0, "upper": 1.0},
    {
        "dist": "metalog",
        "p05": 0.1,
        "p30": 0.3,
        "p50": 0.4,
        "p70": 0.6,
        "p95": 0.9,
        "lower": 0,
        "upper": 1,
    },
    {"dist": "metalog", "p01": 5.0, "p40": 9.0, "p60": 10.0, "p99": 30.0, "lower": 2.0},
]


@pytest.mark.parametrize("spec", METALOGS, ids=lambda s: "-".join(map(str, s.values()))[:50])
def test_metalog_reproduces_its_quantiles(spec):
    d = make_distribution(spec)
    probs, vals = _pkeys(spec)
    np.testing.assert_allclose(d.ppf(probs), vals, rtol=1e-10, atol=0)
    # the CDF inverts the quantile function; the support is the bounds
    u = np.linspace(0.001, 0.999, 101)
    np.testing.assert_allclose(d.cdf(d.ppf(u)), u, rtol=0, atol=1e-12)
    assert np.all(np.diff(d.ppf(np.linspace(1e-9, 1 - 1e-9, 20001))) > 0)
    lo, hi = d.ppf(np.array([0.0, 1.0]))
    assert lo == spec.get("lower", -np.inf) and hi == spec.get("upper", np.inf)


def _quad_mean_and_sd(ppf) -> tuple[float, float]:
    """E X and sd X = integrals of Q(u) over (0, 1), by scipy's adaptive quadrature in
    t = logit(u) (an independent integrator), over |t| <= 35 (u = expit(35) is still below 1
    in floating point; the tails beyond hold ~1e-15 of the probability)."""

    def moment(power, centre=0.0):
        def g(t):
            u = 1.0 / (1.0 + math.exp(-t))
            return (float(ppf(np.array([u]))[0]) - centre) ** power * u * (1 - u)

        return integrate.quad(g, -35, 35, limit=400, epsabs=1e-13, epsrel=1e-12)[0]

    m = moment(1)
    return m, math.sqrt(moment(2, m))


def test_unbounded_metalog_mean_is_keelins_closed_form():
    # Keelin (2016): the mean of an unbounded metalog is a1 + a3/2 + a5/12
    for spec in (METALOGS[0], METALOGS[3]):
        d = make_distribution(spec)
        a = list(d.p["a"]) + [0.0, 0.0]
        assert d.mean() == pytest.approx(a[0] + a[2] / 2 + a[4] / 12, rel=1e-12)


def _keelin_quantile(a, lower, upper, t: float) -> float:
    """Keelin (2016), eqs. 6 and 12-14, at y = expit(t) (so ln(y / (1 - y)) = t): the metalog
    M(y) = a1 + a2 L + a3 (y - 1/2) L + a4 (y - 1/2) + a5 (y - 1/2)^2 and its log (lower),
    negative-log (upper) and logit (both) transforms."""
    s = 1.0 / (1.0 + math.exp(-t)) - 0.5 if t > -700 else -0.5
    m = sum(c * b for c, b in zip(a, (1.0, t, s * t, s, s * s)))
    if lower is not None and upper is not None:
        return (lower + upper * math.exp(m)) / (1 + math.exp(m)) if m < 700 else upper
    if lower is not None:
        return lower + math.exp(m)
    if upper is not None:
        return upper - math.exp(-m)
    return m


@pytest.mark.parametrize("spec", METALOGS, ids=lambda s: "-".join(map(str, s.values()))[:50])
def test_metalog_moments_match_quadrature(spec):
    d = make_distribution(spec)
    a, lower, upper = d.p["a"], d.p["lower"], d.p["upper"]
    t = np.linspace(-12, 12, 49)  # beyond, u = expit(t) itself loses the digits of 1 - u
    u = 1.0 / (1.0 + np.exp(-t))
    want = [_keelin_quantile(a, lower, upper, v) for v in t]
    np.testing.assert_allclose(d.ppf(u), want, rtol=1e-9)  # the quantile function is Keelin's

    def moment(power, centre=0.0):
        # E g(X) = integral over the real line of g(Q(expit t)) expit(t) (1 - expit(t)) dt
        def g(v):
            w = math.exp(-abs(v)) / (1.0 + math.exp(-abs(v))) ** 2
            return (_keelin_quantile(a, lower, upper, v) - centre) ** power * w

        return sum(
            integrate.quad(g, lo, hi, limit=400, epsabs=0, epsrel=1e-12)[0]
            for lo, hi in ((-600, -30), (-30, 0), (0, 30), (30, 600))  # beyond: < 1e-20
        )

    m = moment(1)
    assert d.mean() == pytest.approx(m, rel=1e-9)
    assert d.sd() == pytest.approx(math.sqrt(moment(2, m)), rel=1e-8)


def test_log_metalog_with_a_heavy_tail_has_no_mean():
    # ln(X - 0) has quantiles 0, 2.3, 6.9: the upper tail of X is ~ (1 - u)^-c1 with
    # c1 = a2 + a3/2 > 1 (Keelin 2016, sec. 4), whose integral over u diverges
    d = make_distribution({"dist": "metalog", "p10": 1, "p50": 10, "p90": 1000, "lower": 0})
    a = d.p["a"]
    assert a[1] + a[2] / 2 > 1
    assert d.mean() == math.inf and d.sd() == math.inf


def _metalog3_coefficients(x10, x50, x90):
    """The 3-term metalog through p10/p50/p90 by hand: at y = 1/2 the basis is (1, 0, 0), at
    0.1 and 0.9 it is (1, -L, 0.4 L) and (1, L, 0.4 L) with L = ln 9."""
    big_l = math.log(9.0)
    return x50, (x90 - x10) / (2 * big_l), ((x10 + x90) / 2 - x50) / (0.4 * big_l)


def test_metalog_feasibility_is_keelins_three_term_condition():
    # Keelin (2016): a 3-term metalog is feasible iff a2 > 0 and |a3| / a2 < 1.66711
    for ratio, feasible in ((1.0, True), (1.66, True), (1.668, False), (1.9, False)):
        for sign in (1, -1):
            a1, a2, a3 = 10.0, 2.0, sign * ratio * 2.0
            big_l = math.log(9.0)
            spec = {
                "dist": "metalog",
                "p10": a1 - a2 * big_l + a3 * 0.4 * big_l,
                "p50": a1,
                "p90": a1 + a2 * big_l + a3 * 0.4 * big_l,
            }
            if feasible:
                np.testing.assert_allclose(make_distribution(spec).p["a"], [a1, a2, a3])
            else:
                with pytest.raises(DistSpecError, match="no 3-term metalog"):
                    make_distribution(spec)


def test_infeasible_set_really_is_infeasible():
    # p10: 1, p50: 10, p90: 11: |a3| / a2 = 2 > 1.66711, and the quantile function through the
    # three points, evaluated directly, decreases somewhere
    a1, a2, a3 = _metalog3_coefficients(1.0, 10.0, 11.0)
    assert abs(a3) / a2 == pytest.approx(2.0)
    y = np.linspace(1e-6, 1 - 1e-6, 100001)
    big_l = np.log(y / (1 - y))
    q = a1 + a2 * big_l + a3 * (y - 0.5) * big_l
    assert (np.diff(q) < 0).any()


# ---------------------------------------------------------------- mixture
TWO_NORMALS = {
    "dist": "mixture",
    "weights": [0.7, 0.3],
    "components": [{"dist": "normal", "mean": 0, "sd": 1}, {"dist": "normal", "mean": 5, "sd": 2}],
}


def test_mixture_ppf_inverts_the_weighted_cdf():
    d = make_distribution(TWO_NORMALS)
    u = np.concatenate([U, np.linspace(1e-8, 1 - 1e-8, 4001)])
    x = d.ppf(u)
    # truth: F(x) = 0.7 Phi(x) + 0.3 Phi((x - 5) / 2), by scipy.stats
    f = 0.7 * stats.norm(0, 1).cdf(x) + 0.3 * stats.norm(5, 2).cdf(x)
    np.testing.assert_allclose(f, u, rtol=0, atol=1e-9)
    # mean sum w m; variance sum w (s^2 + m^2) - mean^2
    assert d.mean() == pytest.approx(1.5, rel=1e-12)
    assert d.sd() == pytest.approx(math.sqrt(0.7 * 1 + 0.3 * (4 + 25) - 1.5**2), rel=1e-12)
    # elementwise: a draw does not depend on the other draws of its chunk
    np.testing.assert_array_equal(np.concatenate([d.ppf(u[:3]), d.ppf(u[3:])]), x)


def test_mixture_with_a_point_mass_and_other_families():
    # 0.2 at 0 (a cancelled project) + 0.8 gamma: Q(u) = 0 for u <= 0.2, else the gamma's
    # quantile at (u - 0.2) / 0.8
    d = make_distribution(
        {
            "dist": "mixture",
            "weights": [0.2, 0.8],
            "components": [
                {"dist": "fixed", "value": 0},
                {"dist": "gamma", "shape": 3, "scale": 2},
            ],
        }
    )
    u = np.array([0.05, 0.2, 0.3, 0.6, 0.99])
    want = np.where(u <= 0.2, 0.0, stats.gamma(3, scale=2).ppf((u - 0.2) / 0.8))
    np.testing.assert_allclose(d.ppf(u), want, rtol=1e-9, atol=1e-12)
    assert d.mean() == pytest.approx(0.8 * 6.0, rel=1e-12)


@pytest.mark.parametrize(
    "spec,phrase",
    [
        ({**TWO_NORMALS, "weights": [0.7, 0.4]}, "sum to 1"),
        ({**TWO_NORMALS, "weights": [0.7]}, "one weight per component"),
        ({**TWO_NORMALS, "weights": [1.2, -0.2]}, "must be >= 0"),
        (
            {
                **TWO_NORMALS,
                "components": [
                    {"dist": "normal", "mean": 0},
                    {"dist": "normal", "mean": 1, "sd": 1},
                ],
            },
            "component 1: normal needs",
        ),
        (
            {
                **TWO_NORMALS,
                "components": [
                    {"dist": "empirical", "data": "x.csv"},
                    {"dist": "normal", "mean": 1, "sd": 1},
                ],
            },
            "cannot be a component",
        ),
        ({**TWO_NORMALS, "p05": 1.0}, "cannot be given by quantiles"),
    ],
)
def test_bad_mixtures_say_what_to_change(spec, phrase):
    with pytest.raises(DistSpecError, match=phrase):
        make_distribution(spec)


# ---------------------------------------------------------------- empirical
SAMPLE = np.array([2.1, 2.4, 1.95, 3.05, 2.4, 2.2, 1.7, 2.9, 2.55, 2.0, 2.3])


def test_empirical_resamples_numpys_inverted_cdf_quantiles():
    d = empirical(SAMPLE)
    n = SAMPLE.size
    u = np.concatenate([np.arange(n + 1) / n, np.linspace(0, 1, 1001), U])
    np.testing.assert_array_equal(d.ppf(u), np.quantile(SAMPLE, u, method="inverted_cdf"))
    # its CDF is the sample's step function; its moments the sample's (divisor n)
    x = np.sort(SAMPLE)
    np.testing.assert_array_equal(d.cdf(x), [np.mean(v >= SAMPLE) for v in x])
    assert d.mean() == pytest.approx(SAMPLE.mean()) and d.sd() == pytest.approx(SAMPLE.std())


def test_kde_matches_scipys_gaussian_kde_and_keeps_the_data_mean():
    d = empirical(SAMPLE, kde=True)
    h = d.p["bandwidth"]
    # Silverman (1986) eq. 3.31: 0.9 min(s, IQR / 1.34) n^(-1/5)
    q75, q25 = np.percentile(SAMPLE, [75, 25])
    assert h == pytest.approx(0.9 * min(SAMPLE.std(ddof=1), (q75 - q25) / 1.34) * SAMPLE.size**-0.2)
    # truth: scipy's KDE with the same bandwidth (its factor multiplies the sample sd)
    ref = stats.gaussian_kde(SAMPLE, bw_method=h / SAMPLE.std(ddof=1))
    x = np.linspace(0.5, 4.5, 81)
    np.testing.assert_allclose(
        d.cdf(x), [ref.integrate_box_1d(-np.inf, v) for v in x], rtol=0, atol=1e-9
    )
    u = np.concatenate([U, np.linspace(1e-6, 1 - 1e-6, 41)])
    got = [ref.integrate_box_1d(-np.inf, v) for v in d.ppf(u)]
    np.testing.assert_allclose(got, u, rtol=0, atol=1e-9)
    # a KDE's mean is the data mean; its variance the data's (divisor n) plus h^2
    m, s = _quad_mean_and_sd(d.ppf)
    assert m == pytest.approx(SAMPLE.mean(), rel=1e-8)
    assert d.mean() == pytest.approx(SAMPLE.mean(), rel=1e-12)
    assert s == pytest.approx(math.sqrt(SAMPLE.var() + h**2), rel=1e-6)


def test_silverman_needs_a_spread():
    with pytest.raises(DistSpecError, match="two different values"):
        silverman_bandwidth([1.0, 1.0, 1.0])


def test_empirical_spec_needs_values_from_the_loader():
    with pytest.raises(DistSpecError, match="not read"):
        make_distribution({"dist": "empirical", "data": "prices.csv"})


# ---------------------------------------------------------------- through the loader
PRICE = """  price_per_gpu_hour:
    dist: lognormal
    p05: 1.5
    p95: 3.5
    unit: USD/GPU-hour
    hypothetical: test
"""
CAPEX = """  capex_per_mw:
    dist: uniform
    low: 30M
    high: 40M
    unit: USD/MW
    hypothetical: test
"""
ROWS = """# test prices (not real data)
value,unit,source_title,publisher,published,address,quote,confidence,fact_id
2.10,USD/GPU-hour,H100 rental prices (test),capex tests,2025-03,https://example.org/h100,"$2.10",secondary,h100-a
2.40,USD/GPU-hour,H100 rental prices (test),capex tests,2025-03,https://example.org/h100,"$2.40",secondary,h100-b
1.95,USD/GPU-hour,Other prices (test),capex tests,2025-04,https://example.org/other,"$1.95",secondary,
3.05,USD/GPU-hour,Other prices (test),capex tests,2025-04,https://example.org/other,"$3.05",secondary,
"""


def _write(tmp_path: Path, old: str, block: str, rows: str = ROWS) -> Path:
    text = VALID.read_text()
    assert old in text
    (tmp_path / "prices.csv").write_text(rows)
    path = tmp_path / "f.yaml"
    path.write_text(text.replace(old, block))
    return path


def _block(name: str, lines: str, unit: str, provenance: str = "hypothetical: test") -> str:
    body = "".join(f"    {ln}\n" for ln in lines.strip().splitlines())
    return f"  {name}:\n{body}    unit: {unit}\n    {provenance}\n"


LOADED = {
    # family: (YAML lines in USD M/MW, the same distribution in canonical USD/MW)
    "gamma": ("dist: gamma\nshape: 9\nscale: 4", {"dist": "gamma", "shape": 9, "scale": 4e6}),
    "student_t": (
        "dist: student_t\nlocation: 35\nscale: 2\ndf: 5\nmin: 0",
        {"dist": "student_t", "location": 35e6, "scale": 2e6, "df": 5, "min": 0},
    ),
    "loguniform": (
        "dist: loguniform\nlow: 30\nhigh: 40",
        {"dist": "loguniform", "low": 30e6, "high": 40e6},
    ),
    "metalog": (
        "dist: metalog\np10: 30\np50: 35\np90: 42\nlower: 20",
        {"dist": "metalog", "p10": 30e6, "p50": 35e6, "p90": 42e6, "lower": 20e6},
    ),
    "mixture": (
        "dist: mixture\nweights: [0.6, 0.4]\ncomponents:\n  - {dist: lognormal, median: 33, sigma: 0.1}\n  - {dist: pert, low: 35, mode: 40, high: 50}",
        {
            "dist": "mixture",
            "weights": [0.6, 0.4],
            "components": [
                {"dist": "lognormal", "median": 33e6, "sigma": 0.1},
                {"dist": "pert", "low": 35e6, "mode": 40e6, "high": 50e6},
            ],
        },
    ),
}


@pytest.mark.parametrize("family", list(LOADED))
def test_each_family_loads_and_scale_converts_only_unit_quantities(tmp_path, family):
    lines, canonical = LOADED[family]
    path = _write(tmp_path, CAPEX, _block("capex_per_mw", lines, "USD M/MW"))
    d = load_scenario(path).parameters["capex_per_mw"].dist
    assert d.family == family
    # 'USD M/MW' multiplies locations, scales, quantiles and bounds by 1e6, not shapes/weights
    u = np.linspace(0.01, 0.99, 21)
    np.testing.assert_allclose(d.ppf(u), make_distribution(canonical).ppf(u), rtol=1e-12)


def test_empirical_parameter_is_sourced_by_its_rows(tmp_path):
    path = _write(
        tmp_path,
        PRICE,
        _block("price_per_gpu_hour", "dist: empirical\ndata: prices.csv", "USD/GPU-hour", ""),
    )
    sc = load_scenario(path)
    p = sc.parameters["price_per_gpu_hour"]
    values = [2.10, 2.40, 1.95, 3.05]
    u = np.linspace(0, 1, 41)
    np.testing.assert_array_equal(p.dist.ppf(u), np.quantile(values, u, method="inverted_cdf"))
    assert not p.provenance.is_hypothetical
    assert [s.key for s in p.provenance.sources] == [
        "h100-a",
        "h100-b",
        "https://example.org/other",
    ]
    assert p.provenance.sources[0].line == 3  # the row's line in the data file
    assert sc.provenance_counts()["sourced"] == 2


def test_empirical_kde_through_the_loader(tmp_path):
    block = _block(
        "price_per_gpu_hour",
        "dist: empirical\ndata: prices.csv\ncolumn: value\nkde: true",
        "USD/GPU-hour",
    )
    d = load_scenario(_write(tmp_path, PRICE, block)).parameters["price_per_gpu_hour"].dist
    assert d.mean() == pytest.approx(np.mean([2.10, 2.40, 1.95, 3.05]))
    assert d.p["bandwidth"] == pytest.approx(silverman_bandwidth([2.10, 2.40, 1.95, 3.05]))


ERROR_CASES = [
    # (YAML lines, unit, data rows, offset of the line from the parameter's, phrase)
    ("dist: metalog\np10: 1\np50: 10\np90: 11", "USD/GPU-hour", ROWS, 4, "no 3-term metalog"),
    ("dist: metalog\np10: 1\np90: 11", "USD/GPU-hour", ROWS, 2, "3 to 5 quantiles"),
    (
        "dist: metalog\np10: 1\np50: 2\np90: 3\nlower: 1.5",
        "USD/GPU-hour",
        ROWS,
        5,
        "strictly inside",
    ),
    (
        "dist: mixture\nweights: [0.5, 0.6]\ncomponents: [{dist: normal, mean: 2, sd: 0.1}, {dist: normal, mean: 3, sd: 0.1}]",
        "USD/GPU-hour",
        ROWS,
        2,
        "sum to 1",
    ),
    ("dist: gamma\nshape: 2\nscale: -1", "USD/GPU-hour", ROWS, 3, "scale must be > 0"),
    ("dist: empirical\ndata: missing.csv", "USD/GPU-hour", ROWS, 2, "file not found"),
    (
        "dist: empirical\ndata: prices.csv",
        "USD/GPU-hour",
        ROWS.replace("USD/GPU-hour", "USD/MWh"),
        3,
        "are in USD/MWh",
    ),
    (
        "dist: empirical\ndata: prices.csv\nkde: maybe",
        "USD/GPU-hour",
        ROWS,
        3,
        "kde: true or kde: false",
    ),
]


@pytest.mark.parametrize(
    "lines,unit,rows,offset,phrase", ERROR_CASES, ids=[c[4] for c in ERROR_CASES]
)
def test_bad_new_family_is_one_located_error(tmp_path, lines, unit, rows, offset, phrase):
    path = _write(tmp_path, PRICE, _block("price_per_gpu_hour", lines, unit), rows)
    first = VALID.read_text().splitlines().index("  price_per_gpu_hour:") + 1
    with pytest.raises(AssumptionError) as info:
        load_scenario(path)
    problems = info.value.problems
    assert len(problems) == 1, [str(p) for p in problems]
    p = problems[0]
    assert phrase in p.message and p.parameter == "price_per_gpu_hour"
    assert p.file.endswith("f.yaml") and p.line == first + offset, str(p)


def test_the_data_file_reports_its_own_rows(tmp_path):
    bad = ROWS.replace("2.40,USD/GPU-hour", "2.40,furlongs")
    path = _write(
        tmp_path,
        PRICE,
        _block("price_per_gpu_hour", "dist: empirical\ndata: prices.csv", "USD/GPU-hour", ""),
        bad,
    )
    with pytest.raises(AssumptionError) as info:
        load_scenario(path)
    problems = info.value.problems
    assert len(problems) == 1 and problems[0].file.endswith("prices.csv") and problems[0].line == 4


def test_a_series_point_cannot_be_empirical(tmp_path):
    block = "  price_per_gpu_hour:\n    values:\n      2025: {dist: empirical, data: prices.csv}\n    unit: USD/GPU-hour\n    hypothetical: test\n"
    with pytest.raises(AssumptionError, match="only a whole parameter can be empirical"):
        load_scenario(_write(tmp_path, PRICE, block))


def test_loading_new_families_imports_no_heavy_library(tmp_path):
    lines = "dist: mixture\nweights: [0.5, 0.5]\ncomponents:\n  - {dist: gamma, p05: 30, p95: 40}\n  - {dist: metalog, p10: 30, p50: 33, p90: 40, lower: 0}"
    path = _write(tmp_path, CAPEX, _block("capex_per_mw", lines, "USD M/MW"))
    code = (
        "import sys\nfrom model import load_scenario\n"
        f"sc = load_scenario({str(path)!r})\nsc.parameters['capex_per_mw'].dist.ppf([0.5])\n"
        "print(','.join(m for m in ('scipy.stats', 'scipy.optimize', 'pandas') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""
