"""The inputs section of a report: every uncertain input's distribution (small multiples,
coloured by provenance) and, for inputs that vary by year, a fan with sample paths.

Truth: the figures show the run's own draws. ``Results.inputs`` holds them; where a run does
not, they are drawn again with the run's design and seed, which must give exactly the numbers
the run used (checked for scalars and series, for every design).
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
import pytest
from matplotlib.colors import to_hex
from matplotlib.text import Text

from model.core.scenario import InputForm
from model.engine.results import Results
from model.engine.simulate import simulate
from model.loading.scenario import load_scenario
from model.reporting import input_figures as I
from model.reporting.report import build_report

REPO = Path(__file__).resolve().parents[1]
DRAWS, SEED = 3000, 7

SCENARIO = """\
schema: 1
name: inputs-test
title: Inputs figure test
model: programme
years: {start: 2025, end: 2036}
currency_year: 2025
sources:
  test-src:
    title: A test announcement
    publisher: Test Publisher
    published: 2025-01-31
    url: https://example.org/announcement
parameters:
  capex_total: {value: 20B, unit: USD, source: test-src}
  capex_schedule: {values: {2025: 0.4, 2026: 0.6}, unit: share, hypothetical: split assumed}
  capex_overrun: {dist: lognormal, p05: 0.95, p95: 1.5, unit: ratio, source: test-src}
  lead_time: {value: 1, unit: years, hypothetical: one year to energise}
  capex_per_mw: {dist: uniform, low: 35M, high: 50M, unit: USD/MW, source: test-src}
  compute_share: {dist: uniform, low: 0.5, high: 0.7, unit: share, hypothetical: IT share}
  compute_life: {dist: uniform, low: 4, high: 6, unit: years, hypothetical: server lives}
  facility_life: {value: 20, unit: years, hypothetical: buildings last}
  revenue_model: capacity
  refresh_it: false
  gpus_per_mw: {value: 1000, unit: GPU/MW, hypothetical: density}
  utilisation: {values: {2026: {dist: uniform, low: 0.5, high: 0.8}, 2030: {dist: uniform, low: 0.6, high: 0.9}}, unit: share, hypothetical: ramp}
  price_per_gpu_hour: {values: {2026: {dist: uniform, low: 2, high: 3.5}, 2030: {dist: uniform, low: 1.2, high: 2.8}}, unit: USD/GPU-hour, source: test-src}
  price_decline: {dist: uniform, low: 0.1, high: 0.3, unit: 1/year, hypothetical: decline}
  pue: {value: 1.2, unit: ratio, hypothetical: cooling}
  power_load_factor: {value: 0.7, unit: share, hypothetical: load}
  power_price: {values: {2026: {dist: uniform, low: 50, high: 90}, 2031: {dist: uniform, low: 60, high: 120}}, unit: USD/MWh, years_move: independent, interpolation: step, source: test-src}
  fixed_opex_share: {value: 0.03, unit: 1/year, hypothetical: opex}
  cost_of_revenue_share: {value: 0.1, unit: share, hypothetical: cost of sales}
  tax_rate: {value: 0.21, unit: share, source: test-src}
  discount_rate: {dist: uniform, low: 0.08, high: 0.12, unit: 1/year, hypothetical: cost of capital}
  terminal_value: book_value
correlations:
  - [utilisation, price_per_gpu_hour, 0.4]
"""

BY_YEAR = ("utilisation", "price_per_gpu_hour", "power_price")


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory) -> Path:
    f = tmp_path_factory.mktemp("assumptions") / "inputs_test.yaml"
    f.write_text(SCENARIO, encoding="utf-8")
    return f


@pytest.fixture(scope="module")
def res(scenario_file):
    return simulate(load_scenario(scenario_file), draws=DRAWS, seed=SEED, workers=1)


def _without(res, *names) -> Results:
    """The run as if it did not hold the given inputs' draws."""
    inputs = {k: v for k, v in res.inputs.items() if k not in names}
    return Results(res.scenario, res.attrs, res.metrics, inputs, res.series)


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.fig.savefig(buf, format="png", dpi=60, metadata={"Software": None})
    return buf.getvalue()


