"""The validated scenario: its parameters, correlations and sources (what the loader returns
and the engine consumes).

A :class:`Parameter` is one input in canonical units, in one of the :class:`InputForm` forms; a
:class:`Scenario` holds every parameter of a model run with its provenance, the horizon, the
declared rank correlations and the overlays the file offers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import numpy as np

from .distributions import Distribution
from .processes import Process, Shock
from .provenance import Provenance, Source
from .usermodel import UserModel
from .vocabulary import ParamSpec
from .whatif import scenario_html, with_values


class InputForm(StrEnum):
    """How a parameter is given (a ``str`` enum: ``InputForm.SCALAR == "scalar"``)."""

    #: a model switch (``revenue_model: capacity``): a choice, not a number
    SWITCH = "switch"
    #: one number or one distribution
    SCALAR = "scalar"
    #: ``{year: value}``, each point a number or a distribution, interpolated between years
    SERIES = "series"
    #: the posterior predictive of a calibration to cited observations
    CALIBRATED = "calibrated"
    #: a stochastic process through the years (``process: ar1 | gbm``)
    PROCESS = "process"


#: Sampler settings a ``calibrated:`` block may give (passed on to the fit).
SAMPLER_KEYS = ("draws", "tune", "chains", "target_accept")


def sampler_settings(calibrated: dict) -> dict:
    """The fit settings of a ``calibrated:`` block (those it gives), as keyword arguments of
    :func:`model.calibration.fit`: the sampler's, and ``projection_sigma`` for the
    ``use_projections: {sigma: s}`` variant."""
    out = {k: calibrated[k] for k in SAMPLER_KEYS if k in calibrated}
    if isinstance(calibrated.get("use_projections"), dict):
        out["projection_sigma"] = float(calibrated["use_projections"]["sigma"])
    return out


@dataclass(frozen=True)
class Parameter:
    """A validated parameter, in canonical units.

    Attributes
    ----------
    name : str
    spec : ParamSpec
    form : InputForm
        ``scalar`` (one distribution), ``series`` (``points`` by year), ``switch`` (``value``)
        or ``calibrated`` (posterior predictive of a PyMC calibration).
    dist : Distribution or None
        For ``scalar``.
    points : tuple of (int, Distribution)
        For ``series``: given years and their distributions.
    years_move : str
        ``together`` or ``independent``.
    interpolation : str
        ``linear``, ``step`` or ``none`` (capex_schedule).
    value : object
        For switches.
    calibrated : dict or None
        ``{"observations": Path, "model": str, ...}``.
    provenance : Provenance or None
    unit : str
        As written in the file.
    file : str, line : int
    default : bool
        True when the off-switch default was used (not in any file).
    """

    name: str
    spec: ParamSpec
    form: InputForm
    dist: Distribution | None = None
    points: tuple = ()
    years_move: str = "together"
    interpolation: str = "linear"
    value: object = None
    calibrated: dict | None = None
    provenance: Provenance | None = None
    unit: str = ""
    file: str | None = None
    line: int | None = None
    default: bool = False
    #: ``process`` form: the AR(1) or GBM process
    process: Process | None = None
    #: a shock striking the series at most once per draw (series and process forms)
    shock: Shock | None = None

    @property
    def is_uncertain(self) -> bool:
        if self.shock is not None or self.form in ("calibrated", "process"):
            return True
        if self.form == "scalar":
            return not self.dist.is_fixed
        if self.form == "series":
            return any(not d.is_fixed for _, d in self.points)
        return False

    @property
    def category(self) -> str:
        return self.spec.category

    def describe(self, fmt=lambda x: f"{x:.4g}") -> str:
        """The parameter's value or distribution in words."""
        if self.form == "switch":
            return str(self.value).lower() if isinstance(self.value, bool) else str(self.value)
        if self.form == "scalar":
            return self.dist.describe(fmt)
        if self.form == "calibrated":
            c = self.calibrated
            return f"calibrated: {c['model']} fit to {Path(c['observations']).name}"
        shock = f"; {self.shock.describe()}" if self.shock is not None else ""
        if self.form == "process":
            return self.process.describe(fmt) + shock
        parts = [
            f"{y}: {d.describe(fmt) if not d.is_fixed else fmt(d.mean())}" for y, d in self.points
        ]
        return "series " + "; ".join(parts) + shock


