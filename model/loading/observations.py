"""Calibration inputs: observation CSV files and the priors file, validated strictly.

An observation file (``assumptions/observations/*.csv``) holds one data series, one row per data
point, every row with its source::

    date,value,unit,measure,kind,source_title,publisher,published,address,quote,confidence,
        fact_id,note
    2024-12-31,1B,USD/year,run_rate,observation,Amodei: ...,Aihola,2026-02,https://...,"...",
        secondary,anthropic-rev-history-2023-2025,

(one line each in the file; wrapped here).

``measure`` says what the value is:

- ``run_rate``: annualised instantaneous revenue at ``date`` [USD/year] (e.g. 28 days x 13);
- ``calendar_year``: revenue reported for the calendar year in ``date`` (``2025``) [USD/year];
- ``price``: a price at ``date`` [USD/GPU-hour].

``kind`` is ``observation`` (fitted) or ``projection`` (a company's or analyst's forecast: never
fitted, kept to be compared with the calibrated predictions, e.g. P(revenue 2028 >= $70B)).
``note`` is optional. Lines starting with ``#`` are comments.

Priors live in their own file (:mod:`model.loading.priors`). Data files (one number per row,
each with its source) feed ``capex fit``: :func:`load_data`.

Both loaders report every problem at once, each as ``file:line: what is wrong; how to fix``.
"""

from __future__ import annotations

import csv
import datetime as _dt
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING

from .files import CSV_SUFFIXES, InputFileError, read_text

if TYPE_CHECKING:
    import pandas as pd

from ..core.errors import ObservationError, Problem, did_you_mean, display_path
from ..core.units import UnknownUnit, parse_amount, parse_unit

#: Required columns of an observation file, in the recommended order.
COLUMNS = (
    "date",
    "value",
    "unit",
    "measure",
    "kind",
    "source_title",
    "publisher",
    "published",
    "address",
    "quote",
    "confidence",
    "fact_id",
)
#: Optional columns.
OPTIONAL_COLUMNS = ("note", "mirror_of")
#: What a value measures, and the unit dimension it must have.
MEASURES = {"run_rate": "USD/year", "calendar_year": "USD/year", "price": "USD/GPU-hour"}
KINDS = ("observation", "projection")
CONFIDENCES = ("direct", "secondary", "derived")
SOURCE_COLUMNS = ("source_title", "publisher", "published", "address", "quote", "confidence")

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}\Z")
_YEAR = re.compile(r"^\d{4}\Z")
_PUBLISHED = re.compile(r"^(\d{4}(-\d{2}(-\d{2})?)?|n\.d\.)\Z")
_URL = re.compile(r"^https?://\S+\.\S+\Z")
#: Years a date in an observation, data or priors file may fall in.
DATE_RANGE = (1990, 2100)


def _published_ok(text: str) -> bool:
    """``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD`` naming a real date in :data:`DATE_RANGE`, or
    ``n.d.``."""
    if text == "n.d.":
        return True
    if not _PUBLISHED.match(text):
        return False
    parts = [int(x) for x in text.split("-")]
    try:
        _dt.date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)
    except ValueError:
        return False
    return DATE_RANGE[0] <= parts[0] <= DATE_RANGE[1]


def _close(word, options) -> str:
    """``did you mean 'x'?`` or the list of what is allowed."""
    hit = did_you_mean(str(word), options)
    return f"did you mean {hit!r}?" if hit else f"allowed: {', '.join(options)}"


def decimal_year(date: _dt.date) -> float:
    """Date as a decimal year, at the middle of the day [years].

    ``2025-12-31`` is 2025.9986; ``2025-01-01`` is 2025.0014.
    """
    start = _dt.date(date.year, 1, 1)
    days = (_dt.date(date.year + 1, 1, 1) - start).days
    return date.year + ((date - start).days + 0.5) / days


def _start_of_day(date: _dt.date) -> float:
    """Date as a decimal year at the start of the day (2026-01-01 is 2026.0) [years]."""
    start = _dt.date(date.year, 1, 1)
    days = (_dt.date(date.year + 1, 1, 1) - start).days
    return date.year + (date - start).days / days


