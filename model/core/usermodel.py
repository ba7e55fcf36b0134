"""Models written by users: a Python function over the sampled inputs, named by an assumption
file (``model: python`` with ``python: file.py:function``) or installed by a package under the
``capex.models`` entry-point group (``model: mypkg.lease``).

A user model is a function ``f(inputs, years) -> {output: array}``:

* ``inputs`` maps every parameter of the file to an array: a per-draw number (scalar) as
  (draws,), a per-year one (series) as (draws, years); fixed ones are broadcast to the same
  shapes; switches (true/false or a word) are passed as they are;
* ``years`` is the horizon's calendar years (years,);
* it returns every declared output: a metric as (draws,), a series as (draws, years).

The engine calls it once per chunk of draws, so a draw's outputs must depend only on that draw's
inputs (elementwise in the draw axis): then results do not depend on the chunk size, the worker
count or the scheduler. Loading such a file runs its Python code, as ``pytest`` runs a
``conftest.py``: only run files you trust.

A package adds a model by exposing a :class:`ModelDefinition` as an entry point::

    # pyproject.toml of the package
    [project.entry-points."capex.models"]
    "mypkg.lease" = "mypkg.models:lease"

    # mypkg/models.py
    from model import ModelDefinition
    lease = ModelDefinition(
        function=lease_versus_own,
        outputs={"saving": {"unit": "USD", "kind": "metric", "description": "..."}},
        description="Lease versus own for a neocloud",
    )
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .vocabulary import OutputSpec

#: ``model:`` value of a file that names its own Python function.
PYTHON_MODEL = "python"
#: Entry-point group under which packages register models.
ENTRY_POINT_GROUP = "capex.models"
#: Output kinds a user model may declare.
USER_OUTPUT_KINDS = ("metric", "series")


@dataclass(frozen=True)
class ModelDefinition:
    """A model a package installs (the object its ``capex.models`` entry point names).

    Parameters
    ----------
    function : callable
        ``function(inputs, years) -> dict`` (see the module docstring).
    outputs : mapping
        ``{name: {unit, kind, description?, label?}}``, as under ``outputs:`` in a file.
    description : str
        One line, shown by ``capex validate`` and in reports.
    """

    function: Callable
    outputs: Mapping
    description: str = ""


@dataclass(frozen=True)
class UserModel:
    """A resolved user model, held by the :class:`~model.core.scenario.Scenario` that uses it.

    Parameters
    ----------
    key : str
        The scenario's ``model`` (``python:gap_model.py:revenue_gap`` or the entry-point name):
        unique per model in a process, so output lookups find this model's outputs.
    reference : str
        What the file wrote (``gap_model.py:revenue_gap``, ``mypkg.lease``).
    function : callable
    outputs : tuple of OutputSpec
        Metrics first, then series, in declaration order.
    path : Path or None
        The Python file (None for an entry point); part of the scenario's input hash.
    description : str
    """

    key: str
    reference: str
    function: Callable = field(compare=False, repr=False)
    outputs: tuple[OutputSpec, ...] = ()
    path: Path | None = None
    description: str = ""

    @property
    def function_name(self) -> str:
        return getattr(self.function, "__qualname__", getattr(self.function, "__name__", "?"))

    @property
    def metrics(self) -> list[str]:
        return [o.name for o in self.outputs if o.kind == "metric"]

    @property
    def series(self) -> list[str]:
        return [o.name for o in self.outputs if o.kind == "series"]


def user_traceback(e: BaseException, path: Path | None) -> tuple[str, int | None]:
    """The frames of an exception that lie in the user's file ``path`` (the last frame when
    none does, all but the caller's frame for an installed model), formatted, and the line of
    the deepest one (None for an installed model)."""
    frames = traceback.extract_tb(e.__traceback__)
    if path is not None:
        target = Path(path).resolve()
        mine = [f for f in frames if Path(f.filename).resolve() == target] or frames[-1:]
    else:
        mine = frames[1:] or frames
    line = mine[-1].lineno if mine and path is not None else None
    return "".join(traceback.format_list(mine)).rstrip(), line


def exception_text(e: BaseException) -> str:
    """``Type: message`` of an exception raised by user code; a ``sys.exit()`` is named as
    such (capex must not stop with the user's exit code, silently)."""
    if isinstance(e, SystemExit):
        return (
            f"SystemExit: the code called sys.exit({e.code!r}) (capex does not exit from a model)"
        )
    return f"{type(e).__name__}: {e}"