@dataclass(frozen=True)
class Correlation:
    """A Spearman rank correlation between two uncertain inputs."""

    a: str
    b: str
    rho: float
    file: str | None = None
    line: int | None = None


@dataclass
class Scenario:
    """A validated scenario: what ``load_scenario`` returns and ``simulate`` consumes."""

    name: str
    title: str
    model: str
    currency: str
    start: int
    end: int
    parameters: dict[str, Parameter]
    sources: dict[str, Source]
    correlations: list[Correlation]
    overlays: dict[str, str]
    path: Path
    files: list[Path]
    description: str = ""
    currency_year: int | None = None
    timing: str = "end"
    overlay: str | None = None
    input_hash: str = ""
    extra_hash_files: list[Path] = field(default_factory=list)
    partial: bool = False
    unused: list[str] = field(default_factory=list)
    #: located warnings (values outside their plausible range), ``file:line: name: ...``
    warnings: list[str] = field(default_factory=list)
    #: the user model (``model: python`` or an installed one); None for a built-in model
    user_model: UserModel | None = None

    @property
    def years(self) -> np.ndarray:
        """The calendar years of the horizon, ``start`` to ``end`` (T,)."""
        return np.arange(self.start, self.end + 1)

    @property
    def n_years(self) -> int:
        """Number of years of the horizon, T."""
        return self.end - self.start + 1

    @property
    def label(self) -> str:
        """``name`` or ``name[overlay]``."""
        return f"{self.name}[{self.overlay}]" if self.overlay else self.name

    def with_values(self, reason: str | None = None, **changes) -> Scenario:
        """A what-if copy with some inputs replaced, each a number [canonical unit] or a
        :class:`~model.core.distributions.Distribution`; ``reason`` is their hypothetical
        rationale (required for numbers, like every number in capex).

        Examples
        --------
        >>> stressed = sc.with_values(capex_overrun=1.3, reason="stress: a 30 % overrun")
        >>> stressed.input_hash != sc.input_hash
        True
        """
        return with_values(self, reason, **changes)

    def _repr_html_(self) -> str:
        """The notebook view: inputs with their values, units and provenance."""
        return scenario_html(self)

    def uncertain(self) -> list[Parameter]:
        """The parameters with a distribution (not a single number)."""
        return [p for p in self.parameters.values() if p.is_uncertain]

    def numeric(self) -> list[Parameter]:
        """Parameters that are numbers (need provenance), defaults excluded."""
        return [p for p in self.parameters.values() if p.form != "switch" and not p.default]

    def provenance_counts(self) -> dict[str, int]:
        """How many numeric parameters there are, and how many are sourced and hypothetical."""
        nums = self.numeric()
        hyp = sum(1 for p in nums if p.provenance is not None and p.provenance.is_hypothetical)
        return {"parameters": len(nums), "sourced": len(nums) - hyp, "hypothetical": hyp}

    def cited_sources(self) -> dict[str, tuple[Source, list[str]]]:
        """Each source actually cited, with the parameters citing it (in file order)."""
        out: dict[str, tuple[Source, list[str]]] = {}
        for p in self.parameters.values():
            if p.provenance is None:
                continue
            for s in p.provenance.sources:
                out.setdefault(s.key, (s, []))[1].append(p.name)
        return out


def correlation_matrix(names: list[str], correlations: list[Correlation]) -> np.ndarray:
    """Symmetric matrix with ones on the diagonal from a list of pairwise correlations."""
    idx = {n: i for i, n in enumerate(names)}
    mat = np.eye(len(names))
    for c in correlations:
        i, j = idx[c.a], idx[c.b]
        mat[i, j] = mat[j, i] = c.rho
    return mat


def nearest_correlation(a: np.ndarray, iterations: int = 200) -> np.ndarray:
    """Nearest correlation matrix (Higham 2002, alternating projections).

    References
    ----------
    .. [1] Higham, N. J. (2002). Computing the nearest correlation matrix — a problem from
       finance. *IMA Journal of Numerical Analysis*, 22(3), 329–343.
    """
    y = a.copy()
    ds = np.zeros_like(a)
    for _ in range(iterations):
        r = y - ds
        w, v = np.linalg.eigh((r + r.T) / 2)
        x = (v * np.maximum(w, 0)) @ v.T
        ds = x - r
        y = x.copy()
        np.fill_diagonal(y, 1.0)
        if np.linalg.eigvalsh(y).min() > -1e-12:
            break
    return y
