"""``capex fit``: maximum-likelihood fits of cited data, ranked by AIC, printed as a parameter.

The main check draws 400 values from a known lognormal into a data file (unit and source on
every row): the fit ranks the lognormal first, recovers its median and sigma within three
standard errors, equals scipy's own fit, and its YAML snippet loads through capex's loader to
the same distribution. The JSON validates against docs/schema/fit.schema.json; a bad family or
a file without units is exit 2 with a located message."""

from __future__ import annotations

import csv
import json
import math
import textwrap
from pathlib import Path

import numpy as np
import pytest
from jsonschema import Draft202012Validator
from scipy import stats

from model.analysis import fitting as F
from model.cli import main
from model.core import distributions as D
from model.loading.observations import load_data
from model.loading.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "fit"
HEADER = ("value", "unit", "source_title", "publisher", "published", "address", "quote")
SOURCES = (
    ("Synthetic revenue sample A (test data)", "capex tests", "2025-03", "https://example.org/a"),
    ("Synthetic revenue sample B (test data)", "capex tests", "2024", "https://example.org/b"),
)
#: The known lognormal: median 100 [USD bn/year] = 1e11 [USD/year], sigma 0.3 [-]
MEDIAN, SIGMA, N = 100.0, 0.3, 400


def write_data(path: Path, values, unit: str = "USD bn/year", sources=SOURCES) -> Path:
    """A data file: one value per row, each with its unit and source (rows cycle sources)."""
    with path.open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow([*HEADER, "confidence"])
        for i, v in enumerate(values):
            title, publisher, published, url = sources[i % len(sources)]
            w.writerow(
                [repr(float(v)), unit, title, publisher, published, url, "a draw", "derived"]
            )
    return path


@pytest.fixture(scope="module")
def lognormal_file(tmp_path_factory) -> Path:
    rng = np.random.default_rng(2025)
    values = np.exp(math.log(MEDIAN) + SIGMA * rng.standard_normal(N))
    return write_data(tmp_path_factory.mktemp("fit") / "accelerator_revenue.csv", values)


def capex_fit(capsys, *argv, code: int = 0) -> dict:
    """``capex fit ARGV --json`` as a dict (exit code checked)."""
    assert main(["fit", *map(str, argv), "--json"]) == code
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def lognormal_fit(lognormal_file) -> dict:
    return F.fit_data(lognormal_file).to_json_dict()


def assert_valid(name: str, obj: dict) -> None:
    schema = json.loads((ROOT / "docs" / "schema" / f"{name}.schema.json").read_text("utf-8"))
    Draft202012Validator.check_schema(schema)
    errors = list(Draft202012Validator(schema).iter_errors(obj))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message[:300]}" for e in errors)


def industry_file(tmp_path: Path, snippet: str, fitted: str = "accelerator_revenue") -> Path:
    """A small industry-model file whose parameter ``fitted`` is the snippet pasted as is."""
    others = {
        "accelerator_revenue": "{value: 100B, unit: USD/year, hypothetical: t}",
        "dc_cost_multiplier": "{value: 2, unit: ratio, hypothetical: t}",
        "end_user_gross_margin": "{value: 0.5, unit: share, hypothetical: t}",
        "ai_revenue": "{value: 100B, unit: USD/year, hypothetical: t}",
    }
    head = textwrap.dedent("""\
        schema: 1
        name: fitted
        title: a fitted parameter (test)
        model: industry
        years: {start: 2025, end: 2026}
        parameters:
        """)
    rest = "".join(f"  {k}: {v}\n" for k, v in others.items() if k != fitted)
    path = tmp_path / "fitted.yaml"
    path.write_text(head + textwrap.indent(snippet, "  ") + rest, encoding="utf-8")
    return path


# ============================================================================ the known lognormal
def test_fit_recovers_a_known_lognormal_and_ranks_it_first(capsys, lognormal_file):
    d = capex_fit(capsys, lognormal_file)
    assert d["ranked_by"] == "aic" and d["rows"] == N and d["unit"] == "USD/year"
    first = d["candidates"][0]
    assert first["family"] == d["best"]["family"] == "lognormal"
    aics = [c["aic"] for c in d["candidates"]]
    assert aics == sorted(aics)
    # the MLE of a lognormal is the mean and sd of the log values: se sigma/sqrt(n) for the
    # log-median, sigma/sqrt(2n) for sigma
    p = first["parameters"]
    assert abs(math.log(p["median"]) - math.log(MEDIAN * 1e9)) < 3 * SIGMA / math.sqrt(N)
    assert abs(p["sigma"] - SIGMA) < 3 * SIGMA / math.sqrt(2 * N)


