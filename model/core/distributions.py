"""Distribution specs: frozen, declarative objects with a vectorized ``ppf``.

Every uncertain input is a :class:`Distribution` built from what the user wrote: a family (always
explicit) and either its natural parameters or quantiles (``p05``/``p95``, ``p10``/``p50``/``p90``,
any ``pNN``), with optional truncation ``min``/``max``. The sampler draws uniforms in the unit
hypercube and maps them through :meth:`Distribution.ppf`, so correlation and designs (LHS, Sobol)
act on uniforms and every family is treated alike.

Families and their natural parameters
-------------------------------------
========== ========================================= ====================
family     natural parameters                        by quantiles
========== ========================================= ====================
fixed      ``value``                                 --
normal     ``mean``, ``sd``                          2 quantiles
lognormal  ``median``, ``sigma`` or ``mean``, ``sd`` 2 quantiles
uniform    ``low``, ``high``                         2 quantiles
triangular ``low``, ``mode``, ``high``               3 quantiles
pert       ``low``, ``mode``, ``high`` [``lambda``]  3 quantiles
beta       ``alpha``, ``beta`` [``low``, ``high``]   2 quantiles
discrete   ``values``, ``probs``                     --
gamma      ``shape``, ``scale`` or ``mean``, ``sd``  2 quantiles
student_t  ``location``, ``scale``, ``df``           --
loguniform ``low``, ``high`` (0 < low < high)        2 quantiles
metalog    [``lower``, ``upper``] bounds             3 to 5 quantiles
mixture    ``weights``, ``components``               --
empirical  ``data`` [``column``, ``kde``]            --
========== ========================================= ====================

When quantiles are given they describe the distribution *before* truncation. A 2-parameter
family given three quantiles is accepted only when they are consistent with it (e.g. a normal's
``p50`` must be the midpoint of ``p10`` and ``p90``); otherwise use ``pert`` or ``triangular``.

A ``metalog`` [3]_ takes its shape from the quantiles themselves: ``k`` quantiles (3 to 5) give
the ``k``-term metalog through them exactly, on the real line or, with ``lower:`` and/or
``upper:``, on a half-line (log metalog) or an interval (logit metalog); a set no increasing
quantile function passes through is refused, saying so. A ``mixture`` is a weighted sum of any
families' distributions; an ``empirical`` distribution resamples a cited data column (the loader
reads the file and hands the numbers to :func:`empirical`), optionally smoothed by a Gaussian
kernel density estimate [4]_. ``scale`` (a unit factor) multiplies every number in the
parameter's unit (locations, scales, quantiles, bounds), never a shape (``shape``, ``df``,
``alpha``, ``beta``, ``lambda``) or a weight; empirical values arrive in canonical units.

Families without a closed-form quantile (mixture, kernel density) are inverted numerically,
elementwise, so one uniform still makes one draw and designs and copulas act on them unchanged.

References
----------
.. [1] Vose, D. (2008). *Risk Analysis: A Quantitative Guide*, 3rd ed., Wiley (PERT, triangular).
.. [2] O'Hagan, A. et al. (2006). *Uncertain Judgements: Eliciting Experts' Probabilities*, Wiley.
.. [3] Keelin, T. W. (2016). The metalog distributions. *Decision Analysis* 13(4), 243-277.
   doi:10.1287/deca.2016.0338
.. [4] Silverman, B. W. (1986). *Density Estimation for Statistics and Data Analysis*, Chapman
   and Hall, section 3.4.2 (the rule-of-thumb bandwidth, eq. 3.31).
.. [5] Dowell, M. and Jarratt, P. (1971). A modified regula falsi method for computing the root
   of an equation. *BIT* 11, 168-174 (the Illinois method).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
from scipy import special

from .units import parse_amount

FAMILIES = (
    "fixed",
    "normal",
    "lognormal",
    "uniform",
    "triangular",
    "pert",
    "beta",
    "discrete",
    "gamma",
    "student_t",
    "loguniform",
    "metalog",
    "mixture",
    "empirical",
)

_NATURAL = {
    "fixed": (("value",),),
    "normal": (("mean", "sd"),),
    "lognormal": (("median", "sigma"), ("mean", "sd")),
    "uniform": (("low", "high"),),
    "triangular": (("low", "mode", "high"),),
    "pert": (("low", "mode", "high"),),
    "beta": (("alpha", "beta"),),
    "discrete": (("values", "probs"),),
    "gamma": (("shape", "scale"), ("mean", "sd")),
    "student_t": (("location", "scale", "df"),),
    "loguniform": (("low", "high"),),
    "metalog": (),
    "mixture": (("weights", "components"),),
    "empirical": (("data",),),
}
_N_FREE = {
    "normal": 2,
    "lognormal": 2,
    "uniform": 2,
    "triangular": 3,
    "pert": 3,
    "beta": 2,
    "gamma": 2,
    "loguniform": 2,
}
_OPTIONAL = {
    "pert": ("lambda",),
    "beta": ("low", "high"),
    "metalog": ("lower", "upper"),
    "empirical": ("column", "kde"),
}
#: Keys whose numbers are quantities in the parameter's unit (scaled on unit conversion).
LOCATION_KEYS = frozenset(
    {
        "value",
        "mean",
        "sd",
        "median",
        "low",
        "high",
        "mode",
        "min",
        "max",
        "scale",
        "location",
        "lower",
        "upper",
    }
)
#: Terms of a metalog: as many as quantiles given.
METALOG_TERMS = (3, 4, 5)
_QUANTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?)\Z")
_COMMON = ("dist", "min", "max")


class DistSpecError(ValueError):
    """A distribution spec is malformed. ``key`` names the offending field when known."""

    def __init__(self, message: str, key: str | None = None):
        super().__init__(message)
        self.key = key


def is_quantile_key(key: str) -> bool:
    """``p05``, ``p50``, ``p95``, ``p2.5`` ..."""
    m = _QUANTILE.match(str(key))
    return bool(m) and 0 < float(m.group(1)) < 100


def _quantile_prob(key: str) -> float:
    return float(_QUANTILE.match(key).group(1)) / 100.0


@dataclass(frozen=True)
class Distribution:
    """A frozen univariate distribution in canonical units.

    Parameters
    ----------
    family : str
        One of :data:`FAMILIES`.
    params : tuple of (str, float)
        Resolved natural parameters (``lognormal``: ``mu``, ``sigma``; ``beta`` and ``pert``:
        ``alpha``, ``beta``, ``low``, ``high``; ``discrete``: ``values`` and ``probs`` tuples).
    given : tuple of (str, object)
        What the user wrote (canonical units), for a readable ``repr``.
    lower, upper : float or None
        Truncation bounds.
    """

    family: str
    params: tuple
    given: tuple = ()
    lower: float | None = None
    upper: float | None = None

    # ----------------------------------------------------------------- construction helpers
    @property
    def p(self) -> dict:
        return dict(self.params)

    @cached_property
    def _impl(self):
        """The implementation of a family that has its own class (gamma, student_t, loguniform,
        metalog, mixture, empirical), or None."""
        cls = _FAMILY_CLASSES.get(self.family)
        return None if cls is None else cls(**self.p)

    @cached_property
    def _frozen(self):
        from scipy import stats  # deferred: scipy.stats takes ~0.7 s to import

        p = self.p
        f = self.family
        if f == "normal":
            return stats.norm(loc=p["mean"], scale=p["sd"])
        if f == "lognormal":
            return stats.lognorm(s=p["sigma"], scale=math.exp(p["mu"]))
        if f == "uniform":
            return stats.uniform(loc=p["low"], scale=p["high"] - p["low"])
        if f == "triangular":
            width = p["high"] - p["low"]
            return stats.triang(c=(p["mode"] - p["low"]) / width, loc=p["low"], scale=width)
        if f in ("pert", "beta"):
            return stats.beta(p["alpha"], p["beta"], loc=p["low"], scale=p["high"] - p["low"])
        return None

    def _continuous_cdf(self, x: np.ndarray) -> np.ndarray:
        """The untruncated CDF by scipy.stats' own formulas on scipy.special functions (the same
        numbers, without importing scipy.stats: loading a file stays fast)."""
        if self._impl is not None:
            return self._impl.cdf(x)
        p, f = self.p, self.family
        with np.errstate(divide="ignore", invalid="ignore"):
            if f == "normal":
                return special.ndtr((x - p["mean"]) / p["sd"])
            if f == "lognormal":
                z = np.where(x > 0, x, 1.0) / math.exp(p["mu"])
                return np.where(x > 0, special.ndtr(np.log(z) / p["sigma"]), 0.0)
            lo, width = p["low"], p["high"] - p["low"]
            z = (x - lo) / width
            if f == "uniform":
                return np.clip(z, 0.0, 1.0)
            if f == "triangular":
                c = (p["mode"] - lo) / width
                inside = np.where(z < c, z * z / c, (z * z - 2 * z + c) / (c - 1))
            elif f in ("pert", "beta"):
                inside = special.betainc(p["alpha"], p["beta"], np.clip(z, 0.0, 1.0))
            else:
                return self._frozen.cdf(x)
            return np.where(z <= 0, 0.0, np.where(z >= 1, 1.0, inside))

    @cached_property
    def _cdf_bounds(self) -> tuple[float, float]:
        lo = 0.0 if self.lower is None else float(self.cdf(self.lower, truncated=False))
        hi = 1.0 if self.upper is None else float(self.cdf(self.upper, truncated=False))
        return lo, hi

    # ----------------------------------------------------------------- public API
    @property
    def is_fixed(self) -> bool:
        """True when the distribution is a single value (no uncertainty)."""
        if self.family == "fixed":
            return True
        if self.family == "discrete":
            return len(self.p["values"]) == 1
        return self._impl is not None and self._impl.is_fixed

    def cdf(self, x, truncated: bool = True):
        """Cumulative distribution function (of the truncated distribution by default)."""
        x = np.asarray(x, dtype=float)
        if self.family == "fixed":
            out = (x >= self.p["value"]).astype(float)
        elif self.family == "discrete":
            vals = np.asarray(self.p["values"])
            probs = np.asarray(self.p["probs"])
            out = (
                (probs[None, :] * (x.reshape(-1, 1) >= vals[None, :])).sum(axis=1).reshape(x.shape)
            )
        else:
            out = self._continuous_cdf(x)
        if truncated and (self.lower is not None or self.upper is not None):
            lo, hi = self._cdf_bounds
            out = np.clip((out - lo) / (hi - lo), 0.0, 1.0)
        return out

    def ppf(self, u):
        """Quantile function, vectorized over ``u`` in [0, 1].

        Parameters
        ----------
        u : array_like
            Probabilities (uniform draws).

        Returns
        -------
        numpy.ndarray
            Values in canonical units, same shape as ``u``.
        """
        u = np.asarray(u, dtype=float)
        if self.family == "fixed":
            return np.full(u.shape, self.p["value"])
        if self.lower is not None or self.upper is not None:
            lo, hi = self._cdf_bounds
            u = lo + u * (hi - lo)
        out = self._untruncated_ppf(u)
        if self.lower is not None or self.upper is not None:
            out = np.clip(
                out,
                -np.inf if self.lower is None else self.lower,
                np.inf if self.upper is None else self.upper,
            )
        return out

    def _untruncated_ppf(self, u: np.ndarray) -> np.ndarray:
        """The quantile function before truncation."""
        if self._impl is not None:
            return self._impl.ppf(u)
        p = self.p
        if self.family == "discrete":
            vals = np.asarray(p["values"], dtype=float)
            cum = np.cumsum(p["probs"])
            cum[-1] = 1.0
            idx = np.searchsorted(cum, u, side="right")
            return vals[np.minimum(idx, len(vals) - 1)]
        if self.family == "normal":
            return p["mean"] + p["sd"] * special.ndtri(u)
        if self.family == "lognormal":
            return np.exp(p["mu"] + p["sigma"] * special.ndtri(u))
        if self.family == "uniform":
            return p["low"] + u * (p["high"] - p["low"])
        if self.family == "triangular":
            return _tri_ppf(u, p["low"], p["mode"], p["high"])
        # pert, beta
        return p["low"] + (p["high"] - p["low"]) * beta_quantile(p["alpha"], p["beta"], u)

    def quantile(self, q: float) -> float:
        """The ``q`` quantile (``q`` in [0, 1]) as a float."""
        return float(self.ppf(np.asarray([q]))[0])

    def mean(self) -> float:
        """Expected value (of the truncated distribution when truncated)."""
        if self.family == "fixed":
            return float(self.p["value"])
        if self.family == "discrete" and self.lower is None and self.upper is None:
            return float(np.dot(self.p["values"], self.p["probs"]))
        if self.lower is None and self.upper is None:
            if self._impl is not None:
                return float(self._impl.mean())
            return float(self._frozen.mean())
        return _integrate_ppf(self.ppf, power=1)

    def sd(self) -> float:
        """Standard deviation."""
        if self.is_fixed:
            return 0.0
        if self.lower is None and self.upper is None:
            if self._impl is not None:
                return float(self._impl.sd())
            if self.family == "discrete":
                v = np.asarray(self.p["values"])
                pr = np.asarray(self.p["probs"])
                return float(math.sqrt(max(np.dot(pr, (v - np.dot(pr, v)) ** 2), 0.0)))
            return float(self._frozen.std())
        m = self.mean()
        return math.sqrt(max(_integrate_ppf(lambda u: (self.ppf(u) - m) ** 2, power=0), 0.0))

    def describe(self, fmt=lambda x: f"{x:.4g}") -> str:
        """The distribution in words, e.g. ``lognormal, median 1.23, 90 % in [0.95, 1.60]``."""
        if self.family == "fixed":
            return f"fixed at {fmt(self.p['value'])}"
        if self.family == "discrete":
            pairs = ", ".join(
                f"{fmt(v)} (p={pr:.2g})" for v, pr in zip(self.p["values"], self.p["probs"])
            )
            return f"discrete: {pairs}"
        trunc = ""
        if self.lower is not None or self.upper is not None:
            lo = fmt(self.lower) if self.lower is not None else "-inf"
            hi = fmt(self.upper) if self.upper is not None else "inf"
            trunc = f", truncated to [{lo}, {hi}]"
        name = self.family if self._impl is None else self._impl.label(fmt)
        return (
            f"{name}, median {fmt(self.quantile(0.5))}, "
            f"90 % in [{fmt(self.quantile(0.05))}, {fmt(self.quantile(0.95))}]{trunc}"
        )

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={_short(v)}" for k, v in (self.given or self.params))
        return f"{self.family}({inner})"


def _short(v) -> str:
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_short(x) for x in v) + "]"
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def _integrate_ppf(fn, power: int) -> float:
    from scipy import integrate  # deferred: only truncated moments need it

    val, _ = integrate.quad(
        lambda u: float(np.asarray(fn(np.asarray([u])))[0]),
        0.0,
        1.0,
        limit=200,
        points=[1e-6, 0.5, 1 - 1e-6],
    )
    return float(val)


def fixed(value: float) -> Distribution:
    """A point value."""
    return Distribution("fixed", (("value", float(value)),), (("value", float(value)),))


# --------------------------------------------------------------------------------- building
def make_distribution(spec: dict, scale: float = 1.0, values=None) -> Distribution:
    """Build a :class:`Distribution` from a user mapping.

    Parameters
    ----------
    spec : dict
        ``{"dist": family, ...natural parameters or quantiles..., "min": .., "max": ..}``;
        numbers may be amount strings (``"50B"``). Other keys (unit, source, ...) must have been
        removed by the caller. A ``mixture``'s ``components`` are such mappings themselves.
    scale : float
        Unit conversion factor applied to location-like values (see :data:`LOCATION_KEYS`).
    values : sequence of float, optional
        The numbers an ``empirical`` spec resamples, in canonical units: the core cannot read
        files, so the loader reads the spec's ``data:`` column and passes them here.

    Raises
    ------
    DistSpecError
        When the family is unknown or the parameters do not fit it; the message says how to fix.
    """
    family = _spec_family(spec)
    keys = [k for k in spec if k not in _COMMON]
    quantile_keys = sorted((k for k in keys if is_quantile_key(str(k))), key=_quantile_prob)
    natural_keys = [k for k in keys if not is_quantile_key(str(k))]
    _check_known_keys(family, natural_keys)
    lower, upper = _truncation_bounds(spec, scale)
    dist = _untruncated(family, spec, scale, quantile_keys, natural_keys, values)
    return _truncate(dist, lower, upper)


def _spec_family(spec: dict) -> str:
    """The spec's family, lower-cased; refuses a missing or unknown one."""
    family = spec.get("dist")
    if family is None:
        raise DistSpecError("no distribution family; add 'dist:' (e.g. dist: lognormal)", "dist")
    family = str(family).strip().lower()
    if family not in FAMILIES:
        raise DistSpecError(
            f"unknown distribution family {spec.get('dist')!r}; use one of {', '.join(FAMILIES)}",
            "dist",
        )
    return family