# --------------------------------------------------------------------------------------------
# observations


def load_observations(path: str | Path) -> pd.DataFrame:
    """Read and validate an observation file.

    Parameters
    ----------
    path : str or Path
        CSV file with the columns of :data:`COLUMNS` (plus optional ``note`` and ``mirror_of``:
        the page a mirrored ``address`` copies, or its publisher and title when unknown).

    Returns
    -------
    pandas.DataFrame
        One row per data point, in file order, with columns ``line`` (1-based line in the file),
        ``date`` (as written), ``t`` [decimal year: the instant, or the start of the calendar
        year for ``calendar_year`` rows], ``year`` (calendar year or ``<NA>``), ``value``
        [canonical unit], ``unit`` (canonical: ``USD/year`` or ``USD/GPU-hour``), ``measure``,
        ``kind``, the source columns, ``fact_id``, ``note`` and ``mirror_of``. ``df.attrs`` holds
        ``path``,
        ``unit`` and ``series`` (the file's stem).

    Raises
    ------
    ObservationError
        With every problem found (file:line), e.g. a row without a source.
    """
    path = Path(path)
    shown = display_path(path)
    problems: list[Problem] = []

    def bad(message: str, line: int | None = None, column: str | None = None) -> None:
        problems.append(Problem(message, shown, line, column))

    text = _read_csv_text(path, shown)
    header, header_line, raw_rows = _csv_rows(text, shown)
    if header is None:
        raise ObservationError(
            Problem(
                "the file is empty; write a header line "
                f"({','.join(COLUMNS + OPTIONAL_COLUMNS)}) and one row per data point",
                shown,
            )
        )
    if not _observation_header_ok(header, header_line, bad):
        raise ObservationError(problems)
    if not raw_rows:
        bad(
            "no data rows; add at least one row (one per data point, each with its source)",
            header_line,
        )
        raise ObservationError(problems)
    records, dims = _observation_records(header, raw_rows, bad)
    _check_duplicates(records, bad)
    _check_one_unit(dims, "one file holds one series but units mix", bad)
    if problems:
        raise ObservationError(problems)
    return _observation_table(records, path, dims)


def _read_csv_text(path: Path, shown: str) -> str:
    """The text of a CSV input file (a byte-order mark dropped); ObservationError if unreadable."""
    try:
        return read_text(path, shown, CSV_SUFFIXES, "CSV file", encoding="utf-8-sig")
    except InputFileError as e:
        raise ObservationError(e.problem) from None


def _duplicate_columns(header: list[str], header_line: int, bad) -> bool:
    """Report columns the header names more than once; True when there are any."""
    dupes = sorted({c for c in header if header.count(c) > 1})
    if dupes:
        bad(f"column(s) {', '.join(dupes)} appear more than once; keep one of each", header_line)
    return bool(dupes)


def _observation_header_ok(header: list[str], header_line: int, bad) -> bool:
    """Report missing, unknown and repeated columns; False when rows cannot be read."""
    missing = [c for c in COLUMNS if c not in header]
    unknown = [c for c in header if c not in COLUMNS + OPTIONAL_COLUMNS]
    if missing:
        bad(
            f"missing column(s) {', '.join(missing)}; the header must name "
            f"{','.join(COLUMNS)} (and optionally note)",
            header_line,
        )
    for col in unknown:
        bad(
            f"unknown column {col!r}; {_close(col, COLUMNS + OPTIONAL_COLUMNS)} (put remarks in "
            "note)",
            header_line,
        )
    dupes = _duplicate_columns(header, header_line, bad)
    return not (missing or dupes)


def _row_cells(header: list[str], cells: list[str], line: int, bad) -> dict | None:
    """A row as column -> stripped text; None (reported) when its field count is wrong."""
    if len(cells) != len(header):
        bad(
            f"{len(cells)} fields but the header has {len(header)}; quote fields that "
            'contain commas ("...") and give every column (leave optional ones empty)',
            line,
        )
        return None
    return {h: c.strip() for h, c in zip(header, cells)}


