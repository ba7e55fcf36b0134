"""Models that respect what the capacity can earn, calibrations that say what the data taught,
and sources a reader can follow (issue "Models that respect what the capacity can earn").

Truth: the capacity bound by hand (MW online x GPUs per MW x 8,760 h x the bound), curve
parameters known because the observations are simulated from them, the ranking rule's own
thresholds, and the address rules of model.core.provenance.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

from model.calibration import fitting as C
from model.calibration.posterior import SET_BY_PRIOR, CalibrationWarning
from model.core.provenance import address_problems
from model.engine.simulate import simulate
from model.loading.observations import load_observations
from model.loading.paths import expand_paths
from model.loading.portfolio import is_portfolio_file, load_portfolio
from model.loading.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
ASSUMPTIONS = ROOT / "assumptions"
HOURS = 8760.0

TOP_DOWN = """\
schema: 1
name: top-down-capped
title: A revenue path far beyond what the capacity can earn (test)
model: programme
years: {start: 2025, end: 2030}
parameters:
  capex_total: {value: 1000000000, unit: USD, hypothetical: t}
  capex_schedule: {values: {2025: 1.0}, unit: share, hypothetical: t}
  lead_time: {value: 1, unit: years, hypothetical: t}
  capex_per_mw: {dist: uniform, low: 30000000, high: 50000000, unit: USD/MW, hypothetical: t}
  compute_share: {value: 0.6, unit: share, hypothetical: t}
  compute_life: {value: 5, unit: years, hypothetical: t}
  facility_life: {value: 20, unit: years, hypothetical: t}
  revenue_model: company_share
  gpus_per_mw: {dist: uniform, low: 450, high: 750, unit: GPU/MW, hypothetical: t}
  revenue_path: {value: 1000000000000, unit: USD/year, hypothetical: t}
  attributable_share: {value: 0.5, unit: share, hypothetical: t}
  max_revenue_per_gpu_hour: {dist: uniform, low: 5, high: 50, unit: USD/GPU-hour,
                             hypothetical: t}
  pue: {value: 1.2, unit: ratio, hypothetical: t}
  power_load_factor: {value: 0.8, unit: share, hypothetical: t}
  power_price: {value: 60, unit: USD/MWh, hypothetical: t}
  fixed_opex_share: {value: 0.02, unit: 1/year, hypothetical: t}
  cost_of_revenue_share: {value: 0.1, unit: share, hypothetical: t}
  tax_rate: {value: 0.21, unit: share, hypothetical: t}
  discount_rate: {value: 0.1, unit: 1/year, hypothetical: t}
