"""The shipped assumption files: they validate, run, and reproduce their headline figures."""

from pathlib import Path

import numpy as np
import pytest

from model import load_scenario
from model.cli import main
from model.engine.simulate import simulate

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted((ROOT / "assumptions").glob("*.yaml"))
RUNNABLE = [f for f in FILES if not load_scenario(f, allow_partial=True).partial]
PROGRAMMES = [f for f in RUNNABLE if load_scenario(f).model == "programme"]


def test_every_shipped_file_and_overlay_validates(capsys):
    assert main(["validate", str(ROOT / "assumptions")]) == 0
    out = capsys.readouterr().out
    assert out.count("ok  ") == len(FILES)


@pytest.mark.parametrize("path", RUNNABLE, ids=lambda p: p.stem)
def test_no_parameter_lacks_provenance(path):
    sc = load_scenario(path)
    for p in sc.numeric():
        assert p.provenance is not None
        assert p.provenance.sources or p.provenance.hypothetical
        for s in p.provenance.sources:
            assert s.title and s.publisher and s.published and (s.url or s.doi)


@pytest.mark.parametrize("path", PROGRAMMES, ids=lambda p: p.stem)
def test_programme_reproduces_its_capex_headline(path):
    # spend over the horizon = capex_total x overrun x (sum of the delayed shares = 1 while the
    # delay keeps the schedule inside the horizon); the expected mean is the product of the
    # input means (independent inputs), within 4 Monte Carlo standard errors
    sc = load_scenario(path)
    res = simulate(sc, draws=4000, seed=7)
    spend = res.ds["spend"].values.sum(axis=1)
    total = sc.parameters["capex_total"].dist.mean()
    overrun = sc.parameters["capex_overrun"].dist.mean()
    mcse = spend.std(ddof=1) / np.sqrt(spend.size)
    assert spend.mean() == pytest.approx(total * overrun, abs=4 * mcse + 1e-9 * total)


def test_sequoia_2024_overlay_requires_600b():
    sc = load_scenario(
        ROOT / "assumptions" / "industry_600b_question.yaml", scenario="sequoia-2024"
    )
    res = simulate(sc, draws=100, seed=0)
    # Sequoia (2024): $150B x 2 / (1 - 0.5) = $600B, with fixed inputs in every draw
    np.testing.assert_allclose(res.ds["revenue_required"].values[:, 0], 600e9, rtol=1e-12)


@pytest.mark.parametrize("path", RUNNABLE, ids=lambda p: p.stem)
def test_every_overlay_runs(path):
    sc = load_scenario(path)
    for overlay in [None, *sc.overlays]:
        res = simulate(load_scenario(path, scenario=overlay), draws=200, seed=1)
        for name in res.metric_names:
            assert res.metric(name).shape == (200,)
