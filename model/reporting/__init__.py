"""Reports: Markdown + self-contained HTML with figures, provenance and a run manifest.

``build_report(results_list)`` writes, for each run, a folder (default ``reports/<name>/``, or
``reports/<name>--<overlay>/`` for an overlay)::

    report.md  report.html  figures/*.png  figures/*.svg
    summary.csv  summary.json (the run JSON of ``capex run --json``)  results.nc  manifest.json
    sensitivity.json (when the sensitivity analysis ran)

``report.html`` is one file: figures are embedded as ``data:`` URIs, the style sheet is inline,
there are no scripts and nothing is fetched from the network; it prints cleanly. With several
runs a side-by-side page is added (``comparison/compare.md`` and ``compare.html``), and the
report root gets a ``README.md`` index of every report in it.

Content, in the order an analyst reads: the one-sentence answer with its probability and Monte
Carlo error, what backs it (spread, share of hypothetical inputs, the sensitivity headline), key
metrics, fan charts, distributions, payback, sensitivity, calibration (hook), every assumption
with its source or HYPOTHETICAL rationale, the bibliography, the run manifest, and the yearly
numbers behind the charts.

Writing is atomic: every folder is built aside (a hidden sibling) and swapped in only when all
of them are complete, so an error or Ctrl-C leaves the previous reports untouched.

Optional parts
--------------
* Sensitivity: included when :mod:`model.sensitivity` is importable (checked with
  :func:`importlib.util.find_spec`; errors inside it are not hidden).
* Calibration hook: for parameters whose ``form`` is ``"calibrated"`` the report lists model and
  observation file; if :mod:`model.calibration` defines ``report_section(parameter, scenario,
  seed)`` returning ``{"title": str, "paragraphs": [str], "figures": [figures.Figure]}`` (or
  ``None``), that section is added as well.
"""

from __future__ import annotations

import base64
import re
import importlib.util
import json
import shlex
import struct
import sys
from contextlib import ExitStack
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined

from ..errors import AssumptionError, Problem, display_path
from . import content
from . import figures as F

__all__ = ["build_report", "register_cli", "DEFAULT_ROOT", "COMPARISON_DIR",
           "SENSITIVITY_SETTINGS", "report_folder_name", "write_index"]

DEFAULT_ROOT = Path("reports")
COMPARISON_DIR = "comparison"
CALIBRATION_HOOK = "report_section"
#: modest settings: a report (simulation + sensitivity) stays well under a minute
SENSITIVITY_SETTINGS = {"methods": ("tornado", "rank", "sobol", "breakeven"), "sobol_n": 512,
                        "num_resamples": 100}


# ============================================================================ templates
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|])")
_MD_TAG = re.compile(r"<(?=[A-Za-z/!?])")  # what could open an HTML tag, comment or autolink
_MD_ENTITY = re.compile(r"&(?=#?\w+;)")  # what could form an entity
_MD_LINE_START = re.compile(r"^(?:([#>]|[-+](?=\s))|(\d+)\.(?=\s))")


def md_escape(text) -> str:
    """User text made inert in Markdown: one line; ``\\ ` * _ [ ] |`` backslash-escaped (no
    emphasis, links, code or table cells can be opened); a ``<`` that could open a tag, and an
    ``&`` that could form an entity, as entities (``<script>`` shows as text; ``< 0.01`` stays); a leading ``#``, ``>``, ``- ``, ``+ ``
    or ``1. `` escaped (no heading, quote or list)."""
    s = " ".join(str(text).split())
    s = _MD_ENTITY.sub("&amp;", s)
    s = _MD_TAG.sub("&lt;", s)
    s = _MD_SPECIAL.sub(r"\\\1", s)
    return _MD_LINE_START.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\.", s)


def md_code(text) -> str:
    """Text inside a Markdown code span or block: one line, no backtick (which would end it)."""
    return " ".join(str(text).split()).replace("`", "'")


def md_url(text) -> str:
    """An address inside ``<...>``: http(s) only, no space, ``<`` or ``>``."""
    s = "".join(str(text).split()).replace("<", "%3C").replace(">", "%3E")
    return s if re.match(r"^https?://", s, re.I) else "about:blank"


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("model.reporting", "templates"),
        autoescape=lambda name: bool(name) and name.endswith((".html.j2", ".css.j2")),
        undefined=StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
        keep_trailing_newline=True,
    )
    env.filters["md"] = md_escape
    env.filters["code"] = md_code
    env.filters["url"] = md_url
    return env


