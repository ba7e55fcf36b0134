"""The one formatter: every number capex prints goes through these functions.

The CLI tables, the JSON's companion text, the README generator, the reports and the figure
axes all call them, so the same number prints the same way everywhere:

* :func:`format_value`: a value in a canonical unit (``-$27.8B``, ``12.5 %``, ``8.1 years``,
  ``$5.91/GPU-hour``);
* :func:`format_mean`: a mean with its Monte Carlo standard error, both at the precision the
  error allows (``-$26.8B ± $0.1B``);
* :func:`format_probability`: a probability at the precision of its error
  (``0.031 ± 0.002``), and for a share of exactly 0 or 1 the 95 % "rule of three" bound with the
  count (``< 0.0003 (0 of 10,000 draws)``);
* :func:`format_quantile`: a quantile, or the metric's "never" text where it falls beyond the
  horizon (``after 2040``);
* :func:`format_percent` for shares of variance and similar proportions (``45 %``).
"""

from __future__ import annotations

import math

MINUS = "-"


def _finite(x) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def money(x: float, decimals: int | None = None, scale: tuple[float, str] | None = None) -> str:
    """Dollars with a scale suffix: ``$50.0B``, ``-$1.25T``, ``$131.7M``, ``$950``.

    Parameters
    ----------
    x : float
        [USD].
    decimals : int, optional
        Digits after the point (default: 2 for trillions, 1 otherwise).
    scale : (divisor, suffix), optional
        Force a scale (e.g. ``(1e9, "B")``) so that two numbers share it.
    """
    a = abs(x)
    sign = MINUS if x < 0 else ""
    if scale is None:
        scale = money_scale(a)
    div, suffix = scale
    if div == 1.0:
        text = f"{a:,.{decimals or 0}f}"
        return f"{sign if float(text.replace(',', '')) else ''}${text}"
    d = (2 if suffix == "T" else 1) if decimals is None else decimals
    text = f"{a / div:.{d}f}"
    if float(text) == 0.0:
        sign = ""
    return f"{sign}${text}{suffix}"


def money_scale(a: float) -> tuple[float, str]:
    """The scale (divisor, suffix) that suits an absolute amount ``a`` [USD]."""
    if a >= 1e12:
        return 1e12, "T"
    if a >= 1e9:
        return 1e9, "B"
    if a >= 1e6:
        return 1e6, "M"
    return 1.0, ""


def format_value(x, unit: str, decimals: int | None = None) -> str:
    """A value in a canonical unit, as capex prints it everywhere.

    Parameters
    ----------
    x : float or None
    unit : str
        ``USD``, ``USD/year``, ``USD/GPU-hour``, ``USD/MW``, ``USD/MWh``, ``1/year``, ``share``,
        ``years``, ``MW``, ``GPU/MW``, ``GPU-hour``, ``ratio`` or anything else (general format).
    decimals : int, optional
        Override the unit's usual number of decimals.

    Returns
    -------
    str
        ``n/a`` for None or a non-finite value.
    """
    if not _finite(x):
        return "n/a"
    x = float(x)
    if unit == "USD":
        return money(x, decimals)
    if unit == "USD/year":
        return money(x, decimals) + "/year"
    if unit == "USD/GPU-hour":
        return f"{MINUS if x < 0 else ''}${abs(x):.{2 if decimals is None else decimals}f}"
    if unit == "USD/MW":
        return money(x, decimals, (1e6, "M")) + "/MW"
    if unit == "USD/MWh":
        return f"${x:,.{0 if decimals is None else decimals}f}/MWh"
    if unit in ("1/year", "share"):
        return f"{100 * x:.{1 if decimals is None else decimals}f} %"
    if unit == "years":
        return f"{x:.{1 if decimals is None else decimals}f} years"
    if unit == "MW":
        return f"{x / 1e3:.2f} GW" if abs(x) >= 1e3 else f"{x:.0f} MW"
    if unit == "GPU/MW":
        return f"{x:,.0f} GPU/MW"
    if unit == "GPU-hour":
        return f"{x / 1e9:.2f}B GPU-hours" if abs(x) >= 1e9 else f"{x:,.0f} GPU-hours"
    return f"{x:.{decimals}f}" if decimals is not None else f"{x:.4g}"


def format_input(x, unit: str) -> str:
    """An input's value (an assumption, not a result): three significant digits where a result
    would round it (``1.25 %``, ``2.5 years``, ``$43.0M/MW``, ``700 GPU/MW``)."""
    if not _finite(x):
        return "n/a"
    x = float(x)
    if unit == "share":
        return f"{100 * x:.3g} %"
    if unit == "1/year":
        return f"{100 * x:.3g} %/year"
    if unit == "years":
        return f"{x:.3g} year" + ("" if x == 1 else "s")
    if unit in ("ratio", ""):
        return f"{x:.4g}"
    return format_value(x, unit)


def probability_text(p: dict, draws: int | None = None) -> str:
    """:func:`format_probability` of a ``{"value", "mcse"}`` mapping."""
    return format_probability(p["value"], p["mcse"], draws)


def unit_words(unit: str) -> str:
    """The unit as a table header says it: ``USD``, ``% per year``, ``USD/GPU-hour``."""
    return {"1/year": "% per year", "share": "%", "USD/year": "USD per year"}.get(unit, unit)