def _observation_records(header: list[str], raw_rows, bad) -> tuple[list[dict], dict[str, int]]:
    """Valid records of the data rows, and the first line of each unit among them."""
    records = []
    dims: dict[str, int] = {}
    for line, cells in raw_rows:
        row = _row_cells(header, cells, line, bad)
        if row is None:
            continue
        rec = _validate_row(row, line, bad)
        if rec is not None:
            records.append(rec)
            dims.setdefault(rec["unit"], line)
    return records, dims


def _check_one_unit(units: dict[str, int], what: str, bad) -> None:
    """Report a file whose rows mix units (``what`` opens the message)."""
    if len(units) > 1:
        mixed = ", ".join(f"{u} (from line {ln})" for u, ln in units.items())
        bad(f"{what}: {mixed}; split the file by unit", max(units.values()), "unit")


def _observation_table(records: list[dict], path: Path, dims: dict[str, int]) -> pd.DataFrame:
    """The validated records as the table :func:`load_observations` returns."""
    import pandas as pd  # deferred: heavy, and only calibrations and fits need the table

    df = pd.DataFrame.from_records(records)
    df["year"] = df["year"].astype("Int64")
    df.attrs["path"] = str(path)
    df.attrs["unit"] = next(iter(dims))
    df.attrs["series"] = path.stem
    return df


def _csv_rows(text: str, shown: str) -> tuple[list[str] | None, int, list[tuple[int, list[str]]]]:
    """Header, its line, and (line, cells) of every data row; blank and ``#`` lines skipped.

    Raises
    ------
    ObservationError
        The text is not valid CSV (bad quoting, a NUL byte, a field over the size limit).
    """
    reader = csv.reader(text.splitlines(keepends=True))
    header: list[str] | None = None
    header_line = 0
    raw_rows: list[tuple[int, list[str]]] = []
    prev_end = 0
    try:
        for cells in reader:
            start = prev_end + 1
            prev_end = reader.line_num
            if not cells or all(not c.strip() for c in cells):
                continue
            if cells[0].lstrip().startswith("#"):
                continue
            if header is None:
                header = [c.strip() for c in cells]
                header_line = start
                continue
            raw_rows.append((start, cells))
    except csv.Error as exc:
        raise ObservationError(
            Problem(
                f"not valid CSV ({exc}); check quoting (a field with a comma or a quote "
                'must be in double quotes, with inner quotes doubled "")',
                shown,
                reader.line_num,
            )
        ) from None
    return header, header_line, raw_rows


def _check_duplicates(records: list[dict], bad) -> None:
    """Rows that repeat another exactly, and observations that contradict one another.

    Two observations of the same date and measure with different values conflict. Projections
    are forecasts made at some date: two for the same year conflict only when they were also
    published on the same date (otherwise they are two forecasts, both worth keeping).
    """
    exact: dict[tuple, int] = {}
    seen: dict[tuple, dict] = {}
    fields = (
        "date",
        "value",
        "unit",
        "measure",
        "kind",
        "source_title",
        "publisher",
        "published",
        "address",
        "quote",
        "confidence",
        "fact_id",
        "note",
    )
    for rec in records:
        whole = tuple(rec[f] for f in fields)
        if whole in exact:
            bad(
                f"repeats line {exact[whole]} exactly; delete one of the two rows",
                rec["line"],
                "date",
            )
            continue
        exact[whole] = rec["line"]
        key = (rec["date"], rec["measure"], rec["kind"]) + (
            (rec["published"],) if rec["kind"] == "projection" else ()
        )
        first = seen.setdefault(key, rec)
        if first is not rec and first["value"] != rec["value"]:
            bad(
                f"conflicts with line {first['line']}: the same {rec['kind']} (date "
                f"{rec['date']}, measure {rec['measure']}) with value {rec['value']:g} instead "
                f"of {first['value']:g}; keep the better-sourced row and delete the other",
                rec["line"],
                "value",
            )


