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
kept, built straight from its event stream), explicit tags (``!!python/...``, ``!!binary``,
``!custom``) refused with their line, alias expansion bounded as it happens (a "billion laughs"
file is refused after a few lines), dates kept as text, duplicate keys reported.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import yaml

from ..core.errors import Problem

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
    """A file cannot be read as an input; carries one :class:`~model.core.errors.Problem`."""

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


def check_input_path(
    path: Path, shown: str, suffixes: tuple[str, ...], what: str
) -> Problem | None:
    """Why ``path`` cannot be an input file of kind ``what``, or None when it can."""
    path = Path(path)
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):
        return Problem(
            "the path cannot be resolved (a loop of symbolic links?); give a plain file path", shown
        )
    for root in FORBIDDEN_ROOTS:
        if resolved == root or root in resolved.parents:
            return Problem(
                f"is under {root}, a virtual file system, not a {what}; name a "
                f"regular {'/'.join(suffixes)} file",
                shown,
            )
    try:
        st = os.stat(resolved)
    except FileNotFoundError:
        return Problem("file not found; check the path", shown)
    except OSError as e:
        return Problem(f"cannot be read ({e.strerror}); check the path and its permissions", shown)
    if stat.S_ISDIR(st.st_mode):
        return Problem(f"is a folder, not a file; name a {'/'.join(suffixes)} file", shown)
    if not stat.S_ISREG(st.st_mode):
        return Problem(
            f"is not a regular file (a device, pipe or socket); name a {'/'.join(suffixes)} file",
            shown,
        )
    if resolved.suffix.lower() not in suffixes:
        return Problem(
            f"is not a {what} (expected a {' or '.join(suffixes)} file); name one", shown
        )
    if st.st_size > max_bytes():
        return Problem(
            f"is {_mb(st.st_size)}, larger than the {_mb(max_bytes())} an input may "
            f"be; split it, or raise the limit with {MAX_BYTES_ENV}=<bytes>",
            shown,
        )
    return None


def read_text(
    path: Path,
    shown: str,
    suffixes: tuple[str, ...] = YAML_SUFFIXES,
    what: str = "YAML file",
    encoding: str = "utf-8",
) -> str:
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
        raise InputFileError(
            Problem(f"cannot be read ({e.strerror}); check its permissions", shown)
        ) from None
    if len(data) > limit:
        raise InputFileError(
            Problem(
                f"is larger than the {_mb(limit)} an input may be; split it, or raise the limit "
                f"with {MAX_BYTES_ENV}=<bytes>",
                shown,
            )
        )
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise InputFileError(
            Problem(f"is not UTF-8 text (byte {e.start}); save it as UTF-8", shown, line)
        ) from None


# ============================================================================ YAML
class LDict(dict):
    """A mapping that remembers each key's line (``.lines``) and its own ``.line``/``.file``."""

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
_MERGE = "tag:yaml.org,2002:merge"
_RESOLVERS = _Loader.yaml_implicit_resolvers
_ANY_START = _RESOLVERS.get(None, [])


def _resolve_plain(value: str) -> str:
    """The tag of a plain scalar (int, float, bool, null, merge or str), as PyYAML resolves it
    (YAML 1.1), without dates."""
    for tag, regexp in _RESOLVERS.get(value[:1] if value else "", []) + _ANY_START:
        if regexp.match(value):
            return tag
    return _STR


class _Constructor(yaml.constructor.SafeConstructor):
    """PyYAML's safe constructors for the few tags a plain scalar can have."""

    def __init__(self):
        super().__init__()


_CONSTRUCTOR = _Constructor()


def _scalar(tag: str, value: str):
    constructor = _CONSTRUCTOR.yaml_constructors.get(tag)
    if tag == _STR or constructor is None:  # e.g. YAML 1.1's '=' (value key): plain text
        return value
    return constructor(_CONSTRUCTOR, yaml.ScalarNode(tag, value))


