"""What a report says: the data the templates render, computed from a run.

Everything the templates print is prepared here as plain Python data (strings already
formatted), so the Markdown and HTML templates show the same numbers, and the tests can check
them against ``summary.json``. No HTML is built here: the templates do that.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import math
import platform
import shlex
import sys
from importlib import metadata
from pathlib import Path

import numpy as np

from ..cli_engine import fmt_metric
from ..errors import display_path
from ..units import format_amount

#: Human names of the metrics (the metric key is shown next to it, for tracing).
METRIC_LABELS = {
    "npv": "Net present value (NPV)",
    "irr": "Internal rate of return (IRR)",
    "payback_years": "Payback (years from the valuation date)",
    "peak_funding": "Peak funding need",
    "levelized_cost_per_gpu_hour": "Break-even GPU-hour price (levelized cost)",
    "revenue_gap_final": "Revenue gap in the last year",
    "cumulative_revenue_gap_total": "Cumulative revenue gap",
    "gap_close_year": "Years until the gap first closes",
    "pv_revenue_gap": "Present value of the revenue gaps",
}
UNIT_WORDS = {"USD": "USD", "USD/year": "USD/year", "1/year": "% per year", "years": "years",
              "USD/GPU-hour": "USD/GPU-hour", "ratio": "ratio", "share": "%"}
#: ``{end}`` is the last year of the horizon
PROBABILITY_LABELS = {
    "npv_positive": "P(NPV > 0)",
    "payback_within_horizon": "P(payback by {end})",
    "gap_closed_by_end": "P(gap closed in {end})",
}
PROBABILITY_MEANING = {
    "npv_positive": "the programme creates value at its discount rate",
    "payback_within_horizon": "cumulative free cash flow turns positive within the horizon",
    "gap_closed_by_end": "AI revenue covers the revenue required in the last year",
}
#: calibrated-language verdicts (IPCC AR5 likelihood scale)
VERDICTS = ((0.99, "virtually certain"), (0.90, "very likely"), (0.66, "likely"),
            (0.33, "about as likely as not"), (0.10, "unlikely"), (0.01, "very unlikely"),
            (0.0, "exceptionally unlikely"))
VERSION_PACKAGES = ("capex", "numpy", "scipy", "pandas", "xarray", "h5netcdf", "matplotlib",
                    "Jinja2", "PyYAML", "SALib", "pymc", "arviz")


# ============================================================================ formatting
def prob_decimals(mcse: float) -> int:
    """Decimals that show a probability to the precision of its Monte Carlo error (2 to 4)."""
    if not mcse or not math.isfinite(mcse) or mcse <= 0:
        return 3
    return int(min(4, max(2, -math.floor(math.log10(mcse)))))


def prob_text(p: dict, n: int | None = None) -> str:
    """``0.41 ± 0.01`` at the precision of the MCSE.

    With ``n`` (the number of draws), a probability of exactly 0 or 1, whose MCSE formula gives
    a meaningless 0, is written with the 95 % "rule of three" bound instead:
    ``< 0.0003 (0 of 10,000 draws)``.
    """
    if n and p["value"] in (0.0, 1.0):
        bound = 3.0 / n
        b = f"{bound:.1g}"
        if p["value"] == 0.0:
            return f"< {b} (0 of {n:,} draws)"
        return f"> {1 - float(b):.{max(2, len(b) - 2)}f} (all {n:,} draws)"
    d = prob_decimals(p["mcse"])
    return f"{p['value']:.{d}f} ± {p['mcse']:.{d}f}"


def verdict(p: float) -> str:
    for threshold, word in VERDICTS:
        if p >= threshold:
            return word
    return VERDICTS[-1][1]


def pct(x: float, decimals: int = 0) -> str:
    return f"{100 * x:.{decimals}f} %"


def value_fmt(unit: str):
    """Formatter of a parameter value in its canonical unit (used in 'distribution in words')."""
    def f(x):
        if x is None or not math.isfinite(x):
            return "n/a"
        if unit in ("USD", "USD/year", "USD/GPU-hour", "USD/MW", "USD/MWh"):
            return format_amount(x, unit)
        if unit == "share":
            return f"{100 * x:.3g} %"
        if unit == "1/year":
            return f"{100 * x:.3g} %/year"
        if unit == "years":
            return f"{x:.3g} year" + ("" if x == 1 else "s")
        if unit == "MW":
            return format_amount(x, "MW")
        if unit == "GPU/MW":
            return f"{x:,.0f} GPU/MW"
        return f"{x:.4g}"
    return f


def mean_pm(mean, mcse, unit: str) -> str:
    """``mean ± MCSE`` with both in the same scale: ``−$23.8B ± $0.4B``, ``0.4 % ± 0.1 %``."""
    if mean is None or not math.isfinite(mean):
        return "n/a"
    if mcse is None or not math.isfinite(mcse):
        return f"{metric_cell(mean, unit)} ± n/a"
    if unit in ("USD", "USD/year"):
        a = abs(mean) if mean else mcse
        div, suf = (1e12, "T") if a >= 1e12 else (1e9, "B") if a >= 1e9 else (1e6, "M")
        e = mcse / div
        d = 1 if e <= 0 else int(min(3, max(1, -math.floor(math.log10(e)))))
        per = "/year" if unit == "USD/year" else ""
        sign = "-" if mean < 0 else ""
        return f"{sign}${abs(mean) / div:.{d}f}{suf}{per} ± ${e:.{d}f}{suf}"
    return f"{metric_cell(mean, unit)} ± {metric_cell(mcse, unit)}"


def metric_cell(x, unit: str) -> str:
    if x is None:
        return "n/a"
    return fmt_metric(float(x), unit)


def now_utc() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ============================================================================ sections
def headline(res, sens: dict | None) -> dict:
    """The one-sentence answer and what backs it."""
    sc = res.scenario
    d = res.to_json_dict()
    probs = d["probabilities"]
    end = sc.end
    n = d["draws"]
    counts = sc.provenance_counts()
    out: dict = {"probabilities": [], "provenance": counts}
    for name, p in probs.items():
        out["probabilities"].append({
            "name": name, "label": PROBABILITY_LABELS[name].format(end=end),
            "text": prob_text(p, n), "value": p["value"], "mcse": p["mcse"],
            "meaning": PROBABILITY_MEANING[name]})
    if sc.model == "industry":
        p = probs["gap_closed_by_end"]
        g = d["metrics"]["revenue_gap_final"]
        word = verdict(p["value"])
        out["question"] = f"Does AI revenue close the data-centre revenue gap by {end}?"
        out["verdict"] = f"Closing the gap by {end} is {word}"
        out["sentence"] = (
            f"In {pct(p['value'])} of simulated futures AI revenue covers the revenue the "
            f"data-centre build-out requires in {end}: "
            f"{PROBABILITY_LABELS['gap_closed_by_end'].format(end=end)} = {prob_text(p, n)}.")
        out["spread"] = (
            f"Median gap in {end}: {metric_cell(g['p50'], 'USD/year')} "
            f"(90 % of draws between {metric_cell(g['p05'], 'USD/year')} and "
            f"{metric_cell(g['p95'], 'USD/year')}).")
        out["key"] = "gap_closed_by_end"
    else:
        p = probs["npv_positive"]
        pb = probs["payback_within_horizon"]
        npv = d["metrics"]["npv"]
        word = verdict(p["value"])
        out["question"] = "Does the programme pay back?"
        out["verdict"] = f"Paying back at the discount rate is {word}"
        out["sentence"] = (
            f"The programme's NPV is positive in {pct(p['value'])} of simulated futures: "
            f"P(NPV > 0) = {prob_text(p, n)}; its cumulative cash flow turns positive by "
            f"{end} in {pct(pb['value'])} (P = {prob_text(pb, n)}).")
        out["spread"] = (
            f"Median NPV {metric_cell(npv['p50'], 'USD')} (90 % of draws between "
            f"{metric_cell(npv['p05'], 'USD')} and {metric_cell(npv['p95'], 'USD')}), "
            f"{sc.currency} at 1 January {sc.start}.")
        out["key"] = "npv_positive"
    key = probs[out["key"]]
    out["sure"] = (
        f"Sampling error is small (± {key['mcse']:.{prob_decimals(key['mcse'])}f} with "
        f"{d['draws']:,} draws); the uncertainty that matters is in the inputs: "
        f"{counts['hypothetical']} of {counts['parameters']} numeric inputs are hypothetical "
        f"(no source, a stated rationale) and {counts['sourced']} are sourced.")
    out["sensitivity"] = sens.get("headline") if sens else None
    return out


def metrics_table(res) -> list[dict]:
    rows = []
    for name in res.metric_names:
        m = res.metric_summary(name)
        u = m["unit"]
        rows.append({
            "name": name, "label": METRIC_LABELS.get(name, name), "unit": UNIT_WORDS.get(u, u),
            "p05": metric_cell(m["p05"], u), "p50": metric_cell(m["p50"], u),
            "p95": metric_cell(m["p95"], u),
            "mean": mean_pm(m["mean"], m["mcse"], u),
            "undefined": pct(m["undefined_share"], 1),
            "has_undefined": m["undefined_share"] > 0,
        })
    return rows


def assumptions_table(sc, bib_numbers: dict[str, int], importance: dict | None = None) -> list:
    """Every parameter: meaning, distribution in words, unit, provenance, where defined."""
    rows = []
    for p in sc.parameters.values():
        row = {
            "name": p.name, "meaning": p.spec.meaning, "category": p.category,
            "unit": p.spec.unit or "—", "uncertain": p.is_uncertain,
            "where": f"{display_path(p.file)}:{p.line}" if p.file else "—",
            "importance": (importance or {}).get(p.name),
        }
        fmt = value_fmt(p.spec.unit)
        if p.form == "switch":
            row["distribution"] = p.describe()
            row["kind"] = "default" if p.default else "choice"
            row["provenance"] = ("model default (not in the file)" if p.default else
                                 "model choice (a switch, not a number)")
        elif p.default:
            row["distribution"] = p.describe(fmt)
            row["kind"] = "default"
            row["provenance"] = "neutral off-switch default (not in the file): no effect"
        else:
            desc = p.describe(fmt)
            if p.form == "series":
                how = {"linear": "linear between the given years", "step": "held until the "
                       "next given year", "none": "years not listed are 0"}[p.interpolation]
                if any(not d.is_fixed for _, d in p.points):
                    how += ("; uncertain years move together" if p.years_move == "together"
                            else "; uncertain years drawn independently")
                desc = f"{desc} ({how})"
            row["distribution"] = desc
            prov = p.provenance
            if prov is None or (not prov.is_hypothetical and not prov.sources):
                row["kind"] = "calibrated" if p.form == "calibrated" else "sourced"
                row["provenance"] = "provenance in the observation file (see calibration)"
                row["refs"] = []
            elif prov.is_hypothetical:
                row["kind"] = "hypothetical"
                row["provenance"] = prov.hypothetical
                row["refs"] = []
            else:
                row["kind"] = "sourced"
                row["refs"] = [{"key": s.key, "num": bib_numbers[s.key]} for s in prov.sources]
                row["provenance"] = ""
            row["locators"] = "; ".join(f"{k}: {v}" for k, v in (prov.locators if prov else ()))
        row.setdefault("refs", [])
        row.setdefault("locators", "")
        rows.append(row)
    return rows


def bibliography(sc) -> tuple[list[dict], dict[str, int]]:
    cited = sc.cited_sources()
    items = sorted(cited.items(), key=lambda kv: (kv[1][0].publisher.lower(),
                                                  kv[1][0].published, kv[0]))
    out, numbers = [], {}
    for i, (key, (s, names)) in enumerate(items, 1):
        numbers[key] = i
        out.append({"num": i, "key": key, "anchor": "src-" + "".join(
            c if c.isalnum() else "-" for c in key), "publisher": s.publisher,
            "published": s.published, "title": s.title, "address": s.address,
            "confidence": s.confidence, "note": s.note, "cited_by": names,
            "citation": s.citation()})
    return out, numbers


def versions(extra: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    out = []
    for pkg in VERSION_PACKAGES + extra:
        try:
            out.append((pkg, metadata.version(pkg)))
        except metadata.PackageNotFoundError:
            if pkg == "capex":
                from .. import __version__
                out.append((pkg, __version__))
    return out


def reproduce_command(res, out: Path | None) -> str:
    sc = res.scenario
    a = res.ds.attrs
    parts = ["capex", "report", display_path(sc.path)]
    if sc.overlay:
        parts += ["--scenario", sc.overlay]
    parts += ["--draws", str(int(a["draws"])), "--seed", str(int(a["seed"])),
              "--design", str(a["design"])]
    if out is not None:
        parts += ["--out", display_path(out)]
    return shlex.join(parts)


def manifest(res, command: str | None, out: Path | None, sens: dict | None) -> dict:
    """The run stamp: everything needed to reproduce the numbers."""
    sc = res.scenario
    a = res.ds.attrs
    files = [{"path": display_path(f), "sha256": _sha256(Path(f))}
             for f in list(sc.files) + list(getattr(sc, "extra_hash_files", []) or [])
             if Path(f).is_file()]
    return {
        "scenario": sc.label,
        "name": sc.name,
        "overlay": sc.overlay,
        "title": sc.title,
        "model": sc.model,
        "seed": int(a["seed"]),
        "draws": int(a["draws"]),
        "design": str(a["design"]),
        "series_draws": int(a.get("series_draws", a["draws"])),
        "years": [int(sc.start), int(sc.end)],
        "currency": sc.currency,
        "currency_year": sc.currency_year,
        "input_hash": sc.input_hash,
        "input_files": files,
        "simulated_at": str(a.get("created", "")),
        "simulation_seconds": float(a.get("elapsed_seconds", float("nan"))),
        "report_created": now_utc(),
        "versions": dict(versions()),
        "python": sys.version.split()[0],
        "platform": platform.platform(terse=True),
        "command": command or "",
        "reproduce": reproduce_command(res, out),
        "sensitivity": (sens or {}).get("settings"),
    }


def calibration_rows(sc) -> list[dict]:
    """Calibrated parameters (``form == "calibrated"``): model and observation file."""
    rows = []
    for p in sc.parameters.values():
        if p.form != "calibrated":
            continue
        c = p.calibrated
        obs = Path(c["observations"])
        rows.append({"name": p.name, "model": c.get("model"),
                     "observations": display_path(obs),
                     "sha256": _sha256(obs) if obs.is_file() else "",
                     "settings": ", ".join(f"{k} {c[k]}" for k in ("draws", "tune", "chains")
                                           if k in c)})
    return rows


def series_table(res) -> dict:
    """Median by year of the main series, for the appendix table (numbers behind the fans)."""
    years = [int(y) for y in res.ds["year"].values]
    if res.model == "industry":
        names = [("revenue_required", "revenue required"), ("ai_revenue", "AI revenue"),
                 ("revenue_gap", "revenue gap")]
        unit = "USD/year"
    else:
        names = [("capex", "capex"), ("revenue", "revenue"), ("fcf", "free cash flow"),
                 ("cumulative_fcf", "cumulative FCF")]
        unit = "USD"
    cols = []
    for key, label in names:
        if key == "capex":
            arr = res.ds["spend"].values + res.ds["refresh_spend"].values
        else:
            arr = res.ds[key].values
        q = np.quantile(np.asarray(arr, float), (0.05, 0.5, 0.95), axis=0)
        cols.append({"label": label, "p05": [metric_cell(v, unit) for v in q[0]],
                     "p50": [metric_cell(v, unit) for v in q[1]],
                     "p95": [metric_cell(v, unit) for v in q[2]]})
    return {"years": years, "columns": cols}
