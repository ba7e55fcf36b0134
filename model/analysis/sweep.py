"""Sweeps: a statistic of the output over a grid of one or two inputs, on common random numbers.

``capex sweep FILE --vary price_per_gpu_hour=2:6:9 [--vary utilisation=0.5:0.9:5]``: at each grid
point the varied inputs are fixed (:func:`model.core.whatif.with_values`, reason "sweep") and
the scenario is simulated with the same draws, seed and design; every other input keeps its
uniforms (they are keyed by input name, :mod:`model.engine.designs`), so the curve is smooth and
its steps are the inputs' effect, not noise (the Sobol' design numbers its columns by position,
so it pairs less well: a note says so). Values are in the input's canonical unit
(``docs/concepts.md``: shares as decimals, money in USD, ``60B`` allowed).

Statistics (``--stat``): a probability of the run (``npv_positive``, ``gap_closed_by_end``,
``payback_within_horizon``), a target ``P(irr>0.12)`` / ``irr>0.12``, or ``METRIC:mean`` /
``METRIC:p05`` .. ``METRIC:p95`` (``npv:p50``: the median NPV); each with its MCSE.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ..core.errors import AssumptionError, Problem, did_you_mean
from ..core.formatting import format_value
from ..core.scenario import Scenario
from ..core.targets import QUANTILE_STATS, ProbabilityTarget
from ..core.units import parse_amount
from ..core.vocabulary import OUTPUTS, is_built_in, is_gap_model, key_metric
from ..engine.simulate import simulate

_VARY = re.compile(r"^\s*([A-Za-z_]\w*)\s*=\s*([^:]+):([^:]+):([^:]+)\s*$")
_METRIC_STAT = re.compile(r"^\s*([a-z_]\w*)\s*:\s*(mean|p\d\d)\s*$")
PROBABILITIES = ("npv_positive", "payback_within_horizon", "gap_closed_by_end")
MAX_POINTS = 400


@dataclass(frozen=True)
class Vary:
    """One swept input: its name, canonical unit and grid values [unit]."""

    name: str
    unit: str
    values: tuple[float, ...]
    text: str


@dataclass(frozen=True)
class Statistic:
    """What a sweep reports at each point: ``kind`` probability | target | mean | pNN."""

    text: str
    kind: str
    metric: str | None
    label: str
    unit: str
    target: ProbabilityTarget | None = None

    def of(self, res) -> tuple[float, float]:
        """Its value and MCSE in a run's Results [unit]."""
        if self.kind == "probability":
            p = res.probability(self.text)
            return p["value"], p["mcse"]
        if self.kind == "target":
            p = res.probability_of(self.target)
            return p["value"], p["mcse"]
        s = res.metric_summary(self.metric)
        if self.kind == "mean":
            return s["mean"], s["mcse"]
        return s[self.kind], s["quantile_mcse"][self.kind]


def _bad(message: str, parameter: str) -> AssumptionError:
    return AssumptionError(Problem(message, parameter=parameter))


def parse_vary(text: str, scenario: Scenario) -> Vary:
    """A swept input from ``NAME=LO:HI:N`` (N evenly spaced values from LO to HI, N >= 2).

    Raises
    ------
    AssumptionError
        Located at ``--vary``, with a did-you-mean for a misspelt input.
    """
    how = "write NAME=LO:HI:N, e.g. price_per_gpu_hour=2:6:9 (N >= 2 points)"
    m = _VARY.match(str(text))
    if not m:
        raise _bad(f"--vary {text!r} is not a range; {how}", "--vary")
    name = m[1]
    names = [k for k, p in scenario.parameters.items() if p.form != "switch"]
    if name not in names:
        close = did_you_mean(name, names)
        hint = f"did you mean {close!r}?" if close else "name one of the scenario's inputs"
        raise _bad(f"--vary {text!r}: {name!r} is not an input; {hint}", "--vary")
    try:
        lo, hi, n = parse_amount(m[2].strip()), parse_amount(m[3].strip()), parse_amount(m[4])
    except ValueError as exc:
        raise _bad(f"--vary {text!r}: {exc}; {how}", "--vary") from None
    if n != int(n) or not 2 <= n <= MAX_POINTS or lo == hi:
        raise _bad(f"--vary {text!r}: LO must differ from HI and N be 2..{MAX_POINTS}", "--vary")
    unit = scenario.parameters[name].spec.unit
    return Vary(name, unit, tuple(float(v) for v in np.linspace(lo, hi, int(n))), str(text))


