"""Reports: files, numbers that match the run, provenance, atomic writing, the browser view.

The numbers test regenerates a report into a temporary folder and compares numbers (never
pixels). The browser test opens ``report.html`` in headless Chromium over the DevTools protocol
(a pipe, no extra Python package) and checks that every image loaded and that nothing but the
file itself and its ``data:`` images was requested; it is skipped when Chromium is not installed
(``.ci/run`` installs it with the system package manager).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import math
import os
import re
import select
import shlex
import shutil
import subprocess
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from model.cli.commands.new import template_text
from model.core.errors import AssumptionError
from model.core.formatting import (
    error_decimals,
    format_estimate,
    format_mean,
    probability_text,
)
from model.core.vocabulary import OUTPUTS
from model.engine.simulate import simulate
from model.loading.scenario import load_scenario
from model.reporting import content, figures
from model.reporting.report import build_report, write_index

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
DRAWS, SEED = 1500, 3

PROGRAMME = """\
schema: 1
name: rep-test
title: Report test programme
model: programme
years: {start: 2025, end: 2036}
sources:
  test-src:
    title: A test announcement
    publisher: Test Publisher
    published: 2025-01-31
    url: https://example.org/announcement
parameters:
  capex_total: {value: 20B, unit: USD, source: test-src, quote: "twenty billion dollars"}
  capex_schedule: {values: {2025: 0.4, 2026: 0.6}, unit: share, hypothetical: split assumed}
  capex_overrun: {dist: lognormal, p05: 0.95, p95: 1.5, unit: ratio, hypothetical: overruns are common}
  lead_time: {value: 1, unit: years, hypothetical: one year to energise}
  capex_per_mw: {dist: uniform, low: 35M, high: 50M, unit: USD/MW, hypothetical: range of builds}
  compute_share: {dist: uniform, low: 0.5, high: 0.7, unit: share, hypothetical: IT share}
  compute_life: {dist: uniform, low: 4, high: 6, unit: years, hypothetical: server lives}
  facility_life: {value: 20, unit: years, hypothetical: buildings last}
  revenue_model: capacity
  refresh_it: true
  refresh_cost_ratio: {dist: uniform, low: 0.6, high: 1.0, unit: ratio, hypothetical: cheaper later}
  gpus_per_mw: {value: 1000, unit: GPU/MW, hypothetical: density}
  utilisation: {values: {2026: {dist: uniform, low: 0.5, high: 0.8}, 2030: {dist: uniform, low: 0.6, high: 0.9}}, unit: share, hypothetical: ramp}
  price_per_gpu_hour: {dist: uniform, low: 1.5, high: 3, unit: USD/GPU-hour, hypothetical: rental prices}
  price_decline: {dist: uniform, low: 0.1, high: 0.3, unit: 1/year, hypothetical: decline}
  pue: {dist: uniform, low: 1.1, high: 1.4, unit: ratio, hypothetical: cooling}
  power_load_factor: {value: 0.7, unit: share, hypothetical: load}
  power_price: {dist: uniform, low: 50, high: 100, unit: USD/MWh, hypothetical: power}
  fixed_opex_share: {value: 0.03, unit: 1/year, hypothetical: opex}
  cost_of_revenue_share: {value: 0.1, unit: share, hypothetical: cost of sales}
  tax_rate: {value: 0.21, unit: share, source: test-src}
  discount_rate: {dist: uniform, low: 0.08, high: 0.12, unit: 1/year, hypothetical: cost of capital}
  terminal_value: book_value
correlations:
  - [utilisation, price_per_gpu_hour, 0.4]
scenarios:
  bear:
    price_decline: {dist: uniform, low: 0.3, high: 0.5, unit: 1/year, hypothetical: glut}