# ============================================================================ small multiples
def test_one_panel_per_uncertain_input_coloured_by_provenance(res):
    sc = res.scenario
    fig = I.input_distributions(res)
    axes = [ax for ax in fig.fig.axes if ax.get_visible()]
    uncertain = sc.uncertain()
    assert len(axes) == len(uncertain) == 9
    kinds = set()
    for ax, p in zip(axes, uncertain):
        title = ax.get_title(loc="left")
        assert title.split()[0] == p.name, title
        kind = I.provenance_kind(p)
        kinds.add(kind)
        assert ("(H)" in title) == (kind == "hypothetical"), title
        want = I.PROVENANCE[kind][0].lower()
        assert {to_hex(b.get_facecolor(), keep_alpha=False) for b in ax.patches} == {want}
        (label,) = [t for t in ax.get_children() if isinstance(t, Text) and t.get_text() == title]
        assert to_hex(label.get_color()) == want
        # the median is marked where the run's draws put it
        med = float(np.median(I._panel_values(res, p, {})[0]))
        assert any(np.allclose(ln.get_xdata(), med) for ln in ax.lines), p.name
        if p.name in BY_YEAR:
            assert f"in {I.representative_year(p, sc.years)}" in title
    assert kinds == {"sourced", "hypothetical"}
    legend = [t.get_text() for lg in fig.fig.legends for t in lg.get_texts()]
    assert any(t.startswith("sourced") for t in legend)
    assert any(t.startswith("HYPOTHETICAL") for t in legend)
    assert "median" in legend
    assert "Colour = provenance" in fig.caption
    assert "2025 money" in fig.caption


def test_units_on_the_axes(res):
    fig = I.input_distributions(res)
    label = {
        ax.get_title(loc="left").split()[0]: ax.get_xlabel()
        for ax in fig.fig.axes
        if ax.get_visible()
    }
    assert label["capex_per_mw"] == "USD millions per MW (2025 money)"
    assert label["price_per_gpu_hour"] == "USD per GPU-hour (2025 money)"
    assert label["compute_share"] == "%"
    assert label["discount_rate"] == "% per year"
    assert label["compute_life"] == "years"
    fmt, _ = I.unit_axis([1e9, 5e9], "USD/year", res.scenario)
    assert fmt(2e9) == "$2B"
    fmt, _ = I.unit_axis([0.1], "share", res.scenario)
    assert fmt(0.25) == "25 %"


def test_the_grid_stays_readable_for_many_inputs():
    assert I.grid_shape(1) == (1, 1)
    assert I.grid_shape(3) == (1, 3)
    assert I.grid_shape(18) == (5, 4)
    assert I.grid_shape(20) == (5, 4)
    assert I.grid_shape(25) == (5, 5)
    assert I.grid_shape(28) == (6, 5)
    assert I.panel_title("accelerator_revenue", 2028, True) == (
        "accelerator_revenue\nin 2028 (H)",
        9.0,
    )
    assert I.panel_title("capex_per_mw", None, False) == ("capex_per_mw", 9.0)


def test_figure_height_grows_with_rows(res):
    sc = load_scenario(REPO / "assumptions" / "anthropic_fluidstack.yaml")
    many = simulate(sc, draws=500, seed=1, workers=1)
    small, big = I.input_distributions(res), I.input_distributions(many)
    assert len([a for a in big.fig.axes if a.get_visible()]) == len(sc.uncertain())
    assert big.fig.get_figheight() > small.fig.get_figheight()
    assert "price_per_gpu_hour in 2030" in big.caption


