"""The rare-disease intake's parts without Streamlit (ui.rare), on the hand-written HPO
fixture: terms to pick, a description read into terms, identifiers as addresses, and the
embedding of many names reported step by step."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from agent.free_text import FloatMatrix
from retrieval.hpo_kb import HpoKnowledgeBase
from ui.rare import (
    ENCODE_STEP,
    ReportingEncoder,
    disease_references,
    needs_words,
    read_description,
    term_of,
    term_options,
)


def test_terms_to_pick_are_the_annotated_ones_by_name_with_their_id(
    mini_hpo_kb: HpoKnowledgeBase,
) -> None:
    options = term_options(mini_hpo_kb)
    assert "Arachnodactyly (HP:0001166)" in options
    assert list(options) == sorted(options, key=str.casefold)
    assert all(term_of(option) for option in options)
    assert term_of("Seizure (HP:0001250)") == "HP:0001250" and term_of("Seizure") is None


def test_typed_ids_are_read_present_or_denied_and_unknown_ones_reported(
    mini_hpo_kb: HpoKnowledgeBase,
) -> None:
    draft = read_description(mini_hpo_kb, "HP:0001166, no HP:0002279, HP:9999999", None)
    read = {(f.term_id, f.present) for f in draft.findings}
    assert read == {("HP:0001166", True), ("HP:0001250", False)}  # an alias, followed
    assert draft.unknown_ids == ["HP:9999999"]
    assert not needs_words("HP:0001166, HP:0001250") and needs_words("long fingers")


def test_a_diseases_identifiers_become_addresses(mini_hpo_kb: HpoKnowledgeBase) -> None:
    assert disease_references(mini_hpo_kb, "Alpha syndrome") == [
        ("OMIM:100001", "https://omim.org/entry/100001"),
        ("ORPHA:1001", "https://www.orpha.net/en/disease/detail/1001"),
    ]
    assert disease_references(mini_hpo_kb, "No such disease") == []


def test_embedding_many_names_reports_each_step() -> None:
    seen: list[tuple[str, int, int]] = []

    def encoder(texts: Sequence[str]) -> FloatMatrix:
        return np.ones((len(texts), 3), dtype=np.float32)

    def progress(stage: str, done: int = 0, total: int = 0) -> None:
        seen.append((stage, done, total))

    texts = [f"name {i}" for i in range(ENCODE_STEP * 2 + 5)]
    vectors = ReportingEncoder(encoder, progress)(texts)
    assert vectors.shape == (len(texts), 3)
    assert [done for _, done, _ in seen] == [0, ENCODE_STEP, ENCODE_STEP * 2, len(texts)]
    assert {total for _, _, total in seen} == {len(texts)}
    small = ReportingEncoder(encoder, progress)(["one"])
    assert len(small) == 1 and len(seen) == 4  # a small batch: no report
