"""``dist: empirical``: a parameter that resamples a cited data column.

::

    gpu_price:
      dist: empirical
      data: data/h100_prices.csv      # a data file, relative to this YAML file
      column: value                   # optional (default value)
      kde: false                      # optional: true smooths it (Gaussian KDE)
      unit: USD/GPU-hour

The data file is the one ``capex fit`` reads (:func:`model.loading.observations.load_data`: one
number per row, each row with its unit and its source). The core cannot read files, so this
module reads the column and hands the numbers to :func:`model.core.distributions.empirical`.
The rows' values are used in their own unit, converted to the canonical one (so the
parameter's ``unit:`` must have the same dimension, and ``currency_year`` does not apply). A
parameter without ``source:`` or ``hypothetical:`` is sourced by the rows it resamples, as a
calibrated series is by its observations.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from ..core.errors import AssumptionError, Problem
from ..core.provenance import Provenance
from ..core.units import UnknownUnit, parse_unit
from .files import CSV_SUFFIXES, check_input_path
from .observations import load_data
from .sources import row_sources


def _report(ctx, problems) -> None:
    """Record ``problems`` once: the provenance and the values both read the data file."""
    for p in problems:
        if p not in ctx.problems:
            ctx.problems.append(p)


def _bad(ctx, message: str, file, line, name: str) -> None:
    _report(ctx, [Problem(message, file, line, name)])


def is_empirical(raw) -> bool:
    """Whether a parameter (or series point) mapping is ``dist: empirical``."""
    return isinstance(raw, dict) and str(raw.get("dist", "")).strip().lower() == "empirical"


def data_table(ctx, raw: dict, where, name: str):
    """The validated data file of an empirical spec (a pandas DataFrame), or None with the
    problems recorded in ``ctx`` (at the ``data:`` line)."""
    data, column = raw.get("data"), raw.get("column", "value")
    line = where.of("data") if "data" in raw else where.line
    if not isinstance(data, str) or not data.strip():
        _bad(
            ctx,
            "empirical needs its data file; add 'data: file.csv' (one value per row, each with "
            "unit and source; the path is relative to this file)",
            where.file,
            line,
            name,
        )
        return None
    if not isinstance(column, str) or not column.strip():
        _bad(
            ctx,
            f"column {column!r} is not a column name; write e.g. column: value",
            where.file,
            where.of("column"),
            name,
        )
        return None
    base = Path(where.file).parent if where.file else Path(".")
    path = base / data
    why = check_input_path(path, data, CSV_SUFFIXES, "data CSV file")
    if why is not None:
        _bad(
            ctx,
            f"data file {data!r}: {why.message} (the path is relative to this file)",
            where.file,
            line,
            name,
        )
        return None
    try:
        st = os.stat(path)
        return _load(str(path.resolve()), column, (st.st_mtime_ns, st.st_size))
    except AssumptionError as e:
        _report(ctx, e.problems)
    return None


@lru_cache(maxsize=16)
def _load(path: str, column: str, stamp: tuple):
    """:func:`load_data`, once per file version (the provenance and the values both need it)."""
    return load_data(path, column)


def empirical_values(ctx, raw: dict, where, name: str) -> tuple[float, ...] | None:
    """The numbers an empirical spec resamples, in canonical units, or None (reported).

    The rows' unit must have the dimension of the parameter's ``unit:`` (a series point,
    which has no unit of its own, cannot be empirical: the whole parameter must be).
    """
    unit = raw.get("unit")
    if unit is None:
        if not any(p.parameter == name for p in ctx.problems):  # else: read_unit said so
            _bad(
                ctx,
                "only a whole parameter can be empirical (with its own unit:), not one year of "
                "a series or a part of another form; write 'dist: empirical' on the parameter "
                "itself (its draws then hold for every year)",
                where.file,
                where.line,
                name,
            )
        return None
    if raw.get("currency_year") is not None:
        _bad(
            ctx,
            "currency_year does not apply to an empirical distribution (its values are used "
            "as the data file writes them); remove it",
            where.file,
            where.of("currency_year"),
            name,
        )
        return None
    table = data_table(ctx, raw, where, name)
    if table is None:
        return None
    try:
        dim = parse_unit(str(unit), ctx.currency)[0]
    except UnknownUnit:
        return None  # reported by read_unit
    if any(p.parameter == name and p.line == where.of("unit") for p in ctx.problems):
        return None  # the unit itself is wrong (read_unit said so): no second complaint
    if table.attrs["unit"] != dim:
        _bad(
            ctx,
            f"the rows of {raw['data']} are in {table.attrs['unit']}, but unit {unit!r} is "
            f"{dim}; give the parameter a unit of the data's dimension (or another data file)",
            where.file,
            where.of("unit"),
            name,
        )
        return None
    return tuple(float(v) for v in table["value"])


def empirical_provenance(ctx, raw: dict, where) -> Provenance | None:
    """An empirical parameter with neither ``source:`` nor ``hypothetical:`` is sourced by the
    rows it resamples: their sources (one per ``fact_id``, or per address)."""
    table = data_table(ctx, raw, where, where.name)
    if table is None:
        return None
    shown = Path(str(raw["data"])).name
    sources = row_sources(table, f"data row of {shown}", table.attrs["path"])
    return Provenance(
        sources=sources,
        locators=(("note", f"resamples {len(table)} cited values in {shown}"),),
    )
