"""``capex new``: write a commented template assumption file that validates (``--python``:
with a user-model Python file beside it, a lease-versus-own model that runs)."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from ...core.errors import AssumptionError, Problem
from ...core.fileio import atomic_write, folder_mode
from ...loading.scenario import SLUG
from ...reporting.outputs import environment_problem


def template_text(name: str, model: str = "programme", file: str = "FILE.yaml") -> str:
    """The template for ``model`` with ``name`` filled in."""
    text = resources.files("model.cli").joinpath("templates", f"{model}.yaml").read_text("utf-8")
    return text.replace("__NAME__", name).replace("__FILE__", file)


def check_new_file(path: Path, force: bool = False) -> None:
    """Stop (exit 2) before anything is written when ``path`` cannot take a new template.

    ``--force`` replaces an existing file but keeps it as ``<file>.bak`` (:func:`write_new`), so
    no option loses a file: an existing ``.bak`` is refused too.

    Raises
    ------
    AssumptionError
        ``path`` is a symbolic link or a folder, its folder is under a file, or it exists
        (without ``force``; with it, when its ``.bak`` exists as well).
    """
    path = Path(path)
    probe = path.parent
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    problem = None
    if path.is_symlink():
        problem = "is a symbolic link; give a real file path"
    elif path.is_dir():
        problem = "is a folder; give a file name, e.g. --out my_plan.yaml"
    elif not probe.is_dir():
        problem = f"{probe} is a file, so no folder can be made under it; choose another path"
    elif path.exists() and not force:
        problem = "file exists; choose another --out, or add --force (it keeps this one as .bak)"
    elif path.exists() and _backup(path).exists():
        problem = f"file exists and so does {_backup(path).name}; move one of them away"
    if problem:
        raise AssumptionError(Problem(problem, str(path), None, "--out"))


def _backup(path: Path) -> Path:
    return path.with_name(path.name + ".bak")


def write_new(path: Path, text: str) -> Path | None:
    """Write ``text`` to ``path`` atomically; an existing file (``--force``) is kept as
    ``<file>.bak`` first. Returns the backup's path, or None."""
    backup = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=folder_mode())
        if path.exists():
            backup = _backup(path)
            os.rename(path, backup)
        atomic_write(path, text)
    except OSError as exc:
        raise environment_problem(exc, path) from None
    return backup


def _check_name(name: str) -> None:
    if not SLUG.match(name):
        raise AssumptionError(
            Problem(
                f"name {name!r} is not a slug; use lowercase letters, digits, '-' or '_', "
                "e.g. my-programme",
                parameter="NAME",
            )
        )


def _default_out(name: str, out: Path | None) -> Path:
    return Path(out) if out else Path(f"{name.replace('-', '_')}.yaml")


def write_template(
    name: str, model: str = "programme", out: Path | None = None, force: bool = False
) -> Path:
    """Write the template to ``out`` (default ``<name>.yaml``); refuse to overwrite unless
    forced (then the previous file is kept as ``.bak``).

    Raises
    ------
    AssumptionError
        When the name is not a slug or the file cannot be written (:func:`check_new_file`).
    """
    _check_name(name)
    out = _default_out(name, out)
    check_new_file(out, force)
    write_new(out, template_text(name, model, str(out)))
    return out


def write_python_template(name: str, out: Path | None = None, force: bool = False) -> list[Path]:
    """Write the user-model template: ``<name>.yaml`` and, beside it, ``<name>_model.py``
    (lease versus own, per GPU); both are checked before either is written."""
    _check_name(name)
    out = _default_out(name, out)
    py = out.with_name(f"{out.stem}_model.py")
    for f in (out, py):
        check_new_file(f, force)
    text = template_text(name, "python", str(out)).replace("__PYFILE__", py.name)
    code = resources.files("model.cli").joinpath("templates", "python_model.py").read_text("utf-8")
    write_new(py, code)
    write_new(out, text)
    return [out, py]


def write_portfolio_template(name: str, out: Path | None = None, force: bool = False) -> list:
    """Write a portfolio template ``<name>.yaml`` and its two programme members beside it
    (``<name>_a.yaml``, ``<name>_b.yaml``, members ``<name>-a`` and ``<name>-b``); all three are
    checked before any is written."""
    _check_name(name)
    out = _default_out(name, out)
    members = [out.with_name(f"{out.stem}_{k}.yaml") for k in ("a", "b")]
    for f in (out, *members):
        check_new_file(f, force)
    for k, m in zip(("a", "b"), members):
        _check_name(f"{name}-{k}")
        write_new(m, template_text(f"{name}-{k}", "programme", str(m)))
    text = template_text(name, "portfolio", str(out))
    text = text.replace("__MEMBER_A__", members[0].name).replace("__MEMBER_B__", members[1].name)
    write_new(out, text)
    return [out, *members]


def cmd_new(args) -> int:
    if getattr(args, "python", False):
        out, py = write_python_template(
            args.name, Path(args.out) if args.out else None, force=args.force
        )
        print(f"wrote {out} and its model {py}: every parameter is hypothetical until you cite it.")
        print(f"next: edit them, then 'capex validate {out}' and 'capex run {out}'")
        return 0
    if args.model == "portfolio":
        paths = write_portfolio_template(
            args.name, Path(args.out) if args.out else None, force=args.force
        )
        print(
            f"wrote {paths[0]} and its members {paths[1]}, {paths[2]}: every parameter is "
            "hypothetical until you cite it."
        )
        print(f"next: edit them, then 'capex validate {paths[0]}' and 'capex portfolio {paths[0]}'")
        return 0
    out = write_template(
        args.name, args.model, Path(args.out) if args.out else None, force=args.force
    )
    print(f"wrote {out}: every parameter is hypothetical until you cite it.")
    print(f"next: edit it, then 'capex validate {out}' and 'capex run {out}'")
    return 0
