"""Plain-text tables of the ``capex`` command: the run summary, a comparison, a sensitivity
analysis, a calibration. Every number goes through :mod:`model.core.formatting`; every label
comes from the vocabulary; user text is made safe for a terminal."""

from __future__ import annotations

import math

from ..core.formatting import (
    format_estimate,
    format_mean,
    format_percent,
    format_probability,
    format_summary_mean,
    format_value,
    plain,
    unit_words,
)
from ..core.vocabulary import OUTPUTS, is_user_model


# ============================================================================ run
def _probability_line(d: dict, end: int) -> str:
    """Every probability of the run on one line, the asked-for ones (``--prob``) included."""
    parts = []
    for k, v in d["probabilities"].items():
        label = v.get("label") or OUTPUTS[k].text(end)
        parts.append(f"{label} = {format_probability(v['value'], v['mcse'], d['draws'])}")
    return "   ".join(parts)


def _metric_row(name: str, m: dict, end: int) -> list[str]:
    """One row of the run table: quantiles and mean with their errors, undefined and multiple
    shares."""
    spec = OUTPUTS[name]
    qse = m.get("quantile_mcse") or {}
    cells = [
        format_estimate(m[k], qse.get(k), m["unit"], spec.never, end) for k in ("p05", "p50", "p95")
    ]
    mean = format_summary_mean(m, spec.never)
    multiple = m.get("multiple_share")
    return [
        name,
        unit_words(m["unit"]),
        *cells,
        mean,
        format_percent(m["undefined_share"], 1),
        format_percent(multiple, 1) if multiple is not None else "",
    ]


def metric_notes(d: dict, end: int) -> list[str]:
    """What the table's never, undefined and multiple cells mean, in sentences."""
    notes = []
    for name, m in d["metrics"].items():
        spec = OUTPUTS[name]
        short = spec.short[0].upper() + spec.short[1:]
        c = m.get("conditional")
        if spec.never is not None and m["undefined_share"] and c:
            never = spec.never.format(end=end)
            line = (
                f"{short}: {format_percent(m['undefined_share'], 1)} of draws never get there "
                f"by {end} ('{never}': quantiles count them as beyond the horizon)"
            )
            if c["draws"]:
                qse = c.get("quantile_mcse") or {}
                line += (
                    f"; among the {format_percent(c['share'], 1)} that get there "
                    f"(conditional): P50 {format_estimate(c['p50'], qse.get('p50'), m['unit'])}, "
                    f"mean {format_mean(c['mean'], c['mcse'], m['unit'])}"
                )
            notes.append(line)
        if m.get("via_terminal_share"):
            notes.append(
                f"{short}: {format_percent(m['via_terminal_share'], 1)} of draws pay back only "
                "through the terminal value (in the last year)"
            )
        if m.get("multiple_share"):
            notes.append(
                f"{short}: {format_percent(m['multiple_share'], 1)} of draws have several IRRs; "
                "the one closest to 0 is reported, and the NPV decides (docs/model.md, IRR)"
            )
        if m.get("defined_share") == 0:
            notes.append(f"{short}: not defined in any draw of this model")
        elif m.get("quantiles_of") == "defined draws":
            notes.append(
                f"{short}: undefined in {format_percent(m['undefined_share'], 1)} of draws; its "
                f"quantiles and mean are over the {format_percent(m['defined_share'], 1)} where "
                "it is defined (conditional)"
            )
    if "revenue_capped_share" in d:
        notes.append(
            f"Revenue: the capacity bound (available GPU-hours x max_revenue_per_gpu_hour) "
            f"capped {format_percent(d['revenue_capped_share'], 1)} of draw-years "
            f"({format_percent(d['revenue_capped_draws_share'], 1)} of draws in at least one "
            "year)"
        )
    return notes


def _precision_line(p: dict) -> str:
    """Where a precision target stopped: met, or stopped by the draw cap first."""
    err = format_value(p["error"], p["unit"]) if p["error"] is not None else "n/a"
    tol = format_value(p["tolerance"], p["unit"])
    if p["met"]:
        return f"precision: {p['target']} error {err} <= {tol} after {p['draws']:,} draws"
    return (
        f"precision: {p['target']} error {err} > {tol}: stopped by the draw cap "
        f"({p['max_draws']:,} draws) before the target; raise --max-draws or the tolerance"
    )


