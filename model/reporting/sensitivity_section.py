"""The sensitivity section of a report: the analysis run with modest settings, its headline,
figures and tables."""

from __future__ import annotations

from pathlib import Path

from ..core.formatting import format_value
from ..core.vocabulary import OUTPUTS
from . import figures as F

#: modest settings: a report (simulation + sensitivity) stays well under a minute
SENSITIVITY_SETTINGS = {"methods": ("tornado", "rank", "sobol", "breakeven"), "sobol_n": 512,
                        "num_resamples": 100}


def sensitivity_available() -> bool:
    """Whether the sensitivity analysis can run here (it always can: it is part of capex)."""
    return True


def _sensitivity_output(res) -> str:
    return "revenue_gap_final" if res.model == "industry" else "npv"


def run_sensitivity(res, settings: dict | None = None):
    """Run :func:`model.sensitivity.sensitivity` for the report's headline output.

    Modest settings (:data:`SENSITIVITY_SETTINGS`) keep a report well under a minute; rank
    correlations reuse the run's own draws (no extra sampling).
    """
    from ..analysis.sensitivity import sensitivity

    s = dict(SENSITIVITY_SETTINGS, **(settings or {}))
    a = res.attrs
    return sensitivity(res.scenario, output=_sensitivity_output(res), methods=s["methods"],
                         draws=int(a["draws"]), seed=int(a["seed"]), design=str(a["design"]),
                         sobol_n=s["sobol_n"], num_resamples=s["num_resamples"], results=res)


def _rows(df, limit=None):
    if df is None or len(df) == 0:
        return []
    return list(df.head(limit).itertuples(index=False)) if limit else \
        list(df.itertuples(index=False))


def _ci(x, conf) -> str:
    return f"{x:.2f} ± {conf:.2f}"


def _looks_numeric(cell: str) -> bool:
    return bool(cell) and (cell[0].isdigit() or cell[0] in "+-−$<>" or cell.startswith("P")
                           and cell[1:2].isdigit() or cell.startswith("none"))


