"""``capex sources PATH``: the bibliography of an assumption file."""

from __future__ import annotations

from ...core.formatting import plain
from ...loading.portfolio import is_portfolio_file, load_portfolio
from ...loading.scenario import load_scenario
from ..jsonout import print_json


def cmd_sources(args) -> int:
    if is_portfolio_file(args.path):  # every member's sources, own inputs as member:input
        sc = load_portfolio(args.path).as_scenario()
    else:
        sc = load_scenario(args.path, scenario=args.scenario, allow_partial=True)
    cited = sc.cited_sources()
    if args.json:
        print_json(
            {
                "scenario": sc.label,
                "sources": [
                    {
                        "key": k,
                        "title": s.title,
                        "publisher": s.publisher,
                        "published": s.published,
                        "address": s.address,
                        "confidence": s.confidence,
                        "note": s.note,
                        "mirror_of": s.mirror_of,
                        "address_problems": s.address_problems(),
                        "cited_by": names,
                    }
                    for k, (s, names) in cited.items()
                ],
                "hypothetical": {
                    p.name: p.provenance.hypothetical
                    for p in sc.numeric()
                    if p.provenance and p.provenance.is_hypothetical
                },
            }
        )
        return 0
    print(plain(bibliography_text(sc, cited)))
    return 0


def bibliography_text(sc, cited: dict) -> str:
    lines = [f"Bibliography of {sc.title} ({sc.path})", ""]
    ordered = sorted(cited.items(), key=lambda kv: (kv[1][0].publisher.lower(), kv[1][0].published))
    flagged = 0
    for i, (key, (s, names)) in enumerate(ordered, 1):
        lines += [f"[{i}] {s.citation()}", f"    key: {key}; cited by: {', '.join(names)}"]
        for problem in s.address_problems():
            lines.append(f"    ! {problem}")
            flagged += 1
    unused = [k for k in sc.sources if k not in cited]
    if unused:
        lines += ["", f"Listed but not cited: {', '.join(unused)}"]
    hyp = [p for p in sc.numeric() if p.provenance and p.provenance.is_hypothetical]
    if hyp:
        lines += ["", "Hypothetical (no source; a rationale instead):"]
        lines += [f"  - {p.name}: {p.provenance.hypothetical}" for p in hyp]
    c = sc.provenance_counts()
    lines += [
        "",
        f"{c['parameters']} parameters: {c['sourced']} sourced, {c['hypothetical']} hypothetical",
    ]
    if flagged:
        lines.append(f"{flagged} address problem(s) flagged with '!' above")
    return "\n".join(lines)
