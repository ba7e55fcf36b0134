"""Provenance: sources (bibliography entries) and the rule that every number has one.

Every numeric parameter has exactly one of ``source:`` (a key of the file's ``sources:``, a list
of keys, or an inline ``{title, publisher, published, url|doi}``) or ``hypothetical:`` (a
non-empty rationale). Switches (``revenue_model``, ``refresh_it``, ``terminal_value``) are model
choices, not numbers, and need neither.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field

SOURCE_KEYS = (
    "title",
    "publisher",
    "published",
    "url",
    "doi",
    "confidence",
    "note",
    "accessed",
    "mirror_of",
)
CONFIDENCE = ("direct", "secondary", "derived")
LOCATOR_KEYS = ("quote", "page", "table", "note")
_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?\Z")
URL_PATTERN = re.compile(r"^https?://[^\s/$.?#][^\s]*\Z", re.IGNORECASE)
DOI_PATTERN = re.compile(r"^(?:doi:|https?://(?:dx\.)?doi\.org/)?10\.\d{4,9}/\S+\Z", re.IGNORECASE)


@dataclass(frozen=True)
class Source:
    """A bibliography entry.

    Attributes
    ----------
    key : str
        Citation key (``inline:<parameter>`` for inline sources).
    title, publisher, published : str
        ``published`` is ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``.
    url, doi : str or None
        At least one is present.
    confidence : str or None
        ``direct``, ``secondary`` or ``derived``.
    note : str or None
    file : str, line : int
        Where it was defined.
    """

    key: str
    title: str
    publisher: str
    published: str
    url: str | None = None
    doi: str | None = None
    confidence: str | None = None
    note: str | None = None
    file: str | None = None
    line: int | None = None
    mirror_of: str | None = None

    @property
    def address(self) -> str:
        """The URL, or the DOI as a resolvable URL."""
        if self.url:
            return self.url
        doi = re.sub(r"^(doi:|https?://(dx\.)?doi\.org/)", "", self.doi or "", flags=re.I)
        return f"https://doi.org/{doi}"

    def citation(self) -> str:
        """One-line citation: ``Publisher (date). Title. address [confidence]``, with the
        site a marked mirror copies."""
        conf = f" [{self.confidence}]" if self.confidence else ""
        note = f" ({self.note})" if self.note else ""
        if self.confidence and self.note and self.note.lower().startswith(self.confidence):
            conf = ""  # the note already says it
        mirror = f" (a mirror of {self.mirror_of})" if self.mirror_of else ""
        return (
            f"{self.publisher} ({self.published}). {self.title}. {self.address}{mirror}{conf}{note}"
        )

    def address_problems(self) -> list[str]:
        """What a reader following the address would trip on (:func:`address_problems`);
        a mirror marked with ``mirror_of`` is not one."""
        if not self.url:
            return []
        return address_problems(self.url, marked_mirror=self.mirror_of is not None)


@dataclass(frozen=True)
class Provenance:
    """Where a parameter's number comes from: sources, or a hypothetical rationale."""

    sources: tuple[Source, ...] = ()
    hypothetical: str | None = None
    locators: tuple[tuple[str, str], ...] = field(default=())

    @property
    def is_hypothetical(self) -> bool:
        return self.hypothetical is not None

    @property
    def label(self) -> str:
        return "hypothetical" if self.is_hypothetical else "sourced"

    def text(self) -> str:
        """Short text for tables: the source keys, or ``HYPOTHETICAL: rationale``."""
        if self.is_hypothetical:
            return f"HYPOTHETICAL: {self.hypothetical}"
        loc = "; ".join(f"{k}: {v}" for k, v in self.locators)
        keys = ", ".join(s.key for s in self.sources)
        return f"{keys}" + (f" ({loc})" if loc else "")


#: Hosts known to republish other sites' pages (proxies, scrambled copies, scrapers): a
#: citation through them must say which page it mirrors (``mirror_of``).
KNOWN_MIRRORS = {
    "vuink.com": "a ROT13-scrambled proxy of other sites",
    "jiralog.com": "a staging host serving copies of other sites",
    "lowdown.today": "an aggregator of other sites' articles",
    "newsbeep.com": "an aggregator of other sites' articles",
    "newspage360.com": "an aggregator of other sites' articles",
}
#: Query parameters that belong to a login, a cookie check or tracking, not to the page.
_ARTEFACT = re.compile(
    r"(?:^|&)(?:__sso[^=&]*|[^=&]*cookie[^=&]*|[^=&]*session[^=&]*|login[^=&]*|token|auth"
    r"|utm_[a-z]+|fbclid|gclid|mc_[a-z]+)=",
    re.IGNORECASE,
)


def address_problems(url: str, marked_mirror: bool = False) -> list[str]:
    """Why an address is weak: a known mirror host or a staging host (unless marked as a
    mirror), or a login / cookie / tracking query that belongs to a session, not the page."""
    from urllib.parse import urlsplit  # deferred: only sources checks need it

    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    out = []
    if not marked_mirror:
        for mirror, what in KNOWN_MIRRORS.items():
            if host == mirror or host.endswith("." + mirror):
                out.append(
                    f"{host} is {what}; cite the original page, or keep this one and say which "
                    "page it mirrors with 'mirror_of:'"
                )
        if not out and re.search(r"(?:^|\.)(?:uat|staging|stage|dev|test)\.", host):
            out.append(f"{host} is a staging or test host; cite the public page")
    if parts.query and _ARTEFACT.search(parts.query):
        out.append(
            f"the address carries a login, cookie or tracking query (?{parts.query}); cite it "
            "without the query"
        )
    return out


def normalise_date(value) -> str | None:
    """``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` as a string, or ``None`` if malformed."""
    if isinstance(value, _dt.datetime):
        value = value.date()
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return None
    text = str(value).strip()
    m = _DATE.match(text)
    if not m:
        return None
    year, month, day = m.groups()
    try:
        _dt.date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        return None
    return text
