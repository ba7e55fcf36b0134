"""Markdown and HTML rendering: the report templates, and the filters that make user text inert
in Markdown (HTML is escaped by Jinja2's autoescape)."""

from __future__ import annotations

import re

from jinja2 import Environment, PackageLoader, StrictUndefined

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
_MD_TAG = re.compile(r"<(?=[A-Za-z/!?])")  # what could open an HTML tag, comment or autolink
_MD_ENTITY = re.compile(r"&(?=#?\w+;)")  # what could form an entity
_MD_LINE_START = re.compile(r"^(?:([#>]|[-+](?=\s))|(\d+)\.(?=\s))")


def md_escape(text) -> str:
    """User text made inert in Markdown: one line; ``\\ ` * _ [ ] | ~`` backslash-escaped (no
    emphasis, strikethrough, links, code or table cells can be opened); a ``<`` that could open
    a tag, and an ``&`` that could form an entity, as entities (``<script>`` shows as text;
    ``< 0.01`` stays); a leading ``#``, ``>``, ``- ``, ``+ `` or ``1. `` escaped (no heading,
    quote or list)."""
    s = " ".join(str(text).split())
    s = _MD_ENTITY.sub("&amp;", s)
    s = _MD_TAG.sub("&lt;", s)
    s = _MD_SPECIAL.sub(r"\\\1", s)
    return _MD_LINE_START.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\.", s)


def md_code(text) -> str:
    """Text inside a Markdown code span or block: one line, no backtick (which would end it)."""
    return " ".join(str(text).split()).replace("`", "'")


def md_cell_code(text) -> str:
    """Text inside a code span in a Markdown table cell: :func:`md_code`, and ``|`` as ``\\|``
    (a table row is split at every unescaped ``|``, even inside a code span; GFM takes the
    backslash away again before it renders the span)."""
    return md_code(text).replace("|", "\\|")


def md_url(text) -> str:
    """An address inside ``<...>``: http(s) only, no space, ``<`` or ``>``."""
    s = "".join(str(text).split()).replace("<", "%3C").replace(">", "%3E")
    return s if re.match(r"^https?://", s, re.I) else "about:blank"


def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("model.reporting", "templates"),
        autoescape=lambda name: bool(name) and name.endswith((".html.j2", ".css.j2")),
        undefined=StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
        keep_trailing_newline=True,
    )
    env.filters["md"] = md_escape
    env.filters["code"] = md_code
    env.filters["cell_code"] = md_cell_code
    env.filters["url"] = md_url
    return env


def render(template: str, **ctx) -> str:
    """Render one of the package templates."""
    return environment().get_template(template).render(**ctx)
