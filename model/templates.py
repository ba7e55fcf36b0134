"""``capex new``: write a commented template assumption file that validates."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from .errors import AssumptionError, Problem

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def template_text(name: str, model: str = "programme", file: str = "FILE.yaml") -> str:
    """The template for ``model`` with ``name`` filled in."""
    text = resources.files("model").joinpath("templates", f"{model}.yaml").read_text("utf-8")
    return text.replace("__NAME__", name).replace("__FILE__", file)


def write_template(name: str, model: str = "programme", out: Path | None = None,
                   force: bool = False) -> Path:
    """Write the template to ``out`` (default ``<name>.yaml``); refuse to overwrite unless forced.

    Raises
    ------
    AssumptionError
        When the name is not a slug or the file exists.
    """
    if not _NAME.match(name):
        raise AssumptionError(Problem(
            f"name {name!r} is not a slug; use lowercase letters, digits, '-' or '_', "
            "e.g. my-programme", parameter="NAME"))
    out = out or Path(f"{name.replace('-', '_')}.yaml")
    if out.exists() and not force:
        raise AssumptionError(Problem("file exists; choose another --out or add --force",
                                      str(out)))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(template_text(name, model, str(out)), encoding="utf-8")
    tmp.replace(out)
    return out
