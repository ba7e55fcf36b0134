"""Small file helpers every layer may use: atomic replacement of one file, content hashes."""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path


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