def posterior_lines(check: dict | None) -> list[str]:
    """The spread of the headline statistics over independent posterior fits, and what the
    priors decided, in words."""
    if not check:
        return []
    lines = [
        f"posterior: {name}'s {', '.join(params)} set by the prior, not the data (long-run path "
        "rests on assumptions/observations/priors.yaml)"
        for name, params in (check.get("set_by_prior") or {}).items()
        if params
    ]
    for key, st in check["statistics"].items():
        label = OUTPUTS[key].text(None) if key in OUTPUTS else key.replace(":", " ").upper()
        unit = st["unit"]
        values = ", ".join(
            format_value(v, unit) if unit != "share" else f"{v:.3f}" for v in st["values"]
        )
        spread = (
            format_value(st["sd_over_fits"], unit)
            if unit != "share"
            else (f"{st['sd_over_fits']:.3f}")
        )
        own = format_value(st["mcse"], unit) if unit != "share" else f"{st['mcse']:.3f}"
        lines.append(
            f"posterior: {label} over {check['fits']} independent posterior fits = {values} "
            f"(sd {spread}; the run's own error {own})"
        )
    return lines


def summary_table(results) -> str:
    """The readable summary printed by ``capex run``."""
    d = results.to_json_dict()
    sc = results.scenario
    money = f"{sc.currency} nominal" + (f" ({sc.currency_year} money)" if sc.currency_year else "")
    lines = [
        plain(sc.title) + (f" [{sc.overlay}]" if sc.overlay else ""),
        f"{sc.model} model, {sc.start}-{sc.end}, {d['draws']:,} draws ({d['design']}, seed "
        f"{d['seed']}), {money}",
        "",
        _probability_line(d, sc.end),
        "",
    ]
    rows = [_metric_row(name, m, sc.end) for name, m in d["metrics"].items()]
    headers = ["metric", "unit", "P05", "P50", "P95", "mean ± MCSE", "undefined", "multiple"]
    if not any(r[-1] for r in rows):
        headers, rows = headers[:-1], [r[:-1] for r in rows]
    lines += table(headers, rows, "llrrrrrr")
    lines += [""] + metric_notes(d, sc.end)
    if d.get("precision"):
        lines.append(_precision_line(d["precision"]))
    lines += posterior_lines(d.get("posterior_check"))
    c = d["provenance"]
    lines += [
        f"errors: ± is one Monte Carlo standard error ({d['errors']['text']})",
        f"inputs: {c['parameters']} parameters, {c['sourced']} sourced, "
        f"{c['hypothetical']} hypothetical; input hash {d['input_hash'][:12]}",
        "terms: docs/concepts.md",
    ]
    return "\n".join(lines)


# ============================================================================ compare
COMPARE_ROWS = (
    ("npv", "mean"),
    ("npv_per_dollar_capex", "mean"),
    ("irr", "p50"),
    ("payback_years", "p50"),
    ("peak_funding", "mean"),
    ("revenue_gap_final", "mean"),
    ("cumulative_revenue_gap_total", "mean"),
)


def _compare_cell(key: str, how: str, m: dict | None, end: int | None) -> str:
    """One cell of the comparison table: the metric's mean or median with its error (a median
    in the never region as its never text), or n/a."""
    if m is None:
        return "n/a"
    if key == "npv_per_dollar_capex":
        return format_mean(m["mean"], m["mcse"], "ratio")
    if how == "p50":
        spec = OUTPUTS.get(key)
        qse = (m.get("quantile_mcse") or {}).get("p50")
        return format_estimate(m["p50"], qse, m["unit"], spec.never if spec else None, end)
    return format_mean(m["mean"], m["mcse"], m["unit"])


def agreement_text(agreement: list[dict]) -> str:
    """How closely the shared inputs' draws agree between the runs (``capex compare``)."""
    if not agreement:
        return "common random numbers: no uncertain input is shared by the runs"
    low = [a for a in agreement if a["rank_correlation"] < 0.99]
    lines = [
        f"common random numbers: {len(agreement) - len(low)} of {len(agreement)} shared "
        "inputs get the same draws (rank agreement >= 0.99)"
    ]
    for a in low:
        lines.append(
            f"  {a['input']}: rank agreement {a['rank_correlation']:.3f} between "
            f"{a['runs'][0]} and {a['runs'][1]} (distribution or correlations differ)"
        )
    return "\n".join(lines)


