"""One report per run (Markdown + self-contained HTML), a comparison page for several, and the
index of a report root; every folder owned and swapped in atomically (:mod:`.outputs`)."""

from __future__ import annotations

import json
import os
from contextlib import ExitStack
from pathlib import Path

import numpy as np

from ..analysis.compare import compare_rows
from ..analysis.posterior import is_calibrated
from ..analysis.posterior import posterior_check as run_posterior_check
from ..core.errors import AssumptionError, Problem, display_path
from ..core.formatting import format_mean, format_value, probability_text
from ..core.vocabulary import OUTPUTS, PORTFOLIO_MODEL, is_gap_model, is_user_model
from . import bubble, content, input_figures, portfolio_section
from . import figures as F
from .convergence import convergence_section
from .markdown import render
from .outputs import (
    OutputError,
    OwnedOutput,
    atomic_write,
    check_owned_root,
    check_target,
    ensure_owned_root,
    read_marker,
    root_file_writable,
    sha256_file,
    write_root_marker,
)
from .sensitivity_section import SENSITIVITY_SETTINGS, run_sensitivity, sensitivity_section
from .text import metric_notes

DEFAULT_ROOT = Path("reports")
COMPARISON_DIR = "comparison"


def report_folder_name(scenario) -> str:
    """``name`` or ``name--overlay``: the folder of a run's report under the report root."""
    return f"{scenario.name}--{scenario.overlay}" if scenario.overlay else scenario.name


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _dumps(obj) -> str:
    return json.dumps(obj, indent=2, default=_json_default) + "\n"


# ============================================================================ calibration hook
def _calibration_section(res, figdir: Path) -> dict | None:
    """The calibrated inputs of a run: model and observation file of each, and its fit
    (diagnostics, projections, figures) from :mod:`.calibration_section`."""
    rows = content.calibration_rows(res.scenario)
    if not rows:
        return None
    from . import calibration_section  # deferred: it loads the calibration (PyMC, ArviZ)

    extra = []
    for p in res.scenario.parameters.values():
        if p.form != "calibrated":
            continue
        sec = calibration_section.report_section(p, res.scenario, seed=int(res.attrs["seed"]))
        extra.append(
            {
                "title": sec.get("title", p.name),
                "paragraphs": list(sec.get("paragraphs", ())),
                "figures": [F.figure_entry(f, figdir) for f in sec.get("figures", ())],
            }
        )
    return {"rows": rows, "extra": extra}


# ============================================================================ inputs hook
def _inputs_section(res) -> list[dict]:
    """The section "The inputs" (:mod:`.input_figures`): every uncertain input's draws and the
    fans of those that vary by year; after the model's sections, before sensitivity. No
    section when every input is fixed."""
    section = input_figures.input_section(res)
    return [section] if section is not None else []


# ============================================================================ one report
def _sections(res) -> list[dict]:
    sc = res.scenario
    figs = {f.name: f for f in F.model_figures(res)}
    if res.model == PORTFOLIO_MODEL:
        return _portfolio_sections(res, figs)
    if is_user_model(res.model):
        user = sc.user_model
        spec = [
            (
                "outputs",
                "What the model computes",
                f"{user.description or sc.description or 'A user model'} (`{user.reference}`): "
                "the distribution "
                "of each metric it returns and, by year, of each series.",
                list(figs),
            )
        ]
    elif is_gap_model(res.model):
        spec = [
            (
                "gap",
                "Revenue required vs AI revenue",
                "The revenue the end users of AI must earn to pay for the data centres being built "
                '(Sequoia\'s "$600B question"), against the AI revenue they earn, with every input '
                "uncertain.",
                ["required_vs_ai_revenue", "revenue_gap"],
            ),
            ("final", f"The gap in {sc.end}", None, ["gap_final_distribution"]),
            ("close", "When the gap closes", None, ["gap_close_year"]),
        ]
    else:
        spec = [
            (
                "cash",
                "Capex, revenue and cash",
                "Money goes out first (capex, later IT refresh) and comes back as revenue once the "
                "capacity is online. The cumulative free cash flow adds operating costs and tax: "
                "where it crosses zero the programme has paid back its cash.",
                ["capex_vs_revenue", "cumulative_fcf"],
            ),
            (
                "value",
                "Value: NPV and IRR",
                f"NPV discounts each year's free cash flow to 1 January {sc.start}; IRR is the "
                "discount rate at which the NPV would be zero.",
                ["npv_distribution", "irr_distribution"],
            ),
            ("payback", "Payback year", None, ["payback_distribution"]),
        ]
    return [
        {"id": sid, "title": title, "intro": intro, "figures": [figs[n] for n in names]}
        for sid, title, intro, names in spec
    ]


