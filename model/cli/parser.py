"""The ``capex`` argument parser: every command and option in one place, cheap to build.

Building the parser imports nothing heavy: each command names its function as
``"module:function"`` and :func:`model.cli.main` imports it only when that command runs, so
``capex --help`` answers at once. Every option has a help string and shows its default; an
unknown command or option gets a did-you-mean.
"""

from __future__ import annotations

import argparse
import sys

from .._version import __version__
from ..core.errors import did_you_mean
from ..core.units import parse_amount
from .jsonout import print_argument_error_json

EPILOG = (
    "Glossary of every term printed: docs/concepts.md. Model equations: docs/model.md. "
    "Exit codes: 0 ok, 2 invalid input or environment, 1 internal error, 130 interrupted, "
    "143 terminated (SIGTERM)."
)
DEFAULT_DRAWS = 10_000
DEFAULT_SERIES_DRAWS = 200_000
DESIGNS = ("mc", "lhs", "sobol")


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors suggest the command or option meant, and that takes no
    abbreviation of an option (``--draw`` is an error, not ``--draws``: a pipeline's command line
    must not change meaning when an option is added)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def parse_known_args(self, args=None, namespace=None):
        # a command-line error of a `--json` command line is a JSON object too (docs/json.md)
        self._json_errors = "--json" in (sys.argv[1:] if args is None else list(args))
        return super().parse_known_args(args, namespace)

    def error(self, message: str):
        hint = self._suggestion(message)
        message += f"; did you mean {hint}?" if hint else ""
        if getattr(self, "_json_errors", False):
            print_argument_error_json(message, self.prog)
        super().error(message)

    def _suggestion(self, message: str) -> str | None:
        if "invalid choice:" in message:
            word = message.split("invalid choice:", 1)[1].split("(", 1)[0].strip().strip("'\"")
            choices = []
            for action in self._actions:
                if action.choices:
                    choices.extend(action.choices)
            close = did_you_mean(word, choices)
            return repr(close) if close else None
        if message.startswith("unrecognized arguments:"):
            words = message.split(":", 1)[1].split()
            options = [o for p in self._parsers() for a in p._actions for o in a.option_strings]
            for w in words:
                if w.startswith("-"):
                    close = did_you_mean(w.split("=", 1)[0], options)
                    if close and close != w.split("=", 1)[0]:  # an option of another command
                        return repr(close)
        return None

    def _parsers(self) -> list[argparse.ArgumentParser]:
        """This parser and its subcommands' parsers."""
        out = [self]
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                out.extend(action.choices.values())
        return out


