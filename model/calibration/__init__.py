"""Calibration: observations -> posterior paths (PyMC and ArviZ, loaded only here).

``curves`` (the growth and price models, pure numpy), ``fitting`` (PyMC sampling and the cache:
:func:`fit`, :func:`compare`), ``diagnostics`` (R-hat, ESS, divergences), ``posterior`` (the
fitted :class:`Calibration`: predictions and targets), ``shim`` (ArviZ and PyMC version
differences). Importing this package does not import PyMC or ArviZ; :func:`fit` does.
"""

from __future__ import annotations


def fit(*args, **kwargs):
    """Calibrate a curve to an observation file (see :func:`model.calibration.fitting.fit`)."""
    from .fitting import fit as _fit  # deferred: PyMC and ArviZ are heavy

    return _fit(*args, **kwargs)


def compare(*args, **kwargs):
    """Compare curves on one observation file by PSIS-LOO (see
    :func:`model.calibration.fitting.compare`)."""
    from .fitting import compare as _compare  # deferred: PyMC and ArviZ are heavy

    return _compare(*args, **kwargs)


__all__ = ["fit", "compare"]