def _portfolio_sections(res, figs: dict) -> list[dict]:
    """A portfolio's sections: the question, its members, then a programme's cash and value."""
    sc = res.scenario
    figs["coverage"] = portfolio_section.coverage_figure(res)
    figs["members_npv"] = portfolio_section.member_figure(res)
    members = ", ".join(res.members)
    spec = [
        (
            "question",
            "Does the revenue cover what the spending requires?",
            f"The members ({members}) run on the same draws: the inputs they share "
            f"({', '.join(res.portfolio.shared) or 'none'}) are one draw for all of them, every "
            "other input is each member's own. Their spending requires revenue by Sequoia's "
            "multiplier; the question compares the two, summed from the first year to "
            f"{res.portfolio.coverage_year}.",
            ["coverage", "members_npv"],
        ),
        (
            "cash",
            "Capex, revenue and cash of the aggregate",
            "The members' yearly spend, revenue and free cash flow summed on the calendar years.",
            ["capex_vs_revenue", "cumulative_fcf"],
        ),
        (
            "value",
            "Value: NPV and IRR of the aggregate",
            f"NPV: each member's NPV at its own discount rate, brought to 1 January {sc.start}; "
            "IRR: that of the summed free cash flow.",
            ["npv_distribution", "irr_distribution"],
        ),
        ("payback", "Payback year of the aggregate", None, ["payback_distribution"]),
    ]
    return [
        {"id": sid, "title": title, "intro": intro, "figures": [figs[n] for n in names]}
        for sid, title, intro, names in spec
    ]


def _model_words(sc) -> str:
    """``Programme model``, ``Industry model`` or ``User model gap_model.py:revenue_gap``."""
    if sc.user_model is not None:
        return f"User model {sc.user_model.reference}"
    return f"{sc.model.capitalize()} model"


def _metrics_note(res) -> str:
    """What the metric table's cells are: errors, never and undefined draws, multiple IRRs."""
    sc = res.scenario
    d = res.to_json_dict()
    if is_user_model(res.model):
        notes = " ".join(n + "." for n in metric_notes(d, sc.end))
        return (
            f"Each quantile and mean is followed by ± one Monte Carlo standard error "
            f"({d['errors']['text']}): sampling noise of the simulation, not uncertainty of the "
            'inputs. "Undefined" is the share of draws where a metric has no value (NaN).'
            + (" " + notes if notes else "")
        )
    never = "the gap never closes" if is_gap_model(res.model) else "never pays back"
    base = (
        f"Each quantile and mean is followed by ± one Monte Carlo standard error "
        f"({d['errors']['text']}): sampling noise of the simulation, not uncertainty of the "
        f"inputs. A draw that {never} by {sc.end} counts as beyond the horizon, so quantiles "
        f'are over all draws and one that falls there reads "after {sc.end}"; "Undefined" '
        "is the share of draws where a metric has no value (IRR: no sign change; payback: not "
        "reached)."
    )
    start = (
        f" Years until the gap closes count from {sc.start}."
        if is_gap_model(res.model)
        else f" Payback counts from the valuation date, 1 January {sc.start}."
    )
    notes = " ".join(n + "." for n in metric_notes(d, sc.end))
    return base + start + (" " + notes if notes else "")


def _subtitle(res) -> str:
    sc = res.scenario
    a = res.attrs
    return (
        f"{_model_words(sc)} · {sc.start}–{sc.end} · {F.currency_words(sc)} · "
        f"{int(a['draws']):,} Monte Carlo draws ({a['design']}, seed {int(a['seed'])}) · "
        f"input hash {sc.input_hash[:12]}"
    )


