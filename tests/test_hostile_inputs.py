"""Hostile inputs (an audit's reproducers): each is refused with exit 2 and located messages
that end in a fix, never a traceback, an exit 1 or a silent acceptance.

Every case mutates a template of ``capex new`` (written once into a temporary folder), writes
it into ``tmp_path`` and validates (or runs) it through :func:`model.cli.main`.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import pytest

from model.cli import main
from model.core.errors import AssumptionError

ROOT = Path(__file__).resolve().parents[1]
HUGE = "9" * 400  # an integer too large for a float


# ============================================================================ helpers
@pytest.fixture(scope="module")
def templates(tmp_path_factory) -> Path:
    """A folder with the templates of ``capex new``: prog.yaml, port.yaml (+ port_a, port_b),
    um.yaml (+ um_model.py)."""
    folder = tmp_path_factory.mktemp("templates")
    for argv in (
        ["new", "prog", "--out", str(folder / "prog.yaml")],
        ["new", "port", "--model", "portfolio", "--out", str(folder / "port.yaml")],
        ["new", "um", "--python", "--out", str(folder / "um.yaml")],
    ):
        assert main(argv) == 0
    return folder


def _copy(templates: Path, tmp_path: Path) -> Path:
    for f in templates.iterdir():
        shutil.copy(f, tmp_path / f.name)
    return tmp_path


def _with_param(text: str, name: str, block: str) -> str:
    """``text`` with the parameter ``name``'s block (at two-space indent) replaced."""
    pattern = re.compile(rf"^  {name}:.*\n(?:    .*\n)+", re.MULTILINE)
    assert pattern.search(text), name
    return pattern.sub(lambda _: block, text, count=1)


def _refused(capsys, argv, file: str, phrase: str, line: bool = True) -> str:
    """Run ``capex argv``: exit 2, no traceback, a message with ``phrase`` located in ``file``
    (with a line number when ``line``), every problem line ending in a fix (``; ...``)."""
    capsys.readouterr()
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "Traceback" not in err, err
    hits = [x for x in err.splitlines() if phrase in x]
    assert hits, err
    located = rf"{re.escape(file)}:\d+: " if line else rf"{re.escape(file)}(:\d+)?: "
    located_hits = [x for x in hits if re.search(located, x)]
    assert located_hits, err
    assert all("; " in x for x in located_hits), err
    return err


def _validate_refuses(capsys, path: Path, phrase: str, line: bool = True) -> str:
    return _refused(capsys, ["validate", str(path)], path.name, phrase, line)


# ============================================================================ programme files
PROCESS_AR1 = """\
  price_per_gpu_hour:
    process: ar1
    scale: log
    mean: 2.0
    phi: 0.6
    sigma: 0.2
    start: 2.5
    unit: USD/GPU-hour
    hypothetical: test
"""
PROCESS_GBM = """\
  price_per_gpu_hour:
    process: gbm
    start: 2.5
    drift: -0.1
    volatility: 0.25
    unit: USD/GPU-hour
    hypothetical: test
"""


def _mutate_param(name, block):
    return lambda text: _with_param(text, name, block)


def _replace(old, new):
    def change(text):
        assert old in text, old
        return text.replace(old, new, 1)

    return change


