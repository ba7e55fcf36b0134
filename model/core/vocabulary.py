"""The vocabulary of capex, as data: every input and every output in one place.

**Inputs.** Each model kind (``programme``; the revenue-gap models ``industry``, ``capex_ratio``,
``required_return``) has a fixed vocabulary of parameters. For each: its unit dimension, kind,
bounds, plausible range, whether it is required (possibly only under a switch), the neutral
"off switch" default if any, its category (for grouped sensitivity) and a one-line meaning.
``assumptions/README.md`` is generated from it (``python -m model.cli.docs``), and a test fails
when the two drift.

**Outputs.** Every metric, series and probability a run reports (:data:`OUTPUTS`): name, unit,
label, description, and how it is printed (:mod:`model.core.formatting` formats every number by
its unit; a metric that can be "never" says how its never region is shown). The CLI, the JSON,
the README generator, the reports and the figures all read their labels here.

Only off-switch defaults live in code (overrun 1, delay 0, decline 0, refresh off, no terminal
value): every number that is an assumption must come from a file, with a source or an explicit
``hypothetical`` rationale.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

#: Kinds of parameter.
#: ``scalar``: one number (or distribution);
#: ``series``: one number, or a ``{year: value}`` series (each point optionally a distribution);
#: ``schedule``: a ``{year: share}`` series that must sum to 1 (missing years are zero);
#: ``bool``/``enum``: model switches (not numbers, so they need no provenance).
KINDS = ("scalar", "series", "schedule", "bool", "enum")

CATEGORIES = ("capex", "capacity", "revenue", "costs", "finance")


@dataclass(frozen=True)
class ParamSpec:
    """One entry of the vocabulary.

    Parameters
    ----------
    name : str
    dimensions : tuple of str
        Accepted unit dimensions; the first is the canonical one the model uses.
    kind : str
        One of :data:`KINDS`.
    meaning : str
        One line, shown in docs, reports and ``capex new``.
    category : str
        One of :data:`CATEGORIES`.
    low, high : float
        Bounds of valid values (canonical units).
    low_inclusive, high_inclusive : bool
    required : bool or str
        ``True``, ``False``, or a condition ``"switch=value"`` under which it is required.
    default : object
        Neutral off-switch value used when not given (``None``: no default).
    choices : tuple of str
        For ``enum``.
    """

    name: str
    dimensions: tuple[str, ...]
    kind: str
    meaning: str
    category: str
    low: float = -math.inf
    high: float = math.inf
    low_inclusive: bool = True
    high_inclusive: bool = True
    required: bool | str = True
    default: object = None
    choices: tuple[str, ...] = field(default=())
    only_if: str | None = None  # "switch=value": ignored (dropped, not counted) otherwise
    #: (low, high) of the values that are plausible for it [canonical unit]: a value inside the
    #: valid bounds but outside this range loads with a warning (it may be a unit slip)
    plausible: tuple[float, float] | None = None

    @property
    def unit(self) -> str:
        """Canonical unit."""
        return self.dimensions[0] if self.dimensions else ""

    @property
    def is_switch(self) -> bool:
        """Model switches (bool, enum) are choices, not numbers: no provenance needed."""
        return self.kind in ("bool", "enum")

    def bounds_text(self) -> str:
        """Human-readable valid range, e.g. ``[0, 1]`` or ``> 0``."""
        if self.is_switch:
            return ", ".join(self.choices) if self.choices else "true, false"
        lo, hi = self.low, self.high
        lb = "[" if self.low_inclusive else "("
        hb = "]" if self.high_inclusive else ")"
        if math.isinf(lo) and math.isinf(hi):
            return "any"
        if math.isinf(hi):
            return (">= " if self.low_inclusive else "> ") + _fmt(lo)
        if math.isinf(lo):
            return ("<= " if self.high_inclusive else "< ") + _fmt(hi)
        return f"{lb}{_fmt(lo)}, {_fmt(hi)}{hb}"

    def in_bounds(self, x: float) -> bool:
        """Whether ``x`` (canonical units) lies in the valid range."""
        lo_ok = x >= self.low if self.low_inclusive else x > self.low
        hi_ok = x <= self.high if self.high_inclusive else x < self.high
        return bool(lo_ok and hi_ok)

    def required_text(self) -> str:
        if self.required is True:
            return "yes"
        if self.required is False:
            return "no" if self.default is None else f"no (default {_fmt_default(self.default)})"
        return f"if {self.required}"


def _fmt(x: float) -> str:
    return f"{x:g}"


def _fmt_default(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


POSITIVE = dict(low=0.0, low_inclusive=False)
NONNEG = dict(low=0.0)
SHARE = dict(low=0.0, high=1.0)

_PROGRAMME = [
    ParamSpec(
        "capex_total",
        ("USD",),
        "scalar",
        "Announced capital expenditure of the programme, before overrun.",
        "capex",
        **POSITIVE,
    ),
    ParamSpec(
        "capex_schedule",
        ("share",),
        "schedule",
        "Share of capex_total spent in each year (sums to 1; years not listed are 0).",
        "capex",
        **SHARE,
    ),
    ParamSpec(
        "capex_overrun",
        ("ratio",),
        "scalar",
        "Actual over announced cost (1 = on budget); raises spend, not capacity.",
        "capex",
        **POSITIVE,
        required=False,
        default=1.0,
        plausible=(0.8, 3.0),
    ),
    ParamSpec(
        "build_delay",
        ("years",),
        "scalar",
        "Delay of the whole spending schedule; a fractional delay splits a year's share.",
        "capex",
        **NONNEG,
        required=False,
        default=0.0,
        plausible=(0.0, 5.0),
    ),
    ParamSpec(
        "lead_time",
        ("years",),
        "scalar",
        "Time from a year's spend until its capacity is online.",
        "capacity",
        **NONNEG,
        plausible=(0.25, 5.0),
    ),
    ParamSpec(
        "capex_per_mw",
        ("USD/MW",),
        "scalar",
        "All-in capital cost per MW of IT capacity (facility + compute).",
        "capacity",
        **POSITIVE,
        plausible=(5e6, 2e8),
    ),
    ParamSpec(
        "compute_share",
        ("share",),
        "scalar",
        "Share of capex that is IT (servers, accelerators, network); the rest is facility.",
        "capex",
        **SHARE,
        plausible=(0.2, 0.95),
    ),
    ParamSpec(
        "compute_life",
        ("years",),
        "scalar",
        "Useful life of the IT part: depreciation period and retirement age.",
        "capacity",
        **POSITIVE,
        plausible=(1.0, 10.0),
    ),
    ParamSpec(
        "facility_life",
        ("years",),
        "scalar",
        "Depreciation period of the facility part (buildings, power, cooling).",
        "capex",
        **POSITIVE,
        plausible=(5.0, 50.0),
    ),
    ParamSpec(
        "refresh_it",
        (),
        "bool",
        "Re-buy the IT part at retirement so the capacity keeps earning.",
        "capex",
        required=False,
        default=False,
    ),
    ParamSpec(
        "refresh_cost_ratio",
        ("ratio",),
        "scalar",
        "Cost of a refresh relative to the original IT spend.",
        "capex",
        **POSITIVE,
        required="refresh_it=true",
        only_if="refresh_it=true",
        plausible=(0.2, 3.0),
    ),
    ParamSpec(
        "revenue_model",
        (),
        "enum",
        "How revenue is computed: from capacity sold by the GPU-hour, or as a share of a "
        "company's revenue path.",
        "revenue",
        choices=("capacity", "company_share"),
    ),
    ParamSpec(
        "gpus_per_mw",
        ("GPU/MW",),
        "scalar",
        "Accelerators per MW of IT capacity (GPU packages, not chip dies).",
        "capacity",
        **POSITIVE,
        required=True,
        plausible=(100.0, 5000.0),
    ),
    ParamSpec(
        "utilisation",
        ("share",),
        "series",
        "Share of GPU-hours sold (or used productively) in a year.",
        "revenue",
        **SHARE,
        required="revenue_model=capacity",
        plausible=(0.2, 1.0),
    ),
    ParamSpec(
        "price_per_gpu_hour",
        ("USD/GPU-hour",),
        "series",
        "Price of a GPU-hour when a cohort comes online (by launch year).",
        "revenue",
        **POSITIVE,
        required="revenue_model=capacity",
        only_if="revenue_model=capacity",
        plausible=(0.2, 20.0),
    ),
    ParamSpec(
        "price_decline",
        ("1/year", "share"),
        "scalar",
        "Yearly decline of a cohort's GPU-hour price as it ages.",
        "revenue",
        low=0.0,
        high=1.0,
        high_inclusive=False,
        required=False,
        default=0.0,
        plausible=(0.0, 0.6),
    ),
    ParamSpec(
        "revenue_path",
        ("USD/year",),
        "series",
        "Company revenue by year (company_share model).",
        "revenue",
        **NONNEG,
        required="revenue_model=company_share",
        only_if="revenue_model=company_share",
    ),
    ParamSpec(
        "max_revenue_per_gpu_hour",
        ("USD/GPU-hour",),
        "scalar",
        "The most revenue one available GPU-hour of the programme can earn (company_share "
        "model): attributable revenue is capped at capacity online x gpus_per_mw x 8,760 h x "
        "this.",
        "revenue",
        **POSITIVE,
        required="revenue_model=company_share",
        only_if="revenue_model=company_share",
        plausible=(0.5, 200.0),
    ),
    ParamSpec(
        "attributable_share",
        ("share",),
        "series",
        "Share of the company's revenue attributable to this programme.",
        "revenue",
        **SHARE,
        required="revenue_model=company_share",
        only_if="revenue_model=company_share",
    ),
    ParamSpec(
        "pue",
        ("ratio",),
        "scalar",
        "Power usage effectiveness: facility power over IT power.",
        "costs",
        low=1.0,
        plausible=(1.0, 2.5),
    ),
    ParamSpec(
        "power_load_factor",
        ("share",),
        "scalar",
        "Average IT power draw over nameplate IT capacity.",
        "costs",
        **SHARE,
        plausible=(0.3, 1.0),
    ),
    ParamSpec(
        "power_price",
        ("USD/MWh",),
        "series",
        "Price of electricity paid by the sites.",
        "costs",
        **NONNEG,
        plausible=(10.0, 300.0),
    ),
    ParamSpec(
        "fixed_opex_share",
        ("1/year", "share"),
        "scalar",
        "Fixed operating cost per year as a share of the capex of the capacity in service.",
        "costs",
        **SHARE,
        plausible=(0.0, 0.15),
    ),
    ParamSpec(
        "cost_of_revenue_share",
        ("share",),
        "scalar",
        "Variable cost (sales, support, software, revenue share) per unit of revenue.",
        "costs",
        **SHARE,
        plausible=(0.0, 0.8),
    ),
    ParamSpec(
        "tax_rate",
        ("share",),
        "scalar",
        "Tax on taxable profit, after losses carried forward.",
        "finance",
        **SHARE,
        plausible=(0.0, 0.5),
    ),
    ParamSpec(
        "discount_rate",
        ("1/year", "share"),
        "scalar",
        "Discount rate for NPV (nominal, per year).",
        "finance",
        low=-0.99,
        high=1.0,
        plausible=(0.0, 0.3),
    ),
    ParamSpec(
        "terminal_value",
        (),
        "enum",
        "Value credited in the last year: none, or the undepreciated book value.",
        "finance",
        required=False,
        default="none",
        choices=("none", "book_value"),
    ),
]

_INDUSTRY = [
    ParamSpec(
        "accelerator_revenue",
        ("USD/year",),
        "series",
        "Annual accelerator (GPU) vendor data-centre revenue: the capex run-rate proxy.",
        "capex",
        **NONNEG,
    ),
    ParamSpec(
        "dc_cost_multiplier",
        ("ratio",),
        "series",
        "Total data-centre cost per dollar of accelerators (energy, buildings, etc.).",
        "capex",
        low=1.0,
        plausible=(1.0, 5.0),
    ),
    ParamSpec(
        "end_user_gross_margin",
        ("share",),
        "series",
        "Gross margin the end users of AI must earn on the revenue that pays for it.",
        "revenue",
        low=0.0,
        high=1.0,
        high_inclusive=False,
        plausible=(0.1, 0.9),
    ),
    ParamSpec(
        "ai_revenue",
        ("USD/year",),
        "series",
        "Actual AI revenue earned by end users in a year.",
        "revenue",
        **NONNEG,
    ),
    ParamSpec(
        "discount_rate",
        ("1/year", "share"),
        "scalar",
        "Discount rate for the present value of the cumulative gap (optional).",
        "finance",
        low=-0.99,
        high=1.0,
        required=False,
        plausible=(0.0, 0.3),
    ),
]

# The inputs every revenue-gap model shares (the AI revenue earned and the optional discount
# rate of the industry model, the same specs).
_GAP_COMMON = [p for p in _INDUSTRY if p.name in ("ai_revenue", "discount_rate")]

#: Bain & Company (2025): the revenue that funds the data-centre capex demand requires.
_CAPEX_RATIO = [
    ParamSpec(
        "data_centre_capex",
        ("USD/year",),
        "series",
        "Yearly data-centre capex that the demand for compute requires.",
        "capex",
        **NONNEG,
    ),
    ParamSpec(
        "capex_to_revenue",
        ("share",),
        "series",
        "Sustainable ratio of data-centre capex to the revenue that funds it.",
        "revenue",
        low=0.0,
        high=1.0,
        low_inclusive=False,
        plausible=(0.05, 0.6),
    ),
    *_GAP_COMMON,
]

#: J.P. Morgan (2025): the revenue that earns a required return, in perpetuity, on the buildout.
_REQUIRED_RETURN = [
    ParamSpec(
        "cumulative_ai_investment",
        ("USD",),
        "series",
        "AI infrastructure investment made from the method's start to the year's end.",
        "capex",
        **NONNEG,
    ),
    ParamSpec(
        "target_return",
        ("1/year", "share"),
        "series",
        "Yearly return the investors require on the capital invested.",
        "finance",
        low=0.0,
        high=1.0,
        plausible=(0.02, 0.3),
    ),
    ParamSpec(
        "return_margin",
        ("share",),
        "series",
        "Share of AI revenue that is a return on the capital (after the costs of running it).",
        "revenue",
        low=0.0,
        high=1.0,
        low_inclusive=False,
        plausible=(0.1, 1.0),
    ),
    *_GAP_COMMON,
]

VOCABULARY: dict[str, dict[str, ParamSpec]] = {
    "programme": {p.name: p for p in _PROGRAMME},
    "industry": {p.name: p for p in _INDUSTRY},
    "capex_ratio": {p.name: p for p in _CAPEX_RATIO},
    "required_return": {p.name: p for p in _REQUIRED_RETURN},
}

#: The built-in models of the industry's revenue question (revenue required against AI revenue,
#: the same outputs): Sequoia's ``industry``, Bain's ``capex_ratio``, J.P. Morgan's
#: ``required_return``; they run, print and report alike.
GAP_MODELS = ("industry", "capex_ratio", "required_return")

MODEL_KINDS = tuple(VOCABULARY)

#: Top-level keys of an assumption file.
TOP_LEVEL_KEYS = (
    "schema",
    "name",
    "title",
    "description",
    "model",
    "currency",
    "currency_year",
    "years",
    "timing",
    "extends",
    "partial",
    "sources",
    "inflation",
    "parameters",
    "correlations",
    "scenarios",
    "python",
    "outputs",
)

SCHEMA_VERSIONS = (1,)


#: Calibration models (:mod:`model.calibration.curves`) by name, with the unit of the series they
#: fit: the loader checks names against this list without importing the calibration layer.
CALIBRATION_MODELS: dict[str, str] = {
    "exponential": "USD/year",
    "logistic": "USD/year",
    "gompertz": "USD/year",
    "decaying_growth": "USD/year",
    "exp_decline": "USD/GPU-hour",
}


def models_for(unit: str) -> list[str]:
    """Names of the calibration models that fit a series in ``unit``."""
    return [m for m, d in CALIBRATION_MODELS.items() if d == unit]


def _holds(condition: str, switches: dict[str, object]) -> bool:
    key, _, want = condition.partition("=")
    have = switches.get(key)
    if isinstance(have, bool):
        have = "true" if have else "false"
    return str(have) == want


def required_if(spec: ParamSpec, switches: dict[str, object]) -> bool:
    """Whether ``spec`` is required given the values of the model's switches."""
    if spec.required is True:
        return True
    if spec.required is False:
        return False
    return _holds(str(spec.required), switches)


