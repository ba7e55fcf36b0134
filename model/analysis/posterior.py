"""How much a calibrated run's answer rests on its posterior sample: the same run fed by
independent posterior fits.

A calibrated input takes, in every draw, one trajectory of a finite posterior sample. The
run's own Monte Carlo error (cluster-robust, :mod:`model.core.statistics`) covers the draws and
the resampling of that posterior sample; what it cannot see is how much another fit of the same
model to the same observations (another sampler seed) would move the answer. So the run is
repeated with the posterior of independent fits (sampler seeds ``s``, ``s + 101``, ``s + 202``;
same run seed, so the non-calibrated inputs get the same draws) and the spread of each headline
statistic over the fits is reported beside the run's own error.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..core.scenario import InputForm
from ..core.vocabulary import is_built_in, is_gap_model, key_metric
from ..engine.simulate import FIT_SEED_STEP, simulate

#: Independent fits compared (the run's own fit included).
FITS = 3


def is_calibrated(scenario) -> bool:
    """True when some input of ``scenario`` is calibrated (a posterior feeds the run)."""
    return any(p.form == InputForm.CALIBRATED for p in scenario.parameters.values())


def _headline_statistics(res) -> dict[str, tuple[float, float]]:
    """(value, the run's own MCSE) of the statistics a reader takes away from a run."""
    if not is_built_in(res.model):
        metric = key_metric(res.model)
        m = res.metric_summary(metric)
        return {f"{metric}:p50": (m["p50"], m["quantile_mcse"]["p50"])}
    if is_gap_model(res.model):
        p = res.probability("gap_closed_by_end")
        m = res.metric_summary("revenue_gap_final")
        key, metric = "gap_closed_by_end", "revenue_gap_final"
    else:
        p = res.probability("npv_positive")
        m = res.metric_summary("npv")
        key, metric = "npv_positive", "npv"
    return {
        key: (p["value"], p["mcse"]),
        f"{metric}:p50": (m["p50"], m["quantile_mcse"]["p50"]),
    }


def posterior_check(
    res, fits: int = FITS, workers: int | None = None, progress: bool = False, scheduler=None
):
    """The run ``res`` repeated with ``fits - 1`` further independent posterior fits.

    Parameters
    ----------
    res : Results
        A run of a calibrated scenario (its fit is fit 0).
    fits : int
        Fits compared, the run's own included (at least 2).
    workers : int, optional
    progress : bool
    scheduler : str or distributed.Client, optional
        Where the repeated runs' draws run (:func:`model.engine.simulate.simulate`).

    Returns
    -------
    dict or None
        None for a scenario without calibrated inputs. Otherwise ``fits``, ``sampler_seed_step``
        and ``statistics``: per statistic (``npv_positive``, ``npv:p50``, ...) its ``values``
        over the fits, their standard deviation ``sd_over_fits`` and the run's own ``mcse``,
        in the statistic's unit (``share`` for probabilities).
    """
    sc = res.scenario
    if not is_calibrated(sc):
        return None
    a = res.attrs
    runs = [res] + [
        simulate(
            sc,
            draws=res.draws,
            seed=int(a["seed"]),
            design=a["design"],
            series_draws=1,
            workers=workers,
            progress=progress,
            posterior_fit=k,
            scheduler=scheduler,
        )
        for k in range(1, max(2, int(fits)))
    ]
    per_run = [_headline_statistics(r) for r in runs]
    stats = {}
    for key in per_run[0]:
        values = [float(s[key][0]) for s in per_run]
        finite = [v for v in values if math.isfinite(v)]
        stats[key] = {
            "values": values,
            "sd_over_fits": float(np.std(finite, ddof=1)) if len(finite) > 1 else math.nan,
            "mcse": float(per_run[0][key][1]),
            "unit": "share" if ":" not in key else res.metric_summary(key.split(":")[0])["unit"],
        }
    return {
        "fits": len(runs),
        "sampler_seed_step": FIT_SEED_STEP,
        "statistics": stats,
        "set_by_prior": set_by_prior(sc),
    }


def set_by_prior(scenario) -> dict[str, list[str]]:
    """Per calibrated input, the curve parameters its prior decided (posterior sd > 0.7 x prior
    sd), from the fit the run used (cached, so no refit)."""
    from ..calibration import fit  # deferred: PyMC and ArviZ, only for calibrated inputs
    from ..core.scenario import sampler_settings

    out = {}
    for p in scenario.parameters.values():
        if p.form != InputForm.CALIBRATED:
            continue
        c = p.calibrated
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cal = fit(
                c["observations"],
                c.get("model"),
                seed=int(c.get("seed", 0)),
                priors_path=c.get("priors"),
                **sampler_settings(c),
            )
        summary = cal.summary()
        out[p.name] = [k for k, row in summary.iterrows() if row["set_by_prior"]]
    return out