PROGRAMME_CASES = {
    # 1a: integers too big for a float
    "huge-series-point": (
        _replace("values: {2026: 0.5, 2027: 0.5}", f"values: {{2026: 0.5, 2027: {HUGE}}}"),
        "not a finite number",
    ),
    "huge-correlation": (
        _replace(
            "correlations: []", f"correlations:\n  - [utilisation, price_per_gpu_hour, {HUGE}]"
        ),
        "not a finite number",
    ),
    "huge-process-mean": (
        _mutate_param("price_per_gpu_hour", PROCESS_AR1.replace("mean: 2.0", f"mean: {HUGE}")),
        "not a finite number",
    ),
    "huge-process-phi": (
        _mutate_param("price_per_gpu_hour", PROCESS_AR1.replace("phi: 0.6", f"phi: {HUGE}")),
        "not a finite number",
    ),
    "huge-gbm-drift": (
        _mutate_param("price_per_gpu_hour", PROCESS_GBM.replace("drift: -0.1", f"drift: {HUGE}")),
        "not a finite number",
    ),
    "huge-shock": (
        _mutate_param(
            "price_per_gpu_hour",
            PROCESS_GBM + f"    shock: {{probability: {HUGE}, size: 0.5}}\n",
        ),
        "not a finite number",
    ),
    "huge-distribution-bound": (
        _replace("    low: 1.5\n", f"    low: {HUGE}\n"),
        "not a finite number",
    ),
    # 1b: a process kind that is not a string
    "process-list": (
        _mutate_param("price_per_gpu_hour", PROCESS_GBM.replace("process: gbm", "process: [ar1]")),
        "unknown process",
    ),
    "process-mapping": (
        _mutate_param("price_per_gpu_hour", PROCESS_GBM.replace("process: gbm", "process: {a: 1}")),
        "unknown process",
    ),
    # 1e: a subnormal beta shape, a tiny gamma shape
    "beta-subnormal-shape": (
        _mutate_param(
            "tax_rate",
            "  tax_rate: {dist: beta, alpha: 1.5e-320, beta: 5, low: 0.1, high: 0.3, unit: share,"
            " hypothetical: h}\n    # \n",
        ),
        "is below 0.001",
    ),
    "gamma-tiny-shape": (
        _mutate_param(
            "power_price",
            "  power_price: {dist: gamma, shape: 1e-5, scale: 80, unit: USD/MWh, "
            "hypothetical: h}\n    # \n",
        ),
        "is below 0.001",
    ),
    "mixture-negative-gamma-shape": (
        _mutate_param(
            "power_price",
            "  power_price: {dist: mixture, weights: [0.5, 0.5], components: [{dist: uniform, "
            "low: 50, high: 90}, {dist: gamma, shape: -1, scale: 1}], unit: USD/MWh, "
            "hypothetical: h}\n    # \n",
        ),
        "shape must be > 0 (got -1); give a positive shape",
    ),
    # 2: keys of the other process kind, or of a series
    "gbm-with-phi": (
        _mutate_param("price_per_gpu_hour", PROCESS_GBM + "    phi: 0.5\n"),
        "is a parameter of the ar1 process",
    ),
    "gbm-with-mean-sigma": (
        _mutate_param("price_per_gpu_hour", PROCESS_GBM + "    mean: 2\n    sigma: 0.1\n"),
        "not of gbm",
    ),
    "ar1-with-drift": (
        _mutate_param("price_per_gpu_hour", PROCESS_AR1 + "    drift: 0.1\n"),
        "is a parameter of the gbm process",
    ),
    "ar1-with-years-move": (
        _mutate_param("price_per_gpu_hour", PROCESS_AR1 + "    years_move: together\n"),
        "is not used by the ar1 process",
    ),
    "gbm-with-interpolation": (
        _mutate_param("price_per_gpu_hour", PROCESS_GBM + "    interpolation: step\n"),
        "is not used by the gbm process",
    ),
    # 2: explosive or overflowing processes
    "ar1-explosive-phi": (
        _mutate_param("price_per_gpu_hour", PROCESS_AR1.replace("phi: 0.6", "phi: 50")),
        "explosive",
    ),
    "gbm-huge-drift": (
        _mutate_param("price_per_gpu_hour", PROCESS_GBM.replace("drift: -0.1", "drift: 500")),
        "drift must lie in [-1, 1]",
    ),
    "gbm-huge-volatility": (
        _mutate_param(
            "price_per_gpu_hour", PROCESS_GBM.replace("volatility: 0.25", "volatility: 5")
        ),
        "volatility must be at most 2",
    ),
    # 2: lists or mappings where text belongs
    "title-list": (_replace("title: prog (edit me)", "title: [a, b]"), "title is a list"),
    "description-mapping": (
        _replace("title: prog (edit me)", "title: t\ndescription: {x: 1}"),
        "description is a mapping",
    ),
    "parameter-description-list": (
        _replace("  pue:\n", "  pue:\n    description: [1, 2]\n"),
        "description is not text",
    ),
    # 4: names
    "name-with-newline": (_replace("name: prog", 'name: "prog\\n"'), "is not a slug"),
    "name-too-long": (_replace("name: prog", "name: " + "a" * 65), "longer than 64"),
}


@pytest.mark.parametrize("case", sorted(PROGRAMME_CASES))
def test_hostile_programme_files_are_refused(templates, tmp_path, capsys, case):
    change, phrase = PROGRAMME_CASES[case]
    path = tmp_path / "prog.yaml"
    path.write_text(change((templates / "prog.yaml").read_text()))
    err = _validate_refuses(capsys, path, phrase)  # exit 2, located, ending in a fix
    assert phrase in err and "Traceback" not in err


def test_a_unit_root_process_with_a_start_still_validates(templates, tmp_path, capsys):
    path = tmp_path / "prog.yaml"
    text = (templates / "prog.yaml").read_text()
    path.write_text(
        _with_param(text, "price_per_gpu_hour", PROCESS_AR1.replace("phi: 0.6", "phi: 1"))
    )
    assert main(["validate", str(path)]) == 0, capsys.readouterr().err


