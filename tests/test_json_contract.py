"""The ``--json`` contract for pipelines (docs/json.md): every command's JSON validates against
its published schema (docs/schema/, generated from the output vocabulary, checked for drift),
errors are a JSON object too (exit 2), identical inputs print identical bytes (timings only with
``--timings``), and ``compare`` carries paired differences with the error of the difference."""

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from jsonschema import Draft202012Validator

from model.analysis.compare import paired_differences, run_compare
from model.cli import main
from model.cli import schema as S
from model.cli.jsonout import JSON_SCHEMA_VERSION

ROOT = Path(__file__).resolve().parents[1]
A = ROOT / "assumptions"
FLUIDSTACK = A / "anthropic_fluidstack.yaml"
TOPDOWN = A / "anthropic_topdown.yaml"
INDUSTRY = A / "industry_600b_question.yaml"
VALID = ROOT / "tests" / "fixtures" / "valid_minimal.yaml"
USER_MODEL = ROOT / "tests" / "fixtures" / "user_model" / "gap.yaml"
SENS = ("--draws", "400", "--sobol-n", "64", "--resamples", "10")


def validator(name: str) -> Draft202012Validator:
    schema = json.loads((ROOT / "docs" / "schema" / f"{name}.schema.json").read_text("utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def assert_valid(name: str, obj: dict) -> None:
    errors = sorted(validator(name).iter_errors(obj), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message[:300]}" for e in errors)


def capex_json(capsys, *argv, code: int = 0) -> tuple[str, dict]:
    """Run ``capex ARGV --json`` (a ``None`` argument left out): (stdout, the one JSON object
    it is)."""
    assert main([str(a) for a in argv if a is not None] + ["--json"]) == code
    out = capsys.readouterr().out
    return out, json.loads(out)  # json.loads: exactly one object, nothing around it


# ============================================================================ schemas
def test_the_schemas_are_generated_and_current(monkeypatch):
    # regenerate with: python -m model.cli.schema
    for name in S.SCHEMAS:
        path = ROOT / "docs" / "schema" / f"{name}.schema.json"
        assert path.read_text(encoding="utf-8") == S.render(name), f"{path.name} drifted"
        Draft202012Validator.check_schema(json.loads(path.read_text("utf-8")))
    monkeypatch.chdir(ROOT)
    assert S.main(["--check"]) == 0


def test_the_schemas_list_every_output_of_the_vocabulary():
    from model.core.vocabulary import OUTPUT_LIST

    run = json.loads(S.render("run"))["properties"]
    for o in OUTPUT_LIST:
        group = {"metric": "metrics", "series": "series", "probability": "probabilities"}[o.kind]
        if o.kind == "metric" and not o.summarised:
            continue
        assert o.name in run[group]["properties"], o.name
    assert run["schema_version"] == {
        "const": JSON_SCHEMA_VERSION,
        "description": run["schema_version"]["description"],
    }


# ============================================================================ every command
@pytest.mark.parametrize(
    "name,argv",
    [
        ("run", ["run", FLUIDSTACK, "--draws", "500"]),
        ("run", ["run", INDUSTRY, "--draws", "500"]),
        ("run", ["run", VALID, "--design", "lhs", "--draws", "512", "--prob", "irr>0.1"]),
        ("run", ["run", VALID, "--precision", "npv:mean=2B", "--quiet"]),
        ("run", ["run", VALID, "--draws", "300", "--timings"]),
        ("compare", ["compare", FLUIDSTACK, TOPDOWN, "--draws", "500"]),
        ("compare", ["compare", INDUSTRY, "--scenario", "base", "--scenario", "sequoia-2023"]),
        ("compare", ["compare", FLUIDSTACK, INDUSTRY, "--draws", "300", "--timings"]),
        ("compare", ["compare", A / "ai_buildout.yaml", FLUIDSTACK, "--draws", "300"]),
        ("portfolio", ["portfolio", A / "ai_buildout.yaml", "--draws", "300", "--timings"]),
        ("sensitivity", ["sensitivity", FLUIDSTACK, *SENS]),
        ("sensitivity", ["sensitivity", INDUSTRY, *SENS, "--timings"]),
        ("sensitivity", ["sensitivity", VALID, "--method", "tornado,rank", "--draws", "300"]),
        ("validate", ["validate", A]),
        ("sources", ["sources", FLUIDSTACK]),
        ("sources", ["sources", INDUSTRY]),
    ],
)
def test_every_json_output_validates_against_its_schema(capsys, name, argv):
    quiet = "--quiet" if name in ("run", "compare", "sensitivity", "portfolio") else None
    _, d = capex_json(capsys, *argv, quiet)
    assert d["schema_version"] == JSON_SCHEMA_VERSION
    assert ("timings_seconds" in d) == ("--timings" in argv)
    assert_valid(name, d)


@pytest.mark.slow
def test_calibrate_json_validates(capsys):
    obs = A / "observations" / "h100_rental_price.csv"
    argv = ["calibrate", obs, "--draws", "200", "--tune", "200", "--quiet", "--target", "2028:1"]
    _, d = capex_json(capsys, *argv)
    assert_valid("calibrate", d)


@pytest.mark.slow
def test_calibrated_run_and_compare_validate(capsys, tmp_path):
    """Calibrated inputs: clustered errors, the posterior check (three fits), the capacity
    bound; the shipped file with a short sampler (200 draws, 2 chains), so it takes ~40 s."""
    shutil.copytree(A, tmp_path / "a")
    cal = tmp_path / "a" / "anthropic_calibrated.yaml"
    text = cal.read_text("utf-8")
    sampler = "      draws: 2000\n      tune: 2000\n      chains: 4\n"
    assert sampler in text
    cal.write_text(text.replace(sampler, "      draws: 200\n      tune: 200\n      chains: 2\n"))
    _, d = capex_json(capsys, "run", cal, "--draws", "500", "--quiet")
    assert d["errors"]["method"] == "clustered" and "posterior_check" in d
    assert "revenue_capped_share" in d
    assert_valid("run", d)
    _, d = capex_json(capsys, "compare", cal, FLUIDSTACK, "--draws", "500", "--quiet")
    assert d["paired_differences"][0]["errors"]["method"] == "clustered"
    assert_valid("compare", d)


def test_a_user_models_own_metrics_validate(capsys):
    """A metric name the vocabulary does not know validates against the generic summary."""
    _, d = capex_json(capsys, "run", VALID, "--draws", "300", "--quiet")
    d["model"] = "python:my_model.py:f"
    d["metrics"] = {"saving": {**d["metrics"]["npv"], "unit": "USD"}}
    d["series"] = {"cash": d["series"]["fcf"]}
    d["probabilities"] = {}
    assert_valid("run", d)
    d["metrics"]["saving"] = {"unit": "USD", "mean": 1.0}  # not a summary
    assert list(validator("run").iter_errors(d))
    if USER_MODEL.is_file():  # the shipped user-model fixture, end to end
        _, d = capex_json(capsys, "run", USER_MODEL, "--draws", "300", "--quiet")
        assert_valid("run", d)


# ============================================================================ errors
def _broken_copy(tmp_path: Path) -> Path:
    """A shipped file (and the base it extends) in tmp_path, with one unit broken."""
    shutil.copy(A / "base.yaml", tmp_path / "base.yaml")
    text = FLUIDSTACK.read_text("utf-8")
    assert text.count("    unit: share\n") >= 1
    path = tmp_path / "broken.yaml"
    path.write_text(text.replace("    unit: share\n", "    unit: GW\n", 1), "utf-8")
    return path


@pytest.mark.parametrize("command", ["run", "sensitivity", "sources", "validate", "compare"])
def test_a_broken_file_is_one_json_error_object(capsys, tmp_path, command):
    path = _broken_copy(tmp_path)
    argv = [command, path] + ([FLUIDSTACK] if command == "compare" else [])
    _, d = capex_json(capsys, *argv, code=2)
    assert_valid("error", d)
    (p,) = d["problems"]
    assert p["file"].endswith("broken.yaml") and p["line"] and p["parameter"] == "capex_schedule"
    assert "GW" in p["message"] and p["fix"]


@pytest.mark.parametrize("command", ["run", "sensitivity", "sources", "validate", "calibrate"])
def test_a_missing_file_is_a_json_error_object(capsys, tmp_path, command):
    _, d = capex_json(capsys, command, tmp_path / "missing.yaml", code=2)
    assert_valid("error", d)
    assert d["problems"][0]["file"].endswith("missing.yaml") and d["problems"][0]["fix"]


@pytest.mark.parametrize(
    "argv,parameter",
    [
        (["run", FLUIDSTACK, "--draws", "abc"], "--draws"),
        (["run", FLUIDSTACK, "--design", "halton"], "--design"),
        (["compare", FLUIDSTACK, TOPDOWN, "--seed", "x"], "--seed"),
        (["sensitivity", FLUIDSTACK, "--bogus"], "--bogus"),
        (["calibrate"], "PATH"),
        (["run", FLUIDSTACK, "--draws", "1"], "--draws"),  # parsed, then refused
    ],
)
def test_a_bad_command_line_is_a_json_error_object(capsys, argv, parameter):
    try:
        code = main([str(a) for a in argv] + ["--json"])
    except SystemExit as e:  # argparse's own errors
        code = e.code
    assert code == 2
    captured = capsys.readouterr()
    d = json.loads(captured.out)
    assert_valid("error", d)
    assert d["problems"][0]["parameter"] == parameter and d["problems"][0]["fix"]
    assert "usage:" in captured.err or "capex:" in captured.err  # stderr as without --json


def test_without_json_a_bad_command_line_prints_nothing_on_stdout(capsys):
    with pytest.raises(SystemExit):
        main(["run", str(FLUIDSTACK), "--draws", "abc"])
    assert capsys.readouterr().out == ""


# ============================================================================ determinism
@pytest.mark.parametrize(
    "argv",
    [
        ["run", FLUIDSTACK, "--draws", "1000", "--seed", "3", "--quiet"],
        ["sensitivity", VALID, *SENS],
        ["compare", FLUIDSTACK, TOPDOWN, "--draws", "500", "--quiet"],
    ],
)
def test_identical_inputs_print_identical_bytes(capsys, argv):
    first, d = capex_json(capsys, *argv)
    second, _ = capex_json(capsys, *argv)
    assert first == second
    assert "timings" not in first and "seconds" not in first


# ============================================================================ paired differences
def _pair(paths, draws=2000, design="mc"):
    results = run_compare([(str(p), None) for p in paths], draws, 0, design)
    return results, paired_differences(results)


def test_the_paired_difference_is_the_mean_of_the_per_draw_differences():
    (a, b), (p,) = _pair([FLUIDSTACK, TOPDOWN])
    d = a.metric("npv") - b.metric("npv")
    n = d.size
    assert p["metric"] == "npv" and p["pairs"] == n == 2000
    assert p["mean_difference"]["value"] == pytest.approx(d.mean(), rel=1e-12)
    # independent draws: MCSE of a mean of n paired differences = sd(d) / sqrt(n), sd with n - 1
    sd = math.sqrt(((d - d.mean()) ** 2).sum() / (n - 1))
    assert p["mean_difference"]["mcse"] == pytest.approx(sd / math.sqrt(n), rel=1e-9)
    # P(A > B) = share of draws with d > 0, MCSE sqrt(p (1 - p) / (n - 1)) (the sd of 0/1 / sqrt(n))
    share = float(np.mean(d > 0))
    assert p["prob_a_greater"]["value"] == pytest.approx(share)
    assert p["prob_a_greater"]["mcse"] == pytest.approx(math.sqrt(share * (1 - share) / (n - 1)))
    med = np.median(a.metric("npv")) - np.median(b.metric("npv"))
    assert p["median_difference"] == pytest.approx(med, rel=1e-12)
    # unpaired: sqrt(se_a^2 + se_b^2), each se = sd / sqrt(n)
    se = [x.std(ddof=1) / math.sqrt(n) for x in (a.metric("npv"), b.metric("npv"))]
    assert p["unpaired_mcse"] == pytest.approx(math.hypot(*se), rel=1e-9)


def test_common_random_numbers_make_the_paired_error_much_smaller(tmp_path):
    """The same programme at $55B instead of $50B: every input is shared, so each draw's NPV
    moves together and the paired error is a small fraction of the independent-runs error."""
    shutil.copy(A / "base.yaml", tmp_path / "base.yaml")
    text = FLUIDSTACK.read_text("utf-8").replace("name: anthropic-fluidstack", "name: bigger")
    bigger = tmp_path / "bigger.yaml"
    bigger.write_text(text.replace("    value: 50B\n", "    value: 55B\n", 1), "utf-8")
    _, (p,) = _pair([FLUIDSTACK, bigger])
    assert p["mean_difference"]["value"] > 0  # the bigger build loses more
    assert p["mean_difference"]["mcse"] < 0.2 * p["unpaired_mcse"]
    assert p["prob_a_greater"]["value"] > 0.95


def test_replicated_designs_pair_on_the_replicates():
    """lhs: the error of the difference is the spread of its replicate means / sqrt(R)."""
    (a, b), (p,) = _pair([FLUIDSTACK, TOPDOWN], draws=1024, design="lhs")
    assert p["errors"]["method"] == "replicates"
    d = a.metric("npv") - b.metric("npv")
    rep = a.errors.replicate
    means = np.array([d[rep == r].mean() for r in range(rep.max() + 1)])
    expected = means.std(ddof=1) / math.sqrt(means.size)
    assert p["mean_difference"]["mcse"] == pytest.approx(expected, rel=1e-9)


def test_compare_prints_the_paired_difference_as_json_and_text(capsys):
    argv = ["compare", FLUIDSTACK, TOPDOWN, "--draws", "2000", "--quiet"]
    _, d = capex_json(capsys, *argv)
    _, (p,) = _pair([FLUIDSTACK, TOPDOWN])
    assert d["paired_differences"][0]["mean_difference"] == p["mean_difference"]
    assert main([str(a) for a in argv]) == 0
    text = capsys.readouterr().out
    line = next(x for x in text.splitlines() if "anthropic-fluidstack - anthropic-topdown" in x)
    assert "± " in line and "independent runs" in line and "difference of medians" in line


def test_runs_without_a_common_metric_are_not_paired(capsys):
    _, d = capex_json(capsys, "compare", FLUIDSTACK, INDUSTRY, "--draws", "300", "--quiet")
    assert d["paired_differences"] == []
    assert any("share no metric" in w for w in d["warnings"])
