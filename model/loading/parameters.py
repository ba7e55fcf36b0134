"""One parameter of an assumption file, read into a :class:`~model.core.scenario.Parameter`.

:func:`read_parameter` checks what is common to every numeric parameter (a mapping, known keys,
provenance, a unit of the right dimension, a currency year) and hands the rest to one reader
per input form: :func:`read_switch`, :func:`read_scalar`, :func:`read_series` (schedules
included) and :func:`read_calibrated`. Every problem goes into the shared :class:`Context` with
its file, line and parameter, so a file with several mistakes is reported at once.

Series rules
------------
A series is ``values: {year: value}`` where each value is a number or a distribution mapping.
Between given years values are interpolated linearly (``interpolation: step`` holds the last
given value instead); before the first and after the last given year the nearest given value
is held. ``capex_schedule`` is not interpolated: years not listed are 0 and the shares must sum
to 1. Uncertain points of one series share one uniform draw (``years_move: together``, the
default: a high path is high in every year) unless ``years_move: independent``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.distributions import (
    FAMILIES,
    Distribution,
    DistSpecError,
    fixed,
    is_quantile_key,
    make_distribution,
)
from ..core.errors import AssumptionError, Problem, did_you_mean
from ..core.provenance import LOCATOR_KEYS, Provenance, Source
from ..core.scenario import InputForm, Parameter
from ..core.units import UnknownUnit, parse_amount, parse_unit
from ..core.vocabulary import CALIBRATION_MODELS, ParamSpec
from .empirical import empirical_provenance, empirical_values, is_empirical
from .files import CSV_SUFFIXES, YAML_SUFFIXES, check_input_path
from .processes import read_process, read_shock
from .sources import parse_source, row_sources

#: Keys a parameter mapping may hold (besides quantiles such as ``p05``).
PARAM_KEYS = frozenset(
    {
        "value",
        "values",
        "dist",
        "unit",
        "source",
        "hypothetical",
        "years_move",
        "interpolation",
        "currency_year",
        "calibrated",
        "min",
        "max",
        "description",
        *LOCATOR_KEYS,
        # distribution natural parameters
        "mean",
        "sd",
        "median",
        "sigma",
        "low",
        "high",
        "mode",
        "lambda",
        "alpha",
        "beta",
        "probs",
        # gamma, student_t, metalog, mixture, empirical ("scale" is listed below)
        "shape",
        "location",
        "df",
        "lower",
        "upper",
        "weights",
        "components",
        "data",
        "column",
        "kde",
        # processes and shocks (model.loading.processes)
        "process",
        "scale",
        "phi",
        "start",
        "drift",
        "volatility",
        "shock",
    }
)
#: Keys that describe a parameter rather than its distribution.
META_KEYS = frozenset(
    {
        "unit",
        "source",
        "hypothetical",
        "years_move",
        "interpolation",
        "currency_year",
        "description",
        "calibrated",
        "shock",
        *LOCATOR_KEYS,
    }
)
SWITCH_KEYS = ("value", "note", "description")
CALIBRATED_KEYS = (
    "observations",
    "model",
    "draws",
    "tune",
    "chains",
    "target_accept",
    "use_projections",
    "priors",
    "seed",
)


@dataclass
class Context:
    """What the parameters of one file share while they are read."""

    sources: dict[str, Source]
    currency: str
    currency_year: int | None
    inflation: dict[int, float] | None
    start: int
    end: int
    #: bibliography keys whose entries were malformed (reported already)
    broken_sources: set[str] = field(default_factory=set)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    def bad(self, message: str, file, line, parameter) -> None:
        """Record a problem."""
        self.problems.append(Problem(message, file, line, parameter))


@dataclass(frozen=True)
class Where:
    """Where a parameter's mapping is: its file, its line, the lines of its keys."""

    file: str | None
    line: int | None
    lines: dict
    name: str

    def of(self, key: str) -> int | None:
        """The line of ``key`` (the parameter's own line when the key has none)."""
        return self.lines.get(key, self.line)