def _write_one(
    res, out, final: Path | None, command: str | None, sens_result, sens_settings: dict
) -> dict:
    """Write every file of one report into ``out`` (an
    :class:`~model.reporting.outputs.OwnedOutput` being staged)."""
    figdir = out.path_for("figures/x").parent
    # data files first: the numbers the report shows come from the same object
    run_json = res.to_json_dict()
    out.write_text("summary.json", _dumps(run_json))
    res.summary().to_csv(out.path_for("summary.csv"), index_label="metric")
    sens, sens_missing = None, None
    if isinstance(sens_result, str):
        sens_missing = sens_result
    elif res.model == PORTFOLIO_MODEL and sens_result is not None:
        sens = portfolio_section.sensitivity_section(res, sens_result)
        out.write_text("sensitivity.json", _dumps(sens_result))
    elif sens_result is not None:
        sens = sensitivity_section(res, sens_result, figdir, sens_settings)
        out.write_text("sensitivity.json", _dumps(sens_result.to_json_dict(timings=False)))
    conv = convergence_section(res)
    sections = _sections(res) + _inputs_section(res) + ([conv] if conv else [])
    for s in sections:
        s["figures"] = [F.figure_entry(f, figdir) for f in s["figures"]]
    man = content.manifest(res, command, final, sens)
    head = content.headline(res, sens)
    key = head["probabilities"][0]["value"]
    head["tone"] = "good" if key >= 0.66 else "bad" if key < 0.33 else ""
    ctx = _report_context(res, sections, sens, sens_missing, head, man, figdir)
    ctx["docs"] = docs_href(final)
    ctx["files"] = sorted(
        ["report.md", "report.html", "summary.csv", "summary.json", "manifest.json", "figures/"]
        + (["sensitivity.json"] if (out.path / "sensitivity.json").exists() else [])
    )
    out.write_text("manifest.json", _dumps(man))
    out.write_text("report.md", render("report.md.j2", r=ctx))
    out.write_text("report.html", render("report.html.j2", r=ctx))
    return {
        "label": res.scenario.label,
        "folder": final,
        "headline": head,
        "manifest": man,
        "summary": run_json,
    }


#: The repository's docs folder (the glossary and the model's equations), when capex runs from
#: a checkout.
REPO_DOCS = Path(__file__).resolve().parents[2] / "docs"


def docs_href(final: Path | None) -> str | None:
    """The link from a report folder to the repository's docs/ (relative, so it works wherever
    the report is written on this machine), or None when there is no checkout to link to."""
    if final is None or not (REPO_DOCS / "concepts.md").is_file():
        return None
    return Path(os.path.relpath(REPO_DOCS, Path(final).resolve())).as_posix()


def _report_context(res, sections, sens, sens_missing, head, man, figdir) -> dict:
    """What the report templates render (everything already formatted)."""
    sc = res.scenario
    bib, numbers = content.bibliography(sc)
    importance = sens["importance"] if sens else {}
    return {
        "title": sc.title,
        "label": sc.label,
        "overlay": sc.overlay,
        "model": sc.model,
        "description": " ".join(str(sc.description or "").split()),
        "subtitle": _subtitle(res),
        "head": head,
        "metrics": content.metrics_table(res),
        "metrics_note": _metrics_note(res),
        "sections": sections,
        "sensitivity": sens,
        "sensitivity_missing": sens_missing,
        "calibration": _calibration_section(res, figdir),
        "assumptions": content.assumptions_table(sc, numbers, importance),
        "has_importance": bool(importance),
        "importance_label": (sens or {}).get("importance_label") or "",
        "counts": sc.provenance_counts(),
        "correlations": [{"a": c.a, "b": c.b, "rho": f"{c.rho:+.2f}"} for c in sc.correlations],
        "bibliography": bib,
        "anchors": {b["key"]: b["anchor"] for b in bib},
        "manifest": man,
        "series": content.series_table(res),
        "series_unit": f"{F.currency_words(sc)}"
        + (
            ""
            if is_user_model(res.model)
            else " per year"
            if is_gap_model(res.model)
            else "; cumulative FCF at year end"
        ),
    }


# ============================================================================ comparison
def _compare_context(results_list, folder_names: list[str]) -> dict:
    """What the comparison templates render: one column per run."""
    rows = compare_rows(results_list)
    runs = [
        _compare_run(res, name, row) for res, name, row in zip(results_list, folder_names, rows)
    ]
    ends = {res.scenario.end for res in results_list}
    end = ends.pop() if len(ends) == 1 else None
    table = _compare_probabilities(rows, results_list, end) + _compare_metrics(rows)
    table.append({"label": "Hypothetical inputs", "cells": [r["hypothetical"] for r in runs]})
    a = results_list[0].attrs
    settings = {
        (int(r.attrs["seed"]), int(r.attrs["draws"]), r.attrs["design"]) for r in results_list
    }
    return {
        "runs": runs,
        "table": table,
        "draws": int(a["draws"]),
        "seed": int(a["seed"]),
        "design": a["design"],
        "common_random_numbers": len(settings) == 1,
    }