def _check_known_keys(family: str, natural_keys: list) -> None:
    """Refuse parameter names that ``family`` does not take."""
    allowed = {k for group in _NATURAL[family] for k in group} | set(_OPTIONAL.get(family, ()))
    unknown = [k for k in natural_keys if k not in allowed]
    if unknown:
        options = " or ".join("/".join(g) for g in _NATURAL[family]) or (
            "3 to 5 quantiles such as p10/p50/p90"
        )
        extra = f" (optional: {', '.join(_OPTIONAL[family])})" if family in _OPTIONAL else ""
        qnote = ", or quantiles such as p05/p95" if family in _N_FREE else ""
        raise DistSpecError(
            f"{family} does not take {', '.join(map(repr, unknown))}; give {options}{extra}{qnote}",
            str(unknown[0]),
        )


def _spec_number(spec: dict, key: str, scale: float) -> float:
    """The number at ``spec[key]``, scaled when it is location-like or a quantile."""
    try:
        x = parse_amount(spec[key])
    except ValueError as e:
        raise DistSpecError(f"{key}: {e}", key) from None
    return x * scale if key in LOCATION_KEYS or is_quantile_key(key) else x


def _truncation_bounds(spec: dict, scale: float) -> tuple[float | None, float | None]:
    """The spec's ``min`` and ``max`` (None when absent); refuses ``min >= max``."""
    lower = _spec_number(spec, "min", scale) if "min" in spec else None
    upper = _spec_number(spec, "max", scale) if "max" in spec else None
    if lower is not None and upper is not None and lower >= upper:
        raise DistSpecError(f"min ({lower:g}) must be below max ({upper:g}); swap them", "min")
    return lower, upper


def _untruncated(
    family: str, spec: dict, scale: float, quantile_keys: list, natural_keys: list, values=None
) -> Distribution:
    """The distribution the spec describes, before truncation."""
    if family == "discrete":
        return _discrete(spec, scale)
    if family == "fixed":
        return _fixed_from_spec(spec, scale, quantile_keys)
    if family == "metalog":
        return _metalog_from_spec(spec, scale, quantile_keys)
    if family in ("mixture", "empirical"):
        if quantile_keys:
            raise DistSpecError(
                f"{family} cannot be given by quantiles; remove {quantile_keys[0]} (a metalog "
                "is the family fitted to quantiles)",
                quantile_keys[0],
            )
        if family == "mixture":
            return _mixture_from_spec(spec, scale)
        return _empirical_from_spec(spec, values)
    if quantile_keys:
        return _from_spec_quantiles(family, spec, scale, quantile_keys, natural_keys)
    return _from_natural(family, {k: _spec_number(spec, k, scale) for k in natural_keys})


def _fixed_from_spec(spec: dict, scale: float, quantile_keys: list) -> Distribution:
    """A ``fixed`` spec: exactly one ``value``."""
    if quantile_keys or "value" not in spec:
        raise DistSpecError("fixed takes exactly 'value'; remove the other fields", "value")
    v = _spec_number(spec, "value", scale)
    return Distribution("fixed", (("value", v),), (("value", v),))


