"""Run a portfolio: every member on the same draws, then their per-draw sum.

Each member runs through :func:`~model.engine.simulate.simulate` with its own
:class:`~model.engine.designs.Streams`: a shared input is keyed by its name (the same uniforms
in every member), a member's own input by ``member:input`` (independent of every other
member's), and the correlations the portfolio declares between members' own inputs mix the
members' columns in one Gaussian copula. The aggregate of draw ``i`` is the sum of the members'
draw ``i`` (docs/model.md, "Portfolios"):

* yearly ``spend``, ``refresh_spend``, ``revenue`` and ``fcf`` summed on the calendar years
  (a member contributes 0 outside its own years), ``cumulative_fcf`` their running sum;
* ``npv`` = sum of each member's NPV brought to the portfolio's valuation date (1 January of
  its first year) at that member's own discount rate: NPV_m (1 + r_m)^-(s_m - s_0) — the NPV of
  the summed flows when the rate is shared;
* ``irr``, ``payback_years``, ``peak_funding`` of the summed free cash flow;
* Sequoia's multiplier on the members' spending: ``revenue_required[t]`` = (spend[t] +
  refresh_spend[t]) / (1 - end_user_gross_margin[t]), and ``revenue_coverage`` = cumulative
  revenue to the coverage year / cumulative revenue required to it (``revenue_covered``:
  coverage >= 1).

Where the variance of the aggregate NPV comes from: by member, each member's covariance with
the aggregate over its variance (the shares add up to 1, an Euler allocation); by shared
driver, the first-order index Var(E[NPV | driver]) / Var(NPV) estimated from the run's own
draws (RBD-FAST/EASI, SALib's ``rbd_fast``, valid for any sample [1]_ [2]_).

References
----------
.. [1] Plischke, E. (2010). An effective algorithm for computing global sensitivity indices
   (EASI). *Reliability Engineering & System Safety*, 95(4), 354-360.
.. [2] Tarantola, S., Gatelli, D. & Mara, T. (2006). Random balance designs for the estimation
   of first order global sensitivity indices. *Reliability Engineering & System Safety*,
   91(6), 717-727.
.. [3] Cahn, D. (2024-06-20). AI's $600B Question. Sequoia Capital.
   https://sequoiacap.com/article/ais-600b-question
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from ..core.errors import AssumptionError, Problem
from ..core.portfolio import PORTFOLIO_MEMBER, Portfolio
from ..core.scenario import Scenario
from ..core.statistics import ErrorModel
from . import financials
from .designs import Design, Streams, input_variables, member_correlations
from .inputs import inputs_from_uniforms
from .results import Results, run_attrs
from .simulate import simulate
from .summaries import probability

#: Member series summed per draw and calendar year.
SUMMED = ("spend", "refresh_spend", "revenue", "fcf")
#: Member series a portfolio keeps for every draw (what it sums, and each member's cash view).
KEPT = (*SUMMED, "cumulative_fcf")
#: Batches the variance shares' errors are estimated from (plain Monte Carlo).
BATCHES = 20


# ============================================================================ streams
def stream_plan(portfolio: Portfolio) -> tuple[dict[str, Streams], Streams]:
    """Every member's :class:`Streams`, and those of the portfolio's own inputs.

    Raises
    ------
    AssumptionError
        When two members correlate the same shared inputs differently.
    """
    shared = frozenset(portfolio.shared)
    own = _own_scenario(portfolio)
    plain = {m.name: Streams(m.name, shared) for m in portfolio.members}
    correlations = _joint_correlations(portfolio, plain)
    universe = {v.name for v in input_variables(own)}
    for m in portfolio.members:
        universe |= {plain[m.name].key(v) for v in input_variables(m.scenario)}
    universe = tuple(sorted(universe))
    members = {
        n: replace(s, correlations=correlations, universe=universe) for n, s in plain.items()
    }
    drivers = Streams(PORTFOLIO_MEMBER, frozenset(own.parameters), (), universe)
    return members, drivers


def _joint_correlations(portfolio: Portfolio, plain: dict) -> tuple:
    """Members' own correlations on stream keys (a shared pair once) and the portfolio's."""
    out: dict[frozenset, object] = {}
    for m in portfolio.members:
        for c in member_correlations(m.scenario, plain[m.name]):
            key = frozenset((c.a, c.b))
            if key in out and not math.isclose(out[key].rho, c.rho):
                raise AssumptionError(
                    Problem(
                        f"members correlate the shared inputs {c.a} and {c.b} differently "
                        f"({out[key].rho:g} and {c.rho:g}); make them equal",
                        str(portfolio.path),
                        None,
                        "correlations",
                    )
                )
            out.setdefault(key, c)
    for c in portfolio.correlations:
        out[frozenset((c.a, c.b))] = c
    return tuple(out.values())


def _own_scenario(portfolio: Portfolio) -> Scenario:
    """The portfolio's own inputs (Sequoia's margin) as a scenario over its years, so they are
    sampled like any input."""
    own = {k: v for k, v in portfolio.parameters.items() if k not in portfolio.shared}
    return replace(
        portfolio.as_scenario(),
        model="industry",
        parameters=own,
        sources=portfolio.sources,
        correlations=[],
    )


def own_inputs(portfolio: Portfolio, draws: int, seed: int, design: str, streams) -> dict:
    """The portfolio's own inputs per draw and year: name -> (T, draws)."""
    sc = _own_scenario(portfolio)
    d = Design(sc, draws, seed, design, streams)
    values = inputs_from_uniforms(sc, d.uniforms(0, draws), d.names)
    t = len(portfolio.years)
    return {k: _by_year(v, draws, t) for k, v in values.items()}