def sensitivity_section(res, sr, figdir: Path, settings: dict) -> dict:
    """Report section from a SensitivityResult: headline, figures, tables, importance."""

    out_name = sr.output
    out_label = sr.output_label
    section = {"headline": sr.headline(), "figures": [], "tables": [], "importance": {},
               "importance_label": None, "notes": list(getattr(sr, "notes", []) or [])}
    section["intro"] = (
        f"Which uncertain inputs move the {out_label} most. The tornado moves one input from "
        "its P10 to its P90 with the others at their medians; Sobol indices give the share of "
        "the output's variance due to each input alone (S1) or with its interactions (ST); the "
        "provenance split shows how much of that variance rests on HYPOTHETICAL inputs, i.e. "
        "could be removed by finding sources for them.")
    if True:  # the figures of the analysis
        from . import sensitivity_figures as SP

        have = {"plot_provenance": sr.groups_provenance is not None and
                sr.hypothetical_share is not None,
                "plot_tornado": sr.tornado is not None, "plot_sobol": sr.sobol is not None}
        for fn_name, title, caption in (
                ("plot_provenance", "Variance by provenance", "Share of the output's variance "
                 "that rests on HYPOTHETICAL versus sourced inputs."),
                ("plot_tornado", "Tornado", "Output when one input moves from its P10 to its "
                 "P90, the others held at their medians."),
                ("plot_sobol", "Sobol indices", "Share of the output's variance explained by "
                 "each input alone (first order) and with its interactions (total).")):
            fn = getattr(SP, fn_name, None)
            if fn is None or not have[fn_name]:
                continue
            mpl_fig = fn(sr)
            if mpl_fig is None:
                continue
            name = "sensitivity_" + fn_name.removeprefix("plot_")
            fig = F.Figure(name, mpl_fig, title, caption,
                           f"{title} chart of the sensitivity analysis.")
            section["figures"].append(F.figure_entry(fig, figdir))
    if sr.groups_provenance is not None:
        section["tables"].append({
            "title": "Variance by provenance",
            "columns": ["Provenance", "Inputs", "First-order S1", "Total ST"],
            "rows": [[g.provenance, str(g.n_inputs), _ci(g.S1, g.S1_conf), _ci(g.ST, g.ST_conf)]
                     for g in _rows(sr.groups_provenance)]})
    if sr.tornado is not None:
        section["tables"].append({
            "title": f"Tornado: {out_label} with one input at its P10 / P90 (base "
                     f"{sr.fmt(sr.base_value)})",
            "columns": ["Input", "Provenance", "P10", "P90", "Output at P10", "Output at P90",
                        "Swing"],
            "rows": [[t.input, t.provenance, format_value(t.value_p10, t.unit), format_value(t.value_p90, t.unit),
                      sr.fmt(t.output_p10), sr.fmt(t.output_p90), sr.fmt(t.swing)]
                     for t in _rows(sr.tornado, 12)]})
    if sr.sobol is not None:
        section["tables"].append({
            "title": f"Sobol indices ({sr.sobol_method}, N = {sr.sobol_n}; ± half-width of "
                     f"the {round(100 * sr.conf_level)} % bootstrap interval)",
            "columns": ["Input", "Category", "Provenance", "First-order S1", "Total ST"],
            "rows": [[s.input, s.category, s.provenance, _ci(s.S1, s.S1_conf),
                      _ci(s.ST, s.ST_conf)] for s in _rows(sr.sobol, 12)]})
        imp: dict[str, float] = {}
        for s in _rows(sr.sobol):
            imp[s.parameter] = max(imp.get(s.parameter, 0.0), float(s.ST))
        section["importance"] = {k: f"{v:.2f}" for k, v in imp.items()}
        section["importance_label"] = f"Sobol ST of {sr.output_label}"
    if sr.breakeven is not None:
        target = OUTPUTS[sr.breakeven_output].short
        rows = []
        for q in _rows(sr.breakeven):
            if q.status == "found":
                rows.append([q.input, format_value(q.median_value, q.unit), format_value(q.breakeven, q.unit),
                             f"P{q.percentile:.0f}"])
            else:
                why = {"always": f"{target} > 0 over the whole range",
                       "never": f"{target} ≤ 0 over the whole range"}.get(
                    getattr(q, "positive_when", ""), q.status)
                rows.append([q.input, format_value(q.median_value, q.unit), f"none ({why})", ""])
        section["tables"].append({
            "title": f"Break-even: value of each input at which the {target} is zero, the "
                     "others at their medians",
            "columns": ["Input", "Median", "Break-even value", "Percentile"], "rows": rows})
    if sr.rank is not None:
        section["tables"].append({
            "title": "Rank correlations with the output (the run's own draws)",
            "columns": ["Input", "Provenance", "Spearman", "PRCC"],
            "rows": [[q.input, q.provenance, f"{q.spearman:+.2f}", f"{q.prcc:+.2f}"]
                     for q in _rows(sr.rank, 12)]})
    for t in section["tables"]:  # right-align the columns that hold numbers
        t["num"] = [i > 0 and any(row[i] for row in t["rows"]) and
                    all(_looks_numeric(row[i]) or not row[i] for row in t["rows"])
                    for i in range(len(t["columns"]))]
    s = settings
    section["settings"] = {"output": out_name, "methods": list(sr.methods),
                           "sobol_n": sr.sobol_n, "num_resamples": s["num_resamples"],
                           "seed": sr.seed, "sobol_model_evaluations": sr.sobol_rows}
    notes = " ".join(f"Note: {n}" for n in section["notes"])
    section["settings_text"] = (
        f"Settings: output {out_name}; methods {', '.join(sr.methods)}; Sobol base sample "
        f"N = {sr.sobol_n} ({sr.sobol_rows:,} model evaluations), {s['num_resamples']} "
        f"bootstrap resamples, seed {sr.seed}. Indices below about 0.02 are not distinguishable "
        f"from zero at these settings; run `capex sensitivity` for more precision. {notes}"
    ).strip()
    return section
