"""Write the generated documents: ``assumptions/README.md`` (the assumption-file language, from
the vocabulary) and ``docs/api.md`` (the Python API, from the docstrings of ``model.__all__``).

``python -m model.cli.docs`` rewrites both; ``--check`` exits 1 when either drifted (a test runs
the same check). This module sits in the top layer because the API reference documents the
package root, which re-exports every layer.
"""

from __future__ import annotations

import functools
import inspect
import sys
from pathlib import Path

import model

from ..core.vocabulary import OUTPUT_LIST
from ..reporting.docs import render
from .common import write_generated

API_HEADER = """# The Python API

*Generated from the docstrings by `python -m model.cli.docs`; do not edit by hand (a test
fails when it drifts).*

```python
import model

sc = model.load_scenario("assumptions/anthropic_fluidstack.yaml")
res = model.simulate(sc, draws=10_000, seed=0)
res.metric_summary("npv"), res.probability("npv_positive")
model.sensitivity(sc, output="npv").headline()
model.build_report(res)
```
"""


def _doc(obj) -> str:
    return inspect.cleandoc(obj.__doc__ or "(no docstring)")


def _signature(name: str, obj) -> str:
    try:
        return f"{name}{inspect.signature(obj)}"
    except (TypeError, ValueError):
        return name


def _members(cls) -> list[tuple[str, object]]:
    """Public methods and properties a class defines itself, in source order."""
    out = []
    for name, member in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(member, (property, functools.cached_property)) or inspect.isfunction(member):
            out.append((name, member))
    return out


def _api_entry(name: str, obj) -> list[str]:
    lines = [
        f"## `model.{name}`",
        "",
        "```",
        _signature(name, obj),
        "```",
        "",
        "```text",
        _doc(obj),
        "```",
        "",
    ]
    if inspect.isclass(obj):
        for mname, member in _members(obj):
            target = (
                member.fget if isinstance(member, property) else getattr(member, "func", member)
            )
            kind = (
                "property"
                if isinstance(member, (property, functools.cached_property))
                else "method"
            )
            first = _doc(target).split("\n\n")[0].replace("\n", " ")
            sig = mname if kind == "property" else _signature(mname, target)
            lines.append(f"- `{sig}` ({kind}): {first}")
        lines.append("")
    return lines


def _outputs_table() -> list[str]:
    rows = [
        "## Outputs (what a run returns)",
        "",
        "Every metric, series and probability, from `model.core.vocabulary.OUTPUTS`; "
        "`capex run --json` and `results.nc` use these names.",
        "",
        "| name | kind | unit | models | label | meaning |",
        "|---|---|---|---|---|---|",
    ]
    for o in OUTPUT_LIST:
        rows.append(
            f"| `{o.name}` | {o.kind} | `{o.unit}` | {', '.join(o.models)} | "
            f"{o.label} | {o.description} |"
        )
    return rows + [""]


def render_api() -> str:
    """The text of ``docs/api.md``: every name of ``model.__all__`` with its signature and
    docstring, the public members of the result types, and the output vocabulary."""
    lines = [API_HEADER]
    for name in model.__all__:
        if name != "__version__":
            lines += _api_entry(name, getattr(model, name))
    lines += _outputs_table()
    return "\n".join(lines)


def main(argv=None) -> int:
    """Write assumptions/README.md and docs/api.md (``--check``: exit 1 when either drifted)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    check = "--check" in argv
    targets = {Path("assumptions") / "README.md": render(), Path("docs") / "api.md": render_api()}
    return write_generated(targets, check, "python -m model.cli.docs")


if __name__ == "__main__":
    sys.exit(main())
