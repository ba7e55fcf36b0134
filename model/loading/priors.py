"""The priors file of the calibrations (``assumptions/observations/priors.yaml``).

For each calibration model: a ``reference_date`` and one prior per model parameter, each a
distribution with a unit and exactly one of ``source:`` (inline ``{title, publisher, published,
url}``) or ``hypothetical:`` (a rationale). Read within the bounds of :mod:`model.loading.files`;
every problem is reported at once, each as ``file:line: what is wrong; how to fix``.
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import ObservationError, Problem, did_you_mean, display_path
from ..core.units import UnknownUnit, parse_amount, parse_unit
from ..core.vocabulary import CALIBRATION_MODELS
from .files import YAML_SUFFIXES, InputFileError, LDict, parse_yaml, read_text
from .observations import _DATE, _URL, DATE_RANGE, _close, _published_ok, _start_of_day

#: Distribution families of priors and their parameters.
PRIOR_FAMILIES = {
    "normal": ("mu", "sigma"),
    "lognormal": ("median", "sigma"),
    "halfnormal": ("sigma",),
}
#: The unit of each calibration-model parameter (``level``: the series' own unit, from
#: :data:`~model.core.vocabulary.CALIBRATION_MODELS`); tests check it against
#: :mod:`model.calibration.curves`, which the loaders may not import.
PRIOR_UNITS = {
    "growth": "1/year",
    "headroom": "log-ratio",
    "growth_decay": "1/year",
    "long_run_growth": "1/year",
    "decline": "1/year",
    "noise": "log",
}
_SOURCE_KEYS = ("title", "publisher", "published", "url")
_SOURCE_OPTIONAL = ("quote", "note", "fact_id")


@dataclass(frozen=True)
class Prior:
    """One prior: a distribution of a model parameter, with its provenance.

    Parameters
    ----------
    name : str
        Model parameter (``level``, ``growth``, ...).
    distribution : str
        One of :data:`PRIOR_FAMILIES`.
    args : dict
        Distribution parameters as numbers (``median`` already in ``unit``'s canonical form).
    unit : str
        Unit as written in the file.
    source : dict or None
        ``{title, publisher, published, url}`` (+ optional quote, note, fact_id).
    hypothetical : str or None
        Rationale, when there is no source.
    line : int
        Line of the prior in the priors file.
    """

    name: str
    distribution: str
    args: dict
    unit: str
    source: dict | None = None
    hypothetical: str | None = None
    line: int | None = None

    def provenance(self) -> dict:
        """``{"source": {...}}`` or ``{"hypothetical": "..."}``."""
        if self.source is not None:
            return {"source": dict(self.source)}
        return {"hypothetical": self.hypothetical}

    def to_dict(self) -> dict:
        """JSON-ready description (used for cache keys and reports)."""
        return {
            "distribution": self.distribution,
            **{k: float(v) for k, v in self.args.items()},
            "unit": self.unit,
            **self.provenance(),
        }


@dataclass
class ModelPriors:
    """Priors of one calibration model.

    Parameters
    ----------
    model : str
    reference_date : float
        Date at which ``level`` and ``growth`` are defined [decimal year].
    params : dict of str to Prior
    line : int
        Line of the model's block in the priors file.
    file : str
        Priors file, as shown in messages.
    """

    model: str
    reference_date: float
    params: dict[str, Prior] = field(default_factory=dict)
    line: int | None = None
    file: str | None = None

    def to_dict(self) -> dict:
        """JSON-ready description."""
        return {
            "reference_date": self.reference_date,
            "params": {k: p.to_dict() for k, p in self.params.items()},
        }


def load_priors(path: str | Path) -> dict[str, ModelPriors]:
    """Read and validate the priors file.

    Layout::

        models:
          logistic:
            reference_date: 2026-01-01
            level:
              distribution: lognormal     # of the run-rate at reference_date
              median: 10B
              sigma: 2.5                  # of the natural log
              unit: USD/year
              hypothetical: "..."         # or source: {title, publisher, published, url}
            growth: ...

    The file is read within the bounds of :mod:`model.loading.files` (size, aliases, no tags).

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    dict of str to ModelPriors
        Keyed by model name. Which parameters each model needs is checked by
        :mod:`model.calibration`.

    Raises
    ------
    ObservationError
        With every problem found (file:line), e.g. a prior with both or neither of ``source``
        and ``hypothetical``, an invalid date, a list where a value belongs.
    """
    path = Path(path)
    shown = display_path(path)
    problems: list[Problem] = []

    def bad(message: str, line: int | None = None, parameter: str | None = None) -> None:
        problems.append(Problem(message, shown, line, parameter))

    root = _priors_root(path, shown)
    models = _models_node(root, bad)
    if models is None:
        raise ObservationError(problems)
    out: dict[str, ModelPriors] = {}
    for model, mnode in models.items():
        mline = models.lines.get(model)
        if not _known_model(model, mline, bad):
            continue
        priors = _model_priors(str(model), mnode, mline, shown, bad, problems)
        if priors is not None:
            out[priors.model] = priors
    if problems:
        raise ObservationError(problems)
    return out


def _priors_root(path: Path, shown: str) -> LDict:
    """The parsed priors file's top-level mapping; ObservationError when there is none."""
    try:
        text = read_text(path, shown, YAML_SUFFIXES, "priors YAML file")
    except InputFileError as e:
        raise ObservationError(e.problem) from None
    root, probs = parse_yaml(text, shown, "a priors file (models: ...)")
    if probs:
        raise ObservationError(probs)
    if not isinstance(root, LDict):
        raise ObservationError(
            Problem(
                "the top level must be a mapping with a 'models:' key; "
                "see assumptions/observations/priors.yaml",
                shown,
                1,
            )
        )
    return root


def _models_node(root: LDict, bad) -> LDict | None:
    """The ``models:`` mapping, unknown top-level keys reported; None (reported) if missing."""
    for k in root:
        if k != "models":
            bad(
                f"unknown top-level key {k!r}; only 'models' is allowed (comments start with #)",
                root.lines.get(k),
            )
    models = root.get("models")
    if not isinstance(models, LDict):
        bad(
            "missing 'models:' mapping (model name -> reference_date and priors); add it",
            root.lines.get("models", 1),
        )
        return None
    return models


def _known_model(model, line, bad) -> bool:
    """Whether ``model`` (a key under ``models:``) is a calibration model (reported if not)."""
    if isinstance(model, str) and model in CALIBRATION_MODELS:
        return True
    close = did_you_mean(str(model), CALIBRATION_MODELS)
    hint = f"did you mean {close!r}?" if close else f"use one of {', '.join(CALIBRATION_MODELS)}"
    bad(f"unknown calibration model {str(model)!r}; {hint}", line, str(model))
    return False


def _unit_fits(model: str, prior: Prior, bad) -> None:
    """Report a prior whose unit is not its parameter's (``level``: the model's series unit,
    in any scale, e.g. ``USD bn/year``)."""
    want = CALIBRATION_MODELS[model] if prior.name == "level" else PRIOR_UNITS.get(prior.name)
    if want is None or prior.unit == want:
        return  # a parameter the model lacks is reported when it is calibrated
    try:
        fits = prior.name == "level" and parse_unit(prior.unit)[0] == want
    except UnknownUnit:
        fits = False
    if not fits:
        bad(
            f"unit {prior.unit!r} does not fit {prior.name}; use {want}",
            prior.line,
            f"{model}.{prior.name}",
        )


def _model_priors(
    model: str, mnode, mline: int | None, shown: str, bad, problems: list[Problem]
) -> ModelPriors | None:
    """One model's block as :class:`ModelPriors`; None (reported) when it is not a mapping."""
    if not isinstance(mnode, LDict):
        bad(
            "a model block must be a mapping of reference_date and parameter priors; "
            "indent them under the model's name",
            mline,
            model,
        )
        return None
    ref = None
    params: dict[str, Prior] = {}
    for key, pnode in mnode.items():
        pline = mnode.lines.get(key)
        key = str(key)
        who = f"{model}.{key}"
        if key == "reference_date":
            ref = _reference_date(pnode, pline, who, bad)
            continue
        prior = _model_param(key, pnode, pline, who, bad)
        if prior is not None:
            _unit_fits(model, prior, bad)
            params[key] = prior
    if ref is None and not any(p.parameter == f"{model}.reference_date" for p in problems):
        bad(
            "missing reference_date (the date at which level and growth are defined); add "
            "e.g. 'reference_date: 2026-01-01'",
            mline,
            model,
        )
    return ModelPriors(model, ref if ref is not None else math.nan, params, mline, shown)


def _model_param(key: str, pnode, pline: int | None, who: str, bad) -> Prior | None:
    """The prior of one model parameter; None (reported) when its block is invalid."""
    if not isinstance(pnode, LDict):
        bad(
            "a prior must be a mapping (distribution, its parameters, unit, and source "
            "or hypothetical); write it as an indented block",
            pline,
            who,
        )
        return None
    return _parse_prior(key, pnode, pline, who, bad)


def _reference_date(value, line, who, bad) -> float | None:
    """A ``reference_date`` as a decimal year (start of day); None (reported) when invalid."""
    text = (
        str(value).strip()
        if isinstance(value, (str, int)) and not isinstance(value, bool)
        else None
    )
    if text is None or not _DATE.match(text):
        bad(
            f"reference_date {value!r} must be a date written YYYY-MM-DD, e.g. 2026-01-01; "
            "correct it",
            line,
            who,
        )
        return None
    try:
        d = _dt.date.fromisoformat(text)
    except ValueError:
        bad(f"reference_date {text} is not a calendar date (no such day); correct it", line, who)
        return None
    if not DATE_RANGE[0] <= d.year <= DATE_RANGE[1]:
        bad(
            f"reference_date {text} is outside {DATE_RANGE[0]}-{DATE_RANGE[1]}; correct the year",
            line,
            who,
        )
        return None
    return _start_of_day(d)


def _scalar_text(value) -> str | None:
    """A YAML scalar as stripped text (None for mappings and lists)."""
    if isinstance(value, (dict, list)) or value is None:
        return None
    return str(value).strip()


def _parse_prior(name: str, node, line: int, who: str, bad) -> Prior | None:
    """One prior block as a :class:`Prior`; None when it has problems (reported)."""
    lines = node.lines
    ok = True

    def fail_at(msg: str, at: int | None) -> None:
        nonlocal ok
        ok = False
        bad(msg, at, who)

    def fail(msg: str, key: str | None = None) -> None:
        fail_at(msg, lines.get(key, line) if key else line)

    dist = _prior_family(node, fail)
    if dist is None:
        return None
    _check_prior_keys(node, dist, fail)
    unit, factor = _prior_unit(node, fail)
    args = _prior_args(node, dist, factor, fail)
    source, hypo = _prior_provenance(node, lines.get("source", line), fail, fail_at)
    if not ok:
        return None
    return Prior(name, dist, args, unit.strip(), source, hypo, line)


def _prior_family(node, fail) -> str | None:
    """The prior's distribution family; None (reported) when it is not one of ours."""
    dist = node.get("distribution")
    if isinstance(dist, (dict, list)) or dist not in PRIOR_FAMILIES:
        shown_dist = dist if not isinstance(dist, (dict, list)) else type(dist).__name__
        hint = (
            _close(dist, PRIOR_FAMILIES)
            if isinstance(dist, str)
            else f"use one of {', '.join(PRIOR_FAMILIES)}"
        )
        fail(
            f"distribution {shown_dist!r} is not a prior family; {hint} (write e.g. "
            "'distribution: lognormal' with median and sigma)",
            "distribution",
        )
        return None
    return dist


def _check_prior_keys(node, dist: str, fail) -> None:
    """Report keys a prior of family ``dist`` does not take."""
    allowed = tuple(PRIOR_FAMILIES[dist]) + ("distribution", "unit", "source", "hypothetical")
    for k in node:
        if k not in allowed:
            fail(f"unknown key {k!r} for a {dist} prior; {_close(k, allowed)}", k)


def _prior_unit(node, fail) -> tuple[str, float]:
    """The prior's unit as written ('' when missing) and the factor to its canonical form."""
    raw = node.get("unit")
    if isinstance(raw, (dict, list)):
        kind = "a mapping" if isinstance(raw, dict) else "a list"
        fail(f"unit is {kind}, not text; write one unit, e.g. unit: USD/year", "unit")
        return "", 1.0
    unit = _scalar_text(raw)
    if not unit:
        fail(
            "unit is missing; give the parameter's unit (e.g. USD/year, 1/year, log)",
            "unit" if "unit" in node else None,
        )
        unit = ""
    factor = 1.0
    if unit and unit.startswith("USD"):
        try:
            _, factor = parse_unit(unit)
        except UnknownUnit as exc:
            fail(str(exc), "unit")
    return unit, factor


def _prior_args(node, dist: str, factor: float, fail) -> dict:
    """The family's parameters as numbers (``median`` times ``factor``); invalid ones left out."""
    needed = PRIOR_FAMILIES[dist]
    args = {}
    for k in needed:
        if k not in node:
            fail(f"{dist} needs {', '.join(needed)}; add {k}")
            continue
        x = _prior_arg(k, node[k], factor, fail)
        if x is not None:
            args[k] = x
    return args


def _prior_arg(k: str, raw, factor: float, fail) -> float | None:
    """One distribution parameter as a number; None (reported) when it is not a valid one."""
    if isinstance(raw, (dict, list)):
        fail(
            f"{k} must be a number, not a {'mapping' if isinstance(raw, dict) else 'list'};"
            f" write e.g. {k}: 0.5",
            k,
        )
        return None
    try:
        x = parse_amount(raw)
    except ValueError as exc:
        fail(f"{k}: {exc}", k)
        return None
    if k == "median":
        x *= factor
    if k in ("sigma", "median") and not x > 0:
        fail(f"{k} must be positive (got {x:g}); give a value above 0", k)
        return None
    return x


def _prior_provenance(node, sline: int, fail, fail_at) -> tuple[dict | None, str | None]:
    """``(source, hypothetical)`` of a prior: exactly one of them given (else reported)."""
    has_src = "source" in node
    has_hyp = "hypothetical" in node
    if has_src and has_hyp:
        fail(
            "give exactly one of source and hypothetical, not both; keep the source if the "
            "numbers come from it"
        )
        return None, None
    if not has_src and not has_hyp:
        fail(
            "no provenance; add source: {title, publisher, published, url} or "
            "hypothetical: <why these numbers>"
        )
        return None, None
    if has_hyp:
        hypo = _scalar_text(node["hypothetical"])
        if not hypo:
            fail("hypothetical is empty; write the rationale for the numbers", "hypothetical")
        return None, hypo
    snode = node["source"]
    if not isinstance(snode, dict):
        fail(
            "source must be a mapping {title, publisher, published, url}; write it as an "
            "indented block",
            "source",
        )
        return None, None
    return _prior_source(snode, sline, fail_at), None


def _prior_source(snode: dict, sline: int, fail_at) -> dict:
    """A prior's ``source:`` mapping as text fields, every problem reported through ``fail_at``."""
    source = {}
    keys = _SOURCE_KEYS + _SOURCE_OPTIONAL
    for k, val in snode.items():
        kline = getattr(snode, "lines", {}).get(k, sline)
        if k not in keys:
            fail_at(f"unknown source key {k!r}; {_close(k, keys)}", kline)
            continue
        text = _scalar_text(val)
        if text is None and val is not None:
            fail_at(f"source.{k} must be text, not a list or mapping; write it on one line", kline)
            continue
        source[k] = text or ""
    _check_source_fields(source, sline, fail_at)
    return source


def _check_source_fields(source: dict, sline: int, fail_at) -> None:
    """Report missing source fields, and a url or published date that is malformed."""
    for k in _SOURCE_KEYS:
        if not source.get(k):
            fail_at(
                f"source.{k} is missing or empty; a source needs {', '.join(_SOURCE_KEYS)}", sline
            )
    if source.get("url") and not _URL.match(source["url"]):
        fail_at(f"source.url {source['url']!r} is not a web address; give the http(s) URL", sline)
    if source.get("published") and not _published_ok(source["published"]):
        fail_at(
            f"source.published {source['published']!r} is not a real date written "
            "YYYY, YYYY-MM, YYYY-MM-DD or n.d.; correct it",
            sline,
        )
