"""The result of a sensitivity analysis: every table it computed, the provenance split and
its headline sentence, as data and JSON (text and Markdown are drawn by :mod:`model.reporting`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ...core.formatting import format_value
from ...core.vocabulary import OUTPUTS


@dataclass
class SensitivityResult:
    """Everything ``sensitivity`` computed. DataFrames are ``None`` for methods not run.

    Attributes
    ----------
    scenario, model, output, unit : str
        Scenario label, model kind, analysed output and its unit.
    base_value : float
        Output with every input at its median [unit].
    tornado, spider, rank, sobol, groups_category, groups_provenance, breakeven, stress :
        pandas.DataFrame or None
    hypothetical_share : dict or None
        ``s1``, ``s1_low``, ``s1_high`` (first-order index of the hypothetical group and its
        interval), ``st``, ``st_low``, ``st_high`` (total index), ``n_hypothetical``,
        ``n_sourced``, ``conf_level``, ``method``.
    sobol_method : str
        ``saltelli`` (independent inputs) or ``gaussian-copula`` (declared correlations).
    notes : list of str
        Caveats printed with the tables (correlations, undefined outputs, ...).
    """

    scenario: str
    title: str
    model: str
    output: str
    unit: str
    methods: tuple
    draws: int
    seed: int
    design: str
    sobol_n: int
    conf_level: float
    base_value: float = float("nan")
    breakeven_output: str = "npv"
    tornado: pd.DataFrame | None = None
    spider: pd.DataFrame | None = None
    rank: pd.DataFrame | None = None
    sobol: pd.DataFrame | None = None
    groups_category: pd.DataFrame | None = None
    groups_provenance: pd.DataFrame | None = None
    breakeven: pd.DataFrame | None = None
    stress: pd.DataFrame | None = None
    hypothetical_share: dict | None = None
    sobol_sums: dict | None = None
    sobol_method: str = ""
    sobol_rows: int = 0
    correlated: tuple = ()
    notes: list = field(default_factory=list)
    timings: dict = field(default_factory=dict)
    inputs: list = field(default_factory=list)

    @property
    def output_label(self) -> str:
        """The output's short name in the vocabulary (NPV, IRR, final-year gap, ...)."""
        spec = OUTPUTS.get(self.output)
        return spec.short if spec else self.output

    # ------------------------------------------------------------------ headline
    def headline(self) -> str:
        """The provenance sentence for the report's headline: the share of the output's
        variance that rests on hypothetical inputs, and on sourced ones, each index named
        for what it is (with correlated inputs: full first-order and independent total)."""
        lab = self.output_label
        h = self.hypothetical_share
        # inputs are parameters: a process's parameters and innovations count once
        provenance = {i.parameter: i.provenance for i in self.inputs}
        n_hyp = sum(1 for v in provenance.values() if v == "hypothetical")
        n = len(provenance)
        if n_hyp == 0:
            return (
                f"None of the {lab} uncertainty comes from hypothetical inputs: every "
                f"uncertain input ({n}) is sourced."
            )
        if h is None:
            why = (
                "the Sobol' split was skipped (see notes)"
                if "sobol" in self.methods
                else "run the sobol method to see what share of the uncertainty rests on them"
            )
            return f"{n_hyp} of {n} uncertain inputs are hypothetical; {why}."
        if h["n_sourced"] == 0:
            return (
                f"{_pct(h['s1'])} % of the {lab} uncertainty comes from hypothetical inputs "
                f"(all {n} uncertain inputs are hypothetical): cite them to shrink it."
            )
        return self._shares_sentence(h, n_hyp, n)

    def _shares_sentence(self, h: dict, n_hyp: int, n: int) -> str:
        """Both groups' shares, with what the indices mean for this estimator."""
        lab = self.output_label
        ci = int(round(100 * self.conf_level))
        src = h["sourced"]

        def group(name: str, g: dict, count: int) -> str:
            return (
                f"{name} inputs ({count} of {n}) {_pct(g['s1'])} % "
                f"({ci} % CI {_pct(g['s1_low'])}-{_pct(g['s1_high'])} %; total "
                f"{_pct(g['st'])} %)"
            )

        hyp_text = group("hypothetical", h, n_hyp)
        src_text = group("sourced", src, n - n_hyp)
        advice = (
            "cite the hypothetical inputs to shrink it"
            if h["s1"] >= 0.25
            else "narrowing the sourced inputs' ranges, not citing more, is what shrinks it"
        )
        if h["method"] == "gaussian-copula":
            shared = max(0.0, h["s1"] + src["s1"] - 1.0)
            overlap = (
                f"overlap by at least {_pct(shared)} % of the variance"
                if shared >= 0.005
                else "may overlap"
            )
            return (
                f"Share of the {lab} variance by provenance (full first-order Sobol' index, "
                f"which counts variance the correlated inputs share; total = independent total "
                f"index): {hyp_text}; {src_text}. The groups are correlated, so their "
                f"first-order shares {overlap} and need not add to 100 %; {advice}."
            )
        interactions = max(0.0, 1.0 - h["s1"] - src["s1"])
        return (
            f"Share of the {lab} variance by provenance (first-order Sobol' index; total "
            f"index with interactions): {hyp_text}; {src_text}; interactions between the "
            f"groups {_pct(interactions)} %. {advice[0].upper() + advice[1:]}."
        )

    # ------------------------------------------------------------------ JSON
    def to_json_dict(self, timings: bool = True) -> dict:
        """One JSON-serialisable object (``capex sensitivity --json``).

        ``timings=False`` leaves out the wall-clock seconds (``timings_seconds``), so a stored
        copy (a report's ``sensitivity.json``) regenerates byte-identical."""

        def table(df):
            if df is None:
                return None
            return [
                {k: _json_value(v) for k, v in row.items()}
                for row in df.reset_index(drop=True).to_dict(orient="records")
            ]

        out = {
            "scenario": self.scenario,
            "title": self.title,
            "model": self.model,
            "output": self.output,
            "unit": self.unit,
            "methods": list(self.methods),
            "draws": self.draws,
            "seed": self.seed,
            "design": self.design,
            "sobol_n": self.sobol_n,
            "sobol_model_evaluations": self.sobol_rows,
            "conf_level": self.conf_level,
            "base_value": _json_value(self.base_value),
            "breakeven_output": self.breakeven_output,
            "headline": self.headline(),
            "hypothetical_share": None
            if self.hypothetical_share is None
            else {k: _json_value(v) for k, v in self.hypothetical_share.items()},
            "sobol_method": self.sobol_method or None,
            "sobol_sums": None
            if self.sobol_sums is None
            else {k: _json_value(v) for k, v in self.sobol_sums.items()},
            "correlated_inputs": list(self.correlated),
            "inputs": [
                {
                    "name": i.name,
                    "parameter": i.parameter,
                    "category": i.category,
                    "provenance": i.provenance,
                    "unit": i.unit,
                    "year": i.year,
                }
                for i in self.inputs
            ],
            "tornado": table(self.tornado),
            "spider": table(self.spider),
            "rank": table(self.rank),
            "sobol": table(self.sobol),
            "groups_category": table(self.groups_category),
            "groups_provenance": table(self.groups_provenance),
            "breakeven": table(self.breakeven),
            "stress": table(self.stress),
            "notes": list(self.notes),
        }
        if timings:
            out["timings_seconds"] = {k: round(v, 3) for k, v in self.timings.items()}
        return out

    def fmt(self, x) -> str:
        """The output's value as text, by the one formatter ($12.3B, 11.2 %, 7.4 years)."""
        return format_value(x, self.unit)


def _pct(x) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{100 * min(max(x, 0.0), 1.0):.0f}"


def _json_value(v):
    if isinstance(v, (np.floating, float)):
        v = float(v)
        return v if math.isfinite(v) else None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


def ci_cols(s: dict) -> dict:
    s1, c1, st, ct = (float(s["S1"]), float(s["S1_conf"]), float(s["ST"]), float(s["ST_conf"]))
    return {
        "S1": s1,
        "S1_conf": c1,
        "S1_low": s1 - c1,
        "S1_high": s1 + c1,
        "ST": st,
        "ST_conf": ct,
        "ST_low": st - ct,
        "ST_high": st + ct,
    }


def corr_text(scenario) -> str:
    """The declared correlations in one line: ``a~b +0.40, ...``."""
    return ", ".join(f"{c.a}~{c.b} {c.rho:+.2f}" for c in scenario.correlations)