def parse_stat(text: str | None, model: str) -> Statistic:
    """The statistic of ``--stat`` (default: the model's key probability)."""
    if text is None:
        text = "gap_closed_by_end" if is_gap_model(model) else "npv_positive"
        if not is_built_in(model):
            text = f"{key_metric(model)}:p50"
    raw = str(text).strip()
    if raw in PROBABILITIES:
        return Statistic(raw, "probability", None, OUTPUTS[raw].short, "share")
    m = _METRIC_STAT.match(raw)
    if m:
        metric, kind = m[1], m[2]
        if kind != "mean" and kind not in QUANTILE_STATS:
            raise _bad(f"--stat {raw!r}: use mean or one of {', '.join(QUANTILE_STATS)}", "--stat")
        if metric not in OUTPUTS:
            close = did_you_mean(metric, list(OUTPUTS))
            raise _bad(
                f"--stat {raw!r}: {metric!r} is not a metric (did you mean {close!r}?)", "--stat"
            )
        spec = OUTPUTS[metric]
        word = "median" if kind == "p50" else kind
        return Statistic(raw, kind, metric, f"{word} {spec.short}", spec.unit)
    try:
        target = ProbabilityTarget.parse(raw)
    except ValueError as exc:
        how = f"; or {', '.join(PROBABILITIES)}, or METRIC:mean / METRIC:p50"
        raise _bad(str(exc).replace("--prob", "--stat") + how, "--stat") from None
    return Statistic(raw, "target", target.metric, target.label, "share", target)


@dataclass
class SweepResult:
    """A statistic over a grid: ``values[i]`` (one input) or ``values[i][j]`` (two: i along the
    first input, j along the second) [the statistic's unit], ``mcse`` likewise."""

    scenario: str
    title: str
    model: str
    currency: str
    currency_year: int | None
    draws: int
    seed: int
    design: str
    varies: list[Vary]
    statistic: Statistic
    values: np.ndarray
    mcse: np.ndarray
    notes: list[str] = field(default_factory=list)

    def to_json_dict(self) -> dict:
        """The ``capex sweep --json`` object (docs/schema/sweep.schema.json)."""

        def clean(a):
            return (
                [clean(x) for x in a]
                if isinstance(a, list)
                else (None if not np.isfinite(a) else float(a))
            )

        return {
            "scenario": self.scenario,
            "model": self.model,
            "draws": self.draws,
            "seed": self.seed,
            "design": self.design,
            "common_random_numbers": True,
            "currency": self.currency,
            "currency_year": self.currency_year,
            "statistic": {"text": self.statistic.text, "label": self.statistic.label}
            | {"unit": self.statistic.unit},
            "vary": [
                {"input": v.name, "unit": v.unit, "values": list(v.values)} for v in self.varies
            ],
            "values": clean(self.values.tolist()),
            "mcse": clean(self.mcse.tolist()),
            "notes": list(self.notes),
        }