def render(template: str, **ctx) -> str:
    """Render one of the package templates."""
    return _environment().get_template(template).render(**ctx)


# ============================================================================ helpers
def report_folder_name(scenario) -> str:
    """``name`` or ``name--overlay``: the folder of a run's report under the report root."""
    return f"{scenario.name}--{scenario.overlay}" if scenario.overlay else scenario.name


def _png_size(data: bytes) -> tuple[int, int]:
    w, h = struct.unpack(">II", data[16:24])
    return int(w), int(h)


def _fig_entry(fig: F.Figure, folder: Path) -> dict:
    data = F.save(fig, folder)
    w, h = _png_size(data)
    return {"name": fig.name, "title": fig.title, "caption": fig.caption, "alt": fig.alt,
            "width": w, "height": h,
            "data_uri": "data:image/png;base64," + base64.b64encode(data).decode("ascii")}


def _json_default(o):
    try:
        import numpy as np

        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _dumps(obj) -> str:
    return json.dumps(obj, indent=2, default=_json_default) + "\n"


# ============================================================================ sensitivity
def sensitivity_available() -> bool:
    """Whether :mod:`model.sensitivity` can be imported (without importing it)."""
    return importlib.util.find_spec("model.sensitivity") is not None


def _sensitivity_output(res) -> str:
    return "revenue_gap_final" if res.model == "industry" else "npv"


