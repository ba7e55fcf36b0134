"""The models a scenario can name (``model:``), each behind the same interface.

:func:`model_of` returns the :class:`~model.engine.interface.ModelInterface` of a scenario's
model: the built-in ``programme`` (:mod:`.programme`) and the revenue-gap models ``industry``
(Sequoia, :mod:`.industry`), ``capex_ratio`` (Bain, :mod:`.capex_ratio`) and ``required_return``
(J.P. Morgan, :mod:`.required_return`), which share :mod:`.gap`, or a user model
(``model: python`` or one installed under the ``capex.models`` entry points, :mod:`.user`), all
run, checked and summarised the same way.
"""

from __future__ import annotations

from ...core.vocabulary import VOCABULARY, outputs_of
from ..interface import ModelInterface, declarations
from .user import user_interface


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


def _capex_ratio(inputs, n, t, timing, with_irr):
    from .capex_ratio import capex_ratio_gap  # deferred: loaded with the model it runs

    return capex_ratio_gap(inputs, n, t, timing)


def _required_return(inputs, n, t, timing, with_irr):
    from .required_return import required_return_gap  # deferred: loaded with the model it runs

    return required_return_gap(inputs, n, t, timing)


_GAP_OPTIONAL = ("pv_revenue_gap",)  # only with a discount rate

BUILT_IN = {
    "programme": _interface("programme", _programme),
    "industry": _interface("industry", _industry, optional=_GAP_OPTIONAL),
    "capex_ratio": _interface("capex_ratio", _capex_ratio, optional=_GAP_OPTIONAL),
    "required_return": _interface("required_return", _required_return, optional=_GAP_OPTIONAL),
}


def get_model(name: str) -> ModelInterface:
    """The interface of the model named ``name``.

    Raises
    ------
    KeyError
        When no model has that name (the loader refuses such files before).
    """
    return BUILT_IN[name]


def model_of(scenario) -> ModelInterface:
    """The interface of the scenario's model (built-in, or its user model)."""
    if scenario.user_model is not None:
        return user_interface(scenario.user_model, scenario.parameters, scenario.years)
    return BUILT_IN[scenario.model]