def _from_spec_quantiles(
    family: str, spec: dict, scale: float, quantile_keys: list, natural_keys: list
) -> Distribution:
    """A spec given by quantiles (plus the family's optional parameters)."""
    if [k for k in natural_keys if k not in _OPTIONAL.get(family, ())]:
        raise DistSpecError(
            f"{family}: natural parameters and quantiles are both given; give one or the other",
            quantile_keys[0],
        )
    qs = [(_quantile_prob(k), _spec_number(spec, k, scale), k) for k in quantile_keys]
    extra = {k: _spec_number(spec, k, scale) for k in natural_keys}
    return _from_quantiles(family, qs, extra)


def _truncate(dist: Distribution, lower: float | None, upper: float | None) -> Distribution:
    """``dist`` truncated to [lower, upper]; refuses a range holding no probability."""
    if lower is None and upper is None:
        return dist
    dist = Distribution(
        dist.family,
        dist.params,
        dist.given
        + ((("min", lower),) if lower is not None else ())
        + ((("max", upper),) if upper is not None else ()),
        lower,
        upper,
    )
    lo, hi = dist._cdf_bounds
    if hi - lo <= 1e-12:
        raise DistSpecError("truncation to [min, max] leaves no probability; widen min/max", "min")
    return dist


def _discrete(spec: dict, scale: float) -> Distribution:
    """A ``discrete`` spec: ``values`` and their ``probs``, sorted by value."""
    values = spec.get("values")
    probs = spec.get("probs")
    if not isinstance(values, list) or not values:
        raise DistSpecError(
            "discrete needs a list of values; add 'values: [v1, v2, ...]'", "values"
        )
    if probs is None:
        raise DistSpecError(
            "discrete needs probabilities; add 'probs: [p1, p2, ...]' summing to 1", "probs"
        )
    if not isinstance(probs, list) or len(probs) != len(values):
        raise DistSpecError(
            "discrete: 'probs' is not as long as 'values'; give one probability per value", "probs"
        )
    try:
        vals = [parse_amount(v) * scale for v in values]
        prs = [parse_amount(p) for p in probs]
    except ValueError as e:
        raise DistSpecError(f"discrete: {e}", "values") from None
    if any(p < 0 for p in prs):
        raise DistSpecError("discrete: probabilities must be >= 0; remove negative ones", "probs")
    if abs(sum(prs) - 1.0) > 1e-9:
        raise DistSpecError(
            f"discrete: probabilities sum to {sum(prs):.6g}, not 1; rescale them", "probs"
        )
    order = np.argsort(vals, kind="stable")
    vals = tuple(float(vals[i]) for i in order)
    prs = tuple(float(prs[i]) for i in order)
    return Distribution(
        "discrete", (("values", vals), ("probs", prs)), (("values", vals), ("probs", prs))
    )


# --------------------------------------------------------------------------------- natural
def _require(family: str, p: dict, *names: str) -> None:
    """Refuse natural parameters ``p`` that lack any of ``names``."""
    missing = [n for n in names if n not in p]
    if missing:
        options = " or ".join("/".join(g) for g in _NATURAL[family])
        qnote = " (or quantiles such as p05/p95)" if family in _N_FREE else ""
        raise DistSpecError(
            f"{family} needs {options}{qnote}; missing {', '.join(missing)}",
            missing[0],
        )


def _natural_normal(family: str, p: dict, given: tuple) -> Distribution:
    """A normal from ``mean`` and ``sd``."""
    _require(family, p, "mean", "sd")
    if p["sd"] <= 0:
        raise DistSpecError(
            f"normal: sd must be > 0 (got {p['sd']:g}); give a positive spread", "sd"
        )
    return Distribution("normal", (("mean", p["mean"]), ("sd", p["sd"])), given)


def _lognormal_from_median(family: str, p: dict) -> tuple[float, float]:
    """``(mu, sigma)`` of a lognormal given by ``median`` and ``sigma``."""
    _require(family, p, "median", "sigma")
    if p["median"] <= 0:
        raise DistSpecError(
            "lognormal: median must be > 0 (a lognormal lives on (0, inf)); "
            "use normal for values that can be negative",
            "median",
        )
    if p["sigma"] <= 0:
        raise DistSpecError("lognormal: sigma must be > 0; give a positive spread", "sigma")
    return math.log(p["median"]), p["sigma"]


def _lognormal_from_moments(family: str, p: dict) -> tuple[float, float]:
    """``(mu, sigma)`` of a lognormal given by its ``mean`` and ``sd``."""
    _require(family, p, "mean", "sd")
    if p["mean"] <= 0:
        raise DistSpecError(
            "lognormal: mean must be > 0; a lognormal lives on (0, inf), "
            "use normal for values that can be negative",
            "mean",
        )
    if p["sd"] <= 0:
        raise DistSpecError(
            f"lognormal: sd must be > 0 (got {p['sd']:g}); give a positive spread", "sd"
        )
    sigma = math.sqrt(math.log1p((p["sd"] / p["mean"]) ** 2))
    return math.log(p["mean"]) - sigma**2 / 2, sigma


def _natural_lognormal(family: str, p: dict, given: tuple) -> Distribution:
    """A lognormal from ``median``/``sigma`` or from ``mean``/``sd``."""
    if "median" in p or "sigma" in p:
        mu, sigma = _lognormal_from_median(family, p)
    else:
        mu, sigma = _lognormal_from_moments(family, p)
    return Distribution("lognormal", (("mu", mu), ("sigma", sigma)), given)


def _natural_uniform(family: str, p: dict, given: tuple) -> Distribution:
    """A uniform from ``low`` and ``high``."""
    _require(family, p, "low", "high")
    if p["low"] >= p["high"]:
        raise DistSpecError("uniform: low must be below high; swap them", "low")
    return Distribution("uniform", (("low", p["low"]), ("high", p["high"])), given)


def _three_points(family: str, p: dict) -> tuple[float, float, float]:
    """``(low, mode, high)`` of a triangular or PERT spec, checked for order."""
    _require(family, p, "low", "mode", "high")
    lo, mode, hi = p["low"], p["mode"], p["high"]
    if lo >= hi:
        raise DistSpecError(f"{family}: low must be below high; swap them", "low")
    if not lo <= mode <= hi:
        raise DistSpecError(
            f"{family}: mode {mode:g} lies outside [low, high] = [{lo:g}, {hi:g}]; move the "
            "mode or widen the range",
            "mode",
        )
    return lo, mode, hi


def _natural_triangular(family: str, p: dict, given: tuple) -> Distribution:
    """A triangular from ``low``, ``mode`` and ``high``."""
    lo, mode, hi = _three_points(family, p)
    return Distribution("triangular", (("low", lo), ("mode", mode), ("high", hi)), given)


def _natural_pert(family: str, p: dict, given: tuple) -> Distribution:
    """A PERT from ``low``, ``mode``, ``high`` and optional ``lambda`` (default 4)."""
    lo, mode, hi = _three_points(family, p)
    lam = p.get("lambda", 4.0)
    if lam <= 0:
        raise DistSpecError("pert: lambda must be > 0; use 4, the classic PERT", "lambda")
    return _pert(lo, mode, hi, lam, given)


#: Smallest shape parameter of a beta or gamma. Below it nearly all the mass sits within a
#: rounding error of one bound (a beta with alpha = 1e-3 puts 99.9 % of its draws below 1e-300
#: of its range), which is a point mass, not an uncertainty, and the quantile tables underflow.
MIN_SHAPE = 1e-3


def _check_shape(family: str, key: str, value: float) -> None:
    """Refuse a shape parameter that is not positive or below :data:`MIN_SHAPE`."""
    if not value > 0:
        raise DistSpecError(
            f"{family}: {key} must be > 0 (got {value:g}); give a positive shape", key
        )
    if value < MIN_SHAPE:
        raise DistSpecError(
            f"{family}: {key} {value:g} is below {MIN_SHAPE:g} (so small a shape puts all the "
            f"mass at one bound, a point mass); give {key} >= {MIN_SHAPE:g}, or a fixed value",
            key,
        )


def _natural_beta(family: str, p: dict, given: tuple) -> Distribution:
    """A beta from ``alpha``, ``beta`` and optional ``low``/``high`` (default [0, 1])."""
    _require(family, p, "alpha", "beta")
    lo, hi = p.get("low", 0.0), p.get("high", 1.0)
    _check_shape("beta", "alpha", p["alpha"])
    _check_shape("beta", "beta", p["beta"])
    if lo >= hi:
        raise DistSpecError("beta: low must be below high; swap them", "low")
    return Distribution(
        "beta", (("alpha", p["alpha"]), ("beta", p["beta"]), ("low", lo), ("high", hi)), given
    )


def _natural_gamma(family: str, p: dict, given: tuple) -> Distribution:
    """A gamma from ``shape`` and ``scale`` or from its ``mean`` and ``sd``
    (``shape = (mean / sd)^2``, ``scale = sd^2 / mean``)."""
    if {"shape", "scale"} & set(p) and {"mean", "sd"} & set(p):
        raise DistSpecError("gamma: give shape/scale or mean/sd, not both; remove one pair", "mean")
    if "mean" in p or "sd" in p:
        _require(family, p, "mean", "sd")
        if p["mean"] <= 0 or p["sd"] <= 0:
            raise DistSpecError(
                "gamma: mean and sd must be > 0 (a gamma lives on (0, inf)); use normal or "
                "student_t for values that can be negative",
                "mean" if p["mean"] <= 0 else "sd",
            )
        shape, theta = (p["mean"] / p["sd"]) ** 2, p["sd"] ** 2 / p["mean"]
    else:
        _require(family, p, "shape", "scale")
        shape, theta = p["shape"], p["scale"]
    _check_shape("gamma", "shape", shape)
    if not theta > 0:
        raise DistSpecError(
            f"gamma: scale must be > 0 (got {theta:g}); give a positive scale", "scale"
        )
    return Distribution("gamma", (("shape", shape), ("scale", theta)), given)


