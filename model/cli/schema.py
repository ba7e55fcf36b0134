"""The JSON Schemas (draft 2020-12) of every ``--json`` output, ``docs/schema/*.schema.json``.

``python -m model.cli.schema`` writes one file per command with ``--json`` (run, compare,
sensitivity, calibrate, validate, sources, fit) and ``error.schema.json`` (the object every
command prints instead when it fails); ``--check`` exits 1 when a file drifted (a test runs the
same check). The metrics, series and probabilities of ``run`` and ``compare`` are generated from the
output vocabulary (:data:`model.core.vocabulary.OUTPUTS`): every built-in name is listed with
its unit and meaning, and any other name (a user model's own output, a ``--prob`` target)
validates against the generic summary. The other objects are written from their structure
here. Every object carries ``schema_version`` (:data:`model.cli.jsonout.JSON_SCHEMA_VERSION`);
the policy is in ``docs/json.md``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..analysis.compare import PROGRAMME_METRICS
from ..analysis.fitting import FAMILIES as FIT_FAMILIES
from ..analysis.fitting import PARAMETERS as FIT_PARAMETERS
from ..analysis.fitting import QUANTILES as FIT_QUANTILES
from ..core.vocabulary import MODEL_KINDS, OUTPUT_LIST, outputs_of, summary_metrics
from ..engine.summaries import QUANTILE_KEYS
from .common import write_generated
from .jsonout import JSON_SCHEMA_VERSION
from .parser import DESIGNS

#: Where the schemas are written (relative to the repository root, like ``docs/api.md``).
SCHEMA_DIR = Path("docs") / "schema"
DIALECT = "https://json-schema.org/draft/2020-12/schema"

NUM = {"type": ["number", "null"]}
INT = {"type": "integer"}
STR = {"type": "string"}
STR_OR_NULL = {"type": ["string", "null"]}
BOOL = {"type": "boolean"}
STRINGS = {"type": "array", "items": STR}
NUMBERS = {"type": "array", "items": NUM}
#: column types of the tables below
_CELL = {"s": STR, "s?": STR_OR_NULL, "n": NUM, "i": INT, "b": BOOL}
#: the models whose outputs the vocabulary lists
BUILT_IN_MODELS = MODEL_KINDS
_MODEL_TEXT = ", ".join(MODEL_KINDS) + " or a user model's key"


def ref(name: str) -> dict:
    """A reference to a definition of the same document."""
    return {"$ref": f"#/$defs/{name}"}


def obj(props: dict, optional=(), extra=False, description: str | None = None) -> dict:
    """An object with ``props``, all required but ``optional``; ``extra``: the schema of keys
    not listed (``False``: none allowed)."""
    out = {"type": "object"}
    if description:
        out["description"] = description
    out["properties"] = props
    out["required"] = [k for k in props if k not in optional]
    out["additionalProperties"] = extra
    return out


def array(items: dict, description: str | None = None) -> dict:
    out = {"type": "array", "items": items}
    return {"description": description, **out} if description else out


def nullable(schema: dict) -> dict:
    """``schema`` or ``null`` (a table of a method that did not run)."""
    return {"anyOf": [schema, {"type": "null"}]}


def rows(columns: str, description: str) -> dict:
    """A table as a list of rows, from ``"name:type name:type ..."`` (types of :data:`_CELL`)."""
    props = {c.split(":")[0]: _CELL[c.split(":")[1]] for c in columns.split()}
    return array(obj(props), description)


def table(columns: str, description: str) -> dict:
    """:func:`rows`, or ``null`` for a method that did not run."""
    return nullable(rows(columns, description))


# ============================================================================ shared parts
def _quantiles(what: str) -> dict:
    return {k: {**NUM, "description": f"{k[1:]} % quantile{what}"} for k in QUANTILE_KEYS}


def _distribution() -> dict:
    """mean, sd, mcse, the quantiles and their errors (the core of a metric summary)."""
    return {
        "mean": {**NUM, "description": "mean; null when undefined or when some draw is never"},
        "sd": NUM,
        "mcse": {**NUM, "description": "Monte Carlo standard error of the mean"},
        **_quantiles("; null in the metric's never region (after the horizon)"),
        "quantile_mcse": obj(
            _quantiles(": its Monte Carlo standard error"), description="errors of the quantiles"
        ),
    }


def metric_summary() -> dict:
    """The summary of one metric's draws (:func:`model.engine.summaries.summarise_metric`)."""
    conditional = obj(
        {**_distribution(), "share": NUM, "draws": INT},
        description="never-metrics: the distribution among the draws that get there",
    )
    return obj(
        {
            "unit": STR,
            **_distribution(),
            "quantiles_of": {"enum": ["all draws", "defined draws"]},
            "defined_share": NUM,
            "undefined_share": NUM,
            "conditional": conditional,
            "multiple_share": {**NUM, "description": "irr: share of draws with several IRRs"},
            "via_terminal_share": {
                **NUM,
                "description": "payback: share paying back only through the terminal value",
            },
        },
        optional=("conditional", "multiple_share", "via_terminal_share"),
        description="a metric's draws: mean, sd and quantiles with their Monte Carlo errors",
    )