def _compare_run(res, name: str, row: dict) -> dict:
    sc = res.scenario
    return {
        "label": sc.label,
        "title": sc.title,
        "model": sc.model,
        "file": display_path(sc.path),
        "link": f"../{name}/report.html",
        "md_link": f"../{name}/report.md",
        "hypothetical": f"{row['provenance']['hypothetical']} of {row['provenance']['parameters']}",
    }


def _compare_probabilities(rows, results_list, end) -> list[dict]:
    out = []
    for key in ("npv_positive", "payback_within_horizon", "gap_closed_by_end"):
        if any(key in r["probabilities"] for r in rows):
            cells = [
                probability_text(r["probabilities"][key], int(res.attrs["draws"]))
                if key in r["probabilities"]
                else "—"
                for r, res in zip(rows, results_list)
            ]
            out.append({"label": OUTPUTS[key].text(end), "cells": cells})
    return out


COMPARE_METRICS = (
    ("npv", "NPV, median (P05 – P95)", "q"),
    ("npv", "NPV, mean ± MCSE", "mean"),
    ("npv_per_dollar_capex", "NPV per $ of capex, mean ± MCSE", "ratio"),
    ("irr", "IRR, median", "p50"),
    ("payback_years", "Payback (years), median", "p50"),
    ("peak_funding", "Peak funding, median", "p50"),
    ("revenue_gap_final", "Final-year revenue gap, median (P05 – P95)", "q"),
    ("cumulative_revenue_gap_total", "Cumulative revenue gap, median", "p50"),
    ("gap_close_year", "Years until the gap first closes, median", "p50"),
)


def _compare_cell(m: dict | None, how: str) -> str:
    if m is None:
        return "—"
    u = m["unit"]
    if how == "q":
        return (
            f"{format_value(m['p50'], u)} ({format_value(m['p05'], u)} – "
            f"{format_value(m['p95'], u)})"
        )
    if how == "mean":
        return format_mean(m["mean"], m["mcse"], u)
    if how == "ratio":
        return format_mean(m["mean"], m["mcse"], "ratio")
    return format_value(m["p50"], u)


def _compare_metrics(rows) -> list[dict]:
    return [
        {"label": label, "cells": [_compare_cell(r["metrics"].get(key), how) for r in rows]}
        for key, label, how in COMPARE_METRICS
        if any(key in r["metrics"] for r in rows)
    ]


def _write_comparison(results_list, folder_names, out, command: str | None) -> None:
    ctx = _compare_context(results_list, folder_names)
    figdir = out.path_for("figures/x").parent
    ctx["figures"] = [F.figure_entry(f, figdir) for f in F.comparison_figures(results_list)]
    ctx["command"] = command or ""
    out.write_text("compare.md", render("compare.md.j2", c=ctx))
    out.write_text("compare.html", render("compare.html.j2", c=ctx))
    out.write_text(
        "compare.json",
        _dumps(
            {
                "runs": [r["label"] for r in ctx["runs"]],
                "draws": ctx["draws"],
                "seed": ctx["seed"],
                "design": ctx["design"],
                "common_random_numbers": ctx["common_random_numbers"],
                "table": ctx["table"],
            }
        ),
    )


# ============================================================================ bubble page
def _bubble_splits(results_list, names, sens_results) -> dict:
    """The provenance split of each run the bubble page shows (a portfolio's from its report's
    variance split, computed once)."""
    from ..analysis.provenance import provenance_split  # deferred: it reruns the scenarios

    out = {}
    for res, name, sr in zip(results_list, names, sens_results):
        if res.model == PORTFOLIO_MODEL and isinstance(sr, dict):
            out[name] = sr["provenance_split"]
        elif res.model == PORTFOLIO_MODEL or is_gap_model(res.model):
            out[name] = provenance_split(res)
    return out


def _write_bubble(results_list, names, splits, out, command: str | None) -> None:
    ctx = bubble.page_context(results_list, names, splits)
    figdir = out.path_for("figures/x").parent
    fig = bubble.bubble_figure(ctx["rows"], ctx["bottom_up"])
    ctx["figures"] = [F.figure_entry(fig, figdir)]
    ctx["command"] = command or ""
    out.write_text("bubble.md", render("bubble.md.j2", b=ctx))
    out.write_text("bubble.html", render("bubble.html.j2", b=ctx))
    out.write_text("bubble.json", _dumps(bubble.page_json(ctx)))