def is_used(spec: ParamSpec, switches: dict[str, object]) -> bool:
    """Whether the model uses ``spec`` under these switches (e.g. no refresh cost without
    refresh); unused parameters are ignored and not counted in the provenance totals."""
    return spec.only_if is None or _holds(spec.only_if, switches)


# ============================================================================ outputs
@dataclass(frozen=True)
class OutputSpec:
    """One output of a model run: a per-draw metric, a yearly series or a probability.

    Parameters
    ----------
    name : str
        Key in ``capex run --json`` and in ``results.nc``.
    kind : str
        ``metric`` (one number per draw), ``series`` (one number per draw and year) or
        ``probability`` (a share of draws).
    unit : str
        Canonical unit; :func:`model.core.formatting.format_value` prints it.
    label : str
        What it is, in words (table rows, figure axes): "Net present value (NPV)".
    short : str
        Short name for table headers and compact text: "NPV".
    description : str
        One sentence: how it is computed (the equations are in docs/model.md).
    models : tuple of str
        Model kinds that produce it.
    never : str or None
        For a metric that can be "never" (payback, gap closing): how a draw that never gets
        there is shown, with ``{end}`` for the horizon's last year; such draws count as beyond
        the horizon in quantiles (a quantile there is ``null`` in JSON).
    summarised : bool
        A metric ``capex run`` summarises (a row of its table and of ``metrics`` in JSON);
        ``False`` for per-draw facts kept for other summaries (``irr_roots`` feeds
        ``irr.multiple_share``).
    """

    name: str
    kind: str
    unit: str
    label: str
    short: str
    description: str
    models: tuple[str, ...] = ("programme",)
    never: str | None = None
    summarised: bool = True

    def text(self, end: int | None = None) -> str:
        """The label with ``{end}`` filled in (probabilities such as "P(payback by 2040)")."""
        return self.label.format(end=end if end is not None else "the end")