# ============================================================================ entry point
def read_parameter(ctx: Context, spec: ParamSpec, raw, file, line) -> Parameter | None:
    """Read one parameter; None (with the problems in ``ctx``) when it is invalid."""
    where = Where(file, line, getattr(raw, "lines", {}), spec.name)
    if spec.is_switch:
        return read_switch(ctx, spec, raw, where)
    if not isinstance(raw, dict):
        example = (
            "{values: {2025: 0.4, 2026: 0.6}, unit: share, hypothetical: why}"
            if spec.kind == "schedule"
            else "{value: 50B, unit: USD, source: key}"
        )
        ctx.bad(
            f"a number needs a unit and a source or hypothetical rationale; write it as a "
            f"mapping, e.g. {spec.name}: {example}",
            file,
            line,
            spec.name,
        )
        return None
    n_before = len(ctx.problems)
    check_keys(ctx, raw, where)
    provenance = read_provenance(ctx, raw, where)
    factor, unit = read_unit(ctx, spec, raw, where)
    factor *= currency_year_factor(ctx, spec, raw, where)
    common = dict(provenance=provenance, unit=str(unit), file=file, line=line)
    if raw.get("process") is not None:
        param = read_process(ctx, spec, raw, factor, where, common, read_distribution)
    elif raw.get("calibrated") is not None:
        param = read_calibrated(ctx, spec, raw, provenance, where)
    else:
        form = numeric_form(ctx, spec, raw, where)
        if form is None:
            return None
        common = dict(provenance=provenance, unit=str(unit), file=file, line=line)
        reader = read_scalar if form is InputForm.SCALAR else read_series
        param = reader(ctx, spec, raw, factor, where, common)
    if param is not None and raw.get("shock") is not None:
        param = with_shock(ctx, param, raw, where)
    return param if len(ctx.problems) == n_before else None


def with_shock(ctx: Context, param: Parameter, raw: dict, where: Where) -> Parameter | None:
    """The parameter with its ``shock:`` (series and process forms only)."""
    if param.form not in (InputForm.SERIES, InputForm.PROCESS) and param.spec.kind != "series":
        ctx.bad(
            "a shock strikes a series; give this parameter 'values:' by year or a process",
            where.file,
            where.of("shock"),
            where.name,
        )
        return None
    shock = read_shock(ctx, raw["shock"], where, read_distribution)
    return dataclasses.replace(param, shock=shock) if shock is not None else None


def check_keys(ctx: Context, raw: dict, where: Where) -> None:
    """Unknown keys of a parameter mapping, each with a did-you-mean."""
    for k in raw:
        if k not in PARAM_KEYS and not is_quantile_key(str(k)):
            close = did_you_mean(str(k), sorted(PARAM_KEYS))
            hint = f"did you mean {close!r}?" if close else "remove it"
            ctx.bad(f"unknown field {k!r}; {hint}", where.file, where.of(k), where.name)
    description = raw.get("description")
    if isinstance(description, (dict, list, tuple, set)):
        ctx.bad(
            'description is not text; write it as one string: description: "..."',
            where.file,
            where.of("description"),
            where.name,
        )


# ============================================================================ switches
def read_switch(ctx: Context, spec: ParamSpec, raw, where: Where) -> Parameter | None:
    """A model switch: ``true``/``false`` or one of the spec's choices (no provenance)."""
    value = raw
    if isinstance(raw, dict):
        value = raw.get("value")
        for k in [k for k in raw if k not in SWITCH_KEYS]:
            close = did_you_mean(str(k), SWITCH_KEYS)
            hint = f"did you mean {close!r}? or" if close else "remove it, or"
            ctx.bad(
                f"unknown field {k!r} for a switch; {hint} write '{spec.name}: <value>'",
                where.file,
                where.of(k),
                spec.name,
            )
    if spec.kind == "bool" and not isinstance(value, bool):
        ctx.bad(
            f"{value!r} is not true/false; write '{spec.name}: true' or false",
            where.file,
            where.line,
            spec.name,
        )
        return None
    if spec.kind == "enum" and (isinstance(value, (dict, list)) or value not in spec.choices):
        close = did_you_mean(str(value), spec.choices)
        hint = f"did you mean {close!r}?" if close else f"use one of {', '.join(spec.choices)}"
        ctx.bad(f"{value!r} is not a valid choice; {hint}", where.file, where.line, spec.name)
        return None
    return Parameter(
        spec.name, spec, InputForm.SWITCH, value=value, file=where.file, line=where.line
    )


