"""Files a run writes for other tools, into an owned output folder (:mod:`.outputs`).

``capex run --out DIR`` writes ``results.nc`` (every draw, NetCDF), ``summary.csv`` and
``summary.json`` (the run JSON); ``--format csv,parquet,xlsx`` adds ``draws.csv`` and
``draws.parquet`` (one row per draw: every metric and uncertain input,
:func:`model.engine.tables.draws_frame`) and ``results.xlsx`` (sheets Summary, Inputs, Draws).
Every file is written into the staged folder, which replaces ``DIR`` as a whole on success.
What each file holds, column by column: docs/exports.md.

Exact values: Parquet keeps every float64 bit; CSV writes the shortest decimal that reads back
as the same float64 (pyarrow's writer, as Python's ``repr``); the Draws sheet writes the same
decimals. A draw without a value (no IRR, no payback by the last year) is an empty CSV field, a
Parquet null, an empty cell.

The Draws sheet of a large run is too big for openpyxl's cell objects (~16 us a cell: 46 s for
100,000 draws); openpyxl writes the workbook with the Draws sheet's header row, and
:func:`_fill_sheet` streams the data rows into that sheet's XML (~1 us a cell).
"""

from __future__ import annotations

import importlib.util
import io
import json
import re
import zipfile
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree

import numpy as np

from ..core.errors import AssumptionError, Problem, did_you_mean
from ..core.vocabulary import OUTPUTS
from ..engine.tables import draws_frame, inputs_frame
from .outputs import OwnedOutput

__all__ = ["FORMATS", "FORMAT_FILES", "EXCEL_MAX_ROWS", "parse_formats", "write_run_outputs"]

#: What ``--format`` takes, and the file each writes.
FORMAT_FILES = {"csv": "draws.csv", "parquet": "draws.parquet", "xlsx": "results.xlsx"}
FORMATS = tuple(FORMAT_FILES)
#: The library each format needs (all in the ``export`` extra).
FORMAT_NEEDS = {"csv": "pyarrow", "parquet": "pyarrow", "xlsx": "openpyxl"}
#: The files ``--out`` always writes.
DEFAULT_FILES = ("results.nc", "summary.csv", "summary.json")
#: Rows of an Excel sheet, the header row included (Excel's limit).
EXCEL_MAX_ROWS = 1_048_576
_INSTALL = 'pip install "capex[export]"'


def _installed(module: str) -> bool:
    """Whether ``module`` can be imported (without importing it)."""
    return importlib.util.find_spec(module) is not None


def parse_formats(text: str | None) -> tuple[str, ...]:
    """The formats of ``--format`` (comma-separated, any case), checked before a run starts.

    Returns
    -------
    tuple of str
        In :data:`FORMATS` order, each once; empty for ``None``.

    Raises
    ------
    AssumptionError
        Every unknown name (with a did-you-mean), an empty list, or a library it needs that is
        not installed (``pip install "capex[export]"``).
    """
    if text is None:
        return ()
    words = [w.strip().lower() for w in str(text).split(",")]
    words = [w for w in words if w]
    problems = []
    for w in words:
        if w not in FORMATS:
            close = did_you_mean(w, FORMATS)
            hint = f"did you mean {close!r}? " if close else ""
            problems.append(
                Problem(
                    f"{w!r} is not a format; {hint}use {', '.join(FORMATS)} (comma-separated)",
                    parameter="--format",
                )
            )
    if not words:
        problems.append(
            Problem(
                f"no format given; use {', '.join(FORMATS)} (comma-separated)",
                None,
                None,
                "--format",
            )
        )
    if problems:
        raise AssumptionError(problems)
    chosen = tuple(f for f in FORMATS if f in words)
    missing = sorted({FORMAT_NEEDS[f] for f in chosen if not _installed(FORMAT_NEEDS[f])})
    if missing:
        needing = [f for f in chosen if FORMAT_NEEDS[f] in missing]
        verb, be = ("needs", "is") if len(needing) == 1 else ("need", "are")
        be = "are" if len(missing) > 1 else be
        raise AssumptionError(
            Problem(
                f"{', '.join(needing)} {verb} {' and '.join(missing)}, which {be} not "
                f"installed; {_INSTALL}",
                parameter="--format",
            )
        )
    return chosen