def _probability() -> dict:
    return obj(
        {"value": NUM, "mcse": NUM, "label": STR},
        optional=("label",),
        description="a share of draws with its Monte Carlo standard error (label: --prob)",
    )


def _series() -> dict:
    return obj(
        {"unit": STR, "p05": NUMBERS, "p50": NUMBERS, "p95": NUMBERS},
        description="quantiles by year over the kept series draws",
    )


def _errors() -> dict:
    return obj(
        {
            "method": {"enum": ["iid", "clustered", "replicates"]},
            "text": STR,
            "replicates": INT,
            "trajectories": INT,
            "calibrated_inputs": INT,
        },
        optional=("replicates", "trajectories", "calibrated_inputs"),
        description="how the Monte Carlo errors were estimated (how the draws depend)",
    )


def _provenance() -> dict:
    return obj(
        {"parameters": INT, "sourced": INT, "hypothetical": INT},
        description="numeric parameters, sourced and hypothetical",
    )


def _timings() -> dict:
    return {
        "type": "object",
        "description": "wall-clock seconds; only with --timings",
        "additionalProperties": {"type": "number"},
    }


def _named(kind: str, generic: str, extra_props: dict | None = None) -> dict:
    """The map of a run's outputs of ``kind``: every built-in name from the vocabulary (its
    unit fixed), any other name by the generic definition."""
    props = {}
    for o in OUTPUT_LIST:
        if o.kind != kind or (kind == "metric" and not o.summarised):
            continue
        entry = {"description": f"{o.label} [{o.unit}]: {o.description}", **ref(generic)}
        if kind != "probability":
            entry["properties"] = {"unit": {"const": o.unit}}
        if o.never is not None:
            entry["description"] += (
                " A draw that never gets there counts as beyond the horizon: a quantile there is "
                "null, and so are mean, sd and mcse; conditional: among the draws that do."
            )
            entry["required"] = ["conditional"]
        props[o.name] = entry
    props.update(extra_props or {})
    return {"type": "object", "properties": props, "additionalProperties": ref(generic)}


def _by_model(metric_names) -> list[dict]:
    """For each built-in model: the metrics and probabilities its run always has."""
    rules = []
    for model in BUILT_IN_MODELS:
        probs = [o.name for o in outputs_of(model, "probability")]
        rules.append(
            {
                "if": {"properties": {"model": {"const": model}}, "required": ["model"]},
                "then": {
                    "properties": {
                        "metrics": {"required": list(metric_names(model))},
                        "probabilities": {"required": probs},
                    }
                },
            }
        )
    return rules


