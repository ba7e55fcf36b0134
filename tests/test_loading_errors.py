"""Bad input gets a clear, located error and exit code 2, never a traceback.

Each case is a fixture file under tests/fixtures/bad/ (a mutation of
tests/fixtures/valid_minimal.yaml) with the line the error must point at and a phrase the message
must contain (what is wrong, and how to fix it).
"""

from pathlib import Path

import pytest

from model import AssumptionError, load_scenario
from model.cli import main

BAD = Path(__file__).parent / "fixtures" / "bad"
VALID = Path(__file__).parent / "fixtures" / "valid_minimal.yaml"

CASES = [
    # fixture, expected line, phrase in the message
    ("yaml_syntax", 15, "YAML syntax error"),
    ("empty", 1, "empty"),
    ("top_not_mapping", 1, "top level must be a mapping"),
    ("unknown_schema", 1, "unknown schema version 7"),
    ("unknown_model", 4, "did you mean 'programme'"),
    ("unknown_parameter", 63, "did you mean 'pue'"),
    ("missing_required", 12, "lead_time [years], pue [ratio]"),
    ("no_provenance", 21, "neither 'source' nor 'hypothetical'"),
    ("both_provenance", 24, "both 'source' and 'hypothetical'"),
    ("empty_rationale", 24, "'hypothetical' is empty"),
    ("source_key_missing", 16, "did you mean 'test-source'"),
    ("source_no_title", 7, "no title"),
    ("source_no_url", 7, "neither url nor doi"),
    ("malformed_date", 10, "malformed date '2025-13-45'"),
    ("unit_missing", 21, "unit missing; add 'unit: years'"),
    ("unit_wrong_dimension", 23, "lead_time is in years"),
    ("non_numeric", 22, "'one year' is not a number"),
    ("nan_value", 22, "not a finite number"),
    ("inf_value", 64, "not a finite number"),
    ("unknown_family", 26, "unknown distribution family 'uniformish'"),
    ("p05_ge_p95", 59, "p05 (3.5) must be below p95 (1.5)"),
    ("negative_sd", 38, "sd must be > 0"),
    ("lognormal_nonpositive", 59, "quantiles must be > 0"),
    ("beta_outside", 53, "quantiles must lie inside (0, 1)"),
    ("triangular_mode_outside", 28, "lies outside [low, high]"),
    ("discrete_probs", 28, "probabilities sum to 1.1, not 1"),
    ("share_outside", 32, "outside the valid range [0, 1]"),
    ("schedule_sum", 18, "shares sum to 1.1, not 1"),
    ("series_year_outside", 18, "series year 2036 is outside years 2025-2030"),
    ("extends_missing", 6, "extends file 'no_such_base.yaml': not found"),
    ("cycle_a", 4, "makes a cycle"),
    ("corr_unknown", 92, "did you mean 'utilisation'"),
    ("corr_fixed", 92, "'pue' is fixed"),
    ("corr_range", 92, "outside [-1, 1]"),
    ("corr_duplicate", 93, "duplicate pair"),
    ("corr_nonpsd", 92, "not positive semi-definite"),
]


def test_valid_fixture_loads():
    sc = load_scenario(VALID)
    assert sc.provenance_counts() == {"parameters": 17, "sourced": 1, "hypothetical": 16}
    assert [p.name for p in sc.uncertain()] == [
        "capex_per_mw",
        "compute_life",
        "utilisation",
        "price_per_gpu_hour",
    ]


@pytest.mark.parametrize("fixture,line,phrase", CASES, ids=[c[0] for c in CASES])
def test_bad_file_is_one_located_clear_error(fixture, line, phrase):
    path = BAD / f"{fixture}.yaml"
    with pytest.raises(AssumptionError) as info:
        load_scenario(path)
    problems = info.value.problems
    hits = [p for p in problems if phrase in p.message]
    assert hits, f"no problem mentions {phrase!r}: {[str(p) for p in problems]}"
    assert hits[0].line == line
    # no cascade: the one mistake is reported once
    assert len(problems) == 1, [str(p) for p in problems]
    # every message says what is wrong, then after ';' what to do
    assert "; " in hits[0].message


def test_yaml_syntax_error_has_column():
    with pytest.raises(AssumptionError) as info:
        load_scenario(BAD / "yaml_syntax.yaml")
    assert info.value.problems[0].column == 9


@pytest.mark.parametrize("fixture", [c[0] for c in CASES])
def test_cli_exit_code_2_and_no_traceback(fixture, capsys):
    code = main(["validate", str(BAD / f"{fixture}.yaml")])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    first = err.splitlines()[0]
    assert "fixtures/bad/" in first.split(".yaml:")[0]  # starts with file:line
    assert first.split(".yaml:")[1].split(":")[0].isdigit()


def test_three_mistakes_give_three_lines_with_their_lines(capsys):
    code = main(["validate", str(BAD / "three_mistakes.yaml")])
    err = capsys.readouterr().err.strip().splitlines()
    located = [
        line
        for line in err
        if line.startswith(str(BAD / "three_mistakes.yaml")) or "three_mistakes.yaml:" in line
    ]
    assert code == 2
    assert len(located) == 3
    assert [int(line.split(".yaml:")[1].split(":")[0]) for line in located] == [10, 33, 63]


def test_unknown_overlay_name_lists_the_available_ones():
    with pytest.raises(AssumptionError) as info:
        load_scenario(VALID, scenario="beer")
    msg = str(info.value)
    assert "unknown scenario overlay 'beer'" in msg
    assert "did you mean 'bear'" in msg


def test_overlay_replaces_the_whole_entry():
    base = load_scenario(VALID)
    bear = load_scenario(VALID, scenario="bear")
    assert base.parameters["price_per_gpu_hour"].dist.family == "lognormal"
    assert bear.parameters["price_per_gpu_hour"].dist.family == "uniform"
    assert bear.label == "valid-minimal[bear]"
    assert base.input_hash != bear.input_hash


def test_run_on_bad_file_exits_2_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["run", str(BAD / "schedule_sum.yaml"), "--out", str(out), "--draws", "10"])
    assert code == 2
    assert not out.exists()
