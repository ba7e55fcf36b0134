"""The results of a run: every draw's metrics and uncertain inputs, yearly series, summaries.

:class:`Results` holds numpy arrays; ``.ds`` builds the ``xarray.Dataset`` (dims ``draw``,
``year``) on first use, so a run that only prints its summary never imports xarray. Summaries
are computed once per metric and series (one sort gives every quantile) and kept; the summaries
of a whole run are computed in threads (numpy sorts without holding the GIL).
"""

from __future__ import annotations

import errno
import io
import math
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from pathlib import Path

import numpy as np

from .._version import __version__
from ..core.formatting import format_estimate, format_summary_mean, probability_text
from ..core.scenario import InputForm, Scenario
from ..core.statistics import ErrorModel, sorted_quantiles
from ..core.targets import ProbabilityTarget
from ..core.vocabulary import OUTPUTS, outputs_of, summary_metrics
from . import financials
from .designs import BLOCK
from .inputs import interpolation_weights
from .summaries import QUANTILE_KEYS, QUANTILES, json_summary, probability, summarise_metric

__all__ = ["QUANTILES", "QUANTILE_KEYS", "Results"]


class Results:
    """Results of a run.

    Attributes
    ----------
    scenario : Scenario
    attrs : dict
        scenario, overlay, title, model, seed, draws, design, block, input_hash, version,
        timing, currency, series_draws, input_variables.
    metrics : dict of str to ndarray (draws,)
    inputs : dict of str to ndarray (draws,) or (draws, years)
        Every uncertain input's draws (canonical units).
    fixed_inputs : dict of str to float or ndarray (years,)
        Every fixed numeric input.
    series : dict of str to ndarray (years, series_draws)
        Yearly series of the first ``series_draws`` draws, year-major (``series_values``
        gives the (draws, years) view).
    """

    QUANTILES = QUANTILES

    def __init__(
        self,
        scenario: Scenario,
        attrs: dict,
        metrics: dict,
        inputs: dict,
        series: dict,
        fixed_inputs: dict | None = None,
        warnings: list | None = None,
        errors: ErrorModel | None = None,
    ):
        self.scenario = scenario
        self.attrs = dict(attrs)
        self.metrics = metrics
        self.inputs = inputs
        self.series = series
        self.fixed_inputs = fixed_inputs or {}
        self.warnings = list(warnings or [])
        #: how the draws depend on each other, hence how every error is estimated
        self.errors = errors or ErrorModel()
        #: extra probabilities asked for (``--prob "irr>0.12"``), in the order asked
        self.targets: list[ProbabilityTarget] = []
        #: the precision target's outcome (``--precision``), when one was set
        self.precision: dict | None = None
        #: the spread of key statistics over independent posterior fits (calibrated runs)
        self.posterior_check: dict | None = None
        self._summaries: dict[str, dict] = {}
        self._series_quantiles: dict[str, np.ndarray] = {}
        #: the Zarr store an out-of-core run streamed its draws to (its metrics and inputs are
        #: read from there one column at a time); None for a run in memory
        self.store = None

    # ------------------------------------------------------------------ names
    @property
    def model(self) -> str:
        """The model kind of the run (``programme`` or ``industry``)."""
        return self.attrs["model"]

    @property
    def draws(self) -> int:
        """Number of draws of the run."""
        return int(self.attrs["draws"])

    @property
    def metric_names(self) -> list[str]:
        """The metrics ``capex run`` summarises, in the vocabulary's order."""
        return [m for m in summary_metrics(self.model) if m in self.metrics]

    @property
    def series_names(self) -> list[str]:
        """The yearly series the run kept, in the vocabulary's order."""
        return [o.name for o in outputs_of(self.model, "series") if o.name in self.series]

    @property
    def probability_names(self) -> list[str]:
        """The probabilities the run reports (``npv_positive``, ...)."""
        return [o.name for o in outputs_of(self.model, "probability")]

    # ------------------------------------------------------------------ values
    def metric(self, name: str) -> np.ndarray:
        """Every draw's value of a metric (draws,)."""
        return np.asarray(self.metrics[name], dtype=float)

    def series_values(self, name: str) -> np.ndarray:
        """A series as (series_draws, years) (a view of the year-major store)."""
        return self.series[name].T

    def metric_summary(self, name: str) -> dict:
        """What a metric's draws say, with errors (:func:`model.engine.summaries.
        summarise_metric`): unit, mean, sd, mcse, p05..p95 [the metric's unit], quantile_mcse,
        defined_share, undefined_share, quantiles_of, and ``conditional`` for never-metrics
        (payback: a draw that never pays back counts as beyond the horizon, a quantile there is
        ``inf``). Computed once (one sort) and kept."""
        if name not in self._summaries:
            extra = {
                k: self.metric(k)
                for k in ("irr_roots", "payback_via_terminal")
                if k in self.metrics
            }
            self._summaries[name] = summarise_metric(name, self.metric(name), self.errors, extra)
        return dict(self._summaries[name])

    def probability(self, name: str) -> dict:
        """A probability of the vocabulary (``npv_positive``, ...) with its Monte Carlo
        standard error (the run's error model): ``{"value", "mcse"}``."""
        if name == "npv_positive":
            ind = self.metric("npv") > 0
        elif name == "payback_within_horizon":
            ind = np.isfinite(self.metric("payback_years"))
        elif name == "gap_closed_by_end":
            ind = self.metric("revenue_gap_final") <= 0
        else:
            raise KeyError(name)
        return probability(ind, self.errors)

    def probability_of(self, target: ProbabilityTarget | str) -> dict:
        """P(metric op value) for any target (``"irr>0.12"``, ``"peak_funding<60B"``): the
        share of all draws meeting it (an undefined or never draw does not), with its MCSE."""
        t = target if isinstance(target, ProbabilityTarget) else ProbabilityTarget.parse(target)
        if t.metric not in self.metrics:
            raise KeyError(f"{t.metric!r} is not a metric of this run")
        return probability(t.indicator(self.metric(t.metric)), self.errors)

    def revenue_cap(self) -> dict:
        """company_share model: ``revenue_capped_share`` (share of draw-years whose revenue the
        capacity bound capped) and ``revenue_capped_draws_share`` (draws capped in any year);
        empty for other runs."""
        sw = self.scenario.parameters.get("revenue_model")
        if sw is None or sw.value != "company_share" or "revenue_capped_years" not in self.metrics:
            return {}
        years = self.metric("revenue_capped_years")
        t = self.scenario.n_years
        out = {
            "revenue_capped_share": float(years.mean() / t) if years.size else math.nan,
            "revenue_capped_draws_share": float(np.mean(years > 0)) if years.size else math.nan,
        }
        if "revenue_capped" in self.series:  # by year, over the series draws
            out["revenue_capped_by_year"] = self.series["revenue_capped"].mean(axis=1).tolist()
        return out

    def irr_roots(self, draw: int) -> np.ndarray:
        """Every IRR of one draw's free cash flow (:func:`model.engine.financials.irr_roots`)
        [1/year]; draws past the stored series (``series_draws``) raise ``IndexError``."""
        kept = int(self.attrs.get("series_draws", self.draws))
        if not 0 <= int(draw) < kept or "fcf" not in self.series:
            raise IndexError(
                f"draw {draw} has no stored cash flows (series are kept for draws 0..{kept - 1}); "
                "run with a larger --series-draws"
            )
        return financials.irr_roots(self.series["fcf"][:, int(draw)])

    def series_quantiles(self, name: str, quantiles=QUANTILES) -> np.ndarray:
        """Quantiles by year over the series draws, shape (len(quantiles), T); a year with an
        undefined (NaN) value gets NaN. The standard quantiles are computed once and kept."""
        if tuple(quantiles) != QUANTILES:
            return sorted_quantiles(np.sort(self.series[name], axis=1), quantiles)
        if name not in self._series_quantiles:
            self._series_quantiles[name] = sorted_quantiles(
                np.sort(self.series[name], axis=1), QUANTILES
            )
        return self._series_quantiles[name].copy()

    def compute_summaries(self, workers: int | None = None) -> None:
        """Compute every metric summary and series' quantiles now, in ``workers`` threads
        (default: one per CPU; one for a run out of core, whose summaries read one column at a
        time); later calls read them."""
        if self.store is not None:
            workers = 1
        jobs = [(self.metric_summary, m) for m in self.metric_names]
        jobs += [(self.series_quantiles, s) for s in self.series_names]
        with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
            list(pool.map(lambda job: job[0](job[1]), jobs))

    # ------------------------------------------------------------------ tables
    def summary(self):
        """One row per metric (a pandas DataFrame, ``summary.csv``): unit, mean, sd, mcse,
        p05..p95, their errors p05_mcse..p95_mcse, defined_share, undefined_share,
        quantiles_of, and where they apply multiple_share, via_terminal_share and the
        conditional (defined draws) conditional_p50, conditional_mean, conditional_share. A
        quantile beyond the horizon (never) is ``inf``."""
        import pandas as pd  # deferred: heavy, and the CLI's summary does not need it

        rows = {m: _flat(self.metric_summary(m)) for m in self.metric_names}
        return pd.DataFrame.from_dict(rows, orient="index")

    def to_frame(self, series: bool = False):
        """The draws as a pandas DataFrame (:mod:`model.engine.tables`): one row per draw with
        every uncertain input and every metric; ``series=True``: the long table by year (draw,
        year, one column per series) of the draws the run kept series for."""
        from .tables import draws_frame, series_frame  # deferred: pandas is heavy

        return series_frame(self) if series else draws_frame(self)

    def _repr_html_(self) -> str:
        """The notebook view: headline probabilities and the summary table, each number with
        its Monte Carlo error, through the one formatter."""
        return results_html(self)

    def to_json_dict(self) -> dict:
        """The object of ``capex run --json`` (DESIGN.md §4)."""
        self.compute_summaries()
        ser = {}
        for s in self.series_names:
            q = self.series_quantiles(s)
            ser[s] = {
                "unit": OUTPUTS[s].unit,
                "p05": q[0].tolist(),
                "p50": q[2].tolist(),
                "p95": q[4].tolist(),
            }
        a = self.attrs
        return {
            "scenario": self.scenario.label,
            "title": self.scenario.title,
            "model": self.model,
            "draws": int(a["draws"]),
            "seed": int(a["seed"]),
            "design": a["design"],
            "years": [int(y) for y in self.scenario.years],
            "metrics": {m: json_summary(self.metric_summary(m)) for m in self.metric_names},
            "probabilities": {
                **{p: self.probability(p) for p in self.probability_names},
                **{t.key: {**self.probability_of(t), "label": t.label} for t in self.targets},
            },
            "errors": self.errors.describe(),
            "series": ser,
            "provenance": self.scenario.provenance_counts(),
            "input_hash": a["input_hash"],
            "version": a["version"],
            "warnings": list(dict.fromkeys([*self.scenario.warnings, *self.warnings])),
            **self.revenue_cap(),
            **({"precision": self.precision} if self.precision else {}),
            **({"posterior_check": self.posterior_check} if self.posterior_check else {}),
        }

    # ------------------------------------------------------------------ xarray, NetCDF
    @cached_property
    def ds(self):
        """The run as an ``xarray.Dataset``: metrics (draw), series (draw or series_draw, year),
        uncertain inputs ``input_<name>`` (draw[, year]), fixed inputs ``input_<name>`` (no draw
        dimension), with the run's attrs."""
        import xarray as xr  # deferred: heavy, and only NetCDF and analyses need it

        if self.store is not None:  # out of core: the store, opened lazily
            return self._store_ds()
        sc = self.scenario
        done = self.draws
        ds = xr.Dataset(coords={"draw": np.arange(done), "year": sc.years})
        for name, arr in self.metrics.items():
            ds[name] = ("draw", np.asarray(arr))
            spec = OUTPUTS.get(name)
            ds[name].attrs.update(
                unit=spec.unit if spec else "", description=spec.description if spec else name
            )
        kept = int(self.attrs.get("series_draws", done))
        if kept != done:
            ds = ds.assign_coords(series_draw=np.arange(kept))
        for name, arr in self.series.items():
            dims = ("draw", "year") if kept == done else ("series_draw", "year")
            ds[name] = (dims, arr.T)
            ds[name].attrs["unit"] = OUTPUTS[name].unit if name in OUTPUTS else ""
        for name, arr in self.inputs.items():
            ds[f"input_{name}"] = (("draw", "year") if arr.ndim == 2 else ("draw",), arr)
            ds[f"input_{name}"].attrs.update(self._input_attrs(name))
        for name, value in self.fixed_inputs.items():
            v = np.asarray(value, dtype=float)
            ds[f"input_{name}"] = (("year",) if v.ndim == 1 else (), v)
            ds[f"input_{name}"].attrs.update(self._input_attrs(name))
        ds.attrs.update(self.attrs)
        return ds

    def _store_ds(self):
        """The store as a lazily loaded Dataset, with the fixed inputs and the run's attrs."""
        from .store import open_dataset  # deferred: zarr, only out of core

        ds = open_dataset(self.store)
        for name, value in self.fixed_inputs.items():
            v = np.asarray(value, dtype=float)
            ds[f"input_{name}"] = (("year",) if v.ndim == 1 else (), v)
        for name in self.inputs:
            ds[f"input_{name}"].attrs.update(self._input_attrs(name))
        ds.attrs.update(self.attrs)
        return ds

    def _input_attrs(self, name: str) -> dict:
        p = self.scenario.parameters[name]
        return {
            "unit": p.spec.unit,
            "category": p.category,
            "provenance": p.provenance.label if p.provenance else "default",
        }

    def to_netcdf(self, path, series: str = "draws") -> None:
        """Save the Dataset (NetCDF4 via h5netcdf, compressed).

        Parameters
        ----------
        path : str or Path
        series : {"draws", "quantiles"}
            ``draws`` keeps every draw's yearly path; ``quantiles`` replaces the yearly series
            by their P05/P25/P50/P75/P95 by year (dim ``quantile``), keeping metrics and inputs
            per draw (a file ~10x smaller).
        """
        import xarray as xr  # deferred: heavy

        ds = self.ds
        if series == "quantiles":
            names = [s for s in self.series_names if s in ds]
            q = xr.Dataset(
                {s: (("quantile", "year"), self.series_quantiles(s), ds[s].attrs) for s in names},
                coords={"quantile": list(QUANTILES), "year": ds["year"].values},
            )
            ds = ds.drop_vars(names).merge(q)
            ds.attrs.update(self.ds.attrs, series_stored="quantiles")
        elif series != "draws":
            raise ValueError("series must be 'draws' or 'quantiles'")
        encoding = {
            v: {"compression": "gzip", "compression_opts": 4}
            for v in ds.data_vars
            if ds[v].ndim > 0
        }
        write_netcdf(ds, Path(path), encoding)


