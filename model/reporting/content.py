"""What a report says: the data the templates render, computed from a run.

Everything the templates print is prepared here as plain Python data (strings already
formatted), so the Markdown and HTML templates show the same numbers, and the tests can check
them against ``summary.json``. No HTML is built here: the templates do that.
"""

from __future__ import annotations

import functools
import hashlib
import platform
import shlex
import sys
from importlib import metadata
from pathlib import Path

import numpy as np

from .._version import __version__
from ..core.errors import display_path
from ..core.formatting import (
    format_estimate,
    format_input,
    format_percent,
    format_summary_mean,
    format_value,
    probability_text,
    unit_words,
)
from ..core.scenario import sampler_settings
from ..core.vocabulary import (
    OUTPUTS,
    PORTFOLIO_MODEL,
    is_gap_model,
    is_user_model,
    key_metric,
    outputs_of,
)
from ..engine.summaries import json_summary

#: calibrated-language verdicts (IPCC AR5 likelihood scale)
VERDICTS = (
    (0.99, "virtually certain"),
    (0.90, "very likely"),
    (0.66, "likely"),
    (0.33, "about as likely as not"),
    (0.10, "unlikely"),
    (0.01, "very unlikely"),
    (0.0, "exceptionally unlikely"),
)
VERSION_PACKAGES = (
    "capex",
    "numpy",
    "scipy",
    "pandas",
    "xarray",
    "h5netcdf",
    "matplotlib",
    "Jinja2",
    "PyYAML",
    "SALib",
    "pymc",
    "arviz",
)


# ============================================================================ words
def verdict(p: float) -> str:
    for threshold, word in VERDICTS:
        if p >= threshold:
            return word
    return VERDICTS[-1][1]


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
    probs, n = dict(d["probabilities"]), d["draws"]
    counts = sc.provenance_counts()
    if is_user_model(sc.model):
        answer = _user_answer(res, d)
        probs = {answer["key"]: {**answer.pop("probability"), "label": answer["label"]}, **probs}
    elif is_gap_model(sc.model):
        answer = _industry_answer(d, sc)
    elif sc.model == PORTFOLIO_MODEL:
        answer = _portfolio_answer(d, sc)
        probs = {"revenue_covered": probs.pop("revenue_covered"), **probs}
    else:
        answer = _programme_answer(d, sc)
    out: dict = {
        "provenance": counts,
        "probabilities": [
            {
                "name": name,
                "label": p.get("label") or OUTPUTS[name].text(sc.end),
                "text": probability_text(p, n),
                "value": p["value"],
                "mcse": p["mcse"],
                "meaning": OUTPUTS[name].description
                if name in OUTPUTS
                else p.get("meaning")
                or "Share of all draws meeting this target (asked for with --prob).",
            }
            for name, p in probs.items()
        ],
        **answer,
    }
    out["sure"] = how_sure(d, counts, probs[out["key"]])
    out["sensitivity"] = sens.get("headline") if sens else None
    return out


def how_sure(d: dict, counts: dict, key: dict) -> str:
    """ "How sure are we?": the sampling error (how it was estimated), the posterior's own
    contribution for calibrated inputs, and where the uncertainty that matters lies."""
    n = d["draws"]
    errors = d["errors"]
    parts = [
        f"Sampling error: P = {probability_text(key, n)} with {n:,} draws (± one Monte Carlo "
        f"standard error; {errors['text']}); every quantile in the tables carries its own."
    ]
    check = d.get("posterior_check")
    if check:
        parts.append(
            f"The calibrated inputs rest on a finite posterior sample: refitting it with "
            f"{check['fits'] - 1} other sampler seeds gives "
            + "; ".join(_posterior_clause(k, st) for k, st in check["statistics"].items())
            + "."
        )
        decided = {k: v for k, v in (check.get("set_by_prior") or {}).items() if v}
        if decided:
            parts.append(
                "The data did not inform "
                + "; ".join(f"{k}'s {', '.join(v)}" for k, v in decided.items())
                + ": those are set by their priors (assumptions/observations/priors.yaml), so "
                "the long-run path they shape is the priors' answer, not the data's."
            )
    parts.append(
        f"The uncertainty that matters is in the inputs: {counts['hypothetical']} of "
        f"{counts['parameters']} numeric inputs are hypothetical (no source, a stated "
        f"rationale) and {counts['sourced']} are sourced."
    )
    return " ".join(parts)