def _natural_student_t(family: str, p: dict, given: tuple) -> Distribution:
    """A location-scale Student t from ``location``, ``scale`` and ``df``."""
    _require(family, p, "location", "scale", "df")
    if not p["scale"] > 0:
        raise DistSpecError(
            f"student_t: scale must be > 0 (got {p['scale']:g}); give a positive spread", "scale"
        )
    if not p["df"] > 0:
        raise DistSpecError(
            f"student_t: df must be > 0 (got {p['df']:g}); e.g. df: 5 (large df: near normal)",
            "df",
        )
    return Distribution(
        "student_t", (("location", p["location"]), ("scale", p["scale"]), ("df", p["df"])), given
    )


def _natural_loguniform(family: str, p: dict, given: tuple) -> Distribution:
    """A log-uniform (reciprocal) distribution on [low, high], 0 < low < high."""
    _require(family, p, "low", "high")
    if not p["low"] > 0:
        raise DistSpecError(
            f"loguniform: low must be > 0 (got {p['low']:g}); its logarithm is uniform", "low"
        )
    if p["low"] >= p["high"]:
        raise DistSpecError("loguniform: low must be below high; swap them", "low")
    return Distribution("loguniform", (("low", p["low"]), ("high", p["high"])), given)


_NATURAL_BUILDERS = {
    "normal": _natural_normal,
    "lognormal": _natural_lognormal,
    "uniform": _natural_uniform,
    "triangular": _natural_triangular,
    "pert": _natural_pert,
    "beta": _natural_beta,
    "gamma": _natural_gamma,
    "student_t": _natural_student_t,
    "loguniform": _natural_loguniform,
}


def _from_natural(family: str, p: dict) -> Distribution:
    """Build ``family`` from its natural parameters ``p`` (canonical units)."""
    build = _NATURAL_BUILDERS.get(family)
    if build is None:
        raise DistSpecError(
            f"{family}: cannot be built from natural parameters; give quantiles instead"
        )
    return build(family, p, tuple(p.items()))


def _pert(lo, mode, hi, lam, given) -> Distribution:
    """A PERT distribution (a scaled beta) from its range, mode and ``lambda``."""
    width = hi - lo
    alpha = 1 + lam * (mode - lo) / width
    beta = 1 + lam * (hi - mode) / width
    return Distribution(
        "pert",
        (
            ("alpha", alpha),
            ("beta", beta),
            ("low", lo),
            ("high", hi),
            ("mode", mode),
            ("lambda", lam),
        ),
        given,
    )


# --------------------------------------------------------------------------------- quantiles
def _from_quantiles(family: str, qs: list[tuple[float, float, str]], extra: dict) -> Distribution:
    """Fit ``family`` to quantiles ``qs`` = [(prob, value, key), ...] sorted by prob."""
    if family not in _N_FREE:
        raise DistSpecError(
            f"{family} cannot be given by quantiles; give its natural parameters", qs[0][2]
        )
    given = tuple((k, v) for _, v, k in qs) + tuple(extra.items())
    _check_increasing(qs)
    need = _check_quantile_count(family, qs)
    fit_qs = [qs[0], qs[-1]] if need == 2 else qs
    dist = _QUANTILE_FITTERS[family](family, fit_qs, extra, given)
    _check_reproduced(family, dist, qs)
    return dist


def _probs_values(qs: list[tuple[float, float, str]]) -> tuple[np.ndarray, np.ndarray]:
    """The probabilities and values of quantiles ``qs`` as two arrays."""
    return np.array([q[0] for q in qs]), np.array([q[1] for q in qs])


def _check_increasing(qs: list[tuple[float, float, str]]) -> None:
    """Refuse quantiles whose values do not increase with their probability."""
    for (_, v1, k1), (_, v2, k2) in zip(qs, qs[1:]):
        if not v1 < v2:
            raise DistSpecError(
                f"{k1} ({v1:g}) must be below {k2} ({v2:g}); quantiles increase with probability",
                k1,
            )


def _check_quantile_count(family: str, qs: list[tuple[float, float, str]]) -> int:
    """The number of free parameters of ``family``; refuses too few or too many quantiles."""
    need = _N_FREE[family]
    if len(qs) < need:
        raise DistSpecError(
            f"{family} needs {need} quantiles (got {len(qs)}: {', '.join(q[2] for q in qs)}); "
            + ("add e.g. p05 and p95" if need == 2 else "give e.g. p10, p50 and p90"),
            qs[0][2],
        )
    if len(qs) > need + (1 if need == 2 else 0):
        raise DistSpecError(
            f"{family} has {need} parameters; give at most {need} quantiles", qs[-1][2]
        )
    return need


def _check_reproduced(family: str, dist: Distribution, qs: list[tuple[float, float, str]]) -> None:
    """Refuse a fit that misses any quantile the user gave (rtol 1e-9), a redundant one too."""
    probs, vals = _probs_values(qs)
    got = dist.ppf(probs)
    tol = 1e-9 * np.maximum(np.abs(vals), np.abs(vals).max() * 1e-3 + 1e-300)
    bad = np.abs(got - vals) > tol
    if bad.any():
        i = int(np.argmax(bad))
        raise DistSpecError(
            f"no {family} distribution has these quantiles ({qs[i][2]}: asked {vals[i]:g}, the "
            f"best fit gives {got[i]:g}): they are too skewed or spread for it; try another "
            "family (lognormal, pert, triangular, beta) or adjust the quantiles",
            qs[i][2],
        )


def _quantiles_normal(family: str, fit_qs: list, extra: dict, given: tuple) -> Distribution:
    """The normal through two quantiles."""
    fp, fv = _probs_values(fit_qs)
    z = special.ndtri(fp)
    sd = (fv[1] - fv[0]) / (z[1] - z[0])
    return Distribution("normal", (("mean", fv[0] - sd * z[0]), ("sd", sd)), given)


def _quantiles_lognormal(family: str, fit_qs: list, extra: dict, given: tuple) -> Distribution:
    """The lognormal through two positive quantiles."""
    fp, fv = _probs_values(fit_qs)
    if fv[0] <= 0:
        raise DistSpecError(
            f"lognormal: quantiles must be > 0 (got {fv[0]:g}); a lognormal lives on "
            "(0, inf); use normal for values that can be negative",
            fit_qs[0][2],
        )
    z = special.ndtri(fp)
    lv = np.log(fv)
    sigma = (lv[1] - lv[0]) / (z[1] - z[0])
    return Distribution("lognormal", (("mu", lv[0] - sigma * z[0]), ("sigma", sigma)), given)


def _quantiles_uniform(family: str, fit_qs: list, extra: dict, given: tuple) -> Distribution:
    """The uniform through two quantiles."""
    fp, fv = _probs_values(fit_qs)
    width = (fv[1] - fv[0]) / (fp[1] - fp[0])
    low = fv[0] - fp[0] * width
    return Distribution("uniform", (("low", low), ("high", low + width)), given)


def _quantiles_beta(family: str, fit_qs: list, extra: dict, given: tuple) -> Distribution:
    """The beta on [low, high] (default [0, 1]) through two quantiles inside it."""
    fp, fv = _probs_values(fit_qs)
    lo, hi = extra.get("low", 0.0), extra.get("high", 1.0)
    if lo >= hi:
        raise DistSpecError("beta: low must be below high; swap them", "low")
    if fv[0] <= lo or fv[-1] >= hi:
        raise DistSpecError(
            f"beta: quantiles must lie inside ({lo:g}, {hi:g}); a beta lives on [low, high] "
            "(default [0, 1]); set low/high or use another family",
            fit_qs[0][2],
        )
    return _fit_beta(fp, (fv - lo) / (hi - lo), lo, hi, given)


def _quantiles_three(family: str, fit_qs: list, extra: dict, given: tuple) -> Distribution:
    """The triangular or PERT through three quantiles."""
    fp, fv = _probs_values(fit_qs)
    return _fit_three(family, fp, fv, given, extra.get("lambda", 4.0))


def _positive_quantiles(family: str, fit_qs: list) -> tuple[np.ndarray, np.ndarray]:
    """The probabilities and values of ``fit_qs``, refusing a value <= 0."""
    fp, fv = _probs_values(fit_qs)
    if fv[0] <= 0:
        raise DistSpecError(
            f"{family}: quantiles must be > 0 (got {fv[0]:g}); a {family} lives on (0, inf); "
            "use normal for values that can be negative",
            fit_qs[0][2],
        )
    return fp, fv


def _quantiles_loguniform(family: str, fit_qs: list, extra: dict, given: tuple) -> Distribution:
    """The log-uniform through two positive quantiles (its logarithm is uniform)."""
    fp, fv = _positive_quantiles(family, fit_qs)
    lv = np.log(fv)
    width = (lv[1] - lv[0]) / (fp[1] - fp[0])
    low = lv[0] - fp[0] * width
    return Distribution(
        "loguniform", (("low", math.exp(low)), ("high", math.exp(low + width))), given
    )


def _quantiles_gamma(family: str, fit_qs: list, extra: dict, given: tuple) -> Distribution:
    """The gamma through two positive quantiles.

    The ratio of the two quantiles depends on the shape ``k`` alone (the scale cancels) and
    falls from infinity towards 1 as ``k`` grows, so ``k`` is the root of one equation in
    ``ln k`` (a scan of ``k`` in [0.01, 1e6], then bisection); the scale follows in closed form.
    """
    fp, fv = _positive_quantiles(family, fit_qs)
    target = math.log(fv[1] / fv[0])

    def gap(log_k: float) -> float:
        with np.errstate(divide="ignore"):
            q = np.log(special.gammaincinv(math.exp(log_k), fp))
        return float(q[1] - q[0]) - target

    grid = np.linspace(math.log(1e-2), math.log(1e6), 161)
    res = np.array([gap(g) for g in grid])
    roots = [i for i in range(len(grid) - 1) if res[i] >= 0 > res[i + 1]]
    if not roots:
        raise DistSpecError(
            f"no gamma distribution has {fit_qs[1][2]}/{fit_qs[0][2]} = {fv[1] / fv[0]:.4g} "
            "(the ratio is too close to 1 or too large for any shape in [0.01, 1e6]); adjust the "
            "quantiles or use lognormal",
            fit_qs[0][2],
        )
    i = roots[0]
    shape = math.exp(_bisect(gap, grid[i], grid[i + 1], res[i]))
    theta = fv[0] / float(special.gammaincinv(shape, fp[0]))
    return Distribution("gamma", (("shape", shape), ("scale", theta)), given)