_P = ("programme",)
#: Outputs a portfolio's aggregate has too (the per-draw sum of its programmes).
_PP = ("programme", "portfolio")
_I = GAP_MODELS

OUTPUT_LIST = [
    # ---- programme metrics
    OutputSpec(
        "npv",
        "metric",
        "USD",
        "Net present value (NPV)",
        "NPV",
        "Free cash flow discounted at the discount rate to 1 January of the first year.",
        _PP,
    ),
    OutputSpec(
        "irr",
        "metric",
        "1/year",
        "Internal rate of return (IRR)",
        "IRR",
        "The rate at which the NPV is zero; undefined without a sign change.",
        _PP,
    ),
    OutputSpec(
        "payback_years",
        "metric",
        "years",
        "Payback (years from the valuation date)",
        "payback",
        "Time until cumulative undiscounted free cash flow first returns to "
        ">= 0 after going negative.",
        _PP,
        never="after {end}",
    ),
    OutputSpec(
        "peak_funding",
        "metric",
        "USD",
        "Peak funding need",
        "peak funding",
        "The deepest point of cumulative undiscounted free cash flow.",
        _PP,
    ),
    OutputSpec(
        "levelized_cost_per_gpu_hour",
        "metric",
        "USD/GPU-hour",
        "Break-even GPU-hour price (levelized cost)",
        "break-even price",
        "The launch price of a GPU-hour at which the pre-tax NPV is zero (costs net of the "
        "terminal value, per GPU-hour net of the cost of revenue).",
        _P,
    ),
    OutputSpec(
        "total_spend",
        "metric",
        "USD",
        "Total spend (capex and refresh)",
        "spend",
        "Capex actually paid over the horizon, overrun and IT refresh included.",
        _PP,
        summarised=False,
    ),
    OutputSpec(
        "irr_roots",
        "metric",
        "count",
        "Number of IRRs",
        "IRRs",
        "How many rates in [-99 %, 100,000 %] make the NPV zero; more than one: multiple IRRs.",
        _PP,
        summarised=False,
    ),
    OutputSpec(
        "revenue_capped_years",
        "metric",
        "count",
        "Years whose revenue the capacity bound capped",
        "capped years",
        "company_share model: years where the company revenue attributed to the programme "
        "exceeded what its available GPU-hours can earn (max_revenue_per_gpu_hour), so the "
        "bound was used instead.",
        _P,
        summarised=False,
    ),
    OutputSpec(
        "payback_via_terminal",
        "metric",
        "flag",
        "Pays back only through the terminal value",
        "payback via terminal value",
        "1 where cumulative free cash flow returns to zero only in the last year, through the "
        "terminal (book) value.",
        _P,
        summarised=False,
    ),
    # ---- industry metrics
    OutputSpec(
        "revenue_gap_final",
        "metric",
        "USD/year",
        "Revenue gap in the last year",
        "final-year revenue gap",
        "Revenue required minus AI revenue in the horizon's last year.",
        _I,
    ),
    OutputSpec(
        "cumulative_revenue_gap_total",
        "metric",
        "USD",
        "Cumulative revenue gap",
        "cumulative gap",
        "Sum of the yearly revenue gaps over the horizon.",
        _I,
    ),
    OutputSpec(
        "gap_close_year",
        "metric",
        "years",
        "Years until the gap first closes",
        "gap closing",
        "Years after the first year until AI revenue first covers the revenue required.",
        _I,
        never="after {end}",
    ),
    OutputSpec(
        "pv_revenue_gap",
        "metric",
        "USD",
        "Present value of the revenue gaps",
        "PV of the gap",
        "The yearly gaps discounted at the discount rate.",
        _I,
    ),
    # ---- programme series
    OutputSpec("spend", "series", "USD", "Capex spend", "capex", "Capex paid in the year.", _PP),
    OutputSpec(
        "revenue_capped",
        "series",
        "flag",
        "Revenue capped by capacity",
        "capped",
        "company_share model: 1 in the years where the attributed company revenue exceeded "
        "what the programme's available GPU-hours can earn, so the bound was used.",
        _P,
    ),
    OutputSpec(
        "refresh_spend",
        "series",
        "USD",
        "IT refresh spend",
        "refresh",
        "Re-purchases of IT at the end of its life.",
        _PP,
    ),
    OutputSpec(
        "revenue", "series", "USD", "Revenue", "revenue", "Revenue earned in the year.", _PP
    ),
    OutputSpec(
        "fcf",
        "series",
        "USD",
        "Free cash flow",
        "FCF",
        "EBITDA minus tax minus spend, terminal value in the last year.",
        _PP,
    ),
    OutputSpec(
        "cumulative_fcf",
        "series",
        "USD",
        "Cumulative free cash flow",
        "cumulative FCF",
        "Free cash flow summed up to the end of the year.",
        _PP,
    ),
    OutputSpec(
        "capacity_mw",
        "series",
        "MW",
        "IT capacity online",
        "capacity",
        "Megawatts of IT capacity active in the year.",
        _P,
    ),
    OutputSpec("energy_cost", "series", "USD", "Energy cost", "energy", "Electricity bought.", _P),
    OutputSpec(
        "fixed_opex",
        "series",
        "USD",
        "Fixed operating cost",
        "fixed opex",
        "Operating cost proportional to the capex in service.",
        _P,
    ),
    OutputSpec(
        "variable_cost",
        "series",
        "USD",
        "Variable cost",
        "variable cost",
        "Cost proportional to revenue.",
        _P,
    ),
    OutputSpec(
        "ebitda",
        "series",
        "USD",
        "EBITDA",
        "EBITDA",
        "Revenue minus energy, fixed and variable costs.",
        _P,
    ),
    OutputSpec(
        "tax", "series", "USD", "Tax", "tax", "Tax on profit after losses carried forward.", _P
    ),
    OutputSpec(
        "depreciation",
        "series",
        "USD",
        "Depreciation",
        "depreciation",
        "Straight-line depreciation of IT and facility.",
        _P,
    ),
    OutputSpec(
        "gpu_hours",
        "series",
        "GPU-hour",
        "GPU-hours available",
        "GPU-hours",
        "Accelerators online times the hours of the year.",
        _P,
    ),
    # ---- industry series
    OutputSpec(
        "revenue_required",
        "series",
        "USD/year",
        "Revenue required",
        "required",
        "Revenue the industry must earn for its AI capex, by the model's method (industry: "
        "accelerator revenue x cost multiplier / (1 - end-user margin); capex_ratio: capex / "
        "capex-to-revenue ratio; required_return: investment x target return / return margin).",
        (*_I, "portfolio"),
    ),
    OutputSpec(
        "ai_revenue",
        "series",
        "USD/year",
        "AI revenue",
        "AI revenue",
        "What end users of AI earn.",
        _I,
    ),
    OutputSpec(
        "revenue_gap",
        "series",
        "USD/year",
        "Revenue gap",
        "gap",
        "Revenue required minus AI revenue.",
        _I,
    ),
    OutputSpec(
        "cumulative_revenue_gap",
        "series",
        "USD",
        "Cumulative revenue gap",
        "cumulative gap",
        "Revenue gaps summed up to the end of the year.",
        _I,
    ),
    # ---- probabilities
    OutputSpec(
        "revenue_coverage",
        "metric",
        "ratio",
        "Revenue coverage (cumulative revenue / revenue required)",
        "coverage",
        "Portfolio: cumulative revenue of the members to the coverage year over the cumulative "
        "revenue their spending requires by Sequoia's multiplier (spend / (1 - end-user margin)).",
        ("portfolio",),
    ),
    OutputSpec(
        "npv_positive",
        "probability",
        "share",
        "P(NPV > 0)",
        "P(NPV > 0)",
        "Share of draws whose NPV is positive: the programme creates value at its discount rate.",
        _PP,
    ),
    OutputSpec(
        "payback_within_horizon",
        "probability",
        "share",
        "P(payback by {end})",
        "P(payback)",
        "Share of draws whose cumulative free cash flow turns positive within the horizon.",
        _PP,
    ),
    OutputSpec(
        "revenue_covered",
        "probability",
        "share",
        "P(revenue covers what the spending requires)",
        "P(covered)",
        "Portfolio: share of draws whose cumulative revenue to the coverage year reaches the "
        "revenue their spending requires (revenue coverage >= 1).",
        ("portfolio",),
    ),
    OutputSpec(
        "gap_closed_by_end",
        "probability",
        "share",
        "P(gap closed in {end})",
        "P(gap closed)",
        "Share of draws in which AI revenue covers the revenue required "
        "in the horizon's last year.",
        _I,
    ),
]

