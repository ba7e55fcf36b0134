"""Small file helpers every layer may use: atomic replacement of one file, content hashes, and
whether the process that made a temporary file or folder is still alive."""

from __future__ import annotations

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


def temp_sibling(path: Path) -> Path:
    """A temporary name next to ``path``: ``.name.<pid>.<hex>.tmp`` (recognised as debris of a
    dead process by :func:`model.reporting.outputs.remove_dead_staging`)."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


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
    """Create :data:`LOCK` in ``folder`` and hold an exclusive ``flock`` on it for as long as the
    returned descriptor is open (the kernel releases it when the process dies, even by SIGKILL).
    """
    fd = os.open(Path(folder) / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


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
