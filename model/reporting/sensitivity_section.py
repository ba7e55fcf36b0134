"""The sensitivity section of a report: the analysis run with the settings of ``capex
sensitivity``, its headline, figures and tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..analysis.sensitivity import DEFAULT_RESAMPLES, DEFAULT_SOBOL_N
from ..analysis.voi import input_groups, uncertain_inputs, voi_from_draws
from ..core.formatting import format_mean, format_value
from ..core.vocabulary import OUTPUTS, key_metric
from . import figures as F

#: The report's sensitivity settings: the same N and resamples as ``capex sensitivity``, so
#: both print the same shares for the same file and seed.
SENSITIVITY_SETTINGS = {
    "methods": ("tornado", "spider", "rank", "sobol", "breakeven", "stress"),
    "sobol_n": DEFAULT_SOBOL_N,
    "num_resamples": DEFAULT_RESAMPLES,
}

#: the figures of the section: plotting function of :mod:`.sensitivity_figures`, title, caption
_FIGURES = (
    (
        "plot_provenance",
        "Variance by provenance",
        "Share of the output's variance that rests on HYPOTHETICAL versus sourced inputs.",
    ),
    (
        "plot_tornado",
        "Tornado",
        "Output when one input moves from its P10 to its P90, the others held at their medians.",
    ),
    (
        "plot_sobol",
        "Sobol indices",
        "Share of the output's variance explained by "
        "each input alone (first order) and with its interactions (total).",
    ),
    (
        "plot_spider",
        "Spider",
        "Output as each of the most influential inputs moves through its percentiles, the "
        "others held at their medians: the slope is the input's leverage, the curvature its "
        "non-linearity.",
    ),
    (
        "plot_stress",
        "Stress",
        "The output's distribution (P05, median, P95) over the draws where one input lies in "
        "its lower or upper decile, beside all draws: the run's own draws, so correlations "
        "are respected.",
    ),
)


def _sensitivity_output(res) -> str:
    """Name of the headline output the report's sensitivity analysis studies."""
    return key_metric(res.model)


def run_sensitivity(res, settings: dict | None = None):
    """Run :func:`model.analysis.sensitivity.sensitivity` for the report's headline output.

    Modest settings (:data:`SENSITIVITY_SETTINGS`) keep a report well under a minute; rank
    correlations reuse the run's own draws (no extra sampling).
    """
    from ..analysis.sensitivity import sensitivity  # deferred: SALib, scipy.stats

    s = dict(SENSITIVITY_SETTINGS, **(settings or {}))
    a = res.attrs
    return sensitivity(
        res.scenario,
        output=_sensitivity_output(res),
        methods=s["methods"],
        draws=int(a["draws"]),
        seed=int(a["seed"]),
        design=str(a["design"]),
        sobol_n=s["sobol_n"],
        num_resamples=s["num_resamples"],
        results=res,
    )


def _rows(df, limit=None):
    """Rows of a result table as named tuples, the first ``limit`` of them if given."""
    if df is None or len(df) == 0:
        return []
    return (
        list(df.head(limit).itertuples(index=False)) if limit else list(df.itertuples(index=False))
    )


def _ci(x, conf) -> str:
    """An index with the half-width of its confidence interval."""
    return f"{x:.2f} ± {conf:.2f}"


def _looks_numeric(cell: str) -> bool:
    """Whether a table cell holds a number (and so is right-aligned)."""
    return bool(cell) and (
        cell[0].isdigit()
        or cell[0] in "+-−$<>"
        or cell.startswith("P")
        and cell[1:2].isdigit()
        or cell.startswith("none")
    )


def _intro(out_label: str) -> str:
    """The paragraph that introduces the section."""
    return (
        f"Which uncertain inputs move the {out_label} most. The tornado moves one input from "
        "its P10 to its P90 with the others at their medians; Sobol indices give the share of "
        "the output's variance due to each input alone (S1) or with its interactions (ST); the "
        "provenance split shows how much of that variance rests on HYPOTHETICAL inputs, i.e. "
        "could be removed by finding sources for them."
    )


def _figure_available(sr) -> dict[str, bool]:
    """Whether the result holds what each plotting function of :data:`_FIGURES` needs."""
    return {
        "plot_provenance": sr.groups_provenance is not None and sr.hypothetical_share is not None,
        "plot_tornado": sr.tornado is not None,
        "plot_sobol": sr.sobol is not None,
        "plot_spider": getattr(sr, "spider", None) is not None,
        "plot_stress": getattr(sr, "stress", None) is not None,
    }


