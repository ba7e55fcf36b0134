"""Several runs side by side, on common random numbers (the same input gets the same draws in
every run, so differences between runs are the assumptions, not sampling noise)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ..core.errors import AssumptionError, CapexWarning, Problem
from ..engine.simulate import simulate
from ..engine.summaries import json_summary, summarise_metric
from ..loading.scenario import load_scenario

#: Rank agreement of a shared input's draws below which ``compare`` warns.
AGREEMENT_WARNING = 0.99


class AgreementWarning(CapexWarning):
    """An input shared by two compared runs got draws that agree less than they should."""


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


def run_compare(targets, draws, seed, design, progress=False, workers=None) -> list:
    """Load every (file, overlay) (all problems at once), then simulate each with the same seed
    (common random numbers)."""
    problems, scenarios = [], []
    for file, overlay in targets:
        try:
            scenarios.append(load_scenario(file, scenario=overlay))
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
    return [
        simulate(sc, draws=draws, seed=seed, design=design, progress=progress, workers=workers)
        for sc in scenarios
    ]


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
        names = (
            ("npv", "irr", "payback_years", "peak_funding")
            if sc.model == "programme"
            else res.metric_names
        )
        row["metrics"] = {m: json_summary(res.metric_summary(m)) for m in names}
        if sc.model == "programme":
            row["metrics"]["npv_per_dollar_capex"] = _npv_per_dollar(res)
        row["probabilities"] = {p: res.probability(p) for p in res.probability_names}
        row["errors"] = res.errors.describe()
        row["provenance"] = sc.provenance_counts()
        rows.append(row)
    return rows