# ============================================================================ index
def _readme_not_ours(root: Path) -> OutputError:
    return OutputError(
        Problem(
            "README.md here was not written by capex; capex writes the index of the reports as "
            "README.md: move the file or choose another --out",
            display_path(root / "README.md"),
            None,
            "--out",
        )
    )


def write_index(root: Path, command: str = "") -> Path:
    """(Re)write ``root/README.md``: an index of every report folder under ``root``.

    Only folders capex owns are listed; the root's marker records the index file."""
    root = Path(root)
    if not root_file_writable(root, "README.md"):
        raise _readme_not_ours(root)
    entries = [
        e
        for d in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
        if (e := _index_entry(d)) is not None
    ]
    comparison = (root / COMPARISON_DIR / "compare.md").is_file()
    text = render(
        "index.md.j2",
        entries=entries,
        comparison=comparison,
        comparison_dir=COMPARISON_DIR,
        bubble=(root / bubble.BUBBLE_DIR / "bubble.md").is_file(),
        bubble_dir=bubble.BUBBLE_DIR,
    )
    path = root / "README.md"
    atomic_write(path, text)
    marker = read_marker(root) or {}
    write_root_marker(
        root,
        command or marker.get("command", ""),
        "report-root",
        {**marker.get("files", {}), "README.md": sha256_file(path)},
    )
    return path


def _index_entry(d: Path) -> dict | None:
    """One line of the index: a report folder capex owns (None for anything else)."""
    man_path, sum_path = d / "manifest.json", d / "summary.json"
    if read_marker(d) is None or not (man_path.is_file() and sum_path.is_file()):
        return None
    man = json.loads(man_path.read_text(encoding="utf-8"))
    summ = json.loads(sum_path.read_text(encoding="utf-8"))
    industry = is_gap_model(summ.get("model"))
    key = "gap_closed_by_end" if industry else "npv_positive"
    if summ.get("model") == PORTFOLIO_MODEL:
        key = "revenue_covered"
    p = summ.get("probabilities", {}).get(key)
    end = man["years"][1]
    prob = f"{OUTPUTS[key].text(end)} = {probability_text(p, man['draws'])}" if p else "n/a"
    if is_user_model(str(summ.get("model"))):
        name, m = next(iter(summ["metrics"].items()), ("", {}))
        med = f"{name} {format_value(m.get('p50'), m.get('unit', ''))}" if name else "n/a"
    elif industry:
        m = summ["metrics"].get("revenue_gap_final", {})
        med = f"gap in {end}: {format_value(m.get('p50'), 'USD/year')}"
    else:
        med = f"NPV {format_value(summ['metrics'].get('npv', {}).get('p50'), 'USD')}"
    prov = summ.get("provenance", {})
    return {
        "folder": d.name,
        "title": man.get("title", d.name),
        "scenario": man["scenario"],
        "model": man["model"],
        "prob": prob,
        "median": med,
        "verdict": content.verdict(p["value"]) if p else "",
        "hypothetical": f"{prov.get('hypothetical', '?')}/{prov.get('parameters', '?')}",
        "draws": man["draws"],
        "seed": man["seed"],
        "files": ", ".join(f["path"] for f in man.get("input_files", [])[:1]),
    }


# ============================================================================ entry point
def report_targets(names: list[str], out) -> tuple[Path | None, list[Path]]:
    """The report root (None for one report with ``--out``) and each report's folder."""
    if out is None:
        return DEFAULT_ROOT, [DEFAULT_ROOT / n for n in names]
    if len(names) > 1:
        return Path(out), [Path(out) / n for n in names]
    return None, [Path(out)]


def check_report_targets(
    root: Path | None, finals: list[Path], several: bool, command: str = "", create: bool = True
) -> None:
    """Stop before any work when a report folder (or the root holding them) cannot be used;
    then (``create``) make a new root, marked. ``capex report`` checks with ``create=False``
    before its runs, so a command that stops later (two files with one report name) leaves
    no root behind.

    Raises
    ------
    model.reporting.outputs.OutputError
    """

    if root is not None:
        check_owned_root(root)
        if root.is_dir() and not root_file_writable(root, "README.md"):
            raise _readme_not_ours(root)
    for final in finals + ([root / COMPARISON_DIR] if several and root is not None else []):
        check_target(final)
    if root is not None and create:  # every check passed: only now is a new root made
        ensure_owned_root(root, command)


