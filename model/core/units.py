"""Units: parse what users write (``USD bn``, ``GW``, ``USD/kWh``, ``%``) into a canonical
dimension and the factor that converts a value into it.

Canonical units (the vocabulary's dimensions): ``USD``, ``USD/year``, ``USD/MW``,
``USD/GPU-hour``, ``USD/MWh``, ``GPU/MW``, ``MW``, ``share``, ``ratio``, ``years``, ``1/year``.
Amounts in values may carry a scale suffix (``50B``, ``1.5T``, ``300M``, ``50 bn``, ``50e9``,
``50_000_000_000``, ``8%``): see :func:`parse_amount`.
"""

from __future__ import annotations

import math
import re

CANONICAL_UNITS = (
    "USD",
    "USD/year",
    "USD/MW",
    "USD/GPU-hour",
    "USD/MWh",
    "GPU/MW",
    "MW",
    "share",
    "ratio",
    "years",
    "1/year",
)

_SCALE_WORDS = {
    "": 1.0,
    "k": 1e3,
    "thousand": 1e3,
    "m": 1e6,
    "mn": 1e6,
    "mm": 1e6,
    "million": 1e6,
    "b": 1e9,
    "bn": 1e9,
    "billion": 1e9,
    "t": 1e12,
    "tn": 1e12,
    "trillion": 1e12,
}

_POWER = {"w": 1e-6, "kw": 1e-3, "mw": 1.0, "gw": 1e3, "tw": 1e6}
_ENERGY = {"wh": 1e-6, "kwh": 1e-3, "mwh": 1.0, "gwh": 1e3, "twh": 1e6}
_TIME = {"year": 1.0, "years": 1.0, "yr": 1.0, "a": 1.0, "month": 1 / 12, "months": 1 / 12}
_GPU_HOUR = {"gpu-hour", "gpu-hours", "gpu-h", "gpuh", "gpu hour", "gpu-hr", "gpu·h"}

_MONEY = re.compile(r"^(?P<cur>[A-Za-z]{3})\s*(?P<scale>[A-Za-z]*)\s*(?:/\s*(?P<den>.+))?\Z")


class UnknownUnit(ValueError):
    """The unit string is not understood."""


def parse_unit(unit: str, currency: str = "USD") -> tuple[str, float]:
    """Canonical dimension and conversion factor of a unit string.

    Parameters
    ----------
    unit : str
        Unit as written, e.g. ``"USD bn"``, ``"GW"``, ``"USD/kWh"``, ``"%"``, ``"months"``.
    currency : str
        The scenario's currency code; money units must use it.

    Returns
    -------
    dimension : str
        One of :data:`CANONICAL_UNITS` (money dimensions spelled with ``USD``).
    factor : float
        Multiply a value in ``unit`` by this to express it in ``dimension``.

    Raises
    ------
    UnknownUnit
        With a message listing what is accepted.
    """
    raw = str(unit).strip()
    u = re.sub(r"\s+", " ", raw)
    low = u.lower().replace(" per ", "/")
    simple = {
        "share": ("share", 1.0),
        "fraction": ("share", 1.0),
        "%": ("share", 0.01),
        "percent": ("share", 0.01),
        "ratio": ("ratio", 1.0),
        "x": ("ratio", 1.0),
        "years": ("years", 1.0),
        "year": ("years", 1.0),
        "months": ("years", 1 / 12),
        "month": ("years", 1 / 12),
        "1/year": ("1/year", 1.0),
        "/year": ("1/year", 1.0),
        "share/year": ("1/year", 1.0),
        "%/year": ("1/year", 0.01),
        "gpu/mw": ("GPU/MW", 1.0),
        "gpu/gw": ("GPU/MW", 1e-3),
        "gpu/kw": ("GPU/MW", 1e3),
        "gpus/mw": ("GPU/MW", 1.0),
    }
    if low in simple:
        return simple[low]
    if low in _POWER:
        return "MW", _POWER[low]
    m = _MONEY.match(u)
    if m and m.group("cur").upper() == m.group("cur") and m.group("cur").isalpha():
        cur = m.group("cur")
        if cur != currency:
            raise UnknownUnit(
                f"unit {raw!r} is in {cur} but the scenario's currency is {currency}; "
                f"convert the value to {currency} (cite the exchange rate in the quote or note)"
            )
        scale = m.group("scale").lower()
        if scale not in _SCALE_WORDS:
            raise UnknownUnit(
                f"unit {raw!r}: unknown scale {m.group('scale')!r}; use k, M, bn/B, T or none"
            )
        factor = _SCALE_WORDS[scale]
        den = (m.group("den") or "").strip().lower()
        if not den:
            return "USD", factor
        if den in _TIME:
            return "USD/year", factor / _TIME[den]
        if den in _POWER:
            return "USD/MW", factor / _POWER[den]
        if den in _ENERGY:
            return "USD/MWh", factor / _ENERGY[den]
        if den in _GPU_HOUR:
            return "USD/GPU-hour", factor
    raise UnknownUnit(
        f"unknown unit {raw!r}; use one of {', '.join(CANONICAL_UNITS)} "
        "or a scaled form such as 'USD bn', 'USD bn/year', 'USD M/MW', 'USD/kWh', 'GW', '%'"
    )


_AMOUNT = re.compile(
    r"^(?P<num>[+-]?(?:\d[\d_,]*\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(?P<suffix>[A-Za-z%]*)\Z"
)


def parse_amount(value) -> float:
    """A number as users write it.

    Accepts numbers and strings such as ``"50e9"``, ``"50_000_000_000"``, ``"50B"``, ``"50 bn"``,
    ``"1.5T"``, ``"300M"``, ``"12k"``, ``"8%"`` (= 0.08). Booleans are rejected.

    Raises
    ------
    ValueError
        When the value is not a finite number.
    """
    if isinstance(value, bool):
        raise ValueError(
            f"{value!r} is a yes/no value, not a number; write a number such as 0.5 "
            "(quote it if you mean text)"
        )
    try:
        x = _to_float(value)
    except OverflowError:
        x = math.inf
    if not math.isfinite(x):
        raise ValueError(
            f"{_short(value)} is not a finite number; write a finite value such as 50e9 or 0.08"
        )
    return x


def _short(value) -> str:
    """``repr(value)``, cut to 40 characters (a 400-digit integer is not worth echoing)."""
    try:
        text = repr(value)
    except ValueError:  # an integer past Python's digit limit for str()
        return "an integer of more than 4300 digits"
    return text if len(text) <= 40 else text[:37] + "..."


def _to_float(value) -> float:
    """``value`` as a float (may be infinite; raises OverflowError for huge integers)."""
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        m = _AMOUNT.match(value.strip())
        if not m:
            raise ValueError(f"{value!r} is not a number; write e.g. 50e9, 50B, 50 bn or 0.08")
        num = m.group("num").replace("_", "").replace(",", "")
        suffix = m.group("suffix").lower()
        if suffix == "%":
            mult = 0.01
        elif suffix in _SCALE_WORDS:
            mult = _SCALE_WORDS[suffix]
        else:
            raise ValueError(
                f"{value!r}: unknown suffix {m.group('suffix')!r}; use k, M, B/bn, T or %"
            )
        return float(num) * mult
    raise ValueError(f"{_short(value)} is not a number; write one such as 50B or 0.08")
