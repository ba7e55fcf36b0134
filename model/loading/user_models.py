"""Reading a user model: ``model: python`` with ``python: file.py:function`` and ``outputs:``,
or ``model: <package>.<name>`` installed under the ``capex.models`` entry-point group
(:mod:`model.core.usermodel`).

Loading runs the model file's Python code (as pytest runs a conftest.py). An error in it (a
syntax error, an exception at import, a missing function) is reported like any other problem of
the assumption file: ``file:line: parameter: what is wrong; how to fix``, exit 2.
"""

from __future__ import annotations

import hashlib
import re
import sys
import traceback
import types
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from ..core import vocabulary as V
from ..core.errors import did_you_mean, display_path
from ..core.units import CANONICAL_UNITS, UnknownUnit, parse_unit
from ..core.usermodel import (
    ENTRY_POINT_GROUP,
    PYTHON_MODEL,
    USER_OUTPUT_KINDS,
    ModelDefinition,
    UserModel,
    exception_text,
    user_traceback,
)
from .files import InputFileError, read_text
from .parameters import read_parameter

_REFERENCE = re.compile(r"^(?P<file>[^:]+\.py):(?P<function>[A-Za-z_][A-Za-z0-9_]*)\Z")
#: Fields of one entry of ``outputs:``.
OUTPUT_KEYS = ("unit", "kind", "description", "label")
_NAME = re.compile(r"^[a-z][a-z0-9_]*\Z")
#: ``model:`` values that name an installed model: ``package.name``.
_ENTRY_NAME = re.compile(r"^[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*)+\Z")


def is_user_model_name(model) -> bool:
    """Whether ``model:`` names a user model (``python`` or an entry point ``pkg.name``)."""
    return isinstance(model, str) and (model == PYTHON_MODEL or bool(_ENTRY_NAME.match(model)))


def read_user_model(model: str, top: Mapping, top_where: Mapping, shown: str, bad) -> UserModel:
    """The user model a file names, or None (each problem reported through
    ``bad(message, key)``; ``top`` is the merged top level, ``top_where`` where each key is)."""
    if model == PYTHON_MODEL:
        return _python_model(top, top_where, shown, bad)
    if top.get("python") is not None:
        bad(f"'python:' is only for 'model: python'; model {model!r} is installed", "python")
    if top.get("outputs") is not None:
        bad(f"model {model!r} declares its own outputs; remove 'outputs:'", "outputs")
    return _entry_point_model(model, bad)


# ============================================================================ python: file:function
def _python_model(top: Mapping, top_where: Mapping, shown: str, bad) -> UserModel | None:
    ref = top.get("python")
    if not isinstance(ref, str) or not _REFERENCE.match(ref.strip()):
        bad(
            f"python {ref!r} does not name a function; write 'python: my_model.py:my_function' "
            "(the file relative to this one, then the function)",
            "python",
        )
        return None
    m = _REFERENCE.match(ref.strip())
    declaring = top_where.get("python", (shown, None))[0]
    path = Path(declaring).parent / m["file"]
    outputs = read_outputs(top.get("outputs"), bad)
    function = _load_function(path, m["function"], bad)
    if function is None or outputs is None:
        return None
    key = f"python:{display_path(path)}:{m['function']}"
    return UserModel(key, ref.strip(), function, outputs, path, _docline(function))


def _load_function(path: Path, name: str, bad):
    """Import the model file as a fresh module and return its function ``name``."""
    shown = display_path(path)
    try:
        text = read_text(path, shown, (".py",), "Python file")
    except InputFileError as e:
        bad(f"model file {shown}: {e.problem.message}", "python")
        return None
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    module = types.ModuleType(f"capex_user_model_{digest}")
    module.__file__ = str(path.resolve())
    try:
        code = compile(text, str(path.resolve()), "exec")
        sys.modules[module.__name__] = module  # dataclasses and pickling look modules up here
        exec(code, module.__dict__)  # noqa: S102 - the user's own model file, documented
    except (Exception, SystemExit) as e:  # the user's code: any error (even sys.exit) is
        sys.modules.pop(module.__name__, None)
        bad(user_error_text(e, path, f"importing {shown}"), "python", _line_in(e, path), shown)
        return None
    fn = getattr(module, name, None)
    if not callable(fn):
        found = [k for k, v in vars(module).items() if callable(v) and not k.startswith("_")]
        close = did_you_mean(name, found)
        hint = f"did you mean {close!r}?" if close else f"it defines: {', '.join(found) or 'none'}"
        bad(f"{shown} has no function {name!r}; {hint}", "python")
        return None
    return fn


