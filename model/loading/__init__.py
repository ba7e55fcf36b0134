"""Loading: files -> validated core objects, read within bounds.

``files`` (bounded, sandboxed reading; YAML with line numbers), ``sources`` (bibliography
entries), ``parameters`` (one reader per input form), ``scenario`` (the ``extends`` chain,
overlays, correlations: :func:`load_scenario`), ``observations`` (calibration data and ``capex
fit`` data files), ``priors`` (the calibrations' priors).
"""

from .scenario import load_scenario, load_with_overlays

__all__ = ["load_scenario", "load_with_overlays"]
