"""Analyses: tornado, spider, break-even, rank correlations, stress view and Sobol' indices
(SALib's estimators) from evaluated designs; see :mod:`model.analysis.sensitivity` for the
methods and their references."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ...core.errors import AssumptionError, Problem
from .design import normal_score_corr, oat_matrix, saltelli_matrices
from .evaluate import input_values
from .result import ci_cols, corr_text

#: Percentiles of the tornado swing (as uniforms of the design).
TORNADO_LOW, TORNADO_HIGH = 0.10, 0.90
#: Percentiles of the spider plot [%].
SPIDER_PERCENTILES = tuple(range(5, 100, 5))
#: Break-even search range as uniforms: the central 99.8 % of each input's distribution.
BREAKEVEN_RANGE = (0.001, 0.999)
CATEGORY_ORDER = ("capex", "capacity", "revenue", "costs", "finance")


def tornado(scenario, engine, infos, output, base) -> pd.DataFrame:
    k = len(infos)
    cols = [j for j in range(k) for _ in (0, 1)]
    us = [TORNADO_LOW, TORNADO_HIGH] * k
    y = engine(oat_matrix(k, cols, us))[output].reshape(k, 2)
    rows = []
    for j, info in enumerate(infos):
        lo, hi = y[j]
        vals = input_values(scenario, info, np.array([TORNADO_LOW, 0.5, TORNADO_HIGH]))
        rows.append(
            {
                "input": info.name,
                "parameter": info.parameter,
                "category": info.category,
                "provenance": info.provenance,
                "unit": info.unit,
                "year": info.year,
                "value_p10": vals[0],
                "value_p50": vals[1],
                "value_p90": vals[2],
                "output_p10": lo,
                "output_p90": hi,
                "effect_p10": lo - base,
                "effect_p90": hi - base,
                "swing": abs(hi - lo),
            }
        )
    df = pd.DataFrame(rows)
    # an input that makes the output undefined at P10 or P90 (no payback, no IRR) while the
    # base is defined moves it without bound: it goes first
    df["_key"] = df["swing"].fillna(np.inf if np.isfinite(base) else -1.0)
    df = df.sort_values(["_key", "input"], ascending=[False, True], kind="mergesort")
    return df.drop(columns="_key").reset_index(drop=True)


def spider(scenario, engine, infos, output, top_names) -> pd.DataFrame:
    k = len(infos)
    idx = {i.name: j for j, i in enumerate(infos)}
    pcts = np.array(SPIDER_PERCENTILES, dtype=float)
    cols = [idx[nm] for nm in top_names for _ in pcts]
    us = np.tile(pcts / 100.0, len(top_names))
    y = engine(oat_matrix(k, cols, us))[output]
    rows = []
    for a, nm in enumerate(top_names):
        info = infos[idx[nm]]
        vals = input_values(scenario, info, pcts / 100.0)
        for b, pc in enumerate(pcts):
            rows.append(
                {
                    "input": nm,
                    "percentile": int(pc),
                    "value": vals[b],
                    "unit": info.unit,
                    "output": y[a * len(pcts) + b],
                }
            )
    return pd.DataFrame(rows)


def breakeven(
    scenario, engine, infos, be_out, base_value, grid: int = 201, iterations: int = 60
) -> pd.DataFrame:
    """Vectorized grid scan + bisection (in the input's percentile) of output = 0."""
    k = len(infos)
    lo_u, hi_u = BREAKEVEN_RANGE
    ug = np.linspace(lo_u, hi_u, grid)
    cols = [j for j in range(k) for _ in ug]
    y = engine(oat_matrix(k, cols, np.tile(ug, k)))[be_out].reshape(k, grid)
    roots, exact = _grid_roots(y, ug)
    found: list[list[float]] = [list(e) for e in exact]
    br = [(j, a, b) for j in range(k) for a, b in roots[j]]
    if br:
        for j, r in zip(*_bisect_brackets(engine, k, be_out, br, iterations)):
            found[j].append(float(r))
    rows = [
        _breakeven_row(scenario, info, found[j], y[j], ug, lo_u, hi_u)
        for j, info in enumerate(infos)
    ]
    return _sort_breakeven(pd.DataFrame(rows))


def _grid_roots(y: np.ndarray, ug: np.ndarray) -> tuple[list, list]:
    """Per input, the grid cells where the output changes sign and the grid points where it is 0."""
    k, grid = y.shape
    s = np.sign(y)
    roots: list[list[tuple[float, float]]] = [[] for _ in range(k)]  # (lo, hi) brackets
    exact: list[list[float]] = [[] for _ in range(k)]
    for j in range(k):
        for i in range(grid - 1):
            if s[j, i] == 0 and np.isfinite(y[j, i]):
                exact[j].append(ug[i])
            elif np.isfinite(y[j, i]) and np.isfinite(y[j, i + 1]) and s[j, i] * s[j, i + 1] < 0:
                roots[j].append((ug[i], ug[i + 1]))
        if s[j, -1] == 0:
            exact[j].append(ug[-1])
    return roots, exact


def _bisect_brackets(engine, k: int, be_out, br: list, iterations: int):
    """Bisect every (input, lo, hi) bracket at once; the inputs and their roots (as uniforms)."""
    jj = np.array([b[0] for b in br])
    a = np.array([b[1] for b in br])
    b = np.array([b[2] for b in br])
    fa = np.sign(engine(oat_matrix(k, list(jj), a))[be_out])
    for _ in range(iterations):
        m = 0.5 * (a + b)
        fm = np.sign(engine(oat_matrix(k, list(jj), m))[be_out])
        left = fm == fa
        a = np.where(left, m, a)
        b = np.where(left, b, m)
        if np.all(b - a < 1e-13):
            break
    return jj, 0.5 * (a + b)


def _breakeven_row(scenario, info, found: list, yj: np.ndarray, ug, lo_u, hi_u) -> dict:
    """One input's row: its root nearest the median, or why there is none."""
    rs = sorted(found, key=lambda r: abs(r - 0.5))
    row = {
        "input": info.name,
        "parameter": info.parameter,
        "provenance": info.provenance,
        "unit": info.unit,
        "year": info.year,
        "median_value": float(input_values(scenario, info, np.array([0.5]))[0]),
        "range_low": float(input_values(scenario, info, np.array([lo_u]))[0]),
        "range_high": float(input_values(scenario, info, np.array([hi_u]))[0]),
        "n_roots": len(rs),
    }
    if rs:
        r = rs[0]
        row.update(
            breakeven=float(input_values(scenario, info, np.array([r]))[0]),
            percentile=100.0 * r,
            status="found",
        )
        # which side is positive: compare the grid just above the root
        above = yj[ug > r]
        row["positive_when"] = "above" if above.size and above[0] > 0 else "below"
    else:
        finite = yj[np.isfinite(yj)]
        row.update(
            breakeven=float("nan"),
            percentile=float("nan"),
            status="none in range" if finite.size else "undefined",
            positive_when=_sign_without_root(finite),
        )
    return row


def _sign_without_root(finite: np.ndarray) -> str:
    """``always``/``never`` positive over the range (``""`` when never defined)."""
    if not finite.size:
        return ""
    return "always" if (finite > 0).all() else "never"


def _sort_breakeven(df: pd.DataFrame) -> pd.DataFrame:
    """Found roots first, nearest the median first, then by input name."""
    df["_found"] = df["status"] != "found"
    df["_dist"] = (df["percentile"] - 50.0).abs()
    df = df.sort_values(["_found", "_dist", "input"], kind="mergesort")
    return df.drop(columns=["_found", "_dist"]).reset_index(drop=True)


def rank(infos, u, y, conf_level, notes) -> pd.DataFrame:
    ok = np.isfinite(y)
    if not ok.all():
        notes.append(
            f"rank correlations use the {ok.sum():,} draws where the output is defined "
            f"({100 * (1 - ok.mean()):.1f} % undefined)."
        )
    u, y = u[ok], y[ok]
    n, k = u.shape
    z = stats.norm.ppf(0.5 + conf_level / 2)
    if n < k + 4 or np.ptp(y) == 0:
        rho = np.full(k, np.nan)
        prcc = np.full(k, np.nan)
    else:
        r = np.column_stack([stats.rankdata(u, axis=0), stats.rankdata(y)])
        c = np.corrcoef(r, rowvar=False)
        rho = c[:-1, -1]
        p = np.linalg.pinv(c)
        prcc = -p[:-1, -1] / np.sqrt(p.diagonal()[:-1] * p[-1, -1])
    se_s = 1.06 / math.sqrt(max(n - 3, 1))  # Fieller et al. (1957)
    se_p = 1.0 / math.sqrt(max(n - 3 - (k - 1), 1))  # Fisher z of a partial correlation
    with np.errstate(all="ignore"):
        zs, zp = (
            np.arctanh(np.clip(rho, -0.999999, 0.999999)),
            np.arctanh(np.clip(prcc, -0.999999, 0.999999)),
        )
    df = pd.DataFrame(
        {
            "input": [i.name for i in infos],
            "category": [i.category for i in infos],
            "provenance": [i.provenance for i in infos],
            "spearman": rho,
            "spearman_low": np.tanh(zs - z * se_s),
            "spearman_high": np.tanh(zs + z * se_s),
            "prcc": prcc,
            "prcc_low": np.tanh(zp - z * se_p),
            "prcc_high": np.tanh(zp + z * se_p),
            "draws": n,
        }
    )
    df["_k"] = -df["spearman"].abs().fillna(-1)
    return (
        df.sort_values(["_k", "input"], kind="mergesort").drop(columns="_k").reset_index(drop=True)
    )


def stress(infos, u, y, top_names, output) -> pd.DataFrame:
    idx = {i.name: j for j, i in enumerate(infos)}

    def summ(mask, name, subset):
        v = y[mask]
        f = v[np.isfinite(v)]
        q = np.quantile(f, [0.05, 0.25, 0.5, 0.75, 0.95]) if f.size else [np.nan] * 5
        row = {
            "input": name,
            "subset": subset,
            "draws": int(mask.sum()),
            "mean": float(f.mean()) if f.size else np.nan,
            "p05": q[0],
            "p25": q[1],
            "p50": q[2],
            "p75": q[3],
            "p95": q[4],
            "prob_positive": float((v > 0).mean()) if v.size else np.nan,
            "undefined_share": float(1 - f.size / v.size) if v.size else np.nan,
        }
        return row

    rows = [summ(np.ones(y.shape, bool), "(all inputs)", "all")]
    for nm in top_names:
        j = idx[nm]
        rows.append(summ(u[:, j] < 0.1, nm, "lower decile"))
        rows.append(summ(u[:, j] >= 0.9, nm, "upper decile"))
    return pd.DataFrame(rows)


def salib_indices(
    names: list[str],
    membership: list[str] | None,
    ya,
    yb,
    y_first: dict,
    y_total: dict,
    num_resamples: int,
    conf_level: float,
    seed: int,
) -> dict:
    """SALib's Saltelli (2010) estimators and bootstrap on precomputed model outputs.

    Parameters
    ----------
    names : list of str
        Input variables (SALib ``names``).
    membership : list of str or None
        Group of each variable (SALib ``groups``); None for one index per variable.
    ya, yb : ndarray (N,)
        Outputs of the base matrices A and B.
    y_first, y_total : dict
        Group (or variable) -> outputs (N,) of its first-order / total cross matrix (the same
        array object when they coincide, i.e. without a correlation across the group's
        boundary).
    num_resamples, conf_level, seed
        Bootstrap settings.

    Returns
    -------
    dict
        Group -> S1, S1_conf, ST, ST_conf (interval half-widths at ``conf_level``) and the
        bootstrap resamples S1_all, ST_all (num_resamples,).
    """
    from SALib.analyze import sobol as salib_sobol  # deferred: SALib imports scipy.stats

    problem = {"num_vars": len(names), "names": list(names), "bounds": [[0.0, 1.0]] * len(names)}
    if membership is not None:
        problem["groups"] = list(membership)
        order = list(dict.fromkeys(membership))  # SALib's group order: first appearance
    else:
        order = list(names)
    n = ya.size

    def layout(cross):  # SALib's row layout: A, AB_1 .. AB_G, B for each base sample
        y = np.empty((n, len(order) + 2))
        y[:, 0] = ya
        for i, g in enumerate(order):
            y[:, i + 1] = cross[g]
        y[:, -1] = yb
        return y.reshape(-1)

    # SALib seeds its bootstrap only when seed is truthy; seed + 1 keeps seed 0 reproducible
    kw = dict(
        calc_second_order=False,
        num_resamples=num_resamples,
        conf_level=conf_level,
        seed=seed + 1,
        keep_resamples=True,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s_first = salib_sobol.analyze(problem, layout(y_first), **kw)
        same = all(y_first[g] is y_total[g] for g in order)
        s_total = s_first if same else salib_sobol.analyze(problem, layout(y_total), **kw)
    return {
        g: {
            "S1": float(s_first["S1"][i]),
            "S1_conf": float(s_first["S1_conf"][i]),
            "S1_all": np.asarray(s_first["S1_conf_all"])[:, i],
            "ST": float(s_total["ST"][i]),
            "ST_conf": float(s_total["ST_conf"][i]),
            "ST_all": np.asarray(s_total["ST_conf_all"])[:, i],
        }
        for i, g in enumerate(order)
    }


@dataclass
class SobolSets:
    """The column sets whose indices a Sobol' analysis needs: each input, each category, each
    provenance class (a set shared by two labels, e.g. a one-input category, is evaluated
    once)."""

    names: list[str]
    sets: dict[str, list[int]] = field(default_factory=dict)
    key_of: dict[tuple, str] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)
    categories: dict[str, str] = field(default_factory=dict)
    provenances: dict[str, str] = field(default_factory=dict)

    def add(self, label: str, cols) -> str:
        cols = sorted(cols)
        key = tuple(cols)
        if key not in self.key_of:
            self.key_of[key] = label
            self.sets[label] = cols
        return self.key_of[key]

    @property
    def everything(self) -> tuple:
        return tuple(range(len(self.names)))

    def evaluated(self) -> dict[str, list[int]]:
        """The sets that need cross matrices (all but the set of every input)."""
        return {lab: c for lab, c in self.sets.items() if tuple(c) != self.everything}


def input_groups(scenario, infos) -> dict[str, str]:
    """Design column -> the input it belongs to for Sobol' indices: a process (its parameters
    and its innovations) and a shocked series are one input each; every other column is its
    own."""

    def group(i):
        p = scenario.parameters.get(i.parameter)
        grouped = p is not None and (p.form == "process" or p.shock is not None)
        return i.parameter if grouped else i.name

    return {i.name: group(i) for i in infos}


def sobol_sets(infos, group_of: dict[str, str] | None = None) -> SobolSets:
    names = [i.name for i in infos]
    group_of = group_of or {nm: nm for nm in names}
    out = SobolSets(names)
    cat_of = {i.name: i.category for i in infos}
    prov_of = {i.name: i.provenance for i in infos}
    cats = [c for c in CATEGORY_ORDER if c in cat_of.values()]
    cats += sorted(set(cat_of.values()) - set(cats))
    provs = [p for p in ("hypothetical", "sourced") if p in prov_of.values()]
    out.inputs = {
        g: out.add(f"input:{g}", [j for j, nm in enumerate(names) if group_of[nm] == g])
        for g in dict.fromkeys(group_of[nm] for nm in names)
    }
    out.categories = {
        c: out.add(f"category:{c}", [j for j, nm in enumerate(names) if cat_of[nm] == c])
        for c in cats
    }
    out.provenances = {
        p: out.add(f"provenance:{p}", [j for j, nm in enumerate(names) if prov_of[nm] == p])
        for p in provs
    }
    return out


def sobol_design(sets: SobolSets, n: int, seed: int, corr) -> tuple[list, dict]:
    """Base matrices A, B then every cross matrix, and where each set's cross matrices are."""
    a, b, first, total = saltelli_matrices(len(sets.names), n, seed, sets.evaluated(), corr)
    mats, ids = [a, b], {}
    for lab in sets.evaluated():
        for kind, store in (("first", first), ("total", total)):
            m = store[lab]
            if kind == "total" and m is first[lab]:
                ids[(lab, kind)] = ids[(lab, "first")]
                continue
            ids[(lab, kind)] = len(mats)
            mats.append(m)
    return mats, ids


def partition_indices(
    sets: SobolSets,
    labels_for: dict[str, str],
    per_variable: bool,
    y,
    ids,
    num_resamples,
    conf_level,
    seed,
) -> dict:
    """Indices of the sets of a partition of the inputs (name -> set label), via SALib."""
    whole = [g for g, lab in labels_for.items() if tuple(sets.sets[lab]) == sets.everything]
    if whole:  # one block holding every input: Var(E[Y|X]) = V exactly
        return {
            whole[0]: dict(
                S1=1.0,
                S1_conf=0.0,
                ST=1.0,
                ST_conf=0.0,
                S1_all=np.ones(num_resamples),
                ST_all=np.ones(num_resamples),
            )
        }
    y_first = {g: y[ids[(lab, "first")]] for g, lab in labels_for.items()}
    y_total = {g: y[ids[(lab, "total")]] for g, lab in labels_for.items()}
    membership = None
    if not per_variable:
        membership = [
            next(g for g, lab in labels_for.items() if j in sets.sets[lab])
            for j in range(len(sets.names))
        ]
    return salib_indices(
        sets.names, membership, y[0], y[1], y_first, y_total, num_resamples, conf_level, seed
    )


def sobol_table(res, infos, per_input: dict, group_of: dict | None = None) -> pd.DataFrame:
    group_of = group_of or {i.name: i.name for i in infos}
    first = {}
    for i in infos:  # one row per input group (a process: its parameter's name)
        first.setdefault(group_of[i.name], i)
    rows = [
        {
            "input": g,
            "parameter": i.parameter,
            "category": i.category,
            "provenance": i.provenance,
            "correlated": any(j.name in res.correlated for j in infos if group_of[j.name] == g),
            **ci_cols(per_input[g]),
        }
        for g, i in first.items()
    ]
    df = pd.DataFrame(rows)
    df["_key"] = np.maximum(df["S1"], df["ST"])
    return (
        df.sort_values(["_key", "input"], ascending=[False, True], kind="mergesort")
        .drop(columns="_key")
        .reset_index(drop=True)
    )


def group_table(
    infos, groups, per: dict, per_input: dict, kind: str, group_of: dict | None = None
) -> pd.DataFrame:
    group_of = group_of or {i.name: i.name for i in infos}
    rows = []
    for gname in groups:
        members = list(
            dict.fromkeys(
                group_of[i.name]
                for i in infos
                if (i.category if kind == "category" else i.provenance) == gname
            )
        )
        rows.append(
            {
                kind: gname,
                "n_inputs": len(members),
                **ci_cols(per[gname]),
                "sum_S1_of_inputs": float(sum(per_input[m]["S1"] for m in members)),
                "inputs": ", ".join(members),
            }
        )
    return pd.DataFrame(rows)


def sobol_sums(names, per_input: dict, conf_level: float) -> dict:
    z = stats.norm.ppf(0.5 + conf_level / 2)
    s1_all = np.stack([per_input[nm]["S1_all"] for nm in names], axis=1).sum(axis=1)
    st_all = np.stack([per_input[nm]["ST_all"] for nm in names], axis=1).sum(axis=1)
    return {
        "sum_S1": float(sum(per_input[nm]["S1"] for nm in names)),
        "sum_S1_conf": float(z * np.std(s1_all, ddof=1)),
        "sum_ST": float(sum(per_input[nm]["ST"] for nm in names)),
        "sum_ST_conf": float(z * np.std(st_all, ddof=1)),
    }


def hypothetical_share(infos, per_prov: dict, conf_level: float, method: str) -> dict:
    """The Sobol' indices of the hypothetical group (and of the sourced group under
    ``sourced``): what share of the output's variance rests on uncited inputs."""
    n_h = sum(1 for i in infos if i.provenance == "hypothetical")
    zero = dict(S1=0.0, S1_conf=0.0, ST=0.0, ST_conf=0.0)
    h = per_prov["hypothetical"] if n_h else zero
    c = ci_cols(h)
    src = ci_cols(per_prov.get("sourced", zero))
    return {
        "s1": c["S1"],
        "s1_low": c["S1_low"],
        "s1_high": c["S1_high"],
        "st": c["ST"],
        "st_low": c["ST_low"],
        "st_high": c["ST_high"],
        "n_hypothetical": n_h,
        "n_sourced": len(infos) - n_h,
        "conf_level": conf_level,
        "method": method,
        "sourced": {
            "s1": src["S1"],
            "s1_low": src["S1_low"],
            "s1_high": src["S1_high"],
            "st": src["ST"],
            "st_low": src["ST_low"],
            "st_high": src["ST_high"],
        },
    }


def _undefined_rows(res, y, only: bool) -> bool:
    """Skip (with a note) or refuse a design where the output is undefined or constant."""
    bad = ~np.isfinite(y)
    if bad.any():
        msg = (
            f"Sobol' indices need the {res.output} in every design row, but it is undefined "
            f"in {100 * bad.mean():.1f} % of them (e.g. no IRR without a sign change, no "
            "payback within the horizon); analyse npv or another always-defined output"
        )
        if only:
            raise AssumptionError(Problem(msg + " instead", parameter="--output"))
        res.notes.append(msg + "; Sobol' indices were skipped.")
        return True
    if np.ptp(y) == 0:
        res.notes.append(
            f"the {res.output} does not vary with the uncertain inputs (variance "
            "0), so it has no variance to split; Sobol' indices were skipped."
        )
        return True
    return False


def sobol(
    res, scenario, engine, infos, output, n, seed, num_resamples, conf_level, say, only: bool
) -> None:
    """First-order and total indices of every input, category and provenance class; fills
    ``res.sobol``, ``res.groups_*``, ``res.sobol_sums`` and ``res.hypothetical_share``."""
    names = [i.name for i in infos]
    corr = normal_score_corr(scenario, names)
    res.sobol_method = "saltelli" if corr is None else "gaussian-copula"
    group_of = input_groups(scenario, infos)
    sets = sobol_sets(infos, group_of)
    mats, ids = sobol_design(sets, n, seed, corr)
    res.sobol_rows = n * len(mats)
    say(
        f"Sobol' indices: {len(names)} inputs, N = {n}, {res.sobol_rows:,} model evaluations "
        f"({res.sobol_method})"
    )
    y = engine(np.concatenate(mats))[output].reshape(len(mats), n)
    if _undefined_rows(res, y, only):
        return
    kw = dict(y=y, ids=ids, num_resamples=num_resamples, conf_level=conf_level, seed=seed)
    singletons = all(len(sets.sets[lab]) == 1 for lab in sets.inputs.values())
    per_input = partition_indices(sets, sets.inputs, singletons, **kw)
    per_cat = partition_indices(sets, sets.categories, False, **kw)
    per_prov = partition_indices(sets, sets.provenances, False, **kw)
    res.sobol = sobol_table(res, infos, per_input, group_of)
    res.groups_category = group_table(
        infos, sets.categories, per_cat, per_input, "category", group_of
    )
    res.groups_provenance = group_table(
        infos, sets.provenances, per_prov, per_input, "provenance", group_of
    )
    res.sobol_sums = sobol_sums(list(sets.inputs), per_input, conf_level)
    res.hypothetical_share = hypothetical_share(infos, per_prov, conf_level, res.sobol_method)
    if corr is not None:
        res.notes.append(
            "declared correlations (" + corr_text(scenario) + ") make the inputs dependent: "
            "Sobol' indices use the Gaussian-copula estimator for dependent inputs (Mara & "
            "Tarantola 2012): S1 is the full first-order index (includes variance shared with "
            "correlated inputs), ST the independent total index; S1 may exceed ST and the S1 "
            "of groups may sum to more than 1."
        )
