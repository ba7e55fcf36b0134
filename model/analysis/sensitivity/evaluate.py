"""Evaluation: model outputs for rows of a uniform design matrix, and what each design column
means (the input it stands for, its category, its provenance, its values).

Like SALib's ``evaluate`` step: a design (:mod:`.design`) is a matrix of uniforms; the
:class:`Evaluator` turns its rows into model inputs and runs the vectorized engine in chunks (no
loop over rows); :mod:`.analyze` then reads the outputs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ...core.scenario import Scenario
from ...engine.designs import InputVariable
from ...engine.inputs import inputs_from_uniforms, interpolation_weights
from ...engine.schedulers import map_tasks
from ...engine.simulate import calibrated_paths, run_model

#: Model rows per engine call (bounds memory; never changes results).
CHUNK = 16_384
#: Rows per task when a scheduler evaluates a matrix (a few seconds of model time).
TASK_ROWS = 4 * CHUNK


@dataclass(frozen=True)
class InputInfo:
    """One column of the design, with what the tables need to describe it."""

    name: str
    parameter: str
    category: str
    provenance: str  # "hypothetical" | "sourced"
    unit: str
    year: int | None  # year whose value represents a series input (None for scalars)
    form: str

    @property
    def label(self) -> str:
        return self.name if self.year is None or "[" in self.name else f"{self.name} ({self.year})"


def input_info(scenario: Scenario, v: InputVariable) -> InputInfo:
    p = scenario.parameters[v.parameter]
    prov = (
        "hypothetical" if (p.provenance is not None and p.provenance.is_hypothetical) else "sourced"
    )
    year = v.year
    if p.form == "series" and year is None:
        # the year whose value stands for the path: the horizon's last year for the industry
        # gap, the first uncertain year (e.g. the first cohort's launch price) for programmes
        year = (
            scenario.end
            if scenario.model != "programme"
            else next(y for y, d in p.points if not d.is_fixed)
        )
    return InputInfo(v.name, v.parameter, p.category, prov, p.spec.unit, year, p.form)


def input_values(scenario: Scenario, info: InputInfo, u) -> np.ndarray:
    """The value [canonical unit] an input takes at uniforms ``u`` (series: in ``info.year``;
    calibrated paths: NaN, described by their percentile)."""
    u = np.asarray(u, dtype=float)
    p = scenario.parameters[info.parameter]
    if p.form == "scalar":
        return p.dist.ppf(u)
    if p.form == "series":
        if "[" in info.name:  # one point of a series whose years move independently
            return dict(p.points)[info.year].ppf(u)
        # a path moving together: every uncertain point at u, interpolated to info.year
        years = [y for y, _ in p.points]
        w = interpolation_weights(years, np.array([info.year]), p.interpolation)[:, 0]
        vals = np.stack([d.ppf(u) for _, d in p.points], axis=-1)
        return vals @ w
    part = info.name.removeprefix(f"{p.name}.")
    if p.form == "process" and part in p.process.params:  # a process parameter (start, drift)
        return p.process.params[part].ppf(u)
    if p.shock is not None and part in ("shock.probability", "shock.size"):
        return getattr(p.shock, part.split(".")[1]).ppf(u)
    return np.full(u.shape, np.nan)


class _Rows:
    """The model outputs of rows of uniforms (picklable: one task of a scheduler)."""

    def __init__(self, scenario: Scenario, names, outputs, calibrated):
        self.scenario, self.names, self.outputs = scenario, names, outputs
        self.calibrated = calibrated

    def __call__(self, u: np.ndarray) -> dict[str, np.ndarray]:
        n = u.shape[0]
        out = {o: np.empty(n) for o in self.outputs}
        with np.errstate(all="ignore"):
            for start in range(0, n, CHUNK):
                stop = min(start + CHUNK, n)
                inputs = inputs_from_uniforms(
                    self.scenario, u[start:stop], self.names, self.calibrated
                )
                res = run_model(self.scenario, inputs, stop - start, with_irr="irr" in self.outputs)
                for o in self.outputs:
                    out[o][start:stop] = np.broadcast_to(np.asarray(res[o], float), (stop - start,))
        return out


class Evaluator:
    """Evaluate model outputs for rows of a uniform matrix, in chunks (no per-row loop).

    With a ``scheduler`` (``local``, ``dask`` or an address, :mod:`model.engine.schedulers`),
    matrices of more than :data:`TASK_ROWS` rows are split into tasks of that many rows, run
    at once; every row's outputs depend on that row alone, so the numbers are the same.
    """

    def __init__(
        self, scenario: Scenario, names: list[str], outputs: list[str], seed: int, scheduler=None
    ):
        self.scenario = scenario
        self.names = names
        self.outputs = list(dict.fromkeys(outputs))
        self.calibrated = (
            calibrated_paths(scenario, seed)
            if any(p.form == "calibrated" for p in scenario.parameters.values())
            else {}
        )
        # a scheduler asked for here or by CAPEX_SCHEDULER; none: this process, as before
        self.scheduler = scheduler or os.environ.get("CAPEX_SCHEDULER", "").strip() or None
        self.rows = 0

    def __call__(self, u: np.ndarray) -> dict[str, np.ndarray]:
        u = np.clip(np.asarray(u, dtype=float), 1e-12, 1.0 - 1e-12)
        n = u.shape[0]
        rows = _Rows(self.scenario, self.names, self.outputs, self.calibrated)
        self.rows += n
        if self.scheduler is None or n <= TASK_ROWS:
            return rows(u)
        pieces = [u[s : s + TASK_ROWS] for s in range(0, n, TASK_ROWS)]
        parts = map_tasks(rows, pieces, self.scheduler)
        return {o: np.concatenate([p[o] for p in parts]) for o in self.outputs}