def _figures(sr, figdir: Path) -> list:
    """Figure entries of the section: provenance split, tornado and Sobol charts."""
    from . import sensitivity_figures as SP  # deferred: it imports matplotlib (pyplot)

    have = _figure_available(sr)
    entries = []
    for fn_name, title, caption in _FIGURES:
        fn = getattr(SP, fn_name, None)
        if fn is None or not have[fn_name]:
            continue
        mpl_fig = fn(sr)
        if mpl_fig is None:
            continue
        name = "sensitivity_" + fn_name.removeprefix("plot_")
        fig = F.Figure(name, mpl_fig, title, caption, f"{title} chart of the sensitivity analysis.")
        entries.append(F.figure_entry(fig, figdir))
    return entries


def _provenance_table(sr) -> dict:
    """Table of the Sobol indices grouped by provenance."""
    return {
        "title": "Variance by provenance",
        "columns": ["Provenance", "Inputs", "First-order S1", "Total ST"],
        "rows": [
            [g.provenance, str(g.n_inputs), _ci(g.S1, g.S1_conf), _ci(g.ST, g.ST_conf)]
            for g in _rows(sr.groups_provenance)
        ],
    }


def _tornado_table(sr) -> dict:
    """Table of the tornado: the output with one input at its P10 / P90."""
    return {
        "title": f"Tornado: {sr.output_label} with one input at its P10 / P90 (base "
        f"{sr.fmt(sr.base_value)})",
        "columns": [
            "Input",
            "Provenance",
            "P10",
            "P90",
            "Output at P10",
            "Output at P90",
            "Swing",
        ],
        "rows": [
            [
                t.input,
                t.provenance,
                format_value(t.value_p10, t.unit),
                format_value(t.value_p90, t.unit),
                sr.fmt(t.output_p10),
                sr.fmt(t.output_p90),
                sr.fmt(t.swing),
            ]
            for t in _rows(sr.tornado, 12)
        ],
    }


def _sobol_table(sr) -> dict:
    """Table of the first-order and total Sobol indices of the leading inputs."""
    return {
        "title": f"Sobol indices ({sr.sobol_method}, N = {sr.sobol_n}; ± half-width of "
        f"the {round(100 * sr.conf_level)} % bootstrap interval)",
        "columns": ["Input", "Category", "Provenance", "First-order S1", "Total ST"],
        "rows": [
            [s.input, s.category, s.provenance, _ci(s.S1, s.S1_conf), _ci(s.ST, s.ST_conf)]
            for s in _rows(sr.sobol, 12)
        ],
    }


def _sobol_importance(sr) -> dict[str, str]:
    """Largest total Sobol index of each parameter, formatted."""
    imp: dict[str, float] = {}
    for s in _rows(sr.sobol):
        imp[s.parameter] = max(imp.get(s.parameter, 0.0), float(s.ST))
    return {k: f"{v:.2f}" for k, v in imp.items()}


def _breakeven_row(q, target: str) -> list[str]:
    """One row of the break-even table: the value found, or why there is none."""
    if q.status == "found":
        return [
            q.input,
            format_value(q.median_value, q.unit),
            format_value(q.breakeven, q.unit),
            f"P{q.percentile:.0f}",
        ]
    why = {
        "always": f"{target} > 0 over the whole range",
        "never": f"{target} ≤ 0 over the whole range",
    }.get(getattr(q, "positive_when", ""), q.status)
    return [q.input, format_value(q.median_value, q.unit), f"none ({why})", ""]


def _breakeven_table(sr) -> dict:
    """Table of the value of each input at which the break-even output is zero."""
    target = OUTPUTS[sr.breakeven_output].short
    rows = _rows(sr.breakeven)
    table = {
        "title": f"Break-even: value of each input at which the {target} is zero, the "
        "others at their medians",
        "columns": ["Input", "Median", "Break-even value", "Percentile"],
        "rows": [_breakeven_row(q, target) for q in rows],
    }
    if rows and not any(q.status == "found" for q in rows):  # one line instead of a table
        sides = {getattr(q, "positive_when", "") for q in rows}
        side = {"always": f"{target} > 0", "never": f"{target} ≤ 0"}
        where = " or ".join(side.get(s, s) for s in sorted(sides) if s) or "one sign"
        table["summary"] = (
            f"No input alone brings the {target} to zero with the others at their medians: "
            f"over each input's whole range (P0.1 to P99.9) it stays {where} "
            f"({len(rows)} inputs searched)."
        )
    return table


def _rank_table(sr) -> dict:
    """Table of the rank correlations of the inputs with the output."""
    return {
        "title": "Rank correlations with the output (the run's own draws)",
        "columns": ["Input", "Provenance", "Spearman", "PRCC"],
        "rows": [
            [q.input, q.provenance, f"{q.spearman:+.2f}", f"{q.prcc:+.2f}"]
            for q in _rows(sr.rank, 12)
        ],
    }