# ============================================================================ regeneration
@pytest.mark.parametrize("design", ["mc", "lhs", "sobol"])
def test_regenerated_inputs_are_the_runs(scenario_file, design):
    """Drawn again with the run's design and seed: every uncertain input, scalar or series,
    equals what the run used, exactly."""
    run = simulate(load_scenario(scenario_file), draws=DRAWS, seed=SEED, design=design)
    k = 2000
    again = I.regenerate_inputs(run, k)
    for p in run.scenario.uncertain():
        got = np.asarray(again[p.name], dtype=float)
        got = got[:, 0] if got.ndim == 2 and got.shape[1] == 1 else got
        assert np.array_equal(got, run.inputs[p.name][:k]), p.name
    assert np.asarray(again["price_per_gpu_hour"]).shape == (k, run.scenario.n_years)
    assert np.asarray(again["capex_overrun"]).shape == (k,)


def test_fans_drawn_again_when_the_run_does_not_hold_the_paths(res):
    """Without the stored paths the fan is built from the first draws, drawn again: its median
    and sample paths are those of the run's first draws; two regenerations agree."""
    name = "price_per_gpu_hour"
    stored = res.inputs[name]
    fans = {f.name: f for f in I.series_input_fans(_without(res, name))}
    fig = fans[f"input_fan_{name}"]
    k = I.REGENERATED_DRAWS
    ax = fig.fig.axes[0]
    median = ax.lines[0].get_ydata()
    assert np.allclose(median, np.quantile(stored[:k], 0.5, axis=0), rtol=0, atol=1e-12)
    for i, line in enumerate(ax.lines[1 : 1 + I.SAMPLE_PATHS]):
        assert np.array_equal(line.get_ydata(), stored[i])
    assert f"the first {k:,}" in fig.caption
    again = I.regenerate_inputs(_without(res, name))[name]
    twice = I.regenerate_inputs(simulate(res.scenario, draws=DRAWS, seed=SEED, workers=1))[name]
    assert np.array_equal(again, twice)
    qs = [0.05, 0.5, 0.95]
    assert np.array_equal(np.quantile(again, qs, axis=0), np.quantile(twice, qs, axis=0))


def test_calibrated_inputs_are_not_refitted():
    """Regenerating a calibrated run's inputs needs no posterior fit: calibrated values are NaN
    stand-ins, every other input is drawn."""
    sc = load_scenario(REPO / "assumptions" / "anthropic_calibrated.yaml")
    attrs = {"seed": 0, "design": "mc", "draws": 400, "model": sc.model}
    shell = Results(sc, attrs, {}, {}, {})
    again = I.regenerate_inputs(shell, 100)
    assert np.isnan(again["revenue_path"]).all()
    assert np.asarray(again["capex_per_mw"]).shape == (100,)
    assert np.isfinite(again["capex_per_mw"]).all()


