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
OPTIONAL_COLUMNS = ("note",)
#: What a value measures, and the unit dimension it must have.
MEASURES = {"run_rate": "USD/year", "calendar_year": "USD/year", "price": "USD/GPU-hour"}
KINDS = ("observation", "projection")
CONFIDENCES = ("direct", "secondary", "derived")
SOURCE_COLUMNS = ("source_title", "publisher", "published", "address", "quote", "confidence")

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_YEAR = re.compile(r"^\d{4}$")
_PUBLISHED = re.compile(r"^(\d{4}(-\d{2}(-\d{2})?)?|n\.d\.)$")
_URL = re.compile(r"^https?://\S+\.\S+$")
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
        CSV file with the columns of :data:`COLUMNS` (plus optional ``note``).

    Returns
    -------
    pandas.DataFrame
        One row per data point, in file order, with columns ``line`` (1-based line in the file),
        ``date`` (as written), ``t`` [decimal year: the instant, or the start of the calendar
        year for ``calendar_year`` rows], ``year`` (calendar year or ``<NA>``), ``value``
        [canonical unit], ``unit`` (canonical: ``USD/year`` or ``USD/GPU-hour``), ``measure``,
        ``kind``, the source columns, ``fact_id`` and ``note``. ``df.attrs`` holds ``path``,
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

    try:
        text = read_text(path, shown, CSV_SUFFIXES, "CSV file", encoding="utf-8-sig")
    except InputFileError as e:
        raise ObservationError(e.problem) from None

    header, header_line, raw_rows = _csv_rows(text, shown)
    if header is None:
        raise ObservationError(
            Problem("the file is empty; write a header line "
                    f"({','.join(COLUMNS + OPTIONAL_COLUMNS)}) and one row per data point",
                    shown)
        )
    missing = [c for c in COLUMNS if c not in header]
    unknown = [c for c in header if c not in COLUMNS + OPTIONAL_COLUMNS]
    dupes = sorted({c for c in header if header.count(c) > 1})
    if missing:
        bad(f"missing column(s) {', '.join(missing)}; the header must name "
            f"{','.join(COLUMNS)} (and optionally note)", header_line)
    for col in unknown:
        bad(f"unknown column {col!r}; {_close(col, COLUMNS + OPTIONAL_COLUMNS)} (put remarks in "
            "note)", header_line)
    if dupes:
        bad(f"column(s) {', '.join(dupes)} appear more than once; keep one of each", header_line)
    if missing or dupes:
        raise ObservationError(problems)
    if not raw_rows:
        bad("no data rows; add at least one row (one per data point, each with its source)",
            header_line)
        raise ObservationError(problems)

    records = []
    dims: dict[str, int] = {}
    for line, cells in raw_rows:
        if len(cells) != len(header):
            bad(f"{len(cells)} fields but the header has {len(header)}; quote fields that "
                'contain commas ("...") and give every column (leave optional ones empty)', line)
            continue
        row = {h: c.strip() for h, c in zip(header, cells)}
        rec = _validate_row(row, line, bad)
        if rec is not None:
            records.append(rec)
            dims.setdefault(rec["unit"], line)

    _check_duplicates(records, bad)
    if len(dims) > 1:
        first = ", ".join(f"{u} (from line {ln})" for u, ln in dims.items())
        bad(f"one file holds one series but units mix: {first}; split the file by unit",
            max(dims.values()))
    if problems:
        raise ObservationError(problems)

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
            Problem(f"not valid CSV ({exc}); check quoting (a field with a comma or a quote "
                    'must be in double quotes, with inner quotes doubled "")', shown,
                    reader.line_num)
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
    fields = ("date", "value", "unit", "measure", "kind", "source_title", "publisher",
              "published", "address", "quote", "confidence", "fact_id", "note")
    for rec in records:
        whole = tuple(rec[f] for f in fields)
        if whole in exact:
            bad(f"repeats line {exact[whole]} exactly; delete one of the two rows", rec["line"],
                "date")
            continue
        exact[whole] = rec["line"]
        key = (rec["date"], rec["measure"], rec["kind"]) + (
            (rec["published"],) if rec["kind"] == "projection" else ())
        first = seen.setdefault(key, rec)
        if first is not rec and first["value"] != rec["value"]:
            bad(f"conflicts with line {first['line']}: the same {rec['kind']} (date "
                f"{rec['date']}, measure {rec['measure']}) with value {rec['value']:g} instead "
                f"of {first['value']:g}; keep the better-sourced row and delete the other",
                rec["line"], "value")