def _validate_row(row: dict, line: int, bad) -> dict | None:
    """Check one row; report problems through ``bad``; return the parsed record or None."""
    ok = True

    def fail(msg: str, col: str) -> None:
        nonlocal ok
        ok = False
        bad(msg, line, col)

    measure, kind = _row_measure_kind(row, fail)
    date = row.get("date", "")
    t, year = _row_time(measure, date, fail)
    value, dim = _row_value(row, measure, fail)
    _check_row_source(row, fail)
    if not ok:
        return None
    return {
        "line": line,
        "date": date,
        "t": t,
        "year": year,
        "value": value,
        "unit": dim,
        "measure": measure,
        "kind": kind,
        "source_title": row["source_title"],
        "publisher": row["publisher"],
        "published": row.get("published", ""),
        "address": row.get("address", ""),
        "quote": row["quote"],
        "confidence": row.get("confidence", ""),
        "fact_id": row.get("fact_id", ""),
        "note": row.get("note", ""),
        "mirror_of": row.get("mirror_of", ""),
    }


def _row_measure_kind(row: dict, fail) -> tuple[str, str]:
    """The row's measure and kind, each reported through ``fail`` when not allowed."""
    measure = row.get("measure", "")
    if measure not in MEASURES:
        fail(
            f"measure {measure!r} is not one of {', '.join(MEASURES)}; use run_rate for an "
            "annualised instantaneous figure, calendar_year for revenue reported for a year, "
            "price for a price at a date",
            "measure",
        )
    kind = row.get("kind", "")
    if kind not in KINDS:
        fail(
            f"kind {kind!r} is not observation or projection; use projection for forecasts "
            "(they are not fitted)",
            "kind",
        )
    return measure, kind


def _row_time(measure: str, date: str, fail) -> tuple[float | None, int | None]:
    """``(t, year)`` of a row's date: a calendar year for ``calendar_year``, else a day."""
    if measure == "calendar_year":
        year = _row_year(date, fail)
        return (float(year) if year is not None else None), year
    if _DATE.match(date):
        return _row_day(date, fail), None
    fail(
        f"date {date!r} is not YYYY-MM-DD; give the day the figure refers to (for a "
        "month or an end of year, e.g. 2025-12-31; say so in note)",
        "date",
    )
    return None, None


def _row_year(date: str, fail) -> int | None:
    """The calendar year a ``calendar_year`` row's date names, or None (reported)."""
    if _YEAR.match(date) and DATE_RANGE[0] <= int(date) <= DATE_RANGE[1]:
        return int(date)
    if _YEAR.match(date):
        fail(f"year {date} is outside {DATE_RANGE[0]}-{DATE_RANGE[1]}; correct it", "date")
    else:
        fail(
            f"date {date!r} is not a year; a calendar_year row gives the year only, e.g. 2025",
            "date",
        )
    return None


def _row_day(date: str, fail) -> float | None:
    """A ``YYYY-MM-DD`` date as a decimal year (middle of the day), or None (reported)."""
    try:
        d = _dt.date.fromisoformat(date)
    except ValueError:
        fail(
            f"date {date!r} is not a calendar date (no such day); write a real YYYY-MM-DD",
            "date",
        )
        return None
    if DATE_RANGE[0] <= d.year <= DATE_RANGE[1]:
        return decimal_year(d)
    fail(
        f"date {date} is outside {DATE_RANGE[0]}-{DATE_RANGE[1]}; correct the year",
        "date",
    )
    return None


