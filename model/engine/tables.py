"""The run as flat tables (pandas DataFrames): one row per draw, one row per draw and year, one
row per input. ``capex run --format csv,parquet,xlsx`` writes them (:mod:`model.reporting.exports`)
and :meth:`Results.to_frame` returns them; docs/exports.md says what every column holds.

Column names are plain strings, the same as in ``results.nc``: a metric by its name (``npv``,
``irr``, ``payback_years``), an uncertain input as ``input_<parameter>`` (``input_capex_overrun``);
the prefix keeps inputs and outputs apart where a name is both (the industry model's
``ai_revenue`` is an input and a series). Units are not in the names: ``df.attrs["units"]`` maps
every column to its canonical unit, ``df.attrs["labels"]`` to what it is in words, and
:func:`inputs_frame` lists every input with its unit and provenance.

A per-draw value is exactly the run's (canonical units: USD, not USD billions; shares as
fractions; rates per year). ``NaN`` means the metric has no value in that draw: no IRR exists,
or (``payback_years``, ``gap_close_year``) the draw does not get there by the horizon's last year.

Fixed inputs (one number, or one number per year) are not columns of the per-draw tables, since
they do not vary by draw; :func:`inputs_frame` gives their values.
"""

from __future__ import annotations

import numpy as np

from ..core.scenario import InputForm, Parameter
from ..core.vocabulary import OUTPUTS, outputs_of

__all__ = ["draws_frame", "series_frame", "inputs_frame", "INPUT_PREFIX", "INPUT_COLUMNS"]

#: Prefix of an input's column in the per-draw and per-year tables (as in ``results.nc``).
INPUT_PREFIX = "input_"
#: The columns of :func:`inputs_frame`, in order.
INPUT_COLUMNS = (
    "name",
    "form",
    "unit",
    "unit_in_file",
    "category",
    "description",
    "value",
    "by_year",
    "setting",
    "distribution",
    "column",
    "table",
    "provenance",
    "sources",
    "rationale",
    "locators",
    "defined_at",
)
#: Run attributes carried in ``df.attrs["run"]`` (and the Parquet file's metadata).
RUN_ATTRS = (
    "scenario",
    "overlay",
    "title",
    "model",
    "seed",
    "draws",
    "design",
    "series_draws",
    "input_hash",
    "version",
    "currency",
    "timing",
)


def metric_columns(results) -> list[str]:
    """The per-draw metrics of a run, as :func:`draws_frame` orders them: the summarised ones
    first (the order of ``capex run``'s table), then the other per-draw facts (``total_spend``,
    ``irr_roots``, ...) in the vocabulary's order, then any other (sorted)."""
    known = [o.name for o in outputs_of(results.model, "metric")]
    summarised = [m for m in results.metric_names if m in results.metrics]
    others = [m for m in known if m in results.metrics and m not in summarised]
    rest = sorted(set(results.metrics) - set(summarised) - set(others))
    return summarised + others + rest


def _input_names(results, ndim: int) -> list[str]:
    """The uncertain inputs stored with ``ndim`` dimensions (1: one value per draw, 2: one per
    draw and year), in the file's parameter order."""
    order = list(results.scenario.parameters)
    names = [n for n in results.inputs if np.ndim(results.inputs[n]) == ndim]
    return sorted(names, key=lambda n: order.index(n) if n in order else len(order))


def _input_unit(results, name: str) -> str:
    p = results.scenario.parameters.get(name)
    return p.spec.unit if p is not None else ""


def _input_label(results, name: str) -> str:
    p = results.scenario.parameters.get(name)
    return p.spec.meaning if p is not None else name


def _run_attrs(results) -> dict:
    """The run's identity (JSON-ready): scenario, seed, draws, design, input hash, version..."""
    a = results.attrs
    out = {k: a[k] for k in RUN_ATTRS if k in a}
    out = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in out.items()}
    out["years"] = [int(results.scenario.start), int(results.scenario.end)]
    return out


def draws_frame(results):
    """One row per draw: every per-draw metric and every uncertain input with one value per draw.

    Parameters
    ----------
    results : Results

    Returns
    -------
    pandas.DataFrame
        Index ``draw`` (0 .. draws - 1, the run's draw numbers). Columns, in order: the
        metrics (:func:`metric_columns`: ``npv`` [USD], ``irr`` [1/year], ``payback_years``
        [years], ...), then ``input_<name>`` for each uncertain scalar input in the file's order
        [the input's canonical unit]. Values are the run's own arrays, copied; ``NaN`` = no
        value in that draw (no IRR; no payback or gap closing by the last year). Yearly inputs
        are in :func:`series_frame`; fixed inputs in :func:`inputs_frame`. ``attrs``:
        ``units`` and ``labels`` (column to unit / words) and ``run`` (scenario, seed, draws,
        design, input_hash, version, years ...).
    """
    import pandas as pd  # deferred: pandas is heavy

    data, units, labels = {}, {}, {}
    for m in metric_columns(results):
        data[m] = results.metric(m)
        spec = OUTPUTS.get(m)
        units[m] = spec.unit if spec else ""
        labels[m] = spec.label if spec else m
    for name in _input_names(results, 1):
        col = INPUT_PREFIX + name
        data[col] = np.array(results.inputs[name], dtype=float)
        units[col] = _input_unit(results, name)
        labels[col] = _input_label(results, name)
    df = pd.DataFrame(data, index=pd.RangeIndex(results.draws, name="draw"))
    df.attrs.update(units=units, labels=labels, run=_run_attrs(results))
    return df


