"""The one orchestrator: sample inputs, run the model in chunks, collect the results.

``simulate(scenario, draws, seed)`` returns :class:`~model.engine.results.Results` holding every
uncertain input and every output. Memory stays bounded: the model runs on chunks of draws written
into preallocated arrays, per-year series are kept for at most ``series_draws`` draws, and a run
that would not fit in the machine's memory is refused before any sampling. Chunks run on every
CPU at once (worker processes on Linux, :mod:`model.engine.parallel`; threads elsewhere), and
neither the chunk size nor the number of workers changes a number.
"""

from __future__ import annotations

import contextlib
import importlib.util
import math
import os
import sys
import tempfile
import time
import warnings
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path

import numpy as np

from ..core.errors import AssumptionError, CapexWarning, Problem
from ..core.scenario import InputForm, Scenario, sampler_settings
from ..core.statistics import ErrorModel
from ..core.targets import PrecisionTarget
from ..core.vocabulary import key_metric
from .designs import BLOCK, DESIGNS, Design, Streams, input_variables
from .inputs import inputs_from_uniforms, trajectory_index
from .interface import ModelInputs, check_outputs
from .models import model_of
from .parallel import default_workers, fork_available, run_pool, shared_empty
from .results import Results, fixed_input_values, run_attrs
from .schedulers import dask_client, dask_workers, is_local, run_dask, scheduler_problems
from .store import (
    STORE_NAME,
    STORE_ROWS,
    ZarrSink,
    free_disk,
    store_bytes,
    summary_bytes,
    temporary_folder,
)

PARALLEL = ("auto", "processes", "threads")
#: Working arrays of one chunk, per draw-year (the model's temporaries, measured) [bytes].
CHUNK_BYTES_PER_DRAW_YEAR = 8 * 80
#: Posterior paths a calibrated input is drawn from.


# ============================================================================ checks
def run_argument_problems(
    draws=2,
    seed=0,
    design="mc",
    chunk_size=BLOCK,
    series_draws=1,
    precision=None,
    workers=None,
    parallel="auto",
    scheduler=None,
    memory_budget=None,
) -> list[Problem]:
    """What is wrong with the settings of a run (the one check the CLI and the API share)."""
    out = []
    if int(draws) < 2:
        out.append(Problem(f"--draws {draws} is too few; give at least 2", parameter="--draws"))
    if int(seed) < 0:
        out.append(
            Problem(f"--seed {seed} is negative; give a non-negative integer", parameter="--seed")
        )
    if design not in DESIGNS:
        out.append(
            Problem(
                f"design {design!r} unknown; use one of {', '.join(DESIGNS)}", parameter="--design"
            )
        )
    if int(chunk_size) < 1:
        out.append(Problem("chunk size is below 1; give at least 1", parameter="chunk_size"))
    if int(series_draws) < 1:
        out.append(
            Problem(
                f"--series-draws {series_draws} is too few; give at least 1",
                parameter="--series-draws",
            )
        )
    out += _precision_problems(precision, design)
    if workers is not None and int(workers) < 1:
        out.append(
            Problem(f"--workers {workers} is too few; give at least 1", parameter="--workers")
        )
    if parallel not in PARALLEL:
        out.append(
            Problem(
                f"parallel {parallel!r} unknown; use {', '.join(PARALLEL)}", parameter="parallel"
            )
        )
    out += scheduler_problems(scheduler)
    if memory_budget is not None:
        try:
            parse_memory(memory_budget)
        except ValueError:
            out.append(
                Problem(
                    f"--memory-budget {memory_budget!r} is not a size; give e.g. 4GB or 500MB",
                    parameter="--memory-budget",
                )
            )
    return out


