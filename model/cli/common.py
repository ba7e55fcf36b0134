"""What several commands share: the check of their run settings, the command line they record."""

from __future__ import annotations

import shlex

from ..core.errors import AssumptionError
from ..engine.simulate import run_argument_problems


def check_run_args(args) -> None:
    """The settings of a simulating command, checked once, all problems at once (exit 2).

    Raises
    ------
    AssumptionError
    """
    problems = run_argument_problems(
        draws=args.draws,
        seed=args.seed,
        design=args.design,
        series_draws=getattr(args, "series_draws", 1),
        precision=getattr(args, "precision", None),
        workers=getattr(args, "workers", None),
    )
    if problems:
        raise AssumptionError(problems)


def command_text(name: str, paths, args, extra: tuple = ()) -> str:
    """The command line that reproduces a run (recorded in output markers and manifests)."""
    parts = ["capex", name, *map(str, paths)]
    if getattr(args, "scenario", None):
        parts += ["--scenario", args.scenario]
    parts += ["--draws", str(args.draws), "--seed", str(args.seed), "--design", args.design]
    parts += [str(x) for x in extra]
    return shlex.join(parts)
