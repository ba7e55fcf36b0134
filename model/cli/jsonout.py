"""Warnings and JSON output of the ``capex`` command.

The command runs under :func:`recording`: every :class:`~model.core.errors.CapexWarning`
raised while it runs (a value outside its plausible range, a cached calibration re-sampled, a
calibration that failed its diagnostics, draws streaming to a temporary store) is printed on
stderr as ``capex: warning: ...`` the first time it is raised (a long run says what it is doing
before it does it), and listed under ``warnings`` in the JSON the command prints
(:func:`print_json`).

With ``--json`` a command prints exactly one JSON object on stdout (``docs/json.md``): under
:func:`recording` the object is written when the command ends, so an error raised after a
result (``capex validate`` of a broken file) replaces it with the error object
(:func:`print_error_json`) instead of following it. Every object carries ``schema_version``
(:data:`JSON_SCHEMA_VERSION`; the schemas are ``docs/schema/*.schema.json``, written by
``python -m model.cli.schema``), no wall-clock time unless ``--timings`` asked for it, and no
``NaN`` or ``Infinity`` (not JSON: printed as ``null``).
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
import time
import warnings

from ..core.errors import AssumptionError, CapexWarning, Problem

#: Version of the ``--json`` contract: bumped on a breaking change (a key removed, renamed or
#: retyped), kept on an additive one (a new key); ``docs/json.md``.
JSON_SCHEMA_VERSION = 1

_recorded: list | None = None
#: the JSON texts the running command printed (the last one is written when it ends)
_pending: list[str] | None = None
_started: float | None = None


class _Shown(list):
    """The warnings of a command: each capex warning is printed on stderr when it is first
    raised, other libraries' warnings are kept silent."""

    def append(self, w) -> None:
        if issubclass(w.category, CapexWarning) and str(w.message) not in unique_messages(self):
            print(f"capex: warning: {w.message}", file=sys.stderr, flush=True)
        super().append(w)


@contextlib.contextmanager
def recording():
    """Collect the warnings of one command, printing each capex one on stderr when first raised;
    at the end print the command's JSON object (the last one it printed) on stdout."""
    global _recorded, _pending, _started
    with warnings.catch_warnings():  # restores the filters and showwarning afterwards
        warnings.simplefilter("always", CapexWarning)
        shown = _Shown()
        warnings.showwarning = lambda *a, **k: shown.append(warnings.WarningMessage(*a, **k))
        _recorded, _pending, _started = shown, [], time.perf_counter()
        try:
            yield shown
        finally:
            texts = _pending
            _recorded = _pending = _started = None
            if texts:
                _write(texts[-1])


def _write(text: str) -> None:
    # a reader that went away (``| head``) has nothing left to be told
    with contextlib.suppress(BrokenPipeError):
        print(text, flush=True)


def unique_messages(caught) -> list[str]:
    """The capex warnings among ``caught``, each message once, in order."""
    return list(
        dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, CapexWarning))
    )


def current_warnings() -> list[str]:
    """The capex warnings of the running command so far."""
    return unique_messages(_recorded or [])


def json_safe(obj):
    """``obj`` with every non-finite float as ``None`` and tuples as lists (JSON has no NaN)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return obj


def print_json(obj: dict, timings: dict | None = None, **kw) -> None:
    """Print one JSON object on stdout: ``schema_version`` first, the command's ``warnings`` so
    far merged in, and ``timings_seconds`` (``timings`` and the command's own wall time) only
    when ``timings`` is given (``--timings``), so identical inputs print identical bytes.

    Under :func:`recording` the text is written when the command ends (the last object wins).
    """
    out = {"schema_version": JSON_SCHEMA_VERSION, **obj}
    out.pop("timings_seconds", None)
    out.pop("warnings", None)
    if timings is not None:
        command = {"command": time.perf_counter() - _started} if _started is not None else {}
        out["timings_seconds"] = {k: round(v, 3) for k, v in {**timings, **command}.items()}
    out["warnings"] = list(dict.fromkeys([*obj.get("warnings", []), *current_warnings()]))
    text = json.dumps(json_safe(out), indent=2, allow_nan=False, **kw)
    if _pending is None:
        _write(text)
    else:
        _pending.append(text)


def problem_json(p: Problem) -> dict:
    """One problem as JSON: ``{"file", "line", "parameter", "message", "fix"}`` (the fix is
    what follows the first ``"; "`` of the message, ``None`` when there is none)."""
    what, _, fix = p.message.partition("; ")
    return {
        "file": None if p.file is None else str(p.file),
        "line": p.line,
        "parameter": p.parameter,
        "message": what,
        "fix": fix or None,
    }


def print_error_json(err: AssumptionError) -> None:
    """The problems of a failed command as one JSON object on stdout (``--json``):
    ``{"schema_version", "error", "problems": [{"file", "line", "parameter", "message",
    "fix"}], "warnings"}``; it replaces any result the command printed before it failed."""
    problems = [problem_json(p) for p in err.problems]
    n = len(problems)
    if _pending:
        _pending.clear()
    print_json(
        {
            "error": f"{n} problem{'s' if n != 1 else ''} found; nothing was written",
            "problems": problems,
        }
    )


def argument_problem(message: str, prog: str) -> Problem:
    """An argparse error (``argument --draws: 'abc' is not a number; write e.g. 10000``) as a
    located problem: the option as ``parameter``, a fix after ``"; "`` (the choices, or the
    command's ``--help`` when argparse gives none)."""
    parameter = None
    if message.startswith("argument "):
        head, sep, rest = message[len("argument ") :].partition(": ")
        if sep:
            parameter, message = head.split("/")[0], rest
    what, _, fix = message.partition("; ")
    for lead in ("unrecognized arguments: ", "the following arguments are required: "):
        if what.startswith(lead):
            parameter = what[len(lead) :].split(" ")[0].rstrip(",")
    if not fix and " (choose from " in what:
        what, _, choices = what.partition(" (choose from ")
        fix = "choose from " + choices.rstrip(")")
    return Problem(f"{what}; {fix or f'see {prog} --help'}", parameter=parameter)


def print_argument_error_json(message: str, prog: str) -> None:
    """A command-line error (bad option value, unknown option, missing argument) as the JSON
    error object (``--json``; the parser exits 2 after it)."""
    print_error_json(AssumptionError(argument_problem(message, prog)))
