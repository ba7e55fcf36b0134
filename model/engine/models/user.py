"""User models on the engine's interface: a Python function over the sampled inputs
(:mod:`model.core.usermodel`), wrapped as a :class:`~model.engine.interface.ModelInterface`.

The wrapper hands the function every parameter as an array of the documented shape (per-draw
numbers (n,), per-year ones (n, T), fixed ones broadcast, switches as they are) with the
horizon's years, and turns whatever it raises into an :class:`UserModelError` (exit 2) that
names the function and shows the frames of the user's file.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ...core.errors import AssumptionError, Problem, display_path
from ...core.usermodel import UserModel, exception_text, user_traceback
from ..interface import InputDecl, ModelInterface


class UserModelError(AssumptionError):
    """The user's model function raised, or returned something that is not its outputs."""


def user_interface(user: UserModel, parameters: Mapping, years: np.ndarray) -> ModelInterface:
    """The interface of ``user`` for a scenario with these parameters and years."""
    inputs = {
        name: InputDecl(name, "switch" if p.spec.is_switch else _shape(p.spec.kind), True)
        for name, p in parameters.items()
    }
    years = np.asarray(years, dtype=int)

    def run(values, n, t, timing, with_irr):
        arrays = {k: _broadcast(v, inputs[k].shape, n, t) for k, v in values.items()}
        return call_user_function(user, arrays, years.copy())

    return ModelInterface(user.key, inputs, tuple(user.outputs), run)


def _shape(kind: str) -> str:
    return "year" if kind in ("series", "schedule") else "draw"


def _broadcast(value, shape: str, n: int, t: int):
    """A value as the function sees it: (n,) per draw, (n, T) per year (read-only views)."""
    if shape == "switch":
        return value
    a = np.asarray(value, dtype=float)
    return (
        np.broadcast_to(a.reshape(-1) if a.ndim else a, (n,))
        if shape == "draw"
        else (np.broadcast_to(a, (n, t)))
    )


def call_user_function(user: UserModel, arrays: dict, years: np.ndarray) -> dict:
    """Call the user's function; its exceptions and a result that is not a mapping of arrays
    become a :class:`UserModelError` naming the function and the user's file."""
    try:
        out = user.function(arrays, years)
    except (Exception, SystemExit) as e:  # the user's code: any exception (even sys.exit)
        raise UserModelError(_problem(user, e)) from None  # is theirs, shown with its frames
    if not isinstance(out, Mapping):
        raise UserModelError(
            Problem(
                f"{user.function_name} returned a {type(out).__name__}, not a mapping; return "
                f"{{output: array}} with every declared output ({', '.join(user.metrics)} ...)",
                _file(user),
                None,
                user.function_name,
            )
        )
    try:
        return {k: np.asarray(v, dtype=float) for k, v in out.items()}
    except (TypeError, ValueError) as e:
        raise UserModelError(
            Problem(
                f"{user.function_name} returned an output that is not numeric ({e}); return "
                "float arrays",
                _file(user),
                None,
                user.function_name,
            )
        ) from None


def _file(user: UserModel) -> str | None:
    return display_path(user.path) if user.path is not None else None


def _problem(user: UserModel, e: BaseException) -> Problem:
    """The exception as a problem at the deepest frame of the user's file."""
    shown, line = user_traceback(e, user.path)
    return Problem(
        f"{exception_text(e)}; the error is in your model function "
        f"{user.function_name} ({_file(user) or user.reference}), not in capex; "
        f"traceback of your code:\n{shown}",
        _file(user),
        line,
        user.function_name,
    )