# ============================================================================ common parts
def read_provenance(ctx: Context, raw: dict, where: Where) -> Provenance | None:
    """Exactly one of ``source:`` (keys of the bibliography or inline sources) and
    ``hypothetical:`` (a rationale); a calibrated series may have neither (its observations
    carry the sources)."""
    has_src, has_hyp = "source" in raw, "hypothetical" in raw
    if "calibrated" in raw and not has_src and not has_hyp:
        return Provenance(hypothetical=None, sources=())
    if is_empirical(raw) and not has_src and not has_hyp:
        return empirical_provenance(ctx, raw, where)  # sourced by the rows it resamples
    if has_src and has_hyp:
        ctx.bad(
            "has both 'source' and 'hypothetical'; keep exactly one (cite it, or say why it "
            "is a hypothesis)",
            where.file,
            where.of("hypothetical"),
            where.name,
        )
        return None
    if not has_src and not has_hyp:
        ctx.bad(
            "has neither 'source' nor 'hypothetical'; cite a source (a key of 'sources:') "
            "or add 'hypothetical: <why this value>'",
            where.file,
            where.line,
            where.name,
        )
        return None
    locators = tuple((k, str(raw[k])) for k in LOCATOR_KEYS if raw.get(k) is not None)
    if has_hyp:
        why = raw["hypothetical"]
        if not isinstance(why, str) or not why.strip():
            ctx.bad(
                "'hypothetical' is empty; write the rationale: why this value is plausible",
                where.file,
                where.of("hypothetical"),
                where.name,
            )
            return None
        return Provenance(hypothetical=why.strip(), locators=locators)
    found = cited_sources(ctx, raw["source"], where)
    return None if found is None else Provenance(sources=tuple(found), locators=locators)


def cited_sources(ctx: Context, src, where: Where) -> list[Source] | None:
    """The sources a ``source:`` entry names: a key, a list of keys, or inline mappings."""
    items = src if isinstance(src, list) else [src]
    if not items:
        ctx.bad(
            "'source' is an empty list; name at least one source",
            where.file,
            where.of("source"),
            where.name,
        )
        return None
    found: list[Source] = []
    for item in items:
        if isinstance(item, dict):
            s, probs = parse_source(
                f"inline:{where.name}",
                item,
                where.file,
                where.of("source"),
                getattr(item, "lines", {}),
                parameter=where.name,
            )
            ctx.problems.extend(probs)
            if s is not None:
                found.append(s)
        elif isinstance(item, str) and item in ctx.sources:
            found.append(ctx.sources[item])
        elif isinstance(item, str) and item in ctx.broken_sources:
            continue  # the source entry itself was reported
        else:
            close = did_you_mean(str(item), list(ctx.sources))
            hint = (
                f"did you mean {close!r}?"
                if close
                else "add it under 'sources:' or write the source inline"
            )
            ctx.bad(
                f"source {item!r} is not in the bibliography; {hint}",
                where.file,
                where.of("source"),
                where.name,
            )
    return found if len(found) == len(items) else None


def read_unit(ctx: Context, spec: ParamSpec, raw: dict, where: Where) -> tuple[float, str]:
    """The factor that converts the written unit to the canonical one, and the written unit."""
    unit = raw.get("unit")
    if unit is None and raw.get("calibrated") is not None:
        unit = spec.unit
    if unit is None:
        ctx.bad(f"unit missing; add 'unit: {spec.unit}'", where.file, where.line, where.name)
        return 1.0, ""
    try:
        dim, factor = parse_unit(str(unit), ctx.currency)
    except UnknownUnit as e:
        ctx.bad(str(e), where.file, where.of("unit"), where.name)
        return 1.0, str(unit)
    if dim not in spec.dimensions:
        ctx.bad(
            f"unit {unit!r} converts to {dim}, but {where.name} is in "
            f"{' or '.join(spec.dimensions)}; write it in {spec.unit} (or a scaled form)",
            where.file,
            where.of("unit"),
            where.name,
        )
        return 1.0, str(unit)
    return factor, str(unit)


