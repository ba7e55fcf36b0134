"""Calibration: observation and priors files, models, diagnostics, cache.

Fast tests check the loaders and the quadrature. Tests marked ``slow`` sample with PyMC (small,
seeded): recovery of known parameters for every model, the diagnostics gate on a deliberately
non-identified model, the cache, the predictive draws and the LOO comparison.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy.integrate import quad

from model.calibration import curves
from model.calibration import fitting as C
from model.calibration.posterior import CalibrationWarning
from model.core.errors import AssumptionError, CalibrationError, ObservationError
from model.loading.observations import COLUMNS, decimal_year, load_observations
from model.loading.priors import load_priors
from model.reporting import calibration_section


@pytest.fixture(autouse=True)
def _mirror_is_a_known_model(monkeypatch):
    """The simulated priors file has a block for the deliberately non-identified test model
    ``_mirror`` (registered in ``curves.MODELS`` by its test); the priors loader refuses model
    names it does not know, so the test model is known to it in this module."""
    from model.core import vocabulary

    monkeypatch.setitem(vocabulary.CALIBRATION_MODELS, "_mirror", "USD/year")


ROOT = Path(__file__).resolve().parent.parent
OBS_DIR = ROOT / "assumptions" / "observations"
SHIPPED = ["anthropic_revenue.csv", "openai_revenue.csv", "h100_rental_price.csv"]
HEADER = ",".join(COLUMNS) + ",note"
SRC = (
    "Simulated series,capex tests,2026-01-01,https://example.org/simulated,"
    "simulated from known parameters,derived,,"
)


def _row(date, value, unit="USD/year", measure="run_rate", kind="observation"):
    return f"{date},{value},{unit},{measure},{kind},{SRC}"


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


# ============================================================================================
# shipped files


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_observations_load_with_sources(name):
    df = load_observations(OBS_DIR / name)
    assert (df["kind"] == "observation").sum() >= 3
    # every row carries its own source; fact_id links it to sources/facts.csv where it is there
    for col in ("source_title", "publisher", "published", "address", "quote"):
        assert (df[col].str.len() > 0).all(), col
    assert df["address"].str.match(r"^https?://").all()
    assert df.attrs["unit"] in ("USD/year", "USD/GPU-hour")
    # projections are kept apart and are never run-rates in disguise
    assert set(df["kind"]) <= {"observation", "projection"}


def test_shipped_fact_ids_exist_in_the_shipped_facts():
    """Every fact id an observation file or a rationale names is in assumptions/sources/
    facts.csv (shipped), and agrees with the project's research table where that sits next to
    the repository (../shared/facts.csv, read relative to the repository, never an absolute
    path)."""
    import re

    import pandas as pd

    assumptions = OBS_DIR.parent
    shipped = pd.read_csv(assumptions / "sources" / "facts.csv").set_index("id")
    for name in SHIPPED:
        df = load_observations(OBS_DIR / name)
        assert set(df["fact_id"]) - {""} <= set(shipped.index), name
    named = set()
    for f in [*assumptions.glob("*.yaml"), *(assumptions / "buildout").glob("*.yaml")]:
        for chunk in re.findall(r"sources/facts\.csv(?: rows?)? ([^)\n\"]+)", f.read_text()):
            named |= {t.strip(" ,;.") for t in re.split(r"[ ,;]+", chunk) if re.search(r"\d", t)}
    named = {n for n in named if re.fullmatch(r"[a-z0-9][a-z0-9._-]*[a-z0-9]", n)}
    assert named and named <= set(shipped.index), sorted(named - set(shipped.index))
    research = assumptions.parent.parent / "shared" / "facts.csv"
    if research.is_file():
        table = pd.read_csv(research).set_index("id")
        for fid, row in shipped.iterrows():
            assert table.loc[fid, "address"] == row["address"], fid


def test_anthropic_target_is_a_projection():
    df = load_observations(OBS_DIR / "anthropic_revenue.csv")
    row = df[(df["year"] == 2028) & (df["measure"] == "calendar_year")]
    assert len(row) == 1
    assert row["kind"].item() == "projection"
    assert row["value"].item() == pytest.approx(70e9)


def test_shipped_priors_cover_every_model_with_provenance():
    priors = load_priors(OBS_DIR / "priors.yaml")
    for name, spec in curves.MODELS.items():
        mp = C._resolve_priors(spec, priors, "priors.yaml", spec.dimension)
        for p in mp.params.values():
            assert (p.source is None) != (p.hypothetical is None), (name, p.name)
        assert mp.reference_date == pytest.approx(2026.0)


# ============================================================================================
# loader validation


def test_row_without_source_is_an_error_with_its_line(tmp_path):
    f = _write(
        tmp_path / "s.csv",
        [
            _row("2024-12-31", "1B"),
            "2025-12-31,2B,USD/year,run_rate,observation,,,,,,secondary,,",
        ],
    )
    with pytest.raises(ObservationError) as ei:
        load_observations(f)
    lines = {p.line for p in ei.value.problems}
    assert lines == {3}
    text = str(ei.value)
    assert "s.csv:3" in text and "source_title is empty" in text and "address" in text


def test_all_problems_reported_at_once(tmp_path):
    f = _write(
        tmp_path / "s.csv",
        [
            _row("2024-13-40", "1B"),
            _row("2025-06-30", "-2B"),
            _row("2025-06-30", "2B", unit="GW"),
            _row("2025-06-30", "2B", measure="annual"),
            _row("25-06-30", "2B", kind="forecast"),
            _row("2025-06-30", "2", unit="USD/GPU-hour"),
        ],
    )
    with pytest.raises(ObservationError) as ei:
        load_observations(f)
    by_line = {}
    for p in ei.value.problems:
        by_line.setdefault(p.line, []).append(p.parameter)
    assert sorted(by_line) == [2, 3, 4, 5, 6, 7]
    assert "date" in by_line[2] and "value" in by_line[3] and "unit" in by_line[4]
    assert "measure" in by_line[5] and {"date", "kind"} <= set(by_line[6])
    assert "unit" in by_line[7]  # run_rate needs USD/year
    assert all(";" in p.message for p in ei.value.problems)  # what is wrong; how to fix


def test_calendar_year_rows_give_the_year_and_units_convert(tmp_path):
    f = _write(
        tmp_path / "s.csv",
        [
            _row("2024-12-31", "1.5", unit="USD bn/year"),
            _row("2025", "4.7B", measure="calendar_year", kind="projection"),
            "# a comment line",
            _row("2025-12-31", "9.5e9"),
        ],
    )
    df = load_observations(f)
    assert list(df["value"]) == [1.5e9, 4.7e9, 9.5e9]
    assert list(df["line"]) == [2, 3, 5]
    assert df.loc[1, "year"] == 2025 and df.loc[1, "t"] == 2025.0
    assert df.loc[2, "t"] == pytest.approx(2026.0, abs=0.01)
    bad = _write(tmp_path / "b.csv", [_row("2025-06-30", "4.7B", measure="calendar_year")])
    with pytest.raises(ObservationError, match="year only"):
        load_observations(bad)


def test_missing_columns_and_mixed_units(tmp_path):
    f = tmp_path / "m.csv"
    f.write_text("date,value,unit\n2024-12-31,1B,USD/year\n")
    with pytest.raises(ObservationError, match="missing column"):
        load_observations(f)
    g = _write(
        tmp_path / "g.csv",
        [_row("2024-12-31", "1B"), _row("2024-12-31", "2", unit="USD/GPU-hour", measure="price")],
    )
    with pytest.raises(ObservationError, match="units mix"):
        load_observations(g)


PRIOR_OK = """\
models:
  exp_decline:
    reference_date: 2026-01-01
    level: {distribution: lognormal, median: 2.5, sigma: 1, unit: USD/GPU-hour,
            hypothetical: weak}
    decline:
      distribution: normal
      mu: 0.28
      sigma: 0.3
      unit: 1/year
      source: {title: T, publisher: P, published: 2022, url: "https://example.org/x"}
    noise: {distribution: lognormal, median: 0.3, sigma: 0.5, unit: log, hypothetical: spread}
