"""Report polish: convergence figure, one-line break-even, docs links wherever the report is,
legend swatches in the bands' colours, spider and stress views."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from model.engine.simulate import simulate
from model.loading.scenario import load_scenario
from model.reporting.convergence import running_statistics
from model.reporting.report import REPO_DOCS, docs_href

ROOT = Path(__file__).resolve().parents[1]


def test_running_statistics_end_at_the_runs_own_numbers():
    res = simulate(load_scenario(ROOT / "assumptions" / "anthropic_fluidstack.yaml"), 5000, 1)
    s = running_statistics(res)
    assert s["draws"][-1] == 5000
    m = res.metric_summary("npv")
    p = res.probability("npv_positive")
    assert s["mean"][-1] == pytest.approx(m["mean"], rel=1e-12)
    assert s["mean_se"][-1] == pytest.approx(m["mcse"], rel=1e-9)
    assert s["p"][-1] == pytest.approx(p["value"], abs=1e-12)
    assert s["p_se"][-1] == pytest.approx(p["mcse"], rel=1e-9)
    # the error shrinks roughly as 1/sqrt(n): at 100 draws about sqrt(50) times the final one
    assert 3 < s["mean_se"][0] / s["mean_se"][-1] < 12
    assert np.all(np.diff(s["draws"]) > 0)


def test_docs_link_works_from_any_folder(tmp_path):
    assert docs_href(ROOT / "reports" / "tour") == "../../docs"
    href = docs_href(tmp_path / "rep")
    assert (tmp_path / "rep" / href / "concepts.md").resolve() == (REPO_DOCS / "concepts.md")


def test_a_report_has_spider_stress_convergence_and_a_one_line_breakeven(tmp_path):
    from model.cli import main

    out = tmp_path / "rep"
    assert main(["report", str(ROOT / "assumptions" / "tour.yaml"), "--out", str(out)]) == 0
    md = (out / "report.md").read_text()
    for fig in ("sensitivity_spider", "sensitivity_stress", "convergence"):
        assert (out / "figures" / f"{fig}.png").is_file(), fig
    # tour.yaml: no input alone brings the NPV to zero, so the table is one sentence
    assert "No input alone brings the NPV to zero" in md
    assert "| Input | Median | Break-even value |" not in md
    href = docs_href(out)
    assert f"]({href}/concepts.md)" in md


def test_fan_legend_swatches_use_the_bands_colour():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.colors import to_rgba

    from model.reporting import figures as F

    res = simulate(load_scenario(ROOT / "assumptions" / "industry_600b_question.yaml"), 2000, 0)
    fig = F.revenue_gap_fan(res)
    handles = fig.fig.legends[0].legend_handles
    patches = [h for h in handles if hasattr(h, "get_facecolor") and "P25" in h.get_label()]
    assert patches and to_rgba(patches[0].get_facecolor())[:3] == to_rgba(F.PURPLE)[:3]
