"""Error types: every problem with user input says where it is and how to fix it.

A :class:`Problem` is one located complaint (``file:line: parameter: what is wrong; how to fix``).
An :class:`AssumptionError` carries one or more problems, so that a file with three mistakes
is reported with three lines at once. The command line turns any ``AssumptionError`` into those
lines on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    """One problem in an input file.

    Parameters
    ----------
    message : str
        What is wrong, then ``;`` and what to do about it.
    file : str or None
        Path of the file, as the user named it.
    line : int or None
        1-based line number, or ``None`` when the problem has no single line.
    parameter : str or None
        Parameter (or top-level key) the problem belongs to.
    column : int or None
        1-based column, for syntax errors.
    """

    message: str
    file: str | None = None
    line: int | None = None
    parameter: str | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = str(self.file)
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            where += ": "
        who = f"{self.parameter}: " if self.parameter else ""
        return f"{where}{who}{self.message}"


class AssumptionError(ValueError):
    """Invalid user input (assumption file, observation file, command-line value).

    Carries every problem found, in file order. ``str(err)`` is one line per problem.
    """

    def __init__(self, problems: list[Problem] | Problem | str):
        if isinstance(problems, str):
            problems = [Problem(problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = sorted(
            problems, key=lambda p: (str(p.file or ""), p.line or 0, p.column or 0)
        )
        super().__init__("\n".join(str(p) for p in self.problems))


class ScenarioError(AssumptionError):
    """``extends`` or scenario overlays cannot be resolved."""


class ObservationError(AssumptionError):
    """An observation file (calibration data) is malformed or lacks provenance."""


class CalibrationError(AssumptionError):
    """A calibration failed its convergence diagnostics (raised only when asked to be strict)."""


class CapexWarning(UserWarning):
    """Something the user should know that does not stop the run (printed as ``capex:
    warning: ...`` on stderr and listed under ``warnings`` in every ``--json`` output)."""


class PlausibilityWarning(CapexWarning):
    """A value inside its valid range but outside the range that is plausible for it."""


class CacheWarning(CapexWarning):
    """A cached calibration could not be trusted (tampered, truncated, partial, foreign) and
    was re-sampled."""


def display_path(path: str | Path) -> str:
    """Path as short as possible for messages: relative to the working directory when inside it."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


def did_you_mean(word: str, options) -> str | None:
    """The closest option to a misspelt ``word`` (close spelling, or one contains the other);
    the one helper behind every "did you mean ...?" of capex."""
    options = [str(o) for o in options]
    close = difflib.get_close_matches(str(word), options, n=1, cutoff=0.6)
    if close:
        return close[0]
    w = str(word).lower()
    hits = [o for o in options if len(o) >= 3 and (o in w or w in o)]
    return max(hits, key=len) if hits else None
