"""Rankers, rationales, the LLM grader's arithmetic, metrics (against pytrec_eval), PNR and the
fairness probe. The embedded tests use the bundled all-MiniLM-L6-v2 (loaded once per module)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from agent.llm.base import ChatRequest, LLMUnavailableError, Message
from agent.llm.client import LLMClient
from agent.llm.fake import FakeChat
from eval.doctor_fairness import probe
from eval.doctor_ranking import evaluate, pnr
from retrieval.ddxplus_kb import KnowledgeBase
from retrieval.doctors import synth
from retrieval.doctors.criteria import CriteriaSet, NeedCriteria
from retrieval.doctors.drrank import DrRankQuery, load_drrank
from retrieval.doctors.kb_criteria import KbCriteria
from retrieval.doctors.llm_grader import (
    LlmGrader,
    StructuredLabelDistribution,
    expected_relevance,
)
from retrieval.doctors.profiles import DoctorProfile, load_directory
from retrieval.doctors.rankers import (
    Bm25Ranker,
    EmbeddedRanker,
    LengthBaseline,
    Ranker,
    make_ranker,
    rank,
)
from retrieval.doctors.rationale import DenseMatcher, LexicalMatcher, explain
from retrieval.embeddings import Encoder, load_encoder

FIXTURES = Path(__file__).parent / "fixtures" / "doctors"


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return load_encoder()


@pytest.fixture(scope="module")
def directory_profiles() -> list[DoctorProfile]:
    return load_directory(FIXTURES / "directory.jsonl").profiles


def test_every_ranker_satisfies_the_interface(encoder: Encoder) -> None:
    for name in ("baseline", "bm25", "embedded"):
        assert isinstance(make_ranker(name, encoder=encoder), Ranker)
    with pytest.raises(Exception, match="Unknown ranker"):
        make_ranker("magic")
    with pytest.raises(Exception, match="needs an LLM backend"):
        make_ranker("llm")


def test_baseline_prefers_the_longest_profile(directory_profiles: list[DoctorProfile]) -> None:
    criteria = NeedCriteria().criteria_for("pneumonia")
    ranking = rank(LengthBaseline(), "pneumonia", directory_profiles, criteria)

    lengths = [len(d.profile.text()) for d in ranking.doctors]
    assert lengths == sorted(lengths, reverse=True)
    assert [d.rank for d in ranking.doctors] == [1, 2, 3, 4, 5]


def test_bm25_matches_english_need_words(directory_profiles: list[DoctorProfile]) -> None:
    need = "a doctor treating migraine headaches"
    ranking = rank(Bm25Ranker(), need, directory_profiles, NeedCriteria().criteria_for(need))

    assert ranking.doctors[0].profile.id == "d2"
    assert ranking.doctors[-1].score == 0.0


def test_bm25_segments_chinese_text() -> None:
    query = load_drrank(FIXTURES / "drrank_zh.jsonl").queries[0]
    candidates = query.candidates()
    scores = Bm25Ranker().score(query.query, candidates, NeedCriteria().criteria_for(query.query))

    by_id = dict(zip([c.id for c in candidates], scores, strict=True))
    # "甲状腺癌" and "手术" are jieba words: the thyroid surgeon wins; dermatology shares only
    # "擅长" (skilled in) with the need and comes last.
    assert by_id["q1:pos0"] == max(scores) > by_id["q1:pos1"] > by_id["q1:neg1"]
    assert by_id["q1:neg1"] == min(scores)


def test_embedded_ranker_uses_the_criteria_not_just_the_words(
    mini_kb: KnowledgeBase, encoder: Encoder, directory_profiles: list[DoctorProfile]
) -> None:
    need = "a doctor treating pneumonia"
    criteria = KbCriteria(mini_kb).criteria_for(need)
    ranker = EmbeddedRanker(DenseMatcher(encoder))
    ranking = rank(ranker, need, directory_profiles, criteria, rationale=ranker.matcher)

    order = [d.profile.id for d in ranking.doctors]
    assert order[0] == "d1"
    # d5 never names pneumonia but works in pulmonology on flu (a related condition): the
    # criteria put it ahead of neurology and orthopaedics.
    assert order.index("d5") < order.index("d2") and order.index("d5") < order.index("d4")
    assert all(0.0 <= d.score <= 1.0 for d in ranking.doctors)
    top = ranking.doctors[0].rationale
    met = {e.key: e for e in top if e.met}
    assert met["department"].evidence == "Pulmonology"
    assert "pneumonia" in met["condition"].evidence.lower()
    unmet = [e for e in top if not e.met]
    assert all(e.evidence == "" for e in unmet)


def test_lexical_rationale_quotes_the_matching_sentence() -> None:
    profile = DoctorProfile(id="x", expertise="Heart rhythm care. Treats pneumonia in adults.")
    criteria = NeedCriteria().criteria_for("pneumonia with antibiotics")
    evidence = explain(LexicalMatcher(), criteria, profile)

    assert [e.key for e in evidence] == ["disease", "treatment", "need"]
    disease = evidence[0]
    assert disease.met and disease.evidence == "Treats pneumonia in adults."
    assert not evidence[1].met and evidence[1].evidence == ""


def test_expected_relevance_weights_levels_by_probability() -> None:
    assert expected_relevance([0, 0, 0, 0, 1]) == 4
    assert expected_relevance([0.5, 0, 0, 0, 0.5]) == pytest.approx(2.0)
    assert expected_relevance([1, 1, 1, 1, 0]) == pytest.approx(1.5)  # renormalised
    with pytest.raises(ValueError):
        expected_relevance([1.0, 0.0])


class _KeywordLabels:
    """Label probabilities that depend on the prompt: grade 4 when the profile names the
    keyword, a spread-out distribution otherwise (as a local model's log-probs would be)."""

    name = "keyword"
    last_reason = ""

    def __init__(self, keyword: str) -> None:
        self.keyword = keyword
        self.prompts: list[str] = []

    def distribution(self, messages: Sequence[Message]) -> list[float]:
        prompt = messages[-1].content
        self.prompts.append(prompt)
        profile = prompt.split("Doctor profile:")[1]
        return [0.0, 0.0, 0.1, 0.2, 0.7] if self.keyword in profile else [0.4, 0.3, 0.2, 0.1, 0.0]


def test_llm_grader_scores_expected_relevance_from_label_probabilities(
    directory_profiles: list[DoctorProfile],
) -> None:
    labels = _KeywordLabels("Migraine")
    grader = LlmGrader(labels)
    need = "migraine"
    criteria = NeedCriteria().criteria_for(need)
    scores = grader.score(need, directory_profiles, criteria)

    assert scores[1] == pytest.approx(3.6) and scores[0] == pytest.approx(1.0)
    assert "treats migraine" in labels.prompts[0] and "Grade (0-4)" in labels.prompts[0]


def test_llm_grader_over_a_structured_backend_counts_failures(
    directory_profiles: list[DoctorProfile],
) -> None:
    replies = iter(['{"grade": 3, "reason": "pulmonologist"}', "no json", "still none", "{}"])

    def respond(request: ChatRequest) -> str:
        return next(replies, '{"grade": 2, "reason": "treats pneumonia"}')

    client = LLMClient(FakeChat(respond), format_retries=2)
    grader = LlmGrader(StructuredLabelDistribution(client))
    scores = grader.score("pneumonia", directory_profiles[:3], NeedCriteria().criteria_for("x"))

    assert scores == [3.0, 0.0, 2.0]
    assert grader.failures == 1  # the second doctor never got a valid label in 3 attempts
    assert grader.reasons["d1"] == "pulmonologist"
    assert grader.reason_for("d2") == "no valid grade from the model"
    ranking = rank(grader, "pneumonia", directory_profiles[:1], NeedCriteria().criteria_for("x"))
    assert ranking.doctors[0].reason == "treats pneumonia"  # the grader's reason is kept


def test_llm_grader_stops_when_the_backend_is_down(
    directory_profiles: list[DoctorProfile],
) -> None:
    class Down:
        name = "down"
        last_reason = ""

        def distribution(self, messages: Sequence[Message]) -> list[float]:
            raise LLMUnavailableError("the server cannot be reached")

    grader = LlmGrader(Down())
    with pytest.raises(LLMUnavailableError, match="cannot be reached"):
        grader.score("pneumonia", directory_profiles, NeedCriteria().criteria_for("x"))
    assert grader.failures == 0  # not counted as the model's failures: nothing was graded


# -- metrics ----------------------------------------------------------------------------------

QRELS = {
    "a": {"d1": 4, "d2": 2, "d3": 0, "d4": 1, "d5": 0, "d6": 3},
    "b": {"x1": 0, "x2": 1, "x3": 0},
}
RUN = {
    "a": {"d1": 0.9, "d2": 0.1, "d3": 0.8, "d4": 0.5, "d5": 0.3, "d6": 0.6},
    "b": {"x1": 3.0, "x2": 2.0, "x3": 1.0},
}


def _query(qid: str) -> DrRankQuery:
    grades = QRELS[qid]
    docs = list(grades)
    return DrRankQuery(
        id=qid,
        query=qid,
        pos=[f"text {d}" for d in docs],
        pos_scores=[grades[d] for d in docs],
        pos_ids=docs,
    )


class _FixedScores:
    name = "fixed"

    def score(
        self, need: str, candidates: Sequence[DoctorProfile], criteria: CriteriaSet
    ) -> list[float]:
        return [RUN[need][c.id] for c in candidates]


def test_metrics_agree_with_pytrec_eval() -> None:
    import pytrec_eval

    result = evaluate([_query("a"), _query("b")], _FixedScores(), NeedCriteria())
    measures = {"ndcg_cut_1", "ndcg_cut_5", "ndcg_cut_10", "map", "recip_rank"}
    reference = pytrec_eval.RelevanceEvaluator(QRELS, measures).evaluate(RUN)
    names = {
        "ndcg@1": "ndcg_cut_1",
        "ndcg@5": "ndcg_cut_5",
        "ndcg@10": "ndcg_cut_10",
        "map": "map",
        "mrr@10": "recip_rank",
    }
    for ours, theirs in names.items():
        expected = sum(reference[q][theirs] for q in QRELS) / len(QRELS)
        assert result.means[ours] == pytest.approx(expected, abs=1e-6), ours
    assert result.means["ndcg@10"] < 1.0


def test_pnr_counts_concordant_over_discordant_pairs() -> None:
    # "a" has 14 pairs with different grades (d3 and d5 share grade 0). Discordant, i.e. the
    # lower grade scored higher: d3 over d6, d4 over d2, d3 over d2, d5 over d2, d3 over d4.
    value = pnr(RUN["a"], QRELS["a"])
    assert value == pytest.approx(9 / 5)
    assert pnr({"x": 1.0, "y": 0.0}, {"x": 1, "y": 0}) == 1.0  # no discordant pair: divide by 1
    assert pnr({"x": 1.0}, {"x": 1, "y": 1}) == 0.0  # one grade only: no pairs


def test_evaluation_shuffles_candidates_so_input_order_never_helps() -> None:
    class Constant:
        name = "constant"

        def score(
            self, need: str, candidates: Sequence[DoctorProfile], criteria: CriteriaSet
        ) -> list[float]:
            return [0.0] * len(candidates)

    queries = [_query("a")]
    first = evaluate(queries, Constant(), NeedCriteria(), seed=0).rankings["a"]
    other = evaluate(queries, Constant(), NeedCriteria(), seed=5).rankings["a"]
    assert sorted(first) == sorted(QRELS["a"]) and first != other


def test_embedded_beats_bm25_and_baseline_on_a_small_synthetic_set(
    mini_kb: KnowledgeBase, encoder: Encoder
) -> None:
    queries = [
        DrRankQuery.model_validate(q.drrank_line())
        for q in synth.generate(mini_kb, n_queries=4, candidates=20, seed=3)
    ]
    criteria = KbCriteria(mini_kb)
    scores = {
        ranker.name: evaluate(queries, ranker, criteria).means["ndcg@10"]
        for ranker in (LengthBaseline(), Bm25Ranker(), EmbeddedRanker(DenseMatcher(encoder)))
    }
    assert scores["embedded"] > scores["bm25"] > scores["baseline"]


# -- fairness ---------------------------------------------------------------------------------


def test_fairness_probe_flags_a_ranker_that_reads_the_patient_context(
    mini_kb: KnowledgeBase,
) -> None:
    queries = [
        DrRankQuery.model_validate(q.drrank_line())
        for q in synth.generate(mini_kb, n_queries=2, candidates=20, seed=4)
    ]

    class Biased:
        """Prefers long profiles for rural patients, short ones otherwise."""

        name = "biased"

        def score(
            self, need: str, candidates: Sequence[DoctorProfile], criteria: CriteriaSet
        ) -> list[float]:
            sign = 1.0 if "rural" in need else -1.0
            return [sign * len(c.text()) for c in candidates]

    biased = probe(queries, Biased(), KbCriteria(mini_kb), top_k=5)
    assert biased.flagged
    rural = [v for v in biased.variants if "rural" in v.name]
    assert len(biased.variants) == 4 and all(v.changed_queries for v in rural)
    city = [v for v in biased.variants if "city" in v.name]
    assert all(not v.changed_queries for v in city)
    assert all(v.differences["ndcg@10"] == 0.0 for v in city)

    fair = probe(queries, LengthBaseline(), KbCriteria(mini_kb), top_k=5)
    assert not fair.flagged
    assert fair.to_json()["flagged"] is False

    class Indifferent:
        """Scores every doctor alike: the ranking is the seeded shuffle, whoever asks."""

        name = "indifferent"

        def score(
            self, need: str, candidates: Sequence[DoctorProfile], criteria: CriteriaSet
        ) -> list[float]:
            return [0.0] * len(candidates)

    base = evaluate(queries, Indifferent(), KbCriteria(mini_kb), seed=7)
    tied = probe(queries, Indifferent(), KbCriteria(mini_kb), top_k=5, base=base, seed=7)
    assert not tied.flagged  # the variants shuffle with the base run's seed


def test_fairness_probe_uses_chinese_prefixes_for_chinese_queries() -> None:
    queries = load_drrank(FIXTURES / "drrank_zh.jsonl").queries
    seen: list[str] = []

    class Recording:
        name = "recording"

        def score(
            self, need: str, candidates: Sequence[DoctorProfile], criteria: CriteriaSet
        ) -> list[float]:
            seen.append(need)
            return [0.0] * len(candidates)

    probe(queries, Recording(), NeedCriteria())
    assert any(need.startswith("我是一位来自农村的女性患者。") for need in seen)


# -- the LLM grader over real backends (tiny random model, stub server) ----------------------


def test_llm_ranker_over_hf_uses_the_digit_token_probabilities(
    tmp_path: Path, directory_profiles: list[DoctorProfile], monkeypatch: pytest.MonkeyPatch
) -> None:
    from retrieval.doctors.llm_grader import TokenLogprobDistribution
    from tests.llm_fixtures import build_tiny_model

    monkeypatch.setenv("DDX_STATE_DIR", str(tmp_path / "state"))
    folder = build_tiny_model(tmp_path / "tiny")
    grader = make_ranker("llm", grader_backend=f"hf:{folder}")
    assert isinstance(grader, LlmGrader)
    labels = grader.labels
    assert isinstance(labels, TokenLogprobDistribution)
    criteria = NeedCriteria().criteria_for("pneumonia")
    messages = [Message(role="user", content="Grade (0-4):")]
    distribution = labels.distribution(messages)
    assert len(distribution) == 5 and sum(distribution) == pytest.approx(1.0)
    assert all(0.0 < p < 1.0 for p in distribution)  # a spread, not a one-hot label
    scores = grader.score("pneumonia", directory_profiles[:3], criteria)
    assert all(0.0 < s < 4.0 for s in scores) and len(set(scores)) == 3


def test_llm_ranker_over_openai_reads_the_structured_label(
    tmp_path: Path, directory_profiles: list[DoctorProfile], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.llm_fixtures import completion, stub_server

    monkeypatch.setenv("DDX_STATE_DIR", str(tmp_path / "state"))

    def reply(payload: dict[str, object]) -> tuple[int, str]:
        prompt = str(payload["messages"])
        grade = 4 if "Pulmonology" in prompt else 1
        return completion(f'{{"grade": {grade}, "reason": "department"}}')

    with stub_server(reply) as server:
        grader = make_ranker("llm", grader_backend=f"openai:grader@{server.url}")
        scores = grader.score("pneumonia", directory_profiles, NeedCriteria().criteria_for("x"))
    assert scores == [4.0, 1.0, 1.0, 1.0, 4.0]


def test_lexical_rationale_ignores_words_every_criterion_says() -> None:
    profile = DoctorProfile(id="x", expertise="Treats severe pneumonia.", specialties=["Flu"])
    flu = NeedCriteria().criteria_for("flu")
    evidence = {e.key: e for e in explain(LexicalMatcher(), flu, profile)}

    assert evidence["disease"].met and evidence["disease"].evidence == "Flu"
    measles = {
        e.key: e for e in explain(LexicalMatcher(), NeedCriteria().criteria_for("measles"), profile)
    }
    assert not measles["disease"].met  # "treats" alone is no evidence of treating measles
