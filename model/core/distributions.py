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
========== ========================================= ====================

When quantiles are given they describe the distribution *before* truncation. A 2-parameter
family given three quantiles is accepted only when they are consistent with it (e.g. a normal's
``p50`` must be the midpoint of ``p10`` and ``p90``); otherwise use ``pert`` or ``triangular``.

References
----------
.. [1] Vose, D. (2008). *Risk Analysis: A Quantitative Guide*, 3rd ed., Wiley (PERT, triangular).
.. [2] O'Hagan, A. et al. (2006). *Uncertain Judgements: Eliciting Experts' Probabilities*, Wiley.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
from scipy import special

from .units import parse_amount

FAMILIES = ("fixed", "normal", "lognormal", "uniform", "triangular", "pert", "beta", "discrete")

_NATURAL = {
    "fixed": (("value",),),
    "normal": (("mean", "sd"),),
    "lognormal": (("median", "sigma"), ("mean", "sd")),
    "uniform": (("low", "high"),),
    "triangular": (("low", "mode", "high"),),
    "pert": (("low", "mode", "high"),),
    "beta": (("alpha", "beta"),),
    "discrete": (("values", "probs"),),
}
_N_FREE = {"normal": 2, "lognormal": 2, "uniform": 2, "triangular": 3, "pert": 3, "beta": 2}
_OPTIONAL = {"pert": ("lambda",), "beta": ("low", "high")}
#: Keys whose numbers are quantities in the parameter's unit (scaled on unit conversion).
LOCATION_KEYS = frozenset({"value", "mean", "sd", "median", "low", "high", "mode", "min", "max"})
_QUANTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?)$")
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
        return False

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
        if self.family == "discrete":
            vals = np.asarray(self.p["values"], dtype=float)
            cum = np.cumsum(self.p["probs"])
            cum[-1] = 1.0
            idx = np.searchsorted(cum, u, side="right")
            out = vals[np.minimum(idx, len(vals) - 1)]
        elif self.family == "normal":
            out = self.p["mean"] + self.p["sd"] * special.ndtri(u)
        elif self.family == "lognormal":
            out = np.exp(self.p["mu"] + self.p["sigma"] * special.ndtri(u))
        elif self.family == "uniform":
            out = self.p["low"] + u * (self.p["high"] - self.p["low"])
        elif self.family == "triangular":
            out = _tri_ppf(u, self.p["low"], self.p["mode"], self.p["high"])
        else:  # pert, beta
            p = self.p
            out = p["low"] + (p["high"] - p["low"]) * beta_quantile(p["alpha"], p["beta"], u)
        if self.lower is not None or self.upper is not None:
            out = np.clip(
                out,
                -np.inf if self.lower is None else self.lower,
                np.inf if self.upper is None else self.upper,
            )
        return out

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
            return float(self._frozen.mean())
        return _integrate_ppf(self.ppf, power=1)

    def sd(self) -> float:
        """Standard deviation."""
        if self.is_fixed:
            return 0.0
        if self.lower is None and self.upper is None:
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
        return (
            f"{self.family}, median {fmt(self.quantile(0.5))}, "
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
def make_distribution(spec: dict, scale: float = 1.0) -> Distribution:
    """Build a :class:`Distribution` from a user mapping.

    Parameters
    ----------
    spec : dict
        ``{"dist": family, ...natural parameters or quantiles..., "min": .., "max": ..}``;
        numbers may be amount strings (``"50B"``). Other keys (unit, source, ...) must have been
        removed by the caller.
    scale : float
        Unit conversion factor applied to location-like values (see :data:`LOCATION_KEYS`).

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
    dist = _untruncated(family, spec, scale, quantile_keys, natural_keys)
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
        options = " or ".join("/".join(g) for g in _NATURAL[family])
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
    family: str, spec: dict, scale: float, quantile_keys: list, natural_keys: list
) -> Distribution:
    """The distribution the spec describes, before truncation."""
    if family == "discrete":
        return _discrete(spec, scale)
    if family == "fixed":
        return _fixed_from_spec(spec, scale, quantile_keys)
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
        raise DistSpecError(
            f"{family} needs {options} (or quantiles such as p05/p95); "
            f"missing {', '.join(missing)}",
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


def _natural_beta(family: str, p: dict, given: tuple) -> Distribution:
    """A beta from ``alpha``, ``beta`` and optional ``low``/``high`` (default [0, 1])."""
    _require(family, p, "alpha", "beta")
    lo, hi = p.get("low", 0.0), p.get("high", 1.0)
    if p["alpha"] <= 0 or p["beta"] <= 0:
        raise DistSpecError("beta: alpha and beta must be > 0; give positive shapes", "alpha")
    if lo >= hi:
        raise DistSpecError("beta: low must be below high; swap them", "low")
    return Distribution(
        "beta", (("alpha", p["alpha"]), ("beta", p["beta"]), ("low", lo), ("high", hi)), given
    )


_NATURAL_BUILDERS = {
    "normal": _natural_normal,
    "lognormal": _natural_lognormal,
    "uniform": _natural_uniform,
    "triangular": _natural_triangular,
    "pert": _natural_pert,
    "beta": _natural_beta,
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


_QUANTILE_FITTERS = {
    "normal": _quantiles_normal,
    "lognormal": _quantiles_lognormal,
    "uniform": _quantiles_uniform,
    "beta": _quantiles_beta,
    "triangular": _quantiles_three,
    "pert": _quantiles_three,
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
        table = _BetaQuantileTable(a, b, cells)
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