class _Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default (except for flags and options without one)."""

    def _get_help_string(self, action):
        if action.default in (None, False, argparse.SUPPRESS) or action.nargs == 0:
            return action.help
        return super()._get_help_string(action)


def count(text: str) -> int:
    """A whole number as users write it on the command line: 10000, 10_000, 1e6, 1M."""
    try:
        x = parse_amount(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number; write e.g. 10000 or 1e6"
        ) from None
    if x != int(x) or abs(x) > 1e15:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number; write e.g. 10000")
    return int(x)


def _command(sub, name: str, func: str, help_: str, description: str | None = None):
    p = sub.add_parser(
        name,
        help=help_,
        description=description or help_,
        epilog=EPILOG,
        formatter_class=_Formatter,
    )
    p.set_defaults(func=func)
    return p


def _json(p, timings: bool = False) -> None:
    p.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object on stdout (errors as a JSON object too)",
    )
    if timings:
        p.add_argument(
            "--timings",
            action="store_true",
            help="with --json: add the wall-clock seconds (timings_seconds); without it the "
            "same inputs print the same bytes",
        )


def add_run_options(
    p, draws: int = DEFAULT_DRAWS, one_scenario: bool = True, workers: bool = False
) -> None:
    """Options shared by every command that simulates."""
    if one_scenario:
        p.add_argument("--scenario", help="apply this named overlay from the file's scenarios:")
    p.add_argument(
        "--draws", type=count, default=draws, help="Monte Carlo draws, e.g. 10000 or 1e6"
    )
    p.add_argument(
        "--seed", type=int, default=0, help="random seed: same inputs + same seed = same numbers"
    )
    p.add_argument("--design", choices=DESIGNS, default="mc", help="sampling design")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    if workers:
        p.add_argument(
            "--series-draws",
            type=count,
            default=DEFAULT_SERIES_DRAWS,
            help="keep the yearly series (fan charts) of this many draws; metrics are "
            "kept for every draw",
        )
        p.add_argument(
            "--workers",
            type=int,
            default=None,
            help="draws evaluated on this many CPUs at once (default: all, or "
            "CAPEX_WORKERS); never changes a number",
        )


def add_scale_options(p, budget: bool = False) -> None:
    """``--scheduler`` (and ``--memory-budget``): where the draws run, how much they may keep."""
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="S",
        help="local (this machine, default), dask (a Dask LocalCluster sized to this machine) "
        "or the address of a Dask scheduler, tcp://host:8786 (also CAPEX_SCHEDULER); never "
        "changes a number",
    )
    if budget:
        p.add_argument(
            "--memory-budget",
            default=None,
            metavar="SIZE",
            help="memory the run may keep, e.g. 4GB (default: half the available memory); a "
            "larger run streams its draws to a Zarr store (into --out DIR, else a temporary "
            "folder removed at exit)",
        )


def add_prob_option(p) -> None:
    """``--prob "irr>0.12"`` (repeatable): extra probabilities with their errors."""
    p.add_argument(
        "--prob",
        dest="probs",
        action="append",
        metavar="TARGET",
        default=None,
        help="also report P(metric op value) with its error, e.g. 'irr>0.12' or "
        "'peak_funding<60B' (repeat for several)",
    )


def _validate(sub) -> None:
    p = _command(
        sub,
        "validate",
        "model.cli.commands.validate:cmd_validate",
        "check assumption files (default: assumptions/)",
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or folders")
    _json(p)


def _sources(sub) -> None:
    p = _command(
        sub,
        "sources",
        "model.cli.commands.sources:cmd_sources",
        "print the bibliography of an assumption file",
    )
    p.add_argument("path", metavar="PATH", help="an assumption file")
    p.add_argument("--scenario", help="apply this named overlay first")
    _json(p)


def _new(sub) -> None:
    p = _command(
        sub,
        "new",
        "model.cli.commands.new:cmd_new",
        "write a commented template assumption file that validates",
    )
    p.add_argument("name", metavar="NAME", help="scenario name (slug), e.g. my-programme")
    p.add_argument(
        "--model",
        choices=("programme", "industry", "capex_ratio", "required_return", "portfolio"),
        default="programme",
        help="model kind of the template (industry: Sequoia's multiplier; capex_ratio: Bain's; "
        "required_return: J.P. Morgan's; portfolio: a portfolio file and two member files)",
    )
    p.add_argument(
        "--out",
        help="file to write (default: NAME with '-' as '_', .yaml, in the "
        "current folder: my-plan -> my_plan.yaml)",
    )
    p.add_argument(
        "--python",
        action="store_true",
        help="a user model: the YAML plus NAME_model.py, a Python function capex runs "
        "(lease versus own, per GPU); default: off",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="replace an existing file, keeping it as FILE.bak (an existing .bak is refused)",
    )


def _run(sub) -> None:
    p = _command(
        sub,
        "run",
        "model.cli.commands.run:cmd_run",
        "Monte Carlo run: distributions of NPV, IRR, payback...",
    )
    p.add_argument(
        "path",
        nargs="?",
        metavar="PATH",
        help="assumption file (default: assumptions/anthropic_fluidstack.yaml)",
    )
    add_run_options(p, workers=True)
    p.add_argument(
        "--precision",
        metavar="TARGET",
        help="add draws (blocks of 8,192, --design mc) until a statistic's Monte Carlo "
        "standard error reaches a tolerance in its own unit: npv:mean=0.5B, npv:p50=1B, "
        "'P(npv>0)=0.005'; a bare number such as 0.005 is the relative error of the mean NPV "
        "(of the final-year gap for the industry model); the output says when --max-draws "
        "stopped it first",
    )
    p.add_argument(
        "--max-draws",
        type=count,
        default=2_000_000,
        help="most draws a --precision target may take",
    )
    add_prob_option(p)
    p.add_argument(
        "--no-posterior-check",
        action="store_true",
        help="calibrated inputs: skip the repeat of the run with two further independent "
        "posterior fits (the spread over fits in the output and the report)",
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        help="folder for results.nc, summary.csv, "
        "summary.json (a new or empty folder, or one capex wrote)",
    )
    p.add_argument(
        "--format",
        metavar="F[,F...]",
        help="with --out: also write draws.csv, draws.parquet, results.xlsx (every draw's "
        "metrics and inputs): any of csv, parquet, xlsx, comma-separated (docs/exports.md)",
    )
    add_scale_options(p, budget=True)
    _json(p, timings=True)
    p.add_argument("--report", action="store_true", help="also write the report")
    p.add_argument("--report-out", metavar="DIR", help="report folder (default reports/<name>/)")


def _compare(sub) -> None:
    p = _command(
        sub,
        "compare",
        "model.cli.commands.compare:cmd_compare",
        "run several files or overlays side by side (common random numbers)",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="files, or FILE:overlay")
    add_run_options(p, one_scenario=False, workers=True)
    p.add_argument(
        "--scenario",
        dest="scenarios",
        action="append",
        help="overlay to compare (repeat; 'base' = no overlay)",
    )
    add_scale_options(p)
    _json(p, timings=True)


def _portfolio(sub) -> None:
    p = _command(
        sub,
        "portfolio",
        "model.cli.commands.portfolio:cmd_portfolio",
        "run a portfolio file: its programmes on the same draws (shared market drivers), "
        "their aggregate, and whether revenue covers what the spending requires",
    )
    p.add_argument("path", metavar="FILE", help="portfolio file (top-level portfolio: members:)")
    add_run_options(p, one_scenario=False, workers=True)
    add_scale_options(p)
    _json(p, timings=True)


def _sensitivity(sub) -> None:
    from_methods = "tornado, spider, rank, sobol, breakeven, stress"
    p = _command(
        sub,
        "sensitivity",
        "model.cli.commands.sensitivity:cmd_sensitivity",
        "what drives the answer: tornado, spider, rank correlations, Sobol' indices by "
        "input, category and provenance, break-even values, stress view",
    )
    p.add_argument(
        "path",
        nargs="?",
        metavar="PATH",
        help="assumption file (default: assumptions/anthropic_fluidstack.yaml)",
    )
    add_run_options(p, draws=DEFAULT_DRAWS)
    p.add_argument(
        "--output",
        default=None,
        metavar="NAME",
        help="output to analyse (default npv; industry: revenue_gap_final); also irr, "
        "payback_years, peak_funding, levelized_cost_per_gpu_hour, "
        "cumulative_revenue_gap_total, gap_close_year, pv_revenue_gap",
    )
    p.add_argument(
        "--method",
        default="all",
        metavar="M[,M...]",
        help=f"any of {from_methods} (comma-separated) or all",
    )
    add_scale_options(p)
    p.add_argument(
        "--sobol-n",
        type=count,
        default=4096,  # = model.analysis.sensitivity.DEFAULT_SOBOL_N (parser stays light)
        metavar="N",
        help="base samples of the Sobol' design, a power of two",
    )
    p.add_argument(
        "--resamples", type=count, default=200, help="bootstrap resamples of the Sobol' intervals"
    )
    p.add_argument("--top", type=int, default=6, help="inputs in the spider and stress views")
    p.add_argument("--plots", metavar="DIR", help="write the figures (PNG) into this folder")
    _json(p, timings=True)


def _calibrate(sub) -> None:
    p = _command(
        sub,
        "calibrate",
        "model.cli.commands.calibrate:cmd_calibrate",
        "fit revenue / price paths to cited observations (PyMC)",
    )
    p.add_argument("path", metavar="PATH", help="observation CSV or assumption file")
    p.add_argument("--scenario", help="overlay of an assumption file with a calibrated series")
    p.add_argument(
        "--model",
        help="only this model (default: every model for the data's unit, "
        "compared by LOO; or the model the assumption file names)",
    )
    p.add_argument("--draws", type=count, default=1000, help="posterior draws per chain")
    p.add_argument("--tune", type=count, default=1000, help="tuning steps per chain")
    p.add_argument("--chains", type=int, default=2, help="Markov chains")
    p.add_argument("--seed", type=int, default=0, help="sampler seed")
    p.add_argument(
        "--target",
        action="append",
        metavar="YEAR:VALUE",
        help="probability that the calibrated path reaches VALUE in YEAR (repeat)",
    )
    p.add_argument(
        "--use-projections",
        type=float,
        metavar="SIGMA",
        help="also fit the variant 'data + projections': the rows of kind projection (company "
        "plans) enter with log-noise SIGMA (e.g. 0.5), reported next to the data-only fit",
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="exit 2 when a fit fails its diagnostics (R-hat, ESS, divergences)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress while sampling")
    _json(p)


def _report(sub) -> None:
    p = _command(
        sub,
        "report",
        "model.cli.commands.report:cmd_report",
        "write Markdown + self-contained HTML reports into reports/",
        "Simulate each scenario and write its report folder: report.md, report.html "
        "(one self-contained file), figures/*.png, summary.csv, summary.json, "
        "manifest.json. Several files add a side-by-side comparison page and a "
        "README.md index. Folders expand to their *.yaml files (partial bases are "
        "skipped). Writing is atomic: on any error the previous reports stay as they "
        "were; capex writes only into folders it owns.",
    )
    p.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="assumption files or folders (default: assumptions/anthropic_fluidstack.yaml)",
    )
    add_run_options(p, workers=True)
    p.add_argument(
        "--out",
        metavar="DIR",
        help="one scenario: its report folder (default reports/<name>/); several: the "
        "root for their folders, comparison/ and README.md (default reports/)",
    )
    p.add_argument(
        "--no-sensitivity", action="store_true", help="leave out the sensitivity section (faster)"
    )
    add_prob_option(p)
    p.add_argument(
        "--overlays",
        action="store_true",
        help="also report every named overlay (scenarios:) of each file",
    )
    add_scale_options(p)


def _fit(sub) -> None:
    p = _command(
        sub,
        "fit",
        "model.cli.commands.fit:cmd_fit",
        "fit distributions to cited data (maximum likelihood, ranked by AIC)",
        "Fit every distribution family whose support holds the values of a data file (one "
        "number per row, each with its unit and source) by maximum likelihood, rank them by "
        "AIC (BIC and the Kolmogorov-Smirnov distance shown), and print the best as an "
        "assumption-file parameter citing the file's sources (docs/fit.md).",
    )
    p.add_argument("path", metavar="DATA", help="a data CSV file")
    p.add_argument("--column", default="value", help="the column holding the numbers")
    p.add_argument(
        "--families",
        metavar="F[,F...]",
        help="fit only these (comma-separated): normal, lognormal, gamma, student_t, "
        "loguniform, uniform, beta (default: every one whose support holds the data)",
    )
    p.add_argument(
        "--name",
        help="parameter name of the printed YAML (default: the file's name as a lowercase word)",
    )
    _json(p)


def _path_arg(p) -> None:
    p.add_argument(
        "path",
        nargs="?",
        metavar="PATH",
        help="assumption file (default: assumptions/anthropic_fluidstack.yaml)",
    )


def _output_arg(p) -> None:
    p.add_argument(
        "--output",
        default=None,
        metavar="NAME",
        help="metric to analyse (default the model's key metric: npv; industry: revenue_gap_final)",
    )


def _stress(sub) -> None:
    p = _command(
        sub,
        "stress",
        "model.cli.commands.stress:cmd_stress",
        "the output with inputs restricted to percentile bands, beside the base (same draws)",
    )
    _path_arg(p)
    p.add_argument(
        "--band",
        dest="bands",
        action="append",
        metavar="NAME=pLO-pHI",
        help="restrict an input to a band of its percentiles, e.g. capex_overrun=p90-p100 "
        "(repeat: the bands act jointly)",
    )
    _output_arg(p)
    add_run_options(p)
    add_scale_options(p)
    _json(p)


def _scenario_analysis(sub) -> None:
    p = _command(
        sub,
        "scenario-analysis",
        "model.cli.commands.stress:cmd_scenario_analysis",
        "which inputs differ most from their medians where the output lands in a region",
    )
    _path_arg(p)
    p.add_argument(
        "--region",
        default="top10",
        metavar="R",
        help="top10 / bottom10 (highest / lowest 10 %% of the output's draws) or a target "
        "such as 'npv>0'",
    )
    _output_arg(p)
    p.add_argument("--top", type=int, default=12, help="inputs printed (all in --json)")
    add_run_options(p)
    _json(p)


def _sweep(sub) -> None:
    p = _command(
        sub,
        "sweep",
        "model.cli.commands.sweep:cmd_sweep",
        "a statistic over a grid of one or two inputs (common random numbers)",
    )
    _path_arg(p)
    p.add_argument(
        "--vary",
        dest="varies",
        action="append",
        metavar="NAME=LO:HI:N",
        help="N values from LO to HI in the input's canonical unit, e.g. "
        "price_per_gpu_hour=2:6:9 (twice for a heat map)",
    )
    p.add_argument(
        "--stat",
        default=None,
        metavar="S",
        help="npv_positive (default; industry gap_closed_by_end), another probability, "
        "'P(irr>0.12)', or METRIC:mean / METRIC:p50",
    )
    p.add_argument(
        "--plot",
        metavar="FILE.png",
        help="write the line or heat map (PNG): a new file, or one capex wrote (never "
        "another file)",
    )
    add_run_options(p, draws=4_000)
    add_scale_options(p)
    _json(p)


def _goal_seek(sub) -> None:
    p = _command(
        sub,
        "goal-seek",
        "model.cli.commands.goal_seek:cmd_goal_seek",
        "the value of one input at which a statistic hits a target (common random numbers)",
        "Find the value of one input, fixed at that value in every draw (--shift: its whole "
        "distribution multiplied by a factor), at which a statistic of the Monte Carlo equals a "
        "target, by a bracketing root search on the same draws; the uncertainty is where the "
        "statistic is the target plus or minus its Monte Carlo standard error. A series is "
        "varied as a whole path (a factor). docs/decisions.md#goal-seek.",
    )
    p.add_argument("path", metavar="PATH", help="assumption file")
    p.add_argument("--vary", required=True, metavar="NAME", help="the input to vary")
    p.add_argument(
        "--target",
        required=True,
        metavar="T",
        help="'P(npv>0)=0.5', 'npv:p50=0' (any pNN) or 'npv:mean=1B'",
    )
    p.add_argument(
        "--shift",
        action="store_true",
        help="multiply the input's whole distribution by a factor instead of fixing it",
    )
    p.add_argument("--scenario", help="apply this named overlay from the file's scenarios:")
    p.add_argument("--draws", type=count, default=DEFAULT_DRAWS, help="draws of each evaluation")
    p.add_argument(
        "--seed", type=int, default=0, help="random seed: same inputs + same seed = same numbers"
    )
    add_scale_options(p)
    _json(p)


def _voi(sub) -> None:
    p = _command(
        sub,
        "voi",
        "model.cli.commands.voi:cmd_voi",
        "value of information: EVPI, and EVPPI of each input, category and provenance",
        "The expected value of perfect information (EVPI) of the decision 'invest if the "
        "expected NPV is above 0' (--decision overlays: 'choose the best of the file's base and "
        "overlays', common random numbers), and the partial EVPPI of each uncertain input, each "
        "category and hypothetical vs sourced inputs, from one run by a regression spline "
        "(Strong, Oakley & Brennan 2014), with bootstrap standard errors, in the output's unit. "
        "docs/decisions.md#value-of-information.",
    )
    _path_arg(p)
    add_run_options(p, draws=20_000)  # = model.analysis.voi.DEFAULT_DRAWS (parser stays light)
    _output_arg(p)
    p.add_argument(
        "--decision",
        choices=("invest", "overlays"),
        default="invest",
        help="invest: act if the expected output is above 0; overlays: choose the file's "
        "base or overlay of largest expected output",
    )
    p.add_argument(
        "--resamples", type=count, default=200, help="bootstrap resamples of the standard errors"
    )
    add_scale_options(p)
    _json(p)


COMMANDS = (
    _validate,
    _sources,
    _new,
    _run,
    _compare,
    _portfolio,
    _sensitivity,
    _calibrate,
    _fit,
    _report,
    _stress,
    _scenario_analysis,
    _sweep,
    _goal_seek,
    _voi,
)


def build_parser() -> Parser:
    """The ``capex`` parser (no heavy import)."""
    parser = Parser(
        prog="capex",
        formatter_class=_Formatter,
        epilog=EPILOG,
        description="Will AI revenue pay back AI data-centre capex? Distributions of NPV, IRR, "
        "payback and the revenue gap from cited assumption files.",
    )
    parser.add_argument("--version", action="version", version=f"capex {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for add in COMMANDS:
        add(sub)
    return parser