def write_run_outputs(
    results, out: Path, command: str = "capex run", formats: tuple[str, ...] = ()
) -> list[str]:
    """results.nc, summary.csv and summary.json, and the files of ``formats`` (draws.csv,
    draws.parquet, results.xlsx), into the owned folder ``out`` (staged aside, swapped in
    atomically).

    Returns
    -------
    list of str
        The names of the files written, in order.
    """
    written = list(DEFAULT_FILES)
    with OwnedOutput(out, command=command, kind="run") as folder:
        results.to_netcdf(folder.path_for("results.nc"))
        results.summary().to_csv(folder.path_for("summary.csv"), index_label="metric")
        folder.write_text("summary.json", json.dumps(results.to_json_dict(), indent=2) + "\n")
        frame = draws_frame(results) if formats else None
        table = _arrow_table(frame) if {"csv", "parquet"} & set(formats) else None
        if "csv" in formats:
            write_csv(table, folder.path_for(FORMAT_FILES["csv"]))
        if "parquet" in formats:
            _parquet().write_table(table, folder.path_for(FORMAT_FILES["parquet"]))
        if "xlsx" in formats:
            write_xlsx(results, folder.path_for(FORMAT_FILES["xlsx"]), command, frame)
        written += [FORMAT_FILES[f] for f in formats]
    return written


# ============================================================================ CSV, Parquet
def _parquet():
    import pyarrow.parquet as pq  # deferred: pyarrow is heavy, and only --format needs it

    return pq


def _arrow_table(frame):
    """The per-draw frame as an Arrow table: ``draw`` first, NaN as null, each field's unit and
    label in its metadata, the frame's attrs as the table's (``PANDAS_ATTRS``, which pandas
    reads back into ``df.attrs``, and ``capex``)."""
    import pyarrow as pa  # deferred: pyarrow is heavy, and only --format needs it

    table = pa.Table.from_pandas(frame, preserve_index=True)  # NaN -> null (pandas' rule)
    table = table.select(["draw", *frame.columns])
    units, labels = frame.attrs["units"], frame.attrs["labels"]
    fields = [
        f.with_metadata({"unit": units.get(f.name, ""), "label": labels.get(f.name, f.name)})
        for f in table.schema
    ]
    attrs = json.dumps(frame.attrs, default=str)
    meta = {**(table.schema.metadata or {}), b"PANDAS_ATTRS": attrs, b"capex": attrs}
    return table.cast(pa.schema(fields, metadata=meta))


def write_csv(table, path: Path) -> None:
    """The Arrow table as CSV: a plain header line (names unquoted), floats as the shortest
    decimal that reads back exactly, null as an empty field, infinities as ``inf``."""
    import pyarrow.csv as pc  # deferred: pyarrow is heavy, and only --format needs it

    with open(path, "wb") as f:
        f.write((",".join(table.column_names) + "\n").encode("utf-8"))
        pc.write_csv(table, f, write_options=pc.WriteOptions(include_header=False))


