"""Find the chief complaint among the knowledge base's yes/no symptom questions by keywords.

This is the no-weights intake: a person types a few words ("fever", "chest pain") and picks
one of the matching questions. Words match when one is a prefix of the other, so "cough"
finds "coughing" and "breath" finds "breathing".
"""

from __future__ import annotations

import re

from retrieval.ddxplus_kb import EvidenceKind, KnowledgeBase

_STOPWORDS = {
    "the",
    "and",
    "you",
    "your",
    "have",
    "has",
    "are",
    "with",
    "that",
    "for",
    "any",
    "did",
    "does",
    "feel",
    "from",
    "this",
    "been",
    "or",
    "a",
    "an",
    "do",
    "of",
    "in",
    "to",
    "is",
    "my",
    "i",
    "me",
    "it",
    "on",
    "at",
    "some",
    "something",
}
_MIN_PREFIX = 4


def _words(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z]+", text.lower()) if w not in _STOPWORDS and len(w) > 2]


def _same_word(a: str, b: str) -> bool:
    if a == b:
        return True
    short, long_ = sorted((a, b), key=len)
    return len(short) >= _MIN_PREFIX and long_.startswith(short)


def search_complaints(kb: KnowledgeBase, query: str, limit: int) -> list[str]:
    """Codes of yes/no symptom questions (no gating parent) ranked by words shared with query."""
    wanted = _words(query)
    if not wanted:
        return []
    scored: list[tuple[float, str]] = []
    for code, ev in kb.evidences.items():
        if ev.kind is not EvidenceKind.BINARY or ev.parent is not None or ev.is_antecedent:
            continue
        words = _words(ev.question)
        hits = sum(1 for w in wanted if any(_same_word(w, q) for q in words))
        if hits:
            scored.append((hits / len(wanted) + hits / (len(words) + 1) * 0.1, code))
    scored.sort(key=lambda item: (-item[0], kb.evidence_index[item[1]]))
    return [code for _, code in scored[:limit]]
