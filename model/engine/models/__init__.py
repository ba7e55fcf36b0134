"""The models a scenario can name (``model:``), each behind the same interface.

:func:`get_model` returns the :class:`~model.engine.interface.ModelInterface` of a model kind:
the built-in ``programme`` (:mod:`.programme`) and ``industry`` (:mod:`.industry`).
"""

from __future__ import annotations

from ...core.vocabulary import VOCABULARY, outputs_of
from ..interface import ModelInterface, declarations


def _interface(name: str, run, optional: tuple[str, ...] = ()) -> ModelInterface:
    return ModelInterface(
        name,
        declarations(VOCABULARY[name]),
        tuple(outputs_of(name, "metric") + outputs_of(name, "series")),
        run,
        optional,
    )


def _programme(inputs, n, t, timing, with_irr):
    from .programme import programme_cash_flows  # deferred: loaded with the model it runs

    return programme_cash_flows(inputs, n, t, timing, with_irr=with_irr)


def _industry(inputs, n, t, timing, with_irr):
    from .industry import industry_gap  # deferred: loaded with the model it runs

    return industry_gap(inputs, n, t, timing)


BUILT_IN = {
    "programme": _interface("programme", _programme),
    "industry": _interface("industry", _industry, optional=("pv_revenue_gap",)),
}


def get_model(name: str) -> ModelInterface:
    """The interface of the model named ``name``.

    Raises
    ------
    KeyError
        When no model has that name (the loader refuses such files before).
    """
    return BUILT_IN[name]
