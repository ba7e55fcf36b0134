"""``capex goal-seek PATH --vary NAME --target T``: the value of one input at which a statistic
hits a target (:mod:`model.analysis.goalseek`)."""

from __future__ import annotations

import math

from ...analysis.goalseek import GoalSeekResult, goal_seek
from ...core.errors import AssumptionError, Problem
from ...core.formatting import format_estimate, format_probability, format_value
from ...loading.scenario import load_scenario
from ..jsonout import print_json


def cmd_goal_seek(args) -> int:
    if args.draws < 100:
        raise AssumptionError(
            Problem(f"--draws {args.draws} is too few; give at least 100", parameter="--draws")
        )
    sc = load_scenario(args.path, scenario=args.scenario)
    res = goal_seek(
        sc,
        args.vary,
        args.target,
        shift=args.shift,
        draws=args.draws,
        seed=args.seed,
        scheduler=args.scheduler,
    )
    if args.json:
        print_json(res.to_json_dict())
        return 0
    print(goal_seek_text(res))
    return 0


def _how(res: GoalSeekResult) -> str:
    if res.form == "series":
        if res.mode == "shift":
            return "every year's distribution multiplied by a factor"
        return "the path fixed at its median in every year, multiplied by a factor"
    if res.mode == "shift":
        return "its distribution multiplied by a factor"
    return "fixed at the value in every draw"


def _achieved(res: GoalSeekResult) -> str:
    a = res.achieved
    if res.target.statistic == "probability":
        return format_probability(a["value"], a["mcse"], res.draws)
    return _estimate(a["value"], a["mcse"], res.target.unit)


def _estimate(x: float, error: float, unit: str) -> str:
    """``x ± error``; each in its own scale when the error dwarfs ``x`` (a mean hitting 0)."""
    if math.isfinite(error) and abs(x) < error:
        return f"{format_value(x, unit)} ± {format_value(error, unit)}"
    return format_estimate(x, error, unit)


def goal_seek_text(res: GoalSeekResult) -> str:
    """The human answer: the value with its uncertainty, the statistic achieved, the cost."""
    low, high = res.uncertainty
    half = (high - low) / 2 if low is not None and high is not None else math.nan
    value = _estimate(res.value, half, res.unit)
    if res.mode == "shift" or res.form == "series":
        value = "x" + value
    t = res.target
    target = (
        format_probability(t.value, 0.0).split(" ±")[0]
        if t.statistic == "probability"
        else format_value(t.value, t.unit)
    )
    lines = [
        f"Goal seek on {res.scenario}: {res.vary} ({res.form}; {_how(res)})",
        f"  target       {t.name} = {target}",
        f"  value        {value}",
        f"  uncertainty  {res.value_text(low)} to {res.value_text(high)} (where {t.name} is "
        "the target ± its Monte Carlo standard error)",
    ]
    if res.path:
        lines.append(f"  median path  {res.path_text()}")
    lines += [
        f"  achieved     {t.name} = {_achieved(res)}",
        f"  evaluations  {res.evaluations} simulations of {res.draws:,} draws, seed {res.seed} "
        "(common random numbers)",
    ]
    lines += [f"  note: {n}" for n in res.notes]
    return "\n".join(lines)
