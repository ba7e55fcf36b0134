"""The assumption files a command is given: files named, the ``*.yaml`` of folders named, and
the default scenario when none is named."""

from __future__ import annotations

from pathlib import Path

from ..core.errors import AssumptionError, Problem

#: The scenario commands run when no PATH is given (from the repository root).
DEFAULT_SCENARIO = Path("assumptions") / "anthropic_fluidstack.yaml"


class UsageError(AssumptionError):
    """Bad command-line input (exit 2)."""


def expand_paths(paths: list[str]) -> list[tuple[Path, bool]]:
    """Files named, and the ``*.yaml``/``*.yml`` of folders named: ``(path, from_folder)``.

    Raises
    ------
    UsageError
        Listing every path that does not exist or every folder without assumption files.
    """
    out: list[tuple[Path, bool]] = []
    problems = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            found = sorted(x for x in path.glob("*.yaml") if x.is_file())
            found += sorted(x for x in path.glob("*.yml") if x.is_file())
            if not found:
                problems.append(
                    Problem(
                        "folder holds no .yaml assumption files; name a file or "
                        "a folder of assumption files",
                        p,
                    )
                )
            out.extend((f, True) for f in found)
        elif path.is_file():
            out.append((path, False))
        elif path.exists():
            problems.append(
                Problem(
                    "is not a regular file (a pipe, socket or device); name an assumption "
                    "file or a folder of them",
                    p,
                )
            )
        else:
            problems.append(Problem("no such file or folder; check the path", p))
    if problems:
        raise UsageError(problems)
    return out


def default_paths(paths: list[str] | None) -> list[str]:
    """``paths``, or the default scenario when none is given.

    Raises
    ------
    UsageError
        No path given and the default scenario is not in the working directory.
    """
    if paths:
        return paths
    if DEFAULT_SCENARIO.is_file():
        return [str(DEFAULT_SCENARIO)]
    raise UsageError(
        Problem(
            f"no PATH given and the default scenario {DEFAULT_SCENARIO} is not here; run from the "
            "repository root or name an assumption file"
        )
    )