def _posterior_clause(key: str, st: dict) -> str:
    """``P(NPV > 0) 0.449, 0.436, 0.444 (sd 0.007 over fits; the run's own error 0.007)``."""
    unit = st["unit"]

    def show(v):
        return f"{v:.3f}" if unit == "share" else format_value(v, unit)

    label = OUTPUTS[key].text(None) if key in OUTPUTS else key.replace(":", " ").upper()
    return (
        f"{label} {', '.join(show(v) for v in st['values'])} (sd {show(st['sd_over_fits'])} "
        f"over fits; the run's own error {show(st['mcse'])})"
    )


def _user_answer(res, d: dict) -> dict:
    """Question, verdict, sentence and spread of a user model's run, on its first metric:
    the share of draws where it is positive, and its spread."""
    sc, n = res.scenario, d["draws"]
    m = key_metric(sc.model)
    spec = OUTPUTS[m]
    p = res.probability_of(f"{m}>0")
    s = d["metrics"][m]
    return {
        "key": f"{m}_positive",
        "probability": {**p, "meaning": f"Share of draws in which {spec.label} is above zero."},
        "label": f"P({m} > 0)",
        "question": f"How large is {spec.label}?",
        "verdict": f"{spec.label[:1].upper()}{spec.label[1:]} above zero is {verdict(p['value'])}",
        "sentence": (
            f"{spec.label[:1].upper()}{spec.label[1:]} is above zero in "
            f"{format_percent(p['value'])} of simulated futures: P({m} > 0) = "
            f"{probability_text(p, n)}. {spec.description}"
        ),
        "spread": (
            f"Median {format_value(s['p50'], spec.unit)} (90 % of draws between "
            f"{format_value(s['p05'], spec.unit)} and {format_value(s['p95'], spec.unit)})."
        ),
    }


def _industry_answer(d: dict, sc) -> dict:
    """Question, verdict, sentence and spread of an industry run."""
    end, n = sc.end, d["draws"]
    p = d["probabilities"]["gap_closed_by_end"]
    g = d["metrics"]["revenue_gap_final"]
    return {
        "key": "gap_closed_by_end",
        "question": f"Does AI revenue close the data-centre revenue gap by {end}?",
        "verdict": f"Closing the gap by {end} is {verdict(p['value'])}",
        "sentence": (
            f"In {format_percent(p['value'])} of simulated futures AI revenue covers the "
            f"revenue the data-centre build-out requires in {end}: "
            f"{OUTPUTS['gap_closed_by_end'].text(end)} = {probability_text(p, n)}."
        ),
        "spread": (
            f"Median gap in {end}: {format_value(g['p50'], 'USD/year')} (90 % of draws between "
            f"{format_value(g['p05'], 'USD/year')} and {format_value(g['p95'], 'USD/year')})."
        ),
    }


def _programme_answer(d: dict, sc) -> dict:
    """Question, verdict, sentence and spread of a programme run."""
    end, n = sc.end, d["draws"]
    p = d["probabilities"]["npv_positive"]
    pb = d["probabilities"]["payback_within_horizon"]
    npv = d["metrics"]["npv"]
    return {
        "key": "npv_positive",
        "question": "Does the programme pay back?",
        "verdict": f"Paying back at the discount rate is {verdict(p['value'])}",
        "sentence": (
            f"The programme's NPV is positive in {format_percent(p['value'])} of simulated "
            f"futures: P(NPV > 0) = {probability_text(p, n)}; its cumulative cash flow turns "
            f"positive by {end} in {format_percent(pb['value'])} "
            f"(P = {probability_text(pb, n)})."
        ),
        "spread": (
            f"Median NPV {format_value(npv['p50'], 'USD')} (90 % of draws between "
            f"{format_value(npv['p05'], 'USD')} and {format_value(npv['p95'], 'USD')}), "
            f"{sc.currency} at 1 January {sc.start}."
        ),
    }


