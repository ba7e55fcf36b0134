"""``capex run --out DIR --format csv,parquet,xlsx``: draws.csv, draws.parquet, results.xlsx.

The truth is the Results object of the same run (same file, draws and seed: the same numbers)
and hand counts: a row per draw, a column per metric and uncertain input, values equal to the
bit (Parquet) or to the shortest decimal that reads back as the same float (CSV, the xlsx
Draws sheet), parsed here with Python's own ``float``.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from model.cli import main
from model.core.errors import AssumptionError
from model.engine.tables import INPUT_COLUMNS, draws_frame, inputs_frame, series_frame
from model.loading.scenario import load_scenario
from model.reporting import exports

ROOT = Path(__file__).resolve().parents[1]
FILE = ROOT / "assumptions" / "anthropic_fluidstack.yaml"
DRAWS = 500
FORMAT_FILES = {"draws.csv", "draws.parquet", "results.xlsx"}
DEFAULT_FILES = {"results.nc", "summary.csv", "summary.json", ".capex-output.json"}


@pytest.fixture(scope="module")
def results():
    from model.engine.simulate import simulate

    return simulate(load_scenario(FILE), draws=DRAWS, seed=0, progress=False)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """One run through the CLI with every format, and one without --format."""
    base = tmp_path_factory.mktemp("exports")
    args = ["run", str(FILE), "--draws", str(DRAWS), "--quiet"]
    assert main([*args, "--out", str(base / "all"), "--format", "csv,parquet,xlsx"]) == 0
    assert main([*args, "--out", str(base / "plain")]) == 0
    return base


def _float(text: str) -> float:
    return math.nan if text == "" else float(text)


def _same(a, b) -> bool:
    return np.array_equal(np.asarray(a, dtype=float), np.asarray(b, dtype=float), equal_nan=True)


def _expected_columns(res) -> list[str]:
    """Every summarised metric and every uncertain input with one value per draw, by hand."""
    metrics = list(res.metric_names)
    inputs = [f"input_{n}" for n, v in res.inputs.items() if np.ndim(v) == 1]
    return metrics + inputs


# ============================================================================ the tables
def test_draws_frame_has_a_row_per_draw_and_the_run_values(results):
    df = draws_frame(results)
    assert list(df.index) == list(range(DRAWS)) and df.index.name == "draw"
    assert set(_expected_columns(results)) <= set(df.columns)
    assert list(df.columns[: len(results.metric_names)]) == results.metric_names
    for m in results.metrics:
        assert _same(df[m], results.metric(m)), m
    for name, v in results.inputs.items():
        if np.ndim(v) == 1:
            assert _same(df[f"input_{name}"], v), name
    assert not any(f"input_{n}" in df for n in results.fixed_inputs)  # fixed: Inputs sheet
    assert df.attrs["units"]["npv"] == "USD"
    assert df.attrs["units"]["input_capex_per_mw"] == "USD/MW"
    assert df.attrs["run"]["draws"] == DRAWS and df.attrs["run"]["seed"] == 0


def test_series_frame_is_long_by_draw_and_year(results):
    df = series_frame(results)
    years = list(results.scenario.years)
    kept = results.series["fcf"].shape[1]
    assert len(df) == kept * len(years)
    assert list(df.columns[:2]) == ["draw", "year"]
    assert list(df["year"][: len(years)]) == years and set(df["draw"][: len(years)]) == {0}
    got = df["fcf"].to_numpy().reshape(kept, len(years))
    assert _same(got, results.series_values("fcf"))
    price = df["input_price_per_gpu_hour"].to_numpy().reshape(kept, len(years))
    assert _same(price, results.inputs["price_per_gpu_hour"][:kept])


def test_inputs_frame_lists_every_input_with_unit_form_and_provenance(results):
    df = inputs_frame(results).set_index("name")
    sc = results.scenario
    assert list(df.index) == list(sc.parameters)
    assert tuple(df.reset_index().columns) == INPUT_COLUMNS
    for name, p in sc.parameters.items():
        if p.form != "switch":
            assert df.loc[name, "unit"] == p.spec.unit, name
    assert df.loc["capex_total", "form"] == "fixed"
    assert df.loc["capex_total", "value"] == results.fixed_inputs["capex_total"]
    assert df.loc["capex_schedule", "form"] == "fixed series"
    assert df.loc["capex_schedule", "by_year"].startswith(f"{sc.start}: ")
    assert df.loc["price_per_gpu_hour", "table"] == "series"
    assert df.loc["capex_overrun", "column"] == "input_capex_overrun"
    assert df.loc["revenue_model", "form"] == "switch"
    hyp = sc.parameters["discount_rate"].provenance
    assert df.loc["discount_rate", "provenance"] == "hypothetical"
    assert df.loc["discount_rate", "rationale"] == hyp.hypothetical
    src = sc.parameters["capex_overrun"].provenance.sources[0]
    assert f"{src.key}: {src.title}" in df.loc["capex_overrun", "sources"]


def test_an_input_and_a_series_of_the_same_name_stay_apart():
    from model.engine.simulate import simulate

    res = simulate(
        load_scenario(ROOT / "assumptions" / "industry_600b_question.yaml"),
        draws=50,
        progress=False,
    )
    df = series_frame(res)
    assert {"ai_revenue", "input_ai_revenue"} <= set(df.columns)
    assert draws_frame(res).index.size == 50


# ============================================================================ the files
def test_the_formats_add_their_files_to_the_default_ones(written):
    assert {p.name for p in (written / "all").iterdir()} == DEFAULT_FILES | FORMAT_FILES
    marker = json.loads((written / "all" / ".capex-output.json").read_text())
    assert set(marker["files"]) == (DEFAULT_FILES | FORMAT_FILES) - {".capex-output.json"}
    assert "--format csv,parquet,xlsx" in marker["command"]


def test_without_format_out_writes_what_it_wrote_before(written):
    plain = written / "plain"
    assert {p.name for p in plain.iterdir()} == DEFAULT_FILES
    for name in ("summary.csv", "summary.json"):  # the same run: the same bytes
        assert (plain / name).read_bytes() == (written / "all" / name).read_bytes(), name
    assert "--format" not in json.loads((plain / ".capex-output.json").read_text())["command"]


def test_csv_has_every_draw_and_reads_back_exactly(written, results):
    with open(written / "all" / "draws.csv", newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    assert len(body) == DRAWS
    assert header == ["draw", *draws_frame(results).columns]
    assert set(_expected_columns(results)) <= set(header)
    cols = {name: [_float(r[i]) for r in body] for i, name in enumerate(header)}
    assert cols["draw"] == list(range(DRAWS))
    for m in results.metrics:
        assert _same(cols[m], results.metric(m)), m
    for name, v in results.inputs.items():
        if np.ndim(v) == 1:
            assert _same(cols[f"input_{name}"], v), name


def test_parquet_holds_the_exact_values_and_their_units(written, results):
    import pandas as pd
    import pyarrow.parquet as pq

    path = written / "all" / "draws.parquet"
    df = pd.read_parquet(path)
    assert df.index.name == "draw" and list(df.index) == list(range(DRAWS))
    assert set(_expected_columns(results)) <= set(df.columns)
    for m in results.metrics:
        assert _same(df[m], results.metric(m)), m
    for name, v in results.inputs.items():
        if np.ndim(v) == 1:
            assert _same(df[f"input_{name}"], v), name
    assert df.attrs["units"]["npv"] == "USD"
    schema = pq.read_schema(path)
    assert schema.names[0] == "draw"
    assert schema.field("input_power_price").metadata[b"unit"] == b"USD/MWh"
    assert schema.field("npv").metadata[b"unit"] == b"USD"


def _sheet(path, name) -> list[tuple]:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    try:
        return [tuple(r) for r in wb[name].iter_rows(values_only=True)]
    finally:
        wb.close()


def test_xlsx_has_summary_inputs_and_draws(written, results):
    from openpyxl import load_workbook

    path = written / "all" / "results.xlsx"
    assert load_workbook(path, read_only=True).sheetnames == ["Summary", "Inputs", "Draws"]
    draws = _sheet(path, "Draws")
    assert list(draws[0]) == ["draw", *draws_frame(results).columns]
    assert len(draws) == DRAWS + 1
    header = draws[0]
    for m in [*results.metric_names, "input_capex_overrun"]:
        i = header.index(m)
        got = [math.nan if r[i] is None else r[i] for r in draws[1:]]
        want = results.metric(m) if m in results.metrics else results.inputs["capex_overrun"]
        assert _same(got, want), m
    inputs = _sheet(path, "Inputs")
    assert inputs[0] == INPUT_COLUMNS and len(inputs) == len(results.scenario.parameters) + 1
    summary = _sheet(path, "Summary")
    assert ("Draws sheet", f"all {DRAWS} draws") in [r[:2] for r in summary]
    table = next(i for i, r in enumerate(summary) if r[0] == "metric")
    assert summary[table][1] == "unit"
    names = [r[0] for r in summary[table + 1 : table + 1 + len(results.metric_names)]]
    assert names == results.metric_names


def test_xlsx_says_when_the_draws_sheet_is_truncated(results, tmp_path, monkeypatch):
    monkeypatch.setattr(exports, "EXCEL_MAX_ROWS", 101)  # header + 100 draws
    path = tmp_path / "results.xlsx"
    exports.write_xlsx(results, path)
    draws = _sheet(path, "Draws")
    assert len(draws) == 101 and draws[-1][0] == 99
    note = dict(r[:2] for r in _sheet(path, "Summary") if r and r[0] == "Draws sheet")
    text = note["Draws sheet"]
    assert text.startswith("TRUNCATED: the first 100 of 500 draws")
    assert "every draw is in results.nc, and in draws.csv and draws.parquet" in text
    assert "the other 400 draws too" in text


# ============================================================================ bad values
def test_a_bad_format_is_exit_2_before_the_run_and_writes_nothing(tmp_path, capsys, monkeypatch):
    def no_run(*a, **k):
        raise AssertionError("the run started before --format was checked")

    monkeypatch.setattr("model.cli.commands.run.simulate", no_run)
    out = tmp_path / "out"
    assert main(["run", str(FILE), "--draws", "500", "--out", str(out), "--format", "xls"]) == 2
    err = capsys.readouterr().err
    assert "--format: 'xls' is not a format; did you mean 'xlsx'? use csv, parquet, xlsx" in err
    assert not out.exists() and list(tmp_path.iterdir()) == []
    assert main(["run", str(FILE), "--format", "csv"]) == 2  # no --out to put it in
    assert "--format: needs --out DIR" in capsys.readouterr().err


def test_a_missing_library_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(exports, "_installed", lambda module: module != "openpyxl")
    out = tmp_path / "out"
    assert main(["run", str(FILE), "--out", str(out), "--format", "csv,xlsx"]) == 2
    err = capsys.readouterr().err
    assert (
        '--format: xlsx needs openpyxl, which is not installed; pip install "capex[export]"' in err
    )
    assert not out.exists()


def test_format_names_are_forgiving_about_case_spaces_and_repeats():
    assert exports.parse_formats(" XLSX, csv ,csv") == ("csv", "xlsx")
    assert exports.parse_formats(None) == ()
    with pytest.raises(AssumptionError, match="no format given"):
        exports.parse_formats(" , ")
