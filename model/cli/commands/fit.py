"""``capex fit DATA.csv``: fit distributions to cited data and print the best as a parameter.

DATA.csv is a data file (one number per row, each with its unit and source:
:func:`model.loading.observations.load_data`). Every family whose support holds the values is
fitted by maximum likelihood (:mod:`model.analysis.fitting`) and ranked by AIC, with BIC and the
Kolmogorov-Smirnov distance shown; the best one is printed as a ready-to-paste assumption-file
parameter citing the file's sources (docs/fit.md).
"""

from __future__ import annotations

from ...analysis.fitting import IN_UNIT, fit_data
from ...core.formatting import format_value
from ...reporting.text import table
from ..jsonout import print_json


def cmd_fit(args) -> int:
    families = [f for f in (args.families or "").split(",") if f.strip()] or None
    result = fit_data(args.path, column=args.column, families=families, name=args.name)
    if args.json:
        print_json(result.to_json_dict())
    else:
        print(fit_text(result))
    return 0


def parameters_text(parameters: dict, unit: str) -> str:
    """``median $2.10, sigma 0.25``: the parameters in the data's unit where they have it."""
    return ", ".join(
        f"{k} {format_value(v, unit) if k in IN_UNIT else f'{v:.4g}'}"
        for k, v in parameters.items()
    )


def fit_text(result) -> str:
    """The ranking of the candidates, the best one's quantiles and its YAML."""
    d = result.to_json_dict()
    unit = result.unit
    lines = [
        f"Fit of {result.path} (column {result.column}): {result.rows} values in {unit}",
        "maximum likelihood; ranked by AIC (lower is better), BIC and the Kolmogorov-Smirnov "
        "distance shown",
        "",
    ]
    rows = [
        [
            c["family"],
            parameters_text(c["parameters"], unit),
            f"{c['aic']:.2f}",
            f"{c['delta_aic']:.2f}",
            f"{c['akaike_weight']:.3f}",
            f"{c['bic']:.2f}",
            f"{c['ks_statistic']:.3f}",
        ]
        for c in d["candidates"]
    ]
    headers = ["family", "parameters", "AIC", "dAIC", "weight", "BIC", "KS"]
    lines += table(headers, rows, "llrrrrr")
    lines += [f"not fitted: {s['family']}: {s['reason']}" for s in d["skipped"]]
    q = d["best"]["quantiles"]
    lines += [
        "",
        f"best: {d['best']['family']}: P05 {format_value(q['p05'], unit)}, "
        f"P50 {format_value(q['p50'], unit)}, P95 {format_value(q['p95'], unit)}",
        "terms: dAIC = AIC - lowest AIC; weight = Akaike weight; KS = sup |F_n - F|",
        "",
        d["best"]["yaml"].rstrip("\n"),
    ]
    return "\n".join(lines)