def _row_value(row: dict, measure: str, fail) -> tuple[float | None, str | None]:
    """The row's value in its canonical unit and that unit, each None when invalid."""
    value = None
    raw_value = row.get("value", "")
    try:
        value = parse_amount(raw_value)
    except ValueError as exc:
        fail(f"value: {exc}", "value")
    dim = None
    unit = row.get("unit", "")
    try:
        dim, factor = parse_unit(unit)
    except UnknownUnit as exc:
        fail(str(exc), "unit")
    else:
        if dim not in ("USD/year", "USD/GPU-hour"):
            fail(
                f"unit {unit!r} is {dim}; observations are revenue in USD/year or prices in "
                "USD/GPU-hour",
                "unit",
            )
            dim = None
        elif value is not None:
            value *= factor
    if value is not None and not (value > 0 and math.isfinite(value)):
        fail(
            f"value {raw_value!r} must be positive (the models work on log values); drop the "
            "row or say 'zero' in a note",
            "value",
        )
    if dim and measure in MEASURES and MEASURES[measure] != dim:
        fail(
            f"measure {measure} needs a {MEASURES[measure]} unit, not {unit!r}; fix the unit "
            "or the measure",
            "unit",
        )
    return value, dim


def _check_source_cells(row: dict, fail) -> None:
    """Report empty source_title, publisher, address and quote cells."""
    for col in ("source_title", "publisher", "address", "quote"):
        if not row.get(col, ""):
            fail(
                f"{col} is empty; every row needs a source (source_title, publisher, "
                "published, address, quote): cite where the figure was read",
                col,
            )


def _check_address(address: str, fail) -> None:
    """Report an address cell that is not empty and not a web address."""
    if address and not _URL.match(address):
        fail(
            f"address {address!r} is not a web address; give the http(s) URL the figure was "
            "read from",
            "address",
        )


def _check_row_source(row: dict, fail) -> None:
    """Report missing or malformed source columns of an observation row."""
    _check_source_cells(row, fail)
    published = row.get("published", "")
    if not published:
        fail(
            "published is empty; give the source's date (YYYY, YYYY-MM or YYYY-MM-DD, or n.d.)",
            "published",
        )
    elif not _published_ok(published):
        fail(
            f"published {published!r} is not a real date written YYYY, YYYY-MM, YYYY-MM-DD "
            f"(in {DATE_RANGE[0]}-{DATE_RANGE[1]}) or n.d.; write the source's publication "
            "date",
            "published",
        )
    _check_address(row.get("address", ""), fail)
    confidence = row.get("confidence", "")
    if confidence not in CONFIDENCES:
        fail(
            f"confidence {confidence!r} is not one of {', '.join(CONFIDENCES)}; direct: the "
            "producer's own document, secondary: a third party reporting it, derived: "
            "arithmetic from other rows",
            "confidence",
        )


# --------------------------------------------------------------------------------------------
# data files (``capex fit``)

#: Required columns of a data file besides its value column.
DATA_COLUMNS = ("unit", "source_title", "publisher", "published", "address", "quote", "confidence")
#: Optional columns of a data file.
DATA_OPTIONAL = ("date", "fact_id", "note")
_COLUMN_NAME = re.compile(r"^[a-z][a-z0-9_]*\Z")


def load_data(path: str | Path, column: str = "value") -> pd.DataFrame:
    """Read and validate a data file: one number per row, each row with its unit and source.

    A data file holds a sample to fit a distribution to (``capex fit``)::

        value,unit,source_title,publisher,published,address,quote,confidence,date,note
        2.10,USD/GPU-hour,H100 rental prices ...,...,2025-03,https://...,"...",secondary,,

    Other numeric columns may sit beside ``value``; ``column`` names the one used.

    Parameters
    ----------
    path : str or Path
    column : str
        The column holding the numbers.

    Returns
    -------
    pandas.DataFrame
        Columns ``line``, ``value`` [canonical unit], ``unit`` (canonical) and the source
        columns; ``df.attrs`` holds ``path``, ``unit`` and ``column``.

    Raises
    ------
    ObservationError
        With every problem found (file:line).
    """
    path = Path(path)
    shown = display_path(path)
    problems: list[Problem] = []

    def bad(message: str, line: int | None = None, col: str | None = None) -> None:
        problems.append(Problem(message, shown, line, col))

    text = _read_csv_text(path, shown)
    header, header_line, raw_rows = _csv_rows(text, shown)
    if header is None:
        raise ObservationError(
            Problem(
                f"the file is empty; write a header line ({column},{','.join(DATA_COLUMNS)}) and "
                "one row per value, each with its source",
                shown,
            )
        )
    _check_data_header(header, header_line, column, bad)
    if problems:
        raise ObservationError(problems)
    if not raw_rows:
        bad(
            "no data rows; add at least one row (one value per row, each with its source)",
            header_line,
        )
        raise ObservationError(problems)
    records, units = _data_records(header, raw_rows, column, bad)
    _check_one_unit(units, "one file holds values of one unit but units mix", bad)
    if problems:
        raise ObservationError(problems)
    import pandas as pd  # deferred: heavy, and only fits need the table

    df = pd.DataFrame.from_records(records)
    df.attrs.update(path=str(path), unit=next(iter(units)), column=column)
    return df