"""


# ============================================================================ 1. the bound
def test_a_revenue_path_beyond_the_capacity_earns_exactly_capacity_times_the_bound(tmp_path):
    path = tmp_path / "top.yaml"
    path.write_text(TOP_DOWN)
    res = simulate(load_scenario(path), draws=2_000, seed=1, series_draws=2_000)
    mw = res.series_values("capacity_mw")
    gpus = res.inputs["gpus_per_mw"][:, None]
    bound = res.inputs["max_revenue_per_gpu_hour"][:, None]
    # by hand: every available GPU-hour earns the bound, no more ($500B/year is far beyond)
    np.testing.assert_allclose(res.series_values("revenue"), mw * gpus * HOURS * bound, rtol=1e-12)
    cap = res.revenue_cap()
    assert cap["revenue_capped_share"] == 1.0 and cap["revenue_capped_draws_share"] == 1.0
    assert res.to_json_dict()["revenue_capped_share"] == 1.0


def test_a_revenue_path_within_the_capacity_is_not_capped(tmp_path):
    path = tmp_path / "small.yaml"
    path.write_text(
        TOP_DOWN.replace("value: 1000000000000, unit: USD/year", "value: 1000000, unit: USD/year")
    )
    res = simulate(load_scenario(path), draws=500, seed=1, series_draws=500)
    # years with capacity online earn the path; the year before online (no capacity) is capped at 0
    online = res.series_values("capacity_mw") > 0
    np.testing.assert_allclose(res.series_values("revenue")[online], 0.5e6, rtol=1e-12)
    assert 0 < res.revenue_cap()["revenue_capped_share"] < 0.5


def test_shipped_top_down_files_earn_within_their_bound_and_a_plausible_npv():
    for name in ("anthropic_topdown.yaml", "meta_600b.yaml"):
        sc = load_scenario(ASSUMPTIONS / name)
        res = simulate(sc, draws=4_000, seed=0, series_draws=4_000)
        mw = res.series_values("capacity_mw")
        gpus = np.reshape(
            res.inputs.get("gpus_per_mw", res.fixed_inputs.get("gpus_per_mw")), (-1, 1)
        )
        bound = np.reshape(
            res.inputs.get(
                "max_revenue_per_gpu_hour", res.fixed_inputs.get("max_revenue_per_gpu_hour")
            ),
            (-1, 1),
        )
        per_hour = res.series_values("revenue") / np.maximum(mw * gpus * HOURS, 1e-300)
        assert (per_hour[mw > 0] <= bound.repeat(mw.shape[1], 1)[mw > 0] * (1 + 1e-12)).all(), name
        npv = res.metric_summary("npv")
        spend = float(np.mean(res.metric("total_spend")))
        # a programme can lose its spend or earn a multiple of it, not 40x (round one: $2.27T mean
        # NPV for $50B)
        assert -1.5 * spend < npv["mean"] < 5 * spend, (name, npv["mean"], spend)


# ============================================================================ 2. every input in results.nc
def test_results_carry_every_numeric_input_with_or_without_the_draw_dimension(tmp_path):
    path = tmp_path / "top.yaml"
    path.write_text(TOP_DOWN)  # leaves capex_overrun, build_delay, ... to their defaults
    sc = load_scenario(path)
    ds = simulate(sc, draws=300, seed=0).ds
    numeric = [p for p in sc.parameters.values() if p.form != "switch"]
    for p in numeric:
        var = f"input_{p.name}"
        assert var in ds, var
        assert ("draw" in ds[var].dims) == p.is_uncertain, var
        assert ds[var].attrs["unit"] == p.spec.unit
    defaults = [p for p in numeric if p.default]
    assert defaults, "the test file should leave some inputs to their defaults"
    assert all(ds[f"input_{p.name}"].attrs["provenance"] == "default" for p in defaults)


# ============================================================================ 3. what the data taught
PRIORS = """\
models:
  logistic:
    reference_date: 2026-01-01
    level: {distribution: lognormal, median: 5B, sigma: 3, unit: USD/year, hypothetical: test}
    growth: {distribution: lognormal, median: 0.7, sigma: 1, unit: 1/year, hypothetical: test}
    headroom: {distribution: lognormal, median: 2, sigma: 0.5, unit: log-ratio, hypothetical: test}
    noise: {distribution: lognormal, median: 0.1, sigma: 1, unit: log, hypothetical: test}
