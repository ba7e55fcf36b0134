"""Out of core: a run's per-draw results streamed to a chunked Zarr store.

When a run would need more memory than its budget (``--memory-budget``, default half the
available memory), or its draws are to be kept in a folder (``capex run --out DIR`` over the
budget), every chunk of draws is written to a Zarr store (``draws.zarr``) as soon as it is
computed, and nothing per draw stays in memory. The store is laid out as the run's
``xarray.Dataset`` (:attr:`model.engine.results.Results.ds`): metrics on dim ``draw``, uncertain
inputs ``input_<name>`` on ``draw`` (and ``year``), yearly series on ``series_draw`` and
``year`` (the first ``series_draws`` draws), the run's attrs on the group; ``xarray.open_zarr``
opens it.

Summaries are computed from the store one metric column at a time, exactly (the same sort as an
in-memory run, so the same numbers to the last bit): a column of 10^8 draws is 0.8 GB, and the
summary of one column needs about :data:`SUMMARY_BYTES_PER_DRAW` per draw, which the run checks
against its budget before it starts.

zarr is imported only by an out-of-core run.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np

from ..core.fileio import hold_lock, lock_names_folder, owner_dead, release_lock
from .designs import BLOCK

#: Draws per Zarr chunk along ``draw`` (16 sampling blocks: 1 MB of float64 per column).
STORE_ROWS = 16 * BLOCK
#: Memory the exact summary of one metric column takes, per draw [bytes]: the column, its
#: finite copy, the sorted copy, two companion columns (IRR roots, payback via terminal) and
#: the error model's indicator.
SUMMARY_BYTES_PER_DRAW = 8 * 6
#: The store's name inside its folder.
STORE_NAME = "draws.zarr"
#: Name prefix of a temporary store's folder (followed by ``<pid>-<random>``).
TEMP_PREFIX = "capex-store-"


def _zarr():
    import zarr  # deferred: only out-of-core runs write or read a store

    return zarr


def _codecs():
    from zarr.codecs import BloscCodec  # deferred: only out-of-core runs

    return [BloscCodec(cname="lz4", clevel=5, shuffle="shuffle")]


def temporary_folder() -> Path:
    """A new private folder for a store (``capex-store-<pid>-<random>`` in the temporary
    folder), removed when this process exits; it holds a lock while the process lives, so the
    next call removes the folders of runs that were killed (:func:`remove_dead_stores`)."""
    remove_dead_stores()
    folder = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-"))
    fd = hold_lock(folder)
    atexit.register(shutil.rmtree, folder, True)
    atexit.register(release_lock, fd)  # atexit runs last-registered first: unlock, remove
    return folder


def remove_dead_stores(parent: Path | None = None) -> list[Path]:
    """Remove the temporary stores (:func:`temporary_folder`) of processes that died without
    removing theirs (a SIGKILL, a power cut); a live run's store is left alone (its process
    exists and holds the folder's lock), and so is any folder without the lock capex wrote for
    it (a folder of that name capex did not make). Returns what was removed.

    Parameters
    ----------
    parent : Path, optional
        Where to look (default: the temporary folder, :func:`tempfile.gettempdir`).
    """
    parent = Path(parent or tempfile.gettempdir())
    removed = []
    try:
        entries = sorted(parent.glob(f"{TEMP_PREFIX}*"))
    except OSError:
        return removed
    for entry in entries:
        pid = entry.name[len(TEMP_PREFIX) :].split("-", 1)[0]
        if not pid.isdigit() or not entry.is_dir() or entry.is_symlink():
            continue
        mine = entry.stat().st_uid == os.geteuid() and lock_names_folder(entry)
        if mine and owner_dead(entry, int(pid)):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def free_disk(folder: Path) -> int | None:
    """Bytes free on the file system of ``folder`` (or its nearest existing parent)."""
    p = Path(folder).absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    try:
        return int(shutil.disk_usage(p).free)
    except OSError:
        return None


def variable_name(kind: str, name: str) -> str:
    """The store's variable of a buffer (inputs get ``input_``, as in the Dataset)."""
    return {"input": f"input_{name}", "trajectory": f"trajectory_{name}"}.get(kind, name)


