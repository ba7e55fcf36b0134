"""The published revenue-gap arithmetic: Sequoia, Bain and J.P. Morgan.

Each shipped file's overlay ``published`` reproduces its publication's figure to the dollar from
the publication's own inputs; each model's equation is checked against a hand calculation; the
uncertain default scenarios load and give finite 2030 medians.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from model import load_scenario, simulate
from model.cli import main
from model.core.errors import AssumptionError
from model.core.vocabulary import is_gap_model, key_metric
from model.engine.models import capex_ratio, required_return
from model.engine.models.gap import gap_outputs

ROOT = Path(__file__).resolve().parents[1]
A = ROOT / "assumptions"
FILES = {
    "industry": A / "industry_600b_question.yaml",
    "capex_ratio": A / "bain_2030.yaml",
    "required_return": A / "jpmorgan_650b.yaml",
}


def _final(res, name: str) -> np.ndarray:
    """The 2030 (last-year) values of a series, one per draw [USD/year]."""
    return res.ds[name].values[:, -1]


def test_sequoia_published_requires_600b():
    res = simulate(load_scenario(FILES["industry"], scenario="published"), draws=50, seed=0)
    # $150B x 2 / (1 - 0.5) = $600B required; $600B - $100B earned = $500B gap
    assert np.all(np.abs(_final(res, "revenue_required") - 600e9) < 1.0)
    assert np.all(np.abs(_final(res, "revenue_gap") - 500e9) < 1.0)


def test_bain_published_requires_2t_and_falls_800b_short():
    res = simulate(load_scenario(FILES["capex_ratio"], scenario="published"), draws=50, seed=0)
    # $500B / 0.25 = $2,000B required in 2030; $2,000B - $1,200B fundable = $800B short
    assert np.all(np.abs(_final(res, "revenue_required") - 2000e9) < 1.0)
    assert np.all(np.abs(_final(res, "revenue_gap") - 800e9) < 1.0)
    assert np.all(np.abs(res.metric("revenue_gap_final") - 800e9) < 1.0)


def test_jpmorgan_published_requires_650b():
    res = simulate(load_scenario(FILES["required_return"], scenario="published"), draws=50, seed=0)
    # $5,000B x 0.10 = $500B of return a year; / (10/13 of revenue being return) = $650B
    assert np.all(np.abs(_final(res, "revenue_required") - 650e9) < 1.0)


def test_capex_ratio_equation_by_hand():
    # $300B / 0.2 = $1,500B; $600B / 0.3 = $2,000B
    got = capex_ratio.revenue_required(np.array([300e9, 600e9]), np.array([0.2, 0.3]))
    np.testing.assert_allclose(got, [1500e9, 2000e9], rtol=1e-15)


def test_required_return_equation_by_hand():
    # $1,000B x 8 % / 0.5 = $160B; $4,000B x 12 % / 0.8 = $600B
    got = required_return.revenue_required(
        np.array([1000e9, 4000e9]), np.array([0.08, 0.12]), np.array([0.5, 0.8])
    )
    np.testing.assert_allclose(got, [160e9, 600e9], rtol=1e-15)


def test_gap_outputs_by_hand():
    # required 100, 120, 90 against AI revenue 50, 100, 110: gaps 50, 20, -20 (closes in year 2)
    out = gap_outputs(np.array([[100.0, 120.0, 90.0]]), {"ai_revenue": [50.0, 100.0, 110.0]}, 1, 3)
    np.testing.assert_array_equal(out["revenue_gap"], [[50.0, 20.0, -20.0]])
    np.testing.assert_array_equal(out["cumulative_revenue_gap"], [[50.0, 70.0, 50.0]])
    assert out["revenue_gap_final"][0] == -20.0
    assert out["cumulative_revenue_gap_total"][0] == 50.0
    assert out["gap_close_year"][0] == 2.0
    assert out["gap_closed_by_end"][0] == 1.0
    assert "pv_revenue_gap" not in out


@pytest.mark.parametrize("model", list(FILES))
def test_base_scenarios_give_finite_2030_medians(model):
    sc = load_scenario(FILES[model])
    assert sc.model == model and is_gap_model(model)
    assert key_metric(model) == "revenue_gap_final"
    res = simulate(sc, draws=400, seed=1)
    for name in ("revenue_required", "ai_revenue", "revenue_gap"):
        assert np.isfinite(np.median(_final(res, name)))
    assert np.isfinite(res.metric_summary("revenue_gap_final")["p50"])


@pytest.mark.parametrize("model", list(FILES))
def test_cli_validates_and_runs_each_file_and_overlay(model, capsys):
    path = str(FILES[model])
    assert main(["validate", path]) == 0
    for overlay in [None, *load_scenario(FILES[model]).overlays]:
        extra = [] if overlay is None else ["--scenario", overlay]
        assert main(["run", path, "--draws", "100", "--quiet", *extra]) == 0
    assert main(["run", path, "--draws", "100", "--json"]) == 0
    assert '"revenue_gap_final"' in capsys.readouterr().out


def test_a_zero_capex_ratio_is_a_located_error(tmp_path):
    text = FILES["capex_ratio"].read_text(encoding="utf-8")
    bad = text.replace("      value: 0.25\n", "      value: 0\n", 1)  # the published ratio
    assert bad != text
    f = tmp_path / "bad.yaml"
    f.write_text(bad, encoding="utf-8")
    with pytest.raises(AssumptionError) as err:
        load_scenario(f, scenario="published")
    message = str(err.value)
    assert "capex_to_revenue" in message and "bad.yaml" in message
    assert main(["validate", str(f)]) != 0
