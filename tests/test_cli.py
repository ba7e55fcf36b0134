"""The command line contract (DESIGN.md §4): commands, --json shape, exit codes, outputs."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from model.cli import main
from model.reporting.docs import render

ROOT = Path(__file__).resolve().parents[1]
VALID = ROOT / "tests" / "fixtures" / "valid_minimal.yaml"


def test_validate_without_path_checks_assumptions(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    assert main(["validate"]) == 0
    assert "anthropic_fluidstack.yaml" in capsys.readouterr().out


def test_python_dash_m_model_is_the_cli():
    out = subprocess.run(
        [sys.executable, "-m", "model", "validate", str(VALID)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    assert "ok  " in out.stdout


def test_run_json_has_the_documented_shape(capsys):
    assert main(["run", str(VALID), "--draws", "300", "--seed", "3", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert {
        "scenario",
        "model",
        "draws",
        "seed",
        "years",
        "metrics",
        "probabilities",
        "series",
        "provenance",
    } <= set(d)
    assert d["draws"] == 300 and d["seed"] == 3 and d["years"][0] == 2025
    for name in ("npv", "irr", "payback_years", "peak_funding", "levelized_cost_per_gpu_hour"):
        assert {
            "unit",
            "mean",
            "sd",
            "mcse",
            "p05",
            "p25",
            "p50",
            "p75",
            "p95",
            "undefined_share",
        } <= set(d["metrics"][name])
    assert set(d["probabilities"]) == {"npv_positive", "payback_within_horizon"}
    for p in d["probabilities"].values():
        assert 0 <= p["value"] <= 1 and p["mcse"] >= 0
    assert len(d["series"]["revenue"]["p50"]) == len(d["years"])
    assert d["provenance"] == {"parameters": 17, "sourced": 1, "hypothetical": 16}


def test_run_out_writes_results(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", str(VALID), "--draws", "200", "--out", str(out), "--quiet"]) == 0
    assert {"results.nc", "summary.csv", "summary.json"} <= {p.name for p in out.iterdir()}
    import xarray as xr

    with xr.open_dataset(out / "results.nc", engine="h5netcdf") as ds:
        assert ds.sizes["draw"] == 200 and ds.attrs["seed"] == 0


def test_compare_json_uses_common_random_numbers(capsys):
    assert (
        main(
            [
                "compare",
                str(VALID),
                "--scenario",
                "base",
                "--scenario",
                "bear",
                "--draws",
                "400",
                "--json",
            ]
        )
        == 0
    )
    d = json.loads(capsys.readouterr().out)
    assert [r["scenario"] for r in d["runs"]] == ["valid-minimal", "valid-minimal[bear]"]
    assert d["common_random_numbers"] is True
    assert "npv_per_dollar_capex" in d["runs"][0]["metrics"]


def test_compare_needs_two_runs(capsys):
    assert main(["compare", str(VALID)]) == 2
    assert "at least two runs" in capsys.readouterr().err


def test_bad_command_line_values_exit_2(capsys):
    assert main(["run", str(VALID), "--draws", "1"]) == 2
    assert "--draws" in capsys.readouterr().err


def test_sources_prints_the_bibliography(capsys):
    assert main(["sources", str(ROOT / "assumptions" / "anthropic_fluidstack.yaml")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Bibliography of")
    assert "cited by:" in out and "https://" in out


@pytest.mark.parametrize("kind", ["programme", "industry", "capex_ratio", "required_return"])
def test_new_writes_a_template_that_validates_and_runs(tmp_path, kind, capsys):
    path = tmp_path / f"{kind}.yaml"
    assert main(["new", f"my-{kind}", "--model", kind, "--out", str(path)]) == 0
    assert main(["validate", str(path)]) == 0
    assert main(["run", str(path), "--draws", "100", "--quiet"]) == 0
    assert main(["new", f"my-{kind}", "--out", str(path)]) == 2  # refuses to overwrite


def test_new_portfolio_writes_a_portfolio_and_its_members_that_run(tmp_path, capsys):
    path = tmp_path / "fleet.yaml"
    assert main(["new", "fleet", "--model", "portfolio", "--out", str(path)]) == 0
    assert (tmp_path / "fleet_a.yaml").is_file() and (tmp_path / "fleet_b.yaml").is_file()
    assert main(["validate", str(path)]) == 0
    assert "portfolio of 2 members (fleet-a, fleet-b)" in capsys.readouterr().out
    assert main(["portfolio", str(path), "--draws", "300", "--quiet"]) == 0
    assert main(["new", "fleet", "--model", "portfolio", "--out", str(path)]) == 2


def test_assumptions_readme_is_generated_from_the_vocabulary():
    # regenerate with: python -m model.cli.docs
    assert (ROOT / "assumptions" / "README.md").read_text(encoding="utf-8") == render()


def test_api_reference_is_current():
    """docs/api.md is generated from the docstrings (python -m model.cli.docs)."""
    from model.cli.docs import render_api

    assert (ROOT / "docs" / "api.md").read_text(encoding="utf-8") == render_api()
    assert "(no docstring)" not in render_api()


def test_currency_year_conversion_with_an_inflation_series(tmp_path):
    # a value in 2023 money, scenario in 2025 money, inflation 4 % (2024) and 3 % (2025):
    # 10B x 1.04 x 1.03 = 10.712B
    text = VALID.read_text().replace(
        "years: {start: 2025, end: 2030}",
        (
            "years: {start: 2025, end: 2030}\ncurrency_year: 2025\ninflation:\n"
            "  values: {2024: 0.04, 2025: 0.03}\n  unit: 1/year\n  hypothetical: test"
        ),
    )
    text = text.replace(
        "    value: 10B\n    unit: USD\n",
        "    value: 10B\n    unit: USD\n    currency_year: 2023\n",
    )
    path = tmp_path / "cy.yaml"
    path.write_text(text)
    from model import load_scenario

    sc = load_scenario(path)
    assert sc.parameters["capex_total"].dist.mean() == pytest.approx(10e9 * 1.04 * 1.03, rel=1e-12)
    # without the inflation series the conversion is refused, with a fix
    path.write_text(text.replace("inflation:", "inflation_off:"))
    assert main(["validate", str(path)]) == 2


def test_every_option_has_a_help_string_with_its_default():
    import argparse

    from model.cli.parser import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, p in sub.choices.items():
        for action in p._actions:
            if isinstance(action, argparse._HelpAction) or not action.option_strings:
                continue
            assert action.help, f"capex {name} {action.option_strings[0]} has no help"
        text = p.format_help()
        for action in p._actions:
            if (
                action.option_strings
                and action.default not in (None, False)
                and action.nargs != 0
                and action.default is not argparse.SUPPRESS
            ):
                assert f"(default: {action.default})" in " ".join(text.split()), (
                    name,
                    action.option_strings,
                    text,
                )


@pytest.mark.parametrize(
    "argv,hint",
    [
        (["rnu"], "did you mean 'run'?"),
        (["run", "--draw", "10"], "did you mean '--draws'?"),
        (["report", "--overlay"], "did you mean '--overlays'?"),
    ],
)
def test_a_mistyped_command_or_option_gets_a_did_you_mean(argv, hint):
    p = subprocess.run(
        [sys.executable, "-m", "model", *argv], capture_output=True, text=True, cwd=ROOT
    )
    assert p.returncode == 2 and hint in p.stderr, p.stderr


def test_errors_are_a_json_object_with_json(capsys):
    bad = ROOT / "tests" / "fixtures" / "bad" / "three_mistakes.yaml"
    assert main(["run", str(bad), "--json", "--quiet"]) == 2
    d = json.loads(capsys.readouterr().out)
    assert d["error"].startswith("3 problems found")
    assert [set(p) for p in d["problems"]] == [{"file", "line", "parameter", "message", "fix"}] * 3
    assert all(p["fix"] for p in d["problems"])