"""


def test_priors_need_exactly_one_provenance(tmp_path):
    ok = tmp_path / "ok.yaml"
    ok.write_text(PRIOR_OK)
    pr = load_priors(ok)["exp_decline"]
    assert pr.params["decline"].source["url"] == "https://example.org/x"
    assert pr.params["level"].hypothetical == "weak"

    both = PRIOR_OK.replace("unit: 1/year\n", "unit: 1/year\n      hypothetical: also\n")
    neither = PRIOR_OK.replace(", hypothetical: spread}", "}")
    empty = PRIOR_OK.replace("hypothetical: weak", "hypothetical: ''")
    nourl = PRIOR_OK.replace(', url: "https://example.org/x"', "")
    for text, line, words in [
        (both, 6, "exactly one"),
        (neither, 12, "no provenance"),
        (empty, 5, "empty"),
        (nourl, 11, "source.url"),
    ]:
        f = tmp_path / "p.yaml"
        f.write_text(text)
        with pytest.raises(ObservationError) as ei:
            load_priors(f)
        assert [p.line for p in ei.value.problems] == [line], str(ei.value)
        assert words in str(ei.value)


def test_priors_are_checked_against_the_model(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text(PRIOR_OK.replace("unit: 1/year", "unit: share"))
    with pytest.raises(ObservationError, match="does not fit decline"):
        load_priors(f)  # checked as the file is read (capex validate), not only when fitting
    f.write_text(PRIOR_OK)
    priors = load_priors(f)
    with pytest.raises(ObservationError, match="no priors for model 'logistic'"):
        C._resolve_priors(curves.MODELS["logistic"], priors, str(f), "USD/year")


def test_fit_rejects_unknown_model_and_wrong_unit_before_sampling():
    with pytest.raises(AssumptionError, match="unknown calibration model"):
        C.fit(OBS_DIR / "anthropic_revenue.csv", "linear")
    with pytest.raises(ObservationError, match="use model exp_decline"):
        C.fit(OBS_DIR / "h100_rental_price.csv", "logistic")
    assert curves.models_for("USD/GPU-hour") == ["exp_decline"]


# ============================================================================================
# run-rate versus calendar year


def test_calendar_year_is_the_integral_of_the_run_rate():
    # exponential run-rate: revenue of year Y = R(Y) (e^g - 1) / g
    p = {"log_level": np.array(math.log(1e9)), "growth": np.array(2.0)}
    times, logw = curves.design(["calendar_year", "run_rate"], np.array([2025.0, 2025.0]))
    lc = curves.MODELS["exponential"].log_curve(np, p, times - 2025.0)
    got = np.exp(curves.logsumexp(lc + logw, axis=1))
    assert got[0] == pytest.approx(1e9 * (math.exp(2.0) - 1) / 2.0, rel=1e-9)
    assert got[1] == pytest.approx(1e9, rel=1e-12)


@pytest.mark.parametrize("name", ["logistic", "gompertz", "decaying_growth"])
def test_curves_have_level_and_growth_at_the_reference_date(name):
    p = {
        "log_level": np.array(math.log(5e9)),
        "growth": np.array(0.9),
        "headroom": np.array(1.7),
        "growth_decay": np.array(0.6),
        "long_run_growth": np.array(0.1),
    }
    f = curves.MODELS[name].log_curve
    h = 1e-6
    assert f(np, p, np.array(0.0)) == pytest.approx(math.log(5e9))
    slope = (f(np, p, np.array(h)) - f(np, p, np.array(-h))) / (2 * h)
    assert slope == pytest.approx(0.9, rel=1e-5)


# ============================================================================================
# PyMC: recovery, diagnostics gate, cache, predictions

REF = 2026.0
TRUTH = {
    "exponential": {"log_level": math.log(10e9), "growth": 0.8, "noise": 0.05},
    "logistic": {"log_level": math.log(10e9), "growth": 0.8, "headroom": 1.5, "noise": 0.05},
    "gompertz": {"log_level": math.log(10e9), "growth": 0.8, "headroom": 2.0, "noise": 0.05},
    "decaying_growth": {
        "log_level": math.log(10e9),
        "growth": 1.0,
        "growth_decay": 0.5,
        "long_run_growth": 0.15,
        "noise": 0.05,
    },
    "exp_decline": {"log_level": math.log(2.5), "decline": 0.3, "noise": 0.1},
}


def _true_curve(name: str, t: float) -> float:
    """The curves written out independently of model.calibration [series unit]."""
    p = TRUTH[name]
    r0, dt = math.exp(p["log_level"]), t - REF
    if name == "exponential":
        return r0 * math.exp(p["growth"] * dt)
    if name == "logistic":
        cap = r0 * math.exp(p["headroom"])
        r = p["growth"] / (1 - r0 / cap)
        return cap / (1 + (cap / r0 - 1) * math.exp(-r * dt))
    if name == "gompertz":
        h = p["headroom"]
        return r0 * math.exp(h * (1 - math.exp(-p["growth"] * dt / h)))
    if name == "decaying_growth":
        c, gi = p["growth_decay"], p["long_run_growth"]
        return r0 * math.exp(gi * dt + (p["growth"] - gi) * (1 - math.exp(-c * dt)) / c)
    return r0 * math.exp(-p["decline"] * dt)


TEST_PRIORS = """\
models:
  exponential:
    reference_date: 2026-01-01
    level: &level {distribution: lognormal, median: 5B, sigma: 3, unit: USD/year,
                   hypothetical: broad test prior}
    growth: &growth {distribution: lognormal, median: 0.7, sigma: 1, unit: 1/year,
                     hypothetical: broad test prior}
    noise: &noise {distribution: lognormal, median: 0.1, sigma: 1, unit: log,
                   hypothetical: broad test prior}
  logistic: &capped
    reference_date: 2026-01-01
    level: *level
    growth: *growth
    headroom: {distribution: lognormal, median: 2, sigma: 1, unit: log-ratio,
               hypothetical: broad test prior}
    noise: *noise
  gompertz: *capped
  decaying_growth:
    reference_date: 2026-01-01
    level: *level
    growth: *growth
    growth_decay: {distribution: lognormal, median: 0.5, sigma: 1, unit: 1/year,
                   hypothetical: broad test prior}
    long_run_growth: {distribution: normal, mu: 0.1, sigma: 0.3, unit: 1/year,
                      hypothetical: broad test prior}
    noise: *noise
  exp_decline:
    reference_date: 2026-01-01
    level: {distribution: lognormal, median: 2, sigma: 2, unit: USD/GPU-hour,
            hypothetical: broad test prior}
    decline: {distribution: normal, mu: 0, sigma: 1, unit: 1/year,
              hypothetical: broad test prior}
    noise: *noise
  _mirror:
    reference_date: 2026-01-01
    level: *level
    growth: {distribution: normal, mu: 0, sigma: 2, unit: 1/year,
             hypothetical: sign of growth deliberately not identified}
    noise: *noise