def _precision_problems(precision, design: str) -> list[Problem]:
    """What is wrong with a precision target (see :class:`model.core.targets.PrecisionTarget`)."""
    if precision is None:
        return []
    try:
        target = (
            precision
            if isinstance(precision, PrecisionTarget)
            else PrecisionTarget.parse(precision, "npv")
        )
    except ValueError as exc:
        return [Problem(str(exc), parameter="--precision")]
    out = []
    if target.statistic == "relative" and not target.tolerance < 1:
        out.append(
            Problem(
                "--precision must lie between 0 and 1 as a relative error; give e.g. 0.005, or "
                "name a statistic: npv:mean=0.5B",
                parameter="--precision",
            )
        )
    if design != "mc":
        out.append(
            Problem(
                f"--precision adds draws block by block, which only --design mc allows (a "
                f"{design} design is fixed by its total draws); use --design mc, or give "
                "--draws instead of --precision",
                parameter="--precision",
            )
        )
    return out


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


def memory_estimate(
    scenario: Scenario, draws: int, series_draws: int, workers: int, chunk_size: int = BLOCK
) -> int:
    """Memory a run keeps and works in [bytes]: per-draw metrics and uncertain inputs, per-year
    series of the first ``series_draws`` draws, and each worker's chunk temporaries."""
    t = scenario.n_years
    interface = model_of(scenario)
    input_columns = 0
    for p in scenario.uncertain():
        by_year = p.form == InputForm.CALIBRATED or (
            p.form == InputForm.SERIES and len(p.points) > 1
        )
        input_columns += t if by_year else 1
    kept = 8 * int(draws) * (len(interface.metrics) + input_columns)
    series = 8 * min(int(series_draws), int(draws)) * t * len(interface.series)
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
    raise AssumptionError(
        Problem(
            f"{int(draws):,} draws need about {need / 1e9:.1f} GB of memory but "
            f"{have / 1e9:.1f} GB is available; use fewer draws (about {fits:,} fit), keep "
            "yearly series for fewer draws (--series-draws), or run on a machine with more "
            "memory",
            str(scenario.path),
            None,
            "--draws",
        )
    )


# ============================================================================ inputs, model
#: Sampler-seed step between independent posterior fits (the fit itself uses seed, seed + 1,
#: seed + 2 for the posterior, prior and predictive draws).
FIT_SEED_STEP = 101


def calibrated_paths(
    scenario: Scenario, seed: int, progress: bool = False, posterior_fit: int = 0
) -> dict:
    """Posterior predictive paths (M, T) for each calibrated series parameter, from fit
    number ``posterior_fit`` (0: the file's sampler seed; k: an independent fit with sampler
    seed ``seed + 101 k``)."""
    cal_params = [p for p in scenario.parameters.values() if p.form == InputForm.CALIBRATED]
    if not cal_params:
        return {}
    from ..calibration import fit  # deferred: PyMC and ArviZ, only for calibrated inputs

    out = {}
    for p in cal_params:
        c = p.calibrated
        kw = sampler_settings(c)
        # the posterior is sampled once (fixed sampler seed, cached on disk); the run's seed
        # only picks the trajectories. The input is the trajectory itself (noise=False): the
        # observation noise describes how reported figures scatter around it, not the path.
        cal = fit(
            c["observations"],
            c.get("model"),
            seed=int(c.get("seed", 0)) + FIT_SEED_STEP * int(posterior_fit),
            priors_path=c.get("priors"),
            progress=progress,
            **kw,
        )
        # K = the posterior's own size: a bootstrap of its draws per run seed, so the spread
        # over seeds (and the cluster-robust error) includes the posterior sample's finiteness
        out[p.name] = np.asarray(
            cal.predictive_series(
                list(scenario.years.tolist()), n=cal.n_posterior, seed=seed, noise=False
            ),
            dtype=float,
        )
    return out


def run_model(scenario: Scenario, inputs: dict, n: int, with_irr: bool = True) -> dict:
    """The scenario's model on one chunk of sampled inputs, checked on the way in and out
    (``with_irr=False`` skips the IRR root search when a caller does not read it)."""
    interface = model_of(scenario)
    checked = ModelInputs(inputs, n, scenario.n_years, interface)
    out = interface.run(checked, n, scenario.n_years, scenario.timing, with_irr)
    check_outputs(out, n, scenario.n_years, interface, str(scenario.path))
    return out


