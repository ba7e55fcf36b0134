"""Reading ``process:`` parameters (AR(1), GBM) and ``shock:`` blocks of series parameters
(:mod:`model.core.processes`), with the same rules as every number: a unit, a provenance, and
located errors for what is wrong.

``mean`` and ``start`` are in the parameter's unit (scaled like any value); ``sigma`` is on the
process's scale (in the unit for ``linear``, dimensionless for ``log`` and ``logit``); ``phi``,
``drift`` [1/year] and ``volatility`` are plain numbers; each may be a distribution.
"""

from __future__ import annotations

import numpy as np

from ..core.distributions import Distribution, fixed
from ..core.errors import did_you_mean
from ..core.processes import PROCESS_PARAMETERS, SCALES, Process, Shock
from ..core.provenance import LOCATOR_KEYS
from ..core.scenario import InputForm, Parameter
from ..core.units import parse_amount

#: Keys a process mapping may hold besides the parameter's own (unit, provenance, locators).
PROCESS_KEYS = ("process", "scale", "mean", "phi", "sigma", "start", "drift", "volatility", "shock")
#: Keys of a ``shock:`` mapping.
SHOCK_KEYS = ("probability", "size")
#: Keys any process mapping may hold besides its kind's own parameters.
_COMMON_KEYS = (
    "process",
    "shock",
    "unit",
    "source",
    "hypothetical",
    "currency_year",
    "description",
)
#: Keys refused with a message of their own in :func:`read_process`.
_NOT_A_PROCESS = ("values", "dist", "value", "calibrated")
#: Largest |drift| of a GBM [1/year]: e^1 = 2.7 times a year in expectation, e^30 ~ 1e13 over
#: a 30-year horizon; more is not a price or a cost but an overflow.
MAX_DRIFT = 1.0
#: Largest GBM volatility [1/sqrt(year)]: 200 % a year already spreads a path over a factor of
#: e^(2 * 2 * sqrt(30)) ~ 1e9 in 30 years (two sd).
MAX_VOLATILITY = 2.0
_TAILS = np.array([1e-12, 1.0 - 1e-12])


def read_process(ctx, spec, raw: dict, factor: float, where, common: dict, read_distribution):
    """A ``process:`` parameter, or None (problems reported through ``ctx``).

    ``read_distribution(ctx, raw, factor, where, name)`` reads a sub-value given as a mapping
    (the loader's own reader, passed in to keep one parser of distributions)."""
    kind = raw.get("process")
    if not isinstance(kind, str) or kind not in PROCESS_PARAMETERS:
        close = did_you_mean(str(kind), PROCESS_PARAMETERS) if isinstance(kind, str) else None
        hint = f"did you mean {close!r}?" if close else f"use {' or '.join(PROCESS_PARAMETERS)}"
        ctx.bad(f"unknown process {kind!r}; {hint}", where.file, where.of("process"), where.name)
        return None
    if spec.kind != "series":
        ctx.bad(
            f"{where.name} is a single number ({spec.kind}), not a series, so it cannot be a "
            "process; give it a value or a distribution",
            where.file,
            where.of("process"),
            where.name,
        )
        return None
    for k in _NOT_A_PROCESS:
        if k in raw:
            ctx.bad(f"a process takes no '{k}:'; remove it", where.file, where.of(k), where.name)
    _check_process_keys(ctx, kind, raw, where)
    scale = raw.get("scale", "linear")
    if scale not in SCALES or (kind == "gbm" and "scale" in raw):
        ctx.bad(
            f"scale {scale!r}: AR(1) takes one of {', '.join(SCALES)}; GBM is on the log "
            "scale already (remove 'scale:')",
            where.file,
            where.of("scale"),
            where.name,
        )
        return None
    params = _process_params(ctx, kind, scale, raw, factor, where, read_distribution)
    if params is None:
        return None
    process = Process(kind, params, scale)
    if not _process_ok(ctx, process, spec, where):
        return None
    return Parameter(where.name, spec, InputForm.PROCESS, process=process, **common)


def _check_process_keys(ctx, kind: str, raw: dict, where) -> None:
    """Keys a process of this kind does not use (another kind's, a series' or a distribution's),
    each with a did-you-mean among the keys it does use."""
    own = PROCESS_PARAMETERS[kind] + (("scale",) if kind == "ar1" else ())
    allowed = set(own) | set(_COMMON_KEYS) | set(LOCATOR_KEYS) | set(_NOT_A_PROCESS)
    for k in raw:
        if str(k) in allowed or (kind == "gbm" and k == "scale"):  # GBM scale: own message
            continue
        other = [o for o, keys in PROCESS_PARAMETERS.items() if o != kind and k in keys]
        close = did_you_mean(str(k), own)
        if other:
            why = f"is a parameter of the {other[0]} process, not of {kind}"
        else:
            why = f"is not used by the {kind} process"
        hint = f"did you mean {close!r}?" if close else f"remove it ({kind} takes {', '.join(own)})"
        ctx.bad(f"'{k}:' {why}; {hint}", where.file, where.of(str(k)), where.name)


