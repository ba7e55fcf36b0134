"""Output folders that capex owns: marked, checked, staged aside and swapped in atomically.

capex never writes into a folder it does not own and never deletes a file it did not write.

* **Owned.** Every folder capex creates carries a marker file, :data:`MARKER`
  (``.capex-output.json``): the command, the capex version and every file and sub-folder it
  wrote, each file with its SHA-256. An existing folder is used only when it is empty or marked
  as capex's own *and* holds nothing the marker does not list; otherwise the command stops (exit
  2) naming a few foreign files and saying what to do.
* **Atomic.** A new output is written completely into a staging sibling
  (``.capex-staging.<name>.<pid>.<random>``); the marker is written last. It then takes the
  place of the previous output in one step: ``renameat2(RENAME_EXCHANGE)`` on Linux (the kernel
  swaps the two names; a kill at any instant leaves the previous or the new folder complete
  under the final name), else a recoverable two-step swap through ``.capex-backup.<name>`` that
  the next run finishes or undoes. The next run into the same parent also removes the staging
  folders of runs that died (their process is gone and their lock is free).
* **Inside.** Every path written is resolved and checked to lie under the staging folder.
* **Environment.** An existing file where a folder is wanted, ``--out .`` (or a folder that holds
  the working directory), an unwritable parent or a full disk are environment problems: exit 2
  with what to do, never an internal error. Folders follow the umask.

References
----------
.. [1] ``rename(2)``, Linux man-pages: ``renameat2``, ``RENAME_EXCHANGE``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import json
import os
import secrets
import shutil
import sys
from pathlib import Path

from .._version import __version__
from ..core.errors import AssumptionError, Problem, display_path
from ..core.fileio import (
    LOCK,
    atomic_write,
    file_mode,
    folder_mode,
    hold_lock,
    lock_names_folder,
    owner_dead,
    pid_alive,
    release_lock,
    remove_dead_temps,
    sha256_file,
    temp_pid,
)

#: Marker file of a folder capex owns.
MARKER = ".capex-output.json"
STAGING_PREFIX = ".capex-staging."
BACKUP_PREFIX = ".capex-backup."
#: Format of the marker (bump when its meaning changes).
MARKER_FORMAT = 1
#: The PNG text chunk (key, value) that marks a single figure file (``--plot FILE.png``) as
#: written by capex: such a file may be replaced, any other never.
PNG_MARK = ("Software", "capex")
#: Bytes of listed files hashed, in all, when a folder is checked (the rest by size).
HASHED_BYTES = 256 << 20
#: A listed file larger than this is compared by its size only.
HASHED_FILE_BYTES = 16 << 20
#: How many foreign files a refusal names.
SHOWN_FOREIGN = 5

_ENVIRONMENT_ERRNOS = {
    errno.ENOSPC: "the disk is full; free some space or write elsewhere",
    errno.EDQUOT: "the disk quota is exceeded; free some space or write elsewhere",
    errno.EACCES: "permission denied; choose a folder you can write to",
    errno.EPERM: "the operation is not permitted here; choose a folder you can write to",
    errno.EROFS: "the file system is read-only; write elsewhere",
    errno.ENAMETOOLONG: "a name in the path is too long (over 255 bytes); shorten it",
}


class OutputError(AssumptionError):
    """An output folder cannot be used (exit 2): foreign files, a file in the way, the working
    directory, no permission, a full disk."""


def environment_problem(
    exc: OSError, path: Path | str, action: str = "write", option: str = "--out"
) -> OutputError:
    """An :class:`OutputError` for an OS error while writing ``path`` (disk full, no
    permission, read-only file system, ...)."""
    why = _ENVIRONMENT_ERRNOS.get(exc.errno, f"{exc.strerror or exc}; check the folder")
    return OutputError(Problem(f"cannot {action} here: {why}", display_path(path), None, option))


# ============================================================================ the marker
def read_marker(folder: Path) -> dict | None:
    """The marker of ``folder`` as a dict, or None when there is none or it is not capex's."""
    path = Path(folder) / MARKER
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > 10 << 20:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or data.get("capex_output") != MARKER_FORMAT:
        return None
    if not isinstance(data.get("files"), dict) or not isinstance(data.get("folders", []), list):
        return None
    return data