def document(name: str, description: str, body: dict, defs: dict | None = None) -> dict:
    """A schema document: dialect, title, the body with ``schema_version`` and ``warnings``
    added (every object has them), and its definitions."""
    props = {
        "schema_version": {
            "const": JSON_SCHEMA_VERSION,
            "description": "version of the --json contract (docs/json.md)",
        },
        **body["properties"],
        "warnings": array(STR, "every capex warning of the command, once"),
    }
    optional = [k for k in body["properties"] if k not in body["required"]]
    out = {
        "$schema": DIALECT,
        "title": f"capex {name} --json" if name != "error" else "capex error (any --json)",
        "description": description,
        **obj(props, optional=optional),
    }
    if "allOf" in body:
        out["allOf"] = body["allOf"]
    if defs:
        out["$defs"] = defs
    return out


# ============================================================================ commands
def _run_defs() -> dict:
    return {
        "metric_summary": metric_summary(),
        "probability": _probability(),
        "series": _series(),
        "errors": _errors(),
        "provenance": _provenance(),
        "timings": _timings(),
    }


def run_schema() -> dict:
    """``capex run --json`` (:meth:`model.engine.results.Results.to_json_dict`)."""
    statistic = obj({"values": NUMBERS, "sd_over_fits": NUM, "mcse": NUM, "unit": STR})
    body = obj(
        {
            "scenario": STR,
            "title": STR,
            "model": {**STR, "description": _MODEL_TEXT},
            "draws": INT,
            "seed": INT,
            "design": {"enum": list(DESIGNS)},
            "years": array(INT),
            "metrics": _named("metric", "metric_summary"),
            "probabilities": _named("probability", "probability"),
            "errors": ref("errors"),
            "series": _named("series", "series"),
            "provenance": ref("provenance"),
            "input_hash": STR,
            "version": STR,
            "revenue_capped_share": NUM,
            "revenue_capped_draws_share": NUM,
            "revenue_capped_by_year": NUMBERS,
            "precision": obj(
                {
                    "target": STR,
                    "tolerance": NUM,
                    "unit": STR,
                    "error": NUM,
                    "draws": INT,
                    "met": BOOL,
                    "max_draws": INT,
                    "stopped_by": {"enum": ["target met", "max draws"]},
                },
                description="--precision: the target and where it stopped",
            ),
            "posterior_check": obj(
                {
                    "fits": INT,
                    "sampler_seed_step": INT,
                    "statistics": {"type": "object", "additionalProperties": statistic},
                    "set_by_prior": {"type": "object", "additionalProperties": STRINGS},
                },
                description="calibrated inputs: key statistics over independent posterior fits",
            ),
            "timings_seconds": ref("timings"),
        },
        optional=(
            "revenue_capped_share",
            "revenue_capped_draws_share",
            "revenue_capped_by_year",
            "precision",
            "posterior_check",
            "timings_seconds",
        ),
    )
    body["allOf"] = _by_model(summary_metrics)
    return document(
        "run", "One Monte Carlo run: metric summaries, probabilities, series", body, _run_defs()
    )


def portfolio_schema() -> dict:
    """``capex portfolio --json`` (:meth:`model.engine.portfolio.PortfolioResults.to_json_dict`):
    a run's keys for the aggregate, and the members on the same draws."""
    run = run_schema()
    share = obj({"value": NUM, "mcse": NUM})
    shares = {"type": "object", "additionalProperties": share}
    member = obj(
        {
            "scenario": STR,
            "years": array(INT),
            "metrics": _named("metric", "metric_summary"),
            "probabilities": _named("probability", "probability"),
            "provenance": ref("provenance"),
        }
    )
    extra = {
        "members": {
            "type": "object",
            "description": "each member's own run on the same draws",
            "additionalProperties": member,
        },
        "shared": array(STR, "inputs drawn once per draw for every member"),
        "coverage_year": {**INT, "description": "the year of the revenue-coverage question"},
        "provenance_split": {
            "type": "object",
            "description": "share of Var(aggregate NPV) that goes when each provenance group "
            "is fixed at its medians (docs/model.md, Portfolios)",
            "properties": {
                g: obj({**share["properties"], "fixed": INT, "left_uncertain": STRINGS})
                for g in ("hypothetical", "sourced")
            },
            "required": ["hypothetical", "sourced"],
        },
        "variance": obj(
            {
                "by_member": shares,
                "by_shared_driver": shares,
                "rest": nullable(share),
            },
            description="shares of Var(aggregate NPV): by member (covariance), by shared "
            "driver (first order, RBD-FAST), and the rest",
        ),
    }
    props = {k: v for k, v in run["properties"].items() if k not in ("schema_version", "warnings")}
    required = [k for k in run["required"] if k in props] + list(extra)
    body = {"properties": {**props, **extra}, "required": required}
    return document(
        "portfolio",
        "A portfolio's members on the same draws and their aggregate (model portfolio)",
        body,
        _run_defs(),
    )


