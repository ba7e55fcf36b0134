"""Load assumption files (YAML) into a validated :class:`Scenario`.

``load_scenario(path, scenario=None)`` reads the file with line numbers, resolves ``extends``
(relative paths, several levels, cycle detection), applies a named overlay from ``scenarios:``,
checks provenance, units (converting scaled forms), distributions, series, bounds, required
parameters and correlations, and raises one :class:`~model.errors.AssumptionError` listing
*every* problem as ``file:line: parameter: what is wrong; how to fix``.

Series rules
------------
A series is ``values: {year: value}`` where each value is a number or a distribution mapping.
Between given years values are interpolated linearly (``interpolation: step`` holds the last
given value instead); before the first and after the last given year the nearest given value is
held. ``capex_schedule`` is not interpolated: years not listed are 0 and the shares must sum to
1. Uncertain points of one series share one uniform draw (``years_move: together``, the default:
a high path is high in every year) unless ``years_move: independent``.
"""

from __future__ import annotations

import difflib
import hashlib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import schema as S
from .distributions import (
    FAMILIES,
    LOCATION_KEYS,
    DistSpecError,
    Distribution,
    fixed,
    is_quantile_key,
    make_distribution,
)
from .errors import AssumptionError, Problem, ScenarioError, display_path
from .provenance import LOCATOR_KEYS, Provenance, Source, parse_source
from .units import UnknownUnit, parse_amount, parse_unit

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_PARAM_KEYS = {
    "value", "values", "dist", "unit", "source", "hypothetical", "years_move", "interpolation",
    "currency_year", "calibrated", "min", "max", "description", *LOCATOR_KEYS,
    # distribution natural parameters
    "mean", "sd", "median", "sigma", "low", "high", "mode", "lambda", "alpha", "beta", "probs",
}
_META_KEYS = {"unit", "source", "hypothetical", "years_move", "interpolation", "currency_year",
              "description", "calibrated", *LOCATOR_KEYS}


from .files import LDict, LList, read_yaml  # noqa: E402  (YAML with lines, bounded)


# ============================================================================ model objects
@dataclass(frozen=True)
class Parameter:
    """A validated parameter, in canonical units.

    Attributes
    ----------
    name : str
    spec : ParamSpec
    form : str
        ``scalar`` (one distribution), ``series`` (``points`` by year), ``switch`` (``value``)
        or ``calibrated`` (posterior predictive of a PyMC calibration).
    dist : Distribution or None
        For ``scalar``.
    points : tuple of (int, Distribution)
        For ``series``: given years and their distributions.
    years_move : str
        ``together`` or ``independent``.
    interpolation : str
        ``linear``, ``step`` or ``none`` (capex_schedule).
    value : object
        For switches.
    calibrated : dict or None
        ``{"observations": Path, "model": str, ...}``.
    provenance : Provenance or None
    unit : str
        As written in the file.
    file : str, line : int
    default : bool
        True when the off-switch default was used (not in any file).
    """

    name: str
    spec: S.ParamSpec
    form: str
    dist: Distribution | None = None
    points: tuple = ()
    years_move: str = "together"
    interpolation: str = "linear"
    value: object = None
    calibrated: dict | None = None
    provenance: Provenance | None = None
    unit: str = ""
    file: str | None = None
    line: int | None = None
    default: bool = False

    @property
    def is_uncertain(self) -> bool:
        if self.form == "scalar":
            return not self.dist.is_fixed
        if self.form == "series":
            return any(not d.is_fixed for _, d in self.points)
        return self.form == "calibrated"

    @property
    def category(self) -> str:
        return self.spec.category

    def describe(self, fmt=lambda x: f"{x:.4g}") -> str:
        """The parameter's value or distribution in words."""
        if self.form == "switch":
            return str(self.value).lower() if isinstance(self.value, bool) else str(self.value)
        if self.form == "scalar":
            return self.dist.describe(fmt)
        if self.form == "calibrated":
            c = self.calibrated
            return f"calibrated: {c['model']} fit to {Path(c['observations']).name}"
        parts = [f"{y}: {d.describe(fmt) if not d.is_fixed else fmt(d.mean())}"
                 for y, d in self.points]
        return "series " + "; ".join(parts)


@dataclass(frozen=True)
class Correlation:
    """A Spearman rank correlation between two uncertain inputs."""

    a: str
    b: str
    rho: float
    file: str | None = None
    line: int | None = None


@dataclass
class Scenario:
    """A validated scenario: what ``load_scenario`` returns and ``simulate`` consumes."""

    name: str
    title: str
    model: str
    currency: str
    start: int
    end: int
    parameters: dict[str, Parameter]
    sources: dict[str, Source]
    correlations: list[Correlation]
    overlays: dict[str, str]
    path: Path
    files: list[Path]
    description: str = ""
    currency_year: int | None = None
    timing: str = "end"
    overlay: str | None = None
    input_hash: str = ""
    extra_hash_files: list[Path] = field(default_factory=list)
    partial: bool = False
    unused: list[str] = field(default_factory=list)
    #: located warnings (values outside their plausible range), ``file:line: name: ...``
    warnings: list[str] = field(default_factory=list)

    @property
    def years(self) -> np.ndarray:
        return np.arange(self.start, self.end + 1)

    @property
    def n_years(self) -> int:
        return self.end - self.start + 1

    @property
    def label(self) -> str:
        """``name`` or ``name[overlay]``."""
        return f"{self.name}[{self.overlay}]" if self.overlay else self.name

    def switch(self, name: str):
        p = self.parameters.get(name)
        return None if p is None else p.value

    def uncertain(self) -> list[Parameter]:
        return [p for p in self.parameters.values() if p.is_uncertain]

    def numeric(self) -> list[Parameter]:
        """Parameters that are numbers (need provenance), defaults excluded."""
        return [p for p in self.parameters.values() if p.form != "switch" and not p.default]

    def provenance_counts(self) -> dict[str, int]:
        nums = self.numeric()
        hyp = sum(1 for p in nums if p.provenance is not None and p.provenance.is_hypothetical)
        return {"parameters": len(nums), "sourced": len(nums) - hyp, "hypothetical": hyp}

    def cited_sources(self) -> dict[str, tuple[Source, list[str]]]:
        """Each source actually cited, with the parameters citing it (in file order)."""
        out: dict[str, tuple[Source, list[str]]] = {}
        for p in self.parameters.values():
            if p.provenance is None:
                continue
            for s in p.provenance.sources:
                out.setdefault(s.key, (s, []))[1].append(p.name)
        return out