"""


# ============================================================================ fixtures
@pytest.fixture(scope="module")
def programme_file(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("assumptions")
    f = d / "rep_test.yaml"
    f.write_text(PROGRAMME, encoding="utf-8")
    return f


@pytest.fixture(scope="module")
def report(programme_file, tmp_path_factory):
    """One full report (with the sensitivity section when available)."""
    res = simulate(load_scenario(programme_file), draws=DRAWS, seed=SEED)
    out = tmp_path_factory.mktemp("reports") / "rep-test"
    written = build_report([res], out=out, command="pytest")
    assert written == [out]
    return res, out


FIGURE_NAMES = {
    "programme": (
        "capex_vs_revenue",
        "cumulative_fcf",
        "npv_distribution",
        "irr_distribution",
        "payback_distribution",
    ),
    "industry": (
        "required_vs_ai_revenue",
        "revenue_gap",
        "gap_final_distribution",
        "gap_close_year",
    ),
}


@pytest.fixture
def fast_figures(monkeypatch):
    """Tiny stand-ins for the run figures (same names), where the test is not about them:
    rendering the real ones costs about a second each."""
    from matplotlib.figure import Figure as MplFigure

    def tiny(name):
        fig = MplFigure(figsize=(1, 0.5), dpi=50)
        fig.subplots().plot([0, 1], [0, 1])
        return figures.Figure(name, fig, name, "caption", "alt")

    monkeypatch.setattr(
        figures, "model_figures", lambda res: [tiny(n) for n in FIGURE_NAMES[res.model]]
    )


def _numbers_equal(a, b, path="$"):
    """Recursive comparison of JSON-like numbers (relative 1e-9)."""
    if isinstance(a, dict):
        assert set(a) == set(b), f"{path}: keys differ"
        for k in a:
            _numbers_equal(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), f"{path}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b)):
            _numbers_equal(x, y, f"{path}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            assert a is b, f"{path}: {a} != {b}"
        elif math.isnan(a) or math.isnan(b):
            assert math.isnan(a) and math.isnan(b), f"{path}: {a} != {b}"
        else:
            assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9), f"{path}: {a} != {b}"
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def _tree(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# ============================================================================ content
def test_report_files(report):
    res, out = report
    for name in (
        "report.md",
        "report.html",
        "summary.csv",
        "summary.json",
        "manifest.json",
        ".capex-output.json",
    ):
        assert (out / name).is_file(), name
    # what a reader opens, nothing else: no NetCDF, no SVG copies
    assert not list(out.rglob("*.nc")) and not list(out.rglob("*.svg"))
    for name in (
        "capex_vs_revenue",
        "cumulative_fcf",
        "npv_distribution",
        "irr_distribution",
        "payback_distribution",
    ):
        png = out / "figures" / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    # nothing left aside
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".capex")]


def test_report_numbers_match_the_run(report, tmp_path):
    """summary.json/csv and the text of report.md/html carry the numbers of the run."""
    res, out = report
    fresh = simulate(load_scenario(res.scenario.path), draws=DRAWS, seed=SEED)
    expected = fresh.to_json_dict()
    got = json.loads((out / "summary.json").read_text())
    _numbers_equal(expected, got)

    csv = pd.read_csv(out / "summary.csv", index_col="metric")
    for m in fresh.metric_names:
        s = fresh.metric_summary(m)
        for k in ("mean", "mcse", "p05", "p50", "p95", "p50_mcse", "undefined_share"):
            got, want = float(csv.loc[m, k]), s[k] if k in s else s["quantile_mcse"]["p50"]
            if math.isnan(want) or math.isinf(want):  # never (inf) or no mean over never draws
                assert got == want or (math.isnan(got) and math.isnan(want)), (m, k)
            else:
                assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12), (m, k)
    md = (out / "report.md").read_text()
    html = (out / "report.html").read_text()
    p = expected["probabilities"]["npv_positive"]
    headline = f"P(NPV > 0) = {probability_text(p, DRAWS)}"
    assert headline in md
    assert headline.replace(">", "&gt;") in html
    assert f"{p['value']:.{error_decimals(p['mcse'], 2, 4)}f}" in md
    # the headline comes first: before the metrics table and every figure
    assert md.index(headline) < md.index("## Key metrics") < md.index("![")
    end = res.scenario.end
    for m, s in expected["metrics"].items():
        row = next(line for line in md.splitlines() if f"(`{m}`)" in line)
        never = OUTPUTS[m].never
        for k in ("p05", "p50", "p95"):
            text = format_estimate(s[k], s["quantile_mcse"][k], s["unit"], never, end)
            assert text in row, (m, k, row)
        if s["mean"] is not None:
            assert format_mean(s["mean"], s["mcse"], s["unit"]) in row
        else:
            assert "n/a (never)" in row
        p50 = format_estimate(s["p50"], s["quantile_mcse"]["p50"], s["unit"], never, end)
        assert p50 in html


def test_regenerated_report_matches(report, tmp_path, fast_figures):
    """Regenerating with the manifest's command (no sensitivity) gives the same numbers."""
    res, out = report
    man = json.loads((out / "manifest.json").read_text())
    assert man["seed"] == SEED and man["draws"] == DRAWS and man["design"] == "mc"
    args = shlex.split(man["reproduce"])
    assert args[:2] == ["capex", "report"] and f"--seed {SEED}" in man["reproduce"]
    regen = tmp_path / "again"
    cli_args = args[2 : args.index("--out")] + ["--out", str(regen), "--no-sensitivity", "--quiet"]
    assert _cli(cli_args) == 0
    _numbers_equal(
        json.loads((out / "summary.json").read_text()),
        json.loads((regen / "summary.json").read_text()),
    )