def _check_data_header(header: list[str], header_line: int, column: str, bad) -> None:
    """Report missing columns, column names that are not lowercase words, and repeats."""
    missing = [c for c in (column, *DATA_COLUMNS) if c not in header]
    if missing:
        close = (
            _close(column, [h for h in header if h not in DATA_COLUMNS + DATA_OPTIONAL])
            if column in missing
            else ""
        )
        bad(
            f"missing column(s) {', '.join(missing)}; the header must name {column} and "
            f"{','.join(DATA_COLUMNS)}" + (f" (for --column: {close})" if close else ""),
            header_line,
        )
    bad_names = [h for h in header if not _COLUMN_NAME.match(h)]
    if bad_names:
        bad(
            f"column name(s) {', '.join(map(repr, bad_names))} are not lowercase words; rename "
            "them (letters, digits, '_')",
            header_line,
        )
    _duplicate_columns(header, header_line, bad)


def _data_records(
    header: list[str], raw_rows, column: str, bad
) -> tuple[list[dict], dict[str, int]]:
    """Valid records of a data file's rows, and the first line of each unit among them."""
    records = []
    units: dict[str, int] = {}
    for line, cells in raw_rows:
        row = _row_cells(header, cells, line, bad)
        if row is None:
            continue
        rec = _data_record(row, line, column, bad)
        if rec is not None:
            units.setdefault(rec["unit"], line)
            records.append(rec)
    return records, units


def _data_record(row: dict, line: int, column: str, bad) -> dict | None:
    """Check one data row; report problems through ``bad``; return its record or None."""
    ok = True

    def fail(msg: str, col: str) -> None:
        nonlocal ok
        ok = False
        bad(msg, line, col)

    try:
        value = parse_amount(row[column])
    except ValueError as exc:
        fail(f"{column}: {exc}", column)
        value = None
    try:
        dim, factor = parse_unit(row["unit"])
    except UnknownUnit as exc:
        fail(str(exc), "unit")
        dim, factor = None, 1.0
    _check_data_source(row, fail)
    if not ok:
        return None
    return {
        "line": line,
        "value": value * factor,
        "unit": dim,
        **{c: row[c] for c in DATA_COLUMNS if c != "unit"},
        **{c: row.get(c, "") for c in DATA_OPTIONAL},
    }


def _check_data_source(row: dict, fail) -> None:
    """Report missing or malformed source columns, and a malformed date, of a data row."""
    _check_source_cells(row, fail)
    if not _published_ok(row["published"]):
        fail(
            f"published {row['published']!r} is not a real date written YYYY, YYYY-MM, "
            "YYYY-MM-DD or n.d.; write the source's publication date",
            "published",
        )
    _check_address(row["address"], fail)
    if row["confidence"] not in CONFIDENCES:
        fail(
            f"confidence {row['confidence']!r} is not one of {', '.join(CONFIDENCES)}; "
            "direct: the producer's own document, secondary: a third party, derived: "
            "arithmetic from other rows",
            "confidence",
        )
    if row.get("date") and not _published_ok(row["date"]):
        fail(
            f"date {row['date']!r} is not a real date written YYYY, YYYY-MM or "
            "YYYY-MM-DD; correct it or leave it empty",
            "date",
        )
