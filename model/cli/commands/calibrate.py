"""``capex calibrate PATH``: fit revenue / price trajectories to cited observations (PyMC).

PATH is an observation file (``assumptions/observations/*.csv``: every model suited to its unit
is fitted and compared by LOO, or only ``--model``) or an assumption file (each of its
``calibrated:`` series is fitted with the model it names). Prints the posterior summary
(ArviZ), the convergence diagnostics, and the probability that the calibrated trajectory
reaches each projection in the file (or ``--target YEAR:VALUE``). Posteriors are cached
(NetCDF, keyed by the observations, priors, model and sampler settings), so ``capex run``
does not sample again.
"""

from __future__ import annotations

import json
from pathlib import Path

from ...core.errors import AssumptionError, Problem
from ...core.scenario import sampler_settings
from ...core.units import parse_amount
from ...core.vocabulary import models_for
from ...reporting.text import calibration_text
from ..jsonout import print_json


def _parse_targets(items: list[str] | None) -> list[tuple[int, float]]:
    out, problems = [], []
    for item in items or []:
        year, _, value = item.partition(":")
        try:
            out.append((int(year), parse_amount(value)))
        except ValueError:
            problems.append(
                Problem(
                    f"--target {item!r} is not YEAR:VALUE; write e.g. 2028:70B",
                    parameter="--target",
                )
            )
    if problems:
        raise AssumptionError(problems)
    return out


def _jobs_for_csv(path: Path, model: str | None) -> list[tuple[str, Path, str, dict]]:
    """(label, observations, model, sampler settings) for an observation file."""
    from ...loading.observations import load_observations  # deferred: imports pandas

    unit = str(load_observations(path)["unit"].iloc[0])
    if model and model not in models_for(unit):
        raise AssumptionError(
            Problem(
                f"model {model!r} does not fit {unit} observations; use one of "
                f"{', '.join(models_for(unit))}",
                str(path),
                None,
                "--model",
            )
        )
    return [(m, path, m, {}) for m in ([model] if model else models_for(unit))]


def cmd_calibrate(args) -> int:
    from ...calibration import fitting as C  # deferred: PyMC and ArviZ are heavy

    path = Path(args.path)
    if not path.is_file():
        raise AssumptionError(
            Problem("no such file; give an observation CSV or an assumption file", str(path))
        )
    targets = _parse_targets(args.target)
    if path.suffix.lower() == ".csv":
        jobs = _jobs_for_csv(path, args.model)
    else:
        jobs = _jobs_for_overlay(path, args.scenario, args.model)
    kw = dict(
        draws=args.draws, tune=args.tune, chains=args.chains, seed=args.seed, strict=args.strict
    )
    progress = not args.quiet and not args.json
    results = [
        (label, C.fit(obs, model, progress=progress, **{**kw, **settings}))
        for label, obs, model, settings in jobs
    ]
    comparison = None
    if path.suffix.lower() == ".csv" and len(results) > 1:
        comparison = C.compare(path, [m for m, *_ in jobs], **kw)
    payload = []
    for label, fit in results:
        d = fit.to_json_dict()
        d["label"] = label
        d["custom_targets"] = [
            {"year": y, "value": v, "probability": float(fit.prob_at_least(y, v))}
            for y, v in targets
        ]
        payload.append(d)
    if args.json:
        out = {"path": str(path), "fits": payload}
        if comparison is not None:
            out["loo"] = json.loads(comparison.to_json(orient="index"))
            out["loo_reliable"] = bool(comparison.attrs.get("reliable", False))
            out["favoured"] = comparison.attrs.get("favoured")
        print_json(out, default=str)
    else:
        for (label, fit), d in zip(results, payload):
            print(calibration_text(label, fit, d))
        if comparison is not None:
            print("\nModel comparison (PSIS-LOO, higher elpd is better):")
            print(comparison.to_string())
            if not comparison.attrs.get("reliable", True):
                print(
                    "note: Pareto k > 0.7 for some points: LOO is unreliable with so few "
                    "observations; the data do not clearly favour one model."
                )
    return 0


def _jobs_for_overlay(path: Path, overlay: str | None, model: str | None):
    from ...loading.scenario import load_scenario  # deferred: not needed for a CSV

    sc = load_scenario(path, scenario=overlay)
    jobs = []
    for p in sc.parameters.values():
        if p.form == "calibrated":
            c = p.calibrated
            settings = sampler_settings(c)
            jobs.append((p.name, Path(c["observations"]), model or c["model"], settings))
    if not jobs:
        cal_overlays = [
            o
            for o in sc.overlays
            if any(
                q.form == "calibrated" for q in load_scenario(path, scenario=o).parameters.values()
            )
        ]
        hint = (
            (f"; its overlay(s) {', '.join(cal_overlays)} do: add --scenario {cal_overlays[0]}")
            if cal_overlays
            else ""
        )
        raise AssumptionError(
            Problem(
                f"has no 'calibrated:' series{hint}; or give an observation file "
                "(assumptions/observations/*.csv)",
                str(path),
                None,
                "calibrated",
            )
        )
    return jobs