# ============================================================================ portfolios
PORTFOLIO_MEMBERS = "    - port_a.yaml\n    - port_b.yaml\n"


def _members(block: str):
    return _replace(PORTFOLIO_MEMBERS, block)


PORTFOLIO_CASES = {
    # 1c, 1d: member entries of the wrong types
    "member-scenario-list": (
        _members("    - {file: port_a.yaml, scenario: [bear]}\n    - port_b.yaml\n"),
        "member scenario: ['bear'] is not text",
    ),
    "member-name-list": (
        _members("    - {file: port_a.yaml, name: [x]}\n    - port_b.yaml\n"),
        "member name: ['x'] is not text",
    ),
    "member-mixed-unknown-keys": (
        _members("    - {file: port_a.yaml, 1: x, y: z}\n    - port_b.yaml\n"),
        "unknown member key '1'",
    ),
    "member-misspelt-key": (
        _members("    - {file: port_a.yaml, scenaro: bear}\n    - port_b.yaml\n"),
        "did you mean 'scenario'?",
    ),
    "member-not-a-path": (_members("    - [port_a.yaml]\n    - port_b.yaml\n"), "a member is"),
    "member-unknown-overlay": (
        _members("    - {file: port_a.yaml, scenario: nope}\n    - port_b.yaml\n"),
        "unknown scenario overlay 'nope'",
    ),
    "member-twice": (
        _members("    - port_a.yaml\n    - {file: port_a.yaml, name: again}\n"),
        "is already a member",
    ),
    "member-twice-other-overlay": (
        _members("    - port_a.yaml\n    - {file: port_a.yaml, scenario: bear, name: b}\n"),
        "counts the same capacity twice",
    ),
    "members-empty": (_members("    []\n"), "is empty"),
    "members-too-many": (
        _members("".join(f"    - {{file: port_a.yaml, name: m{i}}}\n" for i in range(65))),
        "split it",
    ),
    # 2: text and currency
    "currency-list": (_replace("currency: USD", "currency: [1, 2]"), "is not a 3-letter code"),
    "title-list": (_replace("title: port (edit me)", "title: [a, b]"), "title is a list"),
    "description-mapping": (
        _replace("title: port (edit me)", "title: t\ndescription: {x: 1}"),
        "description is a mapping",
    ),
    "huge-correlation": (
        _replace("capex_overrun, 0.5]", f"capex_overrun, {HUGE}]"),
        "not a finite number",
    ),
    "name-too-long": (_replace("name: port", "name: " + "p" * 65), "longer than 64"),
}


@pytest.mark.parametrize("case", sorted(PORTFOLIO_CASES))
def test_hostile_portfolio_files_are_refused(templates, tmp_path, capsys, case):
    change, phrase = PORTFOLIO_CASES[case]
    folder = _copy(templates, tmp_path)
    path = folder / "port.yaml"
    text = path.read_text()
    if case == "members-empty":
        text = text.replace(
            "  members:                            # paths relative to this file\n", "  members:\n"
        )
        text = text.replace("  members:\n" + PORTFOLIO_MEMBERS, "  members: []\n")
        path.write_text(text)
    else:
        path.write_text(change(text))
    err = _validate_refuses(capsys, path, phrase)
    if case == "member-unknown-overlay":
        assert "port.yaml:" in err and "portfolio.members" in err, err


def test_a_flow_style_portfolio_is_detected(templates, tmp_path, capsys):
    from model.loading.portfolio import is_portfolio_file

    folder = _copy(templates, tmp_path)
    path = folder / "flow.yaml"
    path.write_text(
        "{schema: 1, name: flow, portfolio: {members: [port_a.yaml, port_b.yaml], "
        "shared: [discount_rate]}, parameters: {end_user_gross_margin: {value: 0.5, "
        "unit: share, hypothetical: test}}}\n"
    )
    assert is_portfolio_file(path)
    assert not is_portfolio_file(folder / "port_a.yaml")
    assert main(["validate", str(path)]) == 0, capsys.readouterr().err
    assert "portfolio of 2 members" in capsys.readouterr().out