def _compare_metrics(model: str) -> tuple[str, ...]:
    if model == "programme":
        return (*PROGRAMME_METRICS, "npv_per_dollar_capex")
    return tuple(summary_metrics(model))


def _pair() -> dict:
    estimate = obj({"value": NUM, "mcse": NUM})
    return obj(
        {
            "metric": {**STR, "description": "the metric paired (the first run's key metric)"},
            "unit": STR,
            "a": {**STR, "description": "the first run (scenario label)"},
            "b": {**STR, "description": "the other run"},
            "pairs": {**INT, "description": "draws where both values are defined"},
            "mean_difference": {
                **estimate,
                "description": "mean of a - b draw by draw, with its paired MCSE",
            },
            "unpaired_mcse": {**NUM, "description": "the MCSE independent runs would give"},
            "prob_a_greater": {**estimate, "description": "P(a > b) over the pairs, with MCSE"},
            "median_difference": {**NUM, "description": "P50 of a minus P50 of b"},
            "errors": ref("errors"),
        },
        description="the difference of two runs on common random numbers",
    )


def compare_schema() -> dict:
    """``capex compare --json``."""
    metrics = _named(
        "metric",
        "metric_summary",
        {
            "npv_per_dollar_capex": {
                "description": "NPV per dollar of total spend [ratio]",
                **ref("metric_summary"),
                "properties": {"unit": {"const": "ratio"}},
            }
        },
    )
    row = obj(
        {
            "scenario": STR,
            "file": STR,
            "model": STR,
            "end": INT,
            "metrics": metrics,
            "probabilities": _named("probability", "probability"),
            "errors": ref("errors"),
            "provenance": ref("provenance"),
        }
    )
    row["allOf"] = _by_model(_compare_metrics)
    agreement = obj({"input": STR, "runs": array(STR), "rank_correlation": NUM})
    body = obj(
        {
            "draws": INT,
            "seed": INT,
            "design": {"enum": list(DESIGNS)},
            "common_random_numbers": {"const": True},
            "runs": array(row),
            "paired_differences": array(_pair(), "each run against the first, draw by draw"),
            "input_agreement": array(agreement, "rank agreement of shared inputs' draws"),
            "timings_seconds": ref("timings"),
        },
        optional=("timings_seconds",),
    )
    defs = {k: v for k, v in _run_defs().items() if k != "series"}
    return document("compare", "Several runs side by side on common random numbers", body, defs)


_SOBOL = "S1:n S1_conf:n S1_low:n S1_high:n ST:n ST_conf:n ST_low:n ST_high:n"
_TABLES = {
    "tornado": (
        "input:s parameter:s category:s provenance:s unit:s year:n value_p10:n value_p50:n "
        "value_p90:n output_p10:n output_p90:n effect_p10:n effect_p90:n swing:n",
        "one-at-a-time swings, inputs at their P10 and P90",
    ),
    "spider": ("input:s percentile:n value:n unit:s output:n", "output along each input"),
    "rank": (
        "input:s category:s provenance:s spearman:n spearman_low:n spearman_high:n prcc:n "
        "prcc_low:n prcc_high:n draws:i",
        "rank correlations with intervals",
    ),
    "sobol": (
        f"input:s parameter:s category:s provenance:s correlated:b {_SOBOL}",
        "Sobol' indices by input",
    ),
    "groups_category": (
        f"category:s n_inputs:i {_SOBOL} sum_S1_of_inputs:n inputs:s",
        "Sobol' indices by category",
    ),
    "groups_provenance": (
        f"provenance:s n_inputs:i {_SOBOL} sum_S1_of_inputs:n inputs:s",
        "Sobol' indices by provenance (sourced, hypothetical)",
    ),
    "breakeven": (
        "input:s parameter:s provenance:s unit:s year:n median_value:n range_low:n "
        "range_high:n n_roots:i breakeven:n percentile:n status:s positive_when:s",
        "the value of each input at which the output crosses zero",
    ),
    "stress": (
        "input:s subset:s draws:i mean:n p05:n p25:n p50:n p75:n p95:n prob_positive:n "
        "undefined_share:n",
        "the output among the draws where an input is in its tail",
    ),
}