class _Progress:
    """Progress on stderr for runs longer than a second (rich, when a terminal)."""

    def __init__(self, total: int, enabled: bool, what: str = "simulating"):
        self.total = total
        self.enabled = enabled and sys.stderr.isatty()
        self.what = what
        self.bar = None
        self.t0 = time.perf_counter()
        self.done = 0

    def update(self, n: int):
        self.done += n
        if not self.enabled:
            return
        if self.bar is None and time.perf_counter() - self.t0 > 1.0:
            from rich.progress import Progress  # deferred: only long runs on a terminal

            self.bar = Progress(transient=True)
            self.bar.start()
            self.task = self.bar.add_task(self.what, total=self.total, completed=self.done)
        if self.bar is not None:
            self.bar.update(self.task, total=self.total, completed=self.done)

    def close(self):
        if self.bar is not None:
            self.bar.stop()


# ============================================================================ the run
class ChunkRunner:
    """What a chunk of draws needs, and the pure function from a draw range to its values.

    Picklable (the sampling design is rebuilt where it is used), so a Dask worker gets it once
    and evaluates any range; every range gives the same values wherever it runs.
    """

    def __init__(
        self, scenario, seed, design, series_draws, calibrated, streams, chunk_size, keep=None
    ):
        self.scenario = scenario
        self.seed = int(seed)
        self.design_name = design
        self.series_draws = int(series_draws)
        self.calibrated = calibrated
        self.streams = streams
        self.chunk_size = int(chunk_size)
        self.target = 0
        interface = model_of(scenario)
        self.metric_names = interface.metrics
        self.series_names = [s for s in interface.series if keep is None or s in keep]
        self.uncertain = [p.name for p in scenario.uncertain()]
        self._design: Design | None = None

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_design": None}

    def retarget(self, target: int) -> None:
        """The run now has ``target`` draws (its design is rebuilt for that many)."""
        self.target = int(target)
        self._design = None

    @property
    def design(self) -> Design:
        if self._design is None or self._design.draws != self.target:
            self._design = Design(
                self.scenario, self.target, self.seed, self.design_name, self.streams
            )
        return self._design

    def chunk_values(self, start: int, stop: int):
        """(kind, name, values, first row) of everything a chunk of draws produces (series
        draw-major, only rows below ``series_draws``)."""
        n = stop - start
        u = self.design.uniforms(start, stop)
        inputs = inputs_from_uniforms(self.scenario, u, self.design.names, self.calibrated)
        out = run_model(self.scenario, inputs, n)
        for name, paths in self.calibrated.items():  # which posterior trajectory each draw took
            index = trajectory_index(u[:, self.design.names.index(name)], paths.shape[0])
            yield "trajectory", name, index.astype(float), start
        for name in self.metric_names:
            if name in out:
                yield "metric", name, np.broadcast_to(np.asarray(out[name], float), (n,)), start
        for name in self.uncertain:
            v = np.asarray(inputs[name], dtype=float)
            yield "input", name, (v[:, 0] if v.ndim == 2 and v.shape[1] == 1 else v), start
        if start < self.series_draws:
            take = min(n, self.series_draws - start)
            for name in self.series_names:
                values = np.broadcast_to(out[name], (n, self.scenario.n_years))[:take]
                yield "series", name, values, start

    def task_values(self, start: int, stop: int) -> tuple[int, int, dict]:
        """Every value of draws ``start..stop-1`` (a task: several chunks), as
        ``(start, stop, {(kind, name): array})``, to be written at row ``start``."""
        out: dict[tuple[str, str], np.ndarray] = {}
        for s in range(start, stop, self.chunk_size):
            e = min(s + self.chunk_size, stop)
            for kind, name, value, at in self.chunk_values(s, e):
                if (kind, name) not in out:
                    last = min(stop, self.series_draws) if kind == "series" else stop
                    rows = last - start
                    out[kind, name] = np.empty((rows, *value.shape[1:]))
                out[kind, name][at - start : at - start + value.shape[0]] = value
        return start, stop, out


def task_rows(draws: int, workers: int) -> int:
    """Draws per task when tasks hand their values back (Dask, out of core): BLOCK x 2^k, at
    most :data:`~model.engine.store.STORE_ROWS`, small enough that every worker gets about
    four tasks."""
    step = STORE_ROWS
    while step > BLOCK and int(draws) < 4 * max(1, workers) * step:
        step //= 2
    return step


