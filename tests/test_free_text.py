"""Free text: clause splitting, negation scope, embedding match against labelled texts."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from agent.free_text import (
    CachedEncoder,
    FloatMatrix,
    FreeTextMatcher,
    LabelledText,
    TextEncoder,
    default_encoder,
    question_as_statement,
    split_clauses,
)
from retrieval.ddxplus_kb import EvidenceKind, KnowledgeBase


def _items(text: str) -> list[tuple[str, bool]]:
    return [(clause.text, clause.negated) for clause in split_clauses(text)]


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("I have a fever", [("fever", False)]),
        ("No fever, cough or chills.", [("fever", True), ("cough", True), ("chills", True)]),
        ("fever but no cough", [("fever", False), ("cough", True)]),
        ("Denies cough and has a rash", [("cough", True), ("rash", False)]),
        ("I don't have a headache", [("headache", True)]),
        ("without nausea; sore throat", [("nausea", True), ("sore throat", False)]),
        ("She is not vomiting", [("vomiting", True)]),
        ("I've been having headaches", [("headaches", False)]),
        ("negative for chest pain", [("chest pain", True)]),
        ("I have asthma", [("asthma", False)]),  # the article "a" is a word, not a prefix
        ("she seems confused", [("confused", False)]),
        ("no fever, just a cough", [("fever", True), ("cough", False)]),
        # "can't" says what a symptom stops a person doing, it denies nothing
        ("I can't breathe", [("can't breathe", False)]),
        ("I can't stop coughing", [("can't stop coughing", False)]),
    ],
)
def test_split_clauses_keeps_the_scope_of_negation(
    message: str, expected: list[tuple[str, bool]]
) -> None:
    assert _items(message) == expected


def test_split_clauses_of_empty_text_is_empty() -> None:
    assert split_clauses(" . ; ") == []


def test_questions_become_statements() -> None:
    assert question_as_statement("Do you have a fever (felt or measured)?") == (
        "a fever (felt or measured)"
    )
    assert question_as_statement("Are you short of breath?") == "short of breath"
    assert question_as_statement("Are you feeling nauseous?") == "nauseous"


@pytest.fixture(scope="module")
def encoder() -> TextEncoder:
    return default_encoder()


def _yes_no_statements(kb: KnowledgeBase) -> list[LabelledText]:
    return [
        LabelledText(label=code, text=question_as_statement(ev.question))
        for code, ev in kb.evidences.items()
        if ev.kind is EvidenceKind.BINARY
    ]


def test_matcher_finds_present_and_denied_symptoms(
    encoder: TextEncoder, mini_kb: KnowledgeBase
) -> None:
    matcher = FreeTextMatcher(_yes_no_statements(mini_kb), encoder)
    matches = matcher.match("I've had a fever since Monday but no cough. I smoke.")
    found = {m.label: m.present for m in matches}
    assert found == {"E_1": True, "E_2": False, "E_6": True}
    assert all(0.55 <= m.score <= 1.0 for m in matches)
    assert matches[0].clause.lower().startswith("i've had a fever")


def test_matcher_ignores_what_is_not_in_the_labels(encoder: TextEncoder) -> None:
    matcher = FreeTextMatcher([LabelledText(label="E_1", text="a fever")], encoder)
    assert matcher.match("the weather is nice today") == []


class _CountingEncoder:
    def __init__(self) -> None:
        self.batches: list[int] = []

    def __call__(self, texts: Sequence[str]) -> FloatMatrix:
        self.batches.append(len(texts))
        return np.ones((len(texts), 3), dtype=np.float32)


def test_cached_encoder_embeds_a_large_batch_once_per_folder(tmp_path: Path) -> None:
    counting = _CountingEncoder()
    texts = [f"text {i}" for i in range(5)]
    first = CachedEncoder(counting, tmp_path, "test", min_texts=3)(texts)
    again = CachedEncoder(counting, tmp_path, "test", min_texts=3)(texts)
    small = CachedEncoder(counting, tmp_path, "test", min_texts=3)(texts[:2])
    assert counting.batches == [5, 2]  # the second large batch came from disk
    assert np.array_equal(first, again) and small.shape == (2, 3)
    other = CachedEncoder(counting, tmp_path, "another model", min_texts=3)(texts)
    assert counting.batches == [5, 2, 5] and other.shape == (5, 3)