def _validate_row(row: dict, line: int, bad) -> dict | None:
    """Check one row; report problems through ``bad``; return the parsed record or None."""
    ok = True

    def fail(msg: str, col: str) -> None:
        nonlocal ok
        ok = False
        bad(msg, line, col)

    # what is measured
    measure = row.get("measure", "")
    if measure not in MEASURES:
        fail(f"measure {measure!r} is not one of {', '.join(MEASURES)}; use run_rate for an "
             "annualised instantaneous figure, calendar_year for revenue reported for a year, "
             "price for a price at a date", "measure")
    kind = row.get("kind", "")
    if kind not in KINDS:
        fail(f"kind {kind!r} is not observation or projection; use projection for forecasts "
             "(they are not fitted)", "kind")

    # when
    date = row.get("date", "")
    t = None
    year = None
    if measure == "calendar_year":
        if _YEAR.match(date) and DATE_RANGE[0] <= int(date) <= DATE_RANGE[1]:
            year = int(date)
            t = float(year)
        elif _YEAR.match(date):
            fail(f"year {date} is outside {DATE_RANGE[0]}-{DATE_RANGE[1]}; correct it", "date")
        else:
            fail(f"date {date!r} is not a year; a calendar_year row gives the year only, e.g. 2025", "date")
    elif _DATE.match(date):
        try:
            d = _dt.date.fromisoformat(date)
        except ValueError:
            fail(f"date {date!r} is not a calendar date (no such day); write a real YYYY-MM-DD",
                 "date")
        else:
            if DATE_RANGE[0] <= d.year <= DATE_RANGE[1]:
                t = decimal_year(d)
            else:
                fail(f"date {date} is outside {DATE_RANGE[0]}-{DATE_RANGE[1]}; correct the year",
                     "date")
    else:
        fail(f"date {date!r} is not YYYY-MM-DD; give the day the figure refers to (for a "
             "month or an end of year, e.g. 2025-12-31; say so in note)", "date")

    # value and unit
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
            fail(f"unit {unit!r} is {dim}; observations are revenue in USD/year or prices in "
                 "USD/GPU-hour", "unit")
            dim = None
        elif value is not None:
            value *= factor
    if value is not None and not (value > 0 and math.isfinite(value)):
        fail(f"value {raw_value!r} must be positive (the models work on log values); drop the "
             "row or say 'zero' in a note", "value")
    if dim and measure in MEASURES and MEASURES[measure] != dim:
        fail(f"measure {measure} needs a {MEASURES[measure]} unit, not {unit!r}; fix the unit "
             "or the measure", "unit")

    # provenance
    for col in ("source_title", "publisher", "address", "quote"):
        if not row.get(col, ""):
            fail(f"{col} is empty; every row needs a source (source_title, publisher, "
                 "published, address, quote): cite where the figure was read", col)
    published = row.get("published", "")
    if not published:
        fail("published is empty; give the source's date (YYYY, YYYY-MM or YYYY-MM-DD, or "
             "n.d.)", "published")
    elif not _published_ok(published):
        fail(f"published {published!r} is not a real date written YYYY, YYYY-MM, YYYY-MM-DD "
             f"(in {DATE_RANGE[0]}-{DATE_RANGE[1]}) or n.d.; write the source's publication "
             "date", "published")
    address = row.get("address", "")
    if address and not _URL.match(address):
        fail(f"address {address!r} is not a web address; give the http(s) URL the figure was "
             "read from", "address")
    confidence = row.get("confidence", "")
    if confidence not in CONFIDENCES:
        fail(f"confidence {confidence!r} is not one of {', '.join(CONFIDENCES)}; direct: the "
             "producer's own document, secondary: a third party reporting it, derived: "
             "arithmetic from other rows", "confidence")
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
        "published": published,
        "address": address,
        "quote": row["quote"],
        "confidence": confidence,
        "fact_id": row.get("fact_id", ""),
        "note": row.get("note", ""),
    }


