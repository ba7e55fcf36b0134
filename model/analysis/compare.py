"""Several runs side by side, on common random numbers (the same input gets the same draws in
every run, so differences between runs are the assumptions, not sampling noise), and the paired
difference of each run from the first: draw i of both runs is one pair, so the error of the
difference is that of the per-draw differences (:func:`paired_difference`)."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np

from ..core.errors import AssumptionError, CapexWarning, Problem
from ..core.portfolio import Portfolio
from ..core.statistics import ErrorModel
from ..core.vocabulary import OUTPUTS, key_metric
from ..engine.portfolio import simulate_portfolio
from ..engine.simulate import simulate
from ..engine.summaries import json_summary, probability, summarise_metric
from ..loading.portfolio import is_portfolio_file, load_portfolio
from ..loading.scenario import load_scenario

#: Rank agreement of a shared input's draws below which ``compare`` warns.
AGREEMENT_WARNING = 0.99
#: The metrics a programme's row of ``compare`` shows (with ``npv_per_dollar_capex``); other
#: models show every metric they summarise.
PROGRAMME_METRICS = ("npv", "irr", "payback_years", "peak_funding")


class AgreementWarning(CapexWarning):
    """An input shared by two compared runs got draws that agree less than they should."""


class PairingWarning(CapexWarning):
    """Two compared runs have no metric in common to pair draw by draw."""


def parse_targets(paths: list[str], scenarios: list[str] | None) -> list[tuple]:
    """``PATH`` or ``PATH:overlay`` entries, crossed with repeated ``--scenario`` (``base`` =
    none)."""
    targets = []
    for p in paths:
        file, _, overlay = p.partition(":") if not Path(p).exists() else (p, "", "")
        if overlay:
            targets.append((file, overlay))
        elif scenarios:
            targets.extend((file, None if s == "base" else s) for s in scenarios)
        else:
            targets.append((file, None))
    return targets


def run_compare(targets, draws, seed, design, progress=False, workers=None, scheduler=None) -> list:
    """Load every (file, overlay) (all problems at once), then simulate each with the same seed
    (common random numbers), each run's chunks on ``scheduler``."""
    problems, scenarios = [], []
    for file, overlay in targets:
        try:
            scenarios.append(_load_target(file, overlay))
        except AssumptionError as e:
            problems.extend(e.problems)
    if problems:
        raise AssumptionError(problems)
    if len(scenarios) < 2:
        raise AssumptionError(
            Problem(
                "compare needs at least two runs; give several files, FILE:overlay entries, or "
                "--scenario repeated (use 'base' for no overlay)",
                parameter="PATH",
            )
        )
    run = dict(
        draws=draws,
        seed=seed,
        design=design,
        progress=progress,
        workers=workers,
        scheduler=scheduler,
    )
    return [
        simulate_portfolio(sc, **run) if isinstance(sc, Portfolio) else simulate(sc, **run)
        for sc in scenarios
    ]


def _load_target(file, overlay):
    """A scenario, or a portfolio (a file with ``portfolio:``, which has no overlays)."""
    if not is_portfolio_file(file):
        return load_scenario(file, scenario=overlay)
    if overlay:
        raise AssumptionError(
            Problem(
                f"is a portfolio file, which has no overlays ({overlay!r}); give the overlay to "
                "its members (portfolio.members: {file: ..., scenario: NAME})",
                str(file),
                parameter="--scenario",
            )
        )
    return load_portfolio(file)


def _npv_per_dollar(res) -> dict:
    per_dollar = res.metric("npv") / res.metric("total_spend")
    summary = summarise_metric("npv_per_dollar_capex", per_dollar, res.errors, {})
    return json_summary({**summary, "unit": "ratio"})


def _rank_agreement(a: np.ndarray, b: np.ndarray) -> float | None:
    """Spearman rank correlation of two runs' draws of one input (per year for a path: the
    lowest over the years where both vary); None where either is constant."""
    from scipy.stats import spearmanr  # deferred: scipy.stats is slow to import

    a2, b2 = np.atleast_2d(a.T).T, np.atleast_2d(b.T).T
    if a2.shape != b2.shape:
        a2, b2 = a2[:, :1], b2[:, :1]
    values = [
        float(spearmanr(a2[:, j], b2[:, j]).statistic)
        for j in range(a2.shape[1])
        if np.ptp(a2[:, j]) > 0 and np.ptp(b2[:, j]) > 0
    ]
    return min(values) if values else None


def input_agreement(results_list) -> list[dict]:
    """For every uncertain input shared by the first run and another, how closely its draws
    agree (Spearman rank correlation; 1 when marginal and dependence are the same in both).

    Common random numbers give an input the same draws in two runs when its distribution and
    its correlations are the same; where they differ the draws still agree as closely as the
    two structures allow (``model.engine.correlation``). Below 0.99 an
    :class:`AgreementWarning` says so: the difference between the runs then includes some
    sampling noise.
    """
    base = results_list[0]
    rows = []
    for other in results_list[1:]:
        for name in sorted(set(base.inputs) & set(other.inputs)):
            rho = _rank_agreement(base.inputs[name], other.inputs[name])
            if rho is None:
                continue
            rows.append(
                {
                    "input": name,
                    "runs": [base.scenario.label, other.scenario.label],
                    "rank_correlation": rho,
                }
            )
            if rho < AGREEMENT_WARNING:
                warnings.warn(
                    f"the draws of {name} agree at rank correlation {rho:.3f} between "
                    f"{base.scenario.label} and {other.scenario.label} (its distribution or "
                    "correlations differ): their difference includes sampling noise",
                    AgreementWarning,
                    stacklevel=2,
                )
    return rows


