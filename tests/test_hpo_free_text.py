"""Free-text phenotypes: typed HPO ids, words matched to names and synonyms, negation, cache."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from agent.reasoners.hpo.free_text import (
    hpo_labels,
    hpo_matcher,
    read_phenotypes,
    words_of,
)
from retrieval.hpo_kb import HpoKnowledgeBase


def bag_of_words(texts: Sequence[str]) -> np.ndarray:
    """A deterministic stand-in for the sentence encoder: hashed words, unit length."""
    vectors = np.zeros((len(texts), 256), dtype=np.float32)
    for row, text in enumerate(texts):
        for word in text.lower().replace(",", " ").split():
            vectors[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % 256] += 1.0
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


def test_labels_are_names_and_synonyms_of_annotated_terms(mini_hpo_kb: HpoKnowledgeBase) -> None:
    labels = hpo_labels(mini_hpo_kb)
    texts = {(label.label, label.text) for label in labels}
    assert ("HP:0001250", "Fits") in texts and ("HP:0001250", "Seizure") in texts
    assert ("HP:0000256", "Large head") in texts
    assert all(label.label != "HP:0000118" for label in labels)  # annotates nothing directly


def test_words_ids_and_negation_become_findings(
    mini_hpo_kb: HpoKnowledgeBase, tmp_path: Path
) -> None:
    matcher = hpo_matcher(mini_hpo_kb, bag_of_words, tmp_path)
    reading = read_phenotypes(
        mini_hpo_kb, "long fingers, fits but no large head; HP:0001251, not HP:0000252", matcher
    )
    assert reading.findings == {
        "HP:0001251": True,
        "HP:0000252": False,
        "HP:0001166": True,
        "HP:0001250": True,
        "HP:0000256": False,
    }
    assert reading.typed == ["HP:0001251", "HP:0000252"]
    shown = {m.label: m.clause for m in reading.matches}
    assert "fits" in shown["HP:0001250"]
    unknown = read_phenotypes(mini_hpo_kb, "HP:0000006 HP:1234567", None)
    assert unknown.findings == {} and unknown.unknown_ids == ["HP:0000006", "HP:1234567"]
    assert words_of("HP:0001251, no HP:0000252") == ""
