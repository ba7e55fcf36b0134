"""capex: will the revenue of AI pay back the capex of AI data centres?

Public API: :func:`load_scenario`, :func:`simulate`, :func:`calibrate`, :func:`sensitivity`,
:func:`build_report`.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("capex")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+source"

from .errors import AssumptionError  # noqa: E402
from .loading import Scenario, load_scenario  # noqa: E402

__all__ = ["AssumptionError", "Scenario", "load_scenario", "__version__"]
