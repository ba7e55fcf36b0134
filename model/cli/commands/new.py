"""``capex new``: write a commented template assumption file that validates (``--python``:
with a user-model Python file beside it, a lease-versus-own model that runs)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from ...core.errors import AssumptionError, Problem
from ...core.fileio import atomic_write
from ...loading.scenario import SLUG


def template_text(name: str, model: str = "programme", file: str = "FILE.yaml") -> str:
    """The template for ``model`` with ``name`` filled in."""
    text = resources.files("model.cli").joinpath("templates", f"{model}.yaml").read_text("utf-8")
    return text.replace("__NAME__", name).replace("__FILE__", file)


def write_template(
    name: str, model: str = "programme", out: Path | None = None, force: bool = False
) -> Path:
    """Write the template to ``out`` (default ``<name>.yaml``); refuse to overwrite unless forced.

    Raises
    ------
    AssumptionError
        When the name is not a slug or the file exists.
    """
    if not SLUG.match(name):
        raise AssumptionError(
            Problem(
                f"name {name!r} is not a slug; use lowercase letters, digits, '-' or '_', "
                "e.g. my-programme",
                parameter="NAME",
            )
        )
    out = out or Path(f"{name.replace('-', '_')}.yaml")
    if out.exists() and not force:
        raise AssumptionError(Problem("file exists; choose another --out or add --force", str(out)))
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, template_text(name, model, str(out)))
    return out


def write_python_template(name: str, out: Path | None = None, force: bool = False) -> list[Path]:
    """Write the user-model template: ``<name>.yaml`` and, beside it, ``<name>_model.py``
    (lease versus own, per GPU); refuse to overwrite either unless forced."""
    out = out or Path(f"{name.replace('-', '_')}.yaml")
    py = out.with_name(f"{out.stem}_model.py")
    if py.exists() and not force:
        raise AssumptionError(Problem("file exists; choose another --out or add --force", str(py)))
    write_template(name, "python", out, force)
    code = resources.files("model.cli").joinpath("templates", "python_model.py").read_text("utf-8")
    atomic_write(py, code)
    atomic_write(out, out.read_text(encoding="utf-8").replace("__PYFILE__", py.name))
    return [out, py]


def write_portfolio_template(name: str, out: Path | None = None, force: bool = False) -> list:
    """Write a portfolio template ``<name>.yaml`` and its two programme members beside it
    (``<name>_a.yaml``, ``<name>_b.yaml``, members ``<name>-a`` and ``<name>-b``); refuse to
    overwrite any unless forced."""
    out = out or Path(f"{name.replace('-', '_')}.yaml")
    members = [out.with_name(f"{out.stem}_{k}.yaml") for k in ("a", "b")]
    for m in members:
        if m.exists() and not force:
            raise AssumptionError(
                Problem("file exists; choose another --out or add --force", str(m))
            )
    for k, m in zip(("a", "b"), members):
        write_template(f"{name}-{k}", "programme", m, force)
    write_template(name, "portfolio", out, force)
    text = out.read_text(encoding="utf-8")
    text = text.replace("__MEMBER_A__", members[0].name).replace("__MEMBER_B__", members[1].name)
    atomic_write(out, text)
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
