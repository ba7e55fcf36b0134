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

The priors file (``assumptions/observations/priors.yaml``) gives, for each calibration model, a
``reference_date`` and one prior per model parameter, each a distribution with a unit and exactly
one of ``source:`` (inline ``{title, publisher, published, url}``) or ``hypothetical:`` (a
rationale). See :func:`load_priors`.

Both loaders report every problem at once, each as ``file:line: what is wrong; how to fix``.
"""

from __future__ import annotations

import csv
import datetime as _dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .errors import ObservationError, Problem, display_path
from .units import UnknownUnit, parse_amount, parse_unit

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
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ObservationError(
            Problem(f"observation file not found; check the path (looked in {path.resolve()})",
                    shown)
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ObservationError(
            Problem(f"cannot read the file ({exc}); save it as UTF-8 CSV", shown)
        ) from None

    lines = text.splitlines(keepends=True)
    reader = csv.reader(lines)
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
    if unknown:
        bad(f"unknown column(s) {', '.join(unknown)}; allowed: "
            f"{', '.join(COLUMNS + OPTIONAL_COLUMNS)} (put remarks in note)", header_line)
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

    if len(dims) > 1:
        first = ", ".join(f"{u} (from line {ln})" for u, ln in dims.items())
        bad(f"one file holds one series but units mix: {first}; split the file by unit",
            max(dims.values()))
    if problems:
        raise ObservationError(problems)

    df = pd.DataFrame.from_records(records)
    df["year"] = df["year"].astype("Int64")
    df.attrs["path"] = str(path)
    df.attrs["unit"] = next(iter(dims))
    df.attrs["series"] = path.stem
    return df


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
        if _YEAR.match(date):
            year = int(date)
            t = float(year)
        else:
            fail(f"date {date!r}: a calendar_year row gives the year only, e.g. 2025", "date")
    elif _DATE.match(date):
        try:
            d = _dt.date.fromisoformat(date)
            t = decimal_year(d)
        except ValueError:
            fail(f"date {date!r} is not a valid date; write YYYY-MM-DD", "date")
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
    elif not _PUBLISHED.match(published):
        fail(f"published {published!r} is not YYYY, YYYY-MM, YYYY-MM-DD or n.d.; write the "
             "source's publication date", "published")
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
# priors

#: Distribution families of priors and their parameters.
PRIOR_FAMILIES = {
    "normal": ("mu", "sigma"),
    "lognormal": ("median", "sigma"),
    "halfnormal": ("sigma",),
}
_SOURCE_KEYS = ("title", "publisher", "published", "url")
_SOURCE_OPTIONAL = ("quote", "note", "fact_id")


@dataclass(frozen=True)
class Prior:
    """One prior: a distribution of a model parameter, with its provenance.

    Parameters
    ----------
    name : str
        Model parameter (``level``, ``growth``, ...).
    distribution : str
        One of :data:`PRIOR_FAMILIES`.
    args : dict
        Distribution parameters as numbers (``median`` already in ``unit``'s canonical form).
    unit : str
        Unit as written in the file.
    source : dict or None
        ``{title, publisher, published, url}`` (+ optional quote, note, fact_id).
    hypothetical : str or None
        Rationale, when there is no source.
    line : int
        Line of the prior in the priors file.
    """

    name: str
    distribution: str
    args: dict
    unit: str
    source: dict | None = None
    hypothetical: str | None = None
    line: int | None = None

    def provenance(self) -> dict:
        """``{"source": {...}}`` or ``{"hypothetical": "..."}``."""
        if self.source is not None:
            return {"source": dict(self.source)}
        return {"hypothetical": self.hypothetical}

    def to_dict(self) -> dict:
        """JSON-ready description (used for cache keys and reports)."""
        return {
            "distribution": self.distribution,
            **{k: float(v) for k, v in self.args.items()},
            "unit": self.unit,
            **self.provenance(),
        }


@dataclass
class ModelPriors:
    """Priors of one calibration model.

    Parameters
    ----------
    model : str
    reference_date : float
        Date at which ``level`` and ``growth`` are defined [decimal year].
    params : dict of str to Prior
    line : int
        Line of the model's block in the priors file.
    file : str
        Priors file, as shown in messages.
    """

    model: str
    reference_date: float
    params: dict[str, Prior] = field(default_factory=dict)
    line: int | None = None
    file: str | None = None

    def to_dict(self) -> dict:
        """JSON-ready description."""
        return {
            "reference_date": self.reference_date,
            "params": {k: p.to_dict() for k, p in self.params.items()},
        }


def _compose(text: str):
    import yaml

    return yaml.compose(text, Loader=yaml.SafeLoader)


def _construct(node):
    import yaml

    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


def _mapping(node) -> list[tuple[str, object, int]]:
    """(key, value node, 1-based line) for a mapping node."""
    out = []
    for k, v in node.value:
        out.append((str(k.value), v, k.start_mark.line + 1))
    return out


def load_priors(path: str | Path) -> dict[str, ModelPriors]:
    """Read and validate the priors file.

    Layout::

        models:
          logistic:
            reference_date: 2026-01-01
            level:
              distribution: lognormal     # of the run-rate at reference_date
              median: 10B
              sigma: 2.5                  # of the natural log
              unit: USD/year
              hypothetical: "..."         # or source: {title, publisher, published, url}
            growth: ...

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    dict of str to ModelPriors
        Keyed by model name. Which parameters each model needs is checked by
        :mod:`model.calibration`.

    Raises
    ------
    ObservationError
        With every problem found (file:line), e.g. a prior with both or neither of ``source``
        and ``hypothetical``.
    """
    import yaml

    path = Path(path)
    shown = display_path(path)
    problems: list[Problem] = []

    def bad(message: str, line: int | None = None, parameter: str | None = None) -> None:
        problems.append(Problem(message, shown, line, parameter))

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ObservationError(
            Problem(f"priors file not found; check the path (looked in {path.resolve()})", shown)
        ) from None
    try:
        root = _compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ObservationError(
            Problem(f"not valid YAML ({getattr(exc, 'problem', exc)}); fix the indentation or "
                    "quoting", shown, mark.line + 1 if mark else None)
        ) from None
    if root is None or not isinstance(root, yaml.MappingNode):
        raise ObservationError(Problem("the top level must be a mapping with a 'models:' key; "
                                       "see assumptions/observations/priors.yaml", shown, 1))
    top = {k: (v, ln) for k, v, ln in _mapping(root)}
    for k, (_, ln) in top.items():
        if k != "models":
            bad(f"unknown top-level key {k!r}; only 'models' is allowed (comments start "
                "with #)", ln)
    if "models" not in top or not isinstance(top["models"][0], yaml.MappingNode):
        bad("missing 'models:' mapping (model name -> reference_date and priors)", 1)
        raise ObservationError(problems)

    out: dict[str, ModelPriors] = {}
    for model, mnode, mline in _mapping(top["models"][0]):
        if not isinstance(mnode, yaml.MappingNode):
            bad("a model block must be a mapping of reference_date and parameter priors",
                mline, model)
            continue
        ref = None
        params: dict[str, Prior] = {}
        for key, pnode, pline in _mapping(mnode):
            who = f"{model}.{key}"
            if key == "reference_date":
                val = _construct(pnode)
                if isinstance(val, _dt.datetime):
                    val = val.date()
                if isinstance(val, str):
                    try:
                        val = _dt.date.fromisoformat(val)
                    except ValueError:
                        val = None
                if isinstance(val, _dt.date):
                    ref = _start_of_day(val)
                else:
                    bad("reference_date must be a date (YYYY-MM-DD)", pline, who)
                continue
            if not isinstance(pnode, yaml.MappingNode):
                bad("a prior must be a mapping (distribution, its parameters, unit, and source "
                    "or hypothetical)", pline, who)
                continue
            prior = _parse_prior(key, pnode, pline, who, bad)
            if prior is not None:
                params[key] = prior
        if ref is None and not any(p.parameter == f"{model}.reference_date" for p in problems):
            bad("missing reference_date (the date at which level and growth are defined, "
                "e.g. 2026-01-01)", mline, model)
        out[model] = ModelPriors(model, ref if ref is not None else math.nan, params, mline,
                                 shown)
    if problems:
        raise ObservationError(problems)
    return out


def _parse_prior(name: str, node, line: int, who: str, bad) -> Prior | None:
    import yaml

    items = {k: (v, ln) for k, v, ln in _mapping(node)}
    ok = True

    def fail(msg: str, ln: int | None = None) -> None:
        nonlocal ok
        ok = False
        bad(msg, ln or line, who)

    dist = _construct(items["distribution"][0]) if "distribution" in items else None
    if dist not in PRIOR_FAMILIES:
        fail(f"distribution {dist!r} is not one of {', '.join(PRIOR_FAMILIES)}; write e.g. "
             "'distribution: lognormal' with median and sigma",
             items.get("distribution", (None, line))[1])
        return None
    needed = PRIOR_FAMILIES[dist]
    allowed = set(needed) | {"distribution", "unit", "source", "hypothetical"}
    for k, (_, ln) in items.items():
        if k not in allowed:
            fail(f"unknown key {k!r} for a {dist} prior; allowed: {', '.join(sorted(allowed))}",
                 ln)
    unit = _construct(items["unit"][0]) if "unit" in items else None
    if not isinstance(unit, str) or not unit.strip():
        fail("unit is missing; give the parameter's unit (e.g. USD/year, 1/year, log)")
        unit = ""
    factor = 1.0
    if unit and unit.startswith("USD"):
        try:
            _, factor = parse_unit(unit)
        except UnknownUnit as exc:
            fail(str(exc), items["unit"][1])
    args = {}
    for k in needed:
        if k not in items:
            fail(f"{dist} needs {', '.join(needed)}; {k} is missing")
            continue
        raw = _construct(items[k][0])
        try:
            x = parse_amount(raw)
        except ValueError as exc:
            fail(f"{k}: {exc}", items[k][1])
            continue
        if k == "median":
            x *= factor
        if k in ("sigma", "median") and not x > 0:
            fail(f"{k} must be positive", items[k][1])
            continue
        args[k] = x

    has_src = "source" in items
    has_hyp = "hypothetical" in items
    source = None
    hypo = None
    if has_src and has_hyp:
        fail("give exactly one of source and hypothetical, not both; keep the source if the "
             "numbers come from it")
    elif not has_src and not has_hyp:
        fail("no provenance: add source: {title, publisher, published, url} or "
             "hypothetical: <why these numbers>")
    elif has_hyp:
        hypo = _construct(items["hypothetical"][0])
        if not isinstance(hypo, str) or not hypo.strip():
            fail("hypothetical is empty; write the rationale for the numbers",
                 items["hypothetical"][1])
    else:
        snode, sline = items["source"]
        if not isinstance(snode, yaml.MappingNode):
            fail("source must be a mapping {title, publisher, published, url}", sline)
        else:
            source = {}
            for k, v, ln in _mapping(snode):
                val = _construct(v)
                if k not in _SOURCE_KEYS + _SOURCE_OPTIONAL:
                    fail(f"unknown source key {k!r}; use {', '.join(_SOURCE_KEYS)} (optionally "
                         f"{', '.join(_SOURCE_OPTIONAL)})", ln)
                    continue
                source[k] = "" if val is None else str(val).strip()
            for k in _SOURCE_KEYS:
                if not source.get(k):
                    fail(f"source.{k} is missing or empty; a source needs "
                         f"{', '.join(_SOURCE_KEYS)}", sline)
            if source.get("url") and not _URL.match(source["url"]):
                fail(f"source.url {source['url']!r} is not a web address; give the http(s) "
                     "URL", sline)
            if source.get("published") and not _PUBLISHED.match(source["published"]):
                fail(f"source.published {source['published']!r} is not YYYY, YYYY-MM, "
                     "YYYY-MM-DD or n.d.", sline)
    if not ok:
        return None
    return Prior(name, dist, args, unit.strip(), source, hypo.strip() if hypo else None, line)
