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
import warnings
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
    jobs = _with_variants(jobs, args.use_projections)
    results = [
        (label, C.fit(obs, model, progress=progress, **{**kw, **settings}))
        for label, obs, model, settings in jobs
    ]
    comparison = None
    data_only = [m for _, _, m, settings in jobs if "projection_sigma" not in settings]
    if path.suffix.lower() == ".csv" and len(data_only) > 1:
        comparison = C.compare(path, data_only, **kw)
    payload = [_fit_payload(label, fit, targets) for label, fit in results]
    bound = None if path.suffix.lower() == ".csv" else capacity_bound_check(path, args.scenario)
    if args.json:
        print_json(_calibrate_json(path, payload, bound, comparison), default=str)
    else:
        for (label, fit), d in zip(results, payload):
            print(calibration_text(label, fit, d))
        if comparison is not None:
            print(_comparison_text(comparison))
        if bound is not None:
            print("\n" + bound["text"])
    return 0


def _fit_payload(label: str, fit, targets) -> dict:
    """One fit's ``--json`` entry, with the probabilities of the ``--target`` values."""
    d = fit.to_json_dict()
    d["label"] = label
    d["custom_targets"] = [
        {"year": y, "value": v, "probability": float(fit.prob_at_least(y, v))} for y, v in targets
    ]
    return d


def _calibrate_json(path: Path, payload: list, bound: dict | None, comparison) -> dict:
    """What ``capex calibrate --json`` prints."""
    out = {"path": str(path), "fits": payload}
    if bound is not None:
        out["capacity_bound"] = bound
    if comparison is not None:
        out["loo"] = json.loads(comparison.to_json(orient="index"))
        out["loo_reliable"] = bool(comparison.attrs.get("reliable", False))
        out["loo_unreliable_because"] = comparison.attrs.get("unreliable_because") or None
        out["favoured"] = comparison.attrs.get("favoured")
    return out


def _comparison_text(comparison) -> str:
    """The LOO ranking, or why it is no preference."""
    reliable = comparison.attrs.get("reliable", False)
    head = (
        "\nModel comparison (PSIS-LOO, higher elpd is better):"
        if reliable
        else "\nModel comparison (PSIS-LOO): UNRELIABLE, not a preference"
    )
    lines = [head, comparison.to_string()]
    if not reliable:
        lines.append(
            f"note: {comparison.attrs['unreliable_because']}: LOO cannot rank these "
            "models; the data do not favour one, choose by what the curve assumes."
        )
    return "\n".join(lines)


def capacity_bound_check(path: Path, overlay: str | None) -> dict | None:
    """For a company_share programme: in which years the calibrated revenue path, times the
    attributable share, exceeds what the programme's capacity can earn in more than half the
    draws, i.e. where the posterior predictive median breaks the physical bound."""
    from ...engine.simulate import simulate  # deferred: only for assumption files
    from ...loading.scenario import load_scenario  # deferred: not needed for a CSV

    sc = load_scenario(path, scenario=overlay)
    sw = sc.parameters.get("revenue_model")
    if sw is None or sw.value != "company_share":
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = simulate(sc, draws=2_000, seed=0, series_draws=2_000, posterior_fit=0)
    by_year = res.revenue_cap()["revenue_capped_by_year"]
    broken = [int(y) for y, share in zip(sc.years, by_year) if share > 0.5]
    if broken:
        text = (
            f"! physical bound: the calibrated revenue x attributable share exceeds what the "
            f"capacity can earn (max_revenue_per_gpu_hour) in more than half the draws in "
            f"{_years_text(broken)}: there the posterior predictive median breaks the bound, "
            "and the run earns the bound instead"
        )
    else:
        text = (
            "physical bound: the posterior predictive median of the calibrated revenue x "
            "attributable share stays within what the capacity can earn in every year"
        )
    return {"capped_share_by_year": by_year, "median_breaks_bound_in": broken, "text": text}


def _years_text(years: list[int]) -> str:
    """``2027-2031, 2035``: runs of consecutive years."""
    runs, start = [], years[0]
    for a, b in zip(years, years[1:] + [None]):
        if b != a + 1:
            runs.append(f"{start}" if start == a else f"{start}-{a}")
            start = b
    return ", ".join(runs)


def _with_variants(jobs: list, sigma: float | None) -> list:
    """Every fit next to its other variant: data only and data + projections, when either
    ``--use-projections`` or the file's ``use_projections`` asks for the second."""
    out = []
    for label, obs, model, settings in jobs:
        s = settings.get("projection_sigma", sigma)
        data_only = {k: v for k, v in settings.items() if k != "projection_sigma"}
        out.append((label, obs, model, data_only))
        if s is not None:
            variant = {**data_only, "projection_sigma": float(s)}
            out.append((f"{label} [data + projections, sigma {float(s):g}]", obs, model, variant))
    return out


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
