"""Keyword search of the chief complaint among the yes/no symptom questions."""

from __future__ import annotations

import pytest

from agent.complaints import search_complaints
from retrieval.ddxplus_kb import EvidenceKind, KnowledgeBase

# Mini KB root symptoms: E_1 fever, E_2 cough, E_3 pain somewhere, E_8 rash, E_10 short of
# breath. E_4/E_5 are gated under E_3; E_6 (smoke), E_7 (travel), E_9 (diabetes) are antecedents.


def test_fever_finds_the_fever_question_first(mini_kb: KnowledgeBase):
    assert search_complaints(mini_kb, "fever", limit=5)[0] == "E_1"


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("I have a fever", "E_1"),
        ("FEVER!", "E_1"),
        ("coughing a lot", "E_2"),  # prefix match: cough ~ coughing
        ("short of breath", "E_10"),
        ("breathless", "E_10"),  # prefix match the other way: breath ~ breathless
        ("a red rash", "E_8"),
        ("pain in my chest", "E_3"),
    ],
)
def test_queries_find_their_question(mini_kb: KnowledgeBase, query: str, first: str):
    assert search_complaints(mini_kb, query, limit=5)[0] == first


def test_more_shared_words_rank_higher(mini_kb: KnowledgeBase):
    # "breath" and "short" both match E_10; only "cough" matches E_2.
    assert search_complaints(mini_kb, "short breath cough", limit=5) == ["E_10", "E_2"]


def test_ties_follow_the_knowledge_base_order(mini_kb: KnowledgeBase):
    assert search_complaints(mini_kb, "cough fever", limit=5) == ["E_1", "E_2"]


def test_limit(mini_kb: KnowledgeBase):
    assert search_complaints(mini_kb, "cough fever rash", limit=2) == ["E_1", "E_2"]
    assert search_complaints(mini_kb, "cough fever rash", limit=0) == []


@pytest.mark.parametrize("query", ["", "   ", "the and of my", "do you have a", "?!", "xyzzy"])
def test_empty_stopword_only_or_unmatched_query_gives_nothing(mini_kb: KnowledgeBase, query):
    assert search_complaints(mini_kb, query, limit=5) == []


@pytest.mark.parametrize("query", ["smoke cigarettes", "diabetes", "traveled country"])
def test_antecedents_are_not_complaints(mini_kb: KnowledgeBase, query: str):
    assert search_complaints(mini_kb, query, limit=5) == []


def test_gated_questions_are_not_complaints(mini_kb: KnowledgeBase):
    # "Where is the pain?" and "How intense is the pain?" are follow-ups of E_3.
    assert search_complaints(mini_kb, "pain intense", limit=5) == ["E_3"]


def test_short_words_do_not_match_by_prefix(mini_kb: KnowledgeBase):
    # "sho" is shorter than the four letters a prefix match needs: no "short of breath".
    assert search_complaints(mini_kb, "sho", limit=5) == []


@pytest.mark.integration
def test_fever_on_the_real_kb(real_kb: KnowledgeBase):
    found = search_complaints(real_kb, "fever", limit=5)
    assert found
    assert "fever" in real_kb.evidence(found[0]).question.lower()
    for code in found:
        ev = real_kb.evidence(code)
        assert ev.kind is EvidenceKind.BINARY
        assert ev.parent is None
        assert not ev.is_antecedent