def _by_year(v, draws: int, t: int) -> np.ndarray:
    """An input's values as (T, draws): a scalar, per-draw (n,) or 2-D (1|n, 1|T) value."""
    a = np.asarray(v, dtype=float)
    a = a.reshape(-1, 1) if a.ndim < 2 else a
    return np.broadcast_to(a, (draws, t)).T


# ============================================================================ the run
def simulate_portfolio(
    portfolio: Portfolio,
    draws: int = 10_000,
    seed: int = 0,
    design: str = "mc",
    workers: int | None = None,
    progress: bool = False,
    **run,
) -> PortfolioResults:
    """Monte Carlo run of a portfolio: every member on the same draws, and their aggregate.

    Parameters
    ----------
    portfolio : Portfolio
        From :func:`model.load_portfolio`.
    draws, seed, design, workers, progress
        As for :func:`~model.engine.simulate.simulate`; every member runs with them.
    **run
        Other keywords of :func:`~model.engine.simulate.simulate` (``chunk_size``,
        ``parallel``, ...).

    Returns
    -------
    PortfolioResults
        The aggregate (the usual :class:`Results` of a ``portfolio`` model) with every member's
        own :class:`Results` under ``members``.
    """
    members, drivers = stream_plan(portfolio)
    runs = {}
    for m in portfolio.members:
        runs[m.name] = simulate(
            m.scenario,
            draws,
            seed,
            design,
            series_draws=draws,
            workers=workers,
            progress=progress,
            streams=members[m.name],
            keep_series=KEPT,
            **run,
        )
    margin = own_inputs(portfolio, draws, seed, design, drivers)["end_user_gross_margin"]
    metrics, series = aggregate(portfolio, runs, margin)
    return PortfolioResults.build(portfolio, runs, metrics, series, margin, seed, design)


def placed(portfolio: Portfolio, member_start: int, values: np.ndarray) -> np.ndarray:
    """A member's year-major series (T_m, n) on the portfolio's years (T, n), 0 elsewhere."""
    out = np.zeros((len(portfolio.years), values.shape[1]))
    k = member_start - portfolio.start
    out[k : k + values.shape[0]] = values
    return out


def aggregate(portfolio: Portfolio, runs: dict, margin: np.ndarray) -> tuple[dict, dict]:
    """The per-draw sum of the members: metrics (n,) and year-major series (T, n)."""
    series = {
        name: sum(placed(portfolio, r.scenario.start, r.series[name]) for r in runs.values())
        for name in SUMMED
    }
    series["cumulative_fcf"] = np.cumsum(series["fcf"], axis=0)
    series["revenue_required"] = revenue_required(series["spend"] + series["refresh_spend"], margin)
    flows = series["fcf"].T
    rate, roots = financials.irr_and_count(flows, timing=portfolio.timing())
    metrics = {
        "npv": aggregate_npv(portfolio, runs),
        "irr": rate,
        "irr_roots": np.asarray(roots, float),
        "payback_years": financials.payback_years(flows, cumulative=series["cumulative_fcf"].T),
        "peak_funding": financials.peak_funding(flows, cumulative=series["cumulative_fcf"].T),
        "total_spend": sum(r.metric("total_spend") for r in runs.values()),
        "revenue_coverage": revenue_coverage(
            series["revenue"], series["revenue_required"], portfolio.years, portfolio.coverage_year
        ),
    }
    return metrics, series


