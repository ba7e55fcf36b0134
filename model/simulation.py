"""The one orchestrator: sample inputs, run the model in chunks, collect results.

``simulate(scenario, draws, seed)`` returns :class:`Results`, a thin wrapper around an
``xarray.Dataset`` (dims ``draw``, ``year``) holding every uncertain input and every output,
with attrs for seed, draws, design, input hash and package version. Memory stays bounded: the
model runs on chunks of draws, and per-year series are kept for at most ``series_draws`` draws
(all of them by default up to 200,000); metrics are kept for every draw. Chunks run on every
CPU at once (worker processes on Linux, :mod:`model.parallel`; threads elsewhere), and neither
the chunk size nor the number of workers changes a number.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

import numpy as np
import pandas as pd
import xarray as xr

from . import __version__
from .errors import AssumptionError, Problem
from .industry import industry_gap
from .loading import Scenario
from .parallel import fork_available, run_forked, shared_empty
from .programme import programme_cash_flows
from .sampling import BLOCK, DESIGNS, Design, input_variables, sample_inputs

#: metric name -> (unit, description); the contract of ``capex run --json``.
PROGRAMME_METRICS = {
    "npv": ("USD", "net present value of free cash flow at the discount rate"),
    "irr": ("1/year", "internal rate of return (NaN where undefined)"),
    "payback_years": ("years", "years from the valuation date until cumulative FCF recovers"),
    "peak_funding": ("USD", "largest cumulative cash need"),
    "levelized_cost_per_gpu_hour": ("USD/GPU-hour", "break-even launch price, pre-tax"),
}
PROGRAMME_SERIES = ("spend", "revenue", "fcf", "cumulative_fcf", "capacity_mw", "energy_cost",
                    "fixed_opex", "variable_cost", "ebitda", "tax", "refresh_spend",
                    "depreciation", "gpu_hours")
INDUSTRY_METRICS = {
    "revenue_gap_final": ("USD/year", "revenue gap in the last year"),
    "cumulative_revenue_gap_total": ("USD", "sum of yearly revenue gaps over the horizon"),
    "gap_close_year": ("years", "years after start until the gap first closes (NaN if never)"),
    "pv_revenue_gap": ("USD", "present value of the yearly gaps"),
}
INDUSTRY_SERIES = ("revenue_required", "ai_revenue", "revenue_gap", "cumulative_revenue_gap")
SERIES_UNITS = {"capacity_mw": "MW", "gpu_hours": "GPU-hour", "cumulative_fcf": "USD",
                "cumulative_revenue_gap": "USD"}


def _series_unit(name: str, model: str) -> str:
    return SERIES_UNITS.get(name, "USD/year" if model == "industry" else "USD")


class _Progress:
    """Progress on stderr for runs longer than a couple of seconds (rich, when a terminal)."""

    def __init__(self, total: int, enabled: bool):
        self.total = total
        self.enabled = enabled and sys.stderr.isatty()
        self.bar = None
        self.t0 = time.perf_counter()
        self.done = 0

    def update(self, n: int):
        self.done += n
        if not self.enabled:
            return
        if self.bar is None and time.perf_counter() - self.t0 > 1.0:
            from rich.progress import Progress

            self.bar = Progress(transient=True)
            self.bar.start()
            self.task = self.bar.add_task("simulating", total=self.total, completed=self.done)
        if self.bar is not None:
            self.bar.update(self.task, completed=self.done)

    def close(self):
        if self.bar is not None:
            self.bar.stop()


def calibrated_paths(scenario: Scenario, seed: int) -> dict:
    """Posterior predictive paths (M, T) for each calibrated series parameter."""
    out = {}
    cal_params = [p for p in scenario.parameters.values() if p.form == "calibrated"]
    if not cal_params:
        return out
    from . import calibration

    for p in cal_params:
        c = p.calibrated
        kw = {k: c[k] for k in ("draws", "tune", "chains") if k in c}
        # the posterior is sampled once (fixed sampler seed, cached on disk); the run's seed
        # only picks the trajectories. The input is the trajectory itself (noise=False): the
        # observation noise describes how reported figures scatter around it, not the path.
        fit = calibration.fit(c["observations"], c.get("model"), seed=int(c.get("seed", 0)),
                              priors_path=c.get("priors"), **kw)
        out[p.name] = np.asarray(fit.predictive_series(list(scenario.years.tolist()), n=4000,
                                                       seed=seed, noise=False), dtype=float)
    return out


def run_model(scenario: Scenario, inputs: dict, n: int, with_irr: bool = True) -> dict:
    """Dispatch to the scenario's model kind (``with_irr=False`` skips the IRR root search,
    the costliest metric, when a caller does not read it)."""
    if scenario.model == "industry":
        return industry_gap(inputs, n, scenario.n_years, scenario.timing)
    return programme_cash_flows(inputs, n, scenario.n_years, scenario.timing, with_irr=with_irr)


#: Working arrays of one chunk, per draw-year (the model's temporaries, measured) [bytes].
CHUNK_BYTES_PER_DRAW_YEAR = 8 * 80


def available_memory() -> int | None:
    """Memory this process can still take without swapping [bytes]: ``MemAvailable`` of
    /proc/meminfo (Linux), else free physical pages; None when unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None