# ============================================================================ user models
USER_CASES = {
    "exit-at-import": (
        "um_model.py",
        lambda t: "import sys\nsys.exit(7)\n" + t,
        "sys.exit(7)",
        "validate",
    ),
    "exit-in-function": (
        "um_model.py",
        lambda t: t.replace('    """capex calls', '    import sys\n\n    sys.exit(5)\n    """x', 1),
        "sys.exit(5)",
        "run",
    ),
    "output-kind-misspelt": (
        "um.yaml",
        _replace("    kind: metric\n", "    kidn: metric\n    kind: metric\n"),
        "did you mean 'kind'?",
        "validate",
    ),
    "output-label-list": (
        "um.yaml",
        _replace("    label: NPV of owning minus leasing", "    label: [a, b]"),
        "label is not text",
        "validate",
    ),
    "output-description-list": (
        "um.yaml",
        _replace(
            "    description: Present value of owning one GPU minus leasing it over the horizon.",
            "    description: [a, b]",
        ),
        "description is not text",
        "validate",
    ),
    "parameter-description-list": (
        "um.yaml",
        _replace(
            "    description: What leasing the same GPU costs per hour.",
            "    description: [1, 2]",
        ),
        "description is not text",
        "validate",
    ),
    "huge-correlation": (
        "um.yaml",
        _replace("[lease_rate, resale_share, 0.5]", f"[lease_rate, resale_share, {HUGE}]"),
        "not a finite number",
        "validate",
    ),
}


@pytest.mark.parametrize("case", sorted(USER_CASES))
def test_hostile_user_models_are_refused(templates, tmp_path, capsys, case):
    target, change, phrase, command = USER_CASES[case]
    folder = _copy(templates, tmp_path)
    f = folder / target
    f.write_text(change(f.read_text()))
    argv = [command, str(folder / "um.yaml")]
    if command == "run":
        argv += ["--draws", "50", "--quiet", "--out", str(tmp_path / "out")]
    shown = "um_model.py" if case.startswith("exit-") else "um.yaml"
    err = _refused(capsys, argv, shown, phrase)
    if case == "output-kind-misspelt":
        assert re.search(r"um\.yaml:\d+: outputs\.npv_own_minus_lease: ", err), err


def test_a_model_function_that_exits_does_not_stop_capex(templates, tmp_path):
    from model.engine.models.user import UserModelError, call_user_function
    from model.loading.scenario import load_scenario

    folder = _copy(templates, tmp_path)
    f = folder / "um_model.py"
    f.write_text(f.read_text() + "\n\ndef bye(inputs, years):\n    raise SystemExit(3)\n")
    (folder / "um.yaml").write_text(
        (folder / "um.yaml").read_text().replace("um_model.py:lease_versus_own", "um_model.py:bye")
    )
    user = load_scenario(folder / "um.yaml").user_model
    with pytest.raises(UserModelError, match=r"sys\.exit\(3\)") as e:
        call_user_function(user, {}, None)
    assert e.value.problems[0].file.endswith("um_model.py") and e.value.problems[0].line


# ============================================================================ priors files
def _priors_text() -> str:
    return (ROOT / "assumptions" / "observations" / "priors.yaml").read_text()


PRIORS_CASES = {
    "unknown-model": (_replace("  exponential:\n", "  exponentiall:\n"), "did you mean"),
    "unit-list": (
        _replace("      unit: USD/year\n", "      unit: [USD/year]\n"),
        "unit is a list, not text",
    ),
    "unit-wrong-dimension": (
        _replace("      unit: 1/year\n", "      unit: USD/year\n"),
        "does not fit growth",
    ),
    "unit-unknown": (_replace("      unit: log\n", "      unit: bananas\n"), "does not fit noise"),
    "huge-median": (_replace("      median: 10B\n", f"      median: {HUGE}\n"), "not a finite"),
    "huge-sigma": (_replace("      sigma: 2.5\n", f"      sigma: {HUGE}\n"), "not a finite"),
}


@pytest.mark.parametrize("case", sorted(PRIORS_CASES))
def test_hostile_priors_are_refused(tmp_path, case):
    from model.loading.priors import load_priors

    change, phrase = PRIORS_CASES[case]
    path = tmp_path / "priors.yaml"
    path.write_text(change(_priors_text()))
    with pytest.raises(AssumptionError) as e:
        load_priors(path)
    hits = [p for p in e.value.problems if phrase in p.message]
    assert hits, str(e.value)
    assert all(p.file.endswith("priors.yaml") and p.line for p in hits)
    assert all("; " in p.message for p in hits)


ALIAS_BOMB = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 10)
)