#: The built-in models' outputs by name.
BUILT_IN_OUTPUTS: dict[str, OutputSpec] = {o.name: o for o in OUTPUT_LIST}
#: Outputs of the user models loaded in this process, by model key (``Scenario.model``).
_USER_OUTPUTS: dict[str, tuple[OutputSpec, ...]] = {}


class _Outputs(Mapping):
    """Every output by name: the built-in models' and those of the user models loaded so far
    (registered by the loader, :func:`register_model_outputs`)."""

    def __getitem__(self, name: str) -> OutputSpec:
        if name in BUILT_IN_OUTPUTS:
            return BUILT_IN_OUTPUTS[name]
        for specs in reversed(list(_USER_OUTPUTS.values())):
            for o in specs:
                if o.name == name:
                    return o
        raise KeyError(name)

    def __iter__(self):
        names = dict.fromkeys(BUILT_IN_OUTPUTS)
        for specs in _USER_OUTPUTS.values():
            names.update(dict.fromkeys(o.name for o in specs))
        return iter(names)

    def __len__(self) -> int:
        return sum(1 for _ in self)


#: Every output by name (built-in and user models').
OUTPUTS: Mapping[str, OutputSpec] = _Outputs()


def register_model_outputs(model: str, outputs) -> None:
    """Record the outputs a user model declares, under its key (the scenario's ``model``)."""
    _USER_OUTPUTS[model] = tuple(outputs)