class _Builder:
    """Builds :class:`LDict` / :class:`LList` straight from libyaml's event stream.

    One pass, no recursion (libyaml bounds the nesting depth), every node with its line.
    Explicit tags are refused with their line; an alias refers to the anchored object (no copy)
    and adds its size to the document's *expanded* size, which may not exceed
    :data:`ALIAS_EXPANSION_FACTOR` times the nodes written (or those plus
    :data:`ALIAS_EXPANSION_SLACK`), so a billion-laughs document stops after a few events.
    """

    def __init__(self, shown: str):
        self.shown = shown
        self.problems: list[Problem] = []
        self.anchors: dict[str, tuple[object, int]] = {}
        self.written = 0
        self.expanded = 0
        self.documents = 0

    def _limit(self) -> int:
        return max(self.written * ALIAS_EXPANSION_FACTOR, self.written + ALIAS_EXPANSION_SLACK)

    def _tag_problem(self, event) -> bool:
        tag = event.tag
        if tag is None or tag == "!":
            return False
        implicit = getattr(event, "implicit", None)
        if isinstance(event, yaml.ScalarEvent) and implicit and (implicit[0] or implicit[1]):
            return False  # a tag PyYAML reports though none was written
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)) and implicit:
            return False
        self.problems.append(
            Problem(
                f"explicit YAML tag {tag!r} is not allowed; remove it (write plain values; quote a "
                "value to make it text)",
                self.shown,
                event.start_mark.line + 1,
            )
        )
        return True

    def build(self, events):
        """The document built from libyaml's events; None after a problem that stops the build."""
        stack: list[list] = []  # [container, key or _NO_KEY, size, anchor, merges]
        root = None
        for ev in events:
            if isinstance(ev, _IGNORED_EVENTS):
                continue
            if isinstance(ev, yaml.DocumentStartEvent):
                if not self._start_document(ev):
                    return None
                continue
            line = ev.start_mark.line + 1
            node = self._node(ev, line, stack)
            if node is _STOP:
                return None
            if node is None:  # a container opened, or an event that adds no value
                continue
            value, size_done = node
            if not stack:
                root = value
                continue
            self._add(stack[-1], value, size_done, line)
        return root

    def _start_document(self, ev) -> bool:
        """Count a document start; False (with a problem) when it is not the first."""
        self.documents += 1
        if self.documents > 1:
            self.problems.append(
                Problem(
                    "the file holds more than one YAML document ('---'); keep one",
                    self.shown,
                    ev.start_mark.line + 1,
                )
            )
            return False
        return True

    def _node(self, ev, line: int, stack: list[list]):
        """(value, size) an event completes, None when it completes none, or _STOP."""
        if isinstance(ev, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            return self._end_container(stack.pop())
        if isinstance(ev, yaml.AliasEvent):
            return self._alias(ev, line)
        return self._new_node(ev, line, stack)

    def _end_container(self, entry: list) -> tuple[object, int]:
        """Finish a mapping or sequence: apply its merges, record its anchor; (value, size)."""
        container, _, size, anchor, merges = entry
        if merges:
            self._merge(container, merges)
        if anchor is not None:
            self.anchors[anchor] = (container, size)
        return container, size

    def _alias(self, ev, line: int):
        """(value, size) an alias refers to, counting its expansion; _STOP when it cannot be."""
        hit = self.anchors.get(ev.anchor)
        if hit is None:
            self.problems.append(
                Problem(
                    f"alias *{ev.anchor} names no anchor; define &{ev.anchor} before using it",
                    self.shown,
                    line,
                )
            )
            return _STOP
        self.expanded += hit[1]
        if self.expanded > self._limit():
            self.problems.append(
                Problem(
                    f"the document's aliases (*name) expand it to more than "
                    f"{self._limit():,} values from {self.written:,} written (an 'alias "
                    "bomb'); write the values out, or use fewer nested aliases",
                    self.shown,
                    line,
                )
            )
            return _STOP
        return hit

    def _new_node(self, ev, line: int, stack: list[list]):
        """(value, 1) of a scalar; None after opening a mapping or sequence on ``stack``."""
        self.written += 1
        self.expanded += 1
        self._tag_problem(ev)  # recorded; the node is still built to keep the shape
        if isinstance(ev, yaml.ScalarEvent):
            return self._scalar_node(ev)
        if isinstance(ev, yaml.MappingStartEvent):
            d = LDict()
            d.line, d.file = line, self.shown
            stack.append([d, _NO_KEY, 1, ev.anchor, []])
        elif isinstance(ev, yaml.SequenceStartEvent):
            seq = LList()
            seq.line = line
            stack.append([seq, _NO_KEY, 1, ev.anchor, []])
        return None

    def _scalar_node(self, ev) -> tuple[object, int]:
        """(value, 1) of a scalar event, its anchor recorded."""
        plain = ev.style in (None, "")
        tag = _resolve_plain(ev.value) if plain else _STR
        value = _MergeKey() if tag == _MERGE else _scalar(tag, ev.value)
        if ev.anchor is not None:
            self.anchors[ev.anchor] = (value, 1)
        return value, 1

    def _add(self, top: list, value, size_done: int, line: int) -> None:
        """Put a finished value into the open container ``top`` (as item, key or value)."""
        top[2] += size_done
        container = top[0]
        if isinstance(container, LList):
            container.append(value)
            container.lines.append(line)
        elif top[1] is _NO_KEY:
            self._set_key(top, value, line)
        else:
            self._set_value(top, value)

    def _set_key(self, top: list, value, line: int) -> None:
        """Hold ``value`` as the pending key of mapping ``top`` (a container key is refused)."""
        if isinstance(value, (dict, list)):
            self.problems.append(
                Problem(
                    "a mapping key must be a plain word or number; remove the brackets",
                    self.shown,
                    line,
                )
            )
            top[1] = _BAD_KEY
        else:
            top[1] = (value, line)

    def _set_value(self, top: list, value) -> None:
        """Store ``value`` under the pending key of mapping ``top`` (or queue a merge)."""
        key = top[1]
        top[1] = _NO_KEY
        if key is _BAD_KEY:
            return
        k, kline = key
        if isinstance(k, _MergeKey):
            top[4].append((value, kline))
            return
        container = top[0]
        if k in container:
            self.problems.append(
                Problem(f"key {k!r} appears twice; keep one", self.shown, kline, str(k))
            )
        container[k] = value
        container.lines[k] = kline

    def _merge(self, container: LDict, merges) -> None:
        """YAML merge keys (``<<: *base``): keys given in the mapping win, then the merged
        mappings in their order."""
        for value, line in merges:
            sources = value if isinstance(value, list) else [value]
            for src in sources:
                if not isinstance(src, dict):
                    self.problems.append(
                        Problem(
                            "'<<' merges a mapping (or a list of them); "
                            "point it at a mapping's anchor",
                            self.shown,
                            line,
                        )
                    )
                    return
                for k, v in src.items():
                    if k not in container:
                        container[k] = v
                        container.lines[k] = getattr(src, "lines", {}).get(k, line)


class _MergeKey:
    """The ``<<`` key of a mapping (a YAML merge)."""


_NO_KEY = object()
_BAD_KEY = object()
#: What :meth:`_Builder._node` returns when the build stops.
_STOP = object()
#: Events that add nothing to the document.
_IGNORED_EVENTS = (yaml.StreamStartEvent, yaml.StreamEndEvent, yaml.DocumentEndEvent)


def parse_yaml(
    text: str, shown: str, what: str = "an assumption file"
) -> tuple[object, list[Problem]]:
    """Parse YAML text keeping line numbers, within bounds (see :class:`_Builder`).

    Returns
    -------
    (data, problems)
        ``data`` is built from :class:`LDict` / :class:`LList` (with ``.lines``) and plain
        scalars; None when the text cannot be parsed (then ``problems`` says why).
    """
    if not text.strip():
        return None, [Problem("the file is empty; start from 'capex new NAME'", shown, 1)]
    builder = _Builder(shown)
    try:
        data = builder.build(yaml.parse(text, Loader=_Loader))
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        what_ = (e.problem or e.context or "syntax error").strip()
        return None, [
            Problem(
                f"YAML syntax error: {what_}; check indentation, colons and "
                "quotes around this point",
                shown,
                mark.line + 1 if mark else None,
                column=mark.column + 1 if mark else None,
            )
        ]
    except yaml.reader.ReaderError as e:
        line = text.count("\n", 0, e.position) + 1
        return None, [
            Problem(f"character {e.character!r} is not allowed in YAML; delete it", shown, line)
        ]
    except yaml.YAMLError as e:
        return None, [
            Problem(f"YAML error: {str(e).splitlines()[0]}; check the file's syntax", shown, 1)
        ]
    except (ValueError, TypeError, OverflowError, RecursionError) as e:
        return None, [Problem(f"a YAML value cannot be read ({e}); quote it as a string", shown, 1)]
    if builder.problems:
        return None, builder.problems
    if data is None and builder.written == 0:
        return None, [
            Problem(f"the file has no content (only comments); it should be {what}", shown, 1)
        ]
    return data, []


def read_yaml(
    path: Path, shown: str, what: str = "an assumption file"
) -> tuple[object, list[Problem]]:
    """:func:`read_text` then :func:`parse_yaml`. Returns (data, problems)."""
    try:
        text = read_text(path, shown, YAML_SUFFIXES, "YAML file")
    except InputFileError as e:
        return None, [e.problem]
    return parse_yaml(text, shown, what)