@pytest.mark.parametrize(
    "body, phrase",
    [
        ("models: !!python/object/apply:os.system [echo hi]\n", "tag"),
        (ALIAS_BOMB, "alias"),
        ("models:\n  exponentiall: {}\n", "did you mean"),
    ],
    ids=["python-tag", "alias-bomb", "unknown-model"],
)
def test_validate_reads_a_calibrations_priors_file(tmp_path, capsys, body, phrase):
    obs = tmp_path / "observations"
    obs.mkdir()
    shutil.copy(ROOT / "assumptions" / "observations" / "anthropic_revenue.csv", obs)
    (obs / "bad_priors.yaml").write_text(body)
    for f in ("anthropic_topdown.yaml", "anthropic_calibrated.yaml"):
        shutil.copy(ROOT / "assumptions" / f, tmp_path / f)
    parent = (tmp_path / "anthropic_topdown.yaml").read_text()
    if "extends:" in parent:  # the parent's own parents
        for name in re.findall(r"^extends:\s*(\S+)", parent, re.MULTILINE):
            shutil.copy(ROOT / "assumptions" / name, tmp_path / name)
    cal = tmp_path / "anthropic_calibrated.yaml"
    cal.write_text(
        cal.read_text().replace(
            "      model: logistic\n",
            "      model: logistic\n      priors: observations/bad_priors.yaml\n",
        )
    )
    capsys.readouterr()
    assert main(["validate", str(cal)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "bad_priors.yaml" in err, err
    assert phrase in err.lower() or phrase in err, err


def test_prior_units_agree_with_the_calibration_models():
    from model.calibration.curves import MODELS
    from model.core.vocabulary import CALIBRATION_MODELS
    from model.loading.priors import PRIOR_UNITS

    for name, spec in MODELS.items():
        assert CALIBRATION_MODELS[name] == spec.dimension
        for p in spec.params:
            if p.name != "level":
                assert (PRIOR_UNITS[p.name],) == p.units, (name, p.name)


# ============================================================================ other files
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_fifo_is_not_a_regular_file(tmp_path, capsys):
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    err = _refused(capsys, ["validate", str(fifo)], "pipe.yaml", "not a regular file", line=False)
    assert "not a regular file" in err and "no such file" not in err


def test_fit_data_with_mixed_units_names_the_unit_column(tmp_path):
    from model.loading.observations import load_data

    head = "value,unit,source_title,publisher,published,address,quote,confidence,date,note\n"
    row = '{v},{u},T,P,2025,https://example.org/a,"q",direct,,\n'
    path = tmp_path / "mixunit.csv"
    path.write_text(head + row.format(v=1, u="USD") + row.format(v=2, u="GW"))
    with pytest.raises(AssumptionError) as e:
        load_data(path)
    p = next(p for p in e.value.problems if "units mix" in p.message)
    assert p.parameter == "unit" and p.line == 3 and p.file.endswith("mixunit.csv")


def test_one_chain_diagnostics_print_without_r_hat():
    from model.reporting.text import _diag_number

    assert _diag_number(None, ".3f", "n/a (one chain)") == "n/a (one chain)"
    assert _diag_number(float("nan"), ".0f", "n/a") == "n/a"
    assert _diag_number(1.0012, ".3f", "n/a") == "1.001"


@pytest.mark.parametrize(
    "module, names",
    [
        ("model.loading.scenario", ["SLUG"]),
        ("model.loading.user_models", ["_NAME", "_REFERENCE", "_ENTRY_NAME"]),
        ("model.loading.observations", ["_DATE", "_YEAR", "_PUBLISHED", "_URL", "_COLUMN_NAME"]),
        ("model.core.distributions", ["_QUANTILE"]),
    ],
)
def test_name_patterns_refuse_a_final_newline(module, names):
    valid = {
        "SLUG": "abc",
        "_NAME": "abc",
        "_REFERENCE": "m.py:f",
        "_ENTRY_NAME": "pkg.name",
        "_DATE": "2025-01-01",
        "_YEAR": "2025",
        "_PUBLISHED": "2025-01",
        "_URL": "https://example.org/a",
        "_COLUMN_NAME": "value",
        "_QUANTILE": "p05",
    }
    mod = sys.modules.get(module) or __import__(module, fromlist=["_"])
    for name in names:
        pattern = getattr(mod, name)
        assert pattern.match(valid[name]), name
        assert not pattern.match(valid[name] + "\n"), name


def test_the_slug_is_at_most_64_characters():
    from model.loading.scenario import SLUG, slug_problem

    assert SLUG.match("a" * 64) and not SLUG.match("a" * 65)
    assert "shorten it" in slug_problem("a" * 65)
    assert slug_problem("a" * 64) is None


def test_the_shipped_assumptions_still_validate(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert main(["validate", "assumptions/"]) == 0, capsys.readouterr().err