def memory_estimate(scenario: Scenario, draws: int, series_draws: int, workers: int,
                    chunk_size: int = BLOCK) -> int:
    """Memory a run keeps and works in [bytes]: per-draw metrics and uncertain inputs, per-year
    series of the first ``series_draws`` draws, and each worker's chunk temporaries.

    The estimate is checked against :func:`available_memory` before any sampling."""
    t = scenario.n_years
    n_metrics = (len(INDUSTRY_METRICS) if scenario.model == "industry" else
                 len(PROGRAMME_METRICS)) + 2
    n_series = len(INDUSTRY_SERIES if scenario.model == "industry" else PROGRAMME_SERIES)
    input_columns = 0
    for p in scenario.uncertain():
        by_year = p.form == "calibrated" or (p.form == "series" and len(p.points) > 1)
        input_columns += t if by_year else 1
    kept = 8 * int(draws) * (n_metrics + input_columns)
    series = 8 * min(int(series_draws), int(draws)) * t * n_series
    working = CHUNK_BYTES_PER_DRAW_YEAR * min(chunk_size, int(draws)) * t * max(1, workers)
    return kept + series + working


def check_memory(scenario: Scenario, draws: int, series_draws: int, workers: int) -> None:
    """Stop (exit 2) before sampling when a run would need more memory than the machine has.

    Raises
    ------
    AssumptionError
        With the estimate, what is available, and what to change.
    """
    need = memory_estimate(scenario, draws, series_draws, workers)
    have = available_memory()
    if have is None or need <= have:
        return
    per_draw = need / max(int(draws), 1)
    fits = int(0.8 * have / per_draw) if per_draw else 0
    raise AssumptionError(Problem(
        f"{int(draws):,} draws need about {need / 1e9:.1f} GB of memory but {have / 1e9:.1f} GB "
        f"is available; use fewer draws (about {fits:,} fit), keep yearly series for fewer "
        "draws (--series-draws), or run on a machine with more memory",
        str(scenario.path), None, "--draws"))


def default_workers() -> int:
    """Workers for :func:`simulate`: ``CAPEX_WORKERS`` if set, else the CPUs this process may
    use (at most 8)."""
    env = os.environ.get("CAPEX_WORKERS", "").strip()
    if env.isdigit() and int(env) >= 1:
        return int(env)
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 8))


