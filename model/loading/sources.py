"""Bibliography entries of an assumption file, validated into
:class:`~model.core.provenance.Source`."""

from __future__ import annotations

from ..core.errors import Problem, did_you_mean
from ..core.provenance import (
    CONFIDENCE,
    DOI_PATTERN,
    SOURCE_KEYS,
    URL_PATTERN,
    Source,
    normalise_date,
)


def parse_source(
    key: str, raw, file: str, line: int | None, lines: dict, parameter: str | None = None
) -> tuple[Source | None, list[Problem]]:
    """Validate one source mapping; return the :class:`Source` (or None) and the problems."""
    where = parameter or f"sources.{key}"
    problems: list[Problem] = []

    def bad(msg, k=None):
        problems.append(Problem(msg, file, lines.get(k, line) if k else line, where))

    if not isinstance(raw, dict):
        bad(
            "a source must be a mapping with title, publisher, published and url (or doi); "
            "write it as an indented block"
        )
        return None, problems
    unknown = [k for k in raw if k not in SOURCE_KEYS]
    for k in unknown:
        close = did_you_mean(str(k), SOURCE_KEYS)
        hint = f"did you mean {close!r}?" if close else f"allowed: {', '.join(SOURCE_KEYS)}"
        bad(f"unknown source field {k!r}; {hint}", k)
    for req in ("title", "publisher"):
        v = raw.get(req)
        if not isinstance(v, str) or not v.strip():
            bad(
                f"source has no {req}; add '{req}:' (as printed on the page)",
                req if req in raw else None,
            )
    published = None
    if "published" not in raw:
        bad("source has no 'published' date; add 'published: YYYY-MM-DD' (or YYYY-MM, YYYY)")
    else:
        published = normalise_date(raw["published"])
        if published is None:
            bad(
                f"malformed date {raw['published']!r}; write YYYY-MM-DD, YYYY-MM or YYYY",
                "published",
            )
    url, doi = raw.get("url"), raw.get("doi")
    _check_address(raw, bad)
    conf = raw.get("confidence")
    mirror_of = raw.get("mirror_of")
    if problems:
        return None, problems
    return Source(
        key=key,
        title=raw["title"].strip(),
        publisher=raw["publisher"].strip(),
        published=published,
        url=url.strip() if isinstance(url, str) else None,
        doi=doi.strip() if isinstance(doi, str) else None,
        confidence=conf,
        note=str(raw["note"]).strip() if raw.get("note") is not None else None,
        file=file,
        line=line,
        mirror_of=mirror_of.strip() if isinstance(mirror_of, str) else None,
    ), []


def _check_address(raw: dict, bad) -> None:
    """Report a missing or malformed url / doi, an unknown confidence and a mirror that names
    no original (or claims to be direct) through ``bad(message, field)``."""
    url, doi = raw.get("url"), raw.get("doi")
    if url is None and doi is None:
        bad("source has neither url nor doi; add the address you read it at ('url: https://...')")
    if url is not None and (not isinstance(url, str) or not URL_PATTERN.match(url.strip())):
        bad(f"url {url!r} is not an http(s) address; give the full address", "url")
    if doi is not None and (not isinstance(doi, str) or not DOI_PATTERN.match(doi.strip())):
        bad(f"doi {doi!r} is not a DOI; write it like 10.1000/xyz", "doi")
    conf = raw.get("confidence")
    if conf is not None and conf not in CONFIDENCE:
        bad(f"confidence {conf!r} unknown; use one of {', '.join(CONFIDENCE)}", "confidence")
    mirror_of = raw.get("mirror_of")
    if mirror_of is not None and not _names_an_original(mirror_of):
        bad(
            f"mirror_of {mirror_of!r} names no original; give the address of the page this one "
            "copies, or, when that address is unknown, the original's publisher and title "
            "(at least 10 characters)",
            "mirror_of",
        )
    if mirror_of is not None and conf == "direct":
        bad("a mirror is not a direct source; write 'confidence: secondary'", "confidence")


def _names_an_original(mirror_of) -> bool:
    """Whether ``mirror_of`` names the page a mirror copies: a valid http(s) address, or (the
    address unknown) a description of at least 10 characters that is not a broken address."""
    if not isinstance(mirror_of, str):
        return False
    text = mirror_of.strip()
    if text.lower().startswith(("http:", "https:", "www.")):
        return bool(URL_PATTERN.match(text))
    return len(text) >= 10


def row_sources(rows, note: str, path) -> tuple[Source, ...]:
    """The sources of the rows of an observation or data file (``itertuples`` of its table),
    one per ``fact_id`` (else per address), in file order: what a calibrated series or an
    empirical distribution is sourced by."""
    sources, seen = [], set()
    for r in rows.itertuples():
        key = getattr(r, "fact_id", None) or r.address
        if key in seen:
            continue
        seen.add(key)
        sources.append(
            Source(
                key=str(key),
                title=str(r.source_title),
                publisher=str(r.publisher),
                published=str(r.published),
                url=str(r.address),
                confidence=getattr(r, "confidence", None) or None,
                note=note,
                file=str(path),
                line=int(r.line),
            )
        )
    return tuple(sources)
