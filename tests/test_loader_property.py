"""Property: whatever the input, the loader returns a Scenario or raises AssumptionError, never
another exception (which the CLI would show as an internal error)."""

import os
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model import AssumptionError, load_scenario
from model.core.scenario import Scenario

VALID = (Path(__file__).parent / "fixtures" / "valid_minimal.yaml").read_text()
LINES = VALID.splitlines()

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["50B", "1.5T", "p05", "dist", "nan", "2025-13-01", "uniform", "share"]),
)
keys = st.one_of(
    st.sampled_from(
        [
            "schema",
            "name",
            "model",
            "years",
            "parameters",
            "sources",
            "correlations",
            "scenarios",
            "extends",
            "value",
            "dist",
            "unit",
            "source",
            "hypothetical",
            "values",
            "capex_total",
            "pue",
            "p05",
            "p95",
            "low",
            "high",
            "start",
            "end",
            "partial",
        ]
    ),
    st.text(max_size=8),
    st.integers(1990, 2100),
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=6)),
    max_leaves=30,
)

# CAPEX_HYPOTHESIS_EXAMPLES=1500 for a deeper search (it passed 1,500 examples per test)
SETTINGS = settings(
    max_examples=int(os.environ.get("CAPEX_HYPOTHESIS_EXAMPLES", "80")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _load(tmp_path, text: str):
    path = tmp_path / "doc.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        result = load_scenario(path)
    except AssumptionError as e:
        assert e.problems and all(str(p) for p in e.problems)
        for p in e.problems:  # every message says what is wrong; then what to do
            assert "; " in p.message and p.message.split("; ", 1)[1].strip(), str(p)
        return None
    assert isinstance(result, Scenario)
    return result


@SETTINGS
@given(doc=documents)
def test_arbitrary_yaml_documents(tmp_path, doc):
    result = _load(tmp_path, yaml.safe_dump(doc, allow_unicode=True))
    assert result is None or isinstance(result, Scenario)


@SETTINGS
@given(doc=st.dictionaries(keys, documents, max_size=8))
def test_arbitrary_mappings_with_a_valid_header(tmp_path, doc):
    base = yaml.safe_load(VALID)
    base.update(doc)
    result = _load(tmp_path, yaml.safe_dump(base, allow_unicode=True))
    assert result is None or isinstance(result, Scenario)


mutation = st.tuples(
    st.integers(0, len(LINES) - 1),
    st.sampled_from(["delete", "duplicate", "replace_value", "indent", "dedent", "garbage"]),
    st.text(max_size=10),
)


@SETTINGS
@given(mutations=st.lists(mutation, min_size=1, max_size=4))
def test_mutated_valid_file(tmp_path, mutations):
    lines = list(LINES)
    for index, kind, text in mutations:
        i = index % len(lines)
        line = lines[i]
        if kind == "delete":
            del lines[i]
        elif kind == "duplicate":
            lines.insert(i, line)
        elif kind == "replace_value" and ":" in line:
            lines[i] = line.split(":", 1)[0] + ": " + text
        elif kind == "indent":
            lines[i] = "  " + line
        elif kind == "dedent":
            lines[i] = line[2:]
        else:
            lines[i] = line + text
        if not lines:
            lines = [""]
    result = _load(tmp_path, "\n".join(lines) + "\n")
    assert result is None or isinstance(result, Scenario)
