"""Allocator tuning for long array workloads (glibc on Linux; elsewhere nothing is changed).

A Monte Carlo run allocates and frees the same few megabytes of numpy temporaries for every
chunk of draws. With glibc's defaults, blocks above the (adaptive) mmap threshold are mapped and
unmapped, and free memory at the top of the heap is returned to the system, so the next chunk
takes page faults to get it back: on the project's 2-core machine this cost 20-40 % of a run's
time (``benchmarks/README.md``). :func:`keep_freed_memory` sets two documented ``mallopt(3)``
parameters so freed blocks stay in the process for reuse.

It changes the allocator of the whole process, so the library never calls it by itself: the
``capex`` command does (it owns its process), and so do the benchmarks. Call it yourself in a
script or notebook that runs large simulations if you want the same speed.

References
----------
.. [1] ``mallopt(3)``, Linux man-pages: ``M_MMAP_THRESHOLD``, ``M_TRIM_THRESHOLD``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3

#: Blocks below this come from the heap (and are reused); above it they are mapped [bytes].
MMAP_THRESHOLD = 64 << 20
#: Free memory at the top of the heap kept rather than returned to the system [bytes].
TRIM_THRESHOLD = 256 << 20

_done = False


def keep_freed_memory() -> bool:
    """Ask glibc to keep freed memory for reuse (idempotent).

    Returns
    -------
    bool
        True when the allocator was tuned (glibc), False where it is left alone (other C
        libraries, other systems).
    """
    global _done
    if _done:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (e.g. musl has no mallopt)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    _done = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
    return _done
