"""Load assumption files (YAML) into a validated :class:`~model.core.scenario.Scenario`.

``load_scenario(path, scenario=None)`` reads the file within bounds (:mod:`model.loading.files`),
resolves ``extends`` (relative paths, several levels, cycle detection), applies a named overlay
from ``scenarios:``, checks the header, the bibliography, every parameter
(:mod:`model.loading.parameters`), required parameters and correlations, and raises one
:class:`~model.core.errors.AssumptionError` listing *every* problem as ``file:line: parameter:
what is wrong; how to fix``. A problem in a parent file also names the ``extends:`` line that
brought it in.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core import vocabulary as V
from ..core.distributions import fixed
from ..core.errors import (
    AssumptionError,
    PlausibilityWarning,
    Problem,
    ScenarioError,
    did_you_mean,
    display_path,
)
from ..core.provenance import Source
from ..core.scenario import (
    Correlation,
    InputForm,
    Parameter,
    Scenario,
    correlation_matrix,
    nearest_correlation,
)
from ..core.units import parse_amount
from .files import LDict, LList, parse_yaml, read_yaml
from .parameters import Context, read_parameter
from .sources import parse_source
from .user_models import is_user_model_name, read_free_parameters, read_user_model
from .user_models import register as register_user_model

#: Longest name (it becomes a folder name; 64 keeps paths well under the 255-byte limit).
MAX_SLUG = 64
#: A name: lowercase letters, digits, '-' and '_' (at most :data:`MAX_SLUG` characters).
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}\Z")
#: Keys merged entry by entry along the ``extends`` chain (child entries replace the parent's).
MERGED_MAPPINGS = ("sources", "parameters", "scenarios")


# ============================================================================ public API
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
    sc = Loader(Path(path), allow_partial).load(scenario)
    emit_warnings(sc)
    return sc


def scenario_from_dict(data: dict, base: str | Path = ".", scenario: str | None = None) -> Scenario:
    """Build a scenario in code, by the same rules as a file (every number with a unit and a
    source or a hypothetical rationale; the same errors, located at ``<in code: name>``).

    Parameters
    ----------
    data : dict
        What an assumption file would hold (schema, name, title, model, years, parameters ...).
    base : str or Path
        The folder relative paths are read from (``extends:``, observation files,
        ``python:`` model files), as the folder of a file would be.
    scenario : str, optional
        An overlay of ``data["scenarios"]`` to apply.

    Examples
    --------
    >>> sc = scenario_from_dict({
    ...     "schema": 1, "name": "what-if", "model": "programme",
    ...     "extends": "base.yaml", "years": {"start": 2026, "end": 2040},
    ...     "parameters": {"capex_total": {"value": "10B", "unit": "USD",
    ...                                    "hypothetical": "a 10B build"}, ...}},
    ...     base="assumptions")
    """
    import yaml  # deferred: only scenarios built in code need the dumper

    if not isinstance(data, dict):
        raise AssumptionError(
            Problem(
                "a scenario in code is a dict, as a file's top level; pass one such as "
                "{'name': 'mine', 'model': 'programme', 'parameters': {...}}"
            )
        )
    name = str(data.get("name") or "scenario")
    path = Path(base) / f"{name}.yaml"
    loader = Loader(path)
    loader.shown = f"<in code: {name}>"
    loader.texts[path.resolve()] = yaml.safe_dump(data, sort_keys=False)
    sc = loader.load(scenario)
    emit_warnings(sc)
    return sc


def load_with_overlays(
    path, allow_partial: bool = False
) -> tuple[Scenario | None, dict[str, Scenario], list[Problem]]:
    """Load a file and each of its overlays, reading and parsing every file once.

    Returns
    -------
    (base, overlays, problems)
        ``base`` is None when the file itself is invalid; ``overlays`` maps each valid overlay
        to its scenario; ``problems`` lists every problem (an overlay's prefixed with
        ``[scenario NAME]``).
    """
    loader = Loader(Path(path), allow_partial)
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
        except AssumptionError as e:
            problems.extend(
                Problem(f"[scenario {name}] {p.message}", p.file, p.line, p.parameter, p.column)
                for p in e.problems
            )
        else:
            emit_warnings(out[name])
    return base, out, problems


def emit_warnings(sc: Scenario) -> None:
    """Issue a :class:`~model.core.errors.PlausibilityWarning` for each of ``sc.warnings``."""
    for w in sc.warnings:
        warnings.warn(w, PlausibilityWarning, stacklevel=3)


# ============================================================================ the merged chain
@dataclass
class Merged:
    """A file and its parents, merged (parent first, child overrides)."""

    top: dict = field(default_factory=dict)
    top_where: dict = field(default_factory=dict)
    sources: dict = field(default_factory=dict)
    parameters: dict = field(default_factory=dict)
    scenarios: dict = field(default_factory=dict)
    correlations: list = field(default_factory=list)
    inflation: tuple | None = None
    parameters_where: tuple | None = None
    partial: bool = False
    #: (file, line) of a ``portfolio:`` key: the file is a portfolio, not a scenario
    portfolio: tuple | None = None


class Loader:
    """Loads one file (and its ``extends`` chain, read once) under any of its overlays."""

    def __init__(self, path: Path, allow_partial: bool = False):
        self.path = Path(path)
        self.shown = display_path(self.path)
        self.allow_partial = allow_partial
        self.problems: list[Problem] = []
        self.files: list[Path] = []
        #: shown path of a parent file -> (child file, line of its extends:)
        self.extended_by: dict[str, tuple] = {}
        self._merged: Merged | None = None
        self._merge_problems: list[Problem] = []
        self._bibliography: tuple | None = None
        #: in-memory texts by resolved path (a scenario built in code)
        self.texts: dict[Path, str] = {}

    # -------------------------------------------------------------- errors
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
                p = Problem(
                    f"{p.message} (in a parent file: extended from {' <- '.join(links)})",
                    p.file,
                    p.line,
                    p.parameter,
                    p.column,
                )
            out.append(p)
        return kind(out)

    def where(self, merged: Merged, key: str) -> tuple:
        return merged.top_where.get(key, (self.shown, None))

    # -------------------------------------------------------------- extends
    def read_chain(
        self, path: Path, shown: str, seen: tuple, line_from=None, written: str | None = None
    ) -> list[LDict]:
        """The documents of the chain, parent first."""
        resolved = path.resolve()
        if resolved in seen:
            chain = " -> ".join(display_path(p) for p in (*seen, resolved))
            self.add(f"'extends' makes a cycle ({chain}); remove one link", *line_from, "extends")
            return []
        data = self.read_document(path, shown, line_from, written)
        if data is None:
            return []
        self.files.append(path)
        parent = data.get("extends")
        if parent is None:
            return [data]
        if not isinstance(parent, str) or not parent.strip():
            self.add(
                "'extends' is not a file path; write extends: base.yaml",
                shown,
                data.lines.get("extends"),
                "extends",
            )
            return [data]
        ppath = path.parent / parent
        here = (shown, data.lines.get("extends"))
        return self.read_chain(ppath, display_path(ppath), (*seen, resolved), here, parent) + [data]

    def read_document(self, path: Path, shown: str, line_from, written) -> LDict | None:
        """One file of the chain as a mapping (None, reported, when it cannot be one)."""
        if path.resolve() in self.texts:
            data, probs = parse_yaml(self.texts[path.resolve()], shown)
        else:
            data, probs = read_yaml(path, shown)
        if probs and data is None and line_from is not None and probs[0].line is None:
            msg = probs[0].message  # the parent cannot be read: say so at the extends: line
            if "not found" in msg:
                msg = "not found; the path is relative to this file"
            self.add(f"extends file {written or shown!r}: {msg}", *line_from, "extends")
            return None
        if line_from is not None:
            self.extended_by[shown] = line_from
        self.problems.extend(probs)
        if data is None and probs:
            return None
        if not isinstance(data, LDict):
            self.add(
                "the top level must be a mapping (schema:, name:, model:, parameters: "
                "...); see 'capex new NAME' for a template",
                shown,
                getattr(data, "line", 1) or 1,
            )
            return None
        return data

    def add(self, message: str, file, line=None, parameter=None) -> None:
        """Record a problem."""
        self.problems.append(Problem(message, file, line, parameter))

    def merged(self) -> Merged | None:
        """The file and its parents merged (read and parsed once per loader)."""
        if self._merged is not None:
            self.problems = list(self._merge_problems)
            return self._merged
        chain = self.read_chain(self.path, self.shown, ())
        if not chain:
            return None
        merged = Merged()
        for doc in chain:  # parent first, child overrides
            for key, val in doc.items():
                self.merge_key(merged, doc, key, val, last=doc is chain[-1])
        self._merged = merged
        self._merge_problems = list(self.problems)
        return merged

    def merge_key(self, merged: Merged, doc: LDict, key, val, last: bool) -> None:
        where = (doc.file, doc.lines.get(key))
        if key == "portfolio":  # a portfolio file: load() says which command runs it
            merged.portfolio = where
            return
        if key not in V.TOP_LEVEL_KEYS:
            close = did_you_mean(str(key), V.TOP_LEVEL_KEYS)
            hint = (
                f"did you mean {close!r}?" if close else f"allowed: {', '.join(V.TOP_LEVEL_KEYS)}"
            )
            self.problems.append(
                Problem(f"unknown top-level key {key!r}; {hint}", *where, str(key))
            )
        elif key in MERGED_MAPPINGS:
            if key == "parameters":
                merged.parameters_where = where
            if val is None:
                return
            if not isinstance(val, LDict):
                self.problems.append(
                    Problem(f"'{key}' is not a mapping; indent its entries under it", *where, key)
                )
                return
            target = getattr(merged, key)
            for k, v in val.items():
                target[k] = (v, doc.file, val.lines.get(k))
        elif key == "correlations":
            self.merge_correlations(merged, val, doc.file, where)
        elif key == "inflation":
            merged.inflation = (val, doc.file, doc.lines.get(key))
        elif key == "partial":
            if last and not isinstance(val, bool):
                self.problems.append(
                    Problem("partial is not true or false; write partial: true", *where, key)
                )
            elif last:
                merged.partial = val
        elif key != "extends":
            merged.top[key] = val
            merged.top_where[key] = where

    def merge_correlations(self, merged: Merged, val, file, where) -> None:
        if val is None:
            return
        if not isinstance(val, LList):
            self.problems.append(
                Problem(
                    "'correlations' is not a list; write one [input_a, input_b, rho] per line",
                    *where,
                    "correlations",
                )
            )
            return
        merged.correlations.extend((item, file, line) for item, line in zip(val, val.lines))

    # -------------------------------------------------------------- main
    def load(self, overlay: str | None) -> Scenario:
        """The scenario of the file under ``overlay`` (None: the file as written)."""
        merged = self.merged()
        if merged is None:
            raise self.error()
        if merged.portfolio is not None:
            raise AssumptionError(
                Problem(
                    "is a portfolio file (portfolio: members: ...), not one scenario; run it "
                    "with 'capex portfolio FILE', compare or report it with 'capex compare' or "
                    "'capex report'",
                    *merged.portfolio,
                    "portfolio",
                )
            )
        header = self.read_header(merged)
        sources, broken = self.bibliography(merged)
        overlays, overlay_params, overlay_corr = self.read_overlays(merged, overlay)
        params_raw = {**merged.parameters, **overlay_params}
        ctx = Context(
            sources,
            header["currency"],
            header["currency_year"],
            None,
            header["start"],
            header["end"],
            broken_sources=broken,
        )
        ctx.inflation = self.read_inflation(merged, ctx)
        user = self.read_user_model(merged, header)
        params, unused = {}, []
        if header["model"] is not None and header["start"] is not None:
            if user is not None:
                params = read_free_parameters(ctx, params_raw)
            elif V.is_built_in(header["model"]):
                params, unused = self.read_parameters(merged, header["model"], params_raw, ctx)
        self.problems.extend(ctx.problems)
        entries = merged.correlations if overlay_corr is None else overlay_corr
        correlations = self.read_correlations(
            entries, params, set(params_raw), header["model"] is not None
        )
        if self.problems:
            raise self.error()
        return self.assemble(
            header,
            params,
            sources,
            correlations,
            overlays,
            overlay,
            unused,
            ctx.warnings,
            merged.partial,
            user,
        )

    def read_user_model(self, merged: Merged, header: dict):
        """The user model the file names (``model: python`` or an installed one), registered
        with the output vocabulary; None for a built-in model (or when reported)."""
        model = header["model"]
        if model is None or V.is_built_in(model):
            for key in ("python", "outputs"):
                if merged.top.get(key) is not None and model is not None:
                    self.add(
                        f"'{key}:' is only for a user model (model: python); the {model} model "
                        "has its own outputs",
                        *self.where(merged, key),
                        key,
                    )
            return None

        def bad(message, key, line=None, file=None):
            shown, at = self.where(merged, key.split(".")[0])
            if file is not None:  # a problem in the model's own file, at its line
                shown, at = file, None
            self.add(message, shown, line if line is not None else at, key)

        user = read_user_model(model, merged.top, merged.top_where, self.shown, bad)
        if user is None:
            header["model"] = None
            return None
        register_user_model(user)
        header["model"] = user.key
        return user

    def assemble(
        self,
        header,
        params,
        sources,
        correlations,
        overlays,
        overlay,
        unused,
        warnings_,
        partial,
        user=None,
    ) -> Scenario:
        files = list(dict.fromkeys(self.files))
        extra = [p.calibrated["observations"] for p in params.values() if p.calibrated]
        extra += [  # the data file an empirical distribution resamples
            Path(p.file).parent / dict(p.dist.given)["data"]
            for p in params.values()
            if p.form == "scalar" and getattr(p.dist, "family", None) == "empirical"
        ]
        if user is not None and user.path is not None:
            extra.append(user.path)
        h = hashlib.sha256()
        for fpath in files + extra:
            text = self.texts.get(Path(fpath).resolve())
            h.update(text.encode() if text is not None else Path(fpath).read_bytes())
        h.update(f"overlay={overlay}".encode())
        return Scenario(
            name=header["name"],
            title=header["title"],
            model=header["model"],
            currency=header["currency"],
            start=header["start"],
            end=header["end"],
            parameters=params,
            sources=sources,
            correlations=correlations,
            overlays=overlays,
            path=self.path,
            files=files,
            description=header["description"],
            currency_year=header["currency_year"],
            timing=header["timing"],
            overlay=overlay,
            input_hash=h.hexdigest(),
            extra_hash_files=extra,
            partial=partial,
            unused=unused,
            warnings=[str(w) for w in dict.fromkeys(warnings_)],
            user_model=user,
        )

    # -------------------------------------------------------------- header
    def read_header(self, merged: Merged) -> dict:
        """schema, model, name, title, description, currency, currency_year, timing, years."""
        top = merged.top
        broken_chain = any(p.parameter == "extends" for p in self.problems)

        def bad(msg, key):
            if broken_chain and msg.startswith("missing"):
                return  # the parent that would give it could not be read (reported)
            self.problems.append(Problem(msg, *self.where(merged, key), key))

        check_schema(top.get("schema"), bad)
        start, end = self.read_years(top.get("years"), self.where(merged, "years"), broken_chain)
        currency = top.get("currency", "USD")
        if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
            bad(f"currency {currency!r} is not a 3-letter code; write one such as USD", "currency")
            currency = "USD"
        currency_year = top.get("currency_year")
        if currency_year is not None and (
            not isinstance(currency_year, int) or isinstance(currency_year, bool)
        ):
            bad("currency_year is not a year; write one such as 2025", "currency_year")
            currency_year = None
        timing = top.get("timing", "end")
        if timing not in ("end", "mid"):
            bad(f"timing {timing!r} unknown; use 'end' (flows at year end) or 'mid'", "timing")
            timing = "end"
        name = read_name(top.get("name"), bad, self.path.stem)
        title = read_text_field(top, "title", bad)
        return {
            "model": read_model_kind(top.get("model"), bad),
            "name": name,
            "title": title if title is not None else name,
            "description": read_text_field(top, "description", bad) or "",
            "currency": currency,
            "currency_year": currency_year,
            "timing": timing,
            "start": start,
            "end": end,
        }

    def read_years(self, raw, where, broken_chain: bool) -> tuple[int | None, int | None]:
        problems = years_problems(raw, where, broken_chain)
        self.problems.extend(problems)
        if problems or raw is None:
            return None, None
        return raw["start"], raw["end"]

    # -------------------------------------------------------------- bibliography
    def bibliography(self, merged: Merged) -> tuple[dict[str, Source], set[str]]:
        """The merged ``sources:`` (parsed once per loader), and the keys of broken entries."""
        if self._bibliography is None:
            sources: dict[str, Source] = {}
            problems: list[Problem] = []
            for key, (raw, f, line) in merged.sources.items():
                src, probs = parse_source(str(key), raw, f, line, getattr(raw, "lines", {}))
                problems.extend(probs)
                if src is not None:
                    sources[str(key)] = src
            self._bibliography = (sources, {str(k) for k in merged.sources}, problems)
        sources, keys, problems = self._bibliography
        self.problems.extend(problems)
        return sources, keys

    # -------------------------------------------------------------- overlays
    def read_overlays(self, merged: Merged, overlay: str | None):
        """The overlays' names and descriptions; the chosen overlay's parameters and (when it
        gives any) correlations, which replace the file's."""
        overlays: dict[str, str] = {}
        params: dict = {}
        corr = None
        for oname, (raw, f, line) in merged.scenarios.items():
            if not isinstance(raw, LDict):
                self.problems.append(
                    Problem(
                        "an overlay is not a mapping; indent the parameters "
                        "it replaces under its name",
                        f,
                        line,
                        str(oname),
                    )
                )
                continue
            if not isinstance(oname, str) or not SLUG.match(oname):
                self.problems.append(
                    Problem(
                        f"overlay name {oname!r} must be a slug (lowercase letters, digits, '-' or "
                        "'_', at most 64 characters; it becomes a folder name); rename it, e.g. "
                        "bear or high-prices",
                        f,
                        line,
                        "scenarios",
                    )
                )
                continue
            overlays[oname] = str(raw.get("description") or "")
            if oname == overlay:
                params, corr = self.overlay_entries(raw, f)
        if overlay is not None and overlay not in overlays:
            names = ", ".join(overlays) or "none defined"
            close = did_you_mean(overlay, list(overlays))
            hint = f"did you mean {close!r}? " if close else ""
            self.problems.append(
                Problem(
                    f"unknown scenario overlay {overlay!r}; {hint}available: {names}",
                    self.shown,
                    None,
                    "--scenario",
                )
            )
            raise self.error(ScenarioError)
        return overlays, params, corr

    def overlay_entries(self, raw: LDict, f) -> tuple[dict, list | None]:
        params: dict = {}
        corr = None
        for k, v in raw.items():
            if k == "description":
                continue
            if k == "correlations":
                if not isinstance(v, LList) and v is not None:
                    self.problems.append(
                        Problem(
                            "'correlations' is not a list; write one [input_a, input_b, rho] per "
                            "line",
                            f,
                            raw.lines.get(k),
                            "correlations",
                        )
                    )
                items = v if isinstance(v, LList) else LList()
                corr = [(item, f, line) for item, line in zip(items, items.lines)]
                continue
            params[k] = (v, f, raw.lines.get(k))
        return params, corr

    # -------------------------------------------------------------- inflation
    def read_inflation(self, merged: Merged, ctx: Context) -> dict[int, float] | None:
        if merged.inflation is None:
            return None
        raw, f, line = merged.inflation
        spec = V.ParamSpec(
            "inflation",
            ("1/year", "share"),
            "series",
            "Inflation rate by year, to convert between currency years.",
            "finance",
            low=-0.5,
            high=1.0,
        )
        sub = Context(ctx.sources, ctx.currency, None, None, 1900, 2200, ctx.broken_sources)
        p = read_parameter(sub, spec, raw, f, line)
        self.problems.extend(sub.problems)
        if p is None:
            return None
        if p.form != InputForm.SERIES or p.is_uncertain:
            self.problems.append(
                Problem(
                    "inflation is not a series of fixed yearly rates; write "
                    "values: {2023: 0.041, ...}",
                    f,
                    line,
                    "inflation",
                )
            )
            return None
        return {y: d.mean() for y, d in p.points}

    # -------------------------------------------------------------- parameters
    def read_parameters(self, merged: Merged, model: str, params_raw: dict, ctx: Context):
        """Every parameter; then switches decide what else is required, what is unused, and
        which off-switch defaults (from the vocabulary) fill in."""
        vocab = V.VOCABULARY[model]
        params: dict[str, Parameter] = {}
        for pname, (raw, f, line) in params_raw.items():
            spec = vocab.get(pname)
            if spec is None:
                close = did_you_mean(pname, vocab)
                hint = (
                    f"did you mean {close!r}?"
                    if close
                    else f"the {model} vocabulary is listed in assumptions/README.md"
                )
                ctx.bad(f"unknown parameter for model {model!r}; {hint}", f, line, str(pname))
                continue
            param = read_parameter(ctx, spec, raw, f, line)
            if param is not None:
                params[pname] = param
        switches = {
            s.name: params[s.name].value if s.name in params else s.default
            for s in vocab.values()
            if s.is_switch
        }
        unused = (
            []
            if merged.partial
            else [k for k, p in params.items() if not V.is_used(p.spec, switches)]
        )
        for k in unused:
            del params[k]
        missing = self.fill_defaults(vocab, params, params_raw, switches)
        self.report_missing(merged, vocab, params_raw, missing)
        return params, unused

    @staticmethod
    def fill_defaults(vocab, params, params_raw, switches) -> list:
        """Add the vocabulary's off-switch defaults; return the required parameters missing."""
        missing = []
        for s in vocab.values():
            if s.name in params or s.name in params_raw:
                continue
            if V.required_if(s, switches):
                missing.append(s)
            elif s.default is not None:
                params[s.name] = Parameter(
                    s.name,
                    s,
                    InputForm.SWITCH if s.is_switch else InputForm.SCALAR,
                    dist=None if s.is_switch else fixed(float(s.default)),
                    value=s.default if s.is_switch else None,
                    unit=s.unit,
                    default=True,
                )
        return missing

    def report_missing(self, merged: Merged, vocab, params_raw, missing) -> None:
        # a misspelt name already got "did you mean": do not also call its target missing
        misspelt = {did_you_mean(k, vocab) for k in params_raw if k not in vocab}
        missing = [s for s in missing if s.name not in misspelt]
        if not missing or any(p.parameter == "extends" for p in self.problems):
            return  # nothing missing, or the parent chain is broken (its parameters unread)
        if merged.partial and not self.allow_partial:
            self.problems.append(
                Problem(
                    "this file is partial (a base meant to be extended) and lacks required "
                    "parameters; run a file that 'extends' it",
                    self.shown,
                    None,
                    "partial",
                )
            )
        elif not merged.partial:
            names = ", ".join(f"{s.name} [{s.unit or s.kind}]" for s in missing)
            self.problems.append(
                Problem(
                    f"missing required parameters: {names}; add them under 'parameters:' (each "
                    "with a unit and a source or a hypothetical rationale)",
                    *(merged.parameters_where or (self.shown, None)),
                    "parameters",
                )
            )

    # -------------------------------------------------------------- correlations
    def read_correlations(self, entries, params, given: set, model_known: bool):
        out: list[Correlation] = []
        seen: dict[frozenset, int] = {}
        for item, f, line in entries:
            c = read_correlation(item, f, line, params, given, model_known, self.problems)
            if c is None:
                continue
            key = frozenset((c.a, c.b))
            if key in seen:
                self.problems.append(
                    Problem(
                        f"duplicate pair (first given on line {seen[key]}); keep one",
                        f,
                        line,
                        f"correlations[{c.a}, {c.b}]",
                    )
                )
                continue
            seen[key] = line
            out.append(c)
        if out and not self.problems:
            self.check_positive_definite(out)
        return out

    def check_positive_definite(self, out: list[Correlation]) -> None:
        names = sorted({c.a for c in out} | {c.b for c in out})
        mat = correlation_matrix(names, out)
        eig = np.linalg.eigvalsh(mat)
        if eig.min() >= -1e-10:
            return
        near = nearest_correlation(mat)
        pairs = ", ".join(
            f"[{names[i]}, {names[j]}, {near[i, j]:.2f}]"
            for i in range(len(names))
            for j in range(i + 1, len(names))
            if any({c.a, c.b} == {names[i], names[j]} for c in out)
        )
        # point at the file being loaded when it declares correlations (a child that adds one
        # is the usual cause), else at the first inherited one
        own = [c for c in out if c.file == self.shown]
        first = (own or out)[0]
        self.problems.append(
            Problem(
                f"the correlation matrix is not positive semi-definite (smallest eigenvalue "
                f"{eig.min():.3f}): these coefficients cannot hold together; the nearest valid "
                f"matrix has {pairs}",
                first.file,
                first.line,
                "correlations",
            )
        )


