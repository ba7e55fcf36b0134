"""Distributions fitted to cited data by maximum likelihood (``capex fit``).

A data file (:func:`model.loading.observations.load_data`: one number per row, each with its
unit and source) is a sample ``x_1 .. x_n`` in the file's canonical unit. Every family of
:data:`FAMILIES` whose support holds the sample is fitted by maximum likelihood with
``scipy.stats`` [3]_ (``<dist>.fit``), with the location fixed where the capex family has none
(lognormal and gamma start at 0: ``floc=0``; beta lives on [0, 1]: ``floc=0, fscale=1``). The
uniform and log-uniform MLEs are the sample's range, in closed form (the likelihood grows as the
bounds close in on the data).

Each fit is scored by

* Akaike's information criterion [1]_ ``AIC = 2 k - 2 ln L`` and
* the Bayesian (Schwarz) criterion [2]_ ``BIC = k ln n - 2 ln L``,

with ``ln L`` the maximised log-likelihood [-] and ``k`` the number of fitted parameters [-],
and by the Kolmogorov-Smirnov statistic ``D = sup |F_n(x) - F(x)|`` [-] between the sample's
empirical CDF and the fitted one (``scipy.stats.kstest``). The candidates are **ranked by AIC**
(lower is better); ``delta_aic`` is each one's distance from the best and ``akaike_weight``
``exp(-delta/2) / sum exp(-delta/2)`` its relative support [4]_. ``D`` is shown as a distance
only: its p-value would be wrong, the parameters being estimated from the same data
(Lilliefors), so none is printed.

The best fit is also written as a ready-to-paste assumption-file parameter (:func:`snippet`):
the family and parameters in capex's own keys, at full precision (it loads to the same
distribution), the canonical unit, the first row's source inline, and a ``note`` saying it is a
fit to the file's rows (naming every source when there are several).

References
----------
.. [1] Akaike, H. (1974). A new look at the statistical model identification. *IEEE
   Transactions on Automatic Control* 19(6), 716-723. doi:10.1109/TAC.1974.1100705
.. [2] Schwarz, G. (1978). Estimating the dimension of a model. *The Annals of Statistics*
   6(2), 461-464. doi:10.1214/aos/1176344136
.. [3] Virtanen, P. et al. (2020). SciPy 1.0: fundamental algorithms for scientific computing
   in Python. *Nature Methods* 17, 261-272 (``scipy.stats.rv_continuous.fit``, ``kstest``).
.. [4] Burnham, K. P. and Anderson, D. R. (2002). *Model Selection and Multimodel Inference*,
   2nd ed., Springer, section 2.9 (Akaike weights).
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from ..core.errors import AssumptionError, CapexWarning, Problem, did_you_mean, display_path
from ..loading.observations import load_data

#: The families ``capex fit`` fits, in the order it tries them.
FAMILIES = ("normal", "lognormal", "gamma", "student_t", "loguniform", "uniform", "beta")
#: Each family's parameters, as an assumption file writes them (``dist: <family>``).
PARAMETERS = {
    "normal": ("mean", "sd"),
    "lognormal": ("median", "sigma"),
    "gamma": ("shape", "scale"),
    "student_t": ("location", "scale", "df"),
    "loguniform": ("low", "high"),
    "uniform": ("low", "high"),
    "beta": ("alpha", "beta"),
}
#: Parameters in the data's unit (the others are pure numbers).
IN_UNIT = frozenset({"mean", "sd", "median", "scale", "location", "low", "high"})
#: Families capex knows that are not fitted, and why.
NOT_FITTED = {
    "triangular": "its likelihood is not regular (the mode sits on a data point)",
    "pert": "it is an elicitation family, not a sampling model",
    "fixed": "a single value has no spread to fit",
    "discrete": "give the values and their probabilities directly",
}
#: The quantiles reported for the best fit.
QUANTILES = {"p05": 0.05, "p50": 0.5, "p95": 0.95}
#: Fewest rows a fit takes.
MIN_ROWS = 3
#: Sources named in a snippet's note, at most.
MAX_NOTED_SOURCES = 10


class FitWarning(CapexWarning):
    """A requested family could not be fitted, or the snippet lacks what a source needs."""


@dataclass(frozen=True)
class Candidate:
    """One family fitted to a sample by maximum likelihood.

    Attributes
    ----------
    family : str
        One of :data:`FAMILIES`.
    parameters : dict
        The fitted parameters by their assumption-file keys (:data:`PARAMETERS`); those of
        :data:`IN_UNIT` in the data's canonical unit, the others [-].
    log_likelihood : float
        Maximised ``ln L`` [-].
    aic, bic : float
        ``2 k - 2 ln L`` and ``k ln n - 2 ln L`` [-].
    ks_statistic : float
        Kolmogorov-Smirnov distance between the empirical and the fitted CDF [-].
    """

    family: str
    parameters: dict
    log_likelihood: float
    aic: float
    bic: float
    ks_statistic: float

    @property
    def free_parameters(self) -> int:
        """``k``: the parameters fitted [-]."""
        return len(PARAMETERS[self.family])

    def frozen(self):
        """The fitted distribution as a frozen ``scipy.stats`` distribution."""
        return frozen(self.family, self.parameters)

    def quantiles(self) -> dict:
        """:data:`QUANTILES` of the fitted distribution [the data's unit]."""
        values = self.frozen().ppf(list(QUANTILES.values()))
        return {k: float(v) for k, v in zip(QUANTILES, values)}


@dataclass(frozen=True)
class FitResult:
    """Every family fitted to one data file, ranked by AIC.

    Attributes
    ----------
    path : str
        The data file, as shown in messages.
    column : str
        The column fitted.
    unit : str
        The canonical unit of the values (and of the parameters in :data:`IN_UNIT`).
    rows : int
        ``n``, the values fitted.
    candidates : tuple of Candidate
        Ranked by AIC, best first.
    skipped : tuple of (str, str)
        Families not fitted, each with the reason.
    sources : tuple of dict
        The distinct sources of the rows (``title``, ``publisher``, ``published``, ``address``,
        ``confidence``, ``rows``), in file order.
    name : str
        The parameter name of the snippet.
    """

    path: str
    column: str
    unit: str
    rows: int
    candidates: tuple
    skipped: tuple = ()
    sources: tuple = ()
    name: str = "fitted"

    @property
    def best(self) -> Candidate:
        """The candidate with the lowest AIC."""
        return self.candidates[0]

    def to_json_dict(self) -> dict:
        """What ``capex fit --json`` prints (without ``schema_version`` and ``warnings``)."""
        best = self.best
        deltas, weights = akaike_weights([c.aic for c in self.candidates])
        return {
            "path": self.path,
            "column": self.column,
            "unit": self.unit,
            "rows": self.rows,
            "ranked_by": "aic",
            "candidates": [
                {
                    "family": c.family,
                    "parameters": dict(c.parameters),
                    "free_parameters": c.free_parameters,
                    "log_likelihood": c.log_likelihood,
                    "aic": c.aic,
                    "bic": c.bic,
                    "delta_aic": d,
                    "akaike_weight": w,
                    "ks_statistic": c.ks_statistic,
                }
                for c, d, w in zip(self.candidates, deltas, weights)
            ],
            "skipped": [{"family": f, "reason": r} for f, r in self.skipped],
            "sources": [dict(s) for s in self.sources],
            "best": {
                "family": best.family,
                "parameters": dict(best.parameters),
                "quantiles": best.quantiles(),
                "yaml": snippet(self),
            },
        }


# --------------------------------------------------------------------------------- families
def frozen(family: str, p: dict):
    """The ``scipy.stats`` distribution of a capex family with parameters ``p``."""
    from scipy import stats  # deferred: scipy.stats takes ~0.7 s to import

    if family == "normal":
        return stats.norm(loc=p["mean"], scale=p["sd"])
    if family == "lognormal":
        return stats.lognorm(s=p["sigma"], scale=p["median"])
    if family == "gamma":
        return stats.gamma(a=p["shape"], scale=p["scale"])
    if family == "student_t":
        return stats.t(df=p["df"], loc=p["location"], scale=p["scale"])
    if family == "loguniform":
        return stats.loguniform(p["low"], p["high"])
    if family == "uniform":
        return stats.uniform(loc=p["low"], scale=p["high"] - p["low"])
    if family == "beta":
        return stats.beta(p["alpha"], p["beta"])
    raise ValueError(f"unknown family {family!r}")


def _mle(family: str, x: np.ndarray) -> dict:
    """The maximum-likelihood parameters of ``family`` for the sample ``x``."""
    from scipy import stats  # deferred: scipy.stats takes ~0.7 s to import

    if family == "normal":
        loc, scale = stats.norm.fit(x)
        return {"mean": float(loc), "sd": float(scale)}
    if family == "lognormal":
        s, _, scale = stats.lognorm.fit(x, floc=0)
        return {"median": float(scale), "sigma": float(s)}
    if family == "gamma":
        a, _, scale = stats.gamma.fit(x, floc=0)
        return {"shape": float(a), "scale": float(scale)}
    if family == "student_t":
        # fitted on the standardised sample (the MLE of a location-scale family is equivariant),
        # since the optimiser's start fails on values of order 1e11 (USD)
        m, s = float(x.mean()), float(x.std())
        df, loc, scale = stats.t.fit((x - m) / s)
        return {"location": m + s * float(loc), "scale": s * float(scale), "df": float(df)}
    if family in ("loguniform", "uniform"):
        return {"low": float(x.min()), "high": float(x.max())}
    if family == "beta":
        a, b, _, _ = stats.beta.fit(x, floc=0, fscale=1)
        return {"alpha": float(a), "beta": float(b)}
    raise ValueError(f"unknown family {family!r}")


def _log_likelihood(family: str, p: dict, x: np.ndarray) -> float:
    """``ln L`` of the sample under the fitted family [-] (the bounded families in closed form,
    so that the data's own minimum and maximum stay inside the support)."""
    n = x.size
    if family == "uniform":
        return -n * math.log(p["high"] - p["low"])
    if family == "loguniform":
        return -float(np.log(x).sum()) - n * math.log(math.log(p["high"] / p["low"]))
    return float(frozen(family, p).logpdf(x).sum())


def support_problem(family: str, x: np.ndarray, unit: str, lines=None) -> str | None:
    """Why ``family`` cannot describe the sample (its support misses a value), or None.

    Parameters
    ----------
    family : str
    x : numpy.ndarray
        The sample [``unit``].
    unit : str
        Its canonical unit.
    lines : sequence of int, optional
        The file line of each value, to name the first one outside the support.
    """

    def where(mask) -> str:
        i = int(np.argmax(mask))
        at = f"line {lines[i]}" if lines is not None else f"value {i + 1}"
        return f"({at} has {x[i]:g})"

    if family in ("lognormal", "gamma", "loguniform") and (x <= 0).any():
        return f"needs values > 0 {where(x <= 0)}"
    if family == "beta":
        if unit != "share":
            return f"fits shares in (0, 1), not values in {unit}"
        outside = (x <= 0) | (x >= 1)
        if outside.any():
            return f"needs shares strictly inside (0, 1) {where(outside)}"
    if len(x) <= len(PARAMETERS[family]):
        return f"has {len(PARAMETERS[family])} parameters and needs more rows than that"
    return None


def fit_family(family: str, x: np.ndarray) -> Candidate:
    """Fit one family to the sample ``x`` by maximum likelihood and score it.

    Raises
    ------
    ValueError
        When the fit fails or its likelihood is not finite.
    """
    from scipy import stats  # deferred: scipy.stats takes ~0.7 s to import

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        p = _mle(family, x)
        ll = _log_likelihood(family, p, x)
        ks = float(stats.kstest(x, frozen(family, p).cdf).statistic)
    if not (math.isfinite(ll) and all(math.isfinite(v) for v in p.values())):
        raise ValueError("the likelihood is not finite at the fitted parameters")
    k, n = len(p), x.size
    return Candidate(family, p, ll, 2 * k - 2 * ll, k * math.log(n) - 2 * ll, ks)


def akaike_weights(aics) -> tuple[list[float], list[float]]:
    """``delta_i = AIC_i - min AIC`` and the Akaike weights ``exp(-delta_i / 2) / sum`` [-]."""
    a = np.asarray(aics, dtype=float)
    delta = a - a.min()
    w = np.exp(-0.5 * delta)
    return [float(d) for d in delta], [float(v) for v in w / w.sum()]


def check_families(names) -> tuple[str, ...]:
    """The families asked for (all of :data:`FAMILIES` when ``names`` is empty), in order.

    Raises
    ------
    AssumptionError
        For a name that is not a fitted family (with a did-you-mean), on ``--families``.
    """
    if not names:
        return FAMILIES
    problems, out = [], []
    for name in names:
        name = name.strip().lower()
        if name in FAMILIES:
            if name not in out:
                out.append(name)
            continue
        if name in NOT_FITTED:
            why = f"{name} is not fitted: {NOT_FITTED[name]}"
        else:
            close = did_you_mean(name, FAMILIES)
            why = f"unknown family {name!r}" + (f" (did you mean {close!r}?)" if close else "")
        problems.append(
            Problem(f"{why}; choose from {', '.join(FAMILIES)}", parameter="--families")
        )
    if problems:
        raise AssumptionError(problems)
    return tuple(out)


# --------------------------------------------------------------------------------- a sample
def fit_sample(x, unit: str, families=None, lines=None) -> tuple[list[Candidate], list[tuple]]:
    """Fit every family of ``families`` whose support holds the sample; rank them by AIC.

    Parameters
    ----------
    x : array_like
        The sample [``unit``].
    unit : str
        Its canonical unit (``share`` data may also be fitted by a beta).
    families : sequence of str, optional
        Default :data:`FAMILIES`.
    lines : sequence of int, optional
        The file line of each value (for the reasons a family was skipped).

    Returns
    -------
    candidates : list of Candidate
        Ranked by AIC, then BIC, then the order of :data:`FAMILIES`.
    skipped : list of (family, reason)
    """
    x = np.asarray(x, dtype=float)
    candidates, skipped = [], []
    for family in check_families(families):
        reason = support_problem(family, x, unit, lines)
        if reason is None:
            try:
                candidates.append(fit_family(family, x))
            except (ValueError, RuntimeError, FloatingPointError) as e:
                reason = f"failed to fit ({e})"
        if reason is not None:
            skipped.append((family, reason))
    candidates.sort(key=lambda c: (c.aic, c.bic, FAMILIES.index(c.family)))
    return candidates, skipped


def _sample_problems(x: np.ndarray, shown: str) -> list[Problem]:
    """A sample too small, or without spread, to fit."""
    if x.size < MIN_ROWS:
        return [Problem(f"{x.size} value(s); a fit needs at least {MIN_ROWS} rows", shown)]
    if np.unique(x).size < 2:
        return [Problem(f"every value is {x[0]:g}; a fit needs values that differ", shown)]
    return []


def fit_data(path, column: str = "value", families=None, name: str | None = None) -> FitResult:
    """Fit distributions to a data file (``capex fit``).

    Parameters
    ----------
    path : str or Path
        A data file (:func:`~model.loading.observations.load_data`).
    column : str
        The column holding the numbers.
    families : sequence of str, optional
        The families to try (default :data:`FAMILIES`).
    name : str, optional
        The snippet's parameter name (default: the file's stem as a lowercase word).

    Raises
    ------
    AssumptionError
        A malformed file (every problem, file:line), an unknown family, too few values, or no
        family whose support holds the data.
    """
    chosen = check_families(families)
    df = load_data(path, column)
    shown = display_path(path)
    x = df["value"].to_numpy(dtype=float)
    problems = _sample_problems(x, shown)
    if problems:
        raise AssumptionError(problems)
    candidates, skipped = fit_sample(x, df.attrs["unit"], chosen, df["line"].tolist())
    if not candidates:
        raise AssumptionError(
            [
                Problem(f"{f} {r}; fit another family (--families) or correct the data", shown)
                for f, r in skipped
            ]
        )
    if families:
        for f, r in skipped:
            warnings.warn(f"{shown}: {f} was not fitted: it {r}", FitWarning, stacklevel=2)
    return FitResult(
        path=shown,
        column=column,
        unit=df.attrs["unit"],
        rows=int(x.size),
        candidates=tuple(candidates),
        skipped=tuple(skipped),
        sources=tuple(_sources(df)),
        name=name or _slug(Path(path).stem),
    )


def _slug(stem: str) -> str:
    """A file stem as a parameter name: lowercase, words joined by ``_``."""
    word = re.sub(r"[^a-z0-9]+", "_", stem.lower()).strip("_")
    return word if word and word[0].isalpha() else f"fitted_{word}".rstrip("_")


def _sources(df) -> list[dict]:
    """The distinct sources of a data table's rows, in file order, with their row counts."""
    out: dict[tuple, dict] = {}
    for row in df.itertuples(index=False):
        key = (row.source_title, row.publisher, row.published, row.address)
        if key not in out:
            out[key] = {
                "title": row.source_title,
                "publisher": row.publisher,
                "published": row.published,
                "address": row.address,
                "confidence": row.confidence,
                "rows": 0,
            }
        out[key]["rows"] += 1
    return list(out.values())


# --------------------------------------------------------------------------------- snippet
def _inline_source(sources) -> dict:
    """The first source with a publication date, as an inline ``source:`` mapping."""
    dated = [s for s in sources if s["published"] != "n.d."]
    if not dated:
        warnings.warn(
            "no row's source has a publication date (all n.d.); the snippet's source needs "
            "one: replace 'published: n.d.' with the date before pasting it",
            FitWarning,
            stacklevel=3,
        )
    s = (dated or list(sources))[0]
    out = {"title": s["title"], "publisher": s["publisher"], "published": s["published"]}
    out["url"] = s["address"]
    if s.get("confidence"):
        out["confidence"] = s["confidence"]
    return out


def _note(result: FitResult) -> str:
    """The snippet's note: what was fitted to what, and every source when there are several."""
    best = result.best
    tried = len(result.candidates)
    rank = "the one family fitted" if tried == 1 else f"lowest AIC of {tried} families fitted"
    text = (
        f"maximum-likelihood {best.family} fit (capex fit; {rank}) to {result.rows} rows of "
        f"{result.path}, column {result.column}"
    )
    if len(result.sources) > 1:
        listed = [
            f"{s['title']} ({s['publisher']}, {s['published']}; {s['rows']} rows)"
            for s in result.sources[:MAX_NOTED_SOURCES]
        ]
        more = len(result.sources) - len(listed)
        text += f"; sources of the rows: {'; '.join(listed)}"
        text += f"; and {more} more (see the file)" if more else ""
    return text


def snippet(result: FitResult) -> str:
    """The best fit as an assumption-file parameter, ready to paste under ``parameters:``.

    The parameters are written at full precision (the snippet loads to exactly the fitted
    distribution), in the data's canonical unit, with the first dated source of the rows
    inline and a note naming the fit and the file.
    """
    best = result.best
    body = {"dist": best.family, **best.parameters, "unit": result.unit}
    body["source"] = _inline_source(result.sources)
    body["note"] = _note(result)
    text = yaml.safe_dump(
        {result.name: body},
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )
    head = f"# capex fit of {result.path}: rename the key to the parameter it describes\n"
    return head + text