# ============================================================================ loading
def load_scenario(path, scenario: str | None = None, allow_partial: bool = False) -> Scenario:
    """Load and validate an assumption file.

    Parameters
    ----------
    path : str or pathlib.Path
        The YAML file.
    scenario : str, optional
        Name of an overlay in the file's ``scenarios:`` to apply.
    allow_partial : bool
        Accept a file marked ``partial: true`` (a base meant to be extended) without its
        required parameters. Running a partial file is an error.

    Returns
    -------
    Scenario

    Raises
    ------
    AssumptionError
        With every problem found (file:line: parameter: what is wrong; how to fix).
    """
    path = Path(path)
    sc = _Loader(path, allow_partial).load(scenario)
    emit_warnings(sc)
    return sc


def emit_warnings(sc: "Scenario") -> None:
    """Issue a :class:`~model.errors.PlausibilityWarning` for each of the scenario's warnings."""
    import warnings as _warnings

    from .errors import PlausibilityWarning

    for w in sc.warnings:
        _warnings.warn(w, PlausibilityWarning, stacklevel=3)


def load_with_overlays(path, allow_partial: bool = False
                       ) -> tuple[Scenario | None, dict[str, Scenario], list[Problem]]:
    """Load a file and each of its overlays, reading and parsing every file once.

    Returns
    -------
    (base, overlays, problems)
        ``base`` is None when the file itself is invalid; ``overlays`` maps each valid overlay
        to its scenario; ``problems`` lists every problem (an overlay's prefixed with
        ``[scenario NAME]``).
    """
    loader = _Loader(Path(path), allow_partial)
    try:
        base = loader.load(None)
    except AssumptionError as e:
        return None, {}, list(e.problems)
    emit_warnings(base)
    out: dict[str, Scenario] = {}
    problems: list[Problem] = []
    for name in base.overlays:
        try:
            out[name] = loader.load(name)
            emit_warnings(out[name])
        except AssumptionError as e:
            problems.extend(Problem(f"[scenario {name}] {p.message}", p.file, p.line,
                                    p.parameter, p.column) for p in e.problems)
    return base, out, problems


def scenario_names(path) -> list[str]:
    """Names of the overlays a file (with its parents) defines, without full validation."""
    loader = _Loader(Path(path))
    merged = loader.merged()
    return list(merged["scenarios"]) if merged else []