def _dask_task(runner: ChunkRunner, draw_range):
    """Runs on a Dask worker: the values of one range of draws."""
    with np.errstate(all="ignore"):
        return runner.task_values(*draw_range)


class MemorySink:
    """A run's results in memory: arrays preallocated for every draw (in shared memory when
    forked workers write them), series year-major (years, draws)."""

    def __init__(self, allocate, series_draws: int):
        self.allocate = allocate
        self.series_draws = series_draws
        self.buffers: dict[tuple[str, str], np.ndarray] = {}
        self.rows = 0

    def rows_of(self, kind: str, size: int) -> int:
        return min(self.series_draws, size) if kind == "series" else size

    def grow(self, size: int) -> None:
        self.rows = size
        for (kind, name), arr in list(self.buffers.items()):
            rows = self.rows_of(kind, size)
            if kind == "series" and arr.shape[1] < rows:
                grown = self.allocate((arr.shape[0], rows))
                grown[:, : arr.shape[1]] = arr
                self.buffers[kind, name] = grown
            elif kind != "series" and arr.shape[0] < rows:
                grown = self.allocate((rows, *arr.shape[1:]))
                grown[: arr.shape[0]] = arr
                self.buffers[kind, name] = grown

    def write(self, kind: str, name: str, value: np.ndarray, at: int) -> None:
        if (kind, name) not in self.buffers:
            rows = self.rows_of(kind, self.rows)
            self.buffers[kind, name] = (
                self.allocate((value.shape[1], rows))
                if kind == "series"
                else self.allocate((rows, *value.shape[1:]))
            )
        if kind == "series":  # T contiguous row segments of the year-major store
            self.buffers[kind, name][:, at : at + value.shape[0]] = value.T
        else:
            self.buffers[kind, name][at : at + value.shape[0]] = value

    def columns(self, kind: str, done: int) -> dict:
        return {n: a[:done] for (k, n), a in self.buffers.items() if k == kind}

    def series(self, done: int) -> dict:
        rows = min(self.series_draws, done)
        return {n: a[:, :rows] for (k, n), a in self.buffers.items() if k == "series"}