_QUANTILE_FITTERS = {
    "normal": _quantiles_normal,
    "lognormal": _quantiles_lognormal,
    "uniform": _quantiles_uniform,
    "beta": _quantiles_beta,
    "triangular": _quantiles_three,
    "pert": _quantiles_three,
    "gamma": _quantiles_gamma,
    "loguniform": _quantiles_loguniform,
}


def _fit_beta(fp, fv01, lo, hi, given) -> Distribution:
    def resid(x):
        a, b = np.exp(x)
        return special.betaincinv(a, b, fp) - fv01

    best = None
    for a0, b0 in ((1.0, 1.0), (2.0, 5.0), (5.0, 2.0), (0.5, 0.5), (20.0, 20.0)):
        from scipy import optimize  # deferred: only quantile fits need it

        sol = optimize.least_squares(
            resid, np.log([a0, b0]), xtol=1e-15, ftol=1e-15, gtol=1e-15, method="lm"
        )
        if best is None or np.max(np.abs(sol.fun)) < np.max(np.abs(best.fun)):
            best = sol
        if np.max(np.abs(sol.fun)) < 1e-13:
            break
    a, b = np.exp(best.x)
    return Distribution("beta", (("alpha", a), ("beta", b), ("low", lo), ("high", hi)), given)


# --------------------------------------------------------------------------------- beta quantile
def _half_table(a: float, b: float, cells: int) -> tuple[float, np.ndarray]:
    """Cubic Hermite table of the Beta(a, b) quantile on u in [0, 1/2].

    The table runs over ``w = u^(1/a)``, in which the quantile is smooth up to ``u = 0``
    (``Q ~ (a B(a, b) u)^(1/a)`` there), with the exact quantile (``scipy.special.betaincinv``)
    and its exact slope at each node.

    Returns
    -------
    h : float
        Cell width in ``w``.
    coef : ndarray (4, cells)
        ``Q = c0 + t (c1 + t (c2 + t c3))`` with ``t`` in [0, 1] the position in the cell.
    """
    h = 0.5 ** (1.0 / a) / cells
    w = np.arange(cells + 1) * h
    u = w**a
    u[-1] = 0.5
    q = special.betaincinv(a, b, u)
    log_beta = special.betaln(a, b)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # dQ/dw = (dQ/du) (du/dw) = a w^(a-1) B(a, b) / (Q^(a-1) (1 - Q)^(b-1))
        dq = np.exp(
            np.log(a) + (a - 1) * (np.log(w) - np.log(q)) + log_beta - (b - 1) * np.log1p(-q)
        )
    dq[0] = math.exp((math.log(a) + log_beta) / a)  # the limit (a B)^(1/a) at w = 0
    d0, d1 = dq[:-1] * h, dq[1:] * h
    q0, q1 = q[:-1], q[1:]
    return h, np.stack([q0, d0, 3 * (q1 - q0) - 2 * d0 - d1, 2 * (q0 - q1) + d0 + d1])


class _BetaQuantileTable:
    """The Beta(a, b) quantile from two cubic Hermite tables (one per half of [0, 1]).

    ``Q(u)`` for ``u <= 1/2`` from the table of Beta(a, b) in ``w = u^(1/a)``, and
    ``Q(u) = 1 - Q_{b,a}(1 - u)`` above, from the table of Beta(b, a) in ``(1 - u)^(1/b)``.
    ``error`` is the largest deviation from ``scipy.special.betaincinv`` at the middle of every
    cell, where the interpolation error of a Hermite cubic peaks.
    """

    def __init__(self, a: float, b: float, cells: int):
        self.cells = cells
        h_left, left = _half_table(a, b, cells)
        h_right, right = _half_table(b, a, cells)
        self.exponent = np.array([1.0 / a, 1.0 / b])
        self.inv_h = np.array([1.0 / h_left, 1.0 / h_right])
        self.coef = np.concatenate([left, right], axis=1)  # left cells, then right cells
        middle = np.arange(cells) + 0.5
        u = np.concatenate([(middle * h_left) ** a, 1.0 - (middle * h_right) ** b])
        with np.errstate(all="ignore"):
            self.error = float(np.max(np.abs(self(u) - special.betaincinv(a, b, u))))
        self.usable = bool(np.isfinite(self.coef).all()) and math.isfinite(self.error)

    def __call__(self, u: np.ndarray) -> np.ndarray:
        right = u > 0.5
        side = right.astype(np.int64)
        pos = np.where(right, 1.0 - u, u) ** self.exponent[side] * self.inv_h[side]
        cell = np.minimum(pos.astype(np.int64), self.cells - 1)
        t = pos - cell
        cell += side * self.cells
        c0, c1, c2, c3 = (c.take(cell) for c in self.coef)
        q = c0 + t * (c1 + t * (c2 + t * c3))
        return np.where(right, 1.0 - q, q)


#: Largest error of the tabulated beta quantile on [0, 1] (checked when a table is built).
BETA_QUANTILE_TOLERANCE = 1e-12


@lru_cache(maxsize=512)
def _beta_quantile_table(a: float, b: float) -> _BetaQuantileTable | None:
    for cells in (1024, 4096, 16384):
        try:
            table = _BetaQuantileTable(a, b, cells)
        except (ZeroDivisionError, OverflowError, FloatingPointError):
            return None  # shapes so small the table underflows: the exact inverse
        if table.usable and table.error <= BETA_QUANTILE_TOLERANCE:
            return table
    return None  # extreme shapes (a or b in the hundreds): the exact, slower inverse


def beta_quantile(a: float, b: float, u) -> np.ndarray:
    """Quantile function of the standard Beta(a, b) distribution on [0, 1], vectorized.

    Sampling maps millions of uniforms through this function, and the exact inverse of the
    regularized incomplete beta function (``scipy.special.betaincinv``, ~1.3 us per value)
    is the slowest step of a run. So the quantile is tabulated once per shape (two cubic
    Hermite tables, see :class:`_BetaQuantileTable`; ~5-70 ms, cached) and evaluated in ~30 ns
    per value. Each table is verified against the exact inverse when built and used only if
    it is within :data:`BETA_QUANTILE_TOLERANCE` (1e-12) of it everywhere checked; otherwise
    the exact inverse is used. The same function serves every call, whatever the number of
    values, so results never depend on the chunk size.

    Parameters
    ----------
    a, b : float
        Shape parameters [-], > 0.
    u : array_like
        Probabilities in [0, 1].

    Returns
    -------
    ndarray
        Quantiles in [0, 1] [-], shape of ``u``.

    References
    ----------
    .. [1] de Boor, C. (2001). *A Practical Guide to Splines*, revised ed., Springer, ch. IV
       (piecewise cubic Hermite interpolation and its error, largest mid-cell).
    """
    u = np.asarray(u, dtype=float)
    table = _beta_quantile_table(float(a), float(b))
    if table is None:
        return special.betaincinv(a, b, u)
    return table(u)


def _tri_ppf(u, lo, mode, hi):
    u = np.asarray(u, dtype=float)
    c = (mode - lo) / (hi - lo)
    with np.errstate(invalid="ignore"):
        left = lo + np.sqrt(np.maximum(u * (hi - lo) * (mode - lo), 0.0))
        right = hi - np.sqrt(np.maximum((1 - u) * (hi - lo) * (hi - mode), 0.0))
    return np.where(u < c, left, right)


def _bisect(f, a: float, b: float, fa: float) -> float:
    """The root of ``f`` in ``[a, b]`` (``f(a)`` and ``f(b)`` of opposite signs), by bisection
    until the interval cannot shrink (machine precision).

    Hand-written rather than ``scipy.optimize.brentq`` because loading a file must not import
    scipy.optimize (0.33 s of the 0.8 s budget of ``capex validate``, benchmarks/README.md);
    its ~55 halvings of a cell of 1/200 cost microseconds.
    """
    for _ in range(200):
        m = 0.5 * (a + b)
        if m <= a or m >= b:
            break
        fm = f(m)
        if fm == 0:
            return m
        if (fm < 0) == (fa < 0):
            a, fa = m, fm
        else:
            b = m
    return 0.5 * (a + b)


def _fit_three(family, fp, fv, given, lam) -> Distribution:
    """Three quantiles -> (low, mode, high).

    For a fixed relative mode position ``c`` both families are location-scale families, so the
    outer two quantiles give ``low`` and the width in closed form; the middle quantile then pins
    ``c`` by a one-dimensional root search (Brent), exact to machine precision.
    """

    def standard_ppf(c, u):
        if family == "triangular":
            return _tri_ppf(u, 0.0, c, 1.0)
        return special.betaincinv(1 + lam * c, 1 + lam * (1 - c), u)

    def solve(c):
        g = standard_ppf(c, fp)
        width = (fv[-1] - fv[0]) / (g[-1] - g[0])
        low = fv[0] - width * g[0]
        return low, width, low + width * g[1] - fv[1]

    grid = np.linspace(0.0, 1.0, 201)
    res = np.array([solve(c)[2] for c in grid])
    roots = [i for i in range(len(grid) - 1) if res[i] == 0 or res[i] * res[i + 1] < 0]
    if not roots:
        i = int(np.argmin(np.abs(res)))
        low, width, _ = solve(grid[i])
        c = grid[i]
    else:
        i = roots[0]
        c = grid[i] if res[i] == 0 else _bisect(lambda x: solve(x)[2], grid[i], grid[i + 1], res[i])
        low, width, _ = solve(c)
    lo, hi, mode = low, low + width, low + c * width
    if family == "triangular":
        return Distribution("triangular", (("low", lo), ("mode", mode), ("high", hi)), given)
    return _pert(lo, mode, hi, lam, given)