def compare_table(rows: list[dict], draws: int) -> str:
    """The side-by-side table printed by ``capex compare``."""
    names = [r["scenario"] for r in rows]
    ends = {r.get("end") for r in rows}
    end = ends.pop() if len(ends) == 1 else None
    out: list[tuple[str, list[str]]] = []
    listed = {key for key, _ in COMPARE_ROWS}
    # a user model's metrics (not among the built-in rows): mean and median, each with its error
    extra = [
        (key, how)
        for key in dict.fromkeys(
            k for r in rows if is_user_model(str(r.get("model"))) for k in r["metrics"]
        )
        if key not in listed and key in OUTPUTS and OUTPUTS[key].summarised
        for how in ("mean", "p50")
    ]
    for key, how in [*COMPARE_ROWS, *extra]:
        if not any(key in r["metrics"] for r in rows):
            continue
        short = OUTPUTS[key].short if key in OUTPUTS else "NPV per $ of capex"
        label = f"{short} ({'median ± MCSE' if how == 'p50' else 'mean ± MCSE'})"
        out.append((label, [_compare_cell(key, how, r["metrics"].get(key), end) for r in rows]))
    for key in ("npv_positive", "payback_within_horizon", "gap_closed_by_end"):
        if any(key in r["probabilities"] for r in rows):
            cells = [
                format_probability(
                    r["probabilities"][key]["value"], r["probabilities"][key]["mcse"], draws
                )
                if key in r["probabilities"]
                else "n/a"
                for r in rows
            ]
            out.append((OUTPUTS[key].text(end), cells))
    out.append(
        (
            "hypothetical parameters",
            [f"{r['provenance']['hypothetical']}/{r['provenance']['parameters']}" for r in rows],
        )
    )
    width = 2 + max(len(c) for c in names + [c for _, cs in out for c in cs])
    first = max(26, 2 + max(len(label) for label, _ in out))
    lines = [f"{'':<{first}}" + "".join(f"{n:>{width}}" for n in names)]
    lines += [f"{label:<{first}}" + "".join(f"{c:>{width}}" for c in cells) for label, cells in out]
    return "\n".join(lines)


# ============================================================================ sensitivity
def sensitivity_text(r) -> str:
    """Readable tables of a :class:`~model.analysis.sensitivity.result.SensitivityResult`
    (``capex sensitivity``)."""
    return "\n".join(_sensitivity_sections(r))


def table(headers: list[str], rows: list[list[str]], align: str | None = None) -> list[str]:
    """Lines of a plain-text table (``l``/``r`` alignment per column)."""
    return _table(headers, rows, align)


def _table(headers: list[str], rows: list[list[str]], align: str | None = None) -> list[str]:
    """Lines of a plain-text table, each column as wide as its widest cell."""
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    align = align or "l" + "r" * (len(headers) - 1)

    def line(cells):
        """One row of the table, each cell padded to its column's width."""
        return "  ".join(
            c.ljust(w) if a == "l" else c.rjust(w) for c, w, a in zip(cells, widths, align)
        )

    out = [line(headers), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in rows]
    return out


def _f2(x) -> str:
    """A correlation to three decimals, or n/a when it is missing or not finite."""
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.3f}"


def _sensitivity_header(r) -> list[str]:
    """Title, base value and headline of a sensitivity analysis."""
    return [
        f"Sensitivity of {r.output} [{r.unit}]: {r.title}",
        f"{r.model} model; base value (every input at its median) {r.fmt(r.base_value)}",
        "",
        r.headline(),
        "",
    ]


def _tornado_lines(r) -> list[str]:
    """The tornado table: the output with one input at its P10 / P90."""
    fv = r.fmt
    rows = [
        [
            t.input,
            t.provenance[:4],
            format_value(t.value_p10, t.unit),
            format_value(t.value_p90, t.unit),
            fv(t.output_p10),
            fv(t.output_p90),
            fv(t.swing),
        ]
        for t in r.tornado.itertuples()
    ]
    lines = [
        f"Tornado: {r.output} with one input at its P10 / P90, every other input at its median"
    ]
    lines += _table(
        ["input", "prov", "P10", "P90", f"{r.output} @P10", f"{r.output} @P90", "swing"],
        rows,
        "llrrrrr",
    )
    lines.append("")
    return lines