class ZarrSink:
    """Where an out-of-core run writes its chunks (one writer: the process that runs
    :func:`model.engine.simulate.simulate`).

    Parameters
    ----------
    path : Path
        The store (a folder, created; ``draws.zarr`` by convention).
    years : sequence of int
    series_draws : int
        Rows kept of each yearly series.
    chunk_rows : int
        Draws per Zarr chunk (tasks write whole chunks).
    """

    def __init__(self, path: Path, years, series_draws: int, chunk_rows: int = STORE_ROWS):
        self.path = Path(path)
        self.chunk_rows = int(chunk_rows)
        self.group = _zarr().open_group(str(self.path), mode="w", zarr_format=3)
        year = self.group.create_array(
            "year", shape=(len(years),), dtype="int64", dimension_names=("year",)
        )
        year[:] = np.asarray(years, dtype=np.int64)
        self.series_draws = int(series_draws)
        self.arrays: dict[tuple[str, str], object] = {}
        self.kept: dict[str, np.ndarray] = {}
        self.kinds: dict[str, list[str]] = {}
        self.rows = 0

    def _create(self, kind: str, name: str, value: np.ndarray, rows: int):
        if kind == "series":
            shape, dims = (min(self.series_draws, rows), value.shape[1]), ("series_draw", "year")
        elif value.ndim == 2:
            shape, dims = (rows, value.shape[1]), ("draw", "year")
        else:
            shape, dims = (rows,), ("draw",)
        arr = self.group.create_array(
            variable_name(kind, name),
            shape=shape,
            chunks=(self.chunk_rows, *shape[1:]),
            dtype="float64",
            dimension_names=dims,
            compressors=_codecs(),
            fill_value=np.nan,
            overwrite=True,
        )
        if name not in self.kinds.setdefault(kind, []):
            self.kinds[kind].append(name)
        return arr

    def grow(self, rows: int) -> None:
        """Make room for ``rows`` draws (a precision target adds blocks)."""
        self.rows = rows
        for arr in self.arrays.values():
            if arr.shape[0] < rows:
                arr.resize((rows, *arr.shape[1:]))
        keep = min(self.series_draws, rows)
        for name, arr in self.kept.items():
            if arr.shape[1] < keep:
                grown = np.empty((arr.shape[0], keep))
                grown[:, : arr.shape[1]] = arr
                self.kept[name] = grown

    def write(self, kind: str, name: str, value: np.ndarray, at: int) -> None:
        """Rows ``at..`` of a variable (series: (draws, years), draw-major). Yearly series stay
        in memory (bounded by ``series_draws``) until :meth:`close` writes them."""
        if kind == "series":
            if name not in self.kept:
                self.kept[name] = np.empty((value.shape[1], min(self.series_draws, self.rows)))
            self.kept[name][:, at : at + value.shape[0]] = value.T
            return
        if (kind, name) not in self.arrays:
            self.arrays[kind, name] = self._create(kind, name, value, self.rows)
        self.arrays[kind, name][at : at + value.shape[0]] = value

    def columns(self, kind: str, done: int) -> StoreColumns:
        """A lazy mapping of one kind's variables (metric, input, trajectory)."""
        names = {n: variable_name(kind, n) for n in self.kinds.get(kind, [])}
        return StoreColumns(self.group, names, done)

    def series(self, done: int) -> dict:
        """Every kept yearly series, year-major (years, series_draws), in memory."""
        rows = min(self.series_draws, done)
        return {n: a[:, :rows] for n, a in self.kept.items()}

    def close(self, attrs: dict) -> None:
        """Write the yearly series and the run's attrs (strings, numbers, booleans)."""
        rows = min(self.series_draws, self.rows)
        for name, arr in self.kept.items():
            out = self._create("series", name, arr.T, rows)
            for s in range(0, rows, self.chunk_rows):
                out[s : s + self.chunk_rows] = arr[:, s : s + self.chunk_rows].T
        plain = (int, float, str, bool)
        clean = {k: v if isinstance(v, plain) else str(v) for k, v in attrs.items()}
        self.group.attrs.update(clean)
        with warnings.catch_warnings():  # zarr: consolidated metadata is not in the v3 spec yet
            warnings.simplefilter("ignore")
            _zarr().consolidate_metadata(str(self.path))


class StoreColumns(Mapping):
    """Per-draw variables of a store, each read into memory only when asked for (one column at
    a time: ``mapping[name]`` is a fresh numpy array of the first ``rows`` draws)."""

    def __init__(self, group, names: dict[str, str], rows: int):
        self.group = group
        self.names = dict(names)
        self.rows = int(rows)

    def __getitem__(self, name: str) -> np.ndarray:
        return np.asarray(self.group[self.names[name]][: self.rows])

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)

    def __contains__(self, name) -> bool:
        return name in self.names


def relocate(results, path: Path) -> None:
    """Point an out-of-core run's results at its store's new place (after an owned output
    folder was swapped in)."""
    group = _zarr().open_group(str(path), mode="r")
    for columns in (results.metrics, results.inputs):
        if isinstance(columns, StoreColumns):
            columns.group = group
    results.store = Path(path)


def open_dataset(path: Path):
    """The store as a lazily loaded ``xarray.Dataset`` (Dask arrays when Dask is installed)."""
    import xarray as xr  # deferred: heavy, only where a store is opened

    return xr.open_zarr(str(path))


def store_bytes(columns: int, draws: int) -> int:
    """Upper bound of a store's size on disk [bytes]: uncompressed float64 columns."""
    return 8 * int(columns) * int(draws)


def summary_bytes(draws: int) -> int:
    """Memory the exact summary of one metric column takes [bytes]."""
    return SUMMARY_BYTES_PER_DRAW * int(draws)


__all__ = [
    "STORE_NAME",
    "STORE_ROWS",
    "TEMP_PREFIX",
    "StoreColumns",
    "ZarrSink",
    "free_disk",
    "open_dataset",
    "relocate",
    "remove_dead_stores",
    "store_bytes",
    "summary_bytes",
    "temporary_folder",
]