def sensitivity_schema() -> dict:
    """``capex sensitivity --json`` (:meth:`SensitivityResult.to_json_dict`)."""
    index = {k: NUM for k in ("s1", "s1_low", "s1_high", "st", "st_low", "st_high")}
    share = obj(
        {**index, "n_hypothetical": INT, "n_sourced": INT, "conf_level": NUM, "method": STR}
        | {"sourced": obj(index)},
        description="Sobol' indices of the hypothetical group (sourced: of the sourced one)",
    )
    sums = obj({k: NUM for k in ("sum_S1", "sum_S1_conf", "sum_ST", "sum_ST_conf")})
    cells = "name:s parameter:s category:s provenance:s unit:s year:n"
    body = obj(
        {
            "scenario": STR,
            "title": STR,
            "model": STR,
            "output": STR,
            "unit": STR,
            "methods": STRINGS,
            "draws": INT,
            "seed": INT,
            "design": {"enum": list(DESIGNS)},
            "sobol_n": INT,
            "sobol_model_evaluations": INT,
            "conf_level": NUM,
            "base_value": NUM,
            "breakeven_output": STR,
            "headline": STR,
            "hypothetical_share": nullable(share),
            "sobol_method": STR_OR_NULL,
            "sobol_sums": nullable(sums),
            "correlated_inputs": STRINGS,
            "inputs": rows(cells, "the uncertain inputs analysed"),
            **{k: table(*v) for k, v in _TABLES.items()},
            "notes": STRINGS,
            "figures": array(STR, "--plots: the figures written"),
            "timings_seconds": ref("timings"),
        },
        optional=("timings_seconds",),
    )
    return document("sensitivity", "What drives the answer", body, {"timings": _timings()})


def _fit() -> dict:
    """One fit of ``capex calibrate --json`` (:meth:`Calibration.to_json_dict`)."""
    open_object = {"type": "object"}
    summary = obj(
        {
            **{k: NUM for k in ("mean", "median", "sd", "hdi_low", "hdi_high")},
            **{k: NUM for k in ("r_hat", "ess_bulk", "ess_tail", "prior_sd", "posterior_sd")},
            "unit": STR,
            "set_by_prior": BOOL,
        },
        description="one curve parameter's posterior",
    )
    diagnostics = obj(
        {"max_rhat": NUM, "min_ess_bulk": NUM, "min_ess_tail": NUM, "divergences": INT}
        | {"chains": INT, "draws": INT, "ok": BOOL, "messages": STRINGS}
    )
    target = obj(
        {"date": STR, "measure": STR, "value": NUM, "fact_id": STR_OR_NULL}
        | {"source_title": STR_OR_NULL, "prob_at_least": NUM, "median": NUM, "p05": NUM}
        | {"p95": NUM}
    )
    return obj(
        {
            "label": STR,
            "model": STR,
            "description": STR,
            "series": STR_OR_NULL,
            "observations": obj({"path": STR_OR_NULL, "fitted_rows": INT, "projection_rows": INT}),
            "unit": STR,
            "priors": {**open_object, "description": "the priors, with their provenance"},
            "settings": {**open_object, "description": "sampler settings"},
            "key": STR,
            "from_cache": {**BOOL, "description": "the posterior came from the cache"},
            "diagnostics": diagnostics,
            "loo": {**open_object, "description": "PSIS-LOO of the fit (elpd, se, p, ...)"},
            "summary": {"type": "object", "additionalProperties": summary},
            "targets": array(target, "the file's projections against the fit"),
            "custom_targets": array(
                obj({"year": INT, "value": NUM, "probability": NUM}), "--target YEAR:VALUE"
            ),
        }
    )