class _Run:
    """The chunks of one run, where they run (this process, forked workers, threads, a Dask
    cluster) and where their values go (a :class:`MemorySink`, or a Zarr store out of core,
    :class:`model.engine.store.ZarrSink`).

    In memory with forked workers, the first chunk runs alone and fixes the arrays' shapes, and
    the workers write their own rows into shared memory; otherwise each task hands its values
    back and this process writes them.
    """

    def __init__(self, runner: ChunkRunner, sink, mode: str, workers: int, client=None):
        self.runner = runner
        self.sink = sink
        self.mode = mode  # serial | forked | threads | returned | dask
        self.workers = workers
        self.client = client
        self.done = 0

    @property
    def design(self) -> Design:
        return self.runner.design

    def absorb(self, values) -> int:
        start, stop, arrays = values
        for (kind, name), value in arrays.items():
            self.sink.write(kind, name, value, start)
        return stop - start

    def run_chunk(self, start: int, stop: int) -> int:
        for kind, name, value, at in self.runner.chunk_values(start, stop):
            self.sink.write(kind, name, value, at)
        return stop - start

    def task_ranges(self, target: int) -> list[tuple[int, int]]:
        """Ranges of whole tasks: ``chunk_size`` in memory on this machine; for tasks that
        hand values back, :func:`task_rows` (aligned to the store's chunks)."""
        if self.mode in ("serial", "forked", "threads"):
            step = self.runner.chunk_size
        else:
            step = getattr(self.sink, "chunk_rows", None) or task_rows(target, self.workers)
        ranges, s = [], self.done
        while s < target:
            e = min((s // step + 1) * step, target)
            ranges.append((s, e))
            s = e
        return ranges

    def extend(self, target: int, pool, bar: _Progress) -> None:
        """Run draws ``done..target-1`` (earlier draws are unchanged: blocks are fixed)."""
        self.runner.retarget(target)
        self.sink.grow(target)
        ranges = self.task_ranges(target)
        with np.errstate(all="ignore"):
            self._dispatch(ranges, pool, bar)
        self.done = target

    def _dispatch(self, ranges, pool, bar: _Progress) -> None:
        def took(values) -> None:
            bar.update(self.absorb(values))

        if self.mode == "dask":
            run_dask(self.client, _dask_task, self.runner, ranges, took)
        elif self.mode == "returned" and len(ranges) > 1 and self.workers > 1:
            run_pool(ranges, self.workers, lambda r: self.runner.task_values(*r), took)
        elif self.mode == "forked" and len(ranges) > 1:
            if not self.sink.buffers:
                bar.update(self.run_chunk(*ranges[0]))  # fixes the shared arrays' shapes
                ranges = ranges[1:]
            run_pool(ranges, self.workers, lambda r: self.run_chunk(*r), bar.update)
        elif self.mode == "threads" and pool is not None and len(ranges) > 1:
            _run_threads(pool, ranges, self.workers, self.run_chunk, bar)
        else:
            for r in ranges:
                if self.mode in ("returned", "stream", "dask"):
                    took(self.runner.task_values(*r))
                else:
                    bar.update(self.run_chunk(*r))

    def error_model(self, trajectories) -> ErrorModel:
        """How this run's draws depend on each other (:class:`ErrorModel`)."""
        groupings = [np.asarray(trajectories[k]).astype(np.int64) for k in sorted(trajectories)]
        clusters = max((p.shape[0] for p in self.runner.calibrated.values()), default=0)
        if self.runner.design_name != "mc":
            replicate = self.design.replicate_ids(0, self.done)
            return ErrorModel("replicates", groupings, replicate, clusters)
        if groupings:
            return ErrorModel("clustered", groupings, None, clusters)
        return ErrorModel()

    def results(self, draws_asked: int, design: str, elapsed: float, warnings_: list) -> Results:
        sink, done = self.sink, self.done
        trajectories = sink.columns("trajectory", done)
        sc = self.runner.scenario
        attrs = run_attrs(
            sc,
            self.runner.seed,
            done,
            design,
            min(self.runner.series_draws, done),
            input_variables=",".join(v.name for v in input_variables(sc)),
        )
        res = Results(
            sc,
            attrs,
            sink.columns("metric", done),
            sink.columns("input", done),
            sink.series(done),
            fixed_input_values(sc),
            warnings_,
            self.error_model(trajectories),
        )
        res.elapsed_seconds = elapsed
        if isinstance(sink, ZarrSink):
            sink.close(attrs)
            res.store = sink.path
        return res


def _run_threads(pool, ranges, workers, run_chunk, bar) -> None:
    """Chunks on a thread pool, a bounded window in flight (memory stays bounded)."""
    pending = set()
    for r in ranges:
        if len(pending) >= 2 * workers:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in finished:
                bar.update(f.result())
        pending.add(pool.submit(run_chunk, *r))
    for f in pending:
        bar.update(f.result())


def _next_target(run: _Run, target: PrecisionTarget, max_draws: int) -> tuple[int | None, dict]:
    """How many draws the precision target needs next (None: stop), and where it stands.

    The error shrinks like 1 / sqrt(draws), so the draws needed are ``done (error /
    tolerance)^2``, plus 10 %, in whole blocks."""
    partial = run.results(run.done, run.runner.design_name, 0.0, [])
    error = float(target.error(partial))
    state = {
        "target": target.name,
        "tolerance": target.tolerance,
        "unit": target.unit,
        "error": error if math.isfinite(error) else None,
        "draws": run.done,
        "met": bool(math.isfinite(error) and error <= target.tolerance),
        "max_draws": max_draws,
    }
    if state["met"]:
        return None, {**state, "stopped_by": "target met"}
    if run.done >= max_draws:
        return None, {**state, "stopped_by": "max draws"}
    needed = run.done * (error / target.tolerance) ** 2 if math.isfinite(error) else max_draws
    step = max(math.ceil(needed * 1.1 / BLOCK) * BLOCK, run.done + BLOCK)
    return int(min(max_draws, step)), state


def _precision_target(precision, scenario: Scenario) -> PrecisionTarget | None:
    """The parsed target, checked against the scenario's model."""
    if precision is None:
        return None
    target = (
        precision
        if isinstance(precision, PrecisionTarget)
        else PrecisionTarget.parse(precision, key_metric(scenario.model))
    )
    metrics = model_of(scenario).metrics
    if target.metric not in metrics:
        raise AssumptionError(
            Problem(
                f"--precision {target.name}: {target.metric!r} is not a metric of the "
                f"{scenario.model} model; use one of {', '.join(metrics)}",
                str(scenario.path),
                None,
                "--precision",
            )
        )
    return target


def _parallel_mode(workers: int | None, parallel: str) -> tuple[int, str]:
    workers = default_workers() if workers is None else int(workers)
    if parallel == "auto" or (parallel == "processes" and not fork_available()):
        parallel = "processes" if fork_available() else "threads"
    return workers, parallel


# ============================================================================ out of core
def default_memory_budget() -> int | None:
    """Memory a run may keep before it streams to a Zarr store: ``CAPEX_MEMORY_BUDGET``
    (:func:`parse_memory`) if set, else half the available memory [bytes]; None when
    unknown."""
    env = os.environ.get("CAPEX_MEMORY_BUDGET", "").strip()
    if env:
        with contextlib.suppress(ValueError):
            return parse_memory(env)
    have = available_memory()
    return None if have is None else have // 2


_MEMORY_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}


def parse_memory(text) -> int:
    """``"4GB"``, ``"500MB"``, ``"2e9"`` or a number [bytes].

    Raises
    ------
    ValueError
        Not a size.
    """
    if isinstance(text, (int, float)):
        value, unit = float(text), ""
    else:
        t = str(text).strip().upper().replace(" ", "").removesuffix("IB").removesuffix("B")
        t = t + "B" if t and t[-1] in "KMGT" else t
        unit = next((u for u in ("KB", "MB", "GB", "TB") if t.endswith(u)), "")
        value = float(t[: len(t) - len(unit)] if unit else t)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"memory budget {text!r} is not a size")
    return int(value * _MEMORY_UNITS[unit])


