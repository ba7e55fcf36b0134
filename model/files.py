"""Bounded, sandboxed reading of input files: assumption YAML, observation and data CSV, priors.

Every input file capex reads goes through :func:`read_text`, which checks, before parsing:

* the path names a **regular file** (not a folder, device, FIFO or socket) outside the kernel's
  virtual file systems (``/proc``, ``/sys``, ``/dev``), with an expected suffix (``.yaml`` /
  ``.yml`` for assumption and priors files, ``.csv`` for observations and data), so that
  ``extends: /etc/passwd`` or ``/proc/self/environ`` is refused by name;
* its **size** is at most :func:`max_bytes` (10 MB by default; ``CAPEX_MAX_INPUT_BYTES``
  overrides it), checked on the file's size and again while reading (a file that grows, or a
  virtual file that reports size 0, cannot slip past);
* it is UTF-8 text.

YAML is parsed by :func:`parse_yaml`: libyaml's C parser where PyYAML has it (line numbers
kept), explicit tags (``!!python/...``, ``!!binary``, ``!custom``) refused with their line,
alias expansion bounded before anything is expanded (a "billion laughs" file is refused in
milliseconds), dates kept as text, duplicate keys reported.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import yaml

from .errors import Problem

#: Default largest input file [bytes].
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
MAX_BYTES_ENV = "CAPEX_MAX_INPUT_BYTES"
#: Virtual file systems no input may come from.
FORBIDDEN_ROOTS = (Path("/proc"), Path("/sys"), Path("/dev"))
#: A YAML document may expand (aliases) to at most this many nodes more than it holds.
ALIAS_EXPANSION_SLACK = 100_000
#: ... or to at most this many times the nodes it holds, whichever is larger.
ALIAS_EXPANSION_FACTOR = 10

YAML_SUFFIXES = (".yaml", ".yml")
CSV_SUFFIXES = (".csv",)


class InputFileError(Exception):
    """A file cannot be read as an input; carries one :class:`~model.errors.Problem`."""

    def __init__(self, problem: Problem):
        super().__init__(str(problem))
        self.problem = problem


def max_bytes() -> int:
    """The largest input file accepted [bytes]: ``CAPEX_MAX_INPUT_BYTES`` or 10 MB."""
    raw = os.environ.get(MAX_BYTES_ENV, "").strip()
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    return DEFAULT_MAX_BYTES


def _mb(n: int) -> str:
    return f"{n / 1e6:.3g} MB"


def check_input_path(path: Path, shown: str, suffixes: tuple[str, ...], what: str) -> Problem | None:
    """Why ``path`` cannot be an input file of kind ``what``, or None when it can."""
    path = Path(path)
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):
        return Problem("the path cannot be resolved (a loop of symbolic links?); give a plain "
                       "file path", shown)
    for root in FORBIDDEN_ROOTS:
        if resolved == root or root in resolved.parents:
            return Problem(f"is under {root}, a virtual file system, not a {what}; name a "
                           f"regular {'/'.join(suffixes)} file", shown)
    try:
        st = os.stat(resolved)
    except FileNotFoundError:
        return Problem("file not found; check the path", shown)
    except OSError as e:
        return Problem(f"cannot be read ({e.strerror}); check the path and its permissions",
                       shown)
    if stat.S_ISDIR(st.st_mode):
        return Problem(f"is a folder, not a file; name a {'/'.join(suffixes)} file", shown)
    if not stat.S_ISREG(st.st_mode):
        return Problem(f"is not a regular file (a device, pipe or socket); name a "
                       f"{'/'.join(suffixes)} file", shown)
    if resolved.suffix.lower() not in suffixes:
        return Problem(f"is not a {what} (expected a {' or '.join(suffixes)} file); name one",
                       shown)
    if st.st_size > max_bytes():
        return Problem(f"is {_mb(st.st_size)}, larger than the {_mb(max_bytes())} an input may "
                       f"be; split it, or raise the limit with {MAX_BYTES_ENV}=<bytes>", shown)
    return None


def read_text(path: Path, shown: str, suffixes: tuple[str, ...] = YAML_SUFFIXES,
              what: str = "YAML file", encoding: str = "utf-8") -> str:
    """Read an input file as text, within the bounds of this module.

    Parameters
    ----------
    path : Path
    shown : str
        The path as messages show it.
    suffixes : tuple of str
        Accepted file suffixes (lower case).
    what : str
        What the file should be, for messages.
    encoding : str
        ``utf-8`` or ``utf-8-sig`` (a CSV with a byte-order mark).

    Raises
    ------
    InputFileError
        Not found, a folder or special file, under /proc, /sys or /dev, wrong suffix, too
        large, or not UTF-8.
    """
    problem = check_input_path(path, shown, suffixes, what)
    if problem is not None:
        raise InputFileError(problem)
    limit = max_bytes()
    try:
        with open(Path(path).resolve(), "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as e:
        raise InputFileError(Problem(f"cannot be read ({e.strerror}); check its permissions",
                                     shown)) from None
    if len(data) > limit:
        raise InputFileError(Problem(
            f"is larger than the {_mb(limit)} an input may be; split it, or raise the limit "
            f"with {MAX_BYTES_ENV}=<bytes>", shown))
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise InputFileError(Problem(f"is not UTF-8 text (byte {e.start}); save it as UTF-8",
                                     shown, line)) from None


# ============================================================================ YAML
class LDict(dict):
    """A mapping that remembers the line of each key (``.lines``) and its own ``.line``/``.file``."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.lines: dict = {}
        self.line: int | None = None
        self.file: str | None = None