def _portfolio_answer(d: dict, sc) -> dict:
    """Question, verdict, sentence and spread of a portfolio's aggregate."""
    n, year = d["draws"], d["coverage_year"]
    cov = d["probabilities"]["revenue_covered"]
    p = d["probabilities"]["npv_positive"]
    c = d["metrics"]["revenue_coverage"]
    npv = d["metrics"]["npv"]
    return {
        "key": "revenue_covered",
        "question": (
            f"Does the revenue of these {len(d['members'])} programmes cover, by {year}, what "
            "their spending requires?"
        ),
        "verdict": f"Covering it is {verdict(cov['value'])}",
        "sentence": (
            f"Their revenue {sc.start}–{year} reaches the revenue their spending requires "
            f"(Sequoia's multiplier) in {format_percent(cov['value'])} of simulated futures: "
            f"P = {probability_text(cov, n)}; the aggregate NPV is positive in "
            f"{format_percent(p['value'])} (P(NPV > 0) = {probability_text(p, n)})."
        ),
        "spread": (
            f"Median coverage {format_value(c['p50'], 'ratio')} (90 % of draws between "
            f"{format_value(c['p05'], 'ratio')} and {format_value(c['p95'], 'ratio')}); median "
            f"aggregate NPV {format_value(npv['p50'], 'USD')}, {sc.currency} at 1 January "
            f"{sc.start}."
        ),
    }


def metrics_table(res) -> list[dict]:
    """The report's metric rows: quantiles and mean with their errors (a quantile beyond the
    horizon as its never text), the undefined share and, for the IRR, the multiple share."""
    rows = []
    end = res.scenario.end
    for name in res.metric_names:
        m = json_summary(res.metric_summary(name))
        spec = OUTPUTS[name]
        u = m["unit"]
        qse = m["quantile_mcse"]
        rows.append(
            {
                "name": name,
                "label": spec.label,
                "unit": unit_words(u),
                **{
                    k: format_estimate(m[k], qse.get(k), u, spec.never, end)
                    for k in ("p05", "p50", "p95")
                },
                "mean": format_summary_mean(m, spec.never),
                "undefined": format_percent(m["undefined_share"], 1),
                "multiple": format_percent(m["multiple_share"], 1)
                if m.get("multiple_share") is not None
                else "",
                "has_undefined": m["undefined_share"] > 0,
            }
        )
    return rows


def _input_text(x, unit: str) -> str:
    return format_input(x, unit)


