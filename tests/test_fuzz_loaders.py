"""Fuzz: whatever the bytes, the observation, priors, data and portfolio loaders (and the YAML
reader under the assumption loader) return a value or raise the project's error, never another
exception; every message they give says what to do (``...; fix``).

Hypothesis runs derandomized under CI (tests/conftest.py); CAPEX_HYPOTHESIS_EXAMPLES raises the
number of examples for a deeper search.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.core.errors import AssumptionError
from model.loading.observations import COLUMNS, load_data, load_observations
from model.loading.portfolio import load_portfolio
from model.loading.priors import load_priors
from model.loading.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
OBS = ROOT / "assumptions" / "observations"
SETTINGS = settings(
    max_examples=int(os.environ.get("CAPEX_HYPOTHESIS_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

OBS_LINES = (OBS / "anthropic_revenue.csv").read_text().splitlines()
PRIOR_LINES = (OBS / "priors.yaml").read_text().splitlines()
DATA_HEADER = "value,unit,source_title,publisher,published,address,quote,confidence,date,note"
DATA_ROW = (
    "2.1,USD/GPU-hour,A title,A publisher,2025-03,https://example.org/a,a quote,"
    "secondary,2025-03-01,"
)

cells = st.one_of(
    st.sampled_from(
        [
            "",
            "2025-02-30",
            "1850-01-01",
            "2025",
            "1B",
            "-3",
            "nan",
            "inf",
            "run_rate",
            "projection",
            "USD/year",
            "USD/GPU-hour",
            "GW",
            "direct",
            "n.d.",
            "http://x",
            '"',
            '""',
            "\x00",
            "#",
            "2.5e400",
            "1e-400",
            "True",
        ]
    ),
    st.text(max_size=12),
)


def _check(fn, *args):
    try:
        fn(*args)
    except AssumptionError as e:
        assert e.problems
        for p in e.problems:
            assert "; " in p.message and p.message.split("; ", 1)[1].strip(), str(p)


def _mutate(lines, edits):
    lines = list(lines)
    for index, kind, text in edits:
        if not lines:
            lines = [""]
        i = index % len(lines)
        if kind == "delete":
            del lines[i]
        elif kind == "duplicate":
            lines.insert(i, lines[i])
        elif kind == "cell" and "," in lines[i]:
            parts = lines[i].split(",")
            parts[index % len(parts)] = text
            lines[i] = ",".join(parts)
        elif kind == "value" and ":" in lines[i]:
            lines[i] = lines[i].split(":", 1)[0] + ": " + text
        else:
            lines[i] = lines[i] + text
    return "\n".join(lines) + "\n"


edits = st.lists(
    st.tuples(
        st.integers(0, 200),
        st.sampled_from(["delete", "duplicate", "cell", "value", "append"]),
        cells,
    ),
    min_size=1,
    max_size=5,
)


@SETTINGS
@given(edits=edits)
def test_observation_loader(tmp_path, edits):
    path = tmp_path / "obs.csv"
    path.write_text(_mutate(OBS_LINES, edits), encoding="utf-8")
    _check(load_observations, path)


@SETTINGS
@given(rows=st.lists(st.lists(cells, min_size=0, max_size=len(COLUMNS) + 2), max_size=6))
def test_observation_loader_arbitrary_rows(tmp_path, rows):
    path = tmp_path / "obs.csv"
    text = ",".join(COLUMNS) + "\n" + "\n".join(",".join(r) for r in rows) + "\n"
    path.write_text(text, encoding="utf-8")
    _check(load_observations, path)


def _portfolio_lines() -> list[str]:
    """The lines of the portfolio that ``capex new NAME --model portfolio`` writes (it and its
    two members validate), written once into a temporary folder."""
    import tempfile

    from model.cli.commands.new import write_portfolio_template

    with tempfile.TemporaryDirectory() as d:
        out = write_portfolio_template("fuzz", Path(d) / "fuzz.yaml")[0]
        return out.read_text(encoding="utf-8").splitlines()


PORTFOLIO_LINES = _portfolio_lines()


@SETTINGS
@given(edits=edits)
def test_portfolio_loader(tmp_path, edits):
    """Mutated portfolio files (members, shared inputs, correlations, parameters) beside their
    two valid members."""
    from model.cli.commands.new import write_portfolio_template

    path = tmp_path / "fuzz.yaml"
    if not (tmp_path / "fuzz_a.yaml").exists():
        write_portfolio_template("fuzz", path)
    path.write_text(_mutate(PORTFOLIO_LINES, edits), encoding="utf-8")
    _check(load_portfolio, path)


@SETTINGS
@given(edits=edits)
def test_priors_loader(tmp_path, edits):
    path = tmp_path / "priors.yaml"
    path.write_text(_mutate(PRIOR_LINES, edits), encoding="utf-8")
    _check(load_priors, path)


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=10),
    st.sampled_from(["2026-02-30", "lognormal", "normal", "10B", "USD/year"]),
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.one_of(
                st.sampled_from(
                    [
                        "models",
                        "logistic",
                        "exponential",
                        "reference_date",
                        "level",
                        "growth",
                        "noise",
                        "distribution",
                        "median",
                        "sigma",
                        "mu",
                        "unit",
                        "source",
                        "hypothetical",
                        "title",
                        "url",
                        "published",
                        "publisher",
                    ]
                ),
                st.text(max_size=6),
            ),
            inner,
            max_size=5,
        ),
    ),
    max_leaves=25,
)


@SETTINGS
@given(doc=documents)
def test_priors_loader_arbitrary_documents(tmp_path, doc):
    path = tmp_path / "priors.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    _check(load_priors, path)


@SETTINGS
@given(edits=edits, column=st.sampled_from(["value", "price", ""]))
def test_data_loader(tmp_path, edits, column):
    path = tmp_path / "data.csv"
    path.write_text(
        _mutate([DATA_HEADER, DATA_ROW, DATA_ROW.replace("2.1", "2.4")], edits), encoding="utf-8"
    )
    _check(load_data, path, column or "value")


@SETTINGS
@given(data=st.binary(max_size=300))
def test_every_loader_on_arbitrary_bytes(tmp_path, data):
    for name, fn in (
        ("a.yaml", load_scenario),
        ("o.csv", load_observations),
        ("p.yaml", load_priors),
        ("d.csv", load_data),
        ("f.yaml", load_portfolio),
    ):
        path = tmp_path / name
        path.write_bytes(data)
        _check(fn, path)