def _sobol_sum_line(r) -> str:
    """The sum of the first-order indices, with what it means for the estimator used."""
    sm = r.sobol_sums
    return f"sum of S1 = {sm['sum_S1']:.3f} ± {sm['sum_S1_conf']:.3f}" + (
        " (1 - sum = share of the variance from interactions)"
        if r.sobol_method == "saltelli"
        else " (may exceed 1: correlated inputs share variance)"
    )


def _grouped_lines(groups, key: str) -> list[str]:
    """Table of the Sobol indices grouped by ``key`` (category or provenance)."""
    rows = [
        [
            getattr(g, key),
            str(g.n_inputs),
            f"{g.S1:.3f} ± {g.S1_conf:.3f}",
            f"{g.ST:.3f} ± {g.ST_conf:.3f}",
        ]
        for g in groups.itertuples()
    ]
    return [f"Grouped indices by {key}", *_table([key, "inputs", "S1", "ST"], rows), ""]


def _sobol_lines(r) -> list[str]:
    """The Sobol tables: indices of each input, their sum, and the grouped indices."""
    ci = int(round(100 * r.conf_level))
    lines = [
        f"Sobol' indices (N = {r.sobol_n}, {r.sobol_rows:,} model runs, "
        f"{r.sobol_method}; ± = {ci} % bootstrap CI half-width)"
    ]
    rows = [
        [
            s.input,
            s.category,
            s.provenance[:4],
            f"{s.S1:.3f} ± {s.S1_conf:.3f}",
            f"{s.ST:.3f} ± {s.ST_conf:.3f}",
        ]
        for s in r.sobol.itertuples()
    ]
    lines += _table(["input", "category", "prov", "first-order S1", "total ST"], rows, "lllrr")
    lines += [_sobol_sum_line(r), ""]
    lines += _grouped_lines(r.groups_category, "category")
    lines += _grouped_lines(r.groups_provenance, "provenance")
    return lines


def _rank_lines(r) -> list[str]:
    """The table of rank correlations of the inputs with the output."""
    rows = [[q.input, q.provenance[:4], _f2(q.spearman), _f2(q.prcc)] for q in r.rank.itertuples()]
    return [
        f"Rank correlations ({int(r.rank['draws'].iloc[0]):,} draws of the ordinary run)",
        *_table(["input", "prov", "Spearman", "PRCC"], rows, "llrr"),
        "",
    ]


def _breakeven_row(q, target: str) -> list[str]:
    """One row of the break-even table: the value found and its side, or why there is none."""
    yr = (
        f" in {int(q.year)}"
        if q.year is not None and q.year == q.year and "[" not in q.input
        else ""
    )
    if q.status == "found":
        be = format_value(q.breakeven, q.unit) + yr
        pc = f"P{q.percentile:.1f}"
        side = f"{target} > 0 {q.positive_when}"
    else:
        be, pc = q.status, ""
        side = {
            "always": f"{target} > 0 over the range",
            "never": f"{target} <= 0 over the range",
        }.get(q.positive_when, "")
    return [q.input, format_value(q.median_value, q.unit), be, pc, side]


def _breakeven_lines(r) -> list[str]:
    """The break-even table: the value of each input at which the target output is zero."""
    from ..analysis.sensitivity.analyze import BREAKEVEN_RANGE  # deferred: pandas, scipy.stats

    target = (
        OUTPUTS[r.breakeven_output].short if r.breakeven_output in OUTPUTS else r.breakeven_output
    )
    rows = [_breakeven_row(q, target) for q in r.breakeven.itertuples()]
    return [
        f"Break-even: value of each input at which {target} = 0, others at their "
        f"medians (searched over P{100 * BREAKEVEN_RANGE[0]:g}-"
        f"P{100 * BREAKEVEN_RANGE[1]:g})",
        *_table(["input", "median", "break-even", "percentile", ""], rows, "lrrrl"),
        "",
    ]