def _line_in(e: BaseException, path: Path) -> int | None:
    """The line of ``path`` an exception comes from (a syntax error's own line), or None."""
    if isinstance(e, SyntaxError) and e.filename == str(path.resolve()):
        return e.lineno
    target = path.resolve()
    frames = [f for f in traceback.extract_tb(e.__traceback__) if Path(f.filename) == target]
    return frames[-1].lineno if frames else None


def user_error_text(e: BaseException, path: Path | None, doing: str) -> str:
    """An exception raised by user code, with the frames of the user's file: the error is in
    the user's model, not in capex."""
    shown, _ = user_traceback(e, path)
    where = display_path(path) if path is not None else "the model's package"
    return (
        f"{exception_text(e)} (raised while {doing}); the error is in your model "
        f"({where}), not in capex; fix the code at the frames below\n{shown}"
    )


def _docline(fn) -> str:
    doc = (getattr(fn, "__doc__", None) or "").strip()
    return doc.splitlines()[0] if doc else ""


# ============================================================================ outputs:
def read_outputs(raw, bad) -> tuple[V.OutputSpec, ...] | None:
    """``outputs: {name: {unit, kind, description?, label?}}`` as output specs (None: reported).
    A user model declares at least one metric; names are lower-case identifiers; a name a
    built-in model uses must keep its unit and kind."""
    if not isinstance(raw, Mapping) or not raw:
        bad(
            "a python model needs 'outputs:'; declare each, e.g. outputs: {gap_final: {unit: "
            "USD/year, kind: metric}}",
            "outputs",
        )
        return None
    specs, ok = [], True
    lines = getattr(raw, "lines", {})
    for name, entry in raw.items():
        spec = _read_output(str(name), entry, _at(bad, lines.get(name)))
        ok = ok and spec is not None
        if spec is not None:
            specs.append(spec)
    if ok and not any(s.kind == "metric" for s in specs):
        bad("no output is a metric; declare at least one with 'kind: metric'", "outputs")
        ok = False
    if not ok:
        return None
    return tuple(sorted(specs, key=lambda s: USER_OUTPUT_KINDS.index(s.kind)))


def _at(bad, line):
    """``bad`` reporting at ``line`` (when the caller's ``bad`` takes one and it is known)."""
    if line is None:
        return bad
    return lambda message, key: bad(message, key, line)


def _output_text(entry, key: str, where: str, bad) -> str | None:
    """An output's ``label:`` or ``description:`` as text (None when absent or refused)."""
    value = entry.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, (Mapping, list, tuple, set)):
        bad(f'{key} is not text; write it as one string: {key}: "..."', where)
        return None
    return str(value)


def _read_output(name: str, entry, bad) -> V.OutputSpec | None:
    where = f"outputs.{name}"
    if not _NAME.match(name):
        bad(f"output name {name!r} is not a lower-case identifier; write e.g. gap_final", where)
        return None
    if not isinstance(entry, Mapping):
        bad("an output is a mapping; write {unit: USD/year, kind: metric}", where)
        return None
    unknown = [k for k in entry if k not in OUTPUT_KEYS]
    for k in unknown:
        close = did_you_mean(str(k), OUTPUT_KEYS)
        hint = f"did you mean {close!r}?" if close else f"use {', '.join(OUTPUT_KEYS)}"
        bad(f"unknown field {str(k)!r}; {hint}", where)
    kind = entry.get("kind")
    if not isinstance(kind, str) or kind not in USER_OUTPUT_KINDS:
        close = did_you_mean(str(kind), USER_OUTPUT_KINDS) if isinstance(kind, str) else None
        hint = f"did you mean {close!r}?" if close else f"use {' or '.join(USER_OUTPUT_KINDS)}"
        bad(f"kind {kind!r} unknown; {hint}", where)
        return None
    unit = _output_unit(entry.get("unit"), where, bad)
    if unit is None or unknown:
        return None
    built_in = V.BUILT_IN_OUTPUTS.get(name)
    if built_in is not None and (built_in.unit, built_in.kind) != (unit, kind):
        bad(
            f"{name!r} is a built-in output ({built_in.kind} in {built_in.unit}); keep its unit "
            "and kind or choose another name",
            where,
        )
        return None
    label = _output_text(entry, "label", where, bad)
    description = _output_text(entry, "description", where, bad)
    if any(isinstance(entry.get(k), (Mapping, list, tuple, set)) for k in ("label", "description")):
        return None
    label = label or name.replace("_", " ")
    description = description or label
    return V.OutputSpec(name, kind, unit, label, label, description, (PYTHON_MODEL,))