def calibrate_schema() -> dict:
    """``capex calibrate --json``."""
    loo_row = {
        "type": "object",
        "properties": {"rank": INT, "elpd": NUM, "se": NUM, "weight": NUM, "favoured": BOOL},
        "additionalProperties": {"type": ["number", "string", "boolean", "null"]},
    }
    body = obj(
        {
            "path": STR,
            "fits": array(_fit()),
            "capacity_bound": obj(
                {"capped_share_by_year": NUMBERS, "median_breaks_bound_in": array(INT)}
                | {"text": STR},
                description="company_share programme: where the calibrated revenue breaks the "
                "capacity bound",
            ),
            "loo": {
                "type": "object",
                "description": "several models of one CSV: the PSIS-LOO comparison by model",
                "additionalProperties": loo_row,
            },
            "loo_reliable": BOOL,
            "loo_unreliable_because": STR_OR_NULL,
            "favoured": STR_OR_NULL,
        },
        optional=("capacity_bound", "loo", "loo_reliable", "loo_unreliable_because", "favoured"),
    )
    return document("calibrate", "Posterior fits of revenue or price paths", body)


def validate_schema() -> dict:
    """``capex validate --json`` (a file with problems prints the error object instead)."""
    body = obj(
        {"ok": BOOL, "files": array(STR, "the files checked"), "problems": STRINGS},
    )
    return document("validate", "Assumption files checked", body)


def sources_schema() -> dict:
    """``capex sources --json``."""
    source = obj(
        {
            "key": STR,
            "title": STR,
            "publisher": STR,
            "published": STR,
            "address": STR_OR_NULL,
            "confidence": STR_OR_NULL,
            "note": STR_OR_NULL,
            "mirror_of": STR_OR_NULL,
            "address_problems": STRINGS,
            "cited_by": STRINGS,
        }
    )
    body = obj(
        {
            "scenario": STR,
            "sources": array(source, "every source cited"),
            "hypothetical": {
                "type": "object",
                "description": "parameter: the rationale of each hypothetical input",
                "additionalProperties": STR,
            },
        }
    )
    return document("sources", "The bibliography of an assumption file", body)


def error_schema() -> dict:
    """The object any command prints with ``--json`` when it fails (exit 2)."""
    problem = obj(
        {
            "file": STR_OR_NULL,
            "line": {"type": ["integer", "null"]},
            "parameter": STR_OR_NULL,
            "message": {**STR, "description": "what is wrong"},
            "fix": {**STR_OR_NULL, "description": "how to fix it"},
        }
    )
    body = obj({"error": STR, "problems": array(problem, "every problem found")})
    return document("error", "A failed command: every problem, located, with its fix", body)


# ============================================================================ capex fit
def fit_schema() -> dict:
    """``capex fit --json`` (:meth:`model.analysis.fitting.FitResult.to_json_dict`)."""

    def parameters(family: str | None = None) -> dict:
        every = sorted({k for v in FIT_PARAMETERS.values() for k in v})
        keys = FIT_PARAMETERS[family] if family else every
        return obj({k: NUM for k in keys}, optional=() if family else keys)

    by_family = [
        {
            "if": {"properties": {"family": {"const": f}}, "required": ["family"]},
            "then": {"properties": {"parameters": parameters(f)}},
        }
        for f in FIT_FAMILIES
    ]
    fitted = {
        "family": {"enum": list(FIT_FAMILIES)},
        "parameters": {
            **parameters(),
            "description": "the fitted parameters by their assumption-file keys, in the data's "
            "unit (sigma, shape, df, alpha, beta: pure numbers)",
        },
    }
    candidate = obj(
        fitted
        | {"free_parameters": INT, "log_likelihood": NUM, "aic": NUM, "bic": NUM}
        | {"delta_aic": NUM, "akaike_weight": NUM, "ks_statistic": NUM},
        description="one family's maximum-likelihood fit and its scores",
    )
    candidate["allOf"] = by_family
    best = obj(
        fitted | {"quantiles": obj({k: NUM for k in FIT_QUANTILES}), "yaml": STR},
        description="the lowest AIC: quantiles and the ready-to-paste parameter",
    )
    best["allOf"] = by_family
    source = obj(
        {"title": STR, "publisher": STR, "published": STR, "address": STR, "confidence": STR}
        | {"rows": INT}
    )
    body = obj(
        {
            "path": STR,
            "column": STR,
            "unit": STR,
            "rows": INT,
            "ranked_by": {"const": "aic"},
            "candidates": array(candidate, "every family fitted, lowest AIC first"),
            "skipped": array(obj({"family": STR, "reason": STR}), "families not fitted, and why"),
            "sources": array(source, "the distinct sources of the rows, in file order"),
            "best": best,
        }
    )
    return document("fit", "Distributions fitted to a data file, ranked by AIC", body)


