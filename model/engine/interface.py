"""The typed hand-off from sampling to a model.

A model states once what it reads and what it returns (:class:`ModelInterface`); the engine
hands it a :class:`ModelInputs` mapping that it has checked against that declaration, and
checks what the model returns (:func:`check_outputs`) after every chunk. The built-in programme
and industry models declare their inputs through the vocabulary
(:data:`model.core.vocabulary.VOCABULARY`); user models (the open-engine issue) declare theirs in
their file.

Shapes (``n`` draws, ``T`` years)
---------------------------------
* a **per-draw** input (kind ``scalar``) is a float (the same in every draw) or an array (n,);
* a **per-year** input (kinds ``series`` and ``schedule``) is a 2-D array (1 or n, 1 or T): a
  fixed series is (1, T), an uncertain number (n, 1), an uncertain path (n, T);
* a **switch** is its value (``True``, ``"capacity"``, ...).
* outputs: a metric is (n,), a series (n, T).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from ..core.errors import AssumptionError, Problem
from ..core.vocabulary import OutputSpec, ParamSpec

#: How an input reaches a model.
SHAPES = ("draw", "year", "switch")


@dataclass(frozen=True)
class InputDecl:
    """One declared input of a model.

    Parameters
    ----------
    name : str
    shape : {"draw", "year", "switch"}
        See the module docstring.
    required : bool or str
        True, False, or a condition ``"switch=value"`` under which it is required (as in the
        vocabulary).
    """

    name: str
    shape: str
    required: bool | str = True


def declarations(specs: Mapping[str, ParamSpec]) -> dict[str, InputDecl]:
    """Input declarations from a vocabulary (model kind -> its parameter specs)."""
    shape = {
        "scalar": "draw",
        "series": "year",
        "schedule": "year",
        "bool": "switch",
        "enum": "switch",
    }
    return {n: InputDecl(n, shape[s.kind], s.required) for n, s in specs.items()}


@dataclass(frozen=True)
class ModelInterface:
    """What a model reads and returns, and the function that computes it.

    Parameters
    ----------
    name : str
        The model's name (``model:`` in an assumption file).
    inputs : dict of str to InputDecl
    outputs : tuple of OutputSpec
        Metrics (n,) and series (n, T) it returns.
    run : callable
        ``run(inputs: ModelInputs, n: int, t: int, timing: str, with_irr: bool) -> dict``.
    optional : tuple of str
        Outputs it returns only under some inputs (e.g. a present value when a discount rate
        is given).
    """

    name: str
    inputs: dict[str, InputDecl]
    outputs: tuple[OutputSpec, ...]
    run: Callable = field(repr=False)
    optional: tuple[str, ...] = ()

    @property
    def metrics(self) -> list[str]:
        return [o.name for o in self.outputs if o.kind == "metric"]

    @property
    def series(self) -> list[str]:
        return [o.name for o in self.outputs if o.kind == "series"]


class ModelInputs(Mapping):
    """The sampled inputs of one chunk, checked against a model's declaration.

    A read-only mapping ``name -> value`` (see the module docstring for shapes), built by the
    engine; a model reads it with ``inputs["name"]`` or ``inputs.get("name")``.

    Raises
    ------
    ValueError
        On construction, when an input is undeclared, has the wrong shape, or a required one is
        missing: a defect of the engine or of a model's declaration, not of user input.
    """

    def __init__(self, values: Mapping, n: int, t: int, interface: ModelInterface):
        self._values = dict(values)
        self.n, self.t = int(n), int(t)
        problems = check_inputs(self._values, self.n, self.t, interface)
        if problems:
            raise ValueError(
                f"inputs of model {interface.name!r} do not match its declaration: "
                + "; ".join(problems)
            )

    def __getitem__(self, key):
        return self._values[key]

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


def _switch_values(values: Mapping, interface: ModelInterface) -> dict:
    return {
        k: v
        for k, v in values.items()
        if k in interface.inputs and interface.inputs[k].shape == "switch"
    }


def _required(decl: InputDecl, switches: dict) -> bool:
    if decl.required is True or decl.required is False:
        return bool(decl.required)
    key, _, want = str(decl.required).partition("=")
    have = switches.get(key)
    if isinstance(have, bool):
        have = "true" if have else "false"
    return str(have) == want


def check_inputs(values: Mapping, n: int, t: int, interface: ModelInterface) -> list[str]:
    """What is wrong with ``values`` for ``interface`` (empty when they match)."""
    problems = [f"{k!r} is not an input of the model" for k in values if k not in interface.inputs]
    switches = _switch_values(values, interface)
    for name, decl in interface.inputs.items():
        if name not in values:
            if _required(decl, switches):
                problems.append(f"{name!r} is missing")
            continue
        v = values[name]
        if decl.shape == "switch":
            continue
        a = np.asarray(v)
        if decl.shape == "draw" and not (a.ndim == 0 or a.shape == (n,)):
            problems.append(f"{name!r} has shape {a.shape}, not () or ({n},)")
        elif decl.shape == "year" and not (
            a.ndim == 2 and a.shape[0] in (1, n) and a.shape[1] in (1, t)
        ):
            problems.append(f"{name!r} has shape {a.shape}, not (1 or {n}, 1 or {t})")
    return problems


def check_outputs(out: Mapping, n: int, t: int, interface: ModelInterface, where: str = "") -> None:
    """Every declared output is present, of shape (n,) for a metric and (n, T) for a series.

    Raises
    ------
    AssumptionError
        Naming the output and what was returned (for a user model this is the user's error).
    """
    problems = []
    for o in interface.outputs:
        if o.name not in out:
            if o.name not in interface.optional:
                problems.append(f"output {o.name!r} is missing from what the model returned")
            continue
        a = np.asarray(out[o.name])
        want = (n,) if o.kind == "metric" else (n, t)
        if a.shape != want and not _broadcasts_to(a.shape, want):
            problems.append(f"output {o.name!r} has shape {a.shape}, not {want}")
    if problems:
        raise AssumptionError(
            [
                Problem(
                    f"{p}; return (draws,) for a metric and (draws, years) for a series",
                    where or None,
                    None,
                    interface.name,
                )
                for p in problems
            ]
        )


def _broadcasts_to(shape: tuple, want: tuple) -> bool:
    """Whether an array of ``shape`` broadcasts to ``want`` (without growing it)."""
    try:
        return np.broadcast_shapes(shape, want) == want
    except ValueError:
        return False