def test_every_number_traces_to_an_assumption(report):
    res, out = report
    sc = res.scenario
    md = (out / "report.md").read_text()
    assumptions = md[md.index("## Assumptions") : md.index("## Bibliography")]
    for p in sc.parameters.values():
        row = next((line for line in assumptions.splitlines() if f"`{p.name}`" in line), None)
        assert row is not None, f"{p.name} missing from the assumptions table"
        if p.provenance is not None and p.provenance.is_hypothetical:
            assert "**HYPOTHETICAL**" in row and p.provenance.hypothetical in row
        elif p.provenance is not None:
            assert "[1] `test-src`" in row
    assert "quote: twenty billion dollars" in assumptions
    bib = md[md.index("## Bibliography") : md.index("## Run manifest")]
    assert "Test Publisher (2025-01-31). *A test announcement*" in bib
    assert "cited by `capex_total`, `tax_rate`" in bib
    man = json.loads((out / "manifest.json").read_text())
    f = man["input_files"][0]
    assert f["sha256"] == hashlib.sha256(Path(sc.path).read_bytes()).hexdigest()
    assert man["input_hash"] == sc.input_hash
    assert {"capex", "numpy", "matplotlib", "Jinja2"} <= set(man["versions"])


def test_sensitivity_section(report):
    res, out = report
    md = (out / "report.md").read_text()
    sens = json.loads((out / "sensitivity.json").read_text())
    assert sens["headline"] in md
    # the provenance headline sits in the answer box, before the key metrics
    assert md.index(sens["headline"]) < md.index("## Key metrics")
    assert "## Sensitivity" in md


