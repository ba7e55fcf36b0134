"""A fitted calibration: its posterior, diagnostics, predictions and targets.

:class:`Calibration` is what :func:`model.calibration.fit` returns::

    cal = fit("assumptions/observations/anthropic_revenue.csv", "logistic")
    cal.diagnostics["ok"]                         # False -> warned (CalibrationError if strict)
    cal.predictive_series([2026, 2027, 2028], n=10_000, seed=1)   # (n, 3) [USD/year]
    cal.prob_at_least(2028, 70e9)                 # P(calendar-2028 revenue >= $70B)

Its figures are drawn by :mod:`model.reporting.calibration_figures`.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.errors import CapexWarning
from ..loading.priors import ModelPriors
from . import shim
from .curves import ModelSpec, design, logsumexp
from .diagnostics import diagnose, hdi

#: A parameter whose posterior sd exceeds this share of its prior sd was set by its prior: the
#: data did not narrow it much (a ceiling the observations never approach, say).
SET_BY_PRIOR = 0.7
#: Positive derived quantities compared on the log scale (their spread spans decades).
LOG_COMPARED = ("cap", "level")


def _prior_sd(prior, name: str, on_log: bool) -> float:
    """Standard deviation of the prior draws of ``name`` (NaN without a prior group)."""
    if prior is None or name not in prior.data_vars:
        return math.nan
    x = np.asarray(prior[name], dtype=float).reshape(-1)
    x = np.log(x[x > 0]) if on_log else x
    x = x[np.isfinite(x)]
    return float(np.std(x, ddof=1)) if x.size > 1 else math.nan


class CalibrationWarning(CapexWarning):
    """A calibration failed its diagnostics but is used anyway (``strict=False``)."""


class Calibration:
    """A fitted calibration: posterior, diagnostics and predictive draws.

    Built by :func:`fit`; not usually constructed directly.

    Attributes
    ----------
    idata : arviz.InferenceData or xarray.DataTree
        Groups posterior, sample_stats, log_likelihood, observed_data, posterior_predictive,
        prior, prior_predictive.
    model_name : str
    spec : ModelSpec
    observations : pandas.DataFrame
        All rows of the observation file (observations and projections).
    priors : ModelPriors
    settings : dict
        Sampler settings.
    key : str
        Cache key (sha256 of observations, priors, model and settings).
    diagnostics : dict
        See :func:`diagnose`.
    from_cache : bool
        Whether the posterior was read from the cache.
    """

    def __init__(
        self,
        idata,
        spec: ModelSpec,
        observations: pd.DataFrame,
        priors: ModelPriors,
        settings: dict,
        key: str,
        *,
        from_cache: bool = False,
        cache_path: Path | None = None,
    ):
        self.idata = idata
        self.spec = spec
        self.model_name = spec.name
        self.observations = observations
        self.priors = priors
        self.settings = dict(settings)
        self.key = key
        self.from_cache = from_cache
        self.cache_path = cache_path
        self.diagnostics = diagnose(idata, spec.free_params)
        post = shim.group(idata, "posterior")
        self._draws = {v: np.asarray(post[v]).reshape(-1) for v in spec.curve_params + ["noise"]}
        self._warned = False

    # ---------------------------------------------------------------- basic facts
    @property
    def unit(self) -> str:
        """Unit of the series [USD/year or USD/GPU-hour]."""
        return self.spec.dimension

    @property
    def fitted(self) -> pd.DataFrame:
        """Observation rows that were fitted (``kind == 'observation'``)."""
        return self.observations[self.observations["kind"] == "observation"]

    @property
    def projections(self) -> pd.DataFrame:
        """Projection rows (not fitted)."""
        return self.observations[self.observations["kind"] == "projection"]

    @property
    def posterior_draws(self) -> dict:
        """Flattened posterior draws of the curve's parameters and the noise, by name."""
        return self._draws

    @property
    def n_posterior(self) -> int:
        """Number of posterior draws (chains x draws)."""
        return int(self._draws["noise"].size)

    def _check_used(self) -> None:
        if not self.diagnostics["ok"] and not self._warned:
            self._warned = True
            warnings.warn(
                f"using calibration {self.model_name} of "
                f"{self.observations.attrs.get('series')} although it failed its "
                f"diagnostics: {'; '.join(self.diagnostics['messages'])}",
                CalibrationWarning,
                stacklevel=3,
            )

    # ---------------------------------------------------------------- summaries
    def summary(self, prob: float = 0.94) -> pd.DataFrame:
        """Posterior summary of every parameter.

        Parameters
        ----------
        prob : float
            Mass of the highest-density interval.

        Returns
        -------
        pandas.DataFrame
            Index: parameter; columns ``mean``, ``median``, ``sd``, ``hdi_low``, ``hdi_high``,
            ``r_hat``, ``ess_bulk``, ``ess_tail``, ``unit``, ``prior_sd``, ``posterior_sd`` and
            ``set_by_prior`` (the posterior sd is above 0.7 x the prior sd: the data did not
            inform the parameter, its prior did; for a log-scale parameter such as the cap the
            sds are of its log). Sampled parameters first, then derived ones (``level``
            [series unit], ``cap`` [USD/year]).
        """
        post = shim.group(self.idata, "posterior")
        prior = shim.group(self.idata, "prior") if shim.has_group(self.idata, "prior") else None
        free = self.spec.free_params
        names = free + [v for v in post.data_vars if v not in free]
        rhat, ess_b, ess_t = shim.rhat_ess(post[names])
        units = {"noise": "log", "cap": self.unit}
        for ps in self.spec.params:
            units[ps.name] = self.unit if ps.name == "level" else ps.units[0]
            if ps.log_scale:
                units["log_" + ps.name] = f"log({self.unit})"
        rows = {}
        for v in names:
            x = np.asarray(post[v]).reshape(-1)
            lo, hi = hdi(x, prob)
            sd = float(np.std(x, ddof=1))
            on_log = v in LOG_COMPARED
            posterior_sd = float(np.std(np.log(x), ddof=1)) if on_log else sd
            prior_sd = _prior_sd(prior, v, on_log)
            rows[v] = {
                "mean": float(np.mean(x)),
                "median": float(np.median(x)),
                "sd": sd,
                "hdi_low": lo,
                "hdi_high": hi,
                "r_hat": float(np.asarray(rhat[v])),
                "ess_bulk": float(np.asarray(ess_b[v])),
                "ess_tail": float(np.asarray(ess_t[v])),
                "unit": units.get(v, ""),
                "prior_sd": prior_sd,
                "posterior_sd": posterior_sd,
                "set_by_prior": bool(
                    math.isfinite(prior_sd) and posterior_sd > SET_BY_PRIOR * prior_sd
                ),
            }
        df = pd.DataFrame.from_dict(rows, orient="index")
        df.attrs["hdi_prob"] = prob
        return df

    @property
    def variant(self) -> str:
        """``data only``, or ``data + projections (sigma s)`` when company plans were fitted."""
        sigma = self.settings.get("projection_sigma")
        return "data only" if sigma is None else f"data + projections (sigma {sigma:g})"

    def loo(self) -> dict:
        """PSIS-LOO of the fitted observations: ``elpd``, ``se``, ``p``, ``max_pareto_k``,
        ``warning``, ``k_threshold``, ``messages`` (Pareto k above ``k_threshold``, at most 0.7,
        means LOO is unreliable)."""
        if not hasattr(self, "_loo"):
            self._loo = shim.loo(self.idata)
        return self._loo

    # ---------------------------------------------------------------- predictions
    def _predict(
        self,
        times: np.ndarray,
        logw: np.ndarray,
        idx: np.ndarray,
        noise: bool,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """Predicted values [series unit], shape (len(idx), rows)."""
        p = {k: v[idx][:, None, None] for k, v in self._draws.items()}
        lc = self.spec.log_curve(np, p, (times - self.priors.reference_date)[None, :, :])
        with np.errstate(over="ignore", invalid="ignore"):
            logv = logsumexp(lc + logw[None, :, :], axis=2)
            if noise:
                logv = logv + p["noise"][:, :, 0] * rng.standard_normal(logv.shape)
            return np.exp(logv)

    def _yeardesign(self, years) -> tuple[np.ndarray, np.ndarray]:
        years = [int(y) for y in years]
        return design(["calendar_year"] * len(years), np.asarray(years, dtype=float))

    def predictive_series(
        self, years: list[int], n: int, seed: int, *, noise: bool = True
    ) -> np.ndarray:
        """Posterior predictive draws of the yearly figure.

        Parameters
        ----------
        years : list of int
            Calendar years.
        n : int
            Number of draws (the Monte Carlo's draws): posterior draws are resampled with
            replacement.
        seed : int
            Seed; the same seed gives the same array.
        noise : bool
            Add the observation noise (independently per year), as a reported figure would
            have. ``False`` gives the fitted curve only.

        Returns
        -------
        numpy.ndarray, shape (n, len(years))
            Revenue earned in each calendar year [USD/year] (the integral of the run-rate over
            the year), or the year's average price [USD/GPU-hour].
        """
        self._check_used()
        rng = np.random.default_rng(seed)
        idx = rng.integers(0, self.n_posterior, size=int(n))
        times, logw = self._yeardesign(years)
        return self._predict(times, logw, idx, noise, rng)

    def predictive_at(
        self, dates: list[float], n: int, seed: int, *, noise: bool = True
    ) -> np.ndarray:
        """Posterior predictive draws of the instantaneous value (run-rate or price).

        Parameters
        ----------
        dates : list of float
            Decimal years (2026.0 is 1 January 2026).
        n, seed, noise
            As in :meth:`predictive_series`.

        Returns
        -------
        numpy.ndarray, shape (n, len(dates))
            Run-rate [USD/year] or price [USD/GPU-hour].
        """
        self._check_used()
        rng = np.random.default_rng(seed)
        idx = rng.integers(0, self.n_posterior, size=int(n))
        times, logw = design(["run_rate"] * len(dates), np.asarray(dates, dtype=float))
        return self._predict(times, logw, idx, noise, rng)

    def prob_at_least(
        self,
        year: int | float,
        value: float,
        *,
        measure: str = "calendar_year",
        seed: int = 0,
        noise: bool = True,
    ) -> float:
        """Posterior predictive probability that the figure reaches ``value``.

        Parameters
        ----------
        year : int or float
            Calendar year (``measure="calendar_year"``), or a decimal-year date for an
            instantaneous figure (``measure="run_rate"`` or ``"price"``).
        value : float
            Threshold [series unit], e.g. ``70e9`` [USD/year].
        measure : str
            ``calendar_year`` (the year's revenue or average price) or ``run_rate``/``price``.
        seed : int
            Seed of the noise draws.
        noise : bool
            See :meth:`predictive_series`.

        Returns
        -------
        float
            Share of all posterior draws (each with one noise draw) at or above ``value``.
        """
        self._check_used()
        rng = np.random.default_rng(seed)
        idx = np.arange(self.n_posterior)
        if measure == "calendar_year":
            times, logw = self._yeardesign([year])
        else:
            times, logw = design(["run_rate"], np.asarray([float(year)]))
        x = self._predict(times, logw, idx, noise, rng)[:, 0]
        return float(np.mean(x >= value))

    def targets(self, seed: int = 0) -> pd.DataFrame:
        """The file's projections set against the calibrated prediction.

        Returns
        -------
        pandas.DataFrame
            One row per projection: ``date``, ``measure``, ``value``, ``fact_id``,
            ``source_title``, ``prob_at_least`` (posterior predictive P(figure >= value)),
            ``median``, ``p05``, ``p95`` [series unit].
        """
        rows = []
        proj = self.projections
        if proj.empty:
            return pd.DataFrame(
                columns=[
                    "date",
                    "measure",
                    "value",
                    "fact_id",
                    "source_title",
                    "prob_at_least",
                    "median",
                    "p05",
                    "p95",
                ]
            )
        times, logw = design(proj["measure"].tolist(), proj["t"].to_numpy())
        rng = np.random.default_rng(seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CalibrationWarning)
            pred = self._predict(times, logw, np.arange(self.n_posterior), True, rng)
        for j, (_, r) in enumerate(proj.iterrows()):
            x = pred[:, j]
            rows.append(
                {
                    "date": r["date"],
                    "measure": r["measure"],
                    "value": r["value"],
                    "fact_id": r["fact_id"],
                    "source_title": r["source_title"],
                    "prob_at_least": float(np.mean(x >= r["value"])),
                    "median": float(np.median(x)),
                    "p05": float(np.quantile(x, 0.05)),
                    "p95": float(np.quantile(x, 0.95)),
                }
            )
        return pd.DataFrame(rows)

    # ---------------------------------------------------------------- export
    def to_json_dict(self) -> dict:
        """Everything a report needs, JSON-serialisable.

        Returns
        -------
        dict
            ``model``, ``description``, ``series``, ``observations`` (path, sha256 prefix, rows
            fitted), ``unit``, ``priors`` (with provenance), ``settings``, ``key``,
            ``diagnostics``, ``loo``, ``summary`` (per parameter), ``targets`` (projections
            with P(figure >= projection)).
        """

        def num(x):
            x = float(x)
            return x if math.isfinite(x) else None

        diag = {
            k: (num(v) if isinstance(v, (float, np.floating)) else v)
            for k, v in self.diagnostics.items()
        }
        loo = {k: v for k, v in self.loo().items() if k != "pareto_k"}
        loo = {k: (num(v) if isinstance(v, float) else v) for k, v in loo.items()}
        summ = self.summary()
        summary = {
            idx: {c: (v if c in ("unit", "set_by_prior") else num(v)) for c, v in row.items()}
            for idx, row in summ.to_dict(orient="index").items()
        }
        targets = self.targets().to_dict(orient="records")
        for t in targets:
            for k, v in t.items():
                if isinstance(v, (float, np.floating)):
                    t[k] = num(v)
        return {
            "model": self.model_name,
            "description": self.spec.description,
            "series": self.observations.attrs.get("series"),
            "observations": {
                "path": self.observations.attrs.get("path"),
                "fitted_rows": int(len(self.fitted)),
                "projection_rows": int(len(self.projections)),
            },
            "unit": self.unit,
            "priors": self.priors.to_dict(),
            "settings": self.settings,
            "key": self.key,
            "from_cache": self.from_cache,
            "diagnostics": diag,
            "loo": loo,
            "summary": summary,
            "targets": targets,
        }

    def __repr__(self) -> str:
        d = self.diagnostics
        return (
            f"Calibration({self.observations.attrs.get('series')!r}, "
            f"{self.model_name!r}, ok={d['ok']}, max_rhat={d['max_rhat']:.3f}, "
            f"min_ess_bulk={d['min_ess_bulk']:.0f}, divergences={d['divergences']})"
        )