def test_the_parameters_and_scores_are_scipys(lognormal_file, lognormal_fit):
    x = load_data(lognormal_file)["value"].to_numpy()
    s, loc, scale = stats.lognorm.fit(x, floc=0)
    first = lognormal_fit["candidates"][0]
    assert loc == 0 and first["parameters"] == {"median": scale, "sigma": s}
    ll = stats.lognorm(s, scale=scale).logpdf(x).sum()
    assert first["log_likelihood"] == pytest.approx(ll, rel=1e-12)
    assert first["aic"] == pytest.approx(2 * 2 - 2 * ll, rel=1e-12)
    assert first["bic"] == pytest.approx(2 * math.log(N) - 2 * ll, rel=1e-12)
    ks = stats.kstest(x, stats.lognorm(s, scale=scale).cdf).statistic
    assert first["ks_statistic"] == pytest.approx(ks, rel=1e-12)
    normal = next(c for c in lognormal_fit["candidates"] if c["family"] == "normal")
    assert normal["parameters"] == {"mean": x.mean(), "sd": x.std()}  # the normal's MLE
    weights = [c["akaike_weight"] for c in lognormal_fit["candidates"]]
    assert sum(weights) == pytest.approx(1.0) and weights[0] == max(weights)
    q = lognormal_fit["best"]["quantiles"]
    assert q["p50"] == pytest.approx(scale, rel=1e-12)
    assert q["p05"] == pytest.approx(stats.lognorm(s, scale=scale).ppf(0.05), rel=1e-12)


def test_the_snippet_loads_through_capex_and_cites_the_data(tmp_path, lognormal_file):
    result = F.fit_data(lognormal_file)
    assert result.name == "accelerator_revenue"  # from the file's name
    sc = load_scenario(industry_file(tmp_path, result.to_json_dict()["best"]["yaml"]))
    p = sc.parameters["accelerator_revenue"]
    assert p.dist.family == "lognormal" and p.unit == "USD/year"
    assert p.dist.quantile(0.5) == pytest.approx(result.best.parameters["median"], rel=1e-12)
    assert p.dist.p["sigma"] == result.best.parameters["sigma"]
    (source,) = p.provenance.sources
    assert (source.title, source.published, source.url) == (SOURCES[0][0], "2025-03", SOURCES[0][3])
    note = dict(p.provenance.locators)["note"]
    assert f"{N} rows of" in note and "accelerator_revenue.csv" in note
    assert SOURCES[1][0] in note and "200 rows" in note  # two sources: both named


def test_the_json_validates_against_its_schema(capsys, lognormal_file):
    d = capex_fit(capsys, lognormal_file, "--families", "lognormal,gamma")
    assert [c["family"] for c in d["candidates"]] == ["lognormal", "gamma"]
    assert_valid("fit", d)
    assert_valid("fit", capex_fit(capsys, FIXTURES / "gross_margins.csv"))
    err = capex_fit(capsys, lognormal_file, "--families", "lognormla", code=2)
    assert_valid("error", err)
    assert err["problems"][0]["parameter"] == "--families"


def test_the_human_output_is_a_table_and_the_yaml(capsys, lognormal_file):
    assert main(["fit", str(lognormal_file), "--name", "my_revenue"]) == 0
    out = capsys.readouterr().out
    assert "family" in out and "AIC" in out and "BIC" in out and "KS" in out
    lines = out.splitlines()
    first_row = lines[lines.index(next(ln for ln in lines if ln.startswith("---"))) + 1]
    assert first_row.startswith("lognormal") and "/year" in first_row  # format_value's unit
    assert "my_revenue:\n  dist: lognormal\n" in out and "not fitted: beta" in out


