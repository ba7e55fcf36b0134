"""Load portfolio files (DESIGN.md §2a) into a validated :class:`~model.core.portfolio.Portfolio`.

A portfolio file has a ``portfolio:`` mapping instead of ``model:``/``years:``::

    schema: 1
    name: ai-buildout
    portfolio:
      members: [anthropic_fluidstack.yaml, {file: meta_600b.yaml, scenario: rental-value}]
      shared: [price_per_gpu_hour, price_decline, utilisation, discount_rate]
      coverage_year: 2030
    parameters:               # the portfolio's own inputs, and shared inputs it states
      end_user_gross_margin: {value: 0.5, unit: share, source: ..., quote: ...}
    correlations:             # between members' own inputs, as member:input
      - [meta-600b:capex_overrun, stargate-500b:capex_overrun, 0.5]

Member paths are relative to the portfolio file; each member is loaded with
:func:`~model.loading.scenario.load_scenario` (its own problems keep their own ``file:line``).
Every problem is reported at once, as ``file:line: parameter: what is wrong; how to fix``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..core import vocabulary as V
from ..core.errors import AssumptionError, Problem, did_you_mean, display_path
from ..core.portfolio import Member, Portfolio, definition_key
from ..core.scenario import Correlation, correlation_matrix
from ..core.units import parse_amount
from .files import InputFileError, LDict, read_text, read_yaml
from .parameters import Context, read_parameter
from .scenario import check_schema, load_scenario, read_text_field, slug_problem
from .sources import parse_source

TOP_LEVEL = (
    "schema",
    "name",
    "title",
    "description",
    "currency",
    "sources",
    "portfolio",
    "parameters",
    "correlations",
)
PORTFOLIO_KEYS = ("members", "shared", "coverage_year")
#: Keys of a member given as a mapping.
MEMBER_KEYS = ("file", "scenario", "name")
#: Inputs a portfolio file may define for itself (beyond the shared inputs it states).
OWN_INPUTS = ("end_user_gross_margin",)
#: Most members a portfolio may have (each is a full run).
MAX_MEMBERS = 64


#: A top-level ``portfolio:`` key, at the start of a line (block style, as capex writes it).
_PORTFOLIO_KEY = re.compile(r"^portfolio[ \t]*:", re.MULTILINE)


def is_portfolio_file(path) -> bool:
    """Whether a YAML file is a portfolio file: a line that starts with ``portfolio:`` (its
    top-level key; the text is scanned, not parsed, so a large scenario file is read once by
    its own loader); False for anything that cannot be read (that loader then says why)."""
    try:
        text = read_text(Path(path), display_path(path))
    except InputFileError:
        return False
    if _PORTFOLIO_KEY.search(text) is not None:
        return True
    if not text.lstrip("\ufeff \t\r\n").startswith("{"):
        return False
    # a whole document in flow style, {portfolio: {...}, ...}: parse it (such files are small)
    data, probs = read_yaml(Path(path), display_path(path), "a portfolio file")
    return not probs and isinstance(data, dict) and "portfolio" in data


def load_portfolio(path) -> Portfolio:
    """Load and validate a portfolio file.

    Parameters
    ----------
    path : str or pathlib.Path

    Returns
    -------
    Portfolio

    Raises
    ------
    AssumptionError
        With every problem found, the members' own included.
    """
    return _PortfolioLoader(Path(path)).load()


class _PortfolioLoader:
    def __init__(self, path: Path):
        self.path = path
        self.shown = display_path(path)
        self.problems: list[Problem] = []
        self.title: str | None = None
        self.description = ""
        self.currency = "USD"

    def add(self, message: str, line=None, parameter=None) -> None:
        self.problems.append(Problem(message, self.shown, line, parameter))

    def load(self) -> Portfolio:
        data, probs = read_yaml(self.path, self.shown, "a portfolio file")
        self.problems.extend(probs)
        if not isinstance(data, LDict) or probs:
            if not probs:
                self.add(
                    "the top level must be a mapping with portfolio: members: [...]; start from "
                    "'capex new NAME --model portfolio'",
                    1,
                )
            raise AssumptionError(self.problems)
        if "portfolio" not in data:
            self.add(
                "is not a portfolio file (it has no portfolio: members: [...]); run one "
                "scenario with 'capex run FILE', or write a portfolio with 'capex new NAME "
                "--model portfolio'",
                1,
                "portfolio",
            )
            raise AssumptionError(self.problems)
        self.check_top(data)
        block = data.get("portfolio")
        if not isinstance(block, LDict):
            self.add(
                "portfolio: is not a mapping; write portfolio: {members: [a.yaml, b.yaml], "
                "shared: [discount_rate]}",
                data.lines.get("portfolio"),
                "portfolio",
            )
            raise AssumptionError(self.problems)
        members = self.read_members(block)
        if not members:
            raise AssumptionError(self.problems)
        sources = self.read_sources(data)
        shared = self.read_shared(block, members)
        params = self.read_parameters(data, members, shared, sources)
        members = self.put_shared(members, shared, params)
        correlations = self.read_correlations(data, members, shared)
        coverage = self.read_coverage(block, members)
        if self.problems:
            raise AssumptionError(self.problems)
        return self.assemble(data, members, shared, correlations, params, sources, coverage)

    # -------------------------------------------------------------- header
    def check_top(self, data: LDict) -> None:
        for key in data:
            if key not in TOP_LEVEL:
                close = did_you_mean(str(key), TOP_LEVEL)
                hint = f"did you mean {close!r}?" if close else f"allowed: {', '.join(TOP_LEVEL)}"
                if key in ("model", "years", "extends", "scenarios"):
                    hint = "a portfolio's members have them; write them in the member files"
                self.add(
                    f"unknown top-level key {key!r} in a portfolio file; {hint}",
                    data.lines.get(key),
                    str(key),
                )

        def bad(msg, key):
            self.add(msg, data.lines.get(key), key)

        check_schema(data.get("schema"), bad)
        problem = slug_problem(data.get("name", self.path.stem))
        if problem:
            bad(problem, "name")
        self.title = read_text_field(data, "title", bad)
        self.description = read_text_field(data, "description", bad) or ""
        self.currency = data.get("currency", "USD")
        if not isinstance(self.currency, str) or not re.fullmatch(r"[A-Z]{3}", self.currency):
            shown = repr(self.currency)[:40]
            bad(f"currency {shown} is not a 3-letter code; write one such as USD", "currency")
            self.currency = "USD"

    def read_sources(self, data: LDict) -> dict:
        raw = data.get("sources") or LDict()
        if not isinstance(raw, LDict):
            self.add(
                "sources: is not a mapping of key: {title, ...}; write each source as key: "
                "{title: ..., publisher: ..., url: ...}",
                data.lines.get("sources"),
            )
            return {}
        out = {}
        for key, entry in raw.items():
            src, probs = parse_source(
                str(key), entry, self.shown, raw.lines.get(key), getattr(entry, "lines", {})
            )
            self.problems.extend(probs)
            if src is not None:
                out[str(key)] = src
        return out

    # -------------------------------------------------------------- members
    def read_members(self, block: LDict) -> list[Member]:
        raw = block.get("members")
        line = block.lines.get("members")
        if not isinstance(raw, list) or len(raw) < 1:
            what = (
                "is empty; a portfolio needs at least one member"
                if raw == []
                else "is not a list of member files"
            )
            self.add(f"members: {what}; write members: [a.yaml, b.yaml]", line, "members")
            return []
        if len(raw) > MAX_MEMBERS:
            self.add(
                f"{len(raw)} members; a portfolio may have at most {MAX_MEMBERS}; split it into "
                f"portfolios of at most {MAX_MEMBERS} members, or merge members into one file",
                line,
                "members",
            )
            return []
        for key in block:
            if key not in PORTFOLIO_KEYS:
                close = did_you_mean(str(key), PORTFOLIO_KEYS)
                hint = f"did you mean {close!r}?" if close else f"use {', '.join(PORTFOLIO_KEYS)}"
                self.add(
                    f"unknown key {key!r} under portfolio:; {hint}",
                    block.lines.get(key),
                    f"portfolio.{key}",
                )
        lines = getattr(raw, "lines", [])
        members = []
        for i, item in enumerate(raw):
            member = self.read_member(item, lines[i] if i < len(lines) else line)
            if member is not None:
                members.append(member)
        self.check_names(members)
        self.check_files(members)
        return members

    def member_item(self, item, line) -> dict | None:
        """A member entry as ``{file, scenario?, name?}`` of text, or None (reported)."""
        where = "portfolio.members"
        if isinstance(item, str):
            item = {"file": item}
        if not isinstance(item, dict) or not isinstance(item.get("file"), str):
            self.add(
                "a member is a file path or {file: a.yaml, scenario: NAME, name: NAME}; write "
                "it as one of these",
                line,
                where,
            )
            return None
        for key in sorted((k for k in item if k not in MEMBER_KEYS), key=str):
            close = did_you_mean(str(key), MEMBER_KEYS)
            hint = f"did you mean {close!r}?" if close else f"use {', '.join(MEMBER_KEYS)}"
            self.add(f"unknown member key {str(key)!r}; {hint}", line, where)
        ok = True
        for key in ("scenario", "name"):
            if key in item and not isinstance(item[key], str):
                self.add(
                    f"member {key}: {repr(item[key])[:40]} is not text; write {key}: NAME",
                    line,
                    where,
                )
                ok = False
        return item if ok else None

    def read_member(self, item, line) -> Member | None:
        where = "portfolio.members"
        item = self.member_item(item, line)
        if item is None:
            return None
        path = self.path.parent / item["file"]
        overlay = item.get("scenario")
        try:
            sc = load_scenario(path, overlay)
        except AssumptionError as e:
            self.problems.extend(self.relocated(e.problems, item["file"], line))
            self.add(
                f"member {item['file']!r} does not load (its problems are listed); fix "
                "them or remove the member",
                line,
                where,
            )
            return None
        if sc.model != "programme":
            self.add(
                f"member {item['file']!r} is a {sc.model} model; a portfolio sums "
                "programmes (model: programme)",
                line,
                where,
            )
            return None
        name = item.get("name", sc.name)
        problem = slug_problem(name, "member name")
        if problem:
            self.add(problem, line, where)
            return None
        return Member(name, sc, item["file"], overlay, line)

    def relocated(self, problems: list[Problem], file: str, line) -> list[Problem]:
        """A member's problems, its unknown ``scenario:`` overlay moved to the member's line
        (it is this file's mistake, not the member's)."""
        return [
            Problem(f"member {file!r}: {p.message}", self.shown, line, "portfolio.members")
            if p.parameter == "--scenario"
            else p
            for p in problems
        ]

    def check_files(self, members: list[Member]) -> None:
        """No member file twice (with or without another overlay): its capacity would be
        counted twice."""
        seen: dict[Path, Member] = {}
        for m in members:
            key = (self.path.parent / m.file).resolve()
            if key in seen:
                self.add(
                    f"member file {m.file!r} is already a member (line {seen[key].line}); a "
                    "file twice, even with another scenario overlay, counts the same capacity "
                    "twice; remove one (compare overlays with capex compare)",
                    m.line,
                    "portfolio.members",
                )
            seen.setdefault(key, m)

    def check_names(self, members: list[Member]) -> None:
        seen: dict[str, int | None] = {}
        for m in members:
            if m.name in seen:
                self.add(
                    f"two members are called {m.name!r} (first on line {seen[m.name]}); "
                    "give one another name: {file: ..., name: other}",
                    m.line,
                    "portfolio.members",
                )
            seen.setdefault(m.name, m.line)

    # -------------------------------------------------------------- shared inputs
    def read_shared(self, block: LDict, members: list[Member]) -> tuple[str, ...]:
        raw = block.get("shared", [])
        line = block.lines.get("shared")
        if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
            self.add(
                "shared: is not a list of input names; write shared: [discount_rate]",
                line,
                "portfolio.shared",
            )
            return ()
        known = sorted({n for m in members for n in m.scenario.parameters})
        out = []
        for name in raw:
            if name not in known:
                close = did_you_mean(name, known)
                hint = f"did you mean {close!r}?" if close else "name an input of the members"
                self.add(
                    f"shared input {name!r} is not an input of any member; {hint}",
                    line,
                    "portfolio.shared",
                )
            elif name in out:
                self.add(
                    f"shared input {name!r} is listed twice; keep one", line, "portfolio.shared"
                )
            else:
                out.append(name)
        return tuple(out)

    def read_parameters(self, data: LDict, members, shared, sources) -> dict:
        raw = data.get("parameters") or LDict()
        line = data.lines.get("parameters")
        if not isinstance(raw, LDict):
            self.add(
                "parameters: is not a mapping of name: definition; write each input as name: "
                "{value: ..., unit: ...} with its source or hypothetical",
                line,
                "parameters",
            )
            return {}
        ctx = Context(
            sources,
            str(data.get("currency", "USD")),
            None,
            None,
            min(m.scenario.start for m in members),
            max(m.scenario.end for m in members),
        )
        out = {}
        for name, entry in raw.items():
            spec = self.spec_of(str(name), members, shared, raw.lines.get(name))
            if spec is not None:
                p = read_parameter(ctx, spec, entry, self.shown, raw.lines.get(name))
                if p is not None:
                    out[str(name)] = p
        self.problems.extend(ctx.problems)
        for name in OWN_INPUTS:
            if name not in out and not any(p.parameter == name for p in self.problems):
                self.add(
                    f"missing {name}: Sequoia's multiplier needs it (revenue required = "
                    f"spend / (1 - {name})); give it under parameters:",
                    line,
                    name,
                )
        return out

    def spec_of(self, name: str, members, shared, line):
        if name in OWN_INPUTS:
            return V.VOCABULARY["industry"][name]
        if name in shared:
            return next(
                m.scenario.parameters[name].spec for m in members if name in m.scenario.parameters
            )
        options = [*OWN_INPUTS, *shared]
        close = did_you_mean(name, options)
        hint = f"did you mean {close!r}?" if close else f"a portfolio defines {', '.join(options)}"
        self.add(
            f"{name!r} is not a portfolio input (only shared inputs and "
            f"{', '.join(OWN_INPUTS)}); {hint}",
            line,
            name,
        )
        return None

    def put_shared(self, members, shared, params) -> list[Member]:
        """Members with the shared inputs the portfolio states; the others must agree."""
        out = []
        for m in members:
            given = {
                n: replace(params[n], spec=m.scenario.parameters[n].spec)
                for n in shared
                if n in params and n in m.scenario.parameters
            }
            sc = m.scenario
            if given:
                sc = replace(sc, parameters={**sc.parameters, **given})
            out.append(replace(m, scenario=sc))
        for name in shared:
            if name not in params:
                self.check_same(name, out)
        return out

    def check_same(self, name: str, members: list[Member]) -> None:
        having = [m for m in members if name in m.scenario.parameters]
        first = having[0].scenario.parameters[name]
        for m in having[1:]:
            p = m.scenario.parameters[name]
            if definition_key(p) != definition_key(first):
                self.add(
                    f"shared input {name!r} is not the same in {having[0].name} "
                    f"({first.file}:{first.line}: {first.describe()}) and {m.name} "
                    f"({p.file}:{p.line}: {p.describe()}); make the definitions equal, or state "
                    "it once under this file's parameters:",
                    None,
                    name,
                )
                return

    # -------------------------------------------------------------- correlations
    def read_correlations(self, data: LDict, members, shared) -> tuple[Correlation, ...]:
        raw = data.get("correlations") or []
        if not isinstance(raw, list):
            self.add(
                "correlations: is not a list of [member:input, member:input, rho]; write one item "
                "per pair, e.g. - [a:capex_overrun, b:capex_overrun, 0.5]",
                data.lines.get("correlations"),
                "correlations",
            )
            return ()
        lines = getattr(raw, "lines", [])
        out, seen = [], set()
        for i, item in enumerate(raw):
            c = self.read_correlation(item, lines[i] if i < len(lines) else None, members, shared)
            if c is not None and frozenset((c.a, c.b)) in seen:
                self.add("duplicate pair; keep one", c.line, f"correlations[{c.a}, {c.b}]")
            elif c is not None:
                seen.add(frozenset((c.a, c.b)))
                out.append(c)
        if out and not self.problems:
            self.check_definite(out)
        return tuple(out)

    def read_correlation(self, item, line, members, shared) -> Correlation | None:
        if not isinstance(item, list) or len(item) != 3:
            self.add(
                "a correlation is [member:input, member:input, rho]; write it so, e.g. "
                "[a:capex_overrun, b:capex_overrun, 0.5]",
                line,
                "correlations",
            )
            return None
        a, b, rho = item
        who = f"correlations[{a}, {b}]"
        ok = all(self.own_input_ok(x, members, shared, line, who) for x in (a, b))
        try:
            r = parse_amount(rho)
        except ValueError as e:
            self.add(f"coefficient {e}", line, who)
            return None
        if not -1.0 < r < 1.0:
            self.add(f"coefficient {r:g} is outside (-1, 1); give a rank correlation", line, who)
            return None
        if ok and a == b:
            self.add("an input cannot be correlated with itself; name two", line, who)
            return None
        return Correlation(a, b, r, self.shown, line) if ok else None

    def own_input_ok(self, ref, members, shared, line, who) -> bool:
        names = [m.name for m in members]
        if not isinstance(ref, str) or ":" not in ref:
            self.add(
                f"{ref!r} does not name a member's input; write member:input such as "
                f"{names[0]}:capex_overrun",
                line,
                who,
            )
            return False
        member, name = ref.split(":", 1)
        if member not in names:
            close = did_you_mean(member, names)
            hint = f"did you mean {close!r}?" if close else f"members: {', '.join(names)}"
            self.add(f"no member is called {member!r}; {hint}", line, who)
            return False
        if name in shared:
            self.add(
                f"{name!r} is shared (one draw for every member), so it cannot be "
                "correlated per member; correlate it inside a member file, or unshare it",
                line,
                who,
            )
            return False
        p = next(m for m in members if m.name == member).scenario.parameters.get(name)
        if p is None or not p.is_uncertain:
            what = "is fixed in" if p is not None else "is not an input of"
            self.add(f"{name!r} {what} member {member}; correlate an uncertain input", line, who)
            return False
        return True

    def check_definite(self, out: list[Correlation]) -> None:
        names = sorted({c.a for c in out} | {c.b for c in out})
        eig = np.linalg.eigvalsh(correlation_matrix(names, out)).min()
        if eig < -1e-10:
            self.add(
                f"the correlations between members cannot hold together (smallest "
                f"eigenvalue {eig:.3f}); weaken one",
                out[0].line,
                "correlations",
            )

    # -------------------------------------------------------------- question, result
    def read_coverage(self, block: LDict, members) -> int:
        end = max(m.scenario.end for m in members)
        start = min(m.scenario.start for m in members)
        year = block.get("coverage_year", end)
        if isinstance(year, bool) or not isinstance(year, int) or not start <= year <= end:
            self.add(
                f"coverage_year {year!r} is not a year of the members ({start}-{end}); "
                "give one such as 2030",
                block.lines.get("coverage_year"),
                "portfolio.coverage_year",
            )
            return end
        return year

    def assemble(self, data, members, shared, correlations, params, sources, coverage):
        h = hashlib.sha256(self.path.read_bytes())
        for m in members:
            h.update(m.scenario.input_hash.encode())
        files = [self.path] + [f for m in members for f in m.scenario.files]
        name = str(data.get("name", self.path.stem))
        return Portfolio(
            name=name,
            title=self.title if self.title is not None else name,
            path=self.path,
            members=tuple(members),
            shared=shared,
            correlations=correlations,
            parameters=params,
            sources=sources,
            coverage_year=coverage,
            description=self.description,
            currency=self.currency,
            input_hash=h.hexdigest(),
            files=list(dict.fromkeys(files)),
            warnings=[w for m in members for w in m.scenario.warnings],
        )
