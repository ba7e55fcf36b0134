"""capex: will the revenue of AI pay back the capex of AI data centres?

Public API: :func:`load_scenario`, :func:`simulate`, :func:`calibrate`, :func:`sensitivity`,
:func:`build_report`. The model's equations: docs/model.md.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("capex")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+source"

from .errors import AssumptionError  # noqa: E402
from .loading import Scenario, load_scenario  # noqa: E402


def __getattr__(name):
    """The heavier entry points load on first use (``import model`` stays fast for the CLI)."""
    if name == "simulate":
        from .simulation import simulate
        return simulate
    if name == "sensitivity":
        from .sensitivity import sensitivity
        return sensitivity
    if name == "calibrate":
        from .calibration import fit
        return fit
    if name == "build_report":
        from .reporting import build_report
        return build_report
    raise AttributeError(f"module 'model' has no attribute {name!r}")


__all__ = ["AssumptionError", "Scenario", "load_scenario", "simulate", "sensitivity",
           "calibrate", "build_report", "__version__"]