def error_decimals(error: float, lowest: int = 1, highest: int = 4) -> int:
    """Decimals that show ``error`` with one significant digit (clipped to the range)."""
    if not _finite(error) or error <= 0:
        return lowest
    return int(min(highest, max(lowest, -math.floor(math.log10(error)))))


def format_mean(mean, mcse, unit: str) -> str:
    """``mean ± MCSE`` in one scale, at the precision the Monte Carlo error allows.

    ``-$26.8B ± $0.1B``, ``-7.6 % ± 0.1 %``, ``10.5 ± 0.1 years``, ``$6.50 ± $0.03``.
    """
    if not _finite(mean):
        return "n/a"
    if not _finite(mcse):
        return f"{format_value(mean, unit)} ± n/a"
    mean, mcse = float(mean), float(mcse)
    if unit in ("USD", "USD/year"):
        div, suffix = money_scale(abs(mean) if mean else mcse)
        if div < 1e6:  # below a million: thousands (a per-GPU model), or dollars
            div, suffix = (1e3, "k") if max(abs(mean), mcse) >= 1e3 else (1.0, "")
        d = error_decimals(mcse / div, 1, 3)
        per = "/year" if unit == "USD/year" else ""
        return f"{money(mean, d, (div, suffix))}{per} ± {money(mcse, d, (div, suffix))}"
    if unit in ("1/year", "share"):
        d = error_decimals(100 * mcse, 1, 3)
        return f"{100 * mean:.{d}f} % ± {100 * mcse:.{d}f} %"
    if unit == "years":
        d = error_decimals(mcse, 1, 3)
        return f"{mean:.{d}f} ± {mcse:.{d}f} years"
    if unit == "USD/GPU-hour":
        d = error_decimals(mcse, 2, 4)
        return f"{format_value(mean, unit, d)} ± ${mcse:.{d}f}"
    d = error_decimals(mcse, 2, 6)
    return f"{mean:.{d}f} ± {mcse:.{d}f}"


def format_probability(value: float, mcse: float, draws: int | None = None) -> str:
    """A probability at the precision of its Monte Carlo error.

    ``0.031 ± 0.002``; where no draw (or every draw) meets the event, the MCSE formula gives a
    meaningless 0, so the 95 % "rule of three" bound is printed with the count instead:
    ``< 0.0003 (0 of 10,000 draws)``, ``> 0.9997 (all 10,000 draws)``.

    References
    ----------
    .. [1] Hanley, J. A. & Lippman-Hand, A. (1983). If nothing goes wrong, is everything all
       right? *JAMA*, 249(13), 1743-1745 (the rule of three).
    """
    if not _finite(value):
        return "n/a"
    if draws and value in (0.0, 1.0):
        bound = 3.0 / draws
        b = f"{bound:.1g}"
        if value == 0.0:
            return f"< {b} (0 of {draws:,} draws)"
        return f"> {1 - float(b):.{max(2, len(b) - 2)}f} (all {draws:,} draws)"
    d = error_decimals(mcse, 2, 4) if _finite(mcse) and mcse > 0 else 3
    return f"{value:.{d}f} ± {mcse:.{d}f}"


def format_quantile(x, unit: str, never: str | None = None, end: int | None = None) -> str:
    """A quantile; ``None`` (a quantile in a metric's never region) prints as the metric's
    never text (``after 2040``)."""
    if x is None and never is not None:
        return never.format(end=end if end is not None else "the horizon")
    return format_value(x, unit)


def format_summary_mean(summary: dict, never: str | None = None) -> str:
    """The mean column of a metric summary: ``mean ± MCSE``, or ``n/a (never)`` when some
    draws never get there (a never-metric has no mean then)."""
    if summary["mean"] is None and never is not None:
        return "n/a (never)"
    return format_mean(summary["mean"], summary["mcse"], summary["unit"])


def format_estimate(x, error, unit: str, never: str | None = None, end: int | None = None) -> str:
    """A quantile (or any estimate) with its Monte Carlo error, ``-$27.8B ± $0.2B``; in a
    metric's never region its never text (``after 2040``)."""
    if (x is None or (_finite_or_inf(x) and math.isinf(float(x)))) and never is not None:
        return never.format(end=end if end is not None else "the horizon")
    return format_mean(x, error, unit)


def _finite_or_inf(x) -> bool:
    try:
        return not math.isnan(float(x))
    except (TypeError, ValueError):
        return False


def format_percent(x, decimals: int = 0) -> str:
    """A proportion as a percentage: ``45 %``; a positive share too small to show at these
    decimals as ``< 0.1 %`` (never a misleading ``0.0 %``)."""
    if not _finite(x):
        return "n/a"
    smallest = 10.0**-decimals
    if 0 < 100 * float(x) < smallest / 2:
        return f"< {smallest:.{decimals}f} %"
    return f"{100 * float(x):.{decimals}f} %"


def format_share_interval(low, high, decimals: int = 0) -> str:
    """An interval of proportions: ``40-52 %``."""
    if not (_finite(low) and _finite(high)):
        return "n/a"
    return f"{100 * float(low):.{decimals}f}-{100 * float(high):.{decimals}f} %"


def plain(text) -> str:
    """User text made safe for a terminal: control characters (escape sequences) removed."""
    return "".join(ch for ch in str(text) if ch in "\n\t" or ch.isprintable())
