"""From the candidates of each item of a message to its ranked readings.

The best candidate of every item makes the first reading; each runner-up, swapped in for its
item, makes another, ranked by mean score. Present children imply their parents (a pain's place
implies the pain), and a reading lists the findings in the message's order, each child right
after its parent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from agent.free_text import Clause
from agent.intake.located import INTENSITY
from agent.intake.models import ReadFinding, Reading
from retrieval.ddxplus_kb import KnowledgeBase


@dataclass(frozen=True)
class Candidate:
    """One way to read one item of the message."""

    findings: tuple[ReadFinding, ...]
    score: float


def group_items(items: list[Clause]) -> list[list[Clause]]:
    """Items of the same clause together (split_clauses gives each its clause as source); an
    item that is only an intensity ("headache, 8 out of 10") belongs to the one before it."""
    groups: list[list[Clause]] = []
    for item in items:
        same_clause = bool(groups) and groups[-1][0].source == item.source
        if same_clause and INTENSITY.fullmatch(item.text.strip()):
            last = groups[-1][-1]
            groups[-1][-1] = replace(last, text=f"{last.text} {item.text}")
        elif same_clause:
            groups[-1].append(item)
        else:
            groups.append([item])
    return groups


def best_readings(
    kb: KnowledgeBase, per_item: list[list[Candidate]], max_readings: int
) -> list[Reading]:
    """The best candidate of every item makes the first reading; each runner-up, swapped in
    for its item, makes another (ranked by mean score, repeats dropped)."""
    if not per_item:
        return []
    best = [candidates[0] for candidates in per_item]
    options = [best]
    for i, candidates in enumerate(per_item):
        options += [[*best[:i], alternative, *best[i + 1 :]] for alternative in candidates[1:]]
    readings: list[Reading] = []
    for option in options:
        reading = combine(kb, option)
        if reading.findings and all(r.findings != reading.findings for r in readings):
            readings.append(reading)
    first, rest = readings[:1], sorted(readings[1:], key=lambda r: -r.score)
    return (first + rest)[:max_readings]


def combine(kb: KnowledgeBase, candidates: list[Candidate]) -> Reading:
    """One reading of the candidates' findings: each finding once (its best-scored reading),
    the parents of present children added; scored by the candidates' mean."""
    merged: dict[tuple[str, object], ReadFinding] = {}
    for candidate in candidates:
        for found in candidate.findings:
            key = (found.code, None if isinstance(found.value, bool) else found.value)
            if key not in merged or found.score > merged[key].score:
                merged[key] = found
    findings = _with_parents(kb, list(merged.values()))
    score = sum(c.score for c in candidates) / len(candidates)
    return Reading(findings=tuple(findings), score=round(score, 4))


def _with_parents(kb: KnowledgeBase, findings: list[ReadFinding]) -> list[ReadFinding]:
    """Each present finding's parent is present too (a denial of it gives way)."""
    out = {(f.code, None if isinstance(f.value, bool) else f.value): f for f in findings}
    for found in findings:
        child = found
        while found.value is not False and (parent := kb.evidence(child.code).parent):
            key = (parent, None)
            if key not in out or out[key].value is False:
                question = kb.evidence(parent).question
                out[key] = ReadFinding(
                    code=parent,
                    value=True,
                    matched=question,
                    said=found.said,
                    score=found.score,
                    implied_by=found.code,
                )
            child = out[key]
    return sorted(out.values(), key=_family_order(kb, list(out.values())))


def _family_order(kb: KnowledgeBase, findings: list[ReadFinding]) -> Callable[[ReadFinding], Any]:
    """In the order of the message, each child right after its parent."""

    def lineage(code: str) -> list[str]:
        chain = [code]
        while (parent := kb.evidence(chain[-1]).parent) is not None:
            chain.append(parent)
        return chain

    first: dict[str, int] = {}
    for i, found in enumerate(findings):
        first.setdefault(lineage(found.code)[-1], i)
    return lambda f: (first[lineage(f.code)[-1]], len(lineage(f.code)))