# --------------------------------------------------------------------------------- inversion
def _solve_increasing(f, target, a, b, rtol: float = 1e-14, atol: float = 0.0) -> np.ndarray:
    """``inf {x in [a, b]: f(x) >= target}`` elementwise, for ``f`` non-decreasing.

    The Illinois variant of regula falsi [5]_, vectorised: each element keeps its own bracket
    ``[A, B]`` with ``f(A) < target <= f(B)``, and stops on its own when the bracket is narrower
    than ``rtol * max(|A|, |B|) + atol`` (returning ``B``) or when ``|f(x) - target|`` is at
    rounding level, ``2^-50 |target|`` (returning that ``x``). An element's result
    therefore depends on its own inputs only (never on the other elements of the array, so
    never on a chunk size). A false-position point outside the bracket is replaced by the
    midpoint, so the method cannot stall where ``f`` is flat or jumps.

    Parameters
    ----------
    f : callable
        ``f(x, idx)``: the function at points ``x`` of the elements ``idx`` (flat indices).
    target, a, b : array_like
        One-dimensional, broadcast together; ``a`` and ``b`` bracket the answers.
    """
    target = np.asarray(target, dtype=float).ravel()
    a = np.broadcast_to(np.asarray(a, dtype=float), target.shape).copy()
    b = np.broadcast_to(np.asarray(b, dtype=float), target.shape).copy()
    idx = np.arange(target.size)
    fa = f(a, idx) - target
    fb = f(b, idx) - target
    x = np.where(fa >= 0, a, b)  # the answer at an end of the bracket
    active = np.flatnonzero((fa < 0) & (fb >= 0))
    lo, hi, flo, fhi = a[active], b[active], fa[active], fb[active]
    last = np.zeros(active.size, dtype=np.int8)  # +1: the last step moved hi, -1: lo
    finished = np.zeros(active.size, dtype=bool)  # stopped: x written, dropped at compaction
    for _ in range(400):
        if not active.size:
            break
        with np.errstate(all="ignore"):
            m = hi - fhi * (hi - lo) / (fhi - flo)
        m = np.where((m > lo) & (m < hi), m, 0.5 * (lo + hi))
        fm = f(m, active) - target[active]
        hit = np.abs(fm) <= _FTOL * np.abs(target[active])
        right = fm >= 0
        flo = np.where(right & (last == 1), 0.5 * flo, flo)  # Illinois: halve a kept end
        fhi = np.where(~right & (last == -1), 0.5 * fhi, fhi)
        hi, fhi = np.where(right, m, hi), np.where(right, fm, fhi)
        lo, flo = np.where(right, lo, m), np.where(right, flo, fm)
        last = np.where(right, 1, -1).astype(np.int8)
        done = (hit | (hi - lo <= rtol * np.maximum(np.abs(lo), np.abs(hi)) + atol)) & ~finished
        x[active[done]] = np.where(hit, m, hi)[done]
        finished |= done
        if finished.sum() * 4 >= finished.size:  # compact when a quarter has stopped
            keep = ~finished
            active, lo, hi, flo, fhi, last, finished = (
                v[keep] for v in (active, lo, hi, flo, fhi, last, finished)
            )
    x[active[~finished]] = hi[~finished]  # not converged in 400 steps: the bracket's end
    return x


#: Relative residual at which :func:`_solve_increasing` stops (8.9e-16: rounding level).
_FTOL = 2.0**-50


