"""Small file helpers every layer may use: atomic replacement of one file, content hashes, and
whether the process that made a temporary file or folder is still alive."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import secrets
from pathlib import Path

#: Lock file a live process holds (``flock``) inside a folder it is still writing.
LOCK = ".capex-lock"


def file_mode() -> int:
    """Mode of the files capex creates: 0o666 minus the umask."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def folder_mode() -> int:
    """Mode of the folders capex creates: 0o777 minus the umask."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o777 & ~mask


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes, hex."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


#: Name prefix of a temporary sibling (:func:`temp_sibling`): only names with it are ever taken
#: for capex's debris.
TEMP_PREFIX = ".capex-tmp."


def temp_sibling(path: Path) -> Path:
    """A temporary name next to ``path``: ``.capex-tmp.<name>.<pid>.<hex>`` (a dead process's is
    removed by :func:`model.reporting.outputs.remove_dead_staging`; no other name ever is)."""
    path = Path(path)
    return path.with_name(f"{TEMP_PREFIX}{path.name}.{os.getpid()}.{secrets.token_hex(4)}")


def temp_pid(name: str) -> int | None:
    """The process id in a :func:`temp_sibling` name, or None when ``name`` is not one."""
    if not name.startswith(TEMP_PREFIX):
        return None
    parts = name[len(TEMP_PREFIX) :].rsplit(".", 2)
    if len(parts) != 3 or not parts[1].isdigit() or len(parts[2]) != 8:
        return None
    try:
        int(parts[2], 16)
    except ValueError:
        return None
    return int(parts[1])


def remove_dead_temps(path: Path) -> list[Path]:
    """Remove the temporary siblings of ``path`` (:func:`temp_sibling`) whose process is gone
    (a write killed half way); returns what was removed."""
    path = Path(path)
    removed = []
    for entry in path.parent.glob(f"{TEMP_PREFIX}{path.name}.*"):
        pid = temp_pid(entry.name)
        alive = pid is None or pid == os.getpid() or pid_alive(pid)
        if not alive and entry.is_file() and not entry.is_symlink():
            entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed


def atomic_write(path: Path, data: bytes | str) -> None:
    """Write one file through a temporary sibling and ``os.replace``: never half-written.

    Parameters
    ----------
    path : Path
    data : bytes or str
        ``str`` is written as UTF-8 (line ends as given).
    """
    path = Path(path)
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    tmp = temp_sibling(path)
    try:
        with open(tmp, "wb") as fh:
            fh.write(raw)
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (another user's counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def hold_lock(folder: Path) -> int:
    """Create :data:`LOCK` in ``folder`` (it names the folder: :func:`lock_names_folder`) and
    hold an exclusive ``flock`` on it for as long as the returned descriptor is open in this
    process (the kernel releases it when the process dies, even by SIGKILL; forked children
    close their copy at once, so a child that outlives the process cannot keep it)."""
    folder = Path(folder)
    fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, folder.name.encode("utf-8"))
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    _HELD.add(fd)
    return fd


def release_lock(fd: int) -> None:
    """Close a descriptor of :func:`hold_lock` (releasing the lock)."""
    _HELD.discard(fd)
    os.close(fd)


def _close_held_in_child() -> None:
    for fd in list(_HELD):
        with contextlib.suppress(OSError):
            os.close(fd)
    _HELD.clear()


_HELD: set[int] = set()
os.register_at_fork(after_in_child=_close_held_in_child)


def lock_names_folder(folder: Path) -> bool:
    """Whether ``folder`` holds the :data:`LOCK` that :func:`hold_lock` wrote for it: proof that
    capex made the folder (a user's folder of a similar name has no such file)."""
    lock = Path(folder) / LOCK
    try:
        if lock.is_symlink() or not lock.is_file() or lock.stat().st_size > 4096:
            return False
        return lock.read_bytes() == Path(folder).name.encode("utf-8")
    except OSError:
        return False


def lock_free(folder: Path) -> bool:
    """Whether nobody holds the :data:`LOCK` of ``folder`` (true when there is none)."""
    lock = Path(folder) / LOCK
    if not lock.exists():
        return True
    try:
        fd = os.open(lock, os.O_RDWR)
    except OSError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False  # held: its process is alive
    finally:
        os.close(fd)
    return True


def owner_dead(folder: Path, pid: int) -> bool:
    """Whether the process ``pid`` that made ``folder`` is gone: not this process, not alive,
    and the folder's lock (if any) free."""
    if pid == os.getpid() or pid_alive(pid):
        return False
    return lock_free(folder)