# ============================================================================ Excel
def _cell(value):
    """A value as openpyxl writes it: NaN and None as an empty cell, an infinity as the text
    ``inf`` / ``-inf``, numpy scalars as Python numbers."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        if np.isnan(value):
            return None
        if np.isinf(value):
            return "inf" if value > 0 else "-inf"
    return value


def _bold_row(ws, row: int) -> None:
    from openpyxl.styles import Font  # deferred: openpyxl is heavy, and only xlsx needs it

    for cell in ws[row]:
        cell.font = Font(bold=True)


def _draws_note(total: int, kept: int) -> str:
    if kept == total:
        return f"all {total:,} draws"
    return (
        f"TRUNCATED: the first {kept:,} of {total:,} draws (Excel holds {EXCEL_MAX_ROWS:,} rows "
        f"a sheet, the header included); every draw is in results.nc, and in draws.csv and "
        f"draws.parquet (--format csv,parquet): the other {total - kept:,} draws too"
    )


def _error_text(results) -> str:
    described = results.errors.describe()
    return described.get("text", "") if isinstance(described, dict) else str(described)


def _summary_sheet(ws, results, kept: int, command: str) -> None:
    """The Summary sheet: the run (key, value rows, the Draws sheet's extent among them), its
    probabilities, then the metric table of summary.csv (a header row, one row per metric)."""
    sc, a = results.scenario, results.attrs
    ws.append([f"capex run: {sc.title}"])
    _bold_row(ws, 1)
    rows = [
        ("Draws sheet", _draws_note(results.draws, kept)),
        ("scenario", sc.label),
        ("model", results.model),
        ("years", f"{sc.start}-{sc.end}"),
        ("currency", f"{sc.currency} nominal"),
        ("draws", results.draws),
        ("seed", int(a["seed"])),
        ("design", a["design"]),
        ("input hash", a.get("input_hash", "")),
        ("capex version", a.get("version", "")),
        ("command", command),
        ("errors", "mcse: one Monte Carlo standard error; " + _error_text(results)),
    ]
    for key, value in rows:
        ws.append([key, _cell(value)])
    ws.append([])
    ws.append(["probability", "value", "mcse"])
    _bold_row(ws, ws.max_row)
    for p in results.probability_names:
        pr = results.probability(p)
        ws.append([OUTPUTS[p].text(sc.end), _cell(pr["value"]), _cell(pr["mcse"])])
    ws.append([])
    summary = results.summary()
    ws.append(["metric", *summary.columns])
    _bold_row(ws, ws.max_row)
    for name, row in summary.iterrows():
        ws.append([name, *(_cell(v) for v in row.tolist())])
    ws.append([])
    for note in _NOTES:
        ws.append([note])
    ws.column_dimensions["A"].width = 34
    ws.column_dimensions["B"].width = 22


_NOTES = (
    "Units: canonical (USD, not USD billions; shares as fractions; rates per year); each "
    "metric's unit is in the metric table, each input's in the Inputs sheet.",
    "Draws sheet: one row per draw, the metrics then input_<name> for each uncertain input; "
    "an empty cell is a draw without a value (no IRR; no payback or gap closing by the last "
    "year).",
    "A quantile 'inf': beyond the horizon (more draws than that never get there).",
    "What every column means: docs/exports.md.",
)


def _table_sheet(ws, frame) -> None:
    """A DataFrame as a sheet: a bold header row, then one row per frame row."""
    ws.append(list(frame.columns))
    _bold_row(ws, 1)
    for row in frame.itertuples(index=False):
        ws.append([_cell(v) for v in row])
    ws.freeze_panes = "B2"


def _draws_header(ws, frame) -> None:
    """The Draws sheet's header row, each metric's and input's unit and label in a comment."""
    from openpyxl.comments import Comment  # deferred: openpyxl is heavy, and only xlsx needs it

    ws.append(["draw", *frame.columns])
    _bold_row(ws, 1)
    units, labels = frame.attrs["units"], frame.attrs["labels"]
    for cell, name in zip(ws[1][1:], frame.columns):
        unit = units.get(name, "")
        cell.comment = Comment(
            f"{labels.get(name, name)}" + (f" [{unit}]" if unit else ""), "capex"
        )
    ws.freeze_panes = "B2"


def write_xlsx(results, path: Path, command: str = "", frame=None) -> None:
    """results.xlsx: sheets Summary (the run, its probabilities, the metric table), Inputs
    (:func:`model.engine.tables.inputs_frame`: unit, form, provenance of every input) and Draws
    (``draw`` and the columns of draws.csv, one row per draw, up to Excel's row limit; the
    Summary sheet says when it holds fewer draws than the run)."""
    from openpyxl import Workbook  # deferred: openpyxl is heavy, and only xlsx needs it

    frame = draws_frame(results) if frame is None else frame
    kept = min(len(frame), EXCEL_MAX_ROWS - 1)
    wb = Workbook()
    ws = wb.active
    ws.title = "Summary"
    _summary_sheet(ws, results, kept, command)
    _table_sheet(wb.create_sheet("Inputs"), inputs_frame(results))
    _draws_header(wb.create_sheet("Draws"), frame)
    template = io.BytesIO()
    wb.save(template)
    columns = [np.arange(kept), *(frame[c].to_numpy()[:kept] for c in frame.columns)]
    _fill_sheet(template.getvalue(), Path(path), "Draws", columns)


# ============================================================================ streaming a sheet
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
#: Rows formatted at a time (bounds the memory of the text).
_CHUNK_ROWS = 20_000


def _sheet_member(archive: zipfile.ZipFile, sheet: str) -> str:
    """The zip member holding the worksheet named ``sheet`` (workbook.xml and its rels)."""
    book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    rid = next(s.get(f"{_REL}id") for s in book.iter(f"{_MAIN}sheet") if s.get("name") == sheet)
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    target = next(
        r.get("Target") for r in rels.iter(f"{_PKG_REL}Relationship") if r.get("Id") == rid
    )
    return target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)


