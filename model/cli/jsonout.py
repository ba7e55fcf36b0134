"""Warnings and JSON output of the ``capex`` command.

The command runs under :func:`recording`: every :class:`~model.core.errors.CapexWarning`
raised while it runs (a value outside its plausible range, a cached calibration re-sampled, a
calibration that failed its diagnostics) is collected once, printed on stderr as
``capex: warning: ...`` when the command ends, and listed under ``warnings`` in the JSON the
command prints (:func:`print_json`).
"""

from __future__ import annotations

import contextlib
import json
import sys
import warnings

from ..core.errors import AssumptionError, CapexWarning

_recorded: list | None = None


@contextlib.contextmanager
def recording():
    """Collect the warnings of one command; print the capex ones on stderr at the end."""
    global _recorded
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CapexWarning)
        _recorded = caught
        try:
            yield caught
        finally:
            _recorded = None
            for message in unique_messages(caught):
                print(f"capex: warning: {message}", file=sys.stderr)


def unique_messages(caught) -> list[str]:
    """The capex warnings among ``caught``, each message once, in order."""
    return list(
        dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, CapexWarning))
    )


def current_warnings() -> list[str]:
    """The capex warnings of the running command so far."""
    return unique_messages(_recorded or [])


def print_json(obj: dict, **kw) -> None:
    """Print one JSON object on stdout, with the command's ``warnings`` so far merged in."""
    obj = dict(obj)
    obj["warnings"] = list(dict.fromkeys([*obj.get("warnings", []), *current_warnings()]))
    print(json.dumps(obj, indent=2, **kw))


def print_error_json(err: AssumptionError) -> None:
    """The problems of a failed command as one JSON object on stdout (``--json``):
    ``{"error", "problems": [{"file", "line", "parameter", "message", "fix"}], "warnings"}``."""
    problems = []
    for p in err.problems:
        what, _, fix = p.message.partition("; ")
        problems.append(
            {
                "file": p.file,
                "line": p.line,
                "parameter": p.parameter,
                "message": what,
                "fix": fix or None,
            }
        )
    n = len(problems)
    print_json(
        {
            "error": f"{n} problem{'s' if n != 1 else ''} found; nothing was written",
            "problems": problems,
        }
    )