# ============================================================================ helpers
def check_schema(version, bad) -> None:
    if version is None:
        bad(f"missing 'schema:'; add 'schema: {V.SCHEMA_VERSIONS[-1]}' at the top", "schema")
    elif isinstance(version, bool) or version not in V.SCHEMA_VERSIONS:
        bad(
            f"unknown schema version {version!r}; this capex reads schema "
            f"{', '.join(map(str, V.SCHEMA_VERSIONS))}",
            "schema",
        )


def read_model_kind(model, bad) -> str | None:
    if model is None:
        bad(f"missing 'model:'; use one of {', '.join(V.MODEL_KINDS)}", "model")
        return None
    if is_user_model_name(model):
        return model
    if isinstance(model, (dict, list)) or model not in V.MODEL_KINDS:
        close = did_you_mean(str(model), V.MODEL_KINDS)
        hint = (
            f"did you mean {close!r}?"
            if close
            else f"use one of {', '.join(V.MODEL_KINDS)}, python (your own function) or an "
            "installed model (package.name)"
        )
        bad(f"unknown model kind {model!r}; {hint}", "model")
        return None
    return model


def slug_problem(name, what: str = "name") -> str | None:
    """What is wrong with a name (a slug), or None when it is one.

    Parameters
    ----------
    name : object
        The name as written.
    what : str
        How the message calls it (``name``, ``member name``, ``overlay``).

    Returns
    -------
    str or None
        ``what is wrong; how to fix``.
    """
    if isinstance(name, str) and len(name) > MAX_SLUG:
        return (
            f"{what} is longer than {MAX_SLUG} characters ({len(name)}); shorten it (it "
            "becomes a folder name)"
        )
    if not isinstance(name, str) or not SLUG.match(name):
        shown = repr(name) if len(repr(name)) <= 80 else repr(name)[:77] + "..."
        return f"{what} {shown} is not a slug; use lowercase letters, digits, '-' or '_'"
    return None


