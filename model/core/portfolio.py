"""Portfolios: several programmes that sell into one market, run on the same draws.

A portfolio file (DESIGN.md §2a) names member files, the inputs they *share* (one draw per draw
index for every member: the market's price, its decline, utilisation, the cost of capital) and
correlations between members' own inputs. Every other input is a member's own and is drawn
independently per member (streams keyed ``member:input``,
:class:`model.engine.designs.Streams`), so an aggregate is never correlated by accident.

The aggregate of a draw is the per-draw sum of its members (:mod:`model.engine.portfolio`);
this module holds the validated description only.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .scenario import Correlation, Parameter, Scenario

#: Key of the portfolio-level inputs (Sequoia's multiplier) among the stream keys.
PORTFOLIO_MEMBER = "portfolio"


@dataclass(frozen=True)
class Member:
    """One programme of a portfolio.

    Parameters
    ----------
    name : str
        Its name in the portfolio (``member:input`` in correlations): the file's ``name:``
        unless the portfolio gives another.
    scenario : Scenario
        The member file under its overlay, with any shared input the portfolio states put in.
    file : str
        The path as the portfolio file writes it.
    overlay : str or None
    line : int or None
        Its line in the portfolio file.
    """

    name: str
    scenario: Scenario
    file: str
    overlay: str | None = None
    line: int | None = None


@dataclass(frozen=True)
class Portfolio:
    """A validated portfolio file: what ``load_portfolio`` returns and
    :func:`model.engine.portfolio.simulate_portfolio` runs.

    Attributes
    ----------
    members : tuple of Member
    shared : tuple of str
        Inputs drawn once per draw for every member that has them.
    correlations : tuple of Correlation
        Between members' own inputs, on ``member:input`` names.
    parameters : dict of str to Parameter
        The portfolio's own inputs (``end_user_gross_margin``, Sequoia's multiplier) and any
        shared input it states for every member.
    coverage_year : int
        The question's year: cumulative revenue to it against the revenue the spending requires.
    """

    name: str
    title: str
    path: Path
    members: tuple[Member, ...]
    shared: tuple[str, ...]
    correlations: tuple[Correlation, ...]
    parameters: dict[str, Parameter]
    sources: dict
    coverage_year: int
    description: str = ""
    currency: str = "USD"
    input_hash: str = ""
    files: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def start(self) -> int:
        """First year of any member."""
        return min(m.scenario.start for m in self.members)

    @property
    def end(self) -> int:
        """Last year of any member."""
        return max(m.scenario.end for m in self.members)

    @property
    def years(self) -> np.ndarray:
        """Calendar years of the aggregate (every year of any member)."""
        return np.arange(self.start, self.end + 1)

    @property
    def overlay(self) -> None:
        """A portfolio has no overlays (its members may: ``{file:, scenario:}``)."""
        return None

    @property
    def label(self) -> str:
        """How the portfolio is named in output."""
        return self.name

    def member(self, name: str) -> Member:
        """The member called ``name``."""
        for m in self.members:
            if m.name == name:
                return m
        raise KeyError(name)

    def timing(self) -> str:
        """Cash-flow timing of the aggregate: the members' (``end`` when they differ)."""
        timings = {m.scenario.timing for m in self.members}
        return timings.pop() if len(timings) == 1 else "end"

    def as_scenario(self) -> Scenario:
        """The portfolio as one scenario of model ``portfolio``: its years, and every input of
        every member (a member's own as ``member:input``, a shared one once), for provenance
        counts, tables and reports."""
        params = dict(self.parameters)
        for m in self.members:
            for name, p in m.scenario.parameters.items():
                key = name if name in self.shared else f"{m.name}:{name}"
                params.setdefault(key, replace(p, name=key) if key != name else p)
        sources = {k: v for m in self.members for k, v in m.scenario.sources.items()}
        return Scenario(
            name=self.name,
            title=self.title,
            model="portfolio",
            currency=self.currency,
            start=self.start,
            end=self.end,
            parameters=params,
            sources={**sources, **self.sources},
            correlations=list(self.correlations),
            overlays={},
            path=self.path,
            files=self.files,
            description=self.description,
            timing=self.timing(),
            input_hash=self.input_hash,
            warnings=list(dict.fromkeys(self.warnings)),
        )

    def offset(self, member: Member) -> int:
        """Years between the portfolio's first year and the member's [years]."""
        return member.scenario.start - self.start


def definition_key(p: Parameter) -> tuple:
    """What makes two definitions of an input the same draws (not where they are written)."""
    return (p.form, p.dist, p.points, p.years_move, p.interpolation, p.value, p.process, p.shock)
