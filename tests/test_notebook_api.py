"""The notebook API: scenarios built in code, what-ifs, tidy tables and rich display."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

import model
from model.core.distributions import make_distribution

ROOT = Path(__file__).resolve().parents[1]
ASSUMPTIONS = ROOT / "assumptions"
FILE = ASSUMPTIONS / "anthropic_fluidstack.yaml"


def test_a_scenario_built_from_a_dict_runs_like_its_file():
    data = yaml.safe_load(FILE.read_text())
    from_code = model.scenario_from_dict(data, base=ASSUMPTIONS)
    from_file = model.load_scenario(FILE)
    a = model.simulate(from_code, draws=3000, seed=4)
    b = model.simulate(from_file, draws=3000, seed=4)
    # the same inputs draw the same numbers (common random numbers are keyed by input name)
    np.testing.assert_array_equal(a.metric("npv"), b.metric("npv"))


def test_a_number_without_provenance_in_code_raises_the_projects_error():
    data = yaml.safe_load(FILE.read_text())
    del data["parameters"]["capex_total"]["source"]
    with pytest.raises(model.AssumptionError, match="capex_total: has neither 'source'"):
        model.scenario_from_dict(data, base=ASSUMPTIONS)


def test_with_values_replaces_an_input_and_changes_the_hash():
    sc = model.load_scenario(FILE)
    stressed = sc.with_values(capex_overrun=1.3, reason="stress: a 30 % overrun")
    assert stressed.input_hash != sc.input_hash
    assert stressed.parameters["capex_overrun"].provenance.hypothetical.startswith("what-if")
    res = model.simulate(stressed, draws=2000, seed=1)
    # by hand: every draw spends capex_total x overrun = 50B x 1.3 inside the horizon
    np.testing.assert_allclose(res.metric("total_spend"), 65e9, rtol=1e-12)
    # a distribution, in canonical units
    d = make_distribution({"dist": "uniform", "low": 1.0, "high": 1.2})
    ranged = sc.with_values(capex_overrun=d, reason="what-if range")
    spend = model.simulate(ranged, draws=4000, seed=1).metric("total_spend")
    assert spend.min() >= 50e9 and spend.max() <= 60e9
    # the original is untouched
    assert not sc.parameters["capex_overrun"].dist.is_fixed


def test_with_values_needs_a_reason_and_a_known_input():
    sc = model.load_scenario(FILE)
    with pytest.raises(model.AssumptionError, match="needs its rationale"):
        sc.with_values(capex_overrun=1.3)
    with pytest.raises(model.AssumptionError, match="did you mean 'capex_overrun'"):
        sc.with_values(capex_overun=1.3, reason="typo")
    with pytest.raises(model.AssumptionError, match="outside the valid range"):
        sc.with_values(utilisation=78, reason="a percent, not a share")


def test_to_frame_has_one_row_per_draw_with_inputs_and_metrics():
    sc = model.load_scenario(FILE)
    res = model.simulate(sc, draws=1500, seed=2)
    df = res.to_frame()
    assert len(df) == 1500
    np.testing.assert_array_equal(df["npv"].to_numpy(), res.metric("npv"))
    for p in sc.uncertain():
        if p.form == "scalar":
            assert f"input_{p.name}" in df.columns  # as in results.nc
    long = res.to_frame(series=True)
    assert {"draw", "year", "revenue", "fcf"} <= set(long.columns)


def test_rich_display_uses_the_one_formatter():
    sc = model.load_scenario(FILE)
    res = model.simulate(sc, draws=2000, seed=0)
    from model.core.formatting import probability_text

    h = res._repr_html_()
    assert probability_text(res.probability("npv_positive"), 2000) in h
    assert "<table>" in h and "npv" in h
    s = sc._repr_html_()
    assert "capex_total" in s and "hypothetical" in s.lower()
    assert isinstance(res.summary(), __import__("pandas").DataFrame)