def read_text_field(top, key: str, bad) -> str | None:
    """``top[key]`` as text (numbers are written as text; lists and mappings are refused
    through ``bad``); None when absent, null or refused."""
    value = top.get(key)
    if value is None:
        return None
    if isinstance(value, (dict, list, tuple, set)):
        kind = "a mapping" if isinstance(value, dict) else "a list"
        bad(f'{key} is {kind}, not text; write it as one string: {key}: "..."', key)
        return None
    return str(value)


def read_name(name, bad, fallback: str) -> str:
    """The file's ``name:`` (``fallback`` after reporting through ``bad`` when it is wrong)."""
    if name is None:
        bad("missing 'name:'; give a short slug such as anthropic-fluidstack", "name")
        return fallback
    problem = slug_problem(name)
    if problem:
        bad(problem, "name")
        return fallback
    return name


def years_problems(raw, where, broken_chain: bool) -> list[Problem]:
    """What is wrong with ``years:`` (empty when it is a valid ``{start, end}``)."""
    if raw is None:
        return (
            []
            if broken_chain
            else [
                Problem("missing 'years:'; add 'years: {start: 2025, end: 2040}'", *where, "years")
            ]
        )
    if not isinstance(raw, dict):
        return [
            Problem(
                "years must be a mapping; write 'years: {start: 2025, end: 2040}'", *where, "years"
            )
        ]
    lines = getattr(raw, "lines", {})
    out = []
    for k in raw:
        if k not in ("start", "end"):
            close = did_you_mean(str(k), ("start", "end"))
            hint = f"did you mean {close!r}?" if close else "only start and end are allowed"
            out.append(
                Problem(
                    f"unknown key {k!r} in years; {hint} (the model runs in steps of one year)",
                    where[0],
                    lines.get(k, where[1]),
                    "years",
                )
            )
    out += [
        Problem(f"years has no {k}; write 'years: {{start: 2025, end: 2040}}'", *where, "years")
        for k in ("start", "end")
        if k not in raw
    ]
    if out:
        return out
    s, e = raw["start"], raw["end"]
    if not all(
        isinstance(v, int) and not isinstance(v, bool) and 1900 <= v <= 2200 for v in (s, e)
    ):
        return [
            Problem(
                "years.start and years.end must be years between 1900 and 2200; write "
                "e.g. 'years: {start: 2025, end: 2040}'",
                *where,
                "years",
            )
        ]
    if e < s:
        return [Problem(f"years.end ({e}) is before years.start ({s}); swap them", *where, "years")]
    if e - s > 100:
        return [Problem("the horizon is longer than 100 years; shorten it", *where, "years")]
    return []


