"""The tutorial (docs/tutorial/) runs top to bottom, and the glossary covers every printed term.

* Every notebook in ``docs/tutorial/`` and ``docs/tutorial/answers/`` is executed with nbclient in
  a fresh kernel that runs *this* interpreter (``sys.executable``: the packages under test, no
  registered kernel needed), with the notebook's folder as working directory, as a reader runs it.
  Any error in any cell fails the test. The PyMC notebooks are marked ``slow`` (still run in CI).
* Notebooks are stored clean (no outputs), and their prose states no computed number: every
  figure a reader sees is printed by a code cell, so it cannot drift from the code.
* ``docs/concepts.md`` defines every metric, probability and sensitivity term the tool prints.
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs" / "tutorial"
CONCEPTS = ROOT / "docs" / "concepts.md"
NOTEBOOKS = sorted(TUTORIAL.glob("*.ipynb")) + sorted((TUTORIAL / "answers").glob("*.ipynb"))
#: Notebooks that sample with PyMC.
SLOW = ("05_",)
#: Seconds a single cell may take before the test fails.
CELL_TIMEOUT = 600


class _ThisInterpreter(KernelSpecManager):
    """Kernel specs that always launch ipykernel on the interpreter running the tests."""

    def get_kernel_spec(self, kernel_name):
        return KernelSpec(
            argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            display_name=f"Python ({sys.executable})",
            language="python",
            resource_dir=str(TUTORIAL),
        )


@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory):
    """Environment of the kernels: calibrations cached in a fresh folder for this module only
    (notebook 5's posteriors are reused by its answers, never by a later run)."""
    saved = {k: os.environ.get(k) for k in ("CAPEX_CACHE_DIR", "PYDEVD_DISABLE_FILE_VALIDATION")}
    os.environ["CAPEX_CACHE_DIR"] = str(tmp_path_factory.mktemp("capex-cache"))
    os.environ["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # quiet debugger warning at start-up
    yield
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def _param(path: Path):
    rel = path.relative_to(TUTORIAL).as_posix()
    marks = [pytest.mark.slow] if path.name.startswith(SLOW) else []
    return pytest.param(path, id=rel, marks=marks)


@pytest.mark.parametrize("path", [_param(p) for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path, kernel_env):
    nb = nbformat.read(path, as_version=4)
    km = KernelManager(kernel_name="python3", kernel_spec_manager=_ThisInterpreter())
    client = NotebookClient(
        nb,
        km=km,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    t0 = time.perf_counter()
    try:
        client.execute()  # raises CellExecutionError on the first failing cell
    finally:
        if km.has_kernel:  # nbclient leaves a kernel it did not create running
            km.shutdown_kernel(now=True)
    print(f"{path.relative_to(TUTORIAL)}: {time.perf_counter() - t0:.1f} s")
    errors = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert not errors


def test_tutorial_has_six_notebooks_each_with_answers():
    main = sorted(p.name for p in TUTORIAL.glob("*.ipynb"))
    assert [n[:3] for n in main] == ["01_", "02_", "03_", "04_", "05_", "06_"]
    for n in main:
        assert (TUTORIAL / "answers" / f"{n[:2]}_answers.ipynb").is_file(), n
        text = (TUTORIAL / n).read_text()
        assert f"answers/{n[:2]}_answers.ipynb" in text, f"{n} does not link its answers"
        assert "## Exercises" in text, f"{n} has no exercises"


@pytest.mark.parametrize(
    "path", [pytest.param(p, id=p.relative_to(TUTORIAL).as_posix()) for p in NOTEBOOKS]
)
def test_notebook_is_stored_clean(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.get("outputs") and cell.get("execution_count") is None, (
                f"{path.name}: save notebooks without outputs"
            )


# Numbers that prose may state: definitions, not results (a 90 % interval, a 95 % confidence
# level). Everything else that looks like a computed figure must be printed by a code cell.
_ALLOWED = {"90 %", "95 %"}
_NUMBER = re.compile(r"\$\s?\d|\d\s?%|\d\.\d|\d,\d{3}|\b\d+\s?(?:B|M|bn|T)\b|\b(?:19|20)\d\d\b")


def _prose(markdown: str) -> str:
    """Markdown without code, maths, link targets and the notebook numbers in titles."""
    text = re.sub(r"```.*?```", " ", markdown, flags=re.S)
    text = re.sub(r"`[^`]*`", " ", text)
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.S)
    text = re.sub(r"\$[^$\n]+\$", " ", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    for allowed in _ALLOWED:
        text = text.replace(allowed, " ")
    return text


@pytest.mark.parametrize(
    "path", [pytest.param(p, id=p.relative_to(TUTORIAL).as_posix()) for p in NOTEBOOKS]
)
def test_prose_states_no_computed_number(path):
    nb = nbformat.read(path, as_version=4)
    found = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            for m in _NUMBER.finditer(_prose(cell.source)):
                line = _prose(cell.source)[max(0, m.start() - 30) : m.end() + 30]
                found.append(f"cell {i}: ...{line.strip()}...")
    assert not found, (
        f"{path.name} states figures in prose; print them from a code cell "
        "instead:\n" + "\n".join(found)
    )


def test_readme_lists_every_notebook():
    text = (TUTORIAL / "README.md").read_text()
    for p in NOTEBOOKS:
        assert p.relative_to(TUTORIAL).as_posix() in text, p.name


# ----------------------------------------------------------------------------------- glossary
def _defined_terms() -> str:
    """Lower-case text of the glossary's headings (a term is defined by a heading naming it)."""
    return "\n".join(
        line.lower() for line in CONCEPTS.read_text().splitlines() if line.startswith("#")
    )


def test_concepts_defines_every_metric_and_probability():
    from model.core.vocabulary import OUTPUT_LIST

    headings = _defined_terms()
    names = [o.name for o in OUTPUT_LIST if o.name != "total_spend"]
    missing = [n for n in names if f"`{n}`" not in headings]
    assert not missing, f"docs/concepts.md has no heading for {missing}"


#: Terms printed by `capex run` (model/reporting/text.py summary_table) and `capex compare`.
RUN_TERMS = [
    "P(NPV > 0)",
    "P(payback by",
    "P05",
    "P50",
    "P95",
    "mean ± MCSE",
    "undefined",
    "sourced",
    "hypothetical",
    "input hash",
    "draws",
    "seed",
]
COMPARE_TERMS = ["NPV per $ of capex", "common random numbers", "hypothetical parameters"]
#: Terms printed by `capex sensitivity` (model/analysis/sensitivity/).
SENSITIVITY_TERMS = [
    "base value",
    "tornado",
    "P10",
    "P90",
    "swing",
    "Sobol' indices",
    "first-order S1",
    "total ST",
    "sum of S1",
    "bootstrap CI",
    "gaussian-copula",
    "category",
    "provenance",
    "rank correlations",
    "Spearman",
    "PRCC",
    "break-even",
    "percentile",
    "stress",
    "decile",
    "hypothetical inputs",
]


@pytest.fixture(scope="module")
def printed():
    """What the command line prints for the default scenario (small, fast settings)."""
    import contextlib
    import io

    from model.cli import main

    path = str(ROOT / "assumptions" / "anthropic_fluidstack.yaml")
    commands = {
        "run": ["run", path, "--draws", "400", "--quiet"],
        "compare": [
            "compare",
            path,
            "--scenario",
            "base",
            "--scenario",
            "refresh",
            "--draws",
            "400",
            "--quiet",
        ],
        "sensitivity": [
            "sensitivity",
            path,
            "--draws",
            "400",
            "--sobol-n",
            "64",
            "--resamples",
            "20",
            "--quiet",
        ],
    }
    out = {}
    for kind, argv in commands.items():
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
            assert main(argv) == 0, kind
        out[kind] = buf.getvalue()
    return out


@pytest.mark.parametrize(
    "kind,terms",
    [("run", RUN_TERMS), ("compare", COMPARE_TERMS), ("sensitivity", SENSITIVITY_TERMS)],
)
def test_concepts_defines_every_printed_term(printed, kind, terms):
    headings = _defined_terms()
    text = printed[kind].lower()
    stale = [t for t in terms if t.lower() not in text]
    assert not stale, f"the {kind} output no longer prints {stale}: update this list"
    missing = [t for t in terms if t.lower() not in headings]
    assert not missing, f"docs/concepts.md has no heading for {missing} ({kind} output)"


def test_cli_help_and_readme_link_the_glossary_and_tutorial():
    from model.cli import build_parser

    assert "docs/concepts.md" in build_parser().format_help()
    readme = (ROOT / "README.md").read_text()
    assert "docs/tutorial/" in readme and "docs/concepts.md" in readme