def _estimate() -> dict:
    return obj({"value": NUM, "mcse": NUM})


def stress_schema() -> dict:
    """``capex stress --json`` (:meth:`model.analysis.stress.StressResult.to_json_dict`)."""
    dist = obj(
        {k: NUM for k in ("mean", "sd", "mcse", *QUANTILE_KEYS, "undefined_share")}
        | {"quantile_mcse": obj({k: NUM for k in QUANTILE_KEYS})}
    )
    prob = obj(
        {"name": STR, "label": STR, "base": _estimate(), "stressed": _estimate()}
        | {"difference": _estimate()}
    )
    band = obj({"input": STR, "low": NUM, "high": NUM, "text": STR})
    body = obj(
        {"scenario": STR, "model": STR, "output": STR, "unit": STR, "draws": INT, "seed": INT}
        | {"design": {"enum": list(DESIGNS)}, "common_random_numbers": BOOL}
        | {"bands": array(band, "the percentile bands [share 0..1], jointly")}
        | {"base": dist, "stressed": dist}
        | {"difference": obj({k: _estimate() for k in ("mean", "p05", "p50", "p95")})}
        | {"probability": prob, "notes": STRINGS}
    )
    return document("stress", "The output with inputs restricted to bands, beside the base", body)


def scenario_analysis_schema() -> dict:
    """``capex scenario-analysis --json`` (:class:`model.analysis.stress.ScenarioAnalysis`)."""
    row = obj(
        {k: STR for k in ("input", "parameter", "category", "provenance", "unit", "scale")}
        | {k: NUM for k in ("median_region", "median_all", "sd", "shift_sd", "z")}
        | {"mark": STR}
    )
    body = obj(
        {"scenario": STR, "model": STR, "output": STR, "region": STR, "region_text": STR}
        | {"draws": INT, "seed": INT, "design": {"enum": list(DESIGNS)}, "region_draws": INT}
        | {"region_share": NUM, "significance": STR, "notes": STRINGS}
        | {"inputs": array(row, "every design column, largest |shift_sd| first")}
    )
    return document("scenario-analysis", "Inputs that differ most in a region of the output", body)


def sweep_schema() -> dict:
    """``capex sweep --json`` (:meth:`model.analysis.sweep.SweepResult.to_json_dict`)."""
    grid = {"type": "array", "items": {"anyOf": [NUM, NUMBERS]}}
    body = obj(
        {"scenario": STR, "model": STR, "draws": INT, "seed": INT}
        | {"design": {"enum": list(DESIGNS)}, "common_random_numbers": BOOL}
        | {"currency": STR, "currency_year": {"type": ["integer", "null"]}}
        | {"statistic": obj({"text": STR, "label": STR, "unit": STR})}
        | {"vary": array(obj({"input": STR, "unit": STR, "values": NUMBERS}))}
        | {"values": grid, "mcse": grid, "notes": STRINGS, "figure": STR_OR_NULL}
    )
    return document("sweep", "A statistic over a grid of one or two inputs", body)