def _store_columns(scenario: Scenario) -> int:
    """Per-draw float64 columns of a run (metrics, uncertain inputs, trajectories)."""
    return memory_estimate(scenario, 1, 0, 0, 0) // 8


def goes_out_of_core(
    scenario: Scenario,
    draws: int,
    series_draws: int = 200_000,
    workers: int | None = None,
    memory_budget=None,
) -> bool:
    """True when a run's estimate (:func:`memory_estimate`) exceeds the memory budget
    (``memory_budget`` [bytes or "4GB"], default :func:`default_memory_budget`), so its draws
    stream to a Zarr store."""
    budget = default_memory_budget() if memory_budget is None else parse_memory(memory_budget)
    workers = default_workers() if workers is None else int(workers)
    need = memory_estimate(scenario, draws, series_draws, workers)
    return budget is not None and need > budget


def check_store(scenario: Scenario, draws: int, store, memory_budget) -> None:
    """Stop (exit 2) before sampling when an out-of-core run cannot finish: its store would not
    fit on the disk, or the exact summary of one column would not fit in memory.

    Raises
    ------
    AssumptionError
    """
    budget = default_memory_budget() if memory_budget is None else parse_memory(memory_budget)
    disk = free_disk(Path(store))
    size = store_bytes(_store_columns(scenario), draws)
    one = summary_bytes(draws)
    problems = []
    where = f"more than the memory budget ({budget / 1e9:.1f} GB of memory)" if budget else ""
    if disk is not None and size > disk:
        problems.append(
            f"{int(draws):,} draws need up to {size / 1e9:.1f} GB, {where}, so they stream "
            f"to a Zarr store, but {disk / 1e9:.1f} GB is free on its disk ({store}); use "
            "fewer draws (the yearly series kept, --series-draws, are not in the store), or "
            "give --out DIR on a larger disk"
        )
    if one > max(budget or 0, available_memory() or 0):
        problems.append(
            f"the exact summary of one metric of {int(draws):,} draws needs about "
            f"{one / 1e9:.1f} GB of memory, more than this machine has; use fewer draws"
        )
    if importlib.util.find_spec("zarr") is None:  # the scale extra is not installed
        problems.append(
            f"{int(draws):,} draws are over the memory budget"
            + (f" ({budget / 1e9:.1f} GB)" if budget else "")
            + ", so they stream to a Zarr store, but zarr is not installed; install it with "
            "pip install 'capex[scale]', or use fewer draws, or raise --memory-budget"
        )
    if problems:
        raise AssumptionError([Problem(m, str(scenario.path), None, "--draws") for m in problems])