def read_correlation(
    item, f, line, params, given: set, model_known: bool, problems: list[Problem]
) -> Correlation | None:
    """One ``[input_a, input_b, rho]`` entry (None: reported, or its inputs were)."""
    if not isinstance(item, list) or len(item) != 3:
        problems.append(
            Problem(
                "a correlation is not a list of three; write [input_a, input_b, rho]",
                f,
                line,
                "correlations",
            )
        )
        return None
    a, b, rho = item
    who = f"correlations[{a}, {b}]"
    ok = all(
        correlated_input_ok(n, params, given, model_known, f, line, who, problems) for n in (a, b)
    )
    if ok and a == b:
        problems.append(
            Problem(
                "an input cannot be correlated with itself; name two different inputs", f, line, who
            )
        )
        ok = False
    try:
        r = parse_amount(rho)
    except ValueError as e:
        problems.append(Problem(f"coefficient {e}", f, line, who))
        return None
    if not -1.0 <= r <= 1.0:
        problems.append(
            Problem(
                f"coefficient {r:g} is outside [-1, 1]; a rank correlation lies in [-1, 1]",
                f,
                line,
                who,
            )
        )
        return None
    return Correlation(a, b, r, f, line) if ok else None


def correlated_input_ok(n, params, given, model_known, f, line, who, problems) -> bool:
    if isinstance(n, str) and n not in params and (n in given or not model_known):
        return False  # the parameter itself was reported already
    if not isinstance(n, str) or n not in params:
        close = did_you_mean(str(n), list(params))
        hint = f"did you mean {close!r}?" if close else "name an uncertain parameter"
        problems.append(Problem(f"unknown parameter {n!r}; {hint}", f, line, who))
        return False
    p = params[n]
    if not p.is_uncertain:
        problems.append(
            Problem(
                f"{n!r} is fixed, so it cannot be correlated; give it a "
                "distribution or drop the correlation",
                f,
                line,
                who,
            )
        )
        return False
    if p.form == InputForm.SERIES and p.years_move == "independent":
        problems.append(
            Problem(
                f"{n!r} moves independently by year; correlations need one draw "
                "per input (years_move: together)",
                f,
                line,
                who,
            )
        )
        return False
    return True
