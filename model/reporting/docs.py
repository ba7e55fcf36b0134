"""The text of ``assumptions/README.md`` (the assumption-file language and vocabulary), built
from :mod:`model.core.vocabulary`, so the documentation cannot drift from the code.

``python -m model.cli.docs`` rewrites the file; ``tests/test_cli.py`` fails when it is stale.
"""

from __future__ import annotations

from ..core import vocabulary as S
from ..core.distributions import FAMILIES
from ..core.units import CANONICAL_UNITS

LANGUAGE = """\
# Assumption files

Every number the model uses comes from a YAML file in this folder, and every number carries
either a **source** (what you read, where) or an explicit **`hypothetical:`** rationale. A file
that breaks this rule does not load. Check files with `capex validate` (no argument: this
folder); print a file's bibliography with `capex sources FILE`; start a new one with
`capex new NAME`.

*This page is generated from `model/core/vocabulary.py` by `python -m model.cli.docs`; do not
edit it by hand.*

## The shape of a file

```yaml
schema: 1                           # language version
name: anthropic-fluidstack          # slug: lowercase letters, digits, '-' or '_'
title: Anthropic x Fluidstack US data centres
description: optional free text
model: programme                    # programme, industry, capex_ratio or required_return (the vocabularies below)
currency: USD                       # nominal USD unless currency_year is given
currency_year: 2025                 # optional: the money year of every value
years: {start: 2025, end: 2040}     # valuation date = 1 January of start
timing: end                         # optional: flows at year end (default) or mid-year
extends: base.yaml                  # optional: inherit a file, then override whole entries
partial: true                       # only in a base meant to be extended: may lack required parameters
sources:                            # the bibliography, referenced by key
  anthropic-us-infra-50b:
    title: Anthropic to invest $50 billion in U.S. data centers
    publisher: Newsmax / Reuters
    published: 2025-11-12           # YYYY-MM-DD, YYYY-MM or YYYY
    url: https://...                # or doi: 10.xxxx/...
    confidence: secondary           # optional: direct | secondary | derived
    mirror_of: https://...          # only for a copy on another host: the page it copies (or,
                                    # address unknown, its publisher and title); capex sources
                                    # flags known mirrors, staging hosts and login/cookie queries
    note: secondary (Reuters wire)  # optional
inflation:                          # optional: yearly rates to convert currency years (with a source)
  values: {2024: 0.029, 2025: 0.027}
  unit: 1/year
  source: some-key
parameters:
  capex_total:
    value: 50B                      # 50e9, 50_000_000_000, 50B, 50 bn, 1.5T, 300M all mean numbers
    unit: USD                       # scaled forms (USD bn, USD M/MW, USD/kWh, GW, %) are converted
    source: anthropic-us-infra-50b  # a key, a list of keys, or an inline {title, publisher, published, url}
    quote: "would invest $50 billion"   # optional locators: quote, page, table, note
  capex_overrun:
    dist: lognormal                 # the family is always explicit
    p05: 0.95                       # by quantiles ...
    p95: 1.6
    unit: ratio
    hypothetical: Large IT projects overrun with fat tails; no programme data yet.
  capex_schedule:                   # a series: {year: value}
    values: {2025: 0.3, 2026: 0.7}
    unit: share
    hypothetical: Sites come online through 2026.
  utilisation:
    values:                         # each point may be a distribution
      2026: {dist: uniform, low: 0.5, high: 0.8}
      2030: {dist: uniform, low: 0.6, high: 0.9}
    years_move: together            # one draw moves every year (default) | independent
    interpolation: linear           # between given years (default) | step
    unit: share
    hypothetical: ...
  price_per_gpu_hour:               # a series as a process: a random walk through the years
    process: gbm                    # log x_t = log x_(t-1) + drift - volatility^2/2 + volatility e_t
    start: {dist: pert, p10: 2.0, p50: 2.8, p90: 4.0}
    drift: -0.2                     # [1/year]; every process parameter may be a distribution
    volatility: 0.25
    shock: {probability: 0.1, size: 0.5}   # at most once per draw: from the year it strikes,
    unit: USD/GPU-hour                     # the series is multiplied by (1 - size)
    source: [b200-rent-2.80]
  # process: ar1 (mean, phi, sigma, start: stationary | a value; scale: linear | log | logit):
  # z_t = g(mean) + phi (z_(t-1) - g(mean)) + sigma e_t on the scale z = g(x)
  revenue_model: capacity           # switches are plain values and need no provenance
correlations:                       # Spearman rank correlations between uncertain inputs
  - [utilisation, price_per_gpu_hour, 0.4]
scenarios:                          # named overlays: capex run FILE --scenario bear
  bear:
    description: Faster price decline.
    price_decline: {dist: uniform, low: 0.3, high: 0.5, unit: 1/year, hypothetical: ...}
```

## Rules

- **Provenance.** Every numeric parameter has exactly one of `source:` or `hypothetical:` (a
  non-empty rationale a reader can argue with). A source has a title, publisher, published date
  and a url or doi. Model switches (`revenue_model`, `refresh_it`, `terminal_value`) are choices,
  not numbers, and need neither. A `calibrated:` series takes its provenance from the sources on
  every row of its observation file.
- **Units.** Every number has a `unit` of the parameter's dimension. Canonical units:
  {units}. Scaled forms are converted on load: `USD k|M|bn|B|T`, `USD bn/year`, `USD M/MW`,
  `USD/kW`, `USD/kWh` (to USD/MWh), `kW`, `GW`, `GPU/kW`, `%` (to share), `%/year`, `months`.
- **Distributions.** {families}; by natural parameters or by quantiles
  (two for normal/lognormal/uniform/beta, e.g. `p05`/`p95`; three for triangular/pert, e.g.
  `p10`/`p50`/`p90`), with optional `min`/`max` truncation (quantiles describe the distribution
  before truncation). Natural parameters: normal `mean`, `sd`; lognormal `median`, `sigma` or
  `mean`, `sd`; uniform `low`, `high`; triangular and pert `low`, `mode`, `high` (pert also
  `lambda`, default 4); beta `alpha`, `beta` (optional `low`, `high`, default 0 and 1);
  discrete `values`, `probs` (summing to 1); gamma `shape`, `scale` (or `mean`, `sd`);
  student_t `location`, `scale`, `df`; loguniform `low`, `high`; metalog three to five quantiles
  (`p10`, `p50`, `p90` ...) with optional `lower`/`upper` bounds; mixture `weights`,
  `components` (a list of distributions); empirical `data` (a cited data CSV, relative to the
  file), `column` (default `value`), `kde` (default false); fixed `value` (or just `value:`
  with no `dist`).
  A distribution must stay inside the parameter's valid range: bound it with `min`/`max` or use
  a bounded family.
- **Series.** `values: {{year: value}}`, each value a number or a distribution. Linear
  interpolation between given years (`interpolation: step` holds the last value); the nearest
  given value is held before the first and after the last given year. Years must lie inside
  `years`. `capex_schedule` is not interpolated: missing years are 0 and the shares must sum to
  1 (within 1e-6). Uncertain points of one series share one draw (`years_move: together`: a
  high path is high every year) unless `years_move: independent`.
- **extends.** Paths are relative to the file; several levels are allowed; a cycle is an error.
  Child entries (parameters, sources, overlays) replace the parent's entries with the same name
  whole; correlations add up.
- **scenarios.** An overlay replaces whole parameter entries (each with its own unit and
  provenance). `capex validate` checks every overlay.
- **correlations.** Both names must be uncertain parameters; coefficients lie in [-1, 1]; a pair
  appears once; the matrix must be positive semi-definite (the error suggests the nearest valid
  one). They are imposed on the draws by Iman–Conover, which keeps every marginal exactly.
- **calibrated series.** `calibrated: {{observations: observations/anthropic_revenue.csv, model:
  logistic}}` replaces a series by posterior predictive draws of a PyMC fit to cited
  observations (see `capex calibrate`).
- Errors are reported all at once as `file:line: parameter: what is wrong; how to fix`.
"""