def _folder_names(results_list) -> list[str]:
    """Each run's report folder, checked: at least one run, no two in one folder, none named
    like the comparison page."""
    if not results_list:
        raise AssumptionError(
            Problem("nothing to report: no runs given; pass at least one Results")
        )
    names = [report_folder_name(r.scenario) for r in results_list]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise AssumptionError(
            Problem(
                f"several runs would write the same report folder "
                f"({', '.join(dup)}); name each file or overlay once",
                parameter="PATH",
            )
        )
    if len(names) > 1 and (COMPARISON_DIR in names or bubble.BUBBLE_DIR in names):
        raise AssumptionError(
            Problem(
                f"a scenario named {COMPARISON_DIR!r} or {bubble.BUBBLE_DIR!r} clashes with "
                "the comparison or bubble page's folder; rename it",
                parameter="name",
            )
        )
    return names


def _sensitivity_of(res, wanted: bool, settings: dict):
    """The run's sensitivity analysis, or why the report has none (a sentence)."""
    if not wanted:
        return "switched off for this report (--no-sensitivity)"
    if not res.scenario.uncertain():
        return "every input is fixed, so nothing varies"
    if res.model == PORTFOLIO_MODEL:
        return portfolio_section.portfolio_sensitivity(res)
    return run_sensitivity(res, settings)


def prepare_report(
    res, sensitivity=True, sensitivity_settings: dict | None = None, posterior_check: bool = True
):
    """The slow part of one run's report, computed before anything is staged (so it can run
    in a worker process, :func:`model.engine.schedulers.map_tasks`): the posterior check of a
    calibrated run (set on ``res``) and its sensitivity analysis.

    Returns
    -------
    object
        What :func:`build_report` takes in ``prepared`` for this run: a
        :class:`~model.analysis.sensitivity.SensitivityResult`, a portfolio's variance split
        (dict), or why the report has no sensitivity section (str).
    """
    if posterior_check and res.posterior_check is None and is_calibrated(res.scenario):
        res.posterior_check = run_posterior_check(res)
    settings = dict(SENSITIVITY_SETTINGS, **(sensitivity_settings or {}))
    return _sensitivity_of(res, sensitivity, settings)


def build_report(
    results_list,
    out=None,
    command: str | None = None,
    sensitivity=True,
    sensitivity_settings: dict | None = None,
    index: bool | None = None,
    posterior_check: bool = True,
    prepared: list | None = None,
) -> list[Path]:
    """Write the report of each run (and a comparison page when there are several).

    Parameters
    ----------
    results_list : Results or list of Results
        Runs from :func:`model.engine.simulate.simulate`.
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
    posterior_check : bool
        For calibrated runs without one, repeat the run with two further independent
        posterior fits (:func:`model.analysis.posterior.posterior_check`) for "How sure are
        we?".
    prepared : list, optional
        :func:`prepare_report` of each run, when the caller computed them (in parallel).

    Returns
    -------
    list of Path
        The report folders, then the comparison folder and the index when written.

    Raises
    ------
    AssumptionError
        Two runs would write the same folder.
    """
    results_list = list(results_list) if isinstance(results_list, (list, tuple)) else [results_list]
    names = _folder_names(results_list)
    several = len(results_list) > 1
    root, finals = report_targets(names, out)
    if index is None:
        index = root is not None
    check_report_targets(root, finals, several)
    if command is None:
        command = "model.reporting.build_report (Python API)"
    # the slow computations run first: nothing is staged meanwhile
    sens_settings = dict(SENSITIVITY_SETTINGS, **(sensitivity_settings or {}))
    if prepared is None:
        prepared = [
            prepare_report(res, sensitivity, sensitivity_settings, posterior_check)
            for res in results_list
        ]
    sens_results = list(prepared)
    bubble_splits = (
        _bubble_splits(results_list, names, sens_results)
        if several and root is not None and bubble.wanted(results_list)
        else None
    )
    written: list[Path] = []

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
        if bubble_splits is not None:
            final = root / bubble.BUBBLE_DIR
            out = stack.enter_context(OwnedOutput(final, command=command, kind="bubble"))
            _write_bubble(results_list, names, bubble_splits, out, command)
            written.append(final)
    # every folder is in place; the index reflects what is on disk now
    if index and root is not None:
        written.append(write_index(root, command))
    return written