def simulate(scenario: Scenario, draws: int = 10_000, seed: int = 0, design: str = "mc",
             chunk_size: int = BLOCK, series_draws: int = 200_000,
             precision: float | None = None, max_draws: int = 2_000_000,
             progress: bool = False, workers: int | None = None,
             parallel: str = "auto") -> "Results":
    """Monte Carlo run of a scenario.

    Parameters
    ----------
    scenario : Scenario
        From :func:`model.load_scenario`.
    draws : int
        Number of draws (at least; more with ``precision``).
    seed : int
        Seed of every random number (same seed + same inputs = identical numbers).
    design : {"mc", "lhs", "sobol"}
        Sampling design.
    chunk_size : int
        Draws per model evaluation; bounds memory, never changes results. The default, one
        sampling block (8,192 draws), keeps a chunk's arrays in the CPU cache.
    series_draws : int
        Per-year series are stored for the first ``series_draws`` draws (quantiles of series are
        computed from them); metrics are stored for all draws.
    precision : float, optional
        Target relative Monte Carlo standard error of the mean NPV (programme) or of the mean
        final gap (industry), e.g. 0.005; draws are added block by block until met or
        ``max_draws`` is reached.
    progress : bool
        Show a progress bar on stderr (terminals only, runs longer than a second).
    workers : int, optional
        Chunks evaluated at once; :func:`default_workers` (one per CPU) by default. Never
        changes results: every chunk is a pure function of its draw range, written to its own
        rows.
    parallel : {"auto", "processes", "threads"}
        How several workers run: forked processes writing into shared memory
        (:mod:`model.parallel`; "auto" where ``fork`` exists, i.e. Linux), or threads.

    Returns
    -------
    Results
    """
    problems = []
    if scenario.partial:
        problems.append(Problem("is a partial base (partial: true); run a file that extends it",
                                str(scenario.path)))
    if int(draws) < 2:
        problems.append(Problem(f"--draws {draws} is too few; give at least 2", parameter="--draws"))
    if design not in DESIGNS:
        problems.append(Problem(f"design {design!r} unknown; use one of {', '.join(DESIGNS)}",
                                parameter="--design"))
    if chunk_size < 1:
        problems.append(Problem("chunk size is below 1; give at least 1", parameter="chunk_size"))
    if precision is not None and not 0 < precision < 1:
        problems.append(Problem("precision is not between 0 and 1; give a relative error such as 0.005", parameter=
                                "--precision"))
    if workers is not None and int(workers) < 1:
        problems.append(Problem("workers is below 1; give at least 1", parameter="--workers"))
    if parallel not in ("auto", "processes", "threads"):
        problems.append(Problem(f"parallel {parallel!r} unknown; use auto, processes or threads",
                                parameter="parallel"))
    if problems:
        raise AssumptionError(problems)
    draws = int(draws)
    workers = default_workers() if workers is None else int(workers)
    check_memory(scenario, max_draws if precision is not None else draws, series_draws,
                 workers)
    if parallel == "auto":
        parallel = "processes" if fork_available() else "threads"
    if parallel == "processes" and not fork_available():
        parallel = "threads"
    # with worker processes the results live in shared memory, where the children write them
    allocate = shared_empty if workers > 1 and parallel == "processes" else np.empty
    cal = calibrated_paths(scenario, seed)
    target = draws
    if precision is not None:
        # whole blocks, so adding blocks later leaves every draw already made unchanged
        target = min(max_draws, math.ceil(draws / BLOCK) * BLOCK)
    model_metrics = INDUSTRY_METRICS if scenario.model == "industry" else PROGRAMME_METRICS
    series_names = INDUSTRY_SERIES if scenario.model == "industry" else PROGRAMME_SERIES
    key_metric = "revenue_gap_final" if scenario.model == "industry" else "npv"
    metric_names = list(model_metrics) + ["gap_closed_by_end", "total_spend"]
    uncertain = [p.name for p in scenario.uncertain()]

    # Results are written into preallocated arrays (no per-chunk pieces to concatenate), so
    # peak memory stays near the size of the results themselves. The first chunk runs alone
    # and fixes the arrays' shapes; the others then write their own rows from the workers.
    buffers: dict[tuple[str, str], np.ndarray] = {}

    def rows_of(kind: str, size: int) -> int:
        return min(series_draws, size) if kind == "series" else size

    def chunk_values(start: int, stop: int):
        n = stop - start
        inputs = sample_inputs(scenario, design_obj, start, stop, cal)
        out = run_model(scenario, inputs, n)
        for name in metric_names:
            if name in out:
                yield "metric", name, np.broadcast_to(np.asarray(out[name], float), (n,)), start
        for name in uncertain:
            v = np.asarray(inputs[name], dtype=float)
            yield "input", name, (v[:, 0] if v.ndim == 2 and v.shape[1] == 1 else v), start
        if start < series_draws:
            take = min(n, series_draws - start)
            for name in series_names:
                yield "series", name, np.broadcast_to(out[name], (n, scenario.n_years))[:take], \
                    start

    def grow(size: int) -> None:
        for (kind, name), arr in list(buffers.items()):
            rows = rows_of(kind, size)
            if kind == "series" and arr.shape[1] < rows:
                grown = allocate((arr.shape[0], rows))
                grown[:, :arr.shape[1]] = arr
                buffers[kind, name] = grown
            elif kind != "series" and arr.shape[0] < rows:
                grown = allocate((rows, *arr.shape[1:]))
                grown[:arr.shape[0]] = arr
                buffers[kind, name] = grown

    # per-year series are kept year-major (years, draws): the model computes them that way,
    # so each chunk is copied as T contiguous row segments
    def write(kind: str, name: str, value: np.ndarray, at: int) -> None:
        if kind == "series":
            buffers[kind, name][:, at:at + value.shape[0]] = value.T
        else:
            buffers[kind, name][at:at + value.shape[0]] = value

    def first_chunk(start: int, stop: int) -> None:
        for kind, name, value, at in chunk_values(start, stop):
            rows = rows_of(kind, target)
            buffers[kind, name] = (allocate((value.shape[1], rows)) if kind == "series" else
                                   allocate((rows, *value.shape[1:])))
            write(kind, name, value, at)

    def run_chunk(start: int, stop: int) -> int:
        for kind, name, value, at in chunk_values(start, stop):
            write(kind, name, value, at)
        return stop - start

    done = 0
    bar = _Progress(target, progress)
    t0 = time.perf_counter()
    pool = ThreadPoolExecutor(workers) if workers > 1 and parallel == "threads" else None
    try:
        while True:
            design_obj = Design(scenario, target, seed, design)
            grow(target)
            ranges = [(s, min(s + chunk_size, target)) for s in range(done, target, chunk_size)]
            if not buffers:
                first_chunk(*ranges[0])
                bar.update(ranges[0][1] - ranges[0][0])
                ranges = ranges[1:]
            if workers > 1 and parallel == "processes" and len(ranges) > 1:
                run_forked(ranges, workers, lambda r: run_chunk(*r), bar.update)
            elif pool is None or len(ranges) <= 1:
                for r in ranges:
                    bar.update(run_chunk(*r))
            else:
                # a bounded window of chunks in flight keeps memory bounded
                pending = set()
                for r in ranges:
                    if len(pending) >= 2 * workers:
                        finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                        for f in finished:
                            bar.update(f.result())
                    pending.add(pool.submit(run_chunk, *r))
                for f in pending:
                    bar.update(f.result())
            done = target
            if precision is None or target >= max_draws:
                break
            km = buffers["metric", key_metric][:done]
            mean, sd = np.nanmean(km), np.nanstd(km, ddof=1)
            needed = (sd / (precision * abs(mean))) ** 2 if mean != 0 else max_draws
            if needed <= target:
                break
            target = int(min(max_draws, max(math.ceil(needed * 1.1 / BLOCK) * BLOCK,
                                            target + BLOCK)))
            bar.total = target
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        bar.close()
    elapsed = time.perf_counter() - t0
    metric_buf = {name: arr for (kind, name), arr in buffers.items() if kind == "metric"}
    input_buf = {name: arr for (kind, name), arr in buffers.items() if kind == "input"}
    series_buf = {name: arr for (kind, name), arr in buffers.items() if kind == "series"}
    buffers.clear()
    kept = min(series_draws, done)

    ds = xr.Dataset(coords={"draw": np.arange(done), "year": scenario.years})
    for name in list(metric_buf):
        arr = metric_buf.pop(name)[:done]
        unit = model_metrics.get(name, ("", ""))[0] or ("USD" if name == "total_spend" else "")
        ds[name] = ("draw", arr)
        ds[name].attrs.update(unit=unit, description=model_metrics.get(name, ("", name))[1])
    n_series = kept
    for name in list(series_buf):
        arr = series_buf.pop(name)[:, :n_series].T  # (draws, years) view of the year-major data
        if n_series == done:
            ds[name] = (("draw", "year"), arr)
        else:
            ds = ds.assign_coords(series_draw=np.arange(n_series))
            ds[name] = (("series_draw", "year"), arr)
        ds[name].attrs["unit"] = _series_unit(name, scenario.model)
    for name in list(input_buf):
        arr = input_buf.pop(name)[:done]
        p = scenario.parameters[name]
        dims = ("draw", "year") if arr.ndim == 2 else ("draw",)
        ds[f"input_{name}"] = (dims, arr)
        ds[f"input_{name}"].attrs.update(unit=p.spec.unit, category=p.category,
                                         provenance=p.provenance.label if p.provenance else
                                         "sourced")
    ds.attrs.update(
        scenario=scenario.name, overlay=scenario.overlay or "", title=scenario.title,
        model=scenario.model, seed=seed, draws=done, design=design, block=BLOCK,
        input_hash=scenario.input_hash, version=__version__, timing=scenario.timing,
        currency=scenario.currency, created=_dt.datetime.now(_dt.timezone.utc).isoformat(
            timespec="seconds"), elapsed_seconds=round(elapsed, 3), series_draws=n_series,
        input_variables=",".join(v.name for v in input_variables(scenario)),
    )
    return Results(ds, scenario)