def _process_params(ctx, kind, scale, raw, factor, where, read_distribution) -> dict | None:
    params, ok = {}, True
    for key in PROCESS_PARAMETERS[kind]:
        value = raw.get(key)
        if value is None or (key == "start" and kind == "ar1" and value == "stationary"):
            if key == "start" and kind == "ar1":
                continue  # stationary start
            ctx.bad(
                f"a {kind} process needs '{key}:'; add it (a number or a distribution)",
                where.file,
                where.line,
                where.name,
            )
            ok = False
            continue
        scaled = key in ("mean", "start") or (key == "sigma" and scale == "linear")
        d = _sub_value(ctx, value, factor if scaled else 1.0, where, key, read_distribution)
        ok = ok and d is not None
        if d is not None:
            params[key] = d
    return params if ok else None


def _sub_value(ctx, value, factor, where, key, read_distribution) -> Distribution | None:
    name = f"{where.name}.{key}"
    line = where.of(key)
    if isinstance(value, dict):
        return read_distribution(ctx, value, factor, type(where)(where.file, line, {}, name), name)
    try:
        return fixed(parse_amount(value) * factor)
    except (ValueError, TypeError) as e:
        ctx.bad(f"{key}: {e}", where.file, line, where.name)
        return None


def _range(d: Distribution) -> tuple[float, float]:
    """The distribution's 1e-12 and 1 - 1e-12 quantiles (its whole support, in practice)."""
    if d.is_fixed:
        return d.mean(), d.mean()
    lo, hi = np.asarray(d.ppf(_TAILS), dtype=float)
    return float(lo), float(hi)


def _bound_checks(process: Process) -> list[tuple[str, bool, str]]:
    """``(key, good, what)`` for phi (stationary or not explosive), GBM drift and volatility
    (bounded so that a path does not overflow over the horizon)."""
    p, checks = process.params, []
    if "phi" in p:
        lo, hi = _range(p["phi"])
        if process.stationary:
            checks.append(("phi", lo > -1 and hi < 1, "must lie in (-1, 1) for a stationary start"))
        else:
            explosive = "must lie in [-1, 1] (|phi| > 1 is explosive: a path grows without bound)"
            checks.append(("phi", lo >= -1 and hi <= 1, explosive))
    if "drift" in p:
        lo, hi = _range(p["drift"])
        what = (
            f"must lie in [-{MAX_DRIFT:g}, {MAX_DRIFT:g}] per year (a drift of 1 multiplies the "
            "expected value by e = 2.7 a year; more overflows over a horizon)"
        )
        checks.append(("drift", max(-lo, hi) <= MAX_DRIFT, what))
    if "volatility" in p:
        what = f"must be at most {MAX_VOLATILITY:g} per sqrt(year) (200 % a year; more overflows)"
        checks.append(("volatility", _range(p["volatility"])[1] <= MAX_VOLATILITY, what))
    return checks


def _process_ok(ctx, process: Process, spec, where) -> bool:
    """Ranges the process needs: |phi| < 1 for a stationary start, sigma and volatility >= 0,
    values > 0 on the log scale and in (0, 1) on the logit scale (GBM: start > 0)."""
    p = process.params
    checks = _bound_checks(process)
    for key in ("sigma", "volatility"):
        if key in p:
            checks.append((key, _range(p[key])[0] >= 0, "must not be negative"))
    positive = process.kind == "gbm" or process.scale == "log"
    for key in ("mean", "start"):
        if key in p and positive:
            checks.append((key, _range(p[key])[0] > 0, "must be positive on the log scale"))
        if key in p and process.scale == "logit":
            lo, hi = _range(p[key])
            checks.append((key, lo > 0 and hi < 1, "must lie in (0, 1) on the logit scale"))
    ok = True
    for key, good, what in checks:
        if not good:
            ctx.bad(
                f"{key} {what}; change its value or distribution",
                where.file,
                where.of(key),
                where.name,
            )
            ok = False
    return ok


def read_shock(ctx, raw, where, read_distribution) -> Shock | None:
    """``shock: {probability, size}`` (each a share, a number or a distribution)."""
    line = where.of("shock")
    if not isinstance(raw, dict):
        ctx.bad(
            "shock is a mapping; write shock: {probability: 0.1, size: 0.5}",
            where.file,
            line,
            where.name,
        )
        return None
    for k in raw:
        if k not in SHOCK_KEYS:
            close = did_you_mean(str(k), SHOCK_KEYS)
            hint = f"did you mean {close!r}?" if close else "use probability and size"
            ctx.bad(f"unknown shock field {k!r}; {hint}", where.file, line, where.name)
    sub = type(where)(where.file, line, getattr(raw, "lines", {}), where.name)
    parts = {}
    for key in SHOCK_KEYS:
        if key not in raw:
            ctx.bad(
                f"shock needs '{key}:' (a share); add it, e.g. {key}: 0.1",
                where.file,
                line,
                where.name,
            )
            return None
        d = _sub_value(ctx, raw[key], 1.0, sub, key, read_distribution)
        if d is None:
            return None
        lo, hi = _range(d)
        if not (lo >= 0 and hi <= 1):
            ctx.bad(
                f"shock {key} is a share in [0, 1]; write e.g. 0.1", where.file, line, where.name
            )
            return None
        parts[key] = d
    return Shock(parts["probability"], parts["size"])
