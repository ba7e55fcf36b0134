"""Execute every tutorial notebook and write the executed copies, with their outputs, into
docs/tutorial/executed/ (the notebooks themselves are stored clean), so a reader browsing the
repository sees the numbers. CI runs it (.ci/run) after the test suite.

    python docs/tutorial/render.py            # all notebooks
    python docs/tutorial/render.py 06         # those whose name starts with 06

Each notebook runs in a fresh kernel on this interpreter, with its own folder as working
directory, as the test suite runs it (tests/test_tutorial.py).
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import nbformat
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
OUT = HERE / "executed"


class _ThisInterpreter(KernelSpecManager):
    """Kernel specs that launch ipykernel on the interpreter running this script."""

    def get_kernel_spec(self, kernel_name):
        return KernelSpec(
            argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            display_name="Python 3 (ipykernel)",
            language="python",
        )


_LINK = re.compile(r"\]\(([^)#][^)]*)\)")


def _outside(target: str) -> bool:
    """A relative link to a file that is not a tutorial notebook (those are copied alongside)."""
    return "://" not in target and not target.endswith(".ipynb")


def render(path: Path, out: Path) -> float:
    """Execute ``path`` and write it, with outputs, to ``out``; return the seconds it took."""
    nb = nbformat.read(path, as_version=4)
    km = KernelManager(kernel_name="python3", kernel_spec_manager=_ThisInterpreter())
    t0 = time.perf_counter()
    NotebookClient(
        nb,
        km=km,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    for cell in nb.cells:  # one folder deeper: links to files outside the notebooks move
        if cell.cell_type == "markdown":
            cell.source = _LINK.sub(
                lambda m: f"]({'../' + m[1] if _outside(m[1]) else m[1]})", cell.source
            )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".ipynb.tmp")
    nbformat.write(nb, tmp)
    tmp.replace(out)  # atomic: a reader never sees half a notebook
    return time.perf_counter() - t0


def main(argv: list[str]) -> int:
    prefix = argv[0] if argv else ""
    paths = sorted(HERE.glob(f"{prefix}*.ipynb")) + sorted(
        (HERE / "answers").glob(f"{prefix}*.ipynb")
    )
    for p in paths:
        rel = p.relative_to(HERE)
        seconds = render(p, OUT / rel)
        print(f"rendered {rel} -> executed/{rel} in {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