def vocabulary_table(model: str) -> str:
    rows = [
        "| parameter | unit | kind | valid range | required | category | meaning |",
        "|---|---|---|---|---|---|---|",
    ]
    for p in S.VOCABULARY[model].values():
        unit = " or ".join(f"`{d}`" for d in p.dimensions) if p.dimensions else "—"
        rows.append(
            f"| `{p.name}` | {unit} | {p.kind} | {p.bounds_text()} | "
            f"{p.required_text()} | {p.category} | {p.meaning} |"
        )
    return "\n".join(rows)


def render() -> str:
    """The full text of ``assumptions/README.md``."""
    text = (
        LANGUAGE.replace("{units}", ", ".join(f"`{u}`" for u in CANONICAL_UNITS))
        .replace("{families}", ", ".join(f"`{f}`" for f in FAMILIES))
        .replace("{{", "{")
        .replace("}}", "}")
    )
    parts = [text]
    kinds = {
        "programme": "one company's investment programme (capex -> capacity -> revenue -> "
        "cash flow; equations in docs/model.md)",
        "industry": "the industry's revenue question (Sequoia's \"$600B question\")",
        "capex_ratio": "the industry's revenue question by a capex-to-revenue ratio (Bain's "
        '"$2 trillion by 2030")',
        "required_return": "the industry's revenue question as a perpetuity return on the "
        'buildout (J.P. Morgan\'s "$650 billion")',
    }
    for model in S.MODEL_KINDS:
        parts.append(
            f"## Vocabulary: `model: {model}`\n\n{kinds[model]}.\n\n{vocabulary_table(model)}\n"
        )
    parts.append(
        "Kinds: `scalar` one number or distribution; `series` one number or a "
        "`{year: value}` series; `schedule` a `{year: share}` series summing to 1; "
        "`bool`/`enum` switches. Only off-switch defaults exist in code (overrun 1, "
        "delay 0, decline 0, no refresh, no terminal value): every other number comes "
        "from a file.\n"
    )
    return "\n".join(parts)