def _tree(folder: Path) -> tuple[list[str], list[str]]:
    """Relative paths (POSIX) of the files and folders under ``folder`` (symlinks as files)."""
    files, folders = [], []
    for root, dirs, names in os.walk(folder, followlinks=False):
        rel = Path(root).relative_to(folder)
        for d in list(dirs):
            p = Path(root) / d
            if p.is_symlink():  # never followed: listed as a file
                names.append(d)
                dirs.remove(d)
            else:
                folders.append((rel / d).as_posix())
        files.extend((rel / n).as_posix() for n in names)
    return sorted(files), sorted(folders)


def foreign_entries(folder: Path, marker: dict | None = None) -> list[str]:
    """Files and folders under ``folder`` that capex did not write, sorted: those its marker
    does not list (all of them when it has no marker), and listed files changed since
    (:func:`changed_files`, shown as ``name (changed since capex wrote it)``); the marker itself
    is not foreign."""
    marker = read_marker(folder) if marker is None else marker
    files, folders = _tree(folder)
    listed_files = set(marker["files"]) if marker else set()
    listed_folders = set(marker.get("folders", [])) if marker else set()
    listed_files.update((MARKER, LOCK))
    out = [f for f in files if f not in listed_files and temp_pid(f.rsplit("/", 1)[-1]) is None]
    out += [d + "/" for d in folders if d not in listed_folders]
    if marker:
        out += [f"{f} (changed since capex wrote it)" for f in changed_files(folder, marker)]
    return sorted(out)


def changed_files(folder: Path, marker: dict) -> list[str]:
    """Files the marker lists whose bytes are no longer what capex wrote: another size, or
    another SHA-256 (hashed up to :data:`HASHED_BYTES` in all, files over
    :data:`HASHED_FILE_BYTES` compared by size only, so an out-of-core store of many GB is not
    read in full at every check)."""
    folder = Path(folder)
    sizes = marker.get("sizes") if isinstance(marker.get("sizes"), dict) else {}
    changed, budget = [], HASHED_BYTES
    for rel, digest in sorted(marker["files"].items()):
        p = folder / rel
        try:
            if p.is_symlink() or not p.is_file():
                continue  # a link is foreign already (listed as a file it is not); gone: nothing
            size = p.stat().st_size
            if rel in sizes and sizes[rel] != size:
                changed.append(rel)
            elif size <= HASHED_FILE_BYTES and size <= budget:
                budget -= size
                if sha256_file(p) != digest:
                    changed.append(rel)
        except OSError:
            changed.append(rel)
    return changed


def _refusal(folder: Path, foreign: list[str], marked: bool, option: str = "--out") -> OutputError:
    shown = ", ".join(foreign[:SHOWN_FOREIGN])
    more = f" and {len(foreign) - SHOWN_FOREIGN} more" if len(foreign) > SHOWN_FOREIGN else ""
    if marked:
        what = (
            f"this capex output folder also holds files capex did not write ({shown}{more});"
            " capex will not replace a folder holding them: move them elsewhere, or choose "
            f"another {option}"
        )
    else:
        what = (
            f"folder exists and is not a capex output folder (it holds {shown}{more}); "
            "capex writes only into an empty folder or one it wrote itself: choose a new "
            "folder name, or empty this one"
        )
    return OutputError(Problem(what, display_path(folder), None, option))


# ============================================================================ checks
def check_target(final: Path, option: str = "--out") -> None:
    """Stop (exit 2) before any work when ``final`` cannot receive capex output
    (:func:`_check_target`); a path the system cannot even look at (a name over 255 bytes, a
    folder that cannot be read) is such a case too."""
    try:
        _check_target(final, option)
    except OSError as exc:
        raise environment_problem(exc, final, "use this path", option) from None


