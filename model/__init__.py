"""capex: will the revenue of AI pay back the capex of AI data centres?

The public API, for notebooks and scripts (each name documented in docs/api.md)::

    import model
    sc = model.load_scenario("assumptions/anthropic_fluidstack.yaml")
    res = model.simulate(sc, draws=10_000, seed=0)
    res.metric_summary("npv"), res.probability("npv_positive")
    sens = model.sensitivity(sc, output="npv")
    model.build_report(res)
    pf = model.load_portfolio("assumptions/ai_buildout.yaml")
    agg = model.simulate_portfolio(pf, draws=10_000)   # members on the same draws, summed

The model's equations are in docs/model.md. Importing ``model`` is cheap: the engine, the
analyses and the reports load on first use.
"""

from __future__ import annotations

import importlib

from ._version import __version__
from .core.errors import AssumptionError

#: name -> (module, attribute) of the entry points that load on first use
_LAZY = {
    "load_scenario": ("model.loading.scenario", "load_scenario"),
    "Scenario": ("model.core.scenario", "Scenario"),
    "scenario_from_dict": ("model.loading.scenario", "scenario_from_dict"),
    "simulate": ("model.engine.simulate", "simulate"),
    "Results": ("model.engine.results", "Results"),
    "sensitivity": ("model.analysis.sensitivity", "sensitivity"),
    "SensitivityResult": ("model.analysis.sensitivity.result", "SensitivityResult"),
    "calibrate": ("model.calibration.fitting", "fit"),
    "Calibration": ("model.calibration.posterior", "Calibration"),
    "build_report": ("model.reporting.report", "build_report"),
    "ModelDefinition": ("model.core.usermodel", "ModelDefinition"),
    "goal_seek": ("model.analysis.goalseek", "goal_seek"),
    "stress": ("model.analysis.stress", "stress"),
    "sweep": ("model.analysis.sweep", "sweep"),
    "voi": ("model.analysis.voi", "voi"),
    "VOIResult": ("model.analysis.voi", "VOIResult"),
    "load_portfolio": ("model.loading.portfolio", "load_portfolio"),
    "Portfolio": ("model.core.portfolio", "Portfolio"),
    "simulate_portfolio": ("model.engine.portfolio", "simulate_portfolio"),
    "PortfolioResults": ("model.engine.portfolio", "PortfolioResults"),
}


def __getattr__(name):
    """The heavier entry points load on first use (``import model`` stays fast)."""
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'model' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "AssumptionError",
    "ModelDefinition",
    "Scenario",
    "load_scenario",
    "scenario_from_dict",
    "simulate",
    "Results",
    "sensitivity",
    "SensitivityResult",
    "calibrate",
    "Calibration",
    "build_report",
    "goal_seek",
    "stress",
    "sweep",
    "voi",
    "VOIResult",
    "load_portfolio",
    "Portfolio",
    "simulate_portfolio",
    "PortfolioResults",
    "__version__",
]
