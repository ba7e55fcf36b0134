"""Command line: ``capex validate|run|compare|sensitivity|calibrate|report|sources|new``.

Exit codes: 0 ok, 2 invalid input (messages on stderr as ``file:line: parameter: what is wrong;
how to fix``, never a traceback), 1 internal error. ``--json`` output goes to stdout alone.
Glossary of every printed term: docs/concepts.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from pathlib import Path

from . import __version__
from .jsonout import print_json
from .errors import AssumptionError, Problem

DEFAULT_SCENARIO = Path("assumptions") / "anthropic_fluidstack.yaml"
EPILOG = (
    "Glossary of every term printed: docs/concepts.md. Model equations: docs/model.md. "
    "Exit codes: 0 ok, 2 invalid input, 1 internal error."
)


class UsageError(AssumptionError):
    """Bad command-line input (exit 2)."""


def expand_paths(paths: list[str]) -> list[tuple[Path, bool]]:
    """Files named, and the ``*.yaml``/``*.yml`` of folders named: ``(path, from_folder)``.

    Raises
    ------
    UsageError
        Listing every path that does not exist or every folder without assumption files.
    """
    out: list[tuple[Path, bool]] = []
    problems = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            found = sorted(x for x in path.glob("*.yaml") if x.is_file())
            found += sorted(x for x in path.glob("*.yml") if x.is_file())
            if not found:
                problems.append(Problem("folder holds no .yaml assumption files; name a file or a folder of assumption files", p))
            out.extend((f, True) for f in found)
        elif path.is_file():
            out.append((path, False))
        else:
            problems.append(Problem("no such file or folder; check the path", p))
    if problems:
        raise UsageError(problems)
    return out


def _default_paths(paths: list[str] | None) -> list[str]:
    if paths:
        return paths
    if DEFAULT_SCENARIO.is_file():
        return [str(DEFAULT_SCENARIO)]
    raise UsageError(Problem(
        f"no PATH given and the default scenario {DEFAULT_SCENARIO} is not here; run from the "
        "repository root or name an assumption file"))


# ------------------------------------------------------------------------------- commands
def cmd_validate(args) -> int:
    from .loading import load_with_overlays

    paths = args.paths or ["assumptions"]
    files = [f for f, _ in expand_paths(paths)]
    problems: list[Problem] = []
    lines = []
    for f in files:
        sc, _, file_problems = load_with_overlays(f, allow_partial=True)
        if sc is None or file_problems:
            problems.extend(file_problems)
            continue
        c = sc.provenance_counts()
        kind = "partial base" if sc.partial else sc.model
        ov = f"; overlays: {', '.join(sc.overlays)}" if sc.overlays else ""
        if sc.unused:
            ov += f"; ignored (unused by its switches): {', '.join(sc.unused)}"
        lines.append(f"ok  {f}: {kind}, {c['parameters']} parameters ({c['sourced']} sourced, "
                     f"{c['hypothetical']} hypothetical), {len(sc.uncertain())} uncertain{ov}")
    if args.json:
        print_json({"ok": not problems, "files": [str(f) for f in files],
                          "problems": [str(p) for p in problems]})
    else:
        for line in lines:
            print(line)
    if problems:
        raise AssumptionError(problems)
    return 0


def cmd_sources(args) -> int:
    from .loading import load_scenario

    sc = load_scenario(args.path, scenario=args.scenario, allow_partial=True)
    cited = sc.cited_sources()
    if args.json:
        print_json({
            "scenario": sc.label,
            "sources": [{"key": k, "title": s.title, "publisher": s.publisher,
                         "published": s.published, "address": s.address,
                         "confidence": s.confidence, "note": s.note, "cited_by": names}
                        for k, (s, names) in cited.items()],
            "hypothetical": {p.name: p.provenance.hypothetical for p in sc.numeric()
                             if p.provenance and p.provenance.is_hypothetical},
        })
        return 0
    print(f"Bibliography of {sc.title} ({sc.path})")
    print()
    for i, (key, (s, names)) in enumerate(sorted(cited.items(), key=lambda kv: (
            kv[1][0].publisher.lower(), kv[1][0].published)), 1):
        print(f"[{i}] {s.citation()}")
        print(f"    key: {key}; cited by: {', '.join(names)}")
    unused = [k for k in sc.sources if k not in cited]
    if unused:
        print()
        print(f"Listed but not cited: {', '.join(unused)}")
    hyp = [p for p in sc.numeric() if p.provenance and p.provenance.is_hypothetical]
    if hyp:
        print()
        print("Hypothetical (no source; a rationale instead):")
        for p in hyp:
            print(f"  - {p.name}: {p.provenance.hypothetical}")
    c = sc.provenance_counts()
    print()
    print(f"{c['parameters']} parameters: {c['sourced']} sourced, {c['hypothetical']} hypothetical")
    return 0


def cmd_new(args) -> int:
    from .templates import write_template

    out = write_template(args.name, args.model, Path(args.out) if args.out else None,
                         force=args.force)
    print(f"wrote {out}: every parameter is hypothetical until you cite it.")
    print(f"next: edit it, then 'capex validate {out}' and 'capex run {out}'")
    return 0


# ------------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="capex",
        description="Will AI revenue pay back AI data-centre capex? Distributions of NPV, IRR, "
                    "payback and the revenue gap from cited assumption files.",
        epilog=EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"capex {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("validate", help="check assumption files (default: assumptions/)",
                       epilog=EPILOG)
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or folders")
    p.add_argument("--json", action="store_true", help="machine-readable result on stdout")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("sources", help="print the bibliography of an assumption file",
                       epilog=EPILOG)
    p.add_argument("path", metavar="PATH")
    p.add_argument("--scenario", help="apply a named overlay first")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_sources)

    p = sub.add_parser("new", help="write a commented template assumption file", epilog=EPILOG)
    p.add_argument("name", metavar="NAME", help="scenario name (slug), e.g. my-programme")
    p.add_argument("--model", choices=("programme", "industry"), default="programme")
    p.add_argument("--out", help="file to write (default: NAME with '-' as '_', .yaml, in the "
                   "current folder: my-plan -> my_plan.yaml)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(func=cmd_new)

    from . import cli_engine  # commands that need the engine register themselves

    cli_engine.register(sub, EPILOG)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``capex`` console script. Returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    from .allocator import keep_freed_memory

    keep_freed_memory()  # this process is ours: reuse freed array memory (model/allocator.py)
    from .jsonout import recording

    with recording():
        return _run_command(args)


def _run_command(args) -> int:
    """Run one parsed command; turn the project's errors and environment failures into exit 2
    with a message, and everything else into exit 1 (a bug)."""
    import errno

    try:
        return int(args.func(args) or 0)
    except AssumptionError as e:
        for p in e.problems:
            print(str(p), file=sys.stderr)
        n = len(e.problems)
        print(f"capex: {n} problem{'s' if n != 1 else ''} found; nothing was written.",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("capex: interrupted; nothing half-written was left in place.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except MemoryError:
        print("capex: ran out of memory; use fewer --draws (or --series-draws), or a machine "
              "with more memory. Nothing was written.", file=sys.stderr)
        return 2
    except OSError as e:
        if e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS):
            where = f" ({e.filename})" if e.filename else ""
            print(f"capex: cannot write{where}: {e.strerror}; free some space, or choose a "
                  "folder you can write to. The previous output is unchanged.", file=sys.stderr)
            return 2
        return _internal_error(e)
    except Exception as e:  # noqa: BLE001 - the one place internal errors are reported
        return _internal_error(e)


def _internal_error(e: BaseException) -> int:
    if os.environ.get("CAPEX_DEBUG"):
        traceback.print_exception(e)
    print(f"capex: internal error: {e.__class__.__name__}: {e}", file=sys.stderr)
    print("capex: this is a bug in capex, not in your input; rerun with CAPEX_DEBUG=1 for "
          "the traceback and report it.", file=sys.stderr)
    return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
