"""The shipped assumption files: they validate, run, and reproduce their headline figures."""

from pathlib import Path

import numpy as np
import pytest

from model import load_portfolio, load_scenario, simulate_portfolio
from model.cli import main
from model.engine.simulate import simulate
from model.loading.portfolio import is_portfolio_file

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted((ROOT / "assumptions").glob("*.yaml"))
PORTFOLIOS = [f for f in FILES if is_portfolio_file(f)]
SCENARIOS = [f for f in FILES if f not in PORTFOLIOS]
MEMBERS = sorted((ROOT / "assumptions" / "buildout").glob("*.yaml"))
RUNNABLE = [f for f in SCENARIOS + MEMBERS if not load_scenario(f, allow_partial=True).partial]
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


@pytest.mark.parametrize("path", PORTFOLIOS, ids=lambda p: p.stem)
def test_shipped_portfolio_runs_with_its_inputs_shared_and_cited(path):
    pf = load_portfolio(path)
    res = simulate_portfolio(pf, draws=400, seed=2)
    for name in pf.shared:  # one market: the same draws in every member that has the input
        having = [r for r in res.members.values() if name in r.inputs]
        for other in having[1:]:
            a, b = having[0].inputs[name], other.inputs[name]
            if a.ndim == 2 and a.shape != b.shape:  # by year: compare the calendar years in common
                ya, yb = list(having[0].scenario.years), list(other.scenario.years)
                common = sorted(set(ya) & set(yb))
                a = a[:, [ya.index(y) for y in common]]
                b = b[:, [yb.index(y) for y in common]]
            np.testing.assert_array_equal(a, b)
    for p in pf.as_scenario().numeric():
        assert p.provenance is not None and (p.provenance.sources or p.provenance.hypothetical)
    total = sum(r.metric("total_spend") for r in res.members.values())
    np.testing.assert_allclose(res.metric("total_spend"), total, rtol=1e-12)


def test_members_in_subfolders_validate(capsys):
    assert main(["validate", *map(str, MEMBERS)]) == 0
    assert capsys.readouterr().out.count("ok  ") == len(MEMBERS)