def run_sensitivity(res, settings: dict | None = None):
    """Run :func:`model.sensitivity.sensitivity` for the report's headline output.

    Modest settings (:data:`SENSITIVITY_SETTINGS`) keep a report well under a minute; rank
    correlations reuse the run's own draws (no extra sampling).
    """
    from .. import sensitivity as S

    s = dict(SENSITIVITY_SETTINGS, **(settings or {}))
    a = res.ds.attrs
    return S.sensitivity(res.scenario, output=_sensitivity_output(res), methods=s["methods"],
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


def _sensitivity_section(res, sr, figdir: Path, settings: dict) -> dict:
    """Report section from a SensitivityResult: headline, figures, tables, importance."""
    from ..sensitivity import fmt_value

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
    if importlib.util.find_spec("model.sensitivity_plots") is not None:
        from .. import sensitivity_plots as SP

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
            section["figures"].append(_fig_entry(fig, figdir))
    def fv(x, unit):
        return content.value_fmt(unit)(x) if unit else fmt_value(x, unit)

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
            "rows": [[t.input, t.provenance, fv(t.value_p10, t.unit), fv(t.value_p90, t.unit),
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
        from ..sensitivity import OUTPUT_LABELS

        target = OUTPUT_LABELS.get(sr.breakeven_output, sr.breakeven_output)
        rows = []
        for q in _rows(sr.breakeven):
            if q.status == "found":
                rows.append([q.input, fv(q.median_value, q.unit), fv(q.breakeven, q.unit),
                             f"P{q.percentile:.0f}"])
            else:
                why = {"always": f"{target} > 0 over the whole range",
                       "never": f"{target} ≤ 0 over the whole range"}.get(
                    getattr(q, "positive_when", ""), q.status)
                rows.append([q.input, fv(q.median_value, q.unit), f"none ({why})", ""])
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


# ============================================================================ calibration hook
def _calibration_section(res, figdir: Path) -> dict | None:
    rows = content.calibration_rows(res.scenario)
    if not rows:
        return None
    extra = []
    if importlib.util.find_spec("model.calibration") is not None:
        from .. import calibration

        hook = getattr(calibration, CALIBRATION_HOOK, None)
        if callable(hook):
            for p in res.scenario.parameters.values():
                if p.form != "calibrated":
                    continue
                sec = hook(p, res.scenario, seed=int(res.ds.attrs["seed"]))
                if not sec:
                    continue
                extra.append({"title": sec.get("title", p.name),
                              "paragraphs": list(sec.get("paragraphs", ())),
                              "figures": [_fig_entry(f, figdir) for f in sec.get("figures", ())]})
    return {"rows": rows, "extra": extra}


# ============================================================================ one report
def _sections(res) -> list[dict]:
    sc = res.scenario
    figs = {f.name: f for f in F.model_figures(res)}
    if res.model == "industry":
        spec = [
            ("gap", "Revenue required vs AI revenue",
             "The revenue the end users of AI must earn to pay for the data centres being built "
             "(Sequoia's \"$600B question\"), against the AI revenue they earn, with every input "
             "uncertain.", ["required_vs_ai_revenue", "revenue_gap"]),
            ("final", f"The gap in {sc.end}", None, ["gap_final_distribution"]),
            ("close", "When the gap closes", None, ["gap_close_year"]),
        ]
    else:
        spec = [
            ("cash", "Capex, revenue and cash",
             "Money goes out first (capex, later IT refresh) and comes back as revenue once the "
             "capacity is online. The cumulative free cash flow adds operating costs and tax: "
             "where it crosses zero the programme has paid back its cash.",
             ["capex_vs_revenue", "cumulative_fcf"]),
            ("value", "Value: NPV and IRR",
             f"NPV discounts each year's free cash flow to 1 January {sc.start}; IRR is the "
             "discount rate at which the NPV would be zero.",
             ["npv_distribution", "irr_distribution"]),
            ("payback", "Payback year", None, ["payback_distribution"]),
        ]
    return [{"id": sid, "title": title, "intro": intro, "figures": [figs[n] for n in names]}
            for sid, title, intro, names in spec]


def _metrics_note(res) -> str:
    sc = res.scenario
    base = ("P05, P50 and P95 are over the draws where the metric is defined; \"Undefined\" is "
            "the share of draws where it is not")
    if res.model == "industry":
        extra = (f" (the gap never closes by {sc.end}). Years until the gap closes count from "
                 f"{sc.start} (0 = already closed in {sc.start}).")
    else:
        extra = (f" (IRR: cash flows without a sign change; payback: not reached by the end of "
                 f"{sc.end}). Payback counts from the valuation date, 1 January {sc.start}.")
    return base + extra + (" Mean ± MCSE: the mean and its Monte Carlo standard error "
                           "(sampling noise of the simulation, not uncertainty of the inputs).")


def _subtitle(res) -> str:
    sc = res.scenario
    a = res.ds.attrs
    return (f"{sc.model.capitalize()} model · {sc.start}–{sc.end} · {F.currency_words(sc)} · "
            f"{int(a['draws']):,} Monte Carlo draws ({a['design']}, seed {int(a['seed'])}) · "
            f"input hash {sc.input_hash[:12]} · {str(a.get('created', ''))[:10]}")


def _write_one(res, out, final: Path | None, command: str | None, sens_result,
               sens_settings: dict) -> dict:
    """Write every file of one report into ``out`` (an :class:`~model.outputs.OwnedOutput`
    being staged)."""
    sc = res.scenario
    folder = out.path
    figdir = out.path_for("figures/x").parent

    # data files first: the numbers the report shows come from the same object
    run_json = res.to_json_dict()
    out.write_text("summary.json", _dumps(run_json))
    res.summary().to_csv(out.path_for("summary.csv"), index_label="metric")
    res.to_netcdf(out.path_for("results.nc"), series="quantiles")

    sens = None
    sens_missing = None
    if isinstance(sens_result, str):
        sens_missing = sens_result
    elif sens_result is not None:
        sens = _sensitivity_section(res, sens_result, figdir, sens_settings)
        out.write_text("sensitivity.json", _dumps(sens_result.to_json_dict()))

    sections = _sections(res)
    for s in sections:
        s["figures"] = [_fig_entry(f, figdir) for f in s["figures"]]
    calibration = _calibration_section(res, figdir)

    bib, numbers = content.bibliography(sc)
    importance = sens["importance"] if sens else {}
    man = content.manifest(res, command, final, sens)
    head = content.headline(res, sens)
    key = head["probabilities"][0]["value"]
    head["tone"] = "good" if key >= 0.66 else "bad" if key < 0.33 else ""
    files = sorted(["report.md", "report.html", "summary.csv", "summary.json", "results.nc",
                    "manifest.json", "figures/"] + (["sensitivity.json"]
                                                    if (folder / "sensitivity.json").exists()
                                                    else []))
    ctx = {
        "title": sc.title, "label": sc.label, "overlay": sc.overlay, "model": sc.model,
        "description": " ".join(str(sc.description or "").split()),
        "subtitle": _subtitle(res), "head": head,
        "metrics": content.metrics_table(res), "metrics_note": _metrics_note(res),
        "sections": sections, "sensitivity": sens, "sensitivity_missing": sens_missing,
        "calibration": calibration,
        "assumptions": content.assumptions_table(sc, numbers, importance),
        "has_importance": bool(importance),
        "importance_label": (sens or {}).get("importance_label") or "",
        "counts": sc.provenance_counts(),
        "correlations": [{"a": c.a, "b": c.b, "rho": f"{c.rho:+.2f}"} for c in sc.correlations],
        "bibliography": bib, "anchors": {b["key"]: b["anchor"] for b in bib},
        "manifest": man, "files": files,
        "series": content.series_table(res),
        "series_unit": f"{F.currency_words(sc)}" + (" per year" if res.model == "industry"
                                                   else "; cumulative FCF at year end"),
    }
    out.write_text("manifest.json", _dumps(man))
    out.write_text("report.md", render("report.md.j2", r=ctx))
    out.write_text("report.html", render("report.html.j2", r=ctx))
    return {"label": sc.label, "folder": final, "headline": head, "manifest": man,
            "summary": run_json}


# ============================================================================ comparison
def _compare_context(results_list, folder_names: list[str]) -> dict:
    from ..cli_engine import compare_rows

    rows = compare_rows(results_list)
    runs = []
    for res, name, row in zip(results_list, folder_names, rows):
        sc = res.scenario
        runs.append({"label": sc.label, "title": sc.title, "model": sc.model,
                     "file": display_path(sc.path), "link": f"../{name}/report.html",
                     "md_link": f"../{name}/report.md",
                     "hypothetical": f"{row['provenance']['hypothetical']} of "
                                     f"{row['provenance']['parameters']}"})
    table = []
    for key in ("npv_positive", "payback_within_horizon", "gap_closed_by_end"):
        if any(key in r["probabilities"] for r in rows):
            label = {"npv_positive": "P(NPV > 0)",
                     "payback_within_horizon": "P(payback within the horizon)",
                     "gap_closed_by_end": "P(gap closed in the last year)"}[key]
            table.append({"label": label, "cells": [
                content.prob_text(r["probabilities"][key], int(res.ds.attrs["draws"]))
                if key in r["probabilities"] else "—"
                for r, res in zip(rows, results_list)]})
    order = [("npv", "NPV, median (P05 – P95)", "q"), ("npv", "NPV, mean ± MCSE", "mean"),
             ("npv_per_dollar_capex", "NPV per $ of capex, mean", "ratio"),
             ("irr", "IRR, median", "p50"),
             ("payback_years", "Payback (years), median where reached", "p50"),
             ("peak_funding", "Peak funding, median", "p50"),
             ("revenue_gap_final", "Final-year gap, median (P05 – P95)", "q"),
             ("cumulative_revenue_gap_total", "Cumulative gap, median", "p50"),
             ("gap_close_year", "Years until the gap closes, median where it does",
              "p50")]
    for key, label, how in order:
        if not any(key in r["metrics"] for r in rows):
            continue
        cells = []
        for r in rows:
            m = r["metrics"].get(key)
            if m is None:
                cells.append("—")
                continue
            u = m["unit"]
            if how == "q":
                cells.append(f"{content.metric_cell(m['p50'], u)} "
                             f"({content.metric_cell(m['p05'], u)} – "
                             f"{content.metric_cell(m['p95'], u)})")
            elif how == "mean":
                cells.append(content.mean_pm(m["mean"], m["mcse"], u))
            elif how == "ratio":
                cells.append(f"{m['mean']:+.3f} ± {m['mcse']:.3f}")
            else:
                cells.append(content.metric_cell(m["p50"], u))
        table.append({"label": label, "cells": cells})
    table.append({"label": "Hypothetical inputs", "cells": [r["hypothetical"] for r in runs]})
    a = results_list[0].ds.attrs
    same = len({(int(r.ds.attrs["seed"]), int(r.ds.attrs["draws"]), r.ds.attrs["design"])
                for r in results_list}) == 1
    return {"runs": runs, "table": table, "draws": int(a["draws"]), "seed": int(a["seed"]),
            "design": a["design"], "common_random_numbers": same}


def _write_comparison(results_list, folder_names, out, command: str | None) -> None:
    ctx = _compare_context(results_list, folder_names)
    figdir = out.path_for("figures/x").parent
    ctx["figures"] = [_fig_entry(f, figdir) for f in F.comparison_figures(results_list)]
    ctx["command"] = command or ""
    ctx["created"] = content.now_utc()
    out.write_text("compare.md", render("compare.md.j2", c=ctx))
    out.write_text("compare.html", render("compare.html.j2", c=ctx))
    out.write_text("compare.json", _dumps({
        "runs": [r["label"] for r in ctx["runs"]], "draws": ctx["draws"], "seed": ctx["seed"],
        "design": ctx["design"], "common_random_numbers": ctx["common_random_numbers"],
        "table": ctx["table"]}))


# ============================================================================ index
def write_index(root: Path, command: str = "") -> Path:
    """(Re)write ``root/README.md``: an index of every report folder under ``root``.

    Only folders capex owns are listed; the root's marker records the index file."""
    from ..outputs import OutputError, atomic_write, read_marker, root_file_writable, \
        sha256_file, write_root_marker

    root = Path(root)
    if not root_file_writable(root, "README.md"):
        raise OutputError(Problem("README.md here was not written by capex; capex writes the "
                                  "index of the reports as README.md: move the file or choose "
                                  "another --out", display_path(root / "README.md"), None,
                                  "--out"))
    entries = []
    for d in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        man_path, sum_path = d / "manifest.json", d / "summary.json"
        if read_marker(d) is None or not (man_path.is_file() and sum_path.is_file()):
            continue
        man = json.loads(man_path.read_text(encoding="utf-8"))
        summ = json.loads(sum_path.read_text(encoding="utf-8"))
        probs = summ.get("probabilities", {})
        key = "gap_closed_by_end" if summ.get("model") == "industry" else "npv_positive"
        p = probs.get(key)
        prob = (f"{content.PROBABILITY_LABELS[key].format(end=man['years'][1])} = "
                f"{content.prob_text(p, man['draws'])}") if p else "n/a"
        if summ.get("model") == "industry":
            m = summ["metrics"].get("revenue_gap_final", {})
            med = f"gap in {man['years'][1]}: {content.metric_cell(m.get('p50'), 'USD/year')}"
        else:
            m = summ["metrics"].get("npv", {})
            med = f"NPV {content.metric_cell(m.get('p50'), 'USD')}"
        prov = summ.get("provenance", {})
        entries.append({
            "folder": d.name, "title": man.get("title", d.name), "scenario": man["scenario"],
            "model": man["model"], "prob": prob, "median": med,
            "verdict": content.verdict(p["value"]) if p else "",
            "hypothetical": f"{prov.get('hypothetical', '?')}/{prov.get('parameters', '?')}",
            "draws": man["draws"], "seed": man["seed"],
            "files": ", ".join(f["path"] for f in man.get("input_files", [])[:1]),
            "date": str(man.get("report_created", ""))[:10],
        })
    comparison = (root / COMPARISON_DIR / "compare.md").is_file()
    text = render("index.md.j2", entries=entries, comparison=comparison,
                  comparison_dir=COMPARISON_DIR)
    path = root / "README.md"
    atomic_write(path, text)
    marker = read_marker(root) or {}
    write_root_marker(root, command or marker.get("command", ""), "report-root",
                      {**marker.get("files", {}), "README.md": sha256_file(path)})
    return path


# ============================================================================ entry point
def report_targets(names: list[str], out) -> tuple[Path | None, list[Path]]:
    """The report root (None for one report with ``--out``) and each report's folder."""
    if out is None:
        return DEFAULT_ROOT, [DEFAULT_ROOT / n for n in names]
    if len(names) > 1:
        return Path(out), [Path(out) / n for n in names]
    return None, [Path(out)]


def check_report_targets(root: Path | None, finals: list[Path], several: bool,
                         command: str = "") -> None:
    """Stop before any work when a report folder (or the root holding them) cannot be used.

    Raises
    ------
    model.outputs.OutputError
    """
    from ..outputs import check_target, ensure_owned_root, root_file_writable

    if root is not None:
        ensure_owned_root(root, command)
        if not root_file_writable(root, "README.md"):
            raise AssumptionError(Problem(
                "README.md here was not written by capex; capex writes the index of the "
                "reports as README.md: move the file or choose another --out",
                display_path(root / "README.md"), None, "--out"))
    for final in finals + ([root / COMPARISON_DIR] if several and root is not None else []):
        check_target(final)


def build_report(results_list, out=None, command: str | None = None, sensitivity=True,
                 sensitivity_settings: dict | None = None, index: bool | None = None
                 ) -> list[Path]:
    """Write the report of each run (and a comparison page when there are several).

    Parameters
    ----------
    results_list : Results or list of Results
        Runs from :func:`model.simulation.simulate`.
    out : str or Path, optional
        One run: the report folder (default ``reports/<name>/``). Several runs: the root that
        receives one folder per run, ``comparison/`` and the ``README.md`` index (default
        ``reports/``).
    command : str, optional
        The command line that produced the report, recorded in the manifest.
    sensitivity : bool
        Add the sensitivity section when :mod:`model.sensitivity` is available.
    sensitivity_settings : dict, optional
        Override :data:`SENSITIVITY_SETTINGS` (``methods``, ``sobol_n``, ``num_resamples``).
    index : bool, optional
        Rewrite the root's ``README.md`` index (default: when the root is the default
        ``reports/`` or several runs are reported).

    Returns
    -------
    list of Path
        The report folders, then the comparison folder and the index when written.

    Raises
    ------
    AssumptionError
        Two runs would write the same folder.
    """
    if not isinstance(results_list, (list, tuple)):
        results_list = [results_list]
    results_list = list(results_list)
    if not results_list:
        raise AssumptionError(Problem("nothing to report: no runs given; pass at least one Results"))
    several = len(results_list) > 1
    names = [report_folder_name(r.scenario) for r in results_list]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise AssumptionError(Problem(f"several runs would write the same report folder "
                                      f"({', '.join(dup)}); name each file or overlay once",
                                      parameter="PATH"))
    if several and COMPARISON_DIR in names:
        raise AssumptionError(Problem(f"a scenario named {COMPARISON_DIR!r} clashes with the "
                                      "comparison page's folder; rename it", parameter="name"))
    root, finals = report_targets(names, out)
    if index is None:
        index = root is not None
    check_report_targets(root, finals, several)

    if command is None:
        command = "model.reporting.build_report (Python API)"

    # sensitivity runs first: nothing is staged while the (slowest) computation runs
    sens_settings = dict(SENSITIVITY_SETTINGS, **(sensitivity_settings or {}))
    sens_results: list = []  # a SensitivityResult, or why there is none (str)
    for res in results_list:
        if not sensitivity:
            sens_results.append("switched off for this report (--no-sensitivity)")
        elif not sensitivity_available():
            sens_results.append("the sensitivity module (model.sensitivity) is not installed")
        elif not res.scenario.uncertain():
            sens_results.append("every input is fixed, so nothing varies")
        else:
            sens_results.append(run_sensitivity(res, sens_settings))

    written: list[Path] = []
    from ..outputs import OwnedOutput

    with ExitStack() as stack:
        for res, final, sr in zip(results_list, finals, sens_results):
            out = stack.enter_context(OwnedOutput(final, command=command, kind="report"))
            _write_one(res, out, final, command, sr, sens_settings)
            written.append(final)
        if several:
            final = root / COMPARISON_DIR
            out = stack.enter_context(OwnedOutput(final, command=command, kind="comparison"))
            _write_comparison(results_list, names, out, command)
            written.append(final)
    # every folder is in place; the index reflects what is on disk now
    if index and root is not None:
        written.append(write_index(root, command))
    return written


# ============================================================================ command line
def load_targets(paths: list[str], scenario: str | None = None, overlays: bool = False):
    """Load every scenario to report (all problems at once); skip partial bases of folders.

    Returns ``(scenarios, skipped)`` where ``skipped`` lists the partial files left out.
    """
    from ..loading import load_scenario

    problems: list[Problem] = []
    scenarios, skipped = [], []
    from ..cli import expand_paths

    for path, from_folder in expand_paths(paths):
        try:
            base = load_scenario(path, allow_partial=True)
        except AssumptionError as e:
            problems.extend(e.problems)
            continue
        if base.partial:
            if from_folder:
                skipped.append(path)
            else:
                problems.append(Problem("is a partial base (partial: true), not a runnable "
                                        "scenario; report a file that extends it", str(path)))
            continue
        wanted = [scenario] if scenario else [None]
        if overlays and not scenario:
            wanted += list(base.overlays)
        for ov in wanted:
            try:
                scenarios.append(base if ov is None else load_scenario(path, scenario=ov))
            except AssumptionError as e:
                problems.extend(e.problems)
    if problems:
        raise AssumptionError(problems)
    if not scenarios:
        raise AssumptionError(Problem("no runnable scenario found (only partial bases); name a file that extends them",
                                      parameter="PATH"))
    return scenarios, skipped


def _command_text(args) -> str:
    parts = ["capex", "report", *args.paths]
    if args.scenario:
        parts += ["--scenario", args.scenario]
    parts += ["--draws", str(args.draws), "--seed", str(args.seed), "--design", args.design]
    if args.out:
        parts += ["--out", args.out]
    if args.no_sensitivity:
        parts.append("--no-sensitivity")
    if args.overlays:
        parts.append("--overlays")
    return shlex.join(parts)


def cmd_report(args) -> int:
    from ..cli import _default_paths
    from ..cli_engine import _check_run_args
    from ..simulation import simulate

    _check_run_args(args)
    args.paths = _default_paths(args.paths or None)
    scenarios, skipped = load_targets(args.paths, args.scenario, args.overlays)
    names = [report_folder_name(sc) for sc in scenarios]
    root, finals = report_targets(names, Path(args.out) if args.out else None)
    check_report_targets(root, finals, len(names) > 1)  # before the work
    for p in skipped:
        print(f"skipped {display_path(p)}: partial base (partial: true)", file=sys.stderr)
    results = [simulate(sc, draws=args.draws, seed=args.seed, design=args.design,
                        progress=not args.quiet, workers=getattr(args, "workers", None))
               for sc in scenarios]
    written = build_report(results, out=Path(args.out) if args.out else None,
                           command=_command_text(args), sensitivity=not args.no_sensitivity)
    for res, path in zip(results, written):
        head = content.headline(res, None)
        p = head["probabilities"][0]
        print(f"wrote {display_path(path)}/report.html (+ report.md, figures/, summary.json): "
              f"{p['label']} = {p['text']}")
    for path in written[len(results):]:
        print(f"wrote {display_path(path)}" + ("/compare.html" if path.is_dir() else ""))
    return 0


def register_cli(sub, epilog, add_run_options):
    """Add ``capex report PATH...`` to the ``capex`` parser."""
    p = sub.add_parser(
        "report", help="write Markdown + self-contained HTML reports (figures, provenance, "
        "manifest) into reports/", epilog=epilog,
        description="Simulate each scenario and write its report folder: report.md, report.html "
        "(one self-contained file), figures/*.png|svg, summary.csv, summary.json, results.nc, "
        "manifest.json. Several files add a side-by-side comparison page and a README.md "
        "index. Folders expand to their *.yaml files (partial bases are skipped). Writing is "
        "atomic: on any error the previous reports stay as they were.")
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="assumption files or folders (default: "
                        "assumptions/anthropic_fluidstack.yaml)")
    add_run_options(p, workers=True)
    p.add_argument("--out", metavar="DIR",
                   help="one scenario: its report folder (default reports/<name>/); several: "
                        "the root for their folders, comparison/ and README.md (default "
                        "reports/)")
    p.add_argument("--no-sensitivity", action="store_true",
                   help="leave out the sensitivity section (faster)")
    p.add_argument("--overlays", action="store_true",
                   help="also report every named overlay (scenarios:) of each file")
    p.set_defaults(func=cmd_report)
    return p