def compare_rows(results_list) -> list[dict]:
    """One dict per run with the comparison metrics (every summary field, errors included)
    and probabilities."""
    rows = []
    for res in results_list:
        sc = res.scenario
        row = {"scenario": sc.label, "file": str(sc.path), "model": sc.model, "end": sc.end}
        cash = sc.model in ("programme", "portfolio")
        names = [m for m in PROGRAMME_METRICS if m in res.metrics] if cash else res.metric_names
        row["metrics"] = {m: json_summary(res.metric_summary(m)) for m in names}
        if cash:
            row["metrics"]["npv_per_dollar_capex"] = _npv_per_dollar(res)
        row["probabilities"] = {p: res.probability(p) for p in res.probability_names}
        row["errors"] = res.errors.describe()
        row["provenance"] = sc.provenance_counts()
        rows.append(row)
    return rows


def paired_metric(a, b) -> str | None:
    """The metric two runs are paired on: the first run's key metric (NPV for a programme, the
    final-year gap for the industry, a user model's first metric), else the second's, if the
    other run has it too; ``None`` when they share neither."""
    for name in (key_metric(a.model), key_metric(b.model)):
        if name in a.metrics and name in b.metrics:
            return name
    return None


def paired_errors(a: ErrorModel, b: ErrorModel) -> ErrorModel:
    """How the draws of a per-draw difference of two runs depend on each other: independent
    when both runs' draws are; the replicates of the shared design (same design, seed and
    draws, so the same replicate of each draw); clustered on the posterior trajectories of
    either run (multiway: every calibrated input of both)."""
    groupings = list(a.groupings)
    for g in b.groupings:
        if not any(g.shape == h.shape and np.array_equal(g, h) for h in groupings):
            groupings.append(g)
    replicate = a.replicate if a.replicate is not None else b.replicate
    if replicate is not None:
        return ErrorModel("replicates", groupings, replicate, max(a.clusters, b.clusters))
    if groupings:
        return ErrorModel("clustered", groupings, None, max(a.clusters, b.clusters))
    return ErrorModel()


def paired_difference(a, b, metric: str) -> dict:
    """The difference of one metric between two runs on common random numbers, draw by draw.

    Draw i of both runs saw the same random numbers, so d_i = x_a,i - x_b,i is a paired sample:
    its mean is the mean difference, and its standard error is the spread of the differences
    (sd(d) / sqrt(n) for independent draws; the runs' error model otherwise,
    :func:`paired_errors`), much smaller than the independent runs' sqrt(se_a^2 + se_b^2) when
    the two runs share inputs. Draws where either value is undefined (never, no IRR) are left
    out.

    Returns
    -------
    dict
        ``metric``, ``unit``, ``a``, ``b`` (scenario labels), ``pairs`` (draws used),
        ``mean_difference`` and ``prob_a_greater`` (``{"value", "mcse"}``), ``unpaired_mcse``
        (what independent runs would give), ``median_difference`` (P50 of a minus P50 of b,
        over all draws), ``errors`` (how the paired error was estimated).
    """
    xa, xb = a.metric(metric), b.metric(metric)
    if xa.shape != xb.shape:
        raise ValueError(f"runs of {xa.size} and {xb.size} draws cannot be paired")
    both = np.isfinite(xa) & np.isfinite(xb)
    d = xa[both] - xb[both]
    errors = paired_errors(a.errors, b.errors).subset(both)
    se_a = a.errors.subset(both).mean_se(xa[both])
    se_b = b.errors.subset(both).mean_se(xb[both])
    spec = OUTPUTS.get(metric)
    return {
        "metric": metric,
        "unit": spec.unit if spec else a.metric_summary(metric)["unit"],
        "a": a.scenario.label,
        "b": b.scenario.label,
        "pairs": int(both.sum()),
        "mean_difference": {
            "value": float(d.mean()) if d.size else math.nan,
            "mcse": errors.mean_se(d),
        },
        "unpaired_mcse": math.hypot(se_a, se_b),
        "prob_a_greater": probability(d > 0, errors),
        "median_difference": a.metric_summary(metric)["p50"] - b.metric_summary(metric)["p50"],
        "errors": errors.describe(),
    }


def paired_differences(results_list) -> list[dict]:
    """:func:`paired_difference` of the first run against every other (the pairs of
    ``capex compare``), on :func:`paired_metric`; a pair with no metric in common is left out
    with a :class:`PairingWarning`. Non-finite numbers are ``None`` (JSON)."""
    base = results_list[0]
    out = []
    for other in results_list[1:]:
        metric = paired_metric(base, other)
        if metric is None:
            warnings.warn(
                f"{base.scenario.label} and {other.scenario.label} share no metric: no paired "
                "difference",
                PairingWarning,
                stacklevel=2,
            )
            continue
        out.append(json_summary(paired_difference(base, other, metric)))
    return out
