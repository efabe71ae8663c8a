"""A person's message → ranked readings of DDXPlus findings, with a local sentence encoder.

The message is split into clauses and list items, each keeping its negation
(:func:`agent.free_text.split_clauses`). Each item is read twice, as written and with lay terms
rewritten (:mod:`retrieval.lay_terms`: "pee" → urinate), and matched against

* the yes/no questions as statements and their "or" alternatives (→ one evidence), and
* when it holds a pain, swelling or rash word, the located finding: its parent, the places
  its words name, how it feels, where it spreads, how intense (:mod:`agent.intake.located`).

A yes/no match at least ``together`` close is read beside a located finding ("sore throat" →
sore throat + pain in the throat); weaker ones become alternatives. An "and" list is read
whole when the whole matches one question better than any of its parts ("weakness in both
arms and legs"), item by item otherwise ("a cough and a fever").

The item's candidates become the message's ranked readings in :mod:`agent.intake.combine` (the
best of every item first, each runner-up swapped in for another; parents of present children
added). A message that matches nothing gives no reading: callers say so.
"""

from __future__ import annotations

import re

import numpy as np
from pydantic import BaseModel, Field

from agent.free_text import Clause, TextEncoder, clause_core, split_clauses
from agent.intake.combine import Candidate, best_readings, combine, group_items
from agent.intake.labels import IntakeLabels, build_labels, valued_roots
from agent.intake.located import LocatedReader, PlaceMatch, Thresholds
from agent.intake.models import IntakeReading, ReadFinding, Reading
from agent.intake.vectors import QueryVectors
from retrieval.ddxplus_kb import KnowledgeBase
from retrieval.lay_terms import FUNCTION_WORDS, rewrite_lay_terms, words


class ReaderSettings(BaseModel):
    """The reader's thresholds (cosine similarity, all-MiniLM-L6-v2), chosen on the dev half of
    the intake phrases (tests/fixtures/intake/dev.jsonl, BENCHMARKS.md)."""

    evidence: float = Field(default=0.55, description="A yes/no question matches at least this.")
    place: float = Field(default=0.7, description="A body place matches at least this.")
    descriptor: float = Field(default=0.8, description="A describing word matches this.")
    margin: float = Field(default=0.05, description="Places this close to the best are taken.")
    together: float = Field(default=0.8, description="Yes/no read beside a located finding.")
    alternatives: float = Field(default=0.1, description="Runner-ups this close are offered.")
    per_item: int = Field(default=3, description="Candidates kept per item.")
    max_readings: int = Field(default=5, description="Readings offered, best first.")