def _logit(u) -> np.ndarray:
    """``ln(u / (1 - u))``, accurate near both ends."""
    u = np.asarray(u, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(u) - np.log1p(-u)


@lru_cache(maxsize=1)
def _logit_grid() -> tuple[np.ndarray, np.ndarray, float]:
    """Nodes ``t`` (step 0.05 on [-745, 745]), ``ln w(t)`` with ``w = u (1 - u)`` the density
    of ``t = logit(u)`` for ``u`` uniform, and the step: ``E g(X) = integral of g(Q(expit t))
    w(t) dt``, by the trapezoid rule, which converges geometrically for integrands analytic in
    a strip about the real line (a metalog's, |Im t| < pi) and decaying in the tails."""
    step = 0.05
    t = np.arange(-14900, 14901) * step
    at = np.abs(t)
    return t, -at - 2.0 * np.log1p(np.exp(-at)), step


# --------------------------------------------------------------------------------- families
class _Family:
    """A family implemented by its own class: the untruncated ``ppf``, ``cdf``, ``mean``, ``sd``
    (truncation is :class:`Distribution`'s, the same for every family)."""

    is_fixed = False

    def label(self, fmt) -> str:
        """The family's name in :meth:`Distribution.describe`."""
        return type(self).name


class _Gamma(_Family):
    """Gamma with shape ``k`` and scale ``theta``: ``F(x) = P(k, x / theta)`` (the regularized
    lower incomplete gamma function), ``Q(u) = theta P^-1(k, u)``, mean ``k theta``, sd
    ``sqrt(k) theta`` (scipy.stats.gamma's own formulas, without importing scipy.stats)."""

    name = "gamma"

    def __init__(self, shape: float, scale: float):
        self.k, self.theta = shape, scale

    def ppf(self, u):
        return special.gammaincinv(self.k, u) * self.theta

    def cdf(self, x):
        return np.where(x > 0, special.gammainc(self.k, np.maximum(x, 0.0) / self.theta), 0.0)

    def mean(self) -> float:
        return self.k * self.theta

    def sd(self) -> float:
        return math.sqrt(self.k) * self.theta


class _StudentT(_Family):
    """Location-scale Student t: ``X = location + scale T_df``; ``Q(u) = location + scale
    stdtrit(df, u)``. The mean is the location for ``df > 1`` (undefined, NaN, below); the sd
    ``scale sqrt(df / (df - 2))`` for ``df > 2``, infinite for ``1 < df <= 2`` (as scipy)."""

    name = "student_t"

    def __init__(self, location: float, scale: float, df: float):
        self.m, self.s, self.df = location, scale, df

    def ppf(self, u):
        return special.stdtrit(self.df, u) * self.s + self.m

    def cdf(self, x):
        return special.stdtr(self.df, (x - self.m) / self.s)

    def mean(self) -> float:
        return self.m if self.df > 1 else math.nan

    def sd(self) -> float:
        if self.df > 2:
            return self.s * math.sqrt(self.df / (self.df - 2))
        return math.inf if self.df > 1 else math.nan


class _LogUniform(_Family):
    """Log-uniform (reciprocal) on [a, b]: ``ln X`` uniform; ``Q(u) = exp(ln a + u ln(b/a))``,
    mean ``(b - a) / ln(b/a)``, ``E X^2 = (b^2 - a^2) / (2 ln(b/a))``."""

    name = "loguniform"

    def __init__(self, low: float, high: float):
        self.a, self.b = low, high
        self.log_ratio = math.log(high) - math.log(low)

    def ppf(self, u):
        return np.exp(math.log(self.a) + u * self.log_ratio)

    def cdf(self, x):
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (np.log(np.maximum(x, self.a)) - math.log(self.a)) / self.log_ratio
        return np.clip(z, 0.0, 1.0)

    def mean(self) -> float:
        return (self.b - self.a) / self.log_ratio

    def sd(self) -> float:
        second = (self.b**2 - self.a**2) / (2 * self.log_ratio)
        return math.sqrt(max(second - self.mean() ** 2, 0.0))


def _metalog_basis(t, k: int) -> np.ndarray:
    """The first ``k`` metalog basis functions at ``t = logit(y)``, shape ``(len(t), k)``:
    ``1, t, (y - 1/2) t, y - 1/2, (y - 1/2)^2`` (Keelin 2016, eq. 6), with ``y - 1/2 =
    tanh(t/2) / 2``."""
    t = np.asarray(t, dtype=float)
    s = 0.5 * np.tanh(0.5 * t)
    cols = [np.ones_like(t), t, s * t, s, s * s]
    return np.stack(cols[:k], axis=-1)


class _Metalog(_Family):
    """The ``k``-term metalog [3]_, unbounded, log (``lower``), negative-log (``upper``) or logit
    (both): ``M(y) = sum a_j b_j(y)`` with the basis of :func:`_metalog_basis`, and
    ``Q(y) = M``, ``lower + e^M``, ``upper - e^-M`` or ``lower + (upper - lower) expit(M)``.

    In ``t = logit(y)`` the tails are straight lines: ``M ~ c0 t`` as ``t -> -inf`` and
    ``M ~ c1 t`` as ``t -> inf``, with ``c0 = a2 - a3/2`` and ``c1 = a2 + a3/2``; so the mean of
    a log metalog is finite when ``c1 < 1`` (its variance when ``c1 < 1/2``), of an upper one
    when ``c0 < 1``. Moments are integrals over ``t`` (:func:`_logit_grid`).
    """

    name = "metalog"

    def __init__(self, a, lower, upper):
        self.a = np.asarray(a, dtype=float)
        self.lower, self.upper = lower, upper
        self.c0 = float(self.a[1] - self.a[2] / 2)
        self.c1 = float(self.a[1] + self.a[2] / 2)

    def label(self, fmt) -> str:
        lo = "-inf" if self.lower is None else fmt(self.lower)
        hi = "inf" if self.upper is None else fmt(self.upper)
        return f"metalog ({len(self.a)} terms, on ({lo}, {hi}))"

    def m_of_t(self, t):
        return _metalog_basis(t, len(self.a)) @ self.a

    def out(self, m):
        """The quantile from ``M`` (the bounds' transform)."""
        lo, hi = self.lower, self.upper
        with np.errstate(over="ignore"):
            if lo is None and hi is None:
                return m
            if hi is None:
                return lo + np.exp(m)
            if lo is None:
                return hi - np.exp(-m)
            return lo + (hi - lo) * special.expit(m)

    def into(self, x):
        """``M`` from a quantile (the inverse transform; -inf/inf at and beyond the bounds)."""
        x = np.asarray(x, dtype=float)
        lo, hi = self.lower, self.upper
        with np.errstate(divide="ignore", invalid="ignore"):
            z = x.copy()
            if lo is not None:
                z = np.log(x - lo) if hi is None else np.log(x - lo) - np.log(hi - x)
            elif hi is not None:
                z = -np.log(hi - x)
        if lo is not None:
            z = np.where(x <= lo, -np.inf, z)
        if hi is not None:
            z = np.where(x >= hi, np.inf, z)
        return z

    def ppf(self, u):
        u = np.asarray(u, dtype=float)
        t = _logit(u)
        inner = np.isfinite(t)
        x = np.empty(u.shape)
        x[inner] = self.out(self.m_of_t(t[inner]))
        x[u <= 0] = -np.inf if self.lower is None else self.lower
        x[u >= 1] = np.inf if self.upper is None else self.upper
        return x

    def cdf(self, x):
        z = np.asarray(self.into(x), dtype=float)
        out = np.where(z == np.inf, 1.0, 0.0)
        inner = np.flatnonzero(np.isfinite(z))
        if inner.size:
            t = _solve_increasing(
                lambda t, _: self.m_of_t(t), z.ravel()[inner], -745.0, 745.0, atol=1e-13
            )
            out.ravel()[inner] = special.expit(t)
        return out

    def _moment_sums(self) -> tuple[float, float]:
        """``E Y`` and ``E Y^2`` of ``Y = e^M`` (log), ``e^-M`` (upper) or ``Q`` (else)."""
        t, logw, step = _logit_grid()
        m = self.m_of_t(t)
        with np.errstate(over="ignore", invalid="ignore"):
            if (self.lower is None) != (self.upper is None):
                sign = 1.0 if self.upper is None else -1.0
                return tuple(float(step * np.exp(p * sign * m + logw).sum()) for p in (1.0, 2.0))
            x, w = self.out(m), np.exp(logw)
            return float(step * (x * w).sum()), float(step * (x * x * w).sum())

    def _tail(self) -> float:
        """The tail exponent that decides which moments exist (0 when both ends are bounded
        or the metalog is unbounded: then all exist)."""
        if self.lower is not None and self.upper is None:
            return self.c1
        if self.upper is not None and self.lower is None:
            return self.c0
        return 0.0

    def mean(self) -> float:
        if self._tail() >= 1:
            return math.inf if self.upper is None else -math.inf
        e1, _ = self._moment_sums()
        if self.lower is not None and self.upper is None:
            return self.lower + e1
        if self.upper is not None and self.lower is None:
            return self.upper - e1
        return e1

    def sd(self) -> float:
        if self._tail() >= 0.5:
            return math.inf
        e1, e2 = self._moment_sums()
        return math.sqrt(max(e2 - e1 * e1, 0.0))


def _metalog_slope(a: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``dM/dt`` of the metalog with coefficients ``a`` at ``t = logit(y)``: with ``s = y - 1/2``
    and ``q = y (1 - y) = ds/dt``, ``a2 + a3 (s + t q) + a4 q + 2 a5 s q``. It is ``y (1 - y)``
    times the metalog's ``dM/dy``, so it has the sign of the density, and tends to ``c0`` and
    ``c1`` in the tails."""
    s = 0.5 * np.tanh(0.5 * t)
    q = 0.25 - s * s
    slope = a[1] + a[2] * (s + t * q)
    if len(a) > 3:
        slope = slope + a[3] * q
    if len(a) > 4:
        slope = slope + 2.0 * a[4] * s * q
    return slope


#: Where a metalog's slope is checked: a uniform grid in ``y`` and one in ``logit(y)``.
_FEASIBILITY_T = np.unique(
    np.concatenate([_logit(np.linspace(0.0, 1.0, 20001)[1:-1]), np.linspace(-50, 50, 10001)])
)


def _metalog_infeasible_at(a: np.ndarray) -> float | None:
    """The ``y`` where the metalog's density is least (when it is <= 0 there), else None.

    A metalog is a distribution only if its quantile function increases on (0, 1), i.e.
    ``dM/dt > 0`` for every ``t``. This is checked on 30,000 points (uniform in ``y`` and in
    ``t`` on [-50, 50]) and in both tail limits ``c0``, ``c1`` — Keelin's (2016) condition for
    three terms, ``a2 > 0`` and ``|a3| / a2 < 1.66711``, is what this check finds for them.
    """
    slope = _metalog_slope(a, _FEASIBILITY_T)
    i = int(np.argmin(slope))
    worst, y = float(slope[i]), float(special.expit(_FEASIBILITY_T[i]))
    for limit, y_end in ((a[1] - a[2] / 2, 0.0), (a[1] + a[2] / 2, 1.0)):
        if limit < worst:
            worst, y = float(limit), y_end
    return y if not worst > 0 else None


def _metalog_from_spec(spec: dict, scale: float, quantile_keys: list) -> Distribution:
    """A ``metalog`` spec: 3 to 5 quantiles (as many terms), optional ``lower``/``upper``."""
    if len(quantile_keys) not in METALOG_TERMS:
        raise DistSpecError(
            f"metalog takes 3 to 5 quantiles, one per term (got {len(quantile_keys)}); give "
            "e.g. p10, p50 and p90",
            quantile_keys[0] if quantile_keys else "dist",
        )
    qs = [(_quantile_prob(k), _spec_number(spec, k, scale), k) for k in quantile_keys]
    _check_increasing(qs)
    lo = _spec_number(spec, "lower", scale) if "lower" in spec else None
    hi = _spec_number(spec, "upper", scale) if "upper" in spec else None
    if lo is not None and hi is not None and not lo < hi:
        raise DistSpecError(f"metalog: lower ({lo:g}) must be below upper ({hi:g})", "lower")
    probs, vals = _probs_values(qs)
    if (lo is not None and vals[0] <= lo) or (hi is not None and vals[-1] >= hi):
        key, bound = ("lower", lo) if lo is not None and vals[0] <= lo else ("upper", hi)
        raise DistSpecError(
            f"metalog: the quantiles must lie strictly inside the bounds ({key} is {bound:g}); "
            f"move {key} beyond them or correct the quantiles",
            key,
        )
    a = _fit_metalog(qs, lo, hi)
    given = tuple((k, v) for _, v, k in qs) + tuple(
        (k, v) for k, v in (("lower", lo), ("upper", hi)) if v is not None
    )
    dist = Distribution("metalog", (("a", tuple(a.tolist())), ("lower", lo), ("upper", hi)), given)
    _check_reproduced("metalog", dist, qs)
    return dist


def _fit_metalog(qs: list, lo: float | None, hi: float | None) -> np.ndarray:
    """The coefficients of the metalog through quantiles ``qs`` (a linear solve, as many terms
    as quantiles); refuses a set no increasing quantile function passes through."""
    probs, vals = _probs_values(qs)
    z = _Metalog((0.0, 1.0, 0.0), lo, hi).into(vals)
    basis = _metalog_basis(_logit(probs), len(qs))
    try:
        a = np.linalg.solve(basis, z)
    except np.linalg.LinAlgError:
        a = np.full(len(qs), np.nan)
    if not np.isfinite(a).all() or np.linalg.cond(basis) > 1e12:
        raise DistSpecError(
            "metalog: these quantile probabilities do not determine a metalog (too close "
            "together); spread the probabilities, e.g. p10, p50, p90",
            qs[0][2],
        )
    y = _metalog_infeasible_at(a)
    if y is not None:
        key = min(qs, key=lambda q: abs(q[0] - y))[2]
        gaps = ", ".join(
            f"{k1}->{k2}: {v2 - v1:.4g}" for (_, v1, k1), (_, v2, k2) in zip(qs, qs[1:])
        )
        raise DistSpecError(
            f"no {len(qs)}-term metalog has these quantiles: the one through them decreases "
            f"near the {100 * y:.3g} % quantile (a negative density); the gaps between them "
            f"({gaps}) are too uneven. Space the quantiles more evenly (move {key}), "
            "give more of them (up to 5), add lower:/upper: bounds, or use another family",
            key,
        )
    return a


class _Mixture(_Family):
    """``F(x) = sum_i w_i F_i(x)`` over components of any family (truncated ones included).

    The quantile inverts ``F`` elementwise: ``Q(u)`` lies between the smallest and the largest
    component quantile ``Q_i(u)`` (at the smallest every ``F_i`` is at most ``u``, at the
    largest at least ``u``), and :func:`_solve_increasing` narrows that bracket to 1e-14
    relative (``|F(Q(u)) - u|`` is then at rounding level); one uniform makes one draw.
    Mean ``sum w_i m_i``; variance ``sum w_i (s_i^2 + m_i^2) - mean^2``.
    """

    name = "mixture"

    def __init__(self, weights, components):
        self.w = tuple(weights)
        self.components = tuple(components)
        values = {c.mean() for c in components if c.is_fixed}
        self.is_fixed = all(c.is_fixed for c in components) and len(values) == 1
        centre = [abs(c.quantile(0.5)) + c.quantile(0.9) - c.quantile(0.1) for c in components]
        self.atol = 1e-15 * max(centre) if max(centre) > 0 else 1e-300

    def label(self, fmt) -> str:
        parts = ", ".join(f"{c.family} {w:.3g}" for w, c in zip(self.w, self.components))
        return f"mixture ({parts})"

    def cdf(self, x):
        x = np.asarray(x, dtype=float)
        return sum(w * c.cdf(x) for w, c in zip(self.w, self.components))

    def ppf(self, u):
        u = np.asarray(u, dtype=float)
        q = np.stack([np.asarray(c.ppf(u), dtype=float) for c in self.components])
        lo, hi = q.min(axis=0), q.max(axis=0)
        out = np.where(u >= 1, hi, lo)  # u = 0: the lowest end; u = 1: the highest
        inner = np.flatnonzero((u > 0) & (u < 1))
        if inner.size:
            out.ravel()[inner] = _solve_increasing(
                lambda x, _: self.cdf(x),
                u.ravel()[inner],
                lo.ravel()[inner],
                hi.ravel()[inner],
                atol=self.atol,
            )
        return out

    def mean(self) -> float:
        return float(sum(w * c.mean() for w, c in zip(self.w, self.components)))

    def sd(self) -> float:
        m = self.mean()
        second = sum(w * (c.sd() ** 2 + c.mean() ** 2) for w, c in zip(self.w, self.components))
        return math.sqrt(max(second - m * m, 0.0))


def _mixture_from_spec(spec: dict, scale: float) -> Distribution:
    """A ``mixture`` spec: ``weights`` (>= 0, summing to 1 within 1e-6; rescaled to exactly 1)
    and ``components``, each a distribution mapping of any family but empirical."""
    weights, components = spec.get("weights"), spec.get("components")
    if not isinstance(components, list) or not components:
        raise DistSpecError(
            "mixture needs its components; add 'components: [{dist: normal, mean: .., sd: ..}, "
            "...]'",
            "components",
        )
    if not isinstance(weights, list) or len(weights) != len(components):
        raise DistSpecError(
            f"mixture: give one weight per component ({len(components)}); add 'weights: "
            "[w1, w2, ...]' summing to 1",
            "weights",
        )
    try:
        ws = [parse_amount(w) for w in weights]
    except ValueError as e:
        raise DistSpecError(f"mixture: weights: {e}", "weights") from None
    if any(not w >= 0 for w in ws) or abs(sum(ws) - 1.0) > 1e-6:
        raise DistSpecError(
            f"mixture: weights must be >= 0 and sum to 1 (they sum to {sum(ws):.6g}); rescale them",
            "weights",
        )
    comps = [_mixture_component(i, c, scale) for i, c in enumerate(components)]
    ws = [w / sum(ws) for w in ws]
    return Distribution(
        "mixture",
        (("weights", tuple(ws)), ("components", tuple(comps))),
        (("weights", tuple(ws)), ("components", tuple(comps))),
    )


def _mixture_component(i: int, comp, scale: float) -> Distribution:
    """Component ``i`` (0-based) of a mixture, errors prefixed with its number."""
    where = f"mixture component {i + 1}"
    if not isinstance(comp, dict):
        raise DistSpecError(
            f"{where} is not a mapping; write it as {{dist: normal, mean: .., sd: ..}}",
            "components",
        )
    if str(comp.get("dist", "")).strip().lower() == "empirical":
        raise DistSpecError(
            f"{where}: an empirical distribution cannot be a component (its data file is "
            "read for whole parameters only); fit a family to the data (capex fit) instead",
            "components",
        )
    try:
        return make_distribution(dict(comp), scale)
    except DistSpecError as e:
        raise DistSpecError(f"{where}: {e}", "components") from None


class _KdeGrid:
    """The CDF of a Gaussian kernel density estimate, ``F(x) = mean_i Phi((x - x_i) / h)``,
    exact at the nodes of a uniform grid over ``[min - 10 h, max + 10 h]`` (step ``h/64``, at
    most 65,536 cells) together with its slope ``f``, and the cubic Hermite interpolant
    between them (error at most ``step^4 max|F''''| / 384``, about 2e-10 at ``h/64``;
    ``error`` is the largest found at the middle of the cells). Outside the grid ``F`` is 0 or
    1 (``Phi(-10)`` = 8e-24). The quantile solves the cell's cubic, elementwise."""

    def __init__(self, values: np.ndarray, h: float):
        lo, hi = float(values[0]) - 10 * h, float(values[-1]) + 10 * h
        self.cells = int(min(max(math.ceil((hi - lo) / (h / 64)), 64), 2**16))
        self.x0, self.dx = lo, (hi - lo) / self.cells
        nodes = lo + self.dx * np.arange(self.cells + 1)
        big_f, small_f = _kde_exact(values, h, nodes)
        self.nodes_cdf = big_f
        d0, d1 = small_f[:-1] * self.dx, small_f[1:] * self.dx
        f0, f1 = big_f[:-1], big_f[1:]
        self.coef = np.stack([f0, d0, 3 * (f1 - f0) - 2 * d0 - d1, 2 * (f0 - f1) + d0 + d1])
        middle = nodes[:-1] + 0.5 * self.dx
        self.error = float(np.max(np.abs(self.cdf(middle) - _kde_exact(values, h, middle)[0])))

    def _poly(self, cell, t):
        c0, c1, c2, c3 = (c.take(cell) for c in self.coef)
        return c0 + t * (c1 + t * (c2 + t * c3))

    def cdf(self, x):
        x = np.asarray(x, dtype=float)
        pos = (x - self.x0) / self.dx
        cell = np.clip(np.floor(np.nan_to_num(pos)), 0, self.cells - 1).astype(np.int64)
        out = np.clip(self._poly(cell, pos - cell), 0.0, 1.0)
        return np.where(pos <= 0, 0.0, np.where(pos >= self.cells, 1.0, out))

    def ppf(self, u):
        u = np.asarray(u, dtype=float)
        flat = u.ravel()
        cell = np.searchsorted(self.nodes_cdf, flat, side="right") - 1
        cell = np.clip(cell, 0, self.cells - 1)
        t = _solve_increasing(lambda t, idx: self._poly(cell[idx], t), flat, 0.0, 1.0, atol=1e-15)
        return (self.x0 + self.dx * (cell + t)).reshape(u.shape)


def _kde_exact(values: np.ndarray, h: float, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The KDE's CDF and density at ``x`` (exact sums, in chunks of ~4 million terms)."""
    big_f, small_f = np.empty(x.size), np.empty(x.size)
    step = max(1, 4_000_000 // values.size)
    for i in range(0, x.size, step):
        z = (x[i : i + step, None] - values[None, :]) / h
        big_f[i : i + step] = special.ndtr(z).mean(axis=1)
        small_f[i : i + step] = np.exp(-0.5 * z * z).mean(axis=1) / (h * math.sqrt(2 * math.pi))
    return big_f, small_f


class _Empirical(_Family):
    """The empirical distribution of ``n`` values ``x_(1) <= .. <= x_(n)``: ``F`` is the step
    function ``#{x_i <= x} / n`` and ``Q(u) = x_(ceil(n u))`` (numpy's ``inverted_cdf``
    quantile), so uniform draws resample the values with equal probability. With a bandwidth
    ``h > 0`` it is the Gaussian KDE instead (:class:`_KdeGrid`): mean the data mean, variance
    the data's (divisor ``n``) plus ``h^2``."""

    name = "empirical"

    def __init__(self, values, bandwidth: float):
        self.x = np.asarray(values, dtype=float)
        self.h = float(bandwidth)
        self.is_fixed = self.h == 0 and self.x[0] == self.x[-1]

    def label(self, fmt) -> str:
        kde = f", Gaussian KDE h = {fmt(self.h)}" if self.h > 0 else ""
        return f"empirical ({self.x.size} values{kde})"

    @cached_property
    def grid(self) -> _KdeGrid:
        return _KdeGrid(self.x, self.h)

    def ppf(self, u):
        if self.h > 0:
            return self.grid.ppf(u)
        u = np.asarray(u, dtype=float)
        n = self.x.size
        virtual = n * u - 1.0  # numpy's virtual index for inverted_cdf
        below = np.floor(virtual)
        idx = below + (virtual - below > 0)
        return self.x[np.clip(np.nan_to_num(idx), 0, n - 1).astype(np.int64)]

    def cdf(self, x):
        if self.h > 0:
            return self.grid.cdf(x)
        return np.searchsorted(self.x, np.asarray(x, dtype=float), side="right") / self.x.size

    def mean(self) -> float:
        return float(self.x.mean())

    def sd(self) -> float:
        return math.sqrt(float(self.x.var()) + self.h**2)


def silverman_bandwidth(values) -> float:
    """Silverman's rule-of-thumb bandwidth [4]_ (eq. 3.31) for a Gaussian kernel:
    ``h = 0.9 min(s, IQR / 1.34) n^(-1/5)``, with ``s`` the sample sd (divisor ``n - 1``) and
    ``IQR`` the interquartile range (``s`` alone when the IQR is 0).

    Raises
    ------
    DistSpecError
        With fewer than two distinct values (no spread to smooth).
    """
    x = np.asarray(values, dtype=float)
    s = float(x.std(ddof=1)) if x.size > 1 else 0.0
    if not s > 0:
        raise DistSpecError(
            "empirical: a kernel density needs at least two different values; set kde: false",
            "kde",
        )
    q75, q25 = np.percentile(x, [75, 25])
    spread = min(s, (q75 - q25) / 1.34) if q75 > q25 else s
    return 0.9 * spread * x.size ** (-0.2)


def empirical(values, kde: bool = False, given: tuple = ()) -> Distribution:
    """The distribution that resamples ``values`` (canonical units), or with ``kde`` their
    Gaussian kernel density estimate, bandwidth by :func:`silverman_bandwidth`.

    Parameters
    ----------
    values : sequence of float
        The sample (e.g. a cited data file's column, read by the loader).
    kde : bool
        Smooth the sample (a continuous distribution) instead of resampling it.
    given : tuple of (str, object)
        What the user wrote, for ``repr`` (e.g. the data file and column).

    Raises
    ------
    DistSpecError
        When there are no values, a value is not finite, or ``kde`` lacks a spread.
    """
    try:
        x = np.sort(np.asarray([float(v) for v in values], dtype=float))
    except (TypeError, ValueError) as e:
        raise DistSpecError(f"empirical: a value is not a number ({e})", "data") from None
    if x.size == 0:
        raise DistSpecError("empirical: the data column has no values; add rows", "data")
    if not np.isfinite(x).all():
        raise DistSpecError("empirical: every value must be finite; correct the data", "data")
    h = silverman_bandwidth(x) if kde else 0.0
    given = given or (("n", int(x.size)), ("kde", bool(kde)))
    return Distribution("empirical", (("values", tuple(x.tolist())), ("bandwidth", h)), given)


def _empirical_from_spec(spec: dict, values) -> Distribution:
    """An ``empirical`` spec: ``data`` (the file, read by the loader into ``values``),
    optional ``column`` (default ``value``) and ``kde`` (default false)."""
    kde = spec.get("kde", False)
    if not isinstance(kde, bool):
        raise DistSpecError(f"empirical: kde is {kde!r}; write kde: true or kde: false", "kde")
    if values is None:
        raise DistSpecError(
            "empirical: the values of the data file were not read; load the file with capex "
            "(the loader reads 'data:' relative to it), or build it with empirical(values)",
            "data",
        )
    given = (
        ("data", str(spec.get("data"))),
        ("column", str(spec.get("column", "value"))),
        ("n", len(values)),
        ("kde", kde),
    )
    return empirical(values, kde=kde, given=given)


_FAMILY_CLASSES = {
    "gamma": _Gamma,
    "student_t": _StudentT,
    "loguniform": _LogUniform,
    "metalog": _Metalog,
    "mixture": _Mixture,
    "empirical": _Empirical,
}