def member_discount_rate(res: Results) -> np.ndarray:
    """A member's discount rate per draw [1/year]."""
    if "discount_rate" in res.inputs:
        return np.asarray(res.inputs["discount_rate"], float).reshape(res.draws, -1)[:, 0]
    return np.full(res.draws, float(np.ravel(res.fixed_inputs["discount_rate"])[0]))


def discounted_member_npv(portfolio: Portfolio, res: Results) -> np.ndarray:
    """A member's NPV at the portfolio's valuation date [USD]: NPV_m (1 + r_m)^-(s_m - s_0)."""
    years = res.scenario.start - portfolio.start
    return res.metric("npv") * (1.0 + member_discount_rate(res)) ** (-years)


def aggregate_npv(portfolio: Portfolio, runs: dict) -> np.ndarray:
    """The portfolio's NPV per draw [USD]: the members' NPVs at its valuation date, summed."""
    return sum(discounted_member_npv(portfolio, r) for r in runs.values())


def revenue_required(spend: np.ndarray, end_user_gross_margin: np.ndarray) -> np.ndarray:
    """Sequoia's multiplier on spending: the revenue end users must earn to pay for it
    [USD/year] = spend / (1 - end-user gross margin) [3]_.

    Parameters
    ----------
    spend : ndarray [USD/year]
        Capex and refresh spend.
    end_user_gross_margin : ndarray [share], in [0, 1)
    """
    return np.asarray(spend) / (1.0 - np.asarray(end_user_gross_margin))


def revenue_coverage(revenue, required, years, coverage_year: int) -> np.ndarray:
    """Cumulative revenue to ``coverage_year`` over the cumulative revenue required to it
    [ratio] per draw (year-major inputs (T, n)); NaN where nothing was required."""
    k = int(np.searchsorted(years, coverage_year)) + 1
    need = np.asarray(required)[:k].sum(axis=0)
    got = np.asarray(revenue)[:k].sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(need > 0, got / need, np.nan)


# ============================================================================ variance
def batch_ids(res: Results) -> np.ndarray:
    """Independent batches of a run's draws: its replicates (quasi-random designs), else
    :data:`BATCHES` contiguous batches."""
    n = res.draws
    if res.attrs.get("design", "mc") != "mc":
        return res.errors.replicate
    return (np.arange(n) * BATCHES) // n


def member_shares(portfolio: Portfolio, runs: dict, total: np.ndarray, batches) -> dict:
    """Each member's share of Var(aggregate NPV): Cov(NPV_m, NPV) / Var(NPV), with the error
    from the spread over independent batches."""
    out = {}
    for name, res in runs.items():
        x = discounted_member_npv(portfolio, res)
        share = _cov_share(x, total)
        per = [_cov_share(x[batches == b], total[batches == b]) for b in np.unique(batches)]
        out[name] = {"value": share, "mcse": float(np.std(per, ddof=1) / math.sqrt(len(per)))}
    return out


def _cov_share(x: np.ndarray, y: np.ndarray) -> float:
    v = float(np.var(y, ddof=1)) if y.size > 1 else math.nan
    return float(np.cov(x, y)[0, 1] / v) if v and math.isfinite(v) else math.nan


def driver_shares(drivers: dict, total: np.ndarray, seed: int) -> dict:
    """First-order share of Var(aggregate NPV) of each shared driver, from the run's draws
    (SALib ``rbd_fast``, any sample); a driver that varies by year is summarised by its mean
    over the years. ``mcse`` is the bootstrap half-width / 1.96."""
    names = [k for k, v in drivers.items() if np.ptp(v) > 0]
    if not names or total.size < 100 or not np.ptp(total) > 0:
        return {}
    from SALib.analyze import rbd_fast  # deferred: SALib, only for portfolio runs

    x = np.column_stack([drivers[k] for k in names])
    problem = {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}
    si = rbd_fast.analyze(problem, x, total, M=10, num_resamples=50, seed=seed)
    return {
        k: {"value": float(si["S1"][i]), "mcse": float(si["S1_conf"][i]) / 1.96}
        for i, k in enumerate(names)
    }