"""
HEADER = (
    "date,value,unit,measure,kind,source_title,publisher,published,address,quote,confidence,"
    "fact_id,note"
)
SRC = "Simulated (test),capex tests,2026-01-01,https://example.org/test,simulated,direct,,"


def _observations(folder: Path, dates, values, kind="observation") -> Path:
    lines = [HEADER] + [
        f"{d},{v:.6g},USD/year,run_rate,{kind},{SRC}" for d, v in zip(dates, values)
    ]
    (folder / "priors.yaml").write_text(PRIORS)
    path = folder / "obs.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.slow
def test_set_by_prior_is_false_where_the_data_inform_and_true_where_they_cannot(tmp_path):
    # truth: exponential growth at 0.8 / year from $10B at the reference date, far below any
    # ceiling: the data pin the level and the growth, and say nothing about the headroom
    rng = np.random.default_rng(5)
    t = np.arange(2022.0, 2026.01, 0.5)
    dates = [f"{int(x)}-{1 + int(round((x % 1) * 12)):02d}-01" for x in t]
    values = 10e9 * np.exp(0.8 * (t - 2026.0)) * np.exp(0.03 * rng.standard_normal(t.size))
    obs = _observations(tmp_path, dates, values)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalibrationWarning)
        cal = C.fit(
            obs,
            "logistic",
            draws=400,
            tune=500,
            chains=2,
            cores=1,
            seed=2,
            cache_dir=tmp_path / "cache",
        )
    s = cal.summary()
    assert not s.loc["log_level", "set_by_prior"] and not s.loc["growth", "set_by_prior"]
    assert s.loc["headroom", "set_by_prior"]
    assert s.loc["headroom", "posterior_sd"] > SET_BY_PRIOR * s.loc["headroom", "prior_sd"]
    # the level is recovered: $10B at 2026-01-01 within the posterior's spread
    assert abs(s.loc["log_level", "mean"] - math.log(10e9)) < 4 * s.loc["log_level", "sd"] + 0.1
    d = cal.to_json_dict()
    assert d["summary"]["headroom"]["set_by_prior"] is True
    assert {"prior_sd", "posterior_sd", "set_by_prior"} <= set(d["summary"]["growth"])


@pytest.mark.slow
def test_a_ranking_of_three_points_is_unreliable_and_no_preference(tmp_path):
    obs = _observations(tmp_path, ["2023-12-31", "2024-12-31", "2025-12-31"], [0.1e9, 1e9, 9.5e9])
    priors = PRIORS + PRIORS.replace("models:\n  logistic:", "  exponential:").replace(
        "    headroom: {distribution: lognormal, median: 2, sigma: 0.5, unit: log-ratio, "
        "hypothetical: test}\n",
        "",
    )
    (tmp_path / "priors.yaml").write_text(priors)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalibrationWarning)
        df = C.compare(
            obs,
            ["exponential", "logistic"],
            draws=300,
            tune=400,
            chains=2,
            cores=1,
            seed=1,
            cache_dir=tmp_path / "cache",
        )
    assert df.attrs["reliable"] is False and df.attrs["favoured"] is None
    assert "3 fitted observations" in df.attrs["unreliable_because"]
    assert not df["favoured"].any()


@pytest.mark.slow
def test_company_plans_are_a_named_variant_next_to_the_data_only_fit(tmp_path):
    obs = _observations(tmp_path, ["2023-12-31", "2024-12-31", "2025-12-31"], [0.1e9, 1e9, 9.5e9])
    with obs.open("a") as fh:
        fh.write(f"2028-12-31,70e9,USD/year,run_rate,projection,{SRC}\n")
    kw = dict(draws=300, tune=400, chains=2, cores=1, seed=1, cache_dir=tmp_path / "cache")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalibrationWarning)
        data_only = C.fit(obs, "logistic", **kw)
        with_plan = C.fit(obs, "logistic", projection_sigma=0.3, **kw)
    assert data_only.variant == "data only"
    assert with_plan.variant == "data + projections (sigma 0.3)"

    # the plan pulls the 2028 run-rate towards $70B: the variant's median is closer to it
    def gap(cal):
        return abs(math.log(cal.targets().loc[0, "median"] / 70e9))

    assert gap(with_plan) < gap(data_only)


# ============================================================================ 7. sources
def test_address_rules():
    assert address_problems("https://www.theregister.com/2022/08/02/x/") == []
    assert address_problems("https://vuink.com/post/gurertvfgre-d-dpbz/x")
    assert address_problems("https://vuink.com/post/x", marked_mirror=True) == []
    assert address_problems("http://sibshop.uat.jiralog.com/ec2/capacityblocks/pricing")
    assert address_problems("https://www.statista.com/s/1/?__sso_cookie_checker=failed")
    assert address_problems("https://example.org/a?utm_source=x")
    assert address_problems("https://www.eia.gov/electricity/monthly/x.php?t=epmt_5_3") == []


def shipped_scenarios():
    """Every shipped assumption file (portfolio members under buildout/ too) as a scenario; a
    portfolio as its aggregate scenario (every member's inputs and sources)."""
    paths = [p for p, _ in expand_paths([str(ASSUMPTIONS)])]
    for path in paths + sorted((ASSUMPTIONS / "buildout").glob("*.yaml")):
        if is_portfolio_file(path):
            yield path, load_portfolio(path).as_scenario()
        else:
            yield path, load_scenario(path, allow_partial=True)


def test_every_shipped_source_has_title_publisher_date_and_a_followable_address():
    seen = 0
    for path, sc in shipped_scenarios():
        every = {**sc.sources, **{k: s for k, (s, _) in sc.cited_sources().items()}}
        for key, src in every.items():
            seen += 1
            assert src.title and src.publisher and src.published, (path.name, key)
            assert src.address.startswith("http"), (path.name, key)
            assert not src.address_problems(), (path.name, key, src.address_problems())
    assert seen > 50


def test_every_observation_row_has_a_followable_address():
    for f in sorted((ASSUMPTIONS / "observations").glob("*.csv")):
        df = load_observations(f)
        for row in df.itertuples():
            assert row.source_title and row.publisher and row.published, (f.name, row.line)
            assert row.address.startswith("http"), (f.name, row.line)
            problems = address_problems(row.address, marked_mirror=bool(row.mirror_of))
            assert not problems, (f.name, row.line, problems)


def test_no_rationale_points_outside_the_repository():
    shipped = list(ASSUMPTIONS.glob("*.yaml")) + list((ASSUMPTIONS / "buildout").glob("*.yaml"))
    for f in shipped + list((ASSUMPTIONS / "observations").glob("*")):
        text = f.read_text(encoding="utf-8")
        assert "/work/shared" not in text and "../shared" not in text, f.name
        # facts are cited from the shipped table
        for chunk in text.split("facts.csv")[:-1]:
            assert chunk.endswith("sources/"), f.name


def test_capex_sources_flags_a_weak_address(tmp_path):
    text = textwrap.dedent("""\
        schema: 1
        name: weak
        title: weak address (test)
        model: industry
        years: {start: 2025, end: 2026}
        sources:
          s:
            title: A page
            publisher: Someone
            published: 2025
            url: https://www.statista.com/statistics/1/?__sso_cookie_checker=failed
        parameters:
          accelerator_revenue: {value: 100B, unit: USD/year, source: s}
          dc_cost_multiplier: {value: 2, unit: ratio, hypothetical: t}
          end_user_gross_margin: {value: 0.5, unit: share, hypothetical: t}
          ai_revenue: {value: 100B, unit: USD/year, hypothetical: t}
        """)
    path = tmp_path / "weak.yaml"
    path.write_text(text)
    p = subprocess.run(
        [sys.executable, "-m", "model", "sources", str(path), "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert p.returncode == 0, p.stderr
    rows = json.loads(p.stdout)["sources"]
    assert rows[0]["address_problems"] and "cookie" in rows[0]["address_problems"][0]


def test_pareto_k_threshold_follows_the_sample_size():
    from types import SimpleNamespace

    from model.calibration.shim import pareto_k_threshold

    def idata(chains, draws):
        return SimpleNamespace(posterior=SimpleNamespace(sizes={"chain": chains, "draw": draws}))

    # min(1 - 1/log10(S), 0.7) by hand: S = 500 -> 1 - 1/2.699 = 0.6295; S >= 2,154 -> 0.7
    assert pareto_k_threshold(idata(2, 250)) == pytest.approx(1 - 1 / math.log10(500))
    assert pareto_k_threshold(idata(4, 2000)) == 0.7