def currency_year_factor(ctx: Context, spec: ParamSpec, raw: dict, where: Where) -> float:
    """Factor converting money of the parameter's ``currency_year`` into the scenario's."""
    cy = raw.get("currency_year")
    if cy is None:
        return 1.0
    line = where.of("currency_year")
    if not spec.unit.startswith("USD"):
        ctx.bad(
            "currency_year applies only to money parameters; remove it",
            where.file,
            line,
            where.name,
        )
    elif not isinstance(cy, int) or isinstance(cy, bool):
        ctx.bad("currency_year is not a year; write one such as 2023", where.file, line, where.name)
    elif ctx.currency_year is not None and cy != ctx.currency_year:
        conv = inflation_factor(ctx.inflation, cy, ctx.currency_year)
        if conv is not None:
            return conv
        ctx.bad(
            f"value is in {cy} money but the scenario is in {ctx.currency_year} money, and "
            "no inflation rate covers the years between; add an 'inflation:' series with a "
            "source",
            where.file,
            line,
            where.name,
        )
    return 1.0


def inflation_factor(inflation: dict | None, from_year: int, to_year: int) -> float | None:
    """Price level of ``to_year`` over ``from_year`` from yearly rates (None if a rate is
    missing)."""
    if inflation is None:
        return None
    lo, hi = sorted((from_year, to_year))
    factor = 1.0
    for y in range(lo + 1, hi + 1):
        if y not in inflation:
            return None
        factor *= 1.0 + inflation[y]
    return factor if to_year >= from_year else 1.0 / factor


def numeric_form(ctx: Context, spec: ParamSpec, raw: dict, where: Where) -> InputForm | None:
    """Scalar or series, from the keys given and the spec's kind (None: reported)."""
    has_values = "values" in raw and "dist" not in raw  # discrete has its own 'values'
    has_scalar = "value" in raw or "dist" in raw
    if has_values and has_scalar:
        ctx.bad(
            "has both 'values:' (a series) and 'value:'/'dist:'; keep one",
            where.file,
            where.line,
            where.name,
        )
    elif spec.kind == "schedule" and not has_values:
        ctx.bad(
            "is a yearly schedule; write 'values: {2025: 0.4, 2026: 0.6}'",
            where.file,
            where.line,
            where.name,
        )
    elif spec.kind == "scalar" and has_values:
        ctx.bad(
            "is a single number, not a series; give 'value:' or a distribution ('dist:')",
            where.file,
            where.of("values"),
            where.name,
        )
    elif not has_values and not has_scalar:
        dist_keys = [k for k in raw if k not in META_KEYS and k != "values"]
        what = (
            ("distribution parameters without 'dist:'; add the family, e.g. 'dist: lognormal'")
            if dist_keys
            else "no value; add 'value: ...' or a distribution ('dist: ...')"
        )
        ctx.bad(what, where.file, where.line, where.name)
    else:
        return InputForm.SERIES if has_values else InputForm.SCALAR
    return None


# ============================================================================ values
def read_distribution(
    ctx: Context, raw: dict, factor: float, where: Where, name: str
) -> Distribution | None:
    """A number or a distribution mapping, in canonical units (``factor`` applied)."""
    spec = {k: v for k, v in raw.items() if k not in META_KEYS}
    lines = getattr(raw, "lines", {})
    if "dist" not in spec:
        if set(spec) - {"value"}:
            ctx.bad(
                f"distribution parameters without 'dist:'; add the family (one of "
                f"{', '.join(FAMILIES)})",
                where.file,
                where.line,
                name,
            )
            return None
        if "value" not in spec:
            ctx.bad("no value; add 'value: ...' or a distribution", where.file, where.line, name)
            return None
        spec = {"dist": "fixed", "value": spec["value"]}
    values = empirical_values(ctx, raw, where, name) if is_empirical(spec) else None
    if is_empirical(spec) and values is None:
        return None
    try:
        return make_distribution(spec, scale=factor, values=values)
    except DistSpecError as e:
        ctx.bad(str(e), where.file, lines.get(e.key, where.line) if e.key else where.line, name)
    except (TypeError, ValueError, ArithmeticError) as e:
        ctx.bad(
            f"distribution cannot be built ({e}); check its numbers", where.file, where.line, name
        )
    return None