#: A NetCDF file up to this size [bytes, uncompressed] is built in memory and then written
#: (a full disk is then a plain write error); a larger one is written in place after a check
#: that the disk has room for it uncompressed.
NETCDF_IN_MEMORY_BYTES = 256 << 20


def write_netcdf(ds, path: Path, encoding: dict) -> None:
    """Write ``ds`` as NetCDF-4 (h5netcdf) so that a full disk is an ``OSError`` (ENOSPC), never
    a crash: HDF5 left with a failed write retries it when Python tears its objects down at
    exit, and segfaults the interpreter after the located error (seen on a 300 kB tmpfs)."""
    nbytes = int(ds.nbytes)
    if nbytes <= NETCDF_IN_MEMORY_BYTES:
        buf = io.BytesIO()
        ds.to_netcdf(buf, engine="h5netcdf", encoding=encoding)
        with open(path, "wb") as fh:
            fh.write(buf.getbuffer())
        return
    free = shutil.disk_usage(path.parent).free
    if free < nbytes:
        raise OSError(errno.ENOSPC, f"results.nc needs up to {nbytes:,} bytes, {free:,} free")
    ds.to_netcdf(path, engine="h5netcdf", encoding=encoding)


def _flat(summary: dict) -> dict:
    """A metric summary as one flat row (nested errors and the conditional part spelled out)."""
    row = {k: v for k, v in summary.items() if not isinstance(v, dict)}
    for k, v in summary.get("quantile_mcse", {}).items():
        row[f"{k}_mcse"] = v
    cond = summary.get("conditional")
    if cond:
        row.update(
            conditional_p50=cond["p50"],
            conditional_mean=cond["mean"],
            conditional_share=cond["share"],
        )
    return row