def _stress_lines(r) -> list[str]:
    """The stress table: the output when one input is in its lower / upper decile."""
    fv = r.fmt
    money = r.unit in ("USD", "USD/year")
    rows = [
        [
            s.input,
            s.subset,
            f"{s.draws:,}",
            fv(s.p05),
            fv(s.p50),
            fv(s.p95),
            f"{s.prob_positive:.3f}" if money else f"{100 * s.undefined_share:.1f} %",
        ]
        for s in r.stress.itertuples()
    ]
    headers = ["input", "subset", "draws", "P05", "P50", "P95"]
    headers.append(f"P({r.output} > 0)" if money else "undefined")
    return [
        f"Stress: {r.output} when one input is in its lower / upper decile "
        "(draws of the ordinary run)",
        *_table(headers, rows, "llrrrrr"),
        "",
    ]


def _sensitivity_sections(r) -> list[str]:
    """Lines of every part of a sensitivity analysis, in the order they are printed."""
    lines = _sensitivity_header(r)
    if r.tornado is not None and "tornado" in r.methods:
        lines += _tornado_lines(r)
    if r.sobol is not None:
        lines += _sobol_lines(r)
    if r.rank is not None:
        lines += _rank_lines(r)
    if r.breakeven is not None:
        lines += _breakeven_lines(r)
    if r.stress is not None:
        lines += _stress_lines(r)
    if r.spider is not None and "tornado" not in r.methods:
        lines += ["Spider: see --plots for the figure; table in --json.", ""]
    lines += [f"note: {note}" for note in r.notes]
    lines.append("terms: docs/concepts.md")
    return lines


# ============================================================================ calibration
def prior_set_lines(d: dict) -> list[str]:
    """Which parameters of a fit its prior decided (posterior sd > 0.7 x prior sd)."""
    summary = d.get("summary", {})
    set_by = [
        f"{k} (posterior sd {v['posterior_sd']:.3g} vs prior {v['prior_sd']:.3g})"
        for k, v in summary.items()
        if v.get("set_by_prior")
    ]
    if not set_by:
        return ["every parameter was narrowed by the data (posterior sd <= 0.7 x prior sd)"]
    return [
        "! set by the prior, not the data (posterior sd > 0.7 x prior sd): "
        + ", ".join(set_by)
        + "; what rests on them is the priors' (assumptions/observations/priors.yaml)"
    ]


def _diag_number(value, spec: str, missing: str) -> str:
    """A convergence diagnostic formatted with ``spec``, or ``missing`` when there is none (R-hat
    needs two chains)."""
    if value is None or (isinstance(value, float) and value != value):
        return missing
    return format(value, spec)


def calibration_text(label: str, cal, d: dict) -> str:
    """One calibration fit as ``capex calibrate`` prints it."""
    diag = d["diagnostics"]
    status = "converged" if diag.get("ok") else "FAILED its diagnostics"
    money = "USD" if d["unit"] == "USD/year" else d["unit"]
    lines = [
        f"\n== {label}: {d['model']} fit to {d['observations']['path'].rsplit('/', 1)[-1]} "
        f"({status})",
        f"   {d.get('description', '')}",
        f"   R-hat max {_diag_number(diag.get('max_rhat'), '.3f', 'n/a (one chain)')}, "
        f"ESS bulk min {_diag_number(diag.get('min_ess_bulk'), '.0f', 'n/a')}, "
        f"ESS tail min {_diag_number(diag.get('min_ess_tail'), '.0f', 'n/a')}, "
        f"divergences {diag.get('divergences')}",
    ]
    lines += [f"   ! {m}" for m in diag.get("messages", [])]
    lines += [f"   {line}" for line in prior_set_lines(d)]
    lines.append(cal.summary().to_string())
    sigma = (d.get("settings") or {}).get("projection_sigma")
    if d.get("targets"):
        how = "not fitted" if sigma is None else f"fitted here, log-noise sigma {sigma:g}"
        lines.append(f"   projections in the file ({how}) against the calibrated trajectory:")
    for t in d.get("targets", []):
        lines.append(
            f"   {t['date']} {t['measure']}: {format_value(float(t['value']), money)} "
            f"({t.get('fact_id') or 'cited'}) -> P(calibrated >= it) = "
            f"{float(t['prob_at_least']):.2f}; calibrated median "
            f"{format_value(float(t['median']), money)} (90 %: "
            f"{format_value(float(t['p05']), money)} to {format_value(float(t['p95']), money)})"
        )
    for t in d.get("custom_targets", []):
        lines.append(
            f"   target {t['year']}: {format_value(t['value'], money)} -> P = "
            f"{t['probability']:.2f}"
        )
    return "\n".join(lines)
