"""Stress, scenario analysis and sweeps (model.analysis.stress, model.analysis.sweep).

The linear industry file of tests/test_sensitivity.py: the final-year gap is
``C * accelerator_revenue - ai_revenue`` with ``C = 2 / (1 - 0.5)``, normal inputs;
``discount_rate`` does not enter the final-year gap.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from model.analysis.stress import scenario_analysis, stress
from model.analysis.sweep import sweep
from model.cli import main
from tests.test_sensitivity import SD_AI, industry_yaml

ROOT = Path(__file__).resolve().parents[1]
FLUIDSTACK = ROOT / "assumptions" / "anthropic_fluidstack.yaml"


def test_a_stress_band_shifts_the_output_as_the_linear_model_predicts(tmp_path):
    sc = industry_yaml(tmp_path)
    res = stress(sc, ["ai_revenue=p90-p100"], draws=8000, seed=1)
    # A normal N(m, s) restricted to its P90-P100 band has mean m + s phi(z90) / (1 - 0.9),
    # z90 = 1.2816, phi(z90) = 0.17550: the gap = C a - r falls by s phi(z90) / 0.1.
    z90 = 1.2815515655446004
    phi = math.exp(-(z90**2) / 2) / math.sqrt(2 * math.pi)
    expected = -SD_AI * phi / 0.1
    d = res.difference["mean"]
    assert abs(d["value"] - expected) < 4 * d["mcse"] + 0.01 * abs(expected)
    assert res.probability["name"] == "gap_closed_by_end"


def test_a_sweep_of_a_monotone_input_is_monotone():
    import model

    sc = model.load_scenario(FLUIDSTACK)
    res = sweep(sc, ["price_per_gpu_hour=2:6:5"], stat="npv:p50", draws=1000)
    v = list(res.values)
    assert v == sorted(v) and v[0] < v[-1]


def test_scenario_analysis_finds_the_driver_and_not_the_bystander(tmp_path):
    sc = industry_yaml(tmp_path)
    res = scenario_analysis(sc, "top10", draws=10_000)
    by = {r["input"]: r for r in res.rows}
    # C sd_acc = 20B > sd_ai = 12B: accelerator revenue drives the gap (corr 0.86)
    assert res.rows[0]["parameter"] == "accelerator_revenue" and res.rows[0]["shift_sd"] > 1
    assert by["ai_revenue"]["shift_sd"] < -0.3 and by["ai_revenue"]["mark"] == "***"
    assert abs(by["discount_rate"]["shift_sd"]) < 0.15


@pytest.mark.parametrize(
    "argv,word",
    [
        (["stress", "--band", "capex_overrum=p90-p100"], "capex_overrun"),
        (["stress", "--band", "capex_overrun=90-100"], "pLO-pHI"),
        (["sweep", "--vary", "price_per_gpu_hr=2:6:9"], "price_per_gpu_hour"),
        (["sweep", "--vary", "price_per_gpu_hour=2:6"], "LO:HI:N"),
    ],
)
def test_bad_band_or_range_exits_2_located(capsys, argv, word):
    code = main([argv[0], str(FLUIDSTACK), *argv[1:], "--draws", "200", "--json"])
    assert code == 2
    d = json.loads(capsys.readouterr().out)
    p = d["problems"][0]
    assert p["parameter"] in ("--band", "--vary") and word in p["message"] + p.get("fix", "")


@pytest.mark.parametrize(
    "name,argv",
    [
        ("stress", ["stress", "--band", "capex_overrun=p90-p100", "--band", "utilisation=p0-p50"]),
        ("scenario-analysis", ["scenario-analysis", "--region", "npv>-20B"]),
        ("sweep", ["sweep", "--vary", "price_per_gpu_hour=2:6:3"]),
        (
            "sweep",
            ["sweep", "--vary", "price_per_gpu_hour=2:6:3", "--vary", "utilisation=0.5:0.9:2"],
        ),
    ],
)
def test_json_validates_against_its_schema(capsys, tmp_path, name, argv):
    plot = ["--plot", str(tmp_path / "s.png")] if name == "sweep" else []
    assert (
        main([argv[0], str(FLUIDSTACK), *argv[1:], *plot, "--draws", "300", "--quiet", "--json"])
        == 0
    )
    d = json.loads(capsys.readouterr().out)
    schema = json.loads((ROOT / "docs" / "schema" / f"{name}.schema.json").read_text("utf-8"))
    errors = list(Draft202012Validator(schema).iter_errors(d))
    assert not errors, errors[:3]
    if plot:
        assert (tmp_path / "s.png").stat().st_size > 1000