def check_bounds(ctx: Context, spec: ParamSpec, dist: Distribution, file, line, name) -> None:
    """The whole distribution must lie in the parameter's valid range."""
    if dist.is_fixed:
        x = dist.mean()
        if not spec.in_bounds(x):
            ctx.bad(
                f"value {x:g} is outside the valid range {spec.bounds_text()} [{spec.unit}]; "
                "correct it (shares and rates are decimals: 8 % is 0.08)",
                file,
                line,
                name,
            )
        return
    with np.errstate(all="ignore"):
        lo, hi = dist.ppf(np.array([1e-12, 1 - 1e-12]))
    if not (spec.in_bounds(lo) and spec.in_bounds(hi)):
        ctx.bad(
            f"the {dist.family} distribution reaches [{lo:.4g}, {hi:.4g}], outside the "
            f"valid range {spec.bounds_text()} [{spec.unit}]; add min/max truncation or "
            "choose a bounded family (beta, pert, triangular, uniform)",
            file,
            line,
            name,
        )


def check_plausible(ctx: Context, spec: ParamSpec, dist: Distribution, file, line, name) -> None:
    """Warn when the central 90 % of a value's distribution leaves its plausible range."""
    if spec.plausible is None:
        return
    lo, hi = spec.plausible
    with np.errstate(all="ignore"):
        q05, q95 = (dist.mean(), dist.mean()) if dist.is_fixed else dist.ppf(np.array([0.05, 0.95]))
    if q05 >= lo and q95 <= hi:
        return
    what = f"value {q05:g}" if dist.is_fixed else f"its 90 % range [{q05:.4g}, {q95:.4g}]"
    ctx.warnings.append(
        Problem(
            f"{what} lies outside the plausible range {lo:g}-{hi:g} [{spec.unit}] for "
            f"{spec.name}; check the number and its unit (shares and rates are decimals: 8 % is "
            "0.08), or say in the source's quote or the rationale why it is right",
            file,
            line,
            name,
        )
    )


def read_scalar(
    ctx: Context, spec: ParamSpec, raw: dict, factor: float, where: Where, common: dict
) -> Parameter | None:
    """One number or one distribution."""
    dist = read_distribution(ctx, raw, factor, where, where.name)
    if dist is None:
        return None
    line = where.of("value") if "value" in raw else where.line
    check_bounds(ctx, spec, dist, where.file, line, where.name)
    check_plausible(ctx, spec, dist, where.file, line, where.name)
    return Parameter(where.name, spec, InputForm.SCALAR, dist=dist, **common)


def series_year(ctx: Context, key, line, where: Where) -> int | None:
    """A series key as a year inside the horizon (None: reported)."""
    try:
        if isinstance(key, bool) or (isinstance(key, float) and not float(key).is_integer()):
            raise ValueError
        y = int(key)
    except (TypeError, ValueError):
        ctx.bad(
            f"series key {key!r} is not a year; write years such as 2025",
            where.file,
            line,
            where.name,
        )
        return None
    if not ctx.start <= y <= ctx.end:
        ctx.bad(
            f"series year {y} is outside years {ctx.start}-{ctx.end}; drop it or widen 'years:'",
            where.file,
            line,
            where.name,
        )
        return None
    return y


def series_point(
    ctx: Context, spec: ParamSpec, value, factor: float, line, where: Where, year: int
) -> Distribution | None:
    """One point of a series: a number or a distribution mapping, checked against bounds."""
    name = f"{where.name}[{year}]"
    if isinstance(value, dict):
        d = read_distribution(ctx, value, factor, Where(where.file, line, {}, name), name)
    else:
        try:
            d = fixed(parse_amount(value) * factor)
        except ValueError as e:
            ctx.bad(f"{e}", where.file, line, name)
            d = None
    if d is not None:
        check_bounds(ctx, spec, d, where.file, line, name)
        check_plausible(ctx, spec, d, where.file, line, name)
    return d


