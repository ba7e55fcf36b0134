"""The one orchestrator: sample inputs, run the model in chunks, collect the results.

``simulate(scenario, draws, seed)`` returns :class:`~model.engine.results.Results` holding every
uncertain input and every output. Memory stays bounded: the model runs on chunks of draws written
into preallocated arrays, per-year series are kept for at most ``series_draws`` draws, and a run
that would not fit in the machine's memory is refused before any sampling. Chunks run on every
CPU at once (worker processes on Linux, :mod:`model.engine.parallel`; threads elsewhere), and
neither the chunk size nor the number of workers changes a number.
"""

from __future__ import annotations

import math
import os
import sys
import time
import warnings
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

import numpy as np

from .._version import __version__
from ..core.errors import AssumptionError, CapexWarning, Problem
from ..core.scenario import InputForm, Scenario, sampler_settings
from ..core.statistics import ErrorModel
from ..core.targets import PrecisionTarget
from ..core.vocabulary import key_metric
from .designs import BLOCK, DESIGNS, Design, Streams, input_variables
from .inputs import inputs_from_uniforms, trajectory_index
from .interface import ModelInputs, check_outputs
from .models import model_of
from .parallel import fork_available, run_forked, shared_empty
from .results import Results, fixed_input_values

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
class _Run:
    """The arrays of one run and the chunks that fill them.

    Results are written into preallocated arrays (no per-chunk pieces to concatenate), so peak
    memory stays near the size of the results themselves. The first chunk runs alone and fixes
    the arrays' shapes; the others then write their own rows, from worker processes if any.
    Per-year series are kept year-major (years, draws): the model computes them that way.
    """

    def __init__(
        self,
        scenario: Scenario,
        seed: int,
        design: str,
        series_draws: int,
        calibrated: dict,
        allocate,
        streams=None,
    ):
        self.scenario = scenario
        self.streams = streams
        self.seed = seed
        self.design_name = design
        self.series_draws = series_draws
        self.calibrated = calibrated
        self.allocate = allocate
        interface = model_of(scenario)
        self.metric_names = interface.metrics
        self.series_names = interface.series
        self.uncertain = [p.name for p in scenario.uncertain()]
        self.buffers: dict[tuple[str, str], np.ndarray] = {}
        self.done = 0
        self.target = 0
        self.design: Design | None = None

    def rows_of(self, kind: str, size: int) -> int:
        return min(self.series_draws, size) if kind == "series" else size

    def chunk_values(self, start: int, stop: int):
        """(kind, name, values, first row) of everything a chunk of draws produces."""
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

    def grow(self, size: int) -> None:
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
        if kind == "series":  # T contiguous row segments of the year-major store
            self.buffers[kind, name][:, at : at + value.shape[0]] = value.T
        else:
            self.buffers[kind, name][at : at + value.shape[0]] = value

    def first_chunk(self, start: int, stop: int) -> int:
        for kind, name, value, at in self.chunk_values(start, stop):
            rows = self.rows_of(kind, self.target)
            self.buffers[kind, name] = (
                self.allocate((value.shape[1], rows))
                if kind == "series"
                else self.allocate((rows, *value.shape[1:]))
            )
            self.write(kind, name, value, at)
        return stop - start

    def run_chunk(self, start: int, stop: int) -> int:
        for kind, name, value, at in self.chunk_values(start, stop):
            self.write(kind, name, value, at)
        return stop - start

    def extend(
        self, target: int, chunk_size: int, workers: int, parallel: str, pool, bar: _Progress
    ) -> None:
        """Run draws ``done..target-1`` (earlier draws are unchanged: blocks are fixed)."""
        self.target = target
        self.design = Design(self.scenario, target, self.seed, self.design_name, self.streams)
        self.grow(target)
        ranges = [(s, min(s + chunk_size, target)) for s in range(self.done, target, chunk_size)]
        if not self.buffers:
            bar.update(self.first_chunk(*ranges[0]))
            ranges = ranges[1:]
        if workers > 1 and parallel == "processes" and len(ranges) > 1:
            run_forked(ranges, workers, lambda r: self.run_chunk(*r), bar.update)
        elif pool is None or len(ranges) <= 1:
            for r in ranges:
                bar.update(self.run_chunk(*r))
        else:
            _run_threads(pool, ranges, workers, self.run_chunk, bar)
        self.done = target

    def error_model(self, trajectories: dict) -> ErrorModel:
        """How this run's draws depend on each other (:class:`ErrorModel`)."""
        groupings = [trajectories[k].astype(np.int64) for k in sorted(trajectories)]
        clusters = max((p.shape[0] for p in self.calibrated.values()), default=0)
        if self.design_name != "mc":
            replicate = self.design.replicate_ids(0, self.done)
            return ErrorModel("replicates", groupings, replicate, clusters)
        if groupings:
            return ErrorModel("clustered", groupings, None, clusters)
        return ErrorModel()

    def results(self, draws_asked: int, design: str, elapsed: float, warnings_: list) -> Results:
        metrics, inputs, series, trajectories = {}, {}, {}, {}
        for (kind, name), arr in self.buffers.items():
            if kind == "metric":
                metrics[name] = arr[: self.done]
            elif kind == "input":
                inputs[name] = arr[: self.done]
            elif kind == "trajectory":
                trajectories[name] = arr[: self.done]
            else:
                series[name] = arr[:, : min(self.series_draws, self.done)]
        sc = self.scenario
        attrs = dict(
            scenario=sc.name,
            overlay=sc.overlay or "",
            title=sc.title,
            model=sc.model,
            seed=self.seed,
            draws=self.done,
            design=design,
            block=BLOCK,
            input_hash=sc.input_hash,
            version=__version__,
            timing=sc.timing,
            currency=sc.currency,
            series_draws=min(self.series_draws, self.done),
            input_variables=",".join(v.name for v in input_variables(sc)),
        )
        res = Results(
            sc,
            attrs,
            metrics,
            inputs,
            series,
            fixed_input_values(sc),
            warnings_,
            self.error_model(trajectories),
        )
        res.elapsed_seconds = elapsed
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
    partial = run.results(run.done, run.design_name, 0.0, [])
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
) -> Results:
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
        Chunks evaluated at once; :func:`default_workers` (one per CPU) by default. Never
        changes results: every chunk is a pure function of its draw range, written to its own
        rows.
    parallel : {"auto", "processes", "threads"}
        How several workers run: forked processes writing into shared memory
        (:mod:`model.engine.parallel`; "auto" where ``fork`` exists, i.e. Linux), or threads.
    posterior_fit : int
        Calibrated inputs only: which independent posterior fit feeds the run (0, the file's
        sampler seed; k, sampler seed + 101 k). :func:`model.analysis.posterior_check`
        compares fits.
    streams : Streams, optional
        A portfolio member's random streams (:class:`model.engine.designs.Streams`, set by
        :func:`model.engine.portfolio.simulate_portfolio`); by default each input's stream is
        keyed by its name alone.

    Returns
    -------
    Results

    Raises
    ------
    AssumptionError
        A partial scenario, bad settings, or a run larger than the machine's memory.
    """
    problems = run_argument_problems(
        draws, seed, design, chunk_size, series_draws, precision, workers, parallel
    )
    if scenario.partial:
        problems.insert(
            0,
            Problem(
                "is a partial base (partial: true); run a file that extends it", str(scenario.path)
            ),
        )
    if problems:
        raise AssumptionError(problems)
    workers, parallel = _parallel_mode(workers, parallel)
    draws = int(draws)
    goal = _precision_target(precision, scenario)
    check_memory(scenario, max_draws if precision is not None else draws, series_draws, workers)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CapexWarning)
        calibrated = calibrated_paths(scenario, seed, progress, posterior_fit)
    run_warnings = [str(w.message) for w in caught if issubclass(w.category, CapexWarning)]
    for w in caught:  # let the caller's recorder or console see them too
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    # with worker processes the results live in shared memory, where the children write them
    allocate = shared_empty if workers > 1 and parallel == "processes" else np.empty
    run = _Run(scenario, int(seed), design, int(series_draws), calibrated, allocate, streams)
    # whole blocks with a precision target, so adding blocks later leaves earlier draws as they
    # were
    target = min(max_draws, math.ceil(draws / BLOCK) * BLOCK) if goal is not None else draws
    state = None
    bar = _Progress(target, progress)
    t0 = time.perf_counter()
    pool = ThreadPoolExecutor(workers) if workers > 1 and parallel == "threads" else None
    try:
        while target is not None:
            bar.total = target
            run.extend(target, chunk_size, workers, parallel, pool, bar)
            target, state = _next_target(run, goal, max_draws) if goal else (None, None)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        bar.close()
    res = run.results(draws, design, time.perf_counter() - t0, run_warnings)
    res.precision = state
    return res