def _make_sink(scenario, draws, series_draws, workers, parallel, plan):
    """The sink of a run and how its tasks run: (sink, mode), mode one of serial, forked,
    threads (in memory), returned (out of core: forked workers hand values back), stream (out
    of core, in this process), dask."""
    scheduler, budget, store, forced = plan
    over = forced or goes_out_of_core(scenario, draws, series_draws, workers, budget)
    remote = not is_local(scheduler)
    processes = workers > 1 and parallel == "processes"
    if not over:  # a budget above what the machine has still cannot hold more than it has
        check_memory(scenario, draws, series_draws, workers)
        if remote:
            return MemorySink(np.empty, series_draws), "dask"
        if processes:
            return MemorySink(shared_empty, series_draws), "forked"
        return MemorySink(np.empty, series_draws), "threads" if workers > 1 else "serial"
    check_store(scenario, draws, store or Path(tempfile.gettempdir()), budget)
    if store is None:
        store = temporary_folder() / STORE_NAME
        why = "as asked" if forced else "their estimate is over the memory budget"
        warnings.warn(
            f"{int(draws):,} draws stream to a temporary Zarr store ({why}): {store}, "
            "removed at exit (--out DIR keeps it)",
            CapexWarning,
            stacklevel=3,
        )
    rows = task_rows(draws, workers if is_local(scheduler) else 2 * workers)
    sink = ZarrSink(Path(store), scenario.years, series_draws, rows)
    return sink, "dask" if remote else ("returned" if processes else "stream")


