"""What several commands share: the check of their run settings, the command line they record."""

from __future__ import annotations

import shlex
from pathlib import Path

from ..core.errors import AssumptionError, Problem
from ..core.targets import ProbabilityTarget
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
    _, prob_problems = probability_targets(args)
    problems += prob_problems + output_path_problems(args)
    if problems:
        raise AssumptionError(problems)


#: Options that name where a command writes.
OUTPUT_OPTIONS = ("out", "report_out", "plots", "plot")


def output_path_problems(args) -> list[Problem]:
    """Empty output paths, and two output options naming the same folder or one inside the
    other (``--out r/sub --report-out r``: the second would refuse the first only after the
    work, or replace it)."""
    given = {k: getattr(args, k, None) for k in OUTPUT_OPTIONS}
    problems = [
        Problem(
            f"--{k.replace('_', '-')} is empty; give a folder or file name",
            parameter=f"--{k.replace('_', '-')}",
        )
        for k, v in given.items()
        if v is not None and not str(v).strip()
    ]
    named = [(k, Path(v).resolve()) for k, v in given.items() if v and str(v).strip()]
    for i, (a, pa) in enumerate(named):
        for b, pb in named[i + 1 :]:
            if pa == pb or pa in pb.parents or pb in pa.parents:
                problems.append(
                    Problem(
                        f"--{a.replace('_', '-')} and --{b.replace('_', '-')} name the same "
                        "folder, or one inside the other; give them separate folders",
                        parameter=f"--{b.replace('_', '-')}",
                    )
                )
    return problems


def probability_targets(args) -> tuple[list[ProbabilityTarget], list[Problem]]:
    """The ``--prob`` targets of a command, and what is wrong with those that do not parse."""
    targets, problems = [], []
    for text in getattr(args, "probs", None) or []:
        try:
            targets.append(ProbabilityTarget.parse(text))
        except ValueError as exc:
            problems.append(Problem(str(exc), parameter="--prob"))
    return targets, problems


def command_text(name: str, paths, args, extra: tuple = ()) -> str:
    """The command line that reproduces a run (recorded in output markers and manifests)."""
    parts = ["capex", name, *map(str, paths)]
    if getattr(args, "scenario", None):
        parts += ["--scenario", args.scenario]
    parts += ["--draws", str(args.draws), "--seed", str(args.seed), "--design", args.design]
    parts += [str(x) for x in extra]
    return shlex.join(parts)


def write_generated(targets: dict, check: bool, command: str) -> int:
    """Write each generated file whose text changed (``--check``: write nothing and return 1
    when one is stale), as ``python -m model.cli.docs`` and ``python -m model.cli.schema`` do.

    Parameters
    ----------
    targets : dict of Path to str
        File -> its generated text.
    check : bool
    command : str
        The command that regenerates them, for the stale message.
    """
    stale = []
    for path, text in targets.items():
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(path)
        if not check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    if check and stale:
        print("stale: " + ", ".join(map(str, stale)) + f"; run {command}")
        return 1
    return 0
