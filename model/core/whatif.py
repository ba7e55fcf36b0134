"""What-ifs in code: a scenario with some inputs replaced (:meth:`Scenario.with_values`), and
the notebook view of a scenario (its inputs with their provenance, as an HTML table).

A what-if value is a number (in the parameter's canonical unit: shares and rates as decimals,
money in USD) or a :class:`~model.core.distributions.Distribution`; like every number in capex
it carries its provenance: ``reason=`` becomes its hypothetical rationale, and a what-if without
one raises :class:`~model.core.errors.AssumptionError`. Switches (``refresh_it=True``) are
choices and need no reason.
"""

from __future__ import annotations

import hashlib
import html
import json
from dataclasses import replace

from .distributions import Distribution, fixed
from .errors import AssumptionError, Problem, did_you_mean
from .provenance import Provenance


def with_values(scenario, reason: str | None = None, **changes):
    """A copy of ``scenario`` with the inputs in ``changes`` replaced (see the module
    docstring); its ``input_hash`` says what changed. Correlations of an input that is now
    fixed are dropped."""
    params = dict(scenario.parameters)
    problems = []
    where = f"{scenario.path}"
    for name, value in changes.items():
        old = params.get(name)
        if old is None:
            close = did_you_mean(name, list(params))
            hint = f"did you mean {close!r}?" if close else "name one of the scenario's inputs"
            problems.append(Problem(f"unknown input; {hint}", where, None, name))
            continue
        if old.form == "switch":
            params[name] = replace(old, value=value)
            continue
        if not (isinstance(reason, str) and reason.strip()):
            problems.append(
                Problem(
                    "a what-if number needs its rationale, like every number in capex; call "
                    "with_values(..., reason='why this value')",
                    where,
                    None,
                    name,
                )
            )
            continue
        dist = value if isinstance(value, Distribution) else _fixed(value, old, where, problems)
        if dist is None:
            continue
        params[name] = replace(
            old,
            form=type(old.form)("scalar"),
            dist=dist,
            points=(),
            calibrated=None,
            provenance=Provenance(hypothetical=f"what-if: {reason.strip()}"),
            unit=old.spec.unit,
            file="<with_values>",
            line=None,
        )
    if problems:
        raise AssumptionError(problems)
    return replace(
        scenario,
        parameters=params,
        correlations=[
            c
            for c in scenario.correlations
            if params[c.a].is_uncertain and params[c.b].is_uncertain
        ],
        input_hash=_hash(scenario.input_hash, changes, reason),
        overlay=scenario.overlay,
    )


def _fixed(value, old, where: str, problems: list) -> Distribution | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        problems.append(
            Problem(
                f"{value!r} is not a number or a Distribution; give a number in "
                f"{old.spec.unit} or a distribution",
                where,
                None,
                old.name,
            )
        )
        return None
    spec = old.spec
    if not (spec.low <= v <= spec.high):
        problems.append(
            Problem(
                f"{v:g} is outside the valid range {spec.bounds_text()} [{spec.unit}]; "
                "give a value in canonical units (shares and rates as decimals: 8 % is 0.08)",
                where,
                None,
                old.name,
            )
        )
        return None
    return fixed(v)


def _hash(previous: str, changes: dict, reason: str | None) -> str:
    text = json.dumps(
        {k: repr(v) for k, v in sorted(changes.items())} | {"reason": reason}, sort_keys=True
    )
    return hashlib.sha256(f"{previous}|{text}".encode()).hexdigest()


def scenario_html(scenario) -> str:
    """An HTML table of the scenario's inputs: value or distribution, unit and provenance."""
    rows = []
    for p in scenario.parameters.values():
        if p.default:
            continue
        prov = p.provenance.text() if p.provenance is not None else "switch"
        rows.append(
            "<tr>"
            + "".join(
                f"<td style='text-align:left'>{html.escape(str(c))}</td>"
                for c in (p.name, p.describe(), p.spec.unit, _short(prov))
            )
            + "</tr>"
        )
    c = scenario.provenance_counts()
    head = (
        f"<p><b>{html.escape(scenario.title)}</b> ({html.escape(scenario.label)}): "
        f"{html.escape(str(scenario.model))} model, {scenario.start}-{scenario.end}; "
        f"{c['parameters']} numeric inputs, {c['sourced']} sourced, "
        f"{c['hypothetical']} hypothetical; input hash {scenario.input_hash[:12]}</p>"
    )
    table = (
        "<table><thead><tr><th>input</th><th>value</th><th>unit</th><th>provenance</th></tr>"
        f"</thead><tbody>{''.join(rows)}</tbody></table>"
    )
    return head + table


def _short(text: str, n: int = 160) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
