"""``capex voi PATH``: the value of information (EVPI, EVPPI of each input and group) of the
decision "invest if the expected NPV is above 0", or "choose the best of the file's overlays"."""

from __future__ import annotations

from ...analysis.voi import VOIResult, voi
from ...core.formatting import format_mean, format_value
from ...loading.paths import default_paths
from ..jsonout import print_json


def cmd_voi(args) -> int:
    path = default_paths([args.path] if args.path else None)[0]
    res = voi(
        path,
        output=args.output,
        decision=args.decision,
        scenario=args.scenario,
        draws=args.draws,
        seed=args.seed,
        design=args.design,
        resamples=args.resamples,
        progress=not args.quiet and not args.json,
        scheduler=args.scheduler,
    )
    if args.json:
        print_json(res.to_json_dict())
        return 0
    print(voi_text(res))
    return 0


def _pm(d: dict, unit: str) -> str:
    """``value ± se`` (``± n/a`` without resamples)."""
    return format_mean(d["value"], d["se"], unit)


def voi_text(res: VOIResult) -> str:
    """The human summary: the decision, EVPI ± se, EVPPI per input (largest first), groups."""
    u = res.unit
    if res.decision == "invest":
        rule = f"invest (act) if the expected {res.output} is above 0"
    else:
        rule = f"choose the option of largest expected {res.output}: {', '.join(res.options)}"
    expected = ", ".join(f"{k} {format_value(v, u)}" for k, v in res.expected.items())
    lines = [
        f"{res.scenario}: value of information for the decision '{rule}'",
        f"{res.draws:,} draws, seed {res.seed}; expected {expected}; chosen now: {res.best_option}",
        "",
        f"EVPI (learn every input first): {_pm(res.evpi, u)}",
        "",
        "EVPPI (learn one input first), largest first; ± is the bootstrap standard error:",
    ]
    width = max([len(r["input"]) for r in res.evppi] + [5])
    for r in res.evppi:
        lines.append(
            f"  {r['input']:<{width}}  {_pm(r, u):>24}  {r['category']}, {r['provenance']}"
        )
    lines += ["", "groups (additive regression on the group's inputs):"]
    width = max([len(g["group"]) for g in res.groups] + [5])
    for g in res.groups:
        lines.append(f"  {g['group']:<{width}}  {_pm(g, u):>24}  ({len(g['inputs'])} inputs)")
    lines += [
        "",
        "EVPPI: E[max over options of E[output | input]] - max of E[output], estimated by a "
        "regression spline on the input's ranks (Strong, Oakley & Brennan 2014); "
        "docs/decisions.md#value-of-information.",
        *res.notes,
    ]
    return "\n".join(lines)