def is_built_in(model: str) -> bool:
    """Whether ``model`` is one of the shipped models (``programme`` and the gap models)."""
    return model in VOCABULARY


def is_gap_model(model: object) -> bool:
    """Whether ``model`` is a built-in revenue-gap model (:data:`GAP_MODELS`): one judged by its
    final-year revenue gap and P(gap closed), printed and reported like ``industry``."""
    return model in GAP_MODELS


#: The model of a portfolio's aggregate (:mod:`model.engine.portfolio`): a programme's cash
#: outputs, summed over the members, and the revenue coverage.
PORTFOLIO_MODEL = "portfolio"


def is_user_model(model: str) -> bool:
    """Whether ``model`` is a user model (neither shipped nor a portfolio's aggregate)."""
    return model not in VOCABULARY and model != PORTFOLIO_MODEL


def outputs_of(model: str, kind: str) -> list[OutputSpec]:
    """The outputs of ``kind`` (metric, series, probability) that ``model`` produces, in order."""
    if model in _USER_OUTPUTS:
        return [o for o in _USER_OUTPUTS[model] if o.kind == kind]
    return [o for o in OUTPUT_LIST if o.kind == kind and model in o.models]


def summary_metrics(model: str) -> list[str]:
    """Names of the metrics ``capex run`` summarises for ``model``."""
    return [o.name for o in outputs_of(model, "metric") if o.summarised]


def key_metric(model: str) -> str:
    """The metric a model is judged by (the default of ``--output`` and ``--precision``):
    NPV for a programme, the final-year revenue gap for the industry, a user model's first
    declared metric."""
    if is_gap_model(model):
        return "revenue_gap_final"
    if model in _USER_OUTPUTS:
        return summary_metrics(model)[0]
    return "npv"
