"""capex calibrate, and calibrated series inside a Monte Carlo run (PyMC: marked slow)."""

import json
from pathlib import Path

import numpy as np
import pytest

from model import load_scenario
from model.cli import main
from model.engine.simulate import simulate

ROOT = Path(__file__).resolve().parents[1]
OBS = ROOT / "assumptions" / "observations" / "anthropic_revenue.csv"
TOPDOWN = ROOT / "assumptions" / "anthropic_calibrated.yaml"
SMALL = ["--draws", "300", "--tune", "300", "--chains", "2"]


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CAPEX_CACHE_DIR", str(tmp_path / "cache"))


@pytest.mark.slow
def test_calibrate_csv_json_reports_targets_and_diagnostics(capsys):
    code = main(
        ["calibrate", str(OBS), "--model", "logistic", "--target", "2028:70B", "--json", *SMALL]
    )
    assert code == 0
    d = json.loads(capsys.readouterr().out)
    fit = d["fits"][0]
    assert fit["model"] == "logistic"
    assert {"max_rhat", "min_ess_bulk", "divergences", "ok"} <= set(fit["diagnostics"])
    # the 2028 projection of the file and the custom target are the same figure
    p_file = [t for t in fit["targets"] if t["date"] == "2028"][0]["prob_at_least"]
    p_custom = fit["custom_targets"][0]["probability"]
    assert 0.0 <= p_custom <= 1.0
    assert p_custom == pytest.approx(p_file, abs=0.05)


def test_calibrate_needs_a_calibrated_series(capsys):
    code = main(["calibrate", str(ROOT / "assumptions" / "anthropic_fluidstack.yaml")])
    assert code == 2
    assert "calibrated" in capsys.readouterr().err


def test_calibrate_rejects_a_model_for_the_wrong_unit(capsys):
    code = main(["calibrate", str(OBS), "--model", "exp_decline"])
    assert code == 2


def test_calibrated_series_is_sourced_by_its_observations():
    sc = load_scenario(TOPDOWN)
    p = sc.parameters["revenue_path"]
    assert p.form == "calibrated" and not p.provenance.is_hypothetical
    assert all(s.url.startswith("https://") for s in p.provenance.sources)
    assert OBS.resolve() in [Path(p).resolve() for p in sc.extra_hash_files]


@pytest.mark.slow
def test_run_with_a_calibrated_series_is_deterministic_and_uses_the_posterior(monkeypatch):
    sc = load_scenario(TOPDOWN)
    from model import calibration

    real_fit = calibration.fit

    def small_fit(*a, **kw):  # keep the test fast: a short chain, same code path
        kw.update(draws=300, tune=300)
        return real_fit(*a, **kw)

    monkeypatch.setattr(calibration, "fit", small_fit)
    a = simulate(sc, draws=500, seed=3)
    b = simulate(sc, draws=500, seed=3)
    np.testing.assert_array_equal(a.metric("npv"), b.metric("npv"))
    revenue = a.ds["input_revenue_path"].values  # (draws, years) trajectories [USD/year]
    assert revenue.shape == (500, sc.n_years)
    # trajectories come from the fitted curve: growing through 2028, positive everywhere
    assert (revenue > 0).all()
    years = list(sc.years)
    assert np.median(revenue[:, years.index(2028)]) > np.median(revenue[:, years.index(2025)])