class _Loader:
    def __init__(self, path: Path, allow_partial: bool = False):
        self.path = path
        self.allow_partial = allow_partial
        self.partial = False
        self.problems: list[Problem] = []
        self.files: list[Path] = []
        self._merged = None
        #: values outside their plausible range (loaded, with a warning)
        self.warnings: list[Problem] = []
        #: shown path of a parent file -> (child file, line of its extends:)
        self.extended_by: dict[str, tuple] = {}

    def error(self, kind=AssumptionError) -> AssumptionError:
        """The problems found, those in a parent file also naming the ``extends:`` line that
        brought it in (a chain names every link)."""
        out = []
        for p in self.problems:
            links, f = [], p.file
            while f in self.extended_by and len(links) < 20:
                child, line = self.extended_by[f]
                links.append(f"{child}:{line}" if line else str(child))
                f = child
            if links:
                p = Problem(f"{p.message} (in a parent file: extended from "
                            f"{' <- '.join(links)})", p.file, p.line, p.parameter, p.column)
            out.append(p)
        return kind(out)

    # -------------------------------------------------------------- extends
    def _read_chain(self, path: Path, shown: str, seen: tuple[Path, ...], line_from=None,
                    written: str | None = None):
        resolved = path.resolve()
        if resolved in seen:
            chain = " -> ".join(display_path(p) for p in (*seen, resolved))
            self.problems.append(Problem(f"'extends' makes a cycle ({chain}); remove one link",
                                         line_from[0], line_from[1], "extends"))
            return []
        data, probs = read_yaml(path, shown)
        if probs and data is None and line_from is not None and probs[0].line is None:
            # the parent cannot be read at all: say so at the child's extends: line
            msg = probs[0].message
            if "not found" in msg:
                msg = "not found; the path is relative to this file"
            self.problems.append(Problem(f"extends file {written or shown!r}: {msg}",
                                         line_from[0], line_from[1], "extends"))
            return []
        if line_from is not None:
            self.extended_by[shown] = line_from
        self.problems.extend(probs)
        if data is None and probs:
            return []
        if not isinstance(data, LDict):
            self.problems.append(Problem(
                "the top level must be a mapping (schema:, name:, model:, parameters: ...); "
                "see 'capex new NAME' for a template", shown, getattr(data, "line", 1) or 1))
            return []
        self.files.append(path)
        chain = [data]
        parent = data.get("extends")
        if parent is not None:
            if not isinstance(parent, str) or not parent.strip():
                self.problems.append(Problem("'extends' is not a file path; write extends: base.yaml", shown,
                                             data.lines.get("extends"), "extends"))
            else:
                ppath = path.parent / parent
                chain = self._read_chain(ppath, display_path(ppath), (*seen, resolved),
                                         (shown, data.lines.get("extends")), parent) + chain
        return chain

    def merged(self):
        """The file and its parents merged (read and parsed once per loader)."""
        if self._merged is not None:
            self.problems = list(self._merge_problems)
            self.warnings = []
            return self._merged
        chain = self._read_chain(self.path, display_path(self.path), ())
        if not chain:
            return None
        merged = {"top": {}, "top_where": {}, "sources": {}, "parameters": {}, "correlations": [],
                  "scenarios": {}, "inflation": None}
        for doc in chain:  # parent first, child overrides
            f = doc.file
            for key, val in doc.items():
                where = (f, doc.lines.get(key))
                if key not in S.TOP_LEVEL_KEYS:
                    close = difflib.get_close_matches(str(key), S.TOP_LEVEL_KEYS, n=1)
                    hint = f"did you mean {close[0]!r}?" if close else \
                        f"allowed: {', '.join(S.TOP_LEVEL_KEYS)}"
                    self.problems.append(Problem(f"unknown top-level key {key!r}; {hint}",
                                                 *where, str(key)))
                    continue
                if key == "parameters":
                    merged["parameters_where"] = where
                if key in ("sources", "parameters", "scenarios"):
                    if val is None:
                        continue
                    if not isinstance(val, LDict):
                        self.problems.append(Problem(f"'{key}' is not a mapping; indent its entries under it", *where, key))
                        continue
                    for k, v in val.items():
                        merged[key][k] = (v, f, val.lines.get(k))
                elif key == "correlations":
                    if val is None:
                        continue
                    if not isinstance(val, LList):
                        self.problems.append(Problem(
                            "'correlations' is not a list; write one [input_a, input_b, rho] per line", *where,
                            key))
                        continue
                    for item, line in zip(val, val.lines):
                        merged["correlations"].append((item, f, line))
                elif key == "inflation":
                    merged["inflation"] = (val, f, doc.lines.get(key))
                elif key == "extends":
                    continue
                elif key == "partial":
                    if doc is chain[-1]:
                        if not isinstance(val, bool):
                            self.problems.append(Problem("partial is not true or false; write partial: true", *where,
                                                         key))
                        else:
                            self.partial = val
                else:
                    merged["top"][key] = val
                    merged["top_where"][key] = where
        self._merged = merged
        self._merge_problems = list(self.problems)
        return merged

    # -------------------------------------------------------------- main
    def load(self, overlay: str | None) -> Scenario:
        merged = self.merged()
        if merged is None:
            raise self.error()
        shown = display_path(self.path)
        top, where = merged["top"], merged["top_where"]

        def w(key):
            return where.get(key, (shown, None))

        broken_chain = any(p.parameter == "extends" for p in self.problems)

        def bad(msg, key, param=None):
            if broken_chain and msg.startswith("missing"):
                return  # the parent that would give it could not be read (reported)
            self.problems.append(Problem(msg, *w(key), param or key))

        # --- header
        version = top.get("schema")
        if version is None:
            bad(f"missing 'schema:'; add 'schema: {S.SCHEMA_VERSIONS[-1]}' at the top", "schema")
        elif version not in S.SCHEMA_VERSIONS or isinstance(version, bool):
            bad(f"unknown schema version {version!r}; this capex reads schema "
                f"{', '.join(map(str, S.SCHEMA_VERSIONS))}", "schema")
        model = top.get("model")
        if model is None:
            bad(f"missing 'model:'; use one of {', '.join(S.MODEL_KINDS)}", "model")
        elif model not in S.MODEL_KINDS:
            close = difflib.get_close_matches(str(model), S.MODEL_KINDS, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"use one of {', '.join(S.MODEL_KINDS)}"
            bad(f"unknown model kind {model!r}; {hint}", "model")
            model = None
        name = top.get("name")
        if name is None:
            bad("missing 'name:'; give a short slug such as anthropic-fluidstack", "name")
            name = self.path.stem
        elif not isinstance(name, str) or not _NAME.match(name):
            bad(f"name {name!r} is not a slug; use lowercase letters, digits, '-' or '_'", "name")
            name = self.path.stem
        title = top.get("title", name)
        title = str(title) if title is not None else name
        description = str(top.get("description") or "")
        currency = top.get("currency", "USD")
        if not isinstance(currency, str) or not re.match(r"^[A-Z]{3}$", currency):
            bad(f"currency {currency!r} is not a 3-letter code; write one such as USD", "currency")
            currency = "USD"
        currency_year = top.get("currency_year")
        if currency_year is not None and (not isinstance(currency_year, int)
                                          or isinstance(currency_year, bool)):
            bad("currency_year is not a year; write one such as 2025", "currency_year")
            currency_year = None
        timing = top.get("timing", "end")
        if timing not in ("end", "mid"):
            bad(f"timing {timing!r} unknown; use 'end' (flows at year end) or 'mid'", "timing")
            timing = "end"
        start, end = self._years(top.get("years"), w("years"))

        # --- bibliography
        sources: dict[str, Source] = {}
        self.broken_sources = {str(k) for k in merged["sources"]}
        for key, (raw, f, line) in merged["sources"].items():
            src, probs = parse_source(str(key), raw, f, line, getattr(raw, "lines", {}))
            self.problems.extend(probs)
            if src is not None:
                sources[str(key)] = src

        # --- overlays
        overlays: dict[str, str] = {}
        overlay_params: dict = {}
        overlay_corr = None
        for oname, (raw, f, line) in merged["scenarios"].items():
            if not isinstance(raw, LDict):
                self.problems.append(Problem(
                    "an overlay is not a mapping; indent the parameters it replaces under its name", f, line, str(oname)))
                continue
            if not isinstance(oname, str) or not _NAME.match(oname):
                self.problems.append(Problem(
                    f"overlay name {oname!r} must be a slug (lowercase letters, digits, '-' or "
                    "'_'; it becomes a folder name); rename it, e.g. bear or high-prices", f,
                    line, "scenarios"))
                continue
            overlays[str(oname)] = str(raw.get("description") or "")
            if oname == overlay:
                for k, v in raw.items():
                    if k == "description":
                        continue
                    if k == "correlations":  # an overlay's list replaces the file's
                        items = v if isinstance(v, LList) else LList()
                        if not isinstance(v, LList) and v is not None:
                            self.problems.append(Problem(
                                "'correlations' is not a list; write one [input_a, input_b, rho] per line", f,
                                raw.lines.get(k), "correlations"))
                        overlay_corr = [(item, f, line) for item, line in
                                        zip(items, items.lines)]
                        continue
                    overlay_params[k] = (v, f, raw.lines.get(k))
        if overlay is not None and overlay not in overlays:
            names = ", ".join(overlays) or "none defined"
            close = difflib.get_close_matches(overlay, list(overlays), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            self.problems.append(Problem(
                f"unknown scenario overlay {overlay!r}; {hint}available: {names}", shown, None,
                "--scenario"))
            raise self.error(ScenarioError)

        params_raw = dict(merged["parameters"])
        params_raw.update(overlay_params)

        inflation = self._inflation(merged["inflation"], sources, currency)

        # --- parameters
        params: dict[str, Parameter] = {}
        unused: list[str] = []
        if model is not None and start is not None:
            vocab = S.VOCABULARY[model]
            ctx = _ParamContext(self, sources, currency, currency_year, inflation, start, end)
            for pname, (raw, f, line) in params_raw.items():
                spec = vocab.get(pname)
                if spec is None:
                    close = did_you_mean(pname, vocab)
                    hint = f"did you mean {close!r}?" if close else \
                        f"the {model} vocabulary is listed in assumptions/README.md"
                    self.problems.append(Problem(f"unknown parameter for model {model!r}; {hint}",
                                                 f, line, str(pname)))
                    continue
                param = ctx.parameter(spec, raw, f, line)
                if param is not None:
                    params[pname] = param
            # switches decide what else is required
            switches = {}
            for s in vocab.values():
                if s.is_switch:
                    switches[s.name] = params[s.name].value if s.name in params else s.default
            unused = [] if self.partial else [
                k for k, p in params.items() if not S.is_used(p.spec, switches)]
            for k in unused:
                del params[k]
            missing = []
            for s in vocab.values():
                if s.name in params or s.name in params_raw:
                    continue
                if S.required_if(s, switches):
                    missing.append(s)
                elif s.default is not None:
                    form = "switch" if s.is_switch else "scalar"
                    params[s.name] = Parameter(
                        s.name, s, form, dist=None if s.is_switch else fixed(float(s.default)),
                        value=s.default if s.is_switch else None, unit=s.unit, default=True)
            # a misspelt name already got "did you mean": do not also call its target missing
            misspelt = {did_you_mean(k, vocab) for k in params_raw if k not in vocab}
            missing = [s for s in missing if s.name not in misspelt]
            if any(p.parameter == "extends" for p in self.problems):
                missing = []  # the parent chain is broken: its parameters could not be read
            if missing and self.partial and not self.allow_partial:
                self.problems.append(Problem(
                    "this file is partial (a base meant to be extended) and lacks required "
                    "parameters; run a file that 'extends' it", shown, None, "partial"))
            elif missing and not self.partial:
                names = ", ".join(f"{s.name} [{s.unit or s.kind}]" for s in missing)
                self.problems.append(Problem(
                    f"missing required parameters: {names}; add them under 'parameters:' (each "
                    "with a unit and a source or a hypothetical rationale)",
                    *merged.get("parameters_where", (shown, None)), "parameters"))

        corr_entries = merged["correlations"] if overlay_corr is None else overlay_corr
        correlations = self._correlations(corr_entries, params, set(params_raw),
                                          model is not None)

        if self.problems:
            raise self.error()

        files = list(dict.fromkeys(self.files))
        extra = [p.calibrated["observations"] for p in params.values() if p.calibrated]
        h = hashlib.sha256()
        for fpath in files + extra:
            h.update(Path(fpath).read_bytes())
        h.update(f"overlay={overlay}".encode())
        return Scenario(
            name=name, title=title, model=model, currency=currency, start=start, end=end,
            parameters=params, sources=sources, correlations=correlations, overlays=overlays,
            path=self.path, files=files, description=description, currency_year=currency_year,
            timing=timing, overlay=overlay, input_hash=h.hexdigest(), extra_hash_files=extra,
            partial=self.partial, unused=unused,
            warnings=[str(w) for w in dict.fromkeys(self.warnings)],
        )

    def _years(self, raw, where):
        if raw is None:
            if not any(p.parameter == "extends" for p in self.problems):
                self.problems.append(Problem("missing 'years:'; add 'years: {start: 2025, end: "
                                             "2040}'", *where, "years"))
            return None, None
        if not isinstance(raw, dict):
            self.problems.append(Problem("years must be a mapping; write 'years: {start: 2025, "
                                         "end: 2040}'", *where, "years"))
            return None, None
        lines = getattr(raw, "lines", {})
        ok = True
        for k in raw:
            if k not in ("start", "end"):
                close = did_you_mean(str(k), ("start", "end"))
                hint = f"did you mean {close!r}?" if close else "only start and end are allowed"
                self.problems.append(Problem(f"unknown key {k!r} in years; {hint} (the model "
                                             "runs in steps of one year)", where[0],
                                             lines.get(k, where[1]), "years"))
                ok = False
        for k in ("start", "end"):
            if k not in raw:
                self.problems.append(Problem(f"years has no {k}; write 'years: {{start: 2025, "
                                             "end: 2040}'", *where, "years"))
                ok = False
        if not ok:
            return None, None
        s, e = raw["start"], raw["end"]
        if not all(isinstance(v, int) and not isinstance(v, bool) and 1900 <= v <= 2200
                   for v in (s, e)):
            self.problems.append(Problem("years.start and years.end must be years between 1900 "
                                         "and 2200; write e.g. 'years: {start: 2025, end: 2040}'",
                                         *where, "years"))
            return None, None
        if e < s:
            self.problems.append(Problem(f"years.end ({e}) is before years.start ({s}); swap "
                                         "them", *where, "years"))
            return None, None
        if e - s > 100:
            self.problems.append(Problem("the horizon is longer than 100 years; shorten it",
                                         *where, "years"))
            return None, None
        return s, e

    def _inflation(self, entry, sources, currency):
        if entry is None:
            return None
        raw, f, line = entry
        spec = S.ParamSpec("inflation", ("1/year", "share"), "series",
                           "Inflation rate by year, to convert between currency years.",
                           "finance", low=-0.5, high=1.0)
        ctx = _ParamContext(self, sources, currency, None, None, 1900, 2200)
        p = ctx.parameter(spec, raw, f, line)
        if p is None:
            return None
        if p.form != "series" or p.is_uncertain:
            self.problems.append(Problem("inflation is not a series of fixed yearly rates; "
                                         "write values: {2023: 0.041, ...}", f, line, "inflation"))
            return None
        return {y: d.mean() for y, d in p.points}

    def _correlations(self, entries, params, given: set, model_known: bool):
        out: list[Correlation] = []
        seen: dict[frozenset, int] = {}
        for item, f, line in entries:
            if not isinstance(item, list) or len(item) != 3:
                self.problems.append(Problem(
                    "a correlation is not a list of three; write [input_a, input_b, rho]", f, line, "correlations"))
                continue
            a, b, rho = item
            who = f"correlations[{a}, {b}]"
            ok = True
            for n in (a, b):
                if isinstance(n, str) and n not in params and (n in given or not model_known):
                    ok = False  # the parameter itself was reported already
                elif not isinstance(n, str) or n not in params:
                    close = difflib.get_close_matches(str(n), list(params), n=1)
                    hint = f"did you mean {close[0]!r}?" if close else "name an uncertain parameter"
                    self.problems.append(Problem(f"unknown parameter {n!r}; {hint}", f, line, who))
                    ok = False
                elif not params[n].is_uncertain:
                    self.problems.append(Problem(
                        f"{n!r} is fixed, so it cannot be correlated; give it a distribution or "
                        "drop the correlation", f, line, who))
                    ok = False
                elif params[n].form == "series" and params[n].years_move == "independent":
                    self.problems.append(Problem(
                        f"{n!r} moves independently by year; correlations need one draw per "
                        "input (years_move: together)", f, line, who))
                    ok = False
            if ok and a == b:
                self.problems.append(Problem("an input cannot be correlated with itself; name two different inputs", f, line,
                                             who))
                ok = False
            try:
                r = parse_amount(rho)
            except ValueError as e:
                self.problems.append(Problem(f"coefficient {e}", f, line, who))
                continue
            if not -1.0 <= r <= 1.0:
                self.problems.append(Problem(
                    f"coefficient {r:g} is outside [-1, 1]; a rank correlation lies in [-1, 1]",
                    f, line, who))
                continue
            if not ok:
                continue
            key = frozenset((a, b))
            if key in seen:
                self.problems.append(Problem(
                    f"duplicate pair (first given on line {seen[key]}); keep one", f, line, who))
                continue
            seen[key] = line
            out.append(Correlation(a, b, r, f, line))
        if out and not self.problems:
            names = sorted({c.a for c in out} | {c.b for c in out})
            mat = correlation_matrix(names, out)
            eig = np.linalg.eigvalsh(mat)
            if eig.min() < -1e-10:
                near = nearest_correlation(mat)
                pairs = ", ".join(
                    f"[{names[i]}, {names[j]}, {near[i, j]:.2f}]"
                    for i in range(len(names)) for j in range(i + 1, len(names))
                    if any({c.a, c.b} == {names[i], names[j]} for c in out))
                # point at the file being loaded when it declares correlations (a child that
                # adds one is the usual cause), else at the first inherited one
                own = [c for c in out if c.file == display_path(self.path)]
                f, line = (own or out)[0].file, (own or out)[0].line
                self.problems.append(Problem(
                    f"the correlation matrix is not positive semi-definite (smallest eigenvalue "
                    f"{eig.min():.3f}): these coefficients cannot hold together; the nearest valid "
                    f"matrix has {pairs}", f, line, "correlations"))
        return out


def did_you_mean(word: str, options) -> str | None:
    """The closest option to a misspelt ``word`` (close spelling, or one contains the other)."""
    options = list(options)
    close = difflib.get_close_matches(str(word), options, n=1, cutoff=0.6)
    if close:
        return close[0]
    w = str(word).lower()
    hits = [o for o in options if len(o) >= 3 and (o in w or w in o)]
    return max(hits, key=len) if hits else None


def correlation_matrix(names: list[str], correlations: list[Correlation]) -> np.ndarray:
    """Symmetric matrix with ones on the diagonal from a list of pairwise correlations."""
    idx = {n: i for i, n in enumerate(names)}
    mat = np.eye(len(names))
    for c in correlations:
        i, j = idx[c.a], idx[c.b]
        mat[i, j] = mat[j, i] = c.rho
    return mat


def nearest_correlation(a: np.ndarray, iterations: int = 200) -> np.ndarray:
    """Nearest correlation matrix (Higham 2002, alternating projections).

    References
    ----------
    .. [1] Higham, N. J. (2002). Computing the nearest correlation matrix — a problem from
       finance. *IMA Journal of Numerical Analysis*, 22(3), 329–343.
    """
    y = a.copy()
    ds = np.zeros_like(a)
    for _ in range(iterations):
        r = y - ds
        w, v = np.linalg.eigh((r + r.T) / 2)
        x = (v * np.maximum(w, 0)) @ v.T
        ds = x - r
        y = x.copy()
        np.fill_diagonal(y, 1.0)
        if np.linalg.eigvalsh(y).min() > -1e-12:
            break
    return y


class _ParamContext:
    def __init__(self, loader: _Loader, sources, currency, currency_year, inflation, start, end):
        self.loader = loader
        self.sources = sources
        self.currency = currency
        self.currency_year = currency_year
        self.inflation = inflation
        self.start = start
        self.end = end

    def _bad(self, msg, f, line, pname):
        self.loader.problems.append(Problem(msg, f, line, pname))

    def parameter(self, spec: S.ParamSpec, raw, f, line) -> Parameter | None:
        pname = spec.name
        n_before = len(self.loader.problems)
        lines = getattr(raw, "lines", {})

        def L(key):
            return lines.get(key, line)

        # ---- switches
        if spec.is_switch:
            value = raw
            if isinstance(raw, dict):
                value = raw.get("value")
                allowed = ("value", "note", "description")
                for k in [k for k in raw if k not in allowed]:
                    close = did_you_mean(str(k), allowed)
                    hint = f"did you mean {close!r}? or" if close else "remove it, or"
                    self._bad(f"unknown field {k!r} for a switch; {hint} write '{pname}: "
                              "<value>'", f, L(k), pname)
            if spec.kind == "bool":
                if not isinstance(value, bool):
                    self._bad(f"{value!r} is not true/false; write '{pname}: true' or false", f,
                              line, pname)
                    return None
            else:
                if value not in spec.choices:
                    close = difflib.get_close_matches(str(value), spec.choices, n=1)
                    hint = f"did you mean {close[0]!r}?" if close else \
                        f"use one of {', '.join(spec.choices)}"
                    self._bad(f"{value!r} is not a valid choice; {hint}", f, line, pname)
                    return None
            return Parameter(pname, spec, "switch", value=value, file=f, line=line)

        # ---- numbers
        if not isinstance(raw, dict):
            example = "{value: 50B, unit: USD, source: key}" if spec.kind != "schedule" else \
                "{values: {2025: 0.4, 2026: 0.6}, unit: share, hypothetical: why}"
            self._bad(f"a number needs a unit and a source or hypothetical rationale; write it as "
                      f"a mapping, e.g. {pname}: {example}", f, line, pname)
            return None
        for k in raw:
            if k not in _PARAM_KEYS and not is_quantile_key(str(k)):
                close = difflib.get_close_matches(str(k), sorted(_PARAM_KEYS), n=1)
                hint = f"did you mean {close[0]!r}?" if close else "remove it"
                self._bad(f"unknown field {k!r}; {hint}", f, L(k), pname)

        provenance = self._provenance(raw, f, line, pname, L)
        calibrated = raw.get("calibrated")

        # ---- unit
        factor = 1.0
        unit = raw.get("unit")
        if calibrated is not None and unit is None:
            unit = spec.unit
        if unit is None:
            self._bad(f"unit missing; add 'unit: {spec.unit}'", f, line, pname)
        else:
            try:
                dim, factor = parse_unit(str(unit), self.currency)
                if dim not in spec.dimensions:
                    self._bad(f"unit {unit!r} converts to {dim}, but {pname} is in "
                              f"{' or '.join(spec.dimensions)}; write it in "
                              f"{spec.unit} (or a scaled form)", f, L("unit"), pname)
                    factor = None
            except UnknownUnit as e:
                self._bad(str(e), f, L("unit"), pname)
                factor = None
        if factor is None:
            factor = 1.0

        # currency year conversion
        cy = raw.get("currency_year")
        if cy is not None:
            if not spec.unit.startswith("USD"):
                self._bad("currency_year applies only to money parameters; remove it", f,
                          L("currency_year"), pname)
            elif not isinstance(cy, int) or isinstance(cy, bool):
                self._bad("currency_year is not a year; write one such as 2023", f, L("currency_year"),
                          pname)
            elif self.currency_year is not None and cy != self.currency_year:
                conv = self._inflate(cy, self.currency_year)
                if conv is None:
                    self._bad(f"value is in {cy} money but the scenario is in "
                              f"{self.currency_year} money, and no inflation rate covers the "
                              "years between; add an 'inflation:' series with a source", f,
                              L("currency_year"), pname)
                else:
                    factor *= conv

        if calibrated is not None:
            return self._calibrated(spec, raw, calibrated, provenance, f, line, L, n_before)

        has_values = "values" in raw and "dist" not in raw  # discrete has its own 'values'
        has_scalar = "value" in raw or "dist" in raw
        dist_keys = [k for k in raw if k not in _META_KEYS and k != "values"]
        if spec.kind == "scalar" and "values" in raw and "dist" not in raw:
            pass  # reported below as "not a series"
        if has_values and has_scalar:
            self._bad("has both 'values:' (a series) and 'value:'/'dist:'; keep one", f, line,
                      pname)
            return None
        if spec.kind == "schedule" and not has_values:
            self._bad("is a yearly schedule; write 'values: {2025: 0.4, 2026: 0.6}'", f, line,
                      pname)
            return None
        if spec.kind == "scalar" and has_values:
            self._bad("is a single number, not a series; give 'value:' or a distribution ('dist:')",
                      f, L("values"), pname)
            return None
        if not has_values and not has_scalar:
            if dist_keys:
                self._bad("distribution parameters without 'dist:'; add the family, e.g. "
                          "'dist: lognormal'", f, line, pname)
            else:
                self._bad("no value; add 'value: ...' or a distribution ('dist: ...')", f, line,
                          pname)
            return None

        common = dict(provenance=provenance, unit=str(unit), file=f, line=line)
        if not has_values:
            dist = self._dist(raw, factor, f, line, pname, L)
            if dist is None:
                return None
            self._check_bounds(spec, dist, f, L("value") if "value" in raw else line, pname)
            self._check_plausible(spec, dist, f, L("value") if "value" in raw else line, pname)
            if len(self.loader.problems) > n_before:
                return None
            return Parameter(pname, spec, "scalar", dist=dist, **common)

        # ---- series
        values = raw["values"]
        vlines = getattr(values, "lines", {})
        if not isinstance(values, dict) or not values:
            self._bad("'values' is not a mapping; write {year: value, ...}", f, L("values"), pname)
            return None
        points = []
        n_values = len(values)
        for year, v in values.items():
            yline = vlines.get(year, L("values"))
            try:
                y = int(year)
                if isinstance(year, bool) or isinstance(year, float) and not float(year).is_integer():
                    raise ValueError
            except (TypeError, ValueError):
                self._bad(f"series key {year!r} is not a year; write years such as 2025", f, yline, pname)
                continue
            if not self.start <= y <= self.end:
                self._bad(f"series year {y} is outside years {self.start}-{self.end}; drop it or "
                          "widen 'years:'", f, yline, pname)
                continue
            if isinstance(v, dict):
                d = self._dist(v, factor, f, yline, f"{pname}[{y}]",
                               lambda k, _v=v, _y=yline: getattr(_v, "lines", {}).get(k, _y))
            else:
                try:
                    d = fixed(parse_amount(v) * factor)
                except ValueError as e:
                    self._bad(f"{e}", f, yline, f"{pname}[{y}]")
                    d = None
            if d is None:
                continue
            self._check_bounds(spec, d, f, yline, f"{pname}[{y}]")
            self._check_plausible(spec, d, f, yline, f"{pname}[{y}]")
            points.append((y, d))
        points.sort(key=lambda t: t[0])
        if len({y for y, _ in points}) != len(points):
            self._bad("a year is given twice; keep one", f, L("values"), pname)
        years_move = raw.get("years_move", "together")
        if years_move not in ("together", "independent"):
            self._bad(f"years_move {years_move!r} unknown; use together or independent", f,
                      L("years_move"), pname)
        interp = raw.get("interpolation", "none" if spec.kind == "schedule" else "linear")
        if spec.kind == "schedule":
            if "interpolation" in raw:
                self._bad("capex_schedule is not interpolated (missing years are 0); remove "
                          "'interpolation'", f, L("interpolation"), pname)
            interp = "none"
            if any(not d.is_fixed for _, d in points):
                self._bad("schedule shares must be fixed numbers (they must sum to 1 in every "
                          "draw); put timing uncertainty in build_delay", f, L("values"), pname)
            elif points and len(points) == n_values:
                total = sum(d.mean() for _, d in points)
                if abs(total - 1.0) > 1e-6:
                    self._bad(f"shares sum to {total:.6g}, not 1; rescale them", f, L("values"),
                              pname)
        elif interp not in ("linear", "step"):
            self._bad(f"interpolation {interp!r} unknown; use linear or step", f,
                      L("interpolation"), pname)
        if len(self.loader.problems) > n_before:
            return None
        return Parameter(pname, spec, "series", points=tuple(points), years_move=years_move,
                         interpolation=interp, **common)

    def _calibrated(self, spec, raw, calibrated, provenance, f, line, L, n_before):
        pname = spec.name
        if spec.kind != "series":
            self._bad("only series parameters can be calibrated; give this one a value or a distribution", f, L("calibrated"), pname)
            return None
        if not isinstance(calibrated, dict) or "observations" not in calibrated:
            self._bad("calibrated lacks its observations; write calibrated: {observations: file.csv, model: name}", f,
                      L("calibrated"), pname)
            return None
        from .files import CSV_SUFFIXES, YAML_SUFFIXES, check_input_path

        allowed = ("observations", "model", "draws", "tune", "chains", "priors", "seed")
        for k in calibrated:
            if k not in allowed:
                close = did_you_mean(str(k), allowed)
                hint = f"did you mean {close!r}?" if close else f"allowed: {', '.join(allowed)}"
                self._bad(f"unknown calibrated field {k!r}; {hint}", f, L("calibrated"), pname)
        base = Path(f).parent if f else Path(".")
        obs = base / str(calibrated["observations"])
        why = check_input_path(obs, str(calibrated["observations"]), CSV_SUFFIXES,
                               "observation CSV file")
        if why is not None:
            self._bad(f"observations file {str(calibrated['observations'])!r}: {why.message} "
                      "(the path is relative to this file)", f, L("calibrated"), pname)
            return None
        if "priors" in calibrated:
            why = check_input_path(base / str(calibrated["priors"]), str(calibrated["priors"]),
                                   YAML_SUFFIXES, "priors YAML file")
            if why is not None:
                self._bad(f"priors file {str(calibrated['priors'])!r}: {why.message} (the path "
                          "is relative to this file)", f, L("calibrated"), pname)
                return None
        for k in ("draws", "tune", "chains", "seed"):
            v = calibrated.get(k)
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0 or
                                  (k != "seed" and v < 1) or v > 1_000_000):
                self._bad(f"calibrated {k} must be a whole number (got {v!r}); e.g. {k}: 1000",
                          f, L("calibrated"), pname)
        try:
            from .calibration import MODELS
        except ImportError:  # calibration unavailable: report, do not crash
            MODELS = ()
        model = calibrated.get("model")
        if MODELS and (not isinstance(model, str) or model not in MODELS):
            close = did_you_mean(str(model), MODELS)
            hint = f"did you mean {close!r}?" if close else f"use one of {', '.join(MODELS)}"
            self._bad(f"calibration model {model!r} unknown; {hint}", f, L("calibrated"), pname)
            return None
        if len(self.loader.problems) > n_before:
            return None
        cal = dict(calibrated)
        cal["observations"] = obs
        if provenance is not None and not provenance.sources and not provenance.is_hypothetical:
            provenance = self._observation_provenance(obs, f, L("calibrated"), pname)
            if provenance is None:
                return None
        if "priors" in cal:
            cal["priors"] = Path(f).parent / str(cal["priors"])
        return Parameter(pname, spec, "calibrated", calibrated=cal, provenance=provenance,
                         unit=str(raw.get("unit", spec.unit)), file=f, line=line)

    def _observation_provenance(self, obs: Path, f, line, pname) -> Provenance | None:
        """A calibrated series is sourced by the rows it is fitted to: their sources."""
        from .observations import load_observations

        try:
            rows = load_observations(obs)
        except AssumptionError as e:
            self.loader.problems.extend(e.problems)
            return None
        fitted = rows[rows["kind"] == "observation"]
        sources, seen = [], set()
        for r in fitted.itertuples():
            key = getattr(r, "fact_id", None) or r.address
            if key in seen:
                continue
            seen.add(key)
            sources.append(Source(key=str(key), title=str(r.source_title),
                                  publisher=str(r.publisher), published=str(r.published),
                                  url=str(r.address), confidence=getattr(r, "confidence", None)
                                  or None, note=f"observation row of {obs.name}", file=str(obs),
                                  line=int(r.line)))
        return Provenance(sources=tuple(sources),
                          locators=(("note", f"calibrated to {len(fitted)} cited observations in "
                                             f"{obs.name}"),))

    def _inflate(self, from_year: int, to_year: int) -> float | None:
        if self.inflation is None:
            return None
        lo, hi = sorted((from_year, to_year))
        factor = 1.0
        for y in range(lo + 1, hi + 1):
            if y not in self.inflation:
                return None
            factor *= 1.0 + self.inflation[y]
        return factor if to_year >= from_year else 1.0 / factor

    def _dist(self, raw, factor, f, line, pname, L) -> Distribution | None:
        spec = {k: v for k, v in raw.items() if k not in _META_KEYS}
        if "dist" not in spec:
            if set(spec) - {"value"}:
                self._bad("distribution parameters without 'dist:'; add the family (one of "
                          f"{', '.join(FAMILIES)})", f, line, pname)
                return None
            if "value" not in spec:
                self._bad("no value; add 'value: ...' or a distribution", f, line, pname)
                return None
            spec = {"dist": "fixed", "value": spec["value"]}
        try:
            return make_distribution(spec, scale=factor)
        except DistSpecError as e:
            self._bad(str(e), f, L(e.key) if e.key else line, pname)
        except (TypeError, ValueError, ArithmeticError) as e:
            self._bad(f"distribution cannot be built ({e}); check its numbers", f, line, pname)
        return None

    def _check_plausible(self, spec: S.ParamSpec, dist: Distribution, f, line, pname):
        """Warn when the central 90 % of a value's distribution leaves its plausible range."""
        if spec.plausible is None:
            return
        lo, hi = spec.plausible
        with np.errstate(all="ignore"):
            q05, q95 = (dist.mean(), dist.mean()) if dist.is_fixed else \
                dist.ppf(np.array([0.05, 0.95]))
        if q05 >= lo and q95 <= hi:
            return
        what = f"value {q05:g}" if dist.is_fixed else f"its 90 % range [{q05:.4g}, {q95:.4g}]"
        self.loader.warnings.append(Problem(
            f"{what} lies outside the plausible range {lo:g}-{hi:g} [{spec.unit}] for "
            f"{pname.split('[')[0]}; check the number and its unit (shares and rates are "
            "decimals: 8 % is 0.08), or say in the source's quote or the rationale why it is "
            "right", f, line, pname))

    def _check_bounds(self, spec: S.ParamSpec, dist: Distribution, f, line, pname):
        if dist.is_fixed:
            x = dist.mean()
            if not spec.in_bounds(x):
                self._bad(f"value {x:g} is outside the valid range {spec.bounds_text()} "
                          f"[{spec.unit}]; correct it (shares and rates are decimals: 8 % is 0.08)",
                          f, line, pname)
            return
        with np.errstate(all="ignore"):
            lo, hi = dist.ppf(np.array([1e-12, 1 - 1e-12]))
        if not (spec.in_bounds(lo) and spec.in_bounds(hi)):
            self._bad(f"the {dist.family} distribution reaches [{lo:.4g}, {hi:.4g}], outside the "
                      f"valid range {spec.bounds_text()} [{spec.unit}]; add min/max truncation or "
                      "choose a bounded family (beta, pert, triangular, uniform)", f, line, pname)

    def _provenance(self, raw, f, line, pname, L) -> Provenance | None:
        has_src = "source" in raw
        has_hyp = "hypothetical" in raw
        if "calibrated" in raw and not has_src and not has_hyp:
            return Provenance(hypothetical=None, sources=())  # provenance is in the observations
        if has_src and has_hyp:
            self._bad("has both 'source' and 'hypothetical'; keep exactly one (cite it, or say "
                      "why it is a hypothesis)", f, L("hypothetical"), pname)
            return None
        if not has_src and not has_hyp:
            self._bad("has neither 'source' nor 'hypothetical'; cite a source (a key of "
                      "'sources:') or add 'hypothetical: <why this value>'", f, line, pname)
            return None
        locators = tuple((k, str(raw[k])) for k in LOCATOR_KEYS if raw.get(k) is not None)
        if has_hyp:
            why = raw["hypothetical"]
            if not isinstance(why, str) or not why.strip():
                self._bad("'hypothetical' is empty; write the rationale: why this value is plausible",
                          f, L("hypothetical"), pname)
                return None
            return Provenance(hypothetical=why.strip(), locators=locators)
        src = raw["source"]
        items = src if isinstance(src, list) else [src]
        found: list[Source] = []
        if not items:
            self._bad("'source' is an empty list; name at least one source", f, L("source"),
                      pname)
            return None
        for item in items:
            if isinstance(item, dict):
                s, probs = parse_source(f"inline:{pname}", item, f, L("source"),
                                        getattr(item, "lines", {}), parameter=pname)
                self.loader.problems.extend(probs)
                if s is not None:
                    found.append(s)
            elif isinstance(item, str) and item in self.sources:
                found.append(self.sources[item])
            elif isinstance(item, str) and item in getattr(self.loader, "broken_sources", ()):
                continue  # the source entry itself was reported
            else:
                close = difflib.get_close_matches(str(item), list(self.sources), n=1)
                hint = f"did you mean {close[0]!r}?" if close else \
                    "add it under 'sources:' or write the source inline"
                self._bad(f"source {item!r} is not in the bibliography; {hint}", f, L("source"),
                          pname)
        if len(found) != len(items):
            return None
        return Provenance(sources=tuple(found), locators=locators)


# keep the names the loader uses for distribution keys importable for docs
DISTRIBUTION_LOCATION_KEYS = LOCATION_KEYS


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)