def simulate(
    scenario: Scenario,
    draws: int = 10_000,
    seed: int = 0,
    design: str = "mc",
    chunk_size: int = BLOCK,
    series_draws: int = 200_000,
    precision: str | float | PrecisionTarget | None = None,
    max_draws: int = 2_000_000,
    progress: bool = False,
    workers: int | None = None,
    parallel: str = "auto",
    posterior_fit: int = 0,
    streams: Streams | None = None,
    scheduler=None,
    memory_budget=None,
    store=None,
    out_of_core: bool = False,
    keep_series: tuple | None = None,
) -> Results:
    """Monte Carlo run of a scenario.

    Parameters
    ----------
    scenario : Scenario
        From :func:`model.load_scenario`.
    draws : int
        Number of draws (at least; more with ``precision``).
    seed : int
        Seed of every random number (same seed + same inputs = identical numbers, on every
        scheduler and worker count).
    design : {"mc", "lhs", "sobol"}
        Sampling design.
    chunk_size : int
        Draws per model evaluation; bounds memory, never changes results. The default, one
        sampling block (8,192 draws), keeps a chunk's arrays in the CPU cache.
    series_draws : int
        Per-year series are stored for the first ``series_draws`` draws (quantiles of series
        are computed from them); metrics are stored for all draws.
    precision : str, float or PrecisionTarget, optional
        A statistic and the Monte Carlo error it must reach (``"npv:mean=0.5B"``,
        ``"npv:p50=1B"``, ``"P(npv>0)=0.005"``), or a relative error of the mean NPV
        (programme) or final gap (industry) such as 0.005. Draws are added block by block
        until it is met or ``max_draws`` is reached; ``Results.precision`` says which
        (``stopped_by``). Plain Monte Carlo only.
    max_draws : int
        Most draws a precision target may take.
    progress : bool
        Show a progress bar on stderr (terminals only, runs longer than a second).
    workers : int, optional
        Local worker processes; :func:`default_workers` (one per CPU) by default. Never
        changes results: every chunk is a pure function of its draw range.
    parallel : {"auto", "processes", "threads"}
        How several local workers run: forked processes writing into shared memory
        (:mod:`model.engine.parallel`; "auto" where ``fork`` exists, i.e. Linux), or threads.
    posterior_fit : int
        Calibrated inputs only: which independent posterior fit feeds the run (0, the file's
        sampler seed; k, sampler seed + 101 k).
    keep_series : tuple of str, optional
        Keep only these yearly series (default: every series of the model); a portfolio keeps
        the ones it sums.
    streams : Streams, optional
        A portfolio member's random streams (:class:`model.engine.designs.Streams`); by
        default each input's stream is keyed by its name alone.
    scheduler : str or distributed.Client, optional
        ``local`` (this machine), ``dask`` (a LocalCluster sized to the machine) or the address
        of a Dask scheduler (``tcp://host:8786``); default ``CAPEX_SCHEDULER``, else local
        (:mod:`model.engine.schedulers`).
    memory_budget : int or str, optional
        Memory the run may keep [bytes, or "4GB"]; default half the available memory
        (:func:`default_memory_budget`). A run whose estimate exceeds it streams its draws to a
        Zarr store (:mod:`model.engine.store`) and summarises from there.
    store : path, optional
        Where the Zarr store goes when the run is out of core (default: a temporary folder,
        removed at exit).
    out_of_core : bool
        Stream to the store whatever the estimate.

    Returns
    -------
    Results
        Out of core, its per-draw arrays are read from the store one column at a time
        (``Results.store`` names it).

    Raises
    ------
    AssumptionError
        A partial scenario, bad settings, a run that cannot fit, or a user model's error.
    """
    _check_settings(locals())
    workers, parallel = _parallel_mode(workers, parallel)
    draws = int(draws)
    goal = _precision_target(precision, scenario)
    planned = max_draws if precision is not None else draws
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CapexWarning)
        calibrated = calibrated_paths(scenario, seed, progress, posterior_fit)
    run_warnings = [str(w.message) for w in caught if issubclass(w.category, CapexWarning)]
    for w in caught:  # let the caller's recorder or console see them too
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    plan = (scheduler, memory_budget, store, out_of_core)
    sink, mode = _make_sink(scenario, planned, int(series_draws), workers, parallel, plan)
    client = dask_client(scheduler) if mode == "dask" else None
    n_workers = dask_workers(client) if client is not None else workers
    runner = ChunkRunner(
        scenario, seed, design, series_draws, calibrated, streams, chunk_size, keep_series
    )
    run = _Run(runner, sink, mode, n_workers, client)
    return _execute(run, goal, draws, max_draws, design, progress, run_warnings)


def _check_settings(kw: dict) -> None:
    """Every problem of a run's settings at once (exit 2)."""
    problems = run_argument_problems(
        kw["draws"],
        kw["seed"],
        kw["design"],
        kw["chunk_size"],
        kw["series_draws"],
        kw["precision"],
        kw["workers"],
        kw["parallel"],
        kw["scheduler"],
        kw["memory_budget"],
    )
    if kw["scenario"].partial:
        problems.insert(
            0,
            Problem(
                "is a partial base (partial: true); run a file that extends it",
                str(kw["scenario"].path),
            ),
        )
    if problems:
        raise AssumptionError(problems)


def _execute(run: _Run, goal, draws, max_draws, design, progress, run_warnings):
    """Run the chunks (block by block towards a precision target), then the results."""
    # whole blocks with a precision target, so adding blocks later leaves earlier draws as they
    # were
    target = min(max_draws, math.ceil(draws / BLOCK) * BLOCK) if goal is not None else draws
    state = None
    bar = _Progress(target, progress)
    t0 = time.perf_counter()
    pool = ThreadPoolExecutor(run.workers) if run.mode == "threads" else None
    try:
        while target is not None:
            bar.total = target
            run.extend(target, pool, bar)
            target, state = _next_target(run, goal, max_draws) if goal else (None, None)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        bar.close()
    res = run.results(draws, design, time.perf_counter() - t0, run_warnings)
    res.precision = state
    return res