def run_attrs(sc: Scenario, seed: int, draws: int, design: str, series_draws: int, **extra) -> dict:
    """The attributes of a run (``Results.attrs``, the NetCDF/Zarr attrs): what it ran, how."""
    return dict(
        scenario=sc.name,
        overlay=sc.overlay or "",
        title=sc.title,
        model=sc.model,
        seed=int(seed),
        draws=int(draws),
        design=design,
        block=BLOCK,
        input_hash=sc.input_hash,
        version=__version__,
        timing=sc.timing,
        currency=sc.currency,
        series_draws=int(series_draws),
        **extra,
    )


def fixed_input_values(scenario: Scenario) -> dict:
    """Every fixed numeric input of a scenario: scalars as floats, series as (years,) arrays."""
    out = {}
    for name, p in scenario.parameters.items():
        if p.is_uncertain or p.form == InputForm.SWITCH:
            continue
        if p.form == InputForm.SCALAR:
            out[name] = float(p.dist.mean())
        elif p.form == InputForm.SERIES:
            w = interpolation_weights([y for y, _ in p.points], scenario.years, p.interpolation)
            out[name] = np.array([d.mean() for _, d in p.points]) @ w
    return out


def results_html(res) -> str:
    """HTML of a run: what ran, its probabilities and one row per summarised metric."""
    import html  # deferred: only notebooks render HTML

    sc = res.scenario
    head = (
        f"<p><b>{html.escape(sc.title)}</b>: {html.escape(str(sc.model))} model, "
        f"{sc.start}-{sc.end}, {res.draws:,} draws ({html.escape(res.errors.describe()['text'])})"
        "</p>"
    )
    probs = "".join(
        f"<li>{html.escape(OUTPUTS[k].text(sc.end))} = "
        f"{html.escape(probability_text(res.probability(k), res.draws))}</li>"
        for k in res.probability_names
    )
    cols = ("p05", "p50", "p95")
    rows = []
    for m in res.metric_names:
        s = res.metric_summary(m)
        unit, never = s["unit"], OUTPUTS[m].never if m in OUTPUTS else None
        cells = [format_estimate(s[c], s["quantile_mcse"][c], unit, never, sc.end) for c in cols]
        cells.append(format_summary_mean(s, never))
        rows.append(
            f"<tr><td style='text-align:left'>{html.escape(m)}</td><td>{html.escape(unit)}</td>"
            + "".join(f"<td>{html.escape(c)}</td>" for c in cells)
            + "</tr>"
        )
    table = (
        "<table><thead><tr><th>metric</th><th>unit</th><th>P05</th><th>P50</th><th>P95</th>"
        f"<th>mean ± MCSE</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    return head + (f"<ul>{probs}</ul>" if probs else "") + table