class IntakeReader:
    """Reads messages against one knowledge base (its label vectors are built once)."""

    def __init__(
        self,
        kb: KnowledgeBase,
        encoder: TextEncoder,
        settings: ReaderSettings | None = None,
        label_encoder: TextEncoder | None = None,
        labels: IntakeLabels | None = None,
        vectors: QueryVectors | None = None,
    ) -> None:
        self.kb = kb
        self.encoder = encoder
        self.settings = settings or ReaderSettings()
        self.labels = labels or build_labels(kb, label_encoder or encoder)
        self._roots = set(valued_roots(kb))
        self._parents = {family.parent for family in self.labels.located}
        self._vectors = vectors or QueryVectors(encoder)
        s = self.settings
        self.located = LocatedReader(kb, self.labels, Thresholds(s.place, s.descriptor, s.margin))

    def read(self, message: str) -> IntakeReading:
        """Every reading of ``message``, best first."""
        groups = group_items(split_clauses(message))
        per_item = [c for group in groups for c in self._group(group) if c]
        readings = best_readings(self.kb, per_item, self.settings.max_readings)
        return IntakeReading(text=message, readings=tuple(readings))

    def merge(self, readings: list[Reading]) -> Reading | None:
        """One reading holding the findings of several (None for none)."""
        if not readings:
            return None
        return combine(self.kb, [Candidate(r.findings, r.score) for r in readings])

    def read_statement(self, statement: str, present: bool) -> Reading | None:
        """The best reading of one short statement whose presence is known (an LLM's item)."""
        candidates = self._item(clause_core(statement), not present, statement)
        return combine(self.kb, [candidates[0]]) if candidates else None

    # -- one clause ---------------------------------------------------------------------------

    def _group(self, items: list[Clause]) -> list[list[Candidate]]:
        """Candidates per item, or for the whole clause when that reads it better."""
        parts = [self._item(c.text, c.negated, c.source) for c in items]
        if len(items) > 1 and len({c.negated for c in items}) == 1:
            whole = self._item(clause_core(items[0].source), items[0].negated, items[0].source)
            best_part = max((p[0].score for p in parts if p), default=0.0)
            if (
                whole
                and whole[0].score > best_part
                and not any(len(p[0].findings) > 1 for p in parts if p)
            ):
                return [whole]
        return parts

    def _item(self, text: str, negated: bool, said: str) -> list[Candidate]:
        rewritten = rewrite_lay_terms(text)
        families = self.located.families(rewritten)
        located: list[ReadFinding] = []
        places: list[PlaceMatch] = []
        for family in families:
            found, place = self.located.read(family, rewritten, said, self._vectors)
            located += found
            places += [place] if place is not None else []
        # the clause without its place, for what it says about the finding ("pain when I
        # breathe in" is a yes/no question; "chest" would pull it towards chest questions)
        cues = {w for family in families for w in family.cue_words} | FUNCTION_WORDS
        unplaced = [
            rest
            for p in places
            for t in (text, rewritten)
            if set(words(rest := _without(t, p.said))) - cues
        ]
        evidence = self._evidence_candidates([text, rewritten, *unplaced], negated, said)
        if not families:
            return evidence
        evidence = [c for c in evidence if c.findings[0].code not in self._parents]
        if negated:  # "no pain" denies the parent; "no chest pain" cannot be said in DDXPlus
            located = [] if places else [_denied(f) for f in located if f.code in self._parents]
        score = max((p.score for p in places), default=self.settings.evidence)
        # a place makes the located finding the reading; without one, the best yes/no match
        # says more ("aching muscles": diffuse muscle pain) and is read with it
        needed = self.settings.together if places else self.settings.evidence
        together = [c for c in evidence[:1] if c.score >= needed]
        primary = Candidate(tuple(located) + tuple(f for c in together for f in c.findings), score)
        alternatives = [c for c in evidence if c not in together]
        return ([primary] if primary.findings else []) + alternatives

    def _evidence_candidates(self, texts: list[str], negated: bool, said: str) -> list[Candidate]:
        """Yes/no (or valued root) questions close to any of ``texts`` (as written, rewritten,
        without the place), best first; ``texts[1]`` is the rewritten one."""
        queries = self._vectors.of(list(dict.fromkeys(texts)))
        scores = self.labels.evidences.scores(queries)
        best = scores.max(axis=0)
        s = self.settings
        top = float(best.max()) if best.size else 0.0
        found: list[Candidate] = []
        for j in np.argsort(-best)[: s.per_item]:
            score = float(best[j])
            if score < s.evidence or score < top - s.alternatives:
                break
            query = queries[int(np.argmax(scores[:, j]))]
            code = self.labels.evidences.keys[j]
            matched = self.labels.evidences.best_text(query, int(j))
            finding = self._evidence_finding(code, negated, matched, said, score, texts[1])
            if finding is not None:
                found.append(Candidate((finding,), round(score, 4)))
        return found

    def _evidence_finding(
        self,
        code: str,
        negated: bool,
        matched: str,
        said: str,
        score: float,
        text: str,
    ) -> ReadFinding | None:
        value: bool | str | int = not negated
        if code in self._roots:  # travel: the region is the value, or nothing is read
            picked = self._root_value(code, text) if not negated else None
            default = self.kb.evidence(code).default
            value = picked if picked is not None else default
            if picked is None and not negated:
                return None
        return ReadFinding(
            code=code, value=value, matched=matched, said=said, score=round(score, 4)
        )

    def _root_value(self, code: str, text: str) -> str | None:
        space = self.labels.values[code]
        tokens = words(text)
        spans = [
            " ".join(tokens[i:j])
            for i in range(len(tokens))
            for j in range(i + 1, min(len(tokens), i + 3) + 1)
        ]
        if not spans:
            return None
        scores = space.scores(self._vectors.of(spans))
        i, j = np.unravel_index(int(np.argmax(scores)), scores.shape)
        return space.keys[int(j)] if scores[i, j] >= self.settings.place else None


_PLACE_LEAD = r"(?:\b(?:in|on|at|of|under|behind|around|across|near|to|into)\s+)?" + (
    r"(?:\b(?:my|his|her|their|the|your|our|both|left|right)\s+)*"
)


def _without(text: str, span: str) -> str:
    """``text`` without the place ``span`` and its lead ("pain in my chest when…" → "pain
    when…")."""
    place = r"\s+".join(re.escape(w) for w in span.split())
    return re.sub(r"\s+", " ", re.sub(_PLACE_LEAD + place + r"\b", " ", text.lower())).strip()


def _denied(found: ReadFinding) -> ReadFinding:
    return found.model_copy(update={"value": False})