def read_series(
    ctx: Context, spec: ParamSpec, raw: dict, factor: float, where: Where, common: dict
) -> Parameter | None:
    """``values: {year: value}`` (a schedule too), with interpolation and years_move."""
    values = raw["values"]
    if not isinstance(values, dict) or not values:
        ctx.bad(
            "'values' is not a mapping; write {year: value, ...}",
            where.file,
            where.of("values"),
            where.name,
        )
        return None
    vlines = getattr(values, "lines", {})
    points = []
    for key, value in values.items():
        line = vlines.get(key, where.of("values"))
        year = series_year(ctx, key, line, where)
        d = None if year is None else series_point(ctx, spec, value, factor, line, where, year)
        if d is not None:
            points.append((year, d))
    points.sort(key=lambda t: t[0])
    if len({y for y, _ in points}) != len(points):
        ctx.bad("a year is given twice; keep one", where.file, where.of("values"), where.name)
    years_move = raw.get("years_move", "together")
    if years_move not in ("together", "independent"):
        ctx.bad(
            f"years_move {years_move!r} unknown; use together or independent",
            where.file,
            where.of("years_move"),
            where.name,
        )
    if spec.kind == "schedule":
        interp = check_schedule(ctx, raw, points, len(values), where)
    else:
        interp = raw.get("interpolation", "linear")
        if interp not in ("linear", "step"):
            ctx.bad(
                f"interpolation {interp!r} unknown; use linear or step",
                where.file,
                where.of("interpolation"),
                where.name,
            )
    return Parameter(
        where.name,
        spec,
        InputForm.SERIES,
        points=tuple(points),
        years_move=years_move,
        interpolation=interp,
        **common,
    )


def check_schedule(ctx: Context, raw: dict, points: list, n_given: int, where: Where) -> str:
    """A schedule is not interpolated, its shares are fixed and sum to 1; returns ``none``."""
    if "interpolation" in raw:
        ctx.bad(
            "capex_schedule is not interpolated (missing years are 0); remove 'interpolation'",
            where.file,
            where.of("interpolation"),
            where.name,
        )
    if any(not d.is_fixed for _, d in points):
        ctx.bad(
            "schedule shares must be fixed numbers (they must sum to 1 in every draw); put "
            "timing uncertainty in build_delay",
            where.file,
            where.of("values"),
            where.name,
        )
    elif points and len(points) == n_given:
        total = sum(d.mean() for _, d in points)
        if abs(total - 1.0) > 1e-6:
            ctx.bad(
                f"shares sum to {total:.6g}, not 1; rescale them",
                where.file,
                where.of("values"),
                where.name,
            )
    return "none"


# ============================================================================ calibrated
def read_calibrated(
    ctx: Context, spec: ParamSpec, raw: dict, provenance: Provenance | None, where: Where
) -> Parameter | None:
    """``calibrated: {observations: file.csv, model: name, ...}``: a series drawn from the
    posterior predictive of a calibration; sourced by the observation rows it is fitted to."""
    calibrated = raw["calibrated"]
    line = where.of("calibrated")
    if spec.kind != "series":
        ctx.bad(
            "only series parameters can be calibrated; give this one a value or a distribution",
            where.file,
            line,
            where.name,
        )
        return None
    if not isinstance(calibrated, dict) or "observations" not in calibrated:
        ctx.bad(
            "calibrated lacks its observations; write calibrated: {observations: file.csv, "
            "model: name}",
            where.file,
            line,
            where.name,
        )
        return None
    n_before = len(ctx.problems)
    check_calibrated_keys(ctx, calibrated, line, where)
    base = Path(where.file).parent if where.file else Path(".")
    paths = calibrated_paths(ctx, calibrated, base, line, where)
    if paths is None or len(ctx.problems) > n_before:
        return None
    if "priors" in paths and not priors_ok(ctx, paths["priors"]):
        return None
    cal = dict(calibrated)
    cal.update(paths)
    if provenance is not None and not provenance.sources and not provenance.is_hypothetical:
        provenance = observation_provenance(ctx, cal["observations"])
        if provenance is None:
            return None
    return Parameter(
        where.name,
        spec,
        InputForm.CALIBRATED,
        calibrated=cal,
        provenance=provenance,
        unit=str(raw.get("unit", spec.unit)),
        file=where.file,
        line=where.line,
    )


