"""What ``capex portfolio`` prints: the aggregate's summary, every member on the same draws,
the question's answer (revenue covered by the coverage year) and where the aggregate's variance
comes from, each number with its Monte Carlo error, through the one formatter."""

from __future__ import annotations

from ..core.formatting import format_estimate, format_mean, probability_text
from .text import summary_table, table


def coverage_line(d: dict) -> str:
    """The question in one line: P(cumulative revenue covers what the spending requires)."""
    year = d["coverage_year"]
    p = probability_text(d["probabilities"]["revenue_covered"], d["draws"])
    cov = d["metrics"]["revenue_coverage"]
    q = {
        k: format_estimate(cov[k], cov["quantile_mcse"][k], "ratio") for k in ("p05", "p50", "p95")
    }
    return (
        f"P(revenue {d['years'][0]}-{year} covers what the spending requires, Sequoia's "
        f"multiplier) = {p}; coverage P50 {q['p50']} (P05 {q['p05']}, P95 {q['p95']})"
    )


def member_rows(d: dict) -> list[list[str]]:
    """One row per member: its years, median NPV, P(NPV > 0), share of the variance."""
    shares = d["variance"]["by_member"]
    rows = []
    for name, m in d["members"].items():
        npv = m["metrics"]["npv"]
        share = shares.get(name, {})
        rows.append(
            [
                name,
                f"{m['years'][0]}-{m['years'][-1]}",
                format_estimate(npv["p50"], npv["quantile_mcse"]["p50"], "USD"),
                probability_text(m["probabilities"]["npv_positive"], d["draws"]),
                format_mean(share.get("value"), share.get("mcse"), "share"),
            ]
        )
    return rows


def driver_rows(d: dict) -> list[list[str]]:
    """One row per shared driver: its first-order share of the aggregate NPV's variance."""
    rows = [
        [k, format_mean(v["value"], v["mcse"], "share")]
        for k, v in d["variance"]["by_shared_driver"].items()
    ]
    rest = d["variance"].get("rest")
    if rest is not None:
        rows.append(
            [
                "members' own inputs and interactions (the rest)",
                format_mean(rest["value"], rest["mcse"], "share"),
            ]
        )
    return rows


def provenance_lines(split: dict) -> list[str]:
    """The provenance split of the aggregate NPV in two lines."""
    out = [
        "",
        "provenance split of Var(aggregate NPV) (each group fixed at its medians, same seed):",
    ]
    for group in ("hypothetical", "sourced"):
        g = split[group]
        left = f"; left uncertain: {', '.join(g['left_uncertain'])}" if g["left_uncertain"] else ""
        out.append(
            f"  {group}: {g['fixed']} uncertain inputs; fixing them removes "
            f"{format_mean(g['value'], g['mcse'], 'share')} of the spread{left}"
        )
    return out


def portfolio_text(res, split: dict | None = None) -> str:
    """The readable output of ``capex portfolio`` (with the provenance split when given)."""
    d = res.to_json_dict()
    lines = [summary_table(res), "", coverage_line(d), ""]
    lines.append(f"members on the same draws (shared: {', '.join(d['shared']) or 'none'}):")
    lines += table(
        ["member", "years", "NPV P50", "P(NPV > 0)", "share of Var(NPV)"],
        member_rows(d),
        "llrrr",
    )
    rows = driver_rows(d)
    if rows:
        lines += ["", "share of Var(aggregate NPV) by shared driver (first order, RBD-FAST):"]
        lines += table(["driver", "share"], rows, "lr")
    if split is not None:
        lines += provenance_lines(split)
    lines += [
        "",
        "NPVs at 1 January of the portfolio's first year; a member's share is its covariance "
        "with the aggregate over the aggregate's variance (the shares add up to 1).",
    ]
    return "\n".join(lines)