def series_frame(results):
    """One row per (draw, year) for the draws the run kept yearly series for.

    Parameters
    ----------
    results : Results

    Returns
    -------
    pandas.DataFrame
        Columns ``draw`` (0 .. series_draws - 1), ``year`` (calendar year), then each yearly
        series in the vocabulary's order (``revenue`` [USD/year], ``fcf`` [USD/year],
        ``cumulative_fcf`` [USD], ...), then ``input_<name>`` for each uncertain input with one
        value per draw and year (``input_price_per_gpu_hour`` [USD/GPU-hour]). Rows run draw by
        draw, years in order within a draw. ``attrs`` as :func:`draws_frame`'s.
    """
    import pandas as pd  # deferred: pandas is heavy

    years = np.asarray(results.scenario.years)
    names = results.series_names + sorted(set(results.series) - set(results.series_names))
    kept = results.series[names[0]].shape[1] if names else 0
    data = {
        "draw": np.repeat(np.arange(kept), len(years)),
        "year": np.tile(years, kept),
    }
    units, labels = {"draw": "", "year": "year"}, {"draw": "draw", "year": "calendar year"}
    for s in names:
        data[s] = results.series[s].T.ravel()  # (years, draws) store -> draw-major rows
        spec = OUTPUTS.get(s)
        units[s] = spec.unit if spec else ""
        labels[s] = spec.label if spec else s
    for name in _input_names(results, 2):
        col = INPUT_PREFIX + name
        data[col] = np.asarray(results.inputs[name], dtype=float)[:kept].ravel()
        units[col] = _input_unit(results, name)
        labels[col] = _input_label(results, name)
    df = pd.DataFrame(data)
    df.attrs.update(units=units, labels=labels, run=_run_attrs(results))
    return df


def input_form(p: Parameter) -> str:
    """How an input enters the run, in one word or two: ``fixed``, ``uncertain``, ``fixed
    series``, ``uncertain series``, ``calibrated`` or ``switch``."""
    if p.form == InputForm.SWITCH:
        return "switch"
    if p.form == InputForm.CALIBRATED:
        return "calibrated"
    kind = "uncertain" if p.is_uncertain else "fixed"
    return f"{kind} series" if p.form == InputForm.SERIES else kind


def _provenance(p: Parameter) -> dict:
    """provenance (sourced, hypothetical, default or none), sources (``key: title`` each),
    rationale (a hypothetical input's), locators (quote, page, table ...)."""
    prov = p.provenance
    if prov is None:
        kind = "default" if p.default else ("none" if p.form == InputForm.SWITCH else "")
        return {"provenance": kind, "sources": "", "rationale": "", "locators": ""}
    return {
        "provenance": prov.label,
        "sources": "; ".join(f"{s.key}: {s.title}" for s in prov.sources),
        "rationale": prov.hypothetical or "",
        "locators": "; ".join(f"{k}: {v}" for k, v in prov.locators),
    }


def _by_year(years, values) -> str:
    return "; ".join(f"{int(y)}: {float(v):.10g}" for y, v in zip(years, values))


def _input_row(results, p: Parameter) -> dict:
    """One row of :func:`inputs_frame`."""
    form = input_form(p)
    fixed = results.fixed_inputs.get(p.name)
    stored = results.inputs.get(p.name)
    column = INPUT_PREFIX + p.name if stored is not None else ""
    table = "" if stored is None else ("series" if np.ndim(stored) == 2 else "draws")
    value = float(fixed) if fixed is not None and np.ndim(fixed) == 0 else np.nan
    by_year = _by_year(results.scenario.years, fixed) if np.ndim(fixed) == 1 else ""
    setting = ""
    if form == "switch":
        setting = str(p.value).lower() if isinstance(p.value, bool) else str(p.value)
    return {
        "name": p.name,
        "form": form,
        "unit": "" if form == "switch" else p.spec.unit,
        "unit_in_file": p.unit,
        "category": p.category,
        "description": p.spec.meaning,
        "value": value,
        "by_year": by_year,
        "setting": setting,
        "distribution": p.describe() if p.is_uncertain else "",
        "column": column,
        "table": table,
        **_provenance(p),
        "defined_at": f"{p.file}:{p.line}" if p.file and p.line else (p.file or ""),
    }


def inputs_frame(results):
    """One row per input of the run's scenario (the file's order), with its unit and provenance.

    Parameters
    ----------
    results : Results

    Returns
    -------
    pandas.DataFrame
        Columns (:data:`INPUT_COLUMNS`): ``name``; ``form`` (:func:`input_form`); ``unit`` (the
        canonical unit of every value in the exports) and ``unit_in_file`` (as written);
        ``category``; ``description``; ``value`` (a fixed scalar input's value [unit], else
        NaN); ``by_year`` (a fixed series' value for each year, ``2025: 0.1; 2026: 0.2``
        [unit]); ``setting`` (a switch's choice); ``distribution`` (an uncertain input's, in
        words); ``column`` (an uncertain input's column, ``input_<name>``) and ``table`` (the
        table that has it: ``draws``, :func:`draws_frame`, or ``series``,
        :func:`series_frame`); ``provenance`` (``sourced``, ``hypothetical``, ``default``: not
        in the file, the neutral value, or ``none``: a switch); ``sources`` (``key: title`` of
        each cited source); ``rationale`` (a hypothetical input's); ``locators`` (quote, page,
        table ... of the citation); ``defined_at`` (``file:line``).
    """
    import pandas as pd  # deferred: pandas is heavy

    rows = [_input_row(results, p) for p in results.scenario.parameters.values()]
    return pd.DataFrame(rows, columns=list(INPUT_COLUMNS))