def check_calibrated_keys(ctx: Context, calibrated: dict, line, where: Where) -> None:
    """Known keys, whole-number sampler settings, a known calibration model."""
    for k in calibrated:
        if k not in CALIBRATED_KEYS:
            close = did_you_mean(str(k), CALIBRATED_KEYS)
            hint = f"did you mean {close!r}?" if close else f"allowed: {', '.join(CALIBRATED_KEYS)}"
            ctx.bad(f"unknown calibrated field {k!r}; {hint}", where.file, line, where.name)
    for k in ("draws", "tune", "chains", "seed"):
        v = calibrated.get(k)
        if v is not None and (
            not isinstance(v, int)
            or isinstance(v, bool)
            or v < 0
            or (k != "seed" and v < 1)
            or v > 1_000_000
        ):
            ctx.bad(
                f"calibrated {k} must be a whole number (got {v!r}); e.g. {k}: 1000",
                where.file,
                line,
                where.name,
            )
    use = calibrated.get("use_projections")
    if use is not None and not (
        isinstance(use, dict)
        and set(use) == {"sigma"}
        and isinstance(use["sigma"], (int, float))
        and not isinstance(use["sigma"], bool)
        and 0 < use["sigma"] <= 5
    ):
        ctx.bad(
            f"calibrated use_projections must be {{sigma: S}} with S in (0, 5] (got {use!r}); "
            "e.g. use_projections: {sigma: 0.5} fits the projection rows with that noise",
            where.file,
            line,
            where.name,
        )
    accept = calibrated.get("target_accept")
    if accept is not None and (
        isinstance(accept, bool) or not isinstance(accept, (int, float)) or not 0.5 <= accept < 1
    ):
        ctx.bad(
            f"calibrated target_accept must be a number in [0.5, 1) (got {accept!r}); e.g. "
            "target_accept: 0.99",
            where.file,
            line,
            where.name,
        )
    model = calibrated.get("model")
    if not isinstance(model, str) or model not in CALIBRATION_MODELS:
        close = did_you_mean(str(model), CALIBRATION_MODELS)
        hint = (
            f"did you mean {close!r}?" if close else f"use one of {', '.join(CALIBRATION_MODELS)}"
        )
        ctx.bad(f"calibration model {model!r} unknown; {hint}", where.file, line, where.name)


def calibrated_paths(ctx: Context, calibrated: dict, base: Path, line, where: Where) -> dict | None:
    """The observation file (and priors file) of a calibration, checked as input files."""
    out = {"observations": base / str(calibrated["observations"])}
    if "priors" in calibrated:
        out["priors"] = base / str(calibrated["priors"])
    for key, suffixes, what in (
        ("observations", CSV_SUFFIXES, "observation CSV file"),
        ("priors", YAML_SUFFIXES, "priors YAML file"),
    ):
        if key not in out:
            continue
        written = str(calibrated[key])
        why = check_input_path(out[key], written, suffixes, what)
        if why is not None:
            ctx.bad(
                f"{key} file {written!r}: {why.message} (the path is relative to this file)",
                where.file,
                line,
                where.name,
            )
            return None
    return out


def priors_ok(ctx: Context, path: Path) -> bool:
    """Whether a calibration's own priors file reads (its problems are reported with the
    scenario's, not only when ``capex calibrate`` has sampled)."""
    from .priors import load_priors  # deferred: the priors reader imports pandas

    try:
        load_priors(path)
    except AssumptionError as e:
        ctx.problems.extend(e.problems)
        return False
    return True


def observation_provenance(ctx: Context, obs: Path) -> Provenance | None:
    """A calibrated series is sourced by the rows it is fitted to: their sources."""
    from .observations import load_observations  # deferred: imports pandas

    try:
        rows = load_observations(obs)
    except AssumptionError as e:
        ctx.problems.extend(e.problems)
        return None
    fitted = rows[rows["kind"] == "observation"]
    sources = row_sources(fitted, f"observation row of {obs.name}", obs)
    return Provenance(
        sources=sources,
        locators=(("note", f"calibrated to {len(fitted)} cited observations in {obs.name}"),),
    )