def _column_letters(n: int) -> list[str]:
    out = []
    for i in range(1, n + 1):
        s = ""
        while i:
            i, r = divmod(i - 1, 26)
            s = chr(65 + r) + s
        out.append(s)
    return out


def _cells(letter: str, first_row: int, values: np.ndarray) -> list[str]:
    """The ``<c>`` elements of one column from row ``first_row`` on: numbers as the shortest
    decimal that reads back exactly (``repr``), NaN as no cell, infinities as inline text."""
    rows = range(first_row, first_row + len(values))
    cells = [f'<c r="{letter}{r}"><v>{v!r}</v></c>' for r, v in zip(rows, values.tolist())]
    if values.dtype.kind == "f":
        for i in np.flatnonzero(~np.isfinite(values)):
            v = values[i]
            if np.isnan(v):
                cells[i] = ""
            else:
                text = "inf" if v > 0 else "-inf"
                ref = f"{letter}{first_row + i}"
                cells[i] = f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'
    return cells


def _rows_xml(letters: list[str], columns: list[np.ndarray], start: int, stop: int) -> bytes:
    """Data rows ``start`` .. ``stop - 1`` (0-based, below the header) as sheet XML."""
    first = start + 2  # row 1 is the header
    per_column = [_cells(L, first, c[start:stop]) for L, c in zip(letters, columns)]
    rows = [
        f'<row r="{first + i}">' + "".join(cells) + "</row>"
        for i, cells in enumerate(zip(*per_column))
    ]
    return "".join(rows).encode("ascii")


def _fill_sheet(template: bytes, path: Path, sheet: str, columns: list[np.ndarray]) -> None:
    """Write the workbook ``template`` (openpyxl's, ``sheet`` holding only its header row) to
    ``path`` with ``columns`` streamed in as the data rows of ``sheet``, its dimension set."""
    n = len(columns[0]) if columns else 0
    letters = _column_letters(len(columns))
    with zipfile.ZipFile(io.BytesIO(template)) as src:
        member = _sheet_member(src, sheet)
        xml = src.read(member).decode("utf-8")
        head, sep, tail = xml.partition("</sheetData>")
        if not sep:
            raise RuntimeError(f"openpyxl wrote no sheetData into {member}")
        ref = f"A1:{letters[-1]}{n + 1}" if letters else "A1"
        head = re.sub(r'<dimension ref="[^"]*"\s*/>', f'<dimension ref="{ref}"/>', head, count=1)
        big = n * (64 * len(columns) + 32) > zipfile.ZIP64_LIMIT  # a bound of the text size
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as dst:
            for item in src.infolist():
                if item.filename != member:
                    dst.writestr(item, src.read(item.filename))
                    continue
                with dst.open(member, "w", force_zip64=big) as f:
                    f.write(head.encode("utf-8"))
                    for start in range(0, n, _CHUNK_ROWS):
                        f.write(_rows_xml(letters, columns, start, min(n, start + _CHUNK_ROWS)))
                    f.write((sep + tail).encode("utf-8"))