def sweep(
    scenario: Scenario,
    varies: list[str] | list[Vary],
    stat: str | None = None,
    draws: int = 4_000,
    seed: int = 0,
    design: str = "mc",
    workers: int | None = None,
    scheduler=None,
) -> SweepResult:
    """A statistic over a grid of one or two inputs, with common random numbers across points.

    Parameters
    ----------
    scenario : Scenario
    varies : list of str or Vary
        One or two ``NAME=LO:HI:N`` ranges [the input's canonical unit].
    stat : str, optional
        See :func:`parse_stat` (default the key probability: P(NPV > 0), P(gap closed)).
    draws, seed, design
        Settings of every point's run (the same at each point).
    workers : int, optional
        CPUs per run (never changes a number).
    scheduler : str or distributed.Client, optional
        Where each point's draws run (:mod:`model.engine.schedulers`; never changes a number).

    Returns
    -------
    SweepResult
    """
    vs = [v if isinstance(v, Vary) else parse_vary(v, scenario) for v in varies]
    if not 1 <= len(vs) <= 2 or len({v.name for v in vs}) != len(vs):
        raise _bad("give one or two different --vary NAME=LO:HI:N", "--vary")
    statistic = parse_stat(stat, scenario.model)
    shape = tuple(len(v.values) for v in vs)
    values, errors = np.full(shape, np.nan), np.full(shape, np.nan)
    for idx in np.ndindex(*shape):
        changes = {v.name: v.values[i] for v, i in zip(vs, idx)}
        sc = scenario.with_values(reason="sweep", **changes)
        res = simulate(
            sc, draws=draws, seed=seed, design=design, workers=workers, scheduler=scheduler
        )
        values[idx], errors[idx] = statistic.of(res)
    notes = ["every point: the same draws, seed and design; the varied inputs fixed"]
    if design == "sobol":
        notes.append("Sobol' columns are numbered by position: fixing an input re-pairs the rest")
    return SweepResult(
        scenario.label, scenario.title, scenario.model, scenario.currency,
        scenario.currency_year, int(draws), int(seed), design, vs, statistic, values, errors, notes,
    )  # fmt: skip


def axis_label(v: Vary) -> str:
    """An input's axis title with its unit: ``price_per_gpu_hour [USD/GPU-hour]``."""
    return f"{v.name} [{v.unit}]" if v.unit else v.name


def sweep_figure(res: SweepResult):
    """The sweep's figure (a matplotlib figure): a line with a ±2 MCSE band (one input) or an
    annotated heat map (two inputs); title with the scenario, draws and currency. ``capex sweep
    --plot FILE.png`` writes it as a file capex owns
    (:func:`model.reporting.outputs.write_owned_file`)."""
    import matplotlib  # deferred: matplotlib is heavy and only --plot needs it

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt  # deferred: as above

    st = res.statistic
    money = f"{res.currency}" + (f" of {res.currency_year}" if res.currency_year else " (nominal)")
    fig, ax = plt.subplots(figsize=(8, 5.2), dpi=120)
    if len(res.varies) == 1:
        _line(ax, res)
    else:
        _heat(fig, ax, res)
    ax.set_title(
        f"{res.title}\n{st.label} over the grid: {res.draws:,} draws per point, seed {res.seed}, "
        f"common random numbers\nmoney in {money}",
        fontsize=9.5,
    )
    fig.tight_layout()
    return fig


def _ticks(v: Vary, k: int = 7) -> tuple[list[int], list[str]]:
    idx = sorted(set(np.linspace(0, len(v.values) - 1, min(k, len(v.values))).round().astype(int)))
    return idx, [format_value(v.values[i], v.unit) for i in idx]


def _line(ax, res: SweepResult) -> None:
    v, st = res.varies[0], res.statistic
    x = np.arange(len(v.values))
    y, e = res.values, res.mcse
    ax.fill_between(x, y - 2 * e, y + 2 * e, alpha=0.25, color="C0", label="± 2 MCSE")
    ax.plot(x, y, "o-", color="C0", label=st.label)
    idx, labels = _ticks(v)
    ax.set_xticks(idx, labels)
    ax.set_xlabel(axis_label(v))
    ax.set_ylabel(f"{st.label} [{st.unit}]")
    ax.yaxis.set_major_formatter(lambda t, _: format_value(t, st.unit))
    if st.unit == "share":
        ax.set_ylim(bottom=max(0.0, ax.get_ylim()[0]))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)


def _heat(fig, ax, res: SweepResult) -> None:
    a, b = res.varies
    st = res.statistic
    img = ax.imshow(res.values.T, origin="lower", aspect="auto", cmap="RdYlGn")
    if res.values.size <= 120:
        for i, j in np.ndindex(*res.values.shape):
            ax.text(i, j, format_value(res.values[i, j], st.unit), ha="center", va="center",
                    fontsize=7)  # fmt: skip
    xi, xl = _ticks(a)
    yi, yl = _ticks(b)
    ax.set_xticks(xi, xl)
    ax.set_yticks(yi, yl)
    ax.set_xlabel(axis_label(a))
    ax.set_ylabel(axis_label(b))
    bar = fig.colorbar(img, ax=ax, format=lambda t, _: format_value(t, st.unit))
    bar.set_label(f"{st.label} [{st.unit}]")
