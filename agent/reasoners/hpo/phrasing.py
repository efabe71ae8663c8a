"""HPO terms in plain English: the question a person reads, and the answer as it is recorded.

A term's name is often technical ("Arachnodactyly"); its definition's first sentence is usually
plain ("Abnormal thinness and elongation of the fingers and toes"). The question shows both.
"""

from __future__ import annotations

import re

from retrieval.hpo_kb import HpoKnowledgeBase

MAX_EXPLANATION = 160


def _lower_name(name: str) -> str:
    """'Arachnodactyly' → 'arachnodactyly'; acronyms and gene names (EEG, IgA) keep their case."""
    words = name.split(" ")
    first = words[0]
    if len(first) > 1 and first[1:].islower():
        words[0] = first[0].lower() + first[1:]
    return " ".join(words)


def first_sentence(text: str, limit: int = MAX_EXPLANATION) -> str:
    """The definition's first sentence, cut at a word boundary when longer than ``limit``."""
    sentence = re.split(r"(?<=[a-z0-9)])\.\s", text.strip(), maxsplit=1)[0].rstrip(". ")
    if len(sentence) <= limit:
        return sentence
    return sentence[:limit].rsplit(" ", 1)[0] + "…"


def term_question(kb: HpoKnowledgeBase, term: int) -> str:
    """'Does the patient have arachnodactyly (abnormal thinness and elongation of …)?'"""
    name = _lower_name(kb.term_names[term])
    explanation = first_sentence(kb.term_definitions[term])
    # "Blindness is the condition of …" → "the condition of …"
    repeated = re.match(
        rf"^(?:an?\s+|the\s+)?{re.escape(name)}\s+(?:is|are|refers to|describes)\s+",
        explanation,
        flags=re.I,
    )
    if repeated:
        explanation = explanation[repeated.end() :]
    if explanation and explanation.casefold() != name.casefold():
        explanation = explanation[:1].lower() + explanation[1:]
        return f"Does the patient have {name} ({explanation})?"
    return f"Does the patient have {name}?"


def phrase_term_answer(value: bool | None) -> str:
    """The answer as a transcript records it."""
    if value is None:
        return "I don't know."
    return "Yes." if value else "No."
