"""Where chunks of draws and other independent tasks run: this machine, or a Dask cluster.

A scheduler is named by ``--scheduler`` (or ``CAPEX_SCHEDULER``):

* ``local`` (default): this machine's CPUs, forked worker processes writing into shared
  memory (:mod:`model.engine.parallel`), threads where ``fork`` does not exist;
* ``dask``: a :class:`distributed.LocalCluster` sized to the machine (one single-threaded
  worker process per CPU), started on first use and kept for the life of the process;
* an address (``tcp://host:8786``, ``tls://...``, ``host:8786``): an existing Dask cluster;
* a :class:`distributed.Client` (API only): that client.

On Dask, chunks are tasks: the run's description (scenario, seed, design; never the draws) is
scattered to every worker once, each task rebuilds its draws from the draw range and hands its
values back, and the caller writes them in place (memory or a Zarr store). The random numbers
are seeded per input and block of draws, so every scheduler and worker count gives the same
numbers, bit for bit. A task's :class:`~model.core.errors.AssumptionError` (a user model's
error) comes back as a value and is raised in the caller as the same located error.

Dask is imported only when a Dask scheduler is asked for.
"""

from __future__ import annotations

import atexit
import os
import re
import sys
import uuid
from collections.abc import Callable, Sequence

from ..core.errors import AssumptionError, Problem
from .allocator import keep_freed_memory
from .parallel import Failed, default_workers, fork_available, guarded, raise_failures, run_pool

LOCAL = "local"
DASK = "dask"
#: An address of a running Dask scheduler.
ADDRESS = re.compile(r"^((tcp|tls|ucx|ws|wss|inproc)://)?[\w.\-\[\]:]+:\d+$")
#: Clients started or connected by this process, by scheduler name (closed at exit).
_CLIENTS: dict[str, object] = {}


def scheduler_name(scheduler=None):
    """The scheduler a run uses: ``scheduler``, else ``CAPEX_SCHEDULER``, else ``local``
    (a :class:`distributed.Client` is returned as it is)."""
    if scheduler is None or (isinstance(scheduler, str) and not scheduler.strip()):
        scheduler = os.environ.get("CAPEX_SCHEDULER", "").strip() or LOCAL
    return scheduler.strip() if isinstance(scheduler, str) else scheduler


def scheduler_problems(scheduler=None) -> list[Problem]:
    """What is wrong with a scheduler name (empty when it is ``local``, ``dask``, an address or
    a client)."""
    name = scheduler_name(scheduler)
    if not isinstance(name, str) or name in (LOCAL, DASK) or ADDRESS.match(name):
        return []
    return [
        Problem(
            f"--scheduler {name!r} unknown; use local, dask, or the address of a Dask "
            "scheduler such as tcp://host:8786 (also CAPEX_SCHEDULER)",
            parameter="--scheduler",
        )
    ]


def is_local(scheduler=None) -> bool:
    """True for this machine's own pool (``local``)."""
    return scheduler_name(scheduler) == LOCAL


def dask_client(scheduler=None):
    """The :class:`distributed.Client` of a Dask scheduler (started or connected once per
    process).

    Raises
    ------
    AssumptionError
        Dask is not installed, or the cluster cannot be reached (exit 2, with what to do).
    """
    name = scheduler_name(scheduler)
    if not isinstance(name, str):
        return name
    problems = scheduler_problems(name)
    if problems:
        raise AssumptionError(problems)
    if name in _CLIENTS:
        return _CLIENTS[name]
    try:
        import distributed  # deferred: Dask only for --scheduler dask or an address
    except ImportError:
        raise AssumptionError(
            Problem(
                f"--scheduler {name} needs Dask; install it with pip install 'capex[scale]' "
                "(or 'dask[distributed]'), or use --scheduler local",
                parameter="--scheduler",
            )
        ) from None
    try:
        if name == DASK:
            cluster = distributed.LocalCluster(
                n_workers=default_workers(),
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
            )
            client = distributed.Client(cluster)
            # its workers are ours, as the command's own process is: reuse freed array memory
            client.run(keep_freed_memory)
        else:
            client = distributed.Client(name, timeout=connect_timeout())
    except OSError as exc:
        raise AssumptionError(
            Problem(
                f"--scheduler {name}: cannot reach the Dask scheduler ({exc}); start it "
                "(dask scheduler, dask worker ADDRESS) or check the address",
                parameter="--scheduler",
            )
        ) from None
    _CLIENTS[name] = client
    return client


def connect_timeout() -> float:
    """Seconds to wait for a remote Dask scheduler: ``CAPEX_SCHEDULER_TIMEOUT``, else 20."""
    try:
        return max(0.5, float(os.environ.get("CAPEX_SCHEDULER_TIMEOUT", "20")))
    except ValueError:
        return 20.0


@atexit.register
def close_clients() -> None:
    """Close every client (and LocalCluster) this process started."""
    while _CLIENTS:
        _, client = _CLIENTS.popitem()
        cluster = getattr(client, "cluster", None)
        client.close()
        if cluster is not None:
            cluster.close()