def test_html_is_self_contained(report):
    res, out = report
    html = (out / "report.html").read_text()

    class Refs(HTMLParser):
        def __init__(self):
            super().__init__()
            self.imgs, self.resources = [], []

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "img":
                self.imgs.append(a.get("src", ""))
            if tag in ("script", "iframe", "object", "embed", "video", "audio", "source"):
                self.resources.append((tag, a))
            if tag == "link":
                self.resources.append((tag, a))

    parser = Refs()
    parser.feed(html)
    assert not parser.resources, parser.resources
    n_png = len(list((out / "figures").glob("*.png")))
    assert len(parser.imgs) == n_png
    for src in parser.imgs:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:4] == b"\x89PNG"
    assert not re.search(r"""(src|srcset)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert "@import" not in html and not re.search(r"url\(\s*['\"]?(https?:)?//", html)
    assert "@media print" in html


# ============================================================================ other models
def test_industry_report(tmp_path):
    f = tmp_path / "ind.yaml"
    f.write_text(template_text("ind-test", "industry"), encoding="utf-8")
    res = simulate(load_scenario(f), draws=400, seed=1)
    out = tmp_path / "ind"
    build_report(res, out=out, sensitivity=False)
    md = (out / "report.md").read_text()
    p = res.probability("gap_closed_by_end")
    assert f"P(gap closed in 2030) = {probability_text(p, 400)}" in md
    for name in (
        "required_vs_ai_revenue",
        "revenue_gap",
        "gap_final_distribution",
        "gap_close_year",
    ):
        assert (out / "figures" / f"{name}.png").is_file()
    assert "Sensitivity analysis not included: switched off" in md
    assert json.loads((out / "summary.json").read_text())["model"] == "industry"


# ============================================================================ CLI, comparison
def _cli(argv: list[str]) -> int:
    from model.cli import resolve
    from model.cli.parser import build_parser

    args = build_parser().parse_args(["report", *argv])
    return resolve(args.func)(args)


def test_cli_folder_comparison_and_index(
    tmp_path, programme_file, capsys, fast_figures, monkeypatch
):
    folder = tmp_path / "assumptions"
    folder.mkdir()
    (folder / "a.yaml").write_text(PROGRAMME.replace("name: rep-test", "name: alpha"))
    (folder / "b.yaml").write_text(PROGRAMME.replace("name: rep-test", "name: beta"))
    (folder / "base.yaml").write_text(
        "schema: 1\nname: base\nmodel: programme\npartial: true\n"
        "years: {start: 2025, end: 2030}\nparameters: {}\n"
    )
    root = tmp_path / "reports"
    assert (
        _cli([str(folder), "--draws", "300", "--no-sensitivity", "--quiet", "--out", str(root)])
        == 0
    )
    err = capsys.readouterr().err
    assert "skipped" in err and "base.yaml" in err
    assert {p.name for p in root.iterdir()} == {
        "alpha",
        "beta",
        "comparison",
        "README.md",
        ".capex-output.json",
    }
    compare = (root / "comparison" / "compare.md").read_text()
    assert "[alpha](../alpha/report.md)" in compare and "[beta](../beta/report.md)" in compare
    assert (root / "comparison" / "compare.html").is_file()
    index = (root / "README.md").read_text()
    assert "(alpha/report.md)" in index and "(beta/report.md)" in index
    assert "capex report assumptions/" in index
    a = json.loads((root / "alpha" / "summary.json").read_text())
    assert f"P(NPV > 0) = {probability_text(a['probabilities']['npv_positive'], 300)}" in index
    for name in ("compare_probabilities", "compare_npv_cdf", "compare_cumulative_fcf"):
        assert (root / "comparison" / "figures" / f"{name}.png").is_file()
    # overlays get their own folder
    monkeypatch.setattr(figures, "comparison_figures", lambda rs: [])
    assert (
        _cli(
            [
                str(programme_file),
                "--overlays",
                "--draws",
                "300",
                "--no-sensitivity",
                "--quiet",
                "--out",
                str(tmp_path / "ov"),
            ]
        )
        == 0
    )
    assert {p.name for p in (tmp_path / "ov").iterdir()} == {
        "rep-test",
        "rep-test--bear",
        "comparison",
        "README.md",
        ".capex-output.json",
    }
    # a partial file named explicitly is an error, and nothing is written
    with pytest.raises(AssumptionError, match="partial base"):
        _cli([str(folder / "base.yaml"), "--out", str(tmp_path / "none")])
    assert not (tmp_path / "none").exists()


def test_probability_text():
    assert probability_text({"value": 0.41234, "mcse": 0.0049}) == "0.412 ± 0.005"
    assert probability_text({"value": 0.4, "mcse": 0.012}) == "0.40 ± 0.01"
    assert probability_text({"value": 0.0, "mcse": 0.0}, 10_000) == "< 0.0003 (0 of 10,000 draws)"
    assert probability_text({"value": 1.0, "mcse": 0.0}, 10_000) == "> 0.9997 (all 10,000 draws)"
    assert format_mean(-23.81e9, 0.37e9, "USD") == "-$23.8B ± $0.4B"
    assert content.verdict(0.41) == "about as likely as not"
    assert content.verdict(0.031) == "very unlikely"
    assert content.verdict(0.2) == "unlikely"


def test_write_index_lists_only_reports(tmp_path):
    (tmp_path / "not-a-report").mkdir()
    (tmp_path / ".hidden").mkdir()
    text = write_index(tmp_path).read_text()
    assert "No reports yet." in text


def test_calibration_hook(tmp_path, monkeypatch):
    """Calibrated parameters are listed; model.reporting.calibration_section adds a section."""
    import types

    from matplotlib.figure import Figure as MplFigure

    from model.core.scenario import Parameter
    from model.core.vocabulary import VOCABULARY
    from model.reporting import calibration_section
    from model.reporting import report as reporting

    obs = REPO / "assumptions" / "observations" / "anthropic_revenue.csv"
    if not obs.is_file():
        pytest.skip("no observation file to point a calibrated parameter at")
    spec = VOCABULARY["programme"]["revenue_path"]
    param = Parameter(
        "revenue_path",
        spec,
        "calibrated",
        calibrated={"observations": obs, "model": "logistic", "draws": 500},
    )
    res = types.SimpleNamespace(
        scenario=types.SimpleNamespace(parameters={"revenue_path": param}), attrs={"seed": 7}
    )

    def section(parameter, scenario, seed):
        fig = MplFigure(figsize=(2, 1))
        fig.subplots().plot([0, 1], [1, 2])
        return {
            "title": f"Fit of {parameter.name}",
            "paragraphs": [f"seed {seed}"],
            "figures": [figures.Figure("calibration_revenue_path", fig, "Fit", "cap", "alt")],
        }

    monkeypatch.setattr(calibration_section, "report_section", section)
    out = reporting._calibration_section(res, tmp_path)
    assert out["rows"][0]["name"] == "revenue_path" and out["rows"][0]["model"] == "logistic"
    assert out["rows"][0]["sha256"] == hashlib.sha256(obs.read_bytes()).hexdigest()
    assert out["extra"][0]["title"] == "Fit of revenue_path"
    assert out["extra"][0]["paragraphs"] == ["seed 7"]
    assert (tmp_path / "calibration_revenue_path.png").is_file()


# ============================================================================ atomicity
def _small(programme_file, overlay=None):
    return simulate(load_scenario(programme_file, scenario=overlay), draws=200, seed=1)


@pytest.mark.parametrize("exc", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_crash_mid_write_leaves_previous_report(
    programme_file, tmp_path, monkeypatch, exc, fast_figures
):
    res = _small(programme_file)
    out = tmp_path / "rep"
    build_report([res], out=out, sensitivity=False)
    before = _tree(out)
    calls = {"n": 0}
    real = figures.save

    def failing_save(*a, **kw):
        calls["n"] += 1
        if calls["n"] == 3:  # some files are already written by then
            raise exc
        return real(*a, **kw)

    monkeypatch.setattr(figures, "save", failing_save)
    with pytest.raises(type(exc)):
        build_report([_small(programme_file, "bear")], out=out, sensitivity=False)
    assert calls["n"] == 3
    assert _tree(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["rep"]  # no half-built folder aside


def test_crash_in_second_report_keeps_both_previous(
    programme_file, tmp_path, monkeypatch, fast_figures
):
    runs = [_small(programme_file), _small(programme_file, "bear")]
    monkeypatch.setattr(figures, "comparison_figures", lambda rs: [])
    root = tmp_path / "reports"
    build_report(runs, out=root, sensitivity=False)
    before = _tree(root)
    from model.reporting import report as reporting

    real = reporting.render

    def failing_render(template, **ctx):
        r = ctx.get("r")
        if r is not None and r["overlay"] == "bear" and template == "report.html.j2":
            raise RuntimeError("template bug")
        return real(template, **ctx)

    monkeypatch.setattr(reporting, "render", failing_render)
    with pytest.raises(RuntimeError, match="template bug"):
        build_report(runs, out=root, sensitivity=False)
    assert _tree(root) == before
    assert not [
        p
        for p in root.iterdir()
        if p.name.startswith(".capex-staging") or p.name.startswith(".capex-backup")
    ]


def test_same_folder_twice_is_an_error(programme_file, tmp_path):
    res = _small(programme_file)
    with pytest.raises(AssumptionError, match="same report folder"):
        build_report([res, res], out=tmp_path / "x", sensitivity=False)
    assert not (tmp_path / "x").exists()


# ============================================================================ shipped reports
def _shipped_reports() -> list[Path]:
    root = REPO / "reports"
    return sorted(p for p in root.glob("*/manifest.json")) if root.is_dir() else []


def test_shipped_reports_are_current():
    """Every runnable file of assumptions/ has a report whose inputs are the current files."""
    if not (REPO / "reports" / "README.md").is_file():
        pytest.skip("reports/ not generated yet: run `capex report assumptions/`")
    from model.cli.commands.report import load_targets
    from model.reporting.report import report_folder_name

    old = Path.cwd()
    os.chdir(REPO)
    try:
        scenarios, _ = load_targets(["assumptions"])
    finally:
        os.chdir(old)
    for sc in scenarios:
        man_path = REPO / "reports" / report_folder_name(sc) / "manifest.json"
        assert man_path.is_file(), f"no report for {sc.path.name}: run `capex report assumptions/`"
        man = json.loads(man_path.read_text())
        assert man["input_hash"] == sc.input_hash, (
            f"reports/{report_folder_name(sc)} is stale (its assumption file changed): run "
            "`capex report assumptions/`"
        )


def test_shipped_report_numbers_reproduce(tmp_path, fast_figures):
    """Regenerate one shipped report into a temporary folder: the numbers match."""
    manifests = _shipped_reports()
    if not manifests:
        pytest.skip("reports/ not generated yet: run `capex report assumptions/`")
    default = [m for m in manifests if m.parent.name == "anthropic-fluidstack"]
    man_path = (default or manifests)[0]
    man = json.loads(man_path.read_text())
    f = REPO / man["input_files"][0]["path"]
    sc = load_scenario(f, scenario=man["overlay"])
    assert sc.input_hash == man["input_hash"], "stale report: run `capex report assumptions/`"
    res = simulate(sc, draws=man["draws"], seed=man["seed"], design=man["design"])
    out = tmp_path / "regen"
    build_report([res], out=out, sensitivity=False)
    _numbers_equal(
        json.loads((man_path.parent / "summary.json").read_text()),
        json.loads((out / "summary.json").read_text()),
    )


def test_reports_index_is_current(tmp_path):
    """reports/README.md is what write_index makes of the shipped report folders (a drift test:
    regenerate with `capex report assumptions/`)."""
    if not (REPO / "reports" / "README.md").is_file():
        pytest.skip("reports/ not generated yet: run `capex report assumptions/`")
    copy = tmp_path / "reports"
    shutil.copytree(REPO / "reports", copy)
    write_index(copy, command="capex report assumptions/")
    shipped = (REPO / "reports" / "README.md").read_text(encoding="utf-8")
    assert (copy / "README.md").read_text(encoding="utf-8") == shipped


def test_readme_generated_blocks_are_current():
    """README.md's results table and example output are what the generator makes of the shipped
    files (regenerate with `python -m model.reporting.readme`)."""
    from model.reporting.readme import pymc_version, regenerate

    text = (REPO / "README.md").read_text(encoding="utf-8")
    new = regenerate(text, REPO / "assumptions", draws=10_000, seed=0)
    if f"fitted with PyMC {pymc_version()};" in text:
        assert new == text
    else:
        # another PyMC samples another posterior: every row but the calibrated ones must match
        def plain(t):
            return [
                line
                for line in t.splitlines()
                if "calibrated" not in line and "fitted with PyMC" not in line
            ]

        assert plain(new) == plain(text)


def _tree_bytes(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_regenerating_a_report_gives_byte_identical_files(tmp_path):
    """Same inputs, seed and command: every file of the report (figures, HTML, JSON,
    sensitivity, marker) is byte-for-byte the same; nothing carries a wall-clock time."""
    sc = load_scenario(REPO / "assumptions" / "tour.yaml")
    out = tmp_path / "tour"
    build_report(
        [simulate(sc, draws=2_000, seed=3)], out=out, sensitivity_settings={"sobol_n": 256}
    )
    first = _tree_bytes(out)
    build_report(
        [simulate(sc, draws=2_000, seed=3)], out=out, sensitivity_settings={"sobol_n": 256}
    )
    second = _tree_bytes(out)
    assert sorted(first) == sorted(second)
    changed = [name for name in first if first[name] != second[name]]
    assert not changed, changed
    assert not any(name.endswith((".nc", ".svg")) for name in first), sorted(first)


# ============================================================================ browser
class _Chromium:
    """Headless Chromium driven over the DevTools protocol on a pipe (fds 3 and 4)."""

    FLAGS = (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--disable-extensions",
        "--mute-audio",
        # any attempt to reach the network goes to a dead proxy port
        "--proxy-server=http://127.0.0.1:9",
        "--proxy-bypass-list=<-loopback>",
    )

    def __init__(self, binary: Path):
        self.profile = tempfile.mkdtemp(prefix="capex-chromium-")
        r_in, self.w_in = os.pipe()
        self.r_out, w_out = os.pipe()

        def child():
            os.dup2(r_in, 3)
            os.dup2(w_out, 4)

        self.proc = subprocess.Popen(
            [
                str(binary),
                *self.FLAGS,
                f"--user-data-dir={self.profile}",
                "--remote-debugging-pipe",
                "about:blank",
            ],
            preexec_fn=child,
            pass_fds=(3, 4),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(r_in)
        os.close(w_out)
        self.buf = b""
        self.next_id = 0
        self.events: list[dict] = []
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        self.call("Network.enable", session=True)
        self.call("Page.enable", session=True)

    def _recv(self, deadline: float) -> dict:
        while b"\0" not in self.buf:
            ready, _, _ = select.select([self.r_out], [], [], max(0.0, deadline - time.time()))
            if not ready:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self.r_out, 1 << 16)
            if not chunk:
                raise EOFError("Chromium closed the DevTools pipe")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(
        self, method: str, params: dict | None = None, session: bool = False, timeout: float = 30.0
    ) -> dict:
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = self.session
        os.write(self.w_in, json.dumps(msg).encode() + b"\0")
        deadline = time.time() + timeout
        while True:
            m = self._recv(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def load(self, url: str, timeout: float = 30.0) -> list[dict]:
        """Navigate, wait for the load event; return the network events of this page."""
        self.events.clear()
        self.call("Page.navigate", {"url": url}, session=True)
        deadline = time.time() + timeout
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            self.events.append(self._recv(deadline))
        time.sleep(0.3)  # late requests, if any, would show up now
        self.call("Runtime.evaluate", {"expression": "1"}, session=True)
        return [e for e in self.events if e.get("method", "").startswith("Network.")]

    def evaluate(self, expression: str):
        r = self.call(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=True
        )
        return r["result"].get("value")

    def close(self):
        with contextlib.suppress(TimeoutError, EOFError, OSError, RuntimeError):
            self.call("Browser.close", timeout=5)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        os.close(self.w_in)
        os.close(self.r_out)
        shutil.rmtree(self.profile, ignore_errors=True)


IMAGES_JS = (
    "JSON.stringify(Array.from(document.images).map(i => ({ok: i.complete && "
    "i.naturalWidth > 0, w: i.naturalWidth, src: i.src.slice(0, 40)})))"
)


def _fetched(events: list[dict]) -> list[str]:
    return [
        e["params"]["request"]["url"] for e in events if e["method"] == "Network.requestWillBeSent"
    ]


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.is_file():
        pytest.skip(
            f"{CHROMIUM} not found: install Chromium (`apt-get install -y chromium`, "
            "as .ci/run does) to run the browser test"
        )
    return CHROMIUM


@pytest.mark.browser
def test_report_html_in_a_real_browser(chromium, report, tmp_path):
    res, out = report
    browser = _Chromium(chromium)
    try:
        # control: the detector does see an image fetched from the network
        probe = tmp_path / "probe.html"
        probe.write_text('<!DOCTYPE html><img src="http://example.invalid/x.png">')
        urls = _fetched(browser.load(probe.as_uri()))
        assert any(u.startswith("http://example.invalid") for u in urls), urls
        assert json.loads(browser.evaluate(IMAGES_JS))[0]["ok"] is False

        html = out / "report.html"
        events = browser.load(html.as_uri())
        urls = _fetched(events)
        outside = [u for u in urls if not (u == html.as_uri() or u.startswith("data:"))]
        assert not outside, f"report.html fetched {outside}"
        failed = [e["params"] for e in events if e["method"] == "Network.loadingFailed"]
        assert not failed, failed
        images = json.loads(browser.evaluate(IMAGES_JS))
        n_png = len(list((out / "figures").glob("*.png")))
        assert len(images) == n_png >= 5
        assert all(i["ok"] for i in images), [i for i in images if not i["ok"]]
        assert browser.evaluate("document.title").startswith("Report test programme")
        # the answer is on the first screen
        top = browser.evaluate("document.getElementById('answer').getBoundingClientRect().top")
        assert top < 300
        pdf = browser.call("Page.printToPDF", {"printBackground": False}, session=True, timeout=60)
        assert base64.b64decode(pdf["data"])[:5] == b"%PDF-"
    finally:
        browser.close()