def _output_unit(unit, where: str, bad) -> str | None:
    if unit is None:
        bad(f"unit missing; add 'unit:' (one of {', '.join(CANONICAL_UNITS)})", where)
        return None
    try:
        dim, factor = parse_unit(str(unit))
    except UnknownUnit as e:
        bad(str(e), where)
        return None
    if factor != 1.0:
        bad(
            f"unit {unit!r} is a scaled form of {dim}; outputs are returned in canonical units, "
            f"so write 'unit: {dim}' and return values in {dim}",
            where,
        )
        return None
    return dim


# ============================================================================ entry points
def _entry_point_model(name: str, bad) -> UserModel | None:
    from importlib import metadata  # deferred: only installed models need the registry

    found = [ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
    if not found:
        installed = sorted(ep.name for ep in metadata.entry_points(group=ENTRY_POINT_GROUP))
        close = did_you_mean(name, installed)
        hint = (
            f"did you mean {close!r}?"
            if close
            else f"installed: {', '.join(installed) or 'none'}; built-in: programme, industry, "
            "python"
        )
        bad(f"no installed model {name!r} (entry points {ENTRY_POINT_GROUP}); {hint}", "model")
        return None
    try:
        definition = found[0].load()
    except Exception as e:  # the package's code: report its frames
        bad(user_error_text(e, None, f"loading the installed model {name!r}"), "model")
        return None
    if not isinstance(definition, ModelDefinition):
        bad(
            f"the entry point {name!r} is a {type(definition).__name__}, not a "
            "model.ModelDefinition; the package must expose one",
            "model",
        )
        return None
    problems: list[str] = []
    outputs = read_outputs(definition.outputs, lambda msg, key: problems.append(f"{key}: {msg}"))
    if outputs is None:
        for p in problems:
            bad(f"the installed model {name!r} declares a bad output: {p}", "model")
        return None
    description = definition.description or _docline(definition.function)
    return UserModel(name, name, definition.function, outputs, None, description)


def register(user: UserModel) -> None:
    """Make the model's outputs known to the output vocabulary under its key."""
    V.register_model_outputs(user.key, [_with_model(o, user.key) for o in user.outputs])


def _with_model(o: V.OutputSpec, key: str) -> V.OutputSpec:
    return replace(o, models=(key,))


# ============================================================================ free parameters
def read_free_parameters(ctx, params_raw: Mapping) -> dict:
    """The parameters of a user model: any lower-case names, each read by the same rules as a
    built-in one (unit, and a source or a hypothetical rationale, for every number)."""
    out = {}
    for name, (raw, f, line) in params_raw.items():
        spec = free_spec(ctx, str(name), raw, f, line)
        if spec is None:
            continue
        param = read_parameter(ctx, spec, raw, f, line)
        if param is not None:
            out[str(name)] = param
    return out


def free_spec(ctx, name: str, raw, f, line) -> V.ParamSpec | None:
    """The spec a user model's parameter gets from how it is written: a switch (true/false or a
    word), a per-year series (``values:`` or ``calibrated:``) or a per-draw number, in the
    dimension of its unit."""
    if not _NAME.match(name):
        ctx.bad(
            f"{name!r} is not a lower-case identifier; rename it, e.g. lease_rate", f, line, name
        )
        return None
    if isinstance(raw, bool):
        return V.ParamSpec(name, (), "bool", name, "finance")
    if isinstance(raw, str):
        return V.ParamSpec(name, (), "enum", name, "finance", choices=(raw,))
    meaning = str(raw.get("description") or name) if isinstance(raw, Mapping) else name
    unit = raw.get("unit") if isinstance(raw, Mapping) else None
    dims: tuple[str, ...] = ("ratio",)
    if unit is not None:
        try:
            dims = (parse_unit(str(unit), ctx.currency)[0],)
        except UnknownUnit:
            dims = (str(unit),)  # read_parameter reports the unit itself
    series = isinstance(raw, Mapping) and (
        ("values" in raw and "dist" not in raw) or raw.get("calibrated") is not None
    )
    return V.ParamSpec(name, dims, "series" if series else "scalar", meaning, "finance")