"""

# Small runs keep the file fast. 2 x 250 draws give R-hat about +-0.01 of sampling noise, so
# recovery tests gate on divergences and a loose R-hat; the strict gate is tested on a model that
# is really broken.
FAST = dict(draws=250, tune=300, chains=2, cores=1, seed=3)


@pytest.fixture(scope="module")
def sim_dir(tmp_path_factory):
    """Simulated observation files (one per model) and a broad priors file."""
    d = tmp_path_factory.mktemp("sim")
    (d / "priors.yaml").write_text(TEST_PRIORS)
    rng = np.random.default_rng(20260101)
    for name in TRUTH:
        noise = TRUTH[name]["noise"]
        price = name == "exp_decline"
        lines = []
        for t in np.arange(2021.0, 2033.0, 0.75):
            date = f"{int(t)}-{1 + int(round((t % 1) * 12)):02d}-01"
            tt = decimal_year(dt.date.fromisoformat(date))
            v = _true_curve(name, tt) * math.exp(noise * rng.standard_normal())
            lines.append(
                _row(
                    date,
                    f"{v:.6g}",
                    unit="USD/GPU-hour" if price else "USD/year",
                    measure="price" if price else "run_rate",
                )
            )
        if not price:  # calendar-year revenue: integral of the run-rate over the year
            for y in (2021, 2024, 2027):
                v = quad(lambda s, name=name: _true_curve(name, s), y, y + 1)[0]
                v *= math.exp(noise * rng.standard_normal())
                lines.append(_row(str(y), f"{v:.6g}", measure="calendar_year"))
            lines.append(_row("2030", "1T", measure="calendar_year", kind="projection"))
        _write(d / f"{name}.csv", lines)
    return d


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::model.calibration.posterior.CalibrationWarning")
@pytest.mark.parametrize("name", list(TRUTH))
def test_recovery_truth_inside_94_hdi(name, sim_dir):
    cal = C.fit(sim_dir / f"{name}.csv", name, cache_dir=sim_dir / "cache", **FAST)
    d = cal.diagnostics
    assert d["divergences"] == 0 and d["max_rhat"] < 1.05, d["messages"]
    s = cal.summary(prob=0.94)
    for param, truth in TRUTH[name].items():
        lo, hi = s.loc[param, "hdi_low"], s.loc[param, "hdi_high"]
        assert lo <= truth <= hi, f"{name}.{param}: {truth} not in [{lo}, {hi}]"


@pytest.mark.slow
def test_nonidentified_model_is_flagged(sim_dir, monkeypatch):
    # growth enters squared: +g and -g fit equally well; chains started on either side stay
    spec = curves.ModelSpec(
        "_mirror",
        "USD/year",
        (curves._level("USD/year"), curves._GROWTH, curves._NOISE),
        lambda xp, p, dt: p["log_level"] + p["growth"] ** 2 * dt,
        "deliberately non-identified (sign of growth)",
        initvals=lambda chains: [{"growth": (1.0 if i % 2 == 0 else -1.0)} for i in range(chains)],
    )
    monkeypatch.setitem(curves.MODELS, "_mirror", spec)
    kw = dict(draws=150, tune=150, chains=2, cores=1, seed=1, cache_dir=sim_dir / "cache")
    with pytest.warns(CalibrationWarning, match="R-hat"):
        cal = C.fit(sim_dir / "exponential.csv", "_mirror", **kw)
    d = cal.diagnostics
    assert not d["ok"] and d["max_rhat"] > 1.5
    assert any("growth" in m for m in d["messages"])
    with pytest.warns(CalibrationWarning, match="although it failed"):
        cal.predictive_series([2027], n=10, seed=0)  # never silently used
    with pytest.raises(CalibrationError, match="failed its diagnostics"):
        C.fit(sim_dir / "exponential.csv", "_mirror", strict=True, **kw)  # from the cache


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::model.calibration.posterior.CalibrationWarning")
def test_cache_predictions_and_export(sim_dir, tmp_path):
    path = sim_dir / "exp_decline.csv"
    first = C.fit(path, "exp_decline", cache_dir=sim_dir / "cache", **FAST)
    assert C.fit(path, "exp_decline", cache_dir=sim_dir / "cache", **FAST) is first  # memory
    C._MEMO.clear()
    again = C.fit(path, "exp_decline", cache_dir=sim_dir / "cache", **FAST)  # disk
    assert again.from_cache and again.key == first.key and again is not first
    assert again.cache_path.exists() and again.cache_path.suffix == ".nc"
    np.testing.assert_allclose(again.summary()["mean"], first.summary()["mean"])
    # a different prior or different settings make a different key
    other = dict(FAST, seed=4)
    assert C._cache_key(path.read_bytes(), first.spec, first.priors, other) != first.key

    a = again.predictive_series([2026, 2027, 2028], n=500, seed=7)
    b = again.predictive_series([2026, 2027, 2028], n=500, seed=7)
    c = again.predictive_series([2026, 2027, 2028], n=500, seed=8)
    assert a.shape == (500, 3) and (a > 0).all()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # the annual average price declines with the true rate (about 26 % a year)
    med = np.median(again.predictive_series([2026, 2028], n=4000, seed=1, noise=False), axis=0)
    assert med[1] / med[0] == pytest.approx(math.exp(-2 * 0.3), rel=0.15)
    p = again.prob_at_least(2030, 1.0)
    assert 0.0 <= p <= 1.0

    d = again.to_json_dict()
    json.dumps(d)
    assert d["model"] == "exp_decline" and d["diagnostics"]["divergences"] == 0
    assert {"max_rhat", "min_ess_bulk", "min_ess_tail", "ok", "messages"} <= set(d["diagnostics"])

    import matplotlib

    matplotlib.use("Agg")
    from model.reporting.calibration_figures import save_figures

    figs = save_figures(again, tmp_path / "figures", years=[2026, 2027, 2028])
    assert all(Path(f).stat().st_size > 1000 for f in figs.values())


@pytest.mark.slow
def test_compare_favours_the_decelerating_truth(sim_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalibrationWarning)
        # 2 x 1,000 draws: with fewer, the Pareto k threshold min(1 - 1/log10(S), 0.7) is
        # below 0.65 and the ranking is (rightly) called unreliable
        df = C.compare(
            sim_dir / "logistic.csv",
            ["exponential", "logistic"],
            cache_dir=sim_dir / "cache",
            **{**FAST, "draws": 1000},
        )
    assert df.attrs["reliable"], df.attrs["unreliable_because"]
    assert df.attrs["favoured"] == "logistic"
    assert {"elpd", "p", "elpd_diff", "weight", "se", "dse", "max_pareto_k"} <= set(df.columns)
    assert df.loc["logistic", "favoured"]
    # the projection of the simulated logistic file (1T in 2030) is far above its cap
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalibrationWarning)
        cal = C.fit(sim_dir / "logistic.csv", "logistic", cache_dir=sim_dir / "cache", **FAST)
    tg = cal.targets()
    assert len(tg) == 1 and tg.loc[0, "prob_at_least"] < 0.01


@pytest.mark.slow
def test_report_section_hook(sim_dir, monkeypatch, tmp_path):
    from types import SimpleNamespace

    from model.reporting.figures import Figure

    monkeypatch.setenv("CAPEX_CACHE_DIR", str(tmp_path))
    param = SimpleNamespace(
        name="revenue_path",
        calibrated={
            "observations": sim_dir / "logistic.csv",
            "model": "logistic",
            "priors": sim_dir / "priors.yaml",
            "draws": FAST["draws"],
            "tune": FAST["tune"],
            "chains": FAST["chains"],
        },
    )
    scenario = SimpleNamespace(years=np.arange(2026, 2031))
    sec = calibration_section.report_section(
        param, scenario, seed=FAST["seed"]
    )  # re-uses the fit in memory
    assert sec["title"] == "Calibration of revenue_path"
    assert any("P(at least this)" in p for p in sec["paragraphs"])
    assert len(sec["figures"]) == 2 and all(isinstance(f, Figure) for f in sec["figures"])
    import matplotlib.pyplot as plt

    for f in sec["figures"]:
        plt.close(f.fig)