# --------------------------------------------------------------------------------------------
# data files (``capex fit``)

#: Required columns of a data file besides its value column.
DATA_COLUMNS = ("unit", "source_title", "publisher", "published", "address", "quote",
                "confidence")
#: Optional columns of a data file.
DATA_OPTIONAL = ("date", "fact_id", "note")
_COLUMN_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


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

    try:
        text = read_text(path, shown, CSV_SUFFIXES, "CSV file", encoding="utf-8-sig")
    except InputFileError as e:
        raise ObservationError(e.problem) from None
    header, header_line, raw_rows = _csv_rows(text, shown)
    if header is None:
        raise ObservationError(Problem(
            f"the file is empty; write a header line ({column},{','.join(DATA_COLUMNS)}) and "
            "one row per value, each with its source", shown))
    missing = [c for c in (column, *DATA_COLUMNS) if c not in header]
    if missing:
        close = _close(column, [h for h in header if h not in DATA_COLUMNS + DATA_OPTIONAL]) \
            if column in missing else ""
        bad(f"missing column(s) {', '.join(missing)}; the header must name {column} and "
            f"{','.join(DATA_COLUMNS)}" + (f" (for --column: {close})" if close else ""),
            header_line)
    bad_names = [h for h in header if not _COLUMN_NAME.match(h)]
    if bad_names:
        bad(f"column name(s) {', '.join(map(repr, bad_names))} are not lowercase words; rename "
            "them (letters, digits, '_')", header_line)
    dupes = sorted({c for c in header if header.count(c) > 1})
    if dupes:
        bad(f"column(s) {', '.join(dupes)} appear more than once; keep one of each",
            header_line)
    if problems:
        raise ObservationError(problems)
    if not raw_rows:
        bad("no data rows; add at least one row (one value per row, each with its source)",
            header_line)
        raise ObservationError(problems)
    records = []
    units: dict[str, int] = {}
    for line, cells in raw_rows:
        if len(cells) != len(header):
            bad(f"{len(cells)} fields but the header has {len(header)}; quote fields that "
                'contain commas ("...") and give every column (leave optional ones empty)', line)
            continue
        row = {h: c.strip() for h, c in zip(header, cells)}
        ok = True

        def fail(msg, col, _line=line):
            nonlocal ok
            ok = False
            bad(msg, _line, col)

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
        for col in ("source_title", "publisher", "address", "quote"):
            if not row[col]:
                fail(f"{col} is empty; every row needs a source (source_title, publisher, "
                     "published, address, quote): cite where the figure was read", col)
        if not _published_ok(row["published"]):
            fail(f"published {row['published']!r} is not a real date written YYYY, YYYY-MM, "
                 "YYYY-MM-DD or n.d.; write the source's publication date", "published")
        if row["address"] and not _URL.match(row["address"]):
            fail(f"address {row['address']!r} is not a web address; give the http(s) URL the "
                 "figure was read from", "address")
        if row["confidence"] not in CONFIDENCES:
            fail(f"confidence {row['confidence']!r} is not one of {', '.join(CONFIDENCES)}; "
                 "direct: the producer's own document, secondary: a third party, derived: "
                 "arithmetic from other rows", "confidence")
        if row.get("date") and not _published_ok(row["date"]):
            fail(f"date {row['date']!r} is not a real date written YYYY, YYYY-MM or "
                 "YYYY-MM-DD; correct it or leave it empty", "date")
        if not ok:
            continue
        units.setdefault(dim, line)
        records.append({"line": line, "value": value * factor, "unit": dim,
                        **{c: row[c] for c in DATA_COLUMNS if c != "unit"},
                        **{c: row.get(c, "") for c in DATA_OPTIONAL}})
    if len(units) > 1:
        mixed = ", ".join(f"{u} (from line {ln})" for u, ln in units.items())
        bad(f"one file holds values of one unit but units mix: {mixed}; split the file by unit",
            max(units.values()))
    if problems:
        raise ObservationError(problems)
    import pandas as pd  # deferred: heavy, and only fits need the table

    df = pd.DataFrame.from_records(records)
    df.attrs.update(path=str(path), unit=next(iter(units)), column=column)
    return df