def _check_target(final: Path, option: str) -> None:
    """Stop (exit 2) before any work when ``final`` cannot receive capex output.

    It may not exist yet (its parent is created), or be an empty folder, or a folder whose
    marker lists everything it holds.

    Raises
    ------
    OutputError
        ``final`` is a file, the working directory or one of its parents, a foreign or mixed
        folder, or its parent cannot be created or written.
    """
    final = Path(final)
    shown = display_path(final)
    resolved = final.resolve()
    cwd = Path.cwd().resolve()
    if resolved == cwd or resolved in cwd.parents:
        raise OutputError(
            Problem(
                "names the current folder (or a folder that holds it); capex replaces an output "
                "folder as a whole, so give a new sub-folder instead, e.g. --out results",
                shown,
                None,
                option,
            )
        )
    if final.is_symlink():
        raise OutputError(
            Problem("is a symbolic link; give a real folder path", shown, None, option)
        )
    if final.exists() and not final.is_dir():
        raise OutputError(
            Problem(
                "is a file, not a folder; give a folder name (capex writes several files into it)",
                shown,
                None,
                option,
            )
        )
    if final.is_dir():
        marker = read_marker(final)
        foreign = foreign_entries(final, marker)
        if foreign:
            raise _refusal(final, foreign, marker is not None, option)
    _check_parent(final, shown, option)


def check_file_target(path: Path, option: str, suffix: str = ".png") -> None:
    """Stop (exit 2) before any work when ``path`` cannot receive a single figure file
    (:func:`_check_file_target`), or cannot even be looked at."""
    try:
        _check_file_target(path, option, suffix)
    except OSError as exc:
        raise environment_problem(exc, path, "use this path", option) from None


def _check_file_target(path: Path, option: str, suffix: str) -> None:
    """Stop (exit 2) before any work when ``path`` cannot receive a single figure file.

    The file may not exist yet (its parent folders are created), or be a figure capex wrote
    (a PNG whose text chunk :data:`PNG_MARK` says so); a file capex did not write is never
    replaced.

    Raises
    ------
    OutputError
        ``path`` has another suffix, is a folder or a symbolic link, is a file capex did not
        write, or its folder cannot be created or written.
    """
    path = Path(path)
    shown = display_path(path)
    problem = None
    if path.suffix.lower() != suffix:
        problem = f"must end with {suffix} (capex writes a PNG figure); e.g. {option} sweep{suffix}"
    elif path.is_symlink():
        problem = "is a symbolic link; give a real file path"
    elif path.is_dir():
        problem = f"is a folder; give a file name inside it, e.g. {option} {shown}/sweep{suffix}"
    elif path.exists() and not capex_png(path):
        problem = (
            "exists and capex did not write it (it is not a capex figure); capex never replaces "
            "a file it did not write: choose another name, or move that file away"
        )
    if problem:
        raise OutputError(Problem(problem, shown, None, option))
    _check_parent(path, shown, option)


def _check_parent(final: Path, shown: str, option: str) -> None:
    """Stop when the nearest existing parent of ``final`` is a file or cannot be written."""
    probe = final.parent
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise OutputError(
            Problem(
                f"{display_path(probe)} is a file, so no folder can be made "
                "under it; choose another path",
                shown,
                None,
                option,
            )
        )
    if not os.access(probe, os.W_OK | os.X_OK):
        raise OutputError(
            Problem(
                f"cannot write into {display_path(probe)}: permission "
                "denied; choose a folder you can write to",
                shown,
                None,
                option,
            )
        )


def capex_png(path: Path) -> bool:
    """Whether ``path`` is a PNG that capex wrote (its ``Software`` text chunk is
    :data:`PNG_MARK`'s value). Anything unreadable counts as not capex's."""
    from PIL import Image, UnidentifiedImageError  # deferred: only single-figure outputs

    try:
        with Image.open(path) as im:
            return im.format == "PNG" and im.text.get(PNG_MARK[0]) == PNG_MARK[1]
    except (OSError, ValueError, UnidentifiedImageError, Image.DecompressionBombError):
        return False


