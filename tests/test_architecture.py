"""The architecture, enforced: layers point one way, no import cycle (function-local imports
included), function-local imports only defer heavy libraries (and say so), small functions, a
public API that works, a CLI that starts without heavy libraries."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "model"
#: Longest function body (lines after the docstring).
MAX_FUNCTION_LINES = 60


def _modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    MODULES.update(out)
    return out


MODULES: set[str] = set()


def _imports(module: str, path: Path) -> list[tuple[str, int, bool]]:
    """(imported module, line, inside a function) of every import of ``module``."""
    tree = ast.parse(path.read_text())
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    out = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.Import):
                out.extend((a.name, child.lineno, in_function) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")
                    base = base[: len(base) - child.level + 1]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module
                names = [f"{target}.{a.name}" for a in child.names]
                submodules = [n for n in names if n in MODULES]
                # `from pkg import submodule` imports the submodule (grimp's rule); `from pkg
                # import name` imports pkg
                out.extend((n, child.lineno, in_function) for n in submodules)
                if len(submodules) < len(names):
                    out.append((target, child.lineno, in_function))
            visit(child, inner)

    visit(tree, False)
    return out


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    graph = {m: set() for m in mods}
    for m, path in mods.items():
        for target, _, _ in _imports(m, path):
            if target in mods and target != m:
                graph[m].add(target)
    return graph


def test_the_layer_contract_holds():
    """import-linter's layers contract of pyproject.toml (also run by .ci/run)."""
    exe = Path(sys.executable).with_name("lint-imports")
    p = subprocess.run([str(exe)], capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 0, p.stdout + p.stderr


def test_no_import_cycle_counting_function_local_imports():
    graph = _graph()
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []
    counter = [0]

    def strongconnect(v):  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in graph:
        if v not in index:
            strongconnect(v)
    assert not cycles, f"import cycles: {cycles}"


def test_function_local_imports_only_defer_and_say_so():
    """A function-local import defers a heavy library (or a module that loads one) and its line,
    or the line above, says so (``# deferred: ...``)."""
    offenders = []
    for m, path in _modules().items():
        lines = path.read_text().splitlines()
        for target, line, in_function in _imports(m, path):
            if not in_function:
                continue
            here = lines[line - 1] + (lines[line - 2] if line > 1 else "")
            if "deferred" not in here:
                offenders.append(f"{path.relative_to(ROOT)}:{line}: {target}")
    assert not offenders, (
        "function-local imports without a '# deferred: why' comment:\n"
        + "\n".join(sorted(set(offenders)))
    )


def test_functions_are_small():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            body = node.body
            first = body[0]
            start = first.lineno
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                start = body[1].lineno if len(body) > 1 else first.end_lineno
            n = node.end_lineno - start + 1
            if n > MAX_FUNCTION_LINES:
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {n} lines")
    assert not offenders, "functions over 60 lines:\n" + "\n".join(offenders)


HEAVY = (
    "scipy.stats",
    "scipy.optimize",
    "pandas",
    "xarray",
    "matplotlib",
    "pymc",
    "arviz",
    "SALib",
    "jinja2",
    "h5py",
    "h5netcdf",
    "rich",
)


@pytest.mark.parametrize(
    "argv,allowed",
    [
        (["--help"], ()),
        (["validate", "assumptions/anthropic_fluidstack.yaml"], ()),
        (["run", "--draws", "200", "--quiet"], ()),
    ],
)
def test_commands_do_not_import_heavy_libraries(argv, allowed):
    code = (
        "import sys, io, contextlib\nfrom model.cli import main\n"
        "buf = io.StringIO()\n"
        "with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):\n"
        "    try:\n        main(%r)\n    except SystemExit:\n        pass\n"
        "print(','.join(sorted(m for m in sys.modules)))".replace("%r", repr(argv))
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    loaded = set(p.stdout.strip().split(","))
    heavy = [h for h in HEAVY if h in loaded and h not in allowed]
    assert not heavy, f"capex {' '.join(argv)} imported {heavy}"


def test_the_public_api_is_what_it_claims():
    import model
    from model.analysis.sensitivity.result import SensitivityResult
    from model.engine.results import Results

    for name in model.__all__:
        obj = getattr(model, name)
        assert obj is not None, name
        if name != "__version__":
            assert obj.__doc__ and obj.__doc__.strip(), f"model.{name} has no docstring"
    for name in ("load_scenario", "simulate", "sensitivity", "calibrate", "build_report"):
        assert callable(getattr(model, name)) and not isinstance(
            getattr(model, name), type(model)
        ), name
    assert model.Results is Results and model.SensitivityResult is SensitivityResult
    from model import sensitivity  # the documented call: a function, not a module

    assert callable(sensitivity) and sensitivity.__module__ == "model.analysis.sensitivity"