# ============================================================================ every family
TRUTHS = {
    "normal": lambda rng: rng.normal(100.0, 5.0, N),
    "lognormal": lambda rng: np.exp(math.log(100.0) + 0.2 * rng.standard_normal(N)),
    "gamma": lambda rng: rng.gamma(20.0, 5.0, N),
    "student_t": lambda rng: 100.0 + 1.0 * rng.standard_t(30.0, N),
    "loguniform": lambda rng: np.exp(rng.uniform(math.log(50.0), math.log(200.0), N)),
    "uniform": lambda rng: rng.uniform(50.0, 150.0, N),
    "beta": lambda rng: 100 * rng.beta(8.0, 4.0, N),
}


@pytest.mark.parametrize("family", F.FAMILIES)
def test_each_familys_snippet_loads_to_the_fitted_distribution(tmp_path, family):
    if family not in D.FAMILIES:
        pytest.skip(f"{family} is not in model.core.distributions.FAMILIES yet")
    values = TRUTHS[family](np.random.default_rng(11))
    unit = "%" if family == "beta" else "USD bn/year"
    data = write_data(tmp_path / "data.csv", values, unit)
    target = "end_user_gross_margin" if family == "beta" else "accelerator_revenue"
    result = F.fit_data(data, families=[family], name=target)
    assert result.best.family == family
    d = result.to_json_dict()
    dist = load_scenario(industry_file(tmp_path, d["best"]["yaml"], target)).parameters[target].dist
    assert dist.family == family
    for key, q in F.QUANTILES.items():
        assert dist.quantile(q) == pytest.approx(d["best"]["quantiles"][key], rel=1e-9), key


def test_share_data_are_fitted_by_a_beta_too():
    result = F.fit_data(FIXTURES / "gross_margins.csv")  # written in %, fitted as shares
    assert result.unit == "share" and "beta" in [c.family for c in result.candidates]
    assert all(0 < v < 1 for v in load_data(FIXTURES / "gross_margins.csv")["value"])
    beta = next(c for c in result.candidates if c.family == "beta")
    x = load_data(FIXTURES / "gross_margins.csv")["value"].to_numpy()
    a, b, _, _ = stats.beta.fit(x, floc=0, fscale=1)
    assert beta.parameters == {"alpha": a, "beta": b}


def test_families_whose_support_misses_a_value_are_skipped_with_its_line(capsys):
    path = FIXTURES / "returns.csv"
    d = capex_fit(capsys, path, "--column", "return")
    assert {c["family"] for c in d["candidates"]} == {"normal", "student_t", "uniform"}
    reasons = {s["family"]: s["reason"] for s in d["skipped"]}
    assert "needs values > 0 (line" in reasons["lognormal"] and "ratio" in reasons["beta"]
    # every source n.d.: the snippet says so (a source needs a date to load)
    assert any("publication date" in w for w in d["warnings"])
    assert main(["fit", str(path), "--column", "return", "--families", "lognormal"]) == 2
    err = capsys.readouterr().err
    assert "returns.csv: lognormal needs values > 0 (line " in err


# ============================================================================ refused input
def test_a_bad_family_name_is_exit_2_with_a_did_you_mean(capsys, lognormal_file):
    assert main(["fit", str(lognormal_file), "--families", "lognormal,gama,triangular"]) == 2
    err = capsys.readouterr().err
    assert "--families: unknown family 'gama' (did you mean 'gamma'?); choose from" in err
    assert "--families: triangular is not fitted" in err


def test_a_file_without_units_is_exit_2_at_its_header(capsys):
    assert main(["fit", str(FIXTURES / "no_unit.csv")]) == 2
    err = capsys.readouterr().err
    assert "no_unit.csv:2: missing column(s) unit; the header must name value and unit" in err


def test_too_few_or_identical_values_are_refused(capsys, tmp_path):
    few = write_data(tmp_path / "few.csv", [1.0, 2.0])
    assert main(["fit", str(few)]) == 2
    assert "few.csv: 2 value(s); a fit needs at least 3 rows" in capsys.readouterr().err
    same = write_data(tmp_path / "same.csv", [2.0, 2.0, 2.0, 2.0])
    assert main(["fit", str(same)]) == 2
    assert "a fit needs values that differ" in capsys.readouterr().err


def test_a_bad_column_name_gets_a_did_you_mean(capsys):
    assert main(["fit", str(FIXTURES / "returns.csv"), "--column", "retrn"]) == 2
    assert "(for --column: did you mean 'return'?)" in capsys.readouterr().err
