"""Reporting: everything a person or another tool reads.

``report`` (Markdown + self-contained HTML reports, comparison pages, the report index:
:func:`build_report`), ``content`` (what a report says), ``figures``, ``sensitivity_figures`` and
``calibration_figures`` (the plots), ``sensitivity_section`` and ``calibration_section``,
``markdown`` (templates and escaping), ``text`` (the CLI's tables), ``exports`` (files for other
tools), ``outputs`` (owned output folders, atomic swaps), ``readme`` and ``docs`` (the generated
parts of README.md and the documentation).
"""

from __future__ import annotations


def build_report(*args, **kwargs):
    """Write the report of each run (see :func:`model.reporting.report.build_report`)."""
    from .report import build_report as _build  # deferred: matplotlib and Jinja2 are heavy

    return _build(*args, **kwargs)


__all__ = ["build_report"]
