"""Chunks of draws on several CPUs of one machine: a standard-library process pool.

The model is a long series of numpy operations on arrays of a few thousand draws. Threads run
them only ~1.3x faster on two cores: every operation takes and releases the GIL, and the other
thread's bookkeeping sits in between. Separate processes do not share a GIL and run ~1.85x
faster (``benchmarks/README.md``). On Linux, :func:`run_pool` runs the chunks on a
:class:`concurrent.futures.ProcessPoolExecutor` whose workers are forked: they inherit the
scenario, the sampling design and the result arrays without pickling anything, and write their
chunks into arrays that live in shared memory (:func:`shared_empty`), so the parent sees every
row as soon as a worker has written it. A task that returns values instead (an out-of-core run,
whose rows go to a Zarr store) hands them back to the parent, which writes them. Each chunk is a
pure function of its draw range and lands in its own rows, so results do not depend on the
number of workers.

Elsewhere (no ``fork``) the engine uses threads instead (see
:func:`model.engine.simulate.simulate`); the Dask schedulers are in
:mod:`model.engine.schedulers`.
"""

from __future__ import annotations

import contextlib
import ctypes
import mmap
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace

import numpy as np

from ..core.errors import AssumptionError

#: The work of the pool being started: set before the workers fork, so they inherit it (a
#: closure over the run's arrays needs no pickling).
_WORK: Callable | None = None


def fork_available() -> bool:
    """True where worker processes can be forked (Linux)."""
    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


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


def shared_empty(shape) -> np.ndarray:
    """An uninitialised float64 array in anonymous shared memory (seen by forked children).

    Parameters
    ----------
    shape : tuple of int

    Returns
    -------
    numpy.ndarray
        Backed by an anonymous ``MAP_SHARED`` mapping (zero pages until written), which lives
        as long as the array does.
    """
    count = int(np.prod(shape, dtype=np.int64))
    buffer = mmap.mmap(-1, max(count, 1) * 8)  # anonymous, MAP_SHARED on Linux
    return np.frombuffer(buffer, dtype=np.float64, count=count).reshape(shape)


class WorkerError(RuntimeError):
    """A worker process failed; the message holds its traceback."""


@dataclass(frozen=True)
class Failed:
    """A task stopped on the project's own error (a user model's exception): its problems,
    handed back as a value so that every scheduler raises the same located error."""

    problems: tuple

    @classmethod
    def of(cls, exc: AssumptionError) -> Failed:
        """The first problems of ``exc``, their messages shortened."""
        return cls(tuple(replace(p, message=p.message[:4000]) for p in list(exc.problems)[:5]))


def guarded(work: Callable, task):
    """``work(task)``, or :class:`Failed` when it raises :class:`AssumptionError`."""
    try:
        return work(task)
    except AssumptionError as exc:
        return Failed.of(exc)


def raise_failures(failed: list) -> None:
    """Raise one :class:`AssumptionError` with the problems of every failed task."""
    if failed:
        problems = [p for f in failed for p in f.problems]
        raise AssumptionError(list(dict.fromkeys(problems)))


#: ``prctl`` option: the signal a process gets when its parent dies (Linux, prctl(2)).
_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """Runs first in a forked worker: ask the kernel to SIGKILL it when the process that forked
    it dies (Linux ``prctl(PR_SET_PDEATHSIG)``), so a run killed outright leaves no workers
    behind holding its memory and its staging folder's lock; elsewhere, and if the parent is
    already gone, the worker just exits when it finds itself orphaned.

    References
    ----------
    .. [1] ``prctl(2)``, Linux man-pages: ``PR_SET_PDEATHSIG``.
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # died before the request took effect
        os._exit(1)


def _inherited(task):
    """Runs in a forked worker: the inherited work on one task."""
    return guarded(_WORK, task)


def run_pool(
    tasks: Sequence,
    workers: int,
    work: Callable[[object], object],
    done: Callable[[object], None] | None = None,
) -> None:
    """Run ``work(task)`` for every task in ``workers`` forked processes (a
    :class:`~concurrent.futures.ProcessPoolExecutor` with the ``fork`` start method).

    At most ``2 workers`` tasks are in flight, so values handed back do not pile up.

    Parameters
    ----------
    tasks : sequence
        E.g. (start, stop) draw ranges.
    workers : int
        Processes (at most one per task).
    work : callable
        Runs in the children (inherited, not pickled); it writes into shared memory
        (:func:`shared_empty`) or returns picklable values.
    done : callable, optional
        Called in the parent with each task's return value, in the order tasks finish.

    Raises
    ------
    AssumptionError
        A task raised one (a user model's located error), re-raised with its problems.
    WorkerError
        If a worker raised otherwise (its traceback in the message) or died.
    """
    global _WORK
    workers = max(1, min(workers, len(tasks)))
    # a pool may run inside another pool's worker (a report task's sensitivity run): the outer
    # work is put back afterwards, for that worker's next task
    outer, _WORK = _WORK, work
    failed: list[Failed] = []
    pool = ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=die_with_parent,
        initargs=(os.getpid(),),
    )
    try:
        pending: set = set()
        for task in tasks:
            if len(pending) >= 2 * workers:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                _collect(finished, done, failed)
            pending.add(pool.submit(_inherited, task))
        _collect(wait(pending)[0], done, failed)
    except BrokenProcessPool as exc:
        raise WorkerError(f"a simulation worker died: {exc}") from None
    except BaseException:  # ^C or an error: the workers stop now, not after their tasks
        for process in list(getattr(pool, "_processes", {}).values()):
            process.kill()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        _WORK = outer
    raise_failures(failed)


def _collect(finished, done, failed: list) -> None:
    for f in finished:
        try:
            value = f.result()
        except (BrokenProcessPool, AssumptionError):
            raise
        except Exception as exc:  # a bug in a worker: its traceback travels as the cause
            cause = getattr(exc, "__cause__", None)
            raise WorkerError(f"a simulation worker failed:\n{cause or exc!r}") from exc
        if isinstance(value, Failed):
            failed.append(value)
        elif done is not None:
            done(value)