def _numeric_columns(t: dict) -> list[bool]:
    """Which columns of a table hold numbers (all but the first may)."""
    return [
        i > 0
        and any(row[i] for row in t["rows"])
        and all(_looks_numeric(row[i]) or not row[i] for row in t["rows"])
        for i in range(len(t["columns"]))
    ]


def _tables(sr) -> list[dict]:
    """The section's tables of the methods that ran, with their numeric columns marked."""
    tables = [
        build(sr)
        for part, build in (
            (sr.groups_provenance, _provenance_table),
            (sr.tornado, _tornado_table),
            (sr.sobol, _sobol_table),
            (sr.breakeven, _breakeven_table),
            (sr.rank, _rank_table),
        )
        if part is not None
    ]
    for t in tables:  # right-align the columns that hold numbers
        t["num"] = _numeric_columns(t)
    return tables


def _settings(sr, settings: dict) -> dict:
    """The settings the analysis ran with."""
    return {
        "output": sr.output,
        "methods": list(sr.methods),
        "sobol_n": sr.sobol_n,
        "num_resamples": settings["num_resamples"],
        "seed": sr.seed,
        "sobol_model_evaluations": sr.sobol_rows,
    }


def _settings_text(sr, settings: dict, notes: list) -> str:
    """The sentence that states the settings, followed by the analysis's notes."""
    note_text = " ".join(f"Note: {n}" for n in notes)
    return (
        f"Settings: output {sr.output}; methods {', '.join(sr.methods)}; Sobol base sample "
        f"N = {sr.sobol_n} ({sr.sobol_rows:,} model evaluations), {settings['num_resamples']} "
        f"bootstrap resamples, seed {sr.seed}. Indices below about 0.02 are not distinguishable "
        f"from zero at these settings; run `capex sensitivity` for more precision. {note_text}"
    ).strip()


#: Inputs listed by the report's value-of-information table (the groups are always listed).
VOI_TOP = 6


def voi_table(res, output: str) -> dict | None:
    """Value of information of the decision "act if the expected output is above 0" from the
    run's own draws (:func:`model.analysis.voi.voi_from_draws`): EVPI, the hypothetical and
    sourced groups, each category, and the inputs worth most, each ± its bootstrap error, in
    the output's unit. None when the output is not a metric of the run."""
    if output not in res.metrics:
        return None
    infos = uncertain_inputs(res.scenario, res)
    if not infos:
        return None
    groups = {g: names for g, (_, names) in input_groups(infos).items()}
    y = res.metric(output)
    ok = np.isfinite(y)
    evpi, per, grp = voi_from_draws(y[ok], {i.name: i.values[ok] for i in infos}, groups)
    unit = OUTPUTS[output].unit if output in OUTPUTS else ""
    label = OUTPUTS[output].short if output in OUTPUTS else output

    def cell(v):
        return format_mean(v["value"], v["se"], unit)

    rows = [["perfect information on every input (EVPI)", cell(evpi)]]
    rows += [[f"the {g} inputs", cell(v)] for g, v in grp.items()]
    top = sorted(per.items(), key=lambda kv: -kv[1]["value"])[:VOI_TOP]
    rows += [[f"input {name}", cell(v)] for name, v in top]
    return {
        "title": f"Value of information: what learning the inputs is worth to the decision "
        f'"act if the expected {label} is above 0" (EVPI and EVPPI, ± bootstrap error)',
        "columns": ["Learning exactly", f"Expected gain ({unit})"],
        "rows": rows,
    }


def sensitivity_section(res, sr, figdir: Path, settings: dict) -> dict:
    """Report section from a SensitivityResult: headline, figures, tables, importance."""
    section = {
        "headline": sr.headline(),
        "figures": [],
        "tables": [],
        "importance": {},
        "importance_label": None,
        "notes": list(getattr(sr, "notes", []) or []),
        "intro": _intro(sr.output_label),
    }
    section["figures"] = _figures(sr, figdir)
    section["tables"] = _tables(sr)
    voi = voi_table(res, sr.output)
    if voi is not None:  # next to the provenance split: which missing citation is worth most
        voi["num"] = [False, True]
        section["tables"].insert(1 if sr.groups_provenance is not None else 0, voi)
    if sr.sobol is not None:
        section["importance"] = _sobol_importance(sr)
        section["importance_label"] = f"Sobol ST of {sr.output_label}"
    section["settings"] = _settings(sr, settings)
    section["settings_text"] = _settings_text(sr, settings, section["notes"])
    return section