# ============================================================================ fans
def test_a_fan_per_input_that_varies_by_year(res):
    fans = I.series_input_fans(res)
    assert [f.name for f in fans] == [f"input_fan_{n}" for n in BY_YEAR]
    for f in fans:
        name = f.name.removeprefix("input_fan_")
        p = res.scenario.parameters[name]
        ax = f.fig.axes[0]
        paths = res.inputs[name]
        q = np.quantile(paths, [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)
        assert np.allclose(ax.lines[0].get_ydata(), q[2])
        assert to_hex(ax.lines[0].get_color()) == I.PROVENANCE[I.provenance_kind(p)][0].lower()
        thin = ax.lines[1 : 1 + I.SAMPLE_PATHS]
        assert len(thin) == I.SAMPLE_PATHS
        for i, line in enumerate(thin):
            assert np.array_equal(line.get_ydata(), paths[i])
        assert "Colour = provenance" in f.caption
        assert f"over {res.draws:,} draws" in f.caption
        texts = [t.get_text() for t in f.fig.texts]
        assert texts[0].startswith(f"{name} by year, ")
    assert "each uncertain year drawn independently" in fans[2].caption
    assert "HYPOTHETICAL input" in [t.get_text() for t in fans[0].fig.texts][1]


@pytest.mark.skipif("process" not in {f.value for f in InputForm}, reason="no process form")
def test_process_inputs_get_fans(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text(
        "schema: 1\nname: proc-test\ntitle: processes\nmodel: programme\n"
        f"extends: {REPO / 'assumptions' / 'anthropic_fluidstack.yaml'}\n"
        "correlations: []\nparameters:\n"
        "  utilisation: {process: ar1, scale: logit, mean: 0.75, phi: 0.6, sigma: 0.3, "
        "start: stationary, unit: share, hypothetical: test}\n",
        encoding="utf-8",
    )
    run = simulate(load_scenario(f), draws=600, seed=2, workers=1)
    names = [fig.name for fig in I.series_input_fans(run)]
    assert "input_fan_utilisation" in names
    dist = I.input_distributions(run)
    titles = [ax.get_title(loc="left") for ax in dist.fig.axes if ax.get_visible()]
    assert any(t.startswith("utilisation") for t in titles)
    again = I.regenerate_inputs(run, 300)["utilisation"]
    assert np.array_equal(again, run.inputs["utilisation"][:300])


def test_figures_are_deterministic(res):
    a = [_png(I.input_distributions(res))] + [_png(f) for f in I.series_input_fans(res)]
    b = [_png(I.input_distributions(res))] + [_png(f) for f in I.series_input_fans(res)]
    assert [hashlib.sha256(x).hexdigest() for x in a] == [hashlib.sha256(x).hexdigest() for x in b]


# ============================================================================ report
def test_report_has_the_inputs_section(res, tmp_path):
    out = tmp_path / "rep"
    build_report([res], out=out, sensitivity=False)
    md = (out / "report.md").read_text()
    html = (out / "report.html").read_text()
    assert md.index("## Payback year") < md.index("## The inputs") < md.index("## Assumptions")
    assert "Colour is provenance" in md
    for name in ["input_distributions", *(f"input_fan_{n}" for n in BY_YEAR)]:
        assert (out / "figures" / f"{name}.png").is_file(), name
        assert f"(figures/{name}.png)" in md
        assert f'id="fig-{name}"' in html
    assert '<h2 id="inputs">The inputs</h2>' in html
    assert '<a href="#inputs">The inputs</a>' in html


def test_no_inputs_section_when_every_input_is_fixed(tmp_path):
    f = tmp_path / "fixed.yaml"
    f.write_text(_fixed(SCENARIO), encoding="utf-8")
    run = simulate(load_scenario(f), draws=50, seed=0, workers=1)
    assert not run.scenario.uncertain()
    assert I.input_section(run) is None
    assert I.series_input_fans(run) == []


def _fixed(text: str) -> str:
    """The scenario with every distribution replaced by a fixed value in its range."""
    values = {
        "capex_overrun": "{value: 1.1, unit: ratio, source: test-src}",
        "capex_per_mw": "{value: 40M, unit: USD/MW, source: test-src}",
        "compute_share": "{value: 0.6, unit: share, hypothetical: IT share}",
        "compute_life": "{value: 5, unit: years, hypothetical: server lives}",
        "utilisation": "{value: 0.7, unit: share, hypothetical: ramp}",
        "price_per_gpu_hour": "{value: 2.5, unit: USD/GPU-hour, source: test-src}",
        "price_decline": "{value: 0.2, unit: 1/year, hypothetical: decline}",
        "power_price": "{value: 80, unit: USD/MWh, source: test-src}",
        "discount_rate": "{value: 0.1, unit: 1/year, hypothetical: cost of capital}",
    }
    lines = []
    for line in text.splitlines():
        key = line.strip().split(":")[0]
        lines.append(f"  {key}: {values[key]}" if key in values and "dist:" in line else line)
    out = "\n".join(lines) + "\n"
    return out.replace("correlations:\n  - [utilisation, price_per_gpu_hour, 0.4]\n", "")