def write_owned_file(path: Path, data: bytes, option: str) -> Path:
    """Write one figure file capex owns: checked again (:func:`check_file_target`), written
    through a temporary sibling and ``os.replace`` (a kill leaves the previous file or the new
    one), temporary siblings of dead runs removed first. Returns ``path``.

    Raises
    ------
    OutputError
        As :func:`check_file_target`; a full disk or no permission while writing.
    """
    path = Path(path)
    check_file_target(path, option, path.suffix.lower() or ".png")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=folder_mode())
        remove_dead_temps(path)
        atomic_write(path, data)
    except OSError as exc:
        raise environment_problem(exc, path) from None
    return path


def check_inside(root: Path, path: Path) -> Path:
    """``path`` resolved, after checking that it lies under ``root`` (resolved).

    Raises
    ------
    OutputError
        When it does not (a name with ``..`` or an absolute path, or a symbolic link out).
    """
    root_r = Path(root).resolve()
    p = (Path(root) / path).resolve()
    if p != root_r and root_r not in p.parents:
        raise OutputError(
            Problem(
                f"would write {path} outside the output folder; names that "
                "become file names must be slugs",
                display_path(root),
            )
        )
    return p


# ============================================================================ staging, cleanup
def _staging_owner_dead(path: Path) -> bool:
    """Whether the run that made staging folder ``path`` is gone: its pid is not alive and its
    lock (if any) is free."""
    parts = path.name[len(STAGING_PREFIX) :].rsplit(".", 2)
    try:
        pid = int(parts[-2])
    except (ValueError, IndexError):
        return False
    return owner_dead(path, pid)


def provably_capex(folder: Path) -> bool:
    """Whether ``folder`` is capex's by its contents, not only its name: it holds the lock
    capex wrote for it (a staging folder being written), or a marker that lists everything in
    it, unchanged (a staged output complete, or a previous output set aside)."""
    if lock_names_folder(folder):
        return True
    marker = read_marker(folder)
    return marker is not None and not foreign_entries(folder, marker)


def _remove_if_empty(folder: Path) -> bool:
    try:
        os.rmdir(folder)  # only succeeds on an empty folder: nothing of anyone's is lost
    except OSError:
        return False
    return True


def remove_dead_staging(parent: Path) -> list[Path]:
    """Remove the staging folders under ``parent`` left by runs that died; finish or undo a
    two-step swap a dead run left half done. Returns what was removed."""
    removed = []
    parent = Path(parent)
    if not parent.is_dir():
        return removed
    for entry in sorted(parent.iterdir()):
        name = entry.name
        if name.startswith(STAGING_PREFIX) and entry.is_dir() and not entry.is_symlink():
            if _staging_owner_dead(entry) and (_remove_if_empty(entry) or provably_capex(entry)):
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
        elif entry.is_file() and not entry.is_symlink() and temp_pid(name) is not None:
            pid = temp_pid(name)
            if pid != os.getpid() and not pid_alive(pid):
                entry.unlink(missing_ok=True)
                removed.append(entry)
        elif (
            name.startswith(BACKUP_PREFIX)
            and entry.is_dir()
            and not entry.is_symlink()
            and provably_capex(entry)
        ):
            final = parent / name[len(BACKUP_PREFIX) :]
            if final.exists():
                shutil.rmtree(entry, ignore_errors=True)  # the swap completed
            else:
                os.rename(entry, final)  # the swap stopped half way: restore the previous
            removed.append(entry)
    return removed


# ============================================================================ swapping
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_renameat2 = None


def _load_renameat2():
    global _renameat2
    if _renameat2 is None:
        fn = False
        if sys.platform.startswith("linux"):
            try:
                libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
                fn = libc.renameat2
                fn.argtypes = [
                    ctypes.c_int,
                    ctypes.c_char_p,
                    ctypes.c_int,
                    ctypes.c_char_p,
                    ctypes.c_uint,
                ]
                fn.restype = ctypes.c_int
            except (OSError, AttributeError):  # not glibc >= 2.28
                fn = False
        _renameat2 = fn
    return _renameat2 or None