def goal_seek_schema() -> dict:
    """``capex goal-seek --json`` (:meth:`model.analysis.goalseek.GoalSeekResult.to_json_dict`)."""
    target = obj(
        {
            "text": STR,
            "statistic": STR,
            "metric": STR,
            "value": NUM,
            "unit": STR,
        },
        description="the target as written and parsed: P(npv>0), npv:p50 or npv:mean and the "
        "value it should take [unit: share for a probability, else the metric's]",
    )
    body = obj(
        {
            "scenario": STR,
            "vary": STR,
            "mode": {"enum": ["fixed", "shift"]},
            "form": {"enum": ["scalar", "series"]},
            "unit": {**STR, "description": "of value: the input's unit, or ratio (a factor)"},
            "value": NUM,
            "uncertainty": {
                **NUMBERS,
                "minItems": 2,
                "maxItems": 2,
                "description": "[low, high]: where the statistic is the target -/+ its MCSE "
                "(null: outside the range searched)",
            },
            "achieved": obj(
                {"value": NUM, "mcse": NUM},
                description="the statistic at the value, with its Monte Carlo standard error",
            ),
            "target": target,
            "evaluations": INT,
            "search_range": {**NUMBERS, "minItems": 2, "maxItems": 2},
            "path": {
                "type": ["object", "null"],
                "additionalProperties": NUM,
                "description": "a series: its median path at the value, year -> value",
            },
            "draws": INT,
            "seed": INT,
        }
    )
    return document("goal-seek", "The value of an input at which a statistic hits a target", body)


def voi_schema() -> dict:
    """``capex voi --json`` (:meth:`model.analysis.voi.VOIResult.to_json_dict`)."""
    est = obj(
        {"value": NUM, "se": NUM},
        description="[the output's unit] the estimate and its bootstrap standard error",
    )
    row = obj(
        {"input": STR, "category": STR, "provenance": {"enum": ["hypothetical", "sourced"]}}
        | {"value": NUM, "se": NUM},
        description="EVPPI of one input [the output's unit]",
    )
    group = obj(
        {"group": STR, "kind": {"enum": ["category", "provenance"]}, "inputs": STRINGS}
        | {"value": NUM, "se": NUM},
        description="EVPPI of a group of inputs (additive regression) [the output's unit]",
    )
    body = obj(
        {"scenario": STR, "output": STR, "unit": STR}
        | {"decision": {"enum": ["invest", "overlays"]}, "options": STRINGS}
        | {"expected": {"type": "object", "additionalProperties": NUM}, "best_option": STR}
        | {"draws": INT, "seed": INT, "design": {"enum": list(DESIGNS)}, "resamples": INT}
        | {"method": STR, "evpi": est}
        | {"evppi": array(row, "each uncertain input, largest EVPPI first")}
        | {"groups": array(group, "each category, then hypothetical and sourced")}
        | {"notes": STRINGS}
    )
    return document("voi", "Value of information: EVPI and EVPPI of a decision", body)


SCHEMAS = {
    "run": run_schema,
    "compare": compare_schema,
    "portfolio": portfolio_schema,
    "sensitivity": sensitivity_schema,
    "calibrate": calibrate_schema,
    "validate": validate_schema,
    "sources": sources_schema,
    "fit": fit_schema,
    "error": error_schema,
    "stress": stress_schema,
    "scenario-analysis": scenario_analysis_schema,
    "sweep": sweep_schema,
    "goal-seek": goal_seek_schema,
    "voi": voi_schema,
}


def render(name: str) -> str:
    """The text of ``docs/schema/<name>.schema.json``."""
    return json.dumps(SCHEMAS[name](), indent=2, ensure_ascii=False) + "\n"


def main(argv=None) -> int:
    """Write docs/schema/*.schema.json (``--check``: exit 1 when one drifted)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    check = "--check" in argv
    targets = {SCHEMA_DIR / f"{name}.schema.json": render(name) for name in SCHEMAS}
    return write_generated(targets, check, "python -m model.cli.schema")


if __name__ == "__main__":
    sys.exit(main())
