"""Targets a user names on the command line: a probability to report (``--prob "irr>0.12"``)
and the statistic a precision target stops on (``--precision npv:p50=0.5B``).

Both are small languages with one parser each, so the CLI, the JSON and the Python API read
them the same way, and a mistyped target gets a located, fixable message.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from .errors import did_you_mean
from .formatting import format_value
from .units import parse_amount
from .vocabulary import OUTPUTS

_OPERATORS = {">": np.greater, ">=": np.greater_equal, "<": np.less, "<=": np.less_equal}
_PROB = re.compile(r"^\s*(?:P\(\s*)?([a-z_][a-z0-9_]*)\s*(>=|<=|>|<)\s*([^)\s][^)]*?)\s*\)?\s*$")
_STAT = re.compile(r"^(?P<metric>[a-z_][a-z0-9_]*):(?P<stat>mean|p\d{2})\Z")
QUANTILE_STATS = {"p05": 0.05, "p25": 0.25, "p50": 0.5, "p75": 0.75, "p95": 0.95}


def _metric_problem(name: str, what: str) -> str | None:
    """Why ``name`` is not a metric a target can name (None when it is)."""
    metrics = [o.name for o in OUTPUTS.values() if o.kind == "metric" and o.summarised]
    if name in metrics:
        return None
    close = did_you_mean(name, metrics)
    hint = f" (did you mean {close!r}?)" if close else ""
    return f"{what}: {name!r} is not a metric{hint}; use one of " + ", ".join(metrics)


@dataclass(frozen=True)
class ProbabilityTarget:
    """P(metric op value): ``irr>0.12``, ``peak_funding<60B``, ``payback_years<=10``.

    A draw where the metric is undefined (an IRR without a sign change) does not meet the
    target; a draw that never pays back counts as beyond the horizon (so it meets
    ``payback_years>10`` and not ``payback_years<10``).
    """

    metric: str
    op: str
    value: float
    text: str = ""  # the value as written (60B), for the key

    @classmethod
    def parse(cls, text: str) -> ProbabilityTarget:
        """From ``metric>value`` (``>``, ``>=``, ``<``, ``<=``; the value may be ``60B``, ``12%``).

        Raises
        ------
        ValueError
            Saying what is wrong and how to write it.
        """
        m = _PROB.match(str(text))
        how = 'write it as METRIC>VALUE, e.g. "irr>0.12" or "peak_funding<60B"'
        if not m:
            raise ValueError(f"--prob {text!r} is not a target; {how}")
        name, op, raw = m.groups()
        problem = _metric_problem(name, f"--prob {text!r}")
        if problem:
            raise ValueError(problem)
        try:
            value = parse_amount(raw)
        except ValueError as exc:
            raise ValueError(f"--prob {text!r}: {exc}") from None
        return cls(name, op, value, raw.replace(" ", ""))

    @property
    def key(self) -> str:
        """Its key under ``probabilities`` in JSON: ``irr>0.12``."""
        return f"{self.metric}{self.op}{self.text or format(self.value, 'g')}"

    @property
    def label(self) -> str:
        """How tables print it: ``P(IRR > 12.0 %)``."""
        spec = OUTPUTS[self.metric]
        return f"P({spec.short} {self.op} {format_value(self.value, spec.unit)})"

    def indicator(self, x: np.ndarray) -> np.ndarray:
        """Which draws meet it (bool, shape of ``x``)."""
        x = np.asarray(x, dtype=float)
        if OUTPUTS[self.metric].never is not None:
            x = np.where(np.isnan(x), np.inf, x)
        with np.errstate(invalid="ignore"):
            return _OPERATORS[self.op](x, self.value) & ~np.isnan(x)


@dataclass(frozen=True)
class PrecisionTarget:
    """A statistic and the Monte Carlo error it must reach: ``npv:mean=0.5B``,
    ``npv:p50=1B``, ``P(npv>0)=0.005``; or, as before, a bare relative tolerance (``0.005``:
    the error of the mean of the key metric over its absolute mean)."""

    statistic: str  # "mean", "p05".."p95", "probability" or "relative"
    metric: str
    tolerance: float
    probability: ProbabilityTarget | None = None

    @classmethod
    def parse(cls, text, key_metric: str) -> PrecisionTarget:
        """From the text of ``--precision`` (``key_metric`` for a bare number).

        Raises
        ------
        ValueError
            Saying what is wrong and how to write it.
        """
        raw = str(text).strip()
        how = (
            "write STATISTIC=TOLERANCE, e.g. npv:mean=0.5B, npv:p50=1B or P(npv>0)=0.005, or a "
            "relative tolerance such as 0.005"
        )
        if "=" not in raw.replace(">=", "").replace("<=", ""):
            tol = _tolerance(raw, raw, how)
            return cls("relative", key_metric, tol)
        head, _, tail = raw.rpartition("=")
        tol = _tolerance(tail, raw, how)
        if head.startswith("P("):
            try:
                prob = ProbabilityTarget.parse(head)
            except ValueError as exc:
                raise ValueError(f"--precision {raw!r}: {exc}") from None
            return cls("probability", prob.metric, tol, prob)
        m = _STAT.match(head)
        if not m or (m["stat"] != "mean" and m["stat"] not in QUANTILE_STATS):
            raise ValueError(f"--precision {raw!r} names no statistic; {how}")
        problem = _metric_problem(m["metric"], f"--precision {raw!r}")
        if problem:
            raise ValueError(problem)
        return cls(m["stat"], m["metric"], tol)

    @property
    def name(self) -> str:
        """How it is printed: ``npv:mean``, ``P(npv>0)``, ``npv:mean (relative)``."""
        if self.statistic == "probability":
            return f"P({self.probability.key})"
        if self.statistic == "relative":
            return f"{self.metric}:mean (relative)"
        return f"{self.metric}:{self.statistic}"

    @property
    def unit(self) -> str:
        """The unit of the tolerance: the metric's, ``share`` for probabilities, ``ratio``."""
        if self.statistic == "probability":
            return "share"
        if self.statistic == "relative":
            return "ratio"
        return OUTPUTS[self.metric].unit

    def error(self, results) -> float:
        """The statistic's Monte Carlo error in ``results`` (a Results) [tolerance's unit]."""
        if self.statistic == "probability":
            return results.probability_of(self.probability)["mcse"]
        m = results.metric_summary(self.metric)
        if self.statistic == "mean":
            return m["mcse"]
        if self.statistic == "relative":
            return m["mcse"] / abs(m["mean"]) if m["mean"] else math.inf
        return m["quantile_mcse"][self.statistic]


def _tolerance(text: str, whole: str, how: str) -> float:
    try:
        tol = parse_amount(text.strip())
    except ValueError:
        raise ValueError(
            f"--precision {whole!r}: {text.strip()!r} is not a tolerance; {how}"
        ) from None
    if tol <= 0:
        raise ValueError(f"--precision {whole!r}: the tolerance must be positive; {how}")
    return tol
