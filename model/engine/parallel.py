"""Chunks of draws on several CPUs: forked worker processes writing into shared memory.

The model is a long series of numpy operations on arrays of a few thousand draws. Threads run
them only ~1.3x faster on two cores: every operation takes and releases the GIL, and the other
thread's bookkeeping sits in between. Separate processes do not share a GIL and run ~1.85x
faster (``benchmarks/README.md``). On Linux, :func:`run_forked` forks one process per worker:
the children inherit the scenario, the sampling design and the result arrays without pickling
anything, and write their chunks into arrays that live in shared memory (:func:`shared_empty`),
so the parent sees every row as soon as a child has written it. Each chunk is a pure function
of its draw range and lands in its own rows, so results do not depend on the number of workers.

Elsewhere (no ``fork``) the engine uses threads instead (see
:func:`model.engine.simulate.simulate`).
"""

from __future__ import annotations

import contextlib
import mmap
import os
import pickle
import signal
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from ..core.errors import AssumptionError

#: Longest error report a worker sends back [bytes] (a pipe holds 64 KiB without blocking).
_REPORT_BYTES = 32_000
#: Exit code of a worker that stopped on the project's own error (a user model's exception):
#: its problems follow, pickled, on the report pipe.
_PROBLEMS_EXIT = 3


def _pickled_problems(problems) -> bytes:
    """The first problems, their messages shortened, pickled within the report's size (the
    parent reads the pipe only after the worker exits, so a report must fit its buffer)."""
    short = [replace(p, message=p.message[:4000]) for p in list(problems)[:5]]
    return pickle.dumps(short)


def fork_available() -> bool:
    """True where worker processes can be forked (Linux)."""
    return sys.platform.startswith("linux") and hasattr(os, "fork")


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


def _worker(tasks, work, counters, w: int, read_end: int, write_end: int) -> None:
    """A forked worker: run its tasks, report a failure on the pipe, and exit (never returns)."""
    code = 0
    try:
        os.close(read_end)
        # ^C stops the workers at once; the parent cleans up (a fork from a thread that Python
        # does not see as main cannot set it: ValueError)
        with contextlib.suppress(ValueError):
            signal.signal(signal.SIGINT, signal.SIG_DFL)
        for task in tasks:
            counters[w] += work(task)
    except AssumptionError as e:  # a user model's error: the problems, pickled
        code = _PROBLEMS_EXIT
        os.write(write_end, _pickled_problems(e.problems))
    except BaseException:  # noqa: BLE001 - reported to the parent, then exit
        code = 1
        report = traceback.format_exc().encode("utf-8", "replace")
        os.write(write_end, report[-_REPORT_BYTES:])
    finally:
        os._exit(code)


def run_forked(
    tasks: Sequence,
    workers: int,
    work: Callable[[object], int],
    progress: Callable[[int], None] | None = None,
) -> None:
    """Run ``work(task)`` for every task in ``workers`` forked processes.

    Worker w takes tasks w, w + workers, w + 2 workers, ... ``work`` must write its results
    into shared memory (:func:`shared_empty`) and return the number of draws it did.

    Parameters
    ----------
    tasks : sequence
        E.g. (start, stop) draw ranges.
    workers : int
        Processes (at most one per task).
    work : callable
        Runs in the children; its return value feeds ``progress``.
    progress : callable, optional
        Called in the parent with the number of draws newly done, while it waits.

    Raises
    ------
    WorkerError
        If a worker raised (its traceback in the message) or died.
    """
    workers = max(1, min(workers, len(tasks)))
    counters = np.frombuffer(mmap.mmap(-1, 8 * workers), dtype=np.int64)
    children: dict[int, int] = {}  # pid -> read end of the worker's report pipe
    try:
        for w in range(workers):
            read_end, write_end = os.pipe()
            with warnings.catch_warnings():
                # Python >= 3.12 warns when forking a process with threads (numpy's BLAS pool
                # among them); the children only run numpy code and exit with os._exit
                warnings.simplefilter("ignore", DeprecationWarning)
                pid = os.fork()
            if pid == 0:  # child: never returns to the caller
                _worker(tasks[w::workers], work, counters, w, read_end, write_end)
            os.close(write_end)
            children[pid] = read_end
        reported = 0
        failures, problems = [], []
        while children:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                time.sleep(0.01)
            else:
                read_end = children.pop(pid)
                raw = os.read(read_end, _REPORT_BYTES + 1024)
                os.close(read_end)
                if os.WIFEXITED(status) and os.WEXITSTATUS(status) == _PROBLEMS_EXIT:
                    problems.extend(pickle.loads(raw))
                elif not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
                    report = raw.decode("utf-8", "replace")
                    failures.append(report or f"worker {pid} ended with status {status}")
            if progress is not None:
                total = int(counters.sum())
                if total > reported:
                    progress(total - reported)
                    reported = total
        if problems:
            raise AssumptionError(list(dict.fromkeys(problems)))
        if failures:
            raise WorkerError("a simulation worker failed:\n" + "\n".join(failures))
    finally:
        for pid, read_end in children.items():  # only left on an interrupt or an error
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            os.close(read_end)
