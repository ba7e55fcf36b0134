"""Several runs side by side, on common random numbers (the same input gets the same draws in
every run, so differences between runs are the assumptions, not sampling noise)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..core.errors import AssumptionError, Problem
from ..engine.simulate import simulate
from ..loading.scenario import load_scenario

#: The summary fields a comparison keeps of each metric.
FIELDS = ("unit", "mean", "mcse", "p05", "p50", "p95", "undefined_share")


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
    return {
        "unit": "ratio",
        "mean": float(per_dollar.mean()),
        "mcse": float(per_dollar.std(ddof=1) / math.sqrt(per_dollar.size)),
        "p05": float(np.quantile(per_dollar, 0.05)),
        "p50": float(np.quantile(per_dollar, 0.5)),
        "p95": float(np.quantile(per_dollar, 0.95)),
        "undefined_share": 0.0,
    }


def compare_rows(results_list) -> list[dict]:
    """One dict per run with the comparison metrics (mean, MCSE, quantiles) and
    probabilities."""
    rows = []
    for res in results_list:
        sc = res.scenario
        row = {"scenario": sc.label, "file": str(sc.path), "model": sc.model}
        names = (
            ("npv", "irr", "payback_years", "peak_funding")
            if sc.model == "programme"
            else res.metric_names
        )
        row["metrics"] = {m: {k: res.metric_summary(m)[k] for k in FIELDS} for m in names}
        if sc.model == "programme":
            row["metrics"]["npv_per_dollar_capex"] = _npv_per_dollar(res)
        row["probabilities"] = {p: res.probability(p) for p in res.probability_names}
        row["provenance"] = sc.provenance_counts()
        rows.append(row)
    return rows