def exchange(a: Path, b: Path) -> bool:
    """Swap the names of ``a`` and ``b`` atomically (Linux ``RENAME_EXCHANGE``).

    Returns
    -------
    bool
        False where the kernel, C library or file system cannot (the caller then uses
        :func:`two_step_swap`).
    """
    fn = _load_renameat2()
    if fn is None or os.environ.get("CAPEX_NO_RENAME_EXCHANGE"):
        return False
    res = fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if res == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def two_step_swap(staging: Path, final: Path) -> None:
    """Replace ``final`` by ``staging`` through a backup name that :func:`remove_dead_staging`
    resolves if the process dies in between (restoring the previous folder)."""
    backup = final.with_name(BACKUP_PREFIX + final.name)
    if backup.exists():
        shutil.rmtree(backup)
    os.rename(final, backup)
    os.rename(staging, final)
    shutil.rmtree(backup, ignore_errors=True)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class OwnedOutput:
    """A new output folder, staged aside and swapped in on success.

    Use as a context manager::

        with OwnedOutput(Path("rep"), command="capex report f.yaml --out rep") as out:
            out.write_text("report.md", text)
            nc = out.path_for("results.nc")   # for libraries that write files themselves

    On leaving the block without an error, the marker (every file with its SHA-256) is written
    last and the folder takes the place of ``final`` atomically. On an error (or Ctrl-C) the
    staging folder is removed and ``final`` is left as it was.

    Parameters
    ----------
    final : Path
        The folder users see.
    command : str
        Recorded in the marker.
    kind : str
        What the folder holds (``run``, ``report``, ``report-root``, ``figures``, ...).
    """

    def __init__(self, final: Path, command: str = "", kind: str = "output"):
        self.final = Path(final)
        self.command = command
        self.kind = kind
        self.path: Path | None = None
        self._lock_fd: int | None = None

    # ------------------------------------------------------------------ writing
    def path_for(self, relative: str | Path) -> Path:
        """The staging path of ``relative`` (parents created), checked to stay inside."""
        assert self.path is not None, "use OwnedOutput as a context manager"
        p = check_inside(self.path, Path(relative))
        p.parent.mkdir(parents=True, exist_ok=True, mode=folder_mode())
        return p

    def write_text(self, relative: str | Path, text: str) -> Path:
        """Write a UTF-8 text file (``\\n`` line ends) into the staging folder."""
        p = self.path_for(relative)
        p.write_bytes(text.encode("utf-8"))
        return p

    def write_bytes(self, relative: str | Path, data: bytes) -> Path:
        """Write a binary file into the staging folder."""
        p = self.path_for(relative)
        p.write_bytes(data)
        return p

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> OwnedOutput:
        check_target(self.final)
        parent = self.final.parent
        try:
            parent.mkdir(parents=True, exist_ok=True, mode=folder_mode())
            remove_dead_staging(parent)
            name = f"{STAGING_PREFIX}{self.final.name}.{os.getpid()}.{secrets.token_hex(4)}"
            self.path = parent / name
            os.mkdir(self.path, folder_mode())
            self._lock_fd = hold_lock(self.path)
        except OSError as exc:
            self._discard()
            raise environment_problem(exc, self.final) from None
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is not None:
            self._discard()
            if isinstance(exc, OSError) and exc.errno in _ENVIRONMENT_ERRNOS:
                raise environment_problem(exc, self.final) from None
            return False
        try:
            self._commit()
        except OSError as err:
            self._discard()
            raise environment_problem(err, self.final) from None
        except BaseException:
            self._discard()
            raise
        return False

    def _marker(self) -> dict:
        files, folders = _tree(self.path)
        files = [f for f in files if f not in (LOCK, MARKER)]
        return {
            "capex_output": MARKER_FORMAT,
            "kind": self.kind,
            "command": self.command,
            "version": __version__,
            "files": {f: sha256_file(self.path / f) for f in files},
            "sizes": {f: (self.path / f).stat().st_size for f in files},
            "folders": folders,
        }

    def _commit(self) -> None:
        marker = self._marker()
        (self.path / MARKER).write_text(
            json.dumps(marker, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        os.chmod(self.path / MARKER, file_mode())
        self._release_lock()
        (self.path / LOCK).unlink(missing_ok=True)  # our pid alone marks the folder as live now
        _fsync_dir(self.path)
        # the last check: nothing foreign appeared in the folder being replaced meanwhile
        check_target(self.final)
        if self.final.exists():
            if exchange(self.path, self.final):
                old = self.path  # the previous folder now sits at the staging name
            else:
                two_step_swap(self.path, self.final)
                old = None
        else:
            os.rename(self.path, self.final)
            old = None
        _fsync_dir(self.final.parent)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        self.path = None

    def _release_lock(self) -> None:
        if self._lock_fd is not None:
            try:
                release_lock(self._lock_fd)
            finally:
                self._lock_fd = None

    def _discard(self) -> None:
        self._release_lock()
        if self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)
            self.path = None


def check_owned_root(root: Path) -> bool:
    """Check, without writing anything, that ``root`` can be a report root: absent, empty, or
    marked as capex's. Returns whether it is marked already.

    Raises
    ------
    OutputError
        The working directory (or a folder holding it), a file, a symbolic link, or a folder
        with entries and no marker.
    """
    root = Path(root)
    shown = display_path(root)
    resolved = root.resolve()
    cwd = Path.cwd().resolve()
    problem = None
    if resolved == cwd or resolved in cwd.parents:
        problem = (
            "names the current folder (or a folder that holds it); give "
            "a new sub-folder for the reports, e.g. --out reports"
        )
    elif root.is_symlink():
        problem = "is a symbolic link; give a real folder path"
    elif root.exists() and not root.is_dir():
        problem = "is a file, not a folder; give a folder name"
    if problem:
        raise OutputError(Problem(problem, shown, None, "--out"))
    marker = read_marker(root) if root.is_dir() else None
    if root.is_dir() and marker is None and any(p.name != MARKER for p in root.iterdir()):
        entries = sorted(p.name + ("/" if p.is_dir() else "") for p in root.iterdir())
        raise _refusal(root, entries, marked=False)
    return marker is not None


def ensure_owned_root(root: Path, command: str = "", kind: str = "report-root") -> None:
    """Create ``root`` (marked) when missing; check it is capex's when it exists
    (:func:`check_owned_root`).

    A report root holds one owned folder per report plus files capex writes itself (the
    ``README.md`` index); other entries in it are left alone, but a root that is not marked is
    refused unless it is empty.

    Raises
    ------
    OutputError
    """
    root = Path(root)
    if not check_owned_root(root):
        try:
            root.mkdir(parents=True, exist_ok=True, mode=folder_mode())
            write_root_marker(root, command, kind, files={})
        except OSError as exc:
            raise environment_problem(exc, root) from None


def write_root_marker(root: Path, command: str, kind: str, files: dict) -> None:
    """(Re)write the marker of a report root: ``files`` maps the root's own files (the index)
    to their SHA-256; owned child folders carry their own markers."""
    marker = {
        "capex_output": MARKER_FORMAT,
        "kind": kind,
        "command": command,
        "version": __version__,
        "files": dict(sorted(files.items())),
        "folders": [],
        "children": "each sub-folder with its own .capex-output.json is capex's",
    }
    atomic_write(Path(root) / MARKER, json.dumps(marker, indent=2, sort_keys=True) + "\n")


def root_file_writable(root: Path, name: str) -> bool:
    """Whether capex may (re)write file ``name`` in a report root: absent, or listed in the
    root's marker with the bytes capex wrote (an index the user edited is theirs)."""
    marker = read_marker(root)
    p = Path(root) / name
    if not p.exists() and not p.is_symlink():
        return True
    listed = bool(marker) and name in marker["files"] and not p.is_symlink()
    return listed and name not in changed_files(root, {"files": {name: marker["files"][name]}})


def child_owned_or_absent(root: Path, name: str) -> bool:
    """Whether sub-folder ``name`` of a root is absent or capex's (marked, nothing foreign)."""
    p = Path(root) / name
    if not p.exists():
        return True
    return p.is_dir() and read_marker(p) is not None and not foreign_entries(p)
