"""Command line: ``capex validate|run|compare|sensitivity|calibrate|report|sources|new``.

Each command is a thin function over the layers (``model.cli.commands.*``); the parser
(:mod:`model.cli.parser`) imports none of them, so ``capex --help`` is instant. Exit codes: 0
ok, 2 invalid input or environment (messages on stderr as ``file:line: parameter: what is wrong;
how to fix``, never a traceback; with ``--json``, a JSON object on stdout as well), 1 internal
error. Glossary of every printed term: docs/concepts.md.
"""

from __future__ import annotations

import errno
import importlib
import os
import signal
import sys
import traceback

from ..core.errors import AssumptionError, Problem
from .jsonout import print_error_json, recording
from .parser import build_parser

__all__ = ["main", "build_parser"]

_ENVIRONMENT = (
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EACCES,
    errno.EPERM,
    errno.EROFS,
    errno.ENAMETOOLONG,
)
_MAIN_PID = os.getpid()


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, ``timeout``, a CI job cancelled) raised as an exception in the main
    process, so staging folders and temporary stores are removed as on Ctrl-C."""


def _on_sigterm(signum, frame) -> None:
    if os.getpid() != _MAIN_PID:  # a forked worker: die at once, as without the handler
        os._exit(128 + signum)
    raise Terminated


def catch_sigterm() -> None:
    """Turn SIGTERM into :class:`Terminated` in this process (its forked workers still die at
    once); exit code 143 (128 + 15), like the default."""
    global _MAIN_PID
    _MAIN_PID = os.getpid()
    signal.signal(signal.SIGTERM, _on_sigterm)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``capex`` console script. Returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    from ..engine.allocator import keep_freed_memory  # deferred: not needed for --help

    keep_freed_memory()  # this process is ours: reuse freed array memory (engine/allocator.py)
    catch_sigterm()
    with recording():
        return run_command(args)


def resolve(func):
    """A command given as ``"module:function"`` (imported now), or the function itself."""
    if callable(func):
        return func
    module, _, name = func.partition(":")
    return getattr(importlib.import_module(module), name)


def run_command(args) -> int:
    """Run one parsed command; turn the project's errors and environment failures into exit 2
    with a message, and everything else into exit 1 (a bug)."""
    as_json = bool(getattr(args, "json", False))
    try:
        return int(resolve(args.func)(args) or 0)
    except AssumptionError as e:
        for p in e.problems:
            print(str(p), file=sys.stderr)
        n = len(e.problems)
        print(
            f"capex: {n} problem{'s' if n != 1 else ''} found; nothing was written.",
            file=sys.stderr,
        )
        if as_json:
            print_error_json(e)
        return 2
    except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM (Terminated)
        import logging  # deferred: only an interrupted command needs it

        # work cut short is expected now: not asyncio's "Task was destroyed" (a store's
        # writes) nor Dask's lost tasks and closed connections (a LocalCluster shutting down)
        for name in ("asyncio", "distributed"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
        what = "terminated" if isinstance(e, Terminated) else "interrupted"
        print(f"capex: {what}; nothing half-written was left in place.", file=sys.stderr)
        return 143 if isinstance(e, Terminated) else 130
    except BrokenPipeError:
        return 0
    except MemoryError:
        msg = (
            "ran out of memory; use fewer --draws (or --series-draws), or a machine with more "
            "memory. Nothing was written."
        )
        return _environment_error(msg, as_json)
    except OSError as e:
        if e.errno not in _ENVIRONMENT:
            return _internal_error(e)
        where = f" ({e.filename})" if e.filename else ""
        msg = (
            f"cannot write{where}: {e.strerror}; free some space, or choose a folder you can "
            "write to. The previous output is unchanged."
        )
        return _environment_error(msg, as_json)
    except Exception as e:  # noqa: BLE001 - the one place internal errors are reported
        return _internal_error(e)


def _environment_error(message: str, as_json: bool) -> int:
    """A failure of the machine (memory, disk, permissions), not of the input: exit 2, and
    with ``--json`` the error object on stdout too."""
    print(f"capex: {message}", file=sys.stderr)
    if as_json:
        print_error_json(AssumptionError(Problem(message)))
    return 2


def _internal_error(e: BaseException) -> int:
    if os.environ.get("CAPEX_DEBUG"):
        traceback.print_exception(e)
    print(f"capex: internal error: {e.__class__.__name__}: {e}", file=sys.stderr)
    print(
        "capex: this is a bug in capex, not in your input; rerun with CAPEX_DEBUG=1 for "
        "the traceback and report it.",
        file=sys.stderr,
    )
    return 1
