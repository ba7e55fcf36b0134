"""User models (``model: python`` and installed ``capex.models`` entry points) on the engine.

Truth: the revenue-gap arithmetic of tests/fixtures/user_model/gap_model.py with normal inputs
and fixed multiplier and margin is linear, gap = 2 / (1 - 0.5) x A - R = 4 A - R with
A ~ N(150B, 20B) and R ~ N(100B, 30B) independent, so gap ~ N(500B, sqrt(80^2 + 30^2) B =
85.44B): its quantiles are 500B + z_p 85.44B, and its first-order Sobol' indices are the
variance shares 6400/7300 and 900/7300 (Saltelli 2010: additive model, S1 = ST).
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from model.analysis.sensitivity import sensitivity
from model.core.errors import AssumptionError
from model.engine.simulate import simulate
from model.loading.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "user_model"
MEAN, SD = 500e9, math.hypot(80e9, 30e9)


@pytest.fixture()
def model_dir(tmp_path):
    """A copy of the fixture (tests edit it)."""
    d = tmp_path / "um"
    shutil.copytree(FIXTURE, d)
    return d


def _capex(*args, cwd=None, env=None):
    return subprocess.run(
        [sys.executable, "-m", "model", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
    )


def test_quantiles_match_the_closed_form():
    res = simulate(load_scenario(FIXTURE / "gap.yaml"), draws=40_000, seed=1)
    s = res.metric_summary("gap_final")
    for key, p in (("p05", 0.05), ("p50", 0.5), ("p95", 0.95)):
        truth = MEAN + stats.norm.ppf(p) * SD
        # within 4 Monte Carlo standard errors of the quantile (its own error estimate)
        assert abs(s[key] - truth) < 4 * s["quantile_mcse"][key], key
    assert abs(s["mean"] - MEAN) < 4 * s["mcse"]
    # the declared series is returned by year
    assert res.series_values("revenue_required").shape[1] == 3


def test_sobol_indices_match_the_variance_shares():
    sc = load_scenario(FIXTURE / "gap.yaml")
    r = sensitivity(sc, methods=("sobol",), draws=1000, seed=2, sobol_n=2048)
    assert r.output == "gap_final"  # the first declared metric is the default output
    table = r.sobol.set_index("input")
    for name, share in (("accelerator_revenue", 6400 / 7300), ("ai_revenue", 900 / 7300)):
        assert table.loc[name, "S1"] == pytest.approx(share, abs=table.loc[name, "S1_conf"])


def test_results_do_not_depend_on_chunk_size_or_workers():
    sc = load_scenario(FIXTURE / "gap.yaml")
    one = simulate(sc, draws=20_000, seed=5, workers=1)
    small = simulate(sc, draws=20_000, seed=5, chunk_size=3_000, workers=1)
    forked = simulate(sc, draws=20_000, seed=5, chunk_size=4_096, workers=2, parallel="processes")
    for other in (small, forked):
        np.testing.assert_array_equal(one.metric("gap_final"), other.metric("gap_final"))


def test_cli_runs_validates_and_reports_a_user_model(model_dir, tmp_path):
    p = _capex("validate", model_dir / "gap.yaml")
    assert p.returncode == 0, p.stderr
    assert "gap_model.py:revenue_gap" in p.stdout
    p = _capex("run", model_dir / "gap.yaml", "--draws", "2000", "--json")
    assert p.returncode == 0, p.stderr
    assert '"gap_final"' in p.stdout
    out = tmp_path / "rep"
    p = _capex("report", model_dir / "gap.yaml", "--draws", "2000", "--out", out)
    assert p.returncode == 0, p.stderr
    md = (out / "report.md").read_text()
    assert "User model gap\\_model.py:revenue\\_gap" in md and "P(gap\\_final > 0)" in md
    assert (out / "figures" / "gap_final_distribution.png").stat().st_size > 10_000


def test_a_parameter_without_provenance_is_exit_2(model_dir):
    f = model_dir / "gap.yaml"
    f.write_text(f.read_text().replace("    hypothetical: fixed for the closed form\n", "", 1))
    p = _capex("validate", f)
    assert p.returncode == 2
    assert "gap.yaml:19: end_user_margin: has neither" in p.stderr and "Traceback" not in p.stderr


def test_an_exception_in_the_model_is_exit_2_naming_the_users_file(model_dir):
    py = model_dir / "gap_model.py"
    py.write_text(py.read_text().replace("    required =", "    1 / 0\n    required =", 1))
    p = _capex("run", model_dir / "gap.yaml", "--draws", "20000", "--workers", "2")
    assert p.returncode == 2, p.stderr
    assert "gap_model.py:10: revenue_gap: ZeroDivisionError" in p.stderr
    assert "not in capex" in p.stderr and "1 / 0" in p.stderr
    assert "internal error" not in p.stderr
    # the same from forked workers and from threads
    sc = load_scenario(model_dir / "gap.yaml")
    for parallel in ("processes", "threads"):
        with pytest.raises(AssumptionError, match="ZeroDivisionError") as e:
            simulate(sc, draws=20_000, chunk_size=4_096, workers=2, parallel=parallel)
        assert e.value.problems[0].file.endswith("gap_model.py")
        assert e.value.problems[0].line == 10


def test_a_wrong_output_shape_and_a_missing_function_are_exit_2(model_dir):
    py = model_dir / "gap_model.py"
    py.write_text(py.read_text().replace('"gap_final": gap[:, -1]', '"gap_final": gap', 1))
    p = _capex("run", model_dir / "gap.yaml", "--draws", "500")
    assert p.returncode == 2 and "gap_final" in p.stderr and "shape" in p.stderr
    f = model_dir / "gap.yaml"
    f.write_text(f.read_text().replace("gap_model.py:revenue_gap", "gap_model.py:revenue_gapp"))
    p = _capex("validate", f)
    assert p.returncode == 2 and "did you mean 'revenue_gap'" in p.stderr


def test_outputs_are_checked_on_load(model_dir):
    f = model_dir / "gap.yaml"
    text = f.read_text()
    f.write_text(
        text.replace(
            "    unit: USD/year\n    kind: metric", "    unit: USD bn/year\n    kind: metric"
        )
    )
    with pytest.raises(AssumptionError, match="scaled form"):
        load_scenario(f)
    f.write_text(text.replace("kind: metric", "kind: series"))
    with pytest.raises(AssumptionError, match="at least one"):
        load_scenario(f)


def test_changing_the_model_code_changes_the_input_hash(model_dir):
    before = load_scenario(model_dir / "gap.yaml").input_hash
    py = model_dir / "gap_model.py"
    py.write_text(py.read_text() + "\n# a comment\n")
    assert load_scenario(model_dir / "gap.yaml").input_hash != before


PLUGIN = '''\
"""A test package that installs a capex model through the capex.models entry points."""

from model import ModelDefinition


def lease_saving(inputs, years):
    """Lease versus own: the saving of owning over the horizon, undiscounted."""
    own = inputs["capex"] + inputs["opex"] * years.size
    lease = inputs["lease_per_year"] * years.size
    return {"saving": lease - own}


lease = ModelDefinition(
    function=lease_saving,
    outputs={"saving": {"unit": "USD", "kind": "metric", "description": "Lease minus own."}},
    description="Lease versus own (test plugin)",
)
'''


def test_a_model_installed_through_an_entry_point_runs_by_name(tmp_path):
    site = tmp_path / "site"
    pkg = site / "capex_test_plugin"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(PLUGIN)
    # what pip writes for a package with [project.entry-points."capex.models"]
    info = site / "capex_test_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: capex-test-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[capex.models]\ncapex_test_plugin.lease = capex_test_plugin:lease\n"
    )
    f = tmp_path / "lease.yaml"
    f.write_text(
        textwrap.dedent("""\
            schema: 1
            name: lease-test
            title: Lease versus own (test)
            model: capex_test_plugin.lease
            years: {start: 2026, end: 2030}
            parameters:
              capex: {value: 10B, unit: USD, hypothetical: test}
              opex: {value: 1B, unit: USD/year, hypothetical: test}
              lease_per_year:
                dist: uniform
                low: 2B
                high: 4B
                unit: USD/year
                hypothetical: test
            """)
    )
    env = {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{ROOT}"}
    p = _capex("run", f, "--draws", "4000", "--json", env=env)
    assert p.returncode == 0, p.stderr
    import json

    d = json.loads(p.stdout)
    # saving = 5 x lease - (10B + 5 x 1B) with lease ~ U(2B, 4B): mean 5 x 3B - 15B = 0
    m = d["metrics"]["saving"]
    assert abs(m["mean"]) < 4 * m["mcse"]
    assert d["model"] == "capex_test_plugin.lease"
    bad = f.read_text().replace("capex_test_plugin.lease", "capex_test_plugin.leas")
    f.write_text(bad)
    p = _capex("validate", f, env=env)
    assert p.returncode == 2 and "did you mean 'capex_test_plugin.lease'" in p.stderr


def test_capex_new_python_writes_a_model_that_validates_runs_and_reports(tmp_path):
    from model.cli import main

    path = tmp_path / "lease.yaml"
    assert main(["new", "my-lease", "--python", "--out", str(path)]) == 0
    assert (tmp_path / "lease_model.py").is_file()
    assert main(["validate", str(path)]) == 0
    assert main(["run", str(path), "--draws", "500", "--quiet"]) == 0
    assert main(["sensitivity", str(path), "--draws", "256", "--method", "tornado"]) == 0
    assert main(["new", "my-lease", "--python", "--out", str(path)]) == 2  # refuses to overwrite
    # the template's arithmetic by hand: every input fixed -> the closed form of its docstring
    sc = load_scenario(path).with_values(
        reason="hand check",
        gpu_price=40_000.0,
        lease_rate=2.5,
        own_opex=0.4,
        resale_share=0.15,
        discount_rate=0.10,
    )
    t = np.arange(1, 6)
    by_hand = (2.1 * 8760 / 1.1**t).sum() - 40_000 + 0.15 * 40_000 / 1.1**5
    npv = simulate(sc, draws=10, seed=0).metric("npv_own_minus_lease")
    np.testing.assert_allclose(npv, by_hand, rtol=1e-12)