def shared_driver_draws(portfolio: Portfolio, runs: dict) -> dict:
    """Each uncertain shared input's per-draw value (a by-year input: its mean over years)."""
    out = {}
    for name in portfolio.shared:
        res = next((r for r in runs.values() if name in r.inputs), None)
        if res is not None:
            v = np.asarray(res.inputs[name], float)
            out[name] = v.reshape(res.draws, -1).mean(axis=1)
    return out


def _rest(by_driver: dict) -> dict | None:
    """1 - the drivers' first-order shares, its error the root sum of theirs (independent
    bootstrap estimates)."""
    if not by_driver:
        return None
    value = 1.0 - sum(v["value"] for v in by_driver.values())
    return {"value": value, "mcse": math.sqrt(sum(v["mcse"] ** 2 for v in by_driver.values()))}


# ============================================================================ results
def aggregate_inputs(portfolio: Portfolio, runs: dict) -> dict:
    """Every member's uncertain inputs under the aggregate scenario's names."""
    out = {}
    for m in portfolio.members:
        for name, v in runs[m.name].inputs.items():
            out.setdefault(name if name in portfolio.shared else f"{m.name}:{name}", v)
    return out


class PortfolioResults(Results):
    """Results of a portfolio run: the aggregate (model ``portfolio``), every member's own
    :class:`Results` on the same draws (``members``), and where the aggregate's variance
    comes from (``variance``)."""

    @classmethod
    def build(cls, portfolio, runs, metrics, series, margin, seed, design) -> PortfolioResults:
        sc = portfolio.as_scenario()
        first = next(iter(runs.values()))
        attrs = run_attrs(sc, seed, first.draws, design, first.draws, members=",".join(runs))
        errors = first.errors if design != "mc" else ErrorModel()
        inputs = aggregate_inputs(portfolio, runs)
        res = cls(sc, attrs, metrics, inputs, series, {}, first.warnings, errors)
        res.portfolio = portfolio
        res.members = runs
        res.margin = margin
        res.elapsed_seconds = sum(getattr(r, "elapsed_seconds", 0.0) for r in runs.values())
        return res

    def probability(self, name: str) -> dict:
        """As :meth:`Results.probability`, and ``revenue_covered`` (coverage >= 1)."""
        if name == "revenue_covered":
            return probability(self.metric("revenue_coverage") >= 1.0, self.errors)
        return super().probability(name)

    def variance_shares(self) -> dict:
        """``by_member`` and ``by_shared_driver`` shares of Var(aggregate NPV), each
        ``{"value", "mcse"}``; ``rest`` = 1 - the drivers' first-order shares (members' own
        inputs and interactions)."""
        if not hasattr(self, "_variance"):
            total = self.metric("npv")
            batches = batch_ids(self)
            drivers = shared_driver_draws(self.portfolio, self.members)
            by_driver = driver_shares(drivers, total, int(self.attrs["seed"]))
            self._variance = {
                "by_member": member_shares(self.portfolio, self.members, total, batches),
                "by_shared_driver": by_driver,
                "rest": _rest(by_driver),
            }
        return self._variance

    def member_json(self) -> dict:
        """Every member's metrics and probabilities (``members`` of ``capex portfolio
        --json``)."""
        out = {}
        for name, res in self.members.items():
            full = res.to_json_dict()
            out[name] = {
                "scenario": full["scenario"],
                "years": full["years"],
                "metrics": full["metrics"],
                "probabilities": full["probabilities"],
                "provenance": full["provenance"],
            }
        return out

    def to_json_dict(self) -> dict:
        """The object of ``capex portfolio --json``: the run's usual keys for the aggregate,
        plus ``members``, ``shared``, ``coverage_year`` and ``variance``."""
        out = super().to_json_dict()
        out["members"] = self.member_json()
        out["shared"] = list(self.portfolio.shared)
        out["coverage_year"] = self.portfolio.coverage_year
        out["variance"] = self.variance_shares()
        return out