def _mcse_mean(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(np.std(x, ddof=1) / math.sqrt(x.size)) if x.size > 1 else float("nan")


class Results:
    """Results of a run: ``.ds`` (xarray Dataset), summaries and the run JSON.

    Every reported mean and probability carries its Monte Carlo standard error. For ``lhs``
    and ``sobol`` designs the plain-MC formula ``sd / sqrt(n)`` is used, which is conservative
    (those designs reduce the error; ``benchmarks/`` measures by how much).
    """

    QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)

    def __init__(self, ds: xr.Dataset, scenario: Scenario):
        self.ds = ds
        self.scenario = scenario

    @property
    def model(self) -> str:
        return self.ds.attrs["model"]

    @property
    def metric_names(self) -> list[str]:
        names = INDUSTRY_METRICS if self.model == "industry" else PROGRAMME_METRICS
        return [m for m in names if m in self.ds]

    @property
    def series_names(self) -> list[str]:
        names = INDUSTRY_SERIES if self.model == "industry" else PROGRAMME_SERIES
        return [m for m in names if m in self.ds]

    def metric(self, name: str) -> np.ndarray:
        return np.asarray(self.ds[name].values, dtype=float)

    def metric_summary(self, name: str) -> dict:
        """unit, mean, sd, mcse, p05..p95 and undefined_share of a metric (finite draws)."""
        x = self.metric(name)
        finite = x[np.isfinite(x)]
        q = np.quantile(finite, self.QUANTILES) if finite.size else [float("nan")] * 5
        return {
            "unit": self.ds[name].attrs.get("unit", ""),
            "mean": float(finite.mean()) if finite.size else float("nan"),
            "sd": float(finite.std(ddof=1)) if finite.size > 1 else float("nan"),
            "mcse": _mcse_mean(x),
            "p05": float(q[0]), "p25": float(q[1]), "p50": float(q[2]), "p75": float(q[3]),
            "p95": float(q[4]),
            "undefined_share": float(1.0 - finite.size / x.size),
        }

    def probability(self, name: str) -> dict:
        """A probability with its MCSE sqrt(p (1 - p) / n)."""
        if name == "npv_positive":
            ind = self.metric("npv") > 0
        elif name == "payback_within_horizon":
            ind = np.isfinite(self.metric("payback_years"))
        elif name == "gap_closed_by_end":
            ind = self.metric("gap_closed_by_end") > 0.5
        else:
            raise KeyError(name)
        p = float(ind.mean())
        return {"value": p, "mcse": math.sqrt(max(p * (1 - p), 0.0) / ind.size)}

    @property
    def probability_names(self) -> list[str]:
        if self.model == "industry":
            return ["gap_closed_by_end"]
        return ["npv_positive", "payback_within_horizon"]

    def series_quantiles(self, name: str, quantiles=QUANTILES) -> np.ndarray:
        """Quantiles by year, shape (len(quantiles), T)."""
        return np.quantile(np.asarray(self.ds[name].values, float), quantiles, axis=0)

    def summary(self) -> pd.DataFrame:
        """One row per metric: unit, mean, sd, mcse, p05..p95, undefined_share."""
        rows = {m: self.metric_summary(m) for m in self.metric_names}
        return pd.DataFrame.from_dict(rows, orient="index")

    def to_json_dict(self) -> dict:
        """The object of ``capex run --json`` (DESIGN.md §4)."""
        ser = {}
        for s in self.series_names:
            q = self.series_quantiles(s, (0.05, 0.5, 0.95))
            ser[s] = {"unit": self.ds[s].attrs.get("unit", ""), "p05": q[0].tolist(),
                      "p50": q[1].tolist(), "p95": q[2].tolist()}
        a = self.ds.attrs
        return {
            "scenario": self.scenario.label,
            "title": self.scenario.title,
            "model": self.model,
            "draws": int(a["draws"]),
            "seed": int(a["seed"]),
            "design": a["design"],
            "years": [int(y) for y in self.ds["year"].values],
            "metrics": {m: _clean(self.metric_summary(m)) for m in self.metric_names},
            "probabilities": {p: self.probability(p) for p in self.probability_names},
            "series": ser,
            "provenance": self.scenario.provenance_counts(),
            "input_hash": a["input_hash"],
            "version": a["version"],
        }

    def to_netcdf(self, path, series: str = "draws") -> None:
        """Save the Dataset (NetCDF4 via h5netcdf, compressed).

        Parameters
        ----------
        path : str or Path
        series : {"draws", "quantiles"}
            ``draws`` keeps every draw's yearly path; ``quantiles`` replaces the yearly series
            by their P05/P25/P50/P75/P95 by year (dim ``quantile``), keeping metrics and inputs
            per draw: a file ~10x smaller, used for the reports kept in the repository.
        """
        ds = self.ds
        if series == "quantiles":
            names = [s for s in self.series_names if "draw" in ds[s].dims]
            q = xr.Dataset({s: (("quantile", "year"), self.series_quantiles(s), ds[s].attrs)
                            for s in names},
                           coords={"quantile": list(self.QUANTILES), "year": ds["year"].values})
            ds = ds.drop_vars(names).merge(q)
            ds.attrs.update(self.ds.attrs, series_stored="quantiles")
        elif series != "draws":
            raise ValueError("series must be 'draws' or 'quantiles'")
        encoding = {v: {"compression": "gzip", "compression_opts": 4} for v in ds.data_vars}
        ds.to_netcdf(path, engine="h5netcdf", encoding=encoding)


def _clean(d: dict) -> dict:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}