def dask_workers(client) -> int:
    """Worker threads of a Dask cluster (at least 1)."""
    return max(1, sum(client.nthreads().values()))


#: Prefix of the modules a user model file is loaded as (:mod:`model.loading.user_models`).
USER_MODULE_PREFIX = "capex_user_model_"
#: What a worker unpickled of each scattered description, by token (the latest few).
_LOADED: dict[str, object] = {}


def _packed(shared) -> tuple[str, bytes]:
    """``shared`` pickled by cloudpickle, user model modules by value (a worker has no such
    module to import), with a token that names it."""
    import cloudpickle  # deferred: comes with Dask, used only for Dask

    for name, module in list(sys.modules.items()):
        if name.startswith(USER_MODULE_PREFIX):
            cloudpickle.register_pickle_by_value(module)
    return uuid.uuid4().hex, cloudpickle.dumps(shared)


def _unpacked(packed: tuple[str, bytes]):
    """On a worker: the shared description, unpickled once per worker and kept."""
    token, blob = packed
    if token not in _LOADED:
        import cloudpickle  # deferred: on Dask workers only

        while len(_LOADED) >= 4:
            _LOADED.pop(next(iter(_LOADED)))
        _LOADED[token] = cloudpickle.loads(blob)
    return _LOADED[token]


def _on_worker(work: Callable, packed, task):
    """Runs on a Dask worker: ``work(shared, task)``, a project error handed back as a
    value."""
    shared = _unpacked(packed)
    return guarded(lambda t: work(shared, t), task)


def run_dask(
    client,
    work: Callable,
    shared,
    tasks: Sequence,
    done: Callable[[object], None] | None = None,
    window: int | None = None,
) -> None:
    """Run ``work(shared, task)`` for every task on a Dask cluster.

    ``shared`` is scattered to every worker once; at most ``window`` tasks (default: twice the
    cluster's threads) are in flight, so results handed back stay bounded in memory.

    Parameters
    ----------
    client : distributed.Client
    work : callable
        A module-level function (pickled by reference).
    shared : object
        What every task needs (the run's description).
    tasks : sequence
    done : callable, optional
        Called with each task's value, in the order tasks finish.

    Raises
    ------
    AssumptionError
        A task raised one (re-raised with its problems).
    """
    from distributed import as_completed  # deferred: Dask only where asked for

    window = window or 2 * dask_workers(client)
    shared_future = client.scatter(_packed(shared), broadcast=True, hash=False)
    todo = list(tasks)
    failed: list[Failed] = []
    first = [client.submit(_on_worker, work, shared_future, t, pure=False) for t in todo[:window]]
    queue = as_completed(first)
    for future in queue:
        value = future.result()
        future.release()
        if isinstance(value, Failed):
            failed.append(value)
        elif done is not None:
            done(value)
        if len(todo) > window:
            t = todo.pop(window)
            queue.add(client.submit(_on_worker, work, shared_future, t, pure=False))
    raise_failures(failed)


class _Indexed:
    """A picklable ``fn`` that also returns its task's position."""

    def __init__(self, fn: Callable):
        self.fn = fn

    def __call__(self, item):
        index, value = item
        return index, guarded(self.fn, value)


def map_tasks(fn: Callable, items: Sequence, scheduler=None, workers: int | None = None) -> list:
    """``[fn(item) for item in items]`` on the chosen scheduler, results in input order.

    For independent, coarse tasks (one per scenario file, one per portfolio member): ``local``
    runs them on forked worker processes (``workers``, default one per CPU; one task or one
    worker runs in this process), a Dask scheduler runs them as tasks on the cluster (``fn``
    and the items must pickle).

    Parameters
    ----------
    fn : callable
    items : sequence
    scheduler : str or distributed.Client, optional
        ``local``, ``dask`` or an address (default ``CAPEX_SCHEDULER``, else ``local``).
    workers : int, optional
        Local processes.

    Returns
    -------
    list
        ``fn(item)`` for each item, in the order of ``items``.

    Raises
    ------
    AssumptionError
        The first failing tasks' located errors, every scheduler alike.
    """
    items = list(items)
    if not items:
        return []
    indexed = list(enumerate(items))
    out: list = [None] * len(items)

    def keep(pair) -> None:
        out[pair[0]] = pair[1]

    if is_local(scheduler):
        n = min(len(items), workers or default_workers())
        if n > 1 and fork_available():
            run_pool(indexed, n, _Indexed(fn), keep)
        else:
            for pair in indexed:
                keep(_Indexed(fn)(pair))
    else:
        client = dask_client(scheduler)
        run_dask(client, _call_indexed, _Indexed(fn), indexed, keep)
    raise_failures([v for v in out if isinstance(v, Failed)])
    return out


def _call_indexed(indexed_fn: _Indexed, pair):
    """Runs on a Dask worker: one item of :func:`map_tasks`."""
    return indexed_fn(pair)
