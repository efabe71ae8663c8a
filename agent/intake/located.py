"""Reading a finding that has a place: "sharp pain in my left ear" → pain, ear(L), sharp.

A clause is about a located finding when it holds one of its cue words (pain, hurts, sore …;
swollen …; rash …). What is left once the cue, the describing words and the side are taken
out names the place: its word spans are matched against every body location's texts and lay
names; the best span wins, or a longer one around it that scores nearly as well ("under my
ribs" around "ribs", "lower back" around "back"). Every place that span matches as well
(within a margin) is taken, since a lay place ("head") covers several of DDXPlus's ("top of
the head", "forehead", "temple" …). A side word keeps that side's places;
with none, both sides stay (DDXPlus records both ears for most earaches). Words after "spreads
to" / "going down" name where a pain radiates; "8 out of 10" is its intensity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from agent.intake.labels import IntakeLabels
from agent.intake.models import ReadFinding
from agent.intake.vectors import QueryVectors
from retrieval.ddxplus_kb import KnowledgeBase
from retrieval.ddxplus_phrases import LocatedFinding, as_statement, side_of
from retrieval.lay_terms import (
    BOTH_SIDES_WORDS,
    FUNCTION_WORDS,
    LEFT_WORDS,
    RIGHT_WORDS,
    words,
)

MAX_SPAN = 4
SIDE_WORDS = LEFT_WORDS | RIGHT_WORDS | BOTH_SIDES_WORDS
_SPREADS = re.compile(
    r"\b(?:radiat\w*|spread\w*|go(?:es|ing)?|shoot\w*|travel\w*|mov(?:es|ing)|runs?|running)"
    r"\s+(?:down|up|in|into|to|through|across|towards?|round|around|out)\b(?:\s+(?:to|into))?"
)
INTENSITY = re.compile(r"\b(10|[0-9])\s*(?:/\s*10|out of (?:10|ten))\b")


@dataclass(frozen=True)
class Thresholds:
    place: float
    descriptor: float
    margin: float


@dataclass(frozen=True)
class PlaceMatch:
    """The places a span of the clause names: value code → the place text it matched."""

    values: dict[str, str]
    score: float
    said: str


class LocatedReader:
    """Reads the located findings (pain, swelling, rash) of one clause."""

    def __init__(self, kb: KnowledgeBase, labels: IntakeLabels, thresholds: Thresholds) -> None:
        self.kb = kb
        self.labels = labels
        self.thresholds = thresholds

    def families(self, text: str) -> list[LocatedFinding]:
        """The located findings whose cue words ``text`` holds."""
        said = set(words(text))
        return [family for family in self.labels.located if family.cue_words & said]

    def read(
        self, family: LocatedFinding, text: str, said: str, vectors: QueryVectors
    ) -> tuple[list[ReadFinding], PlaceMatch | None]:
        """The findings of ``family`` in ``text`` (lay terms already rewritten), and the place
        it names (None when it names none)."""
        parent = self.kb.evidence(family.parent)
        found = [
            ReadFinding(
                code=family.parent,
                value=True,
                matched=as_statement(parent.question),
                said=said,
                score=1.0,
            )
        ]
        intensity = INTENSITY.search(text)
        if intensity and family.intensity:
            found.append(
                ReadFinding(
                    code=family.intensity,
                    value=int(intensity.group(1)),
                    matched=intensity.group(0),
                    said=said,
                    score=1.0,
                )
            )
            text = text[: intensity.start()] + text[intensity.end() :]
        parts = _SPREADS.split(text, maxsplit=1)
        main, spread = (parts[0], parts[1]) if len(parts) == 2 else (text, "")
        described = self._descriptors(family, main, said, vectors)
        found += described
        skip = set(family.cue_words) | {f.matched for f in described}
        place = self._place(main, skip, vectors)
        if place is not None:
            found += self._place_findings(family.location, place, said)
        if spread and family.radiation:
            radiates = self._place(spread, skip, vectors)
            if radiates is not None:
                found += self._place_findings(family.radiation, radiates, said)
        return found, place

    def _descriptors(
        self, family: LocatedFinding, text: str, said: str, vectors: QueryVectors
    ) -> list[ReadFinding]:
        tokens = [w for w in dict.fromkeys(words(text)) if w not in FUNCTION_WORDS]
        found: list[ReadFinding] = []
        if not tokens:
            return found
        queries = vectors.of(tokens)
        for code in family.descriptors:
            space = self.labels.values[code]
            scores = space.scores(queries)
            for i, token in enumerate(tokens):
                j = int(np.argmax(scores[i]))
                if scores[i, j] >= self.thresholds.descriptor:
                    found.append(
                        ReadFinding(
                            code=code,
                            value=space.keys[j],
                            matched=token,
                            said=said,
                            score=round(float(scores[i, j]), 4),
                        )
                    )
        return found

    def _place(self, text: str, skip: set[str], vectors: QueryVectors) -> PlaceMatch | None:
        tokens = words(text)
        side = _side(tokens)
        spans = _spans(tokens, skip)
        if not spans:
            return None
        space = self.labels.places
        scores = space.scores(vectors.of(spans))
        best = _most_precise(spans, scores.max(axis=1))
        row = scores[best]
        top = float(row.max())
        if top < self.thresholds.place:
            return None
        query = vectors.of([spans[best]])[0]
        picked = {
            space.keys[j]: space.best_text(query, int(j))
            for j in np.flatnonzero(row >= top - self.thresholds.margin)
            if self._on_side(space.keys[j], side)
        }
        return PlaceMatch(picked, round(top, 4), spans[best]) if picked else None

    def _on_side(self, value: str, side: str | None) -> bool:
        if side is None:
            return True
        describe = self.kb.evidence(self.labels.located[0].location).describe_value
        return side_of(describe(value)) in (None, side)

    def _place_findings(self, code: str, place: PlaceMatch, said: str) -> list[ReadFinding]:
        ev = self.kb.evidence(code)
        return [
            ReadFinding(code=code, value=value, matched=text, said=said, score=place.score)
            for value, text in place.values.items()
            if value in ev.values
        ]


REFINEMENT = 0.1
"""A span around the best one ("under my ribs" around "ribs") names the place more precisely:
it is taken instead when it scores at most this much less."""


def _most_precise(spans: list[str], best: np.ndarray[Any, np.dtype[np.float32]]) -> int:
    top = int(np.argmax(best))
    around = [
        i
        for i, span in enumerate(spans)
        if f" {spans[top]} " in f" {span} " and best[i] >= best[top] - REFINEMENT
    ]
    return max(around, key=lambda i: (len(spans[i].split()), float(best[i])))


def _side(tokens: list[str]) -> str | None:
    said = set(tokens)
    if said & BOTH_SIDES_WORDS or (said & LEFT_WORDS and said & RIGHT_WORDS):
        return None
    if said & LEFT_WORDS:
        return "L"
    if said & RIGHT_WORDS:
        return "R"
    return None


def _spans(tokens: list[str], skip: set[str]) -> list[str]:
    """Runs of up to MAX_SPAN words between skipped words, trimmed of function words."""
    spans: list[str] = []
    segment: list[str] = []
    for token in [*tokens, ""]:
        if token in SIDE_WORDS:  # "under my right ribs" names "under my ribs"
            continue
        if token and token not in skip and not token.isdigit():
            segment.append(token)
            continue
        for i in range(len(segment)):
            for j in range(i + 1, min(len(segment), i + MAX_SPAN) + 1):
                part = segment[i:j]
                if part[0] not in FUNCTION_WORDS and part[-1] not in FUNCTION_WORDS:
                    spans.append(" ".join(part))
        segment = []
    return list(dict.fromkeys(spans))