class LList(list):
    """A sequence that remembers the line of each item."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.lines: list[int] = []
        self.line: int | None = None


def _base_loader():
    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_base_loader()):
    """libyaml's safe loader (PyYAML's pure-Python one where libyaml is missing) that keeps dates
    as text: they are validated by the provenance rules instead."""


_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_MERGE = "tag:yaml.org,2002:merge"


def _line(node) -> int:
    return node.start_mark.line + 1


def _expected_tag(loader, node) -> str:
    if isinstance(node, yaml.ScalarNode):
        if node.style in (None, ""):
            return loader.resolve(yaml.ScalarNode, node.value, (True, False))
        return _STR
    return _SEQ if isinstance(node, yaml.SequenceNode) else _MAP


def _check_nodes(loader, root, shown: str) -> list[Problem]:
    """Explicit tags, and the size the document expands to through aliases.

    One pass over the distinct nodes (an alias is the same node object again), memoised, so a
    billion-laughs document is measured in microseconds and refused before anything expands.
    """
    problems: list[Problem] = []
    size: dict[int, int] = {}
    tagged: set[int] = set()
    stack = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            if isinstance(node, yaml.MappingNode):
                size[key] = 1 + sum(size[id(k)] + size[id(v)] for k, v in node.value)
            elif isinstance(node, yaml.SequenceNode):
                size[key] = 1 + sum(size[id(c)] for c in node.value)
            else:
                size[key] = 1
            continue
        if key in size or key in tagged:
            continue
        tagged.add(key)
        want = _expected_tag(loader, node)
        if node.tag != want and not (node.tag == _MERGE and isinstance(node, yaml.ScalarNode)):
            problems.append(Problem(
                f"explicit YAML tag {node.tag!r} is not allowed; remove it (write plain values; "
                "quote a value to make it text)", shown, _line(node)))
        stack.append((node, True))
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                stack.append((v, False))
                stack.append((k, False))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((c, False) for c in node.value)
    expanded = size.get(id(root), 0)
    distinct = len(size)
    limit = max(distinct * ALIAS_EXPANSION_FACTOR, distinct + ALIAS_EXPANSION_SLACK)
    if expanded > limit:
        problems.append(Problem(
            f"the document's aliases (*name) expand it to {expanded:,} values from {distinct:,} "
            "written (an 'alias bomb'); write the values out, or use fewer nested aliases",
            shown, 1))
    return problems


def _to_python(node, loader, file: str, problems: list[Problem]):
    if isinstance(node, yaml.MappingNode):
        out = LDict()
        out.line = _line(node)
        out.file = file
        loader.flatten_mapping(node)
        for knode, vnode in node.value:
            key = _to_python(knode, loader, file, problems)
            if isinstance(key, (dict, list)):
                problems.append(Problem("a mapping key must be a plain word or number; "
                                        "remove the brackets", file, _line(knode)))
                continue
            if key in out:
                problems.append(Problem(f"key {key!r} appears twice; keep one", file,
                                        _line(knode), str(key)))
            out[key] = _to_python(vnode, loader, file, problems)
            out.lines[key] = _line(knode)
        return out
    if isinstance(node, yaml.SequenceNode):
        out = LList()
        out.line = _line(node)
        for item in node.value:
            out.append(_to_python(item, loader, file, problems))
            out.lines.append(_line(item))
        return out
    return loader.construct_object(node, deep=True)


def parse_yaml(text: str, shown: str, what: str = "an assumption file") -> tuple[object, list[Problem]]:
    """Parse YAML text keeping line numbers.

    Returns
    -------
    (data, problems)
        ``data`` is built from :class:`LDict` / :class:`LList` (with ``.lines``) and plain
        scalars; None when the text cannot be parsed (then ``problems`` says why).
    """
    problems: list[Problem] = []
    if not text.strip():
        return None, [Problem("the file is empty; start from 'capex new NAME'", shown, 1)]
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as e:
        line = text.count("\n", 0, e.position) + 1
        return None, [Problem(f"character {e.character!r} is not allowed in YAML; delete it",
                              shown, line)]
    try:
        node = loader.get_single_node()
        if node is None:
            return None, [Problem(f"the file has no content (only comments); it should be {what}",
                                  shown, 1)]
        problems = _check_nodes(loader, node, shown)
        if problems:
            return None, problems
        data = _to_python(node, loader, shown, problems)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        what_ = (e.problem or e.context or "syntax error").strip()
        return None, [Problem(f"YAML syntax error: {what_}; check indentation, colons and "
                              "quotes around this point", shown, mark.line + 1 if mark else None,
                              column=mark.column + 1 if mark else None)]
    except yaml.reader.ReaderError as e:
        line = text.count("\n", 0, e.position) + 1
        return None, [Problem(f"character {e.character!r} is not allowed in YAML; delete it",
                              shown, line)]
    except yaml.YAMLError as e:
        return None, [Problem(f"YAML error: {str(e).splitlines()[0]}; check the file's syntax",
                              shown, 1)]
    except (ValueError, TypeError, OverflowError, RecursionError) as e:
        return None, [Problem(f"a YAML value cannot be read ({e}); quote it as a string",
                              shown, 1)]
    finally:
        loader.dispose()
    return data, problems


def read_yaml(path: Path, shown: str, what: str = "an assumption file") -> tuple[object, list[Problem]]:
    """:func:`read_text` then :func:`parse_yaml`. Returns (data, problems)."""
    try:
        text = read_text(path, shown, YAML_SUFFIXES, "YAML file")
    except InputFileError as e:
        return None, [e.problem]
    return parse_yaml(text, shown, what)