def assumptions_table(sc, bib_numbers: dict[str, int], importance: dict | None = None) -> list:
    """Every parameter: meaning, distribution in words, unit, provenance, where defined."""
    rows = []
    for p in sc.parameters.values():
        row = {
            "name": p.name,
            "meaning": p.spec.meaning,
            "category": p.category,
            "unit": p.spec.unit or "—",
            "uncertain": p.is_uncertain,
            "where": f"{display_path(p.file)}:{p.line}" if p.file else "—",
            "importance": (importance or {}).get(p.name),
        }
        fmt = functools.partial(_input_text, unit=p.spec.unit)
        if p.form == "switch":
            row["distribution"] = p.describe()
            row["kind"] = "default" if p.default else "choice"
            row["provenance"] = (
                "model default (not in the file)"
                if p.default
                else "model choice (a switch, not a number)"
            )
        elif p.default:
            row["distribution"] = p.describe(fmt)
            row["kind"] = "default"
            row["provenance"] = "neutral off-switch default (not in the file): no effect"
        else:
            desc = p.describe(fmt)
            if p.form == "series":
                how = {
                    "linear": "linear between the given years",
                    "step": "held until the next given year",
                    "none": "years not listed are 0",
                }[p.interpolation]
                if any(not d.is_fixed for _, d in p.points):
                    how += (
                        "; uncertain years move together"
                        if p.years_move == "together"
                        else "; uncertain years drawn independently"
                    )
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
    items = sorted(
        cited.items(), key=lambda kv: (kv[1][0].publisher.lower(), kv[1][0].published, kv[0])
    )
    out, numbers = [], {}
    for i, (key, (s, names)) in enumerate(items, 1):
        numbers[key] = i
        out.append(
            {
                "num": i,
                "key": key,
                "anchor": "src-" + "".join(c if c.isalnum() else "-" for c in key),
                "publisher": s.publisher,
                "published": s.published,
                "title": s.title,
                "address": s.address,
                "confidence": s.confidence,
                "note": s.note,
                "cited_by": names,
                "citation": s.citation(),
            }
        )
    return out, numbers


def versions(extra: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    out = []
    for pkg in VERSION_PACKAGES + extra:
        try:
            out.append((pkg, metadata.version(pkg)))
        except metadata.PackageNotFoundError:
            if pkg == "capex":
                out.append((pkg, __version__))
    return out


def reproduce_command(res, out: Path | None) -> str:
    sc = res.scenario
    a = res.attrs
    parts = ["capex", "report", display_path(sc.path)]
    if sc.overlay:
        parts += ["--scenario", sc.overlay]
    parts += [
        "--draws",
        str(int(a["draws"])),
        "--seed",
        str(int(a["seed"])),
        "--design",
        str(a["design"]),
    ]
    if out is not None:
        parts += ["--out", display_path(out)]
    return shlex.join(parts)


def manifest(res, command: str | None, out: Path | None, sens: dict | None) -> dict:
    """The run stamp: everything needed to reproduce the numbers."""
    sc = res.scenario
    a = res.attrs
    files = [
        {"path": display_path(f), "sha256": _sha256(Path(f))}
        for f in list(sc.files) + list(getattr(sc, "extra_hash_files", []) or [])
        if Path(f).is_file()
    ]
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
        rows.append(
            {
                "name": p.name,
                "model": c.get("model"),
                "observations": display_path(obs),
                "sha256": _sha256(obs) if obs.is_file() else "",
                "settings": ", ".join(f"{k} {v}" for k, v in sampler_settings(c).items()),
            }
        )
    return rows


def series_table(res) -> dict:
    """Median by year of the main series, for the appendix table (numbers behind the fans)."""
    years = [int(y) for y in res.scenario.years]
    if is_user_model(res.model):
        names = [(o.name, o.label, o.unit) for o in outputs_of(res.model, "series")]
        names = [n for n in names if n[0] in res.series]
    elif is_gap_model(res.model):
        names = [
            ("revenue_required", "revenue required", "USD/year"),
            ("ai_revenue", "AI revenue", "USD/year"),
            ("revenue_gap", "revenue gap", "USD/year"),
        ]
    else:
        names = [
            ("capex", "capex", "USD"),
            ("revenue", "revenue", "USD"),
            ("fcf", "free cash flow", "USD"),
            ("cumulative_fcf", "cumulative FCF", "USD"),
        ]
    cols = []
    for key, label, unit in names:
        if key == "capex":
            arr = res.series_values("spend") + res.series_values("refresh_spend")
        else:
            arr = res.series_values(key)
        q = np.quantile(np.asarray(arr, float), (0.05, 0.5, 0.95), axis=0)
        cols.append(
            {
                "label": label,
                "p05": [format_value(v, unit) for v in q[0]],
                "p50": [format_value(v, unit) for v in q[1]],
                "p95": [format_value(v, unit) for v in q[2]],
            }
        )
    return {"years": years, "columns": cols}
