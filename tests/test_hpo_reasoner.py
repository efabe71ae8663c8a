"""The phenotype reasoner: propagation, frequencies, absent and excluded terms, questions."""

from __future__ import annotations

import numpy as np
import pytest

from agent.reasoners.hpo.model import (
    LikelihoodParams,
    LikelihoodScorer,
    presence_probability,
)
from agent.reasoners.hpo.phrasing import first_sentence, term_question
from agent.reasoners.hpo.questions import PhenotypeHistoryTaker
from agent.reasoners.hpo.roles import PhenotypeDiagnoser
from agent.reasoners.hpo.similarity import ResnikScorer
from agent.roles import ConsultationView
from retrieval.findings import Findings, InvalidAnswerError
from retrieval.hpo_kb import HpoKnowledgeBase


def view(findings: Findings, asked: list[str] | None = None) -> ConsultationView:
    return ConsultationView(
        age=None,
        sex=None,
        findings=findings,
        asked=asked or [],
        differential=[],
        max_questions=10,
    )


def ranking(kb: HpoKnowledgeBase, scores: np.ndarray) -> list[str]:
    return [kb.disease_names[i] for i in np.argsort(-scores, kind="stable")]


def test_presence_is_a_noisy_or_over_descendant_annotations(mini_hpo_kb: HpoKnowledgeBase) -> None:
    kb = mini_hpo_kb
    presence = presence_probability(kb, default_frequency=0.5).toarray()
    alpha = kb.disease_index("OMIM:100001")
    seizure = kb.term_index("HP:0001250")
    nervous = kb.term_index("HP:0000707")
    # Seizure 0.895 directly, Focal-onset seizure 0.545 below it.
    assert presence[alpha, seizure] == pytest.approx(1 - (1 - 0.895) * (1 - 0.545))
    # Nervous system also gets Ataxia (frequency unknown → 0.5).
    assert presence[alpha, nervous] == pytest.approx(1 - (1 - 0.895) * (1 - 0.545) * 0.5)
    beta = kb.disease_index("OMIM:100002")
    assert presence[beta, seizure] == 0


def test_record_length_scales_large_annotation_lists(mini_hpo_kb: HpoKnowledgeBase) -> None:
    kb = mini_hpo_kb
    full = presence_probability(kb, 0.5).toarray()
    short = presence_probability(kb, 0.5, record_length=1.0).toarray()
    alpha = kb.disease_index("OMIM:100001")
    micro = kb.term_index("HP:0000252")
    expected_terms = 0.895 + 0.75 + 0.5 + 0.545
    assert short[alpha, micro] == pytest.approx(0.75 / expected_terms)
    assert full[alpha, micro] == pytest.approx(0.75)


def test_a_specific_term_supports_the_disease_annotated_with_its_ancestor(
    mini_hpo_kb: HpoKnowledgeBase,
) -> None:
    """Propagation upwards: a patient's Focal-onset seizure is a Seizure (Gamma has Seizure
    only through an alternative id); Beta has nothing neurological."""
    kb = mini_hpo_kb
    scorer = LikelihoodScorer(kb)
    focal = kb.term_index("HP:0007359")
    scores = scorer.scores([focal], [])
    order = ranking(kb, scores)
    assert order[0] == "Alpha syndrome"
    assert scores[kb.disease_index("ORPHA:1002")] > scores[kb.disease_index("OMIM:100002")]


def test_a_general_term_supports_every_disease_with_a_term_below_it(
    mini_hpo_kb: HpoKnowledgeBase,
) -> None:
    kb = mini_hpo_kb
    scores = LikelihoodScorer(kb).scores([kb.term_index("HP:0000707")], [])
    beta = scores[kb.disease_index("OMIM:100002")]
    assert scores[kb.disease_index("OMIM:100001")] > beta
    assert scores[kb.disease_index("ORPHA:1002")] > beta


def test_absent_and_excluded_terms_lower_a_disease(mini_hpo_kb: HpoKnowledgeBase) -> None:
    kb = mini_hpo_kb
    scorer = LikelihoodScorer(kb)
    alpha = kb.disease_index("OMIM:100001")
    gamma = kb.disease_index("ORPHA:1002")
    ataxia = kb.term_index("HP:0001251")
    seizure = kb.term_index("HP:0001250")
    with_ataxia = scorer.scores([ataxia], [])
    denied_seizure = scorer.scores([ataxia], [seizure])
    assert denied_seizure[alpha] < with_ataxia[alpha]
    assert denied_seizure[gamma] - with_ataxia[gamma] > denied_seizure[alpha] - with_ataxia[alpha]
    macro = kb.term_index("HP:0000256")
    ratios = scorer.term_ratios(macro)
    assert ratios[alpha] < scorer.params.noise  # Alpha is annotated NOT to have macrocephaly
    delta = kb.disease_index("OMIM:100003")
    assert scorer.term_ratios(kb.term_index("HP:0007359"))[delta] < scorer.params.noise


def test_confirmed_answers_weigh_more_than_volunteered_terms(
    mini_hpo_kb: HpoKnowledgeBase,
) -> None:
    kb = mini_hpo_kb
    scorer = LikelihoodScorer(kb, LikelihoodParams(noise=0.9, answered_noise=0.1))
    arachno = kb.term_index("HP:0001166")
    gamma = kb.disease_index("ORPHA:1002")
    assert scorer.scores([], [], [arachno])[gamma] > scorer.scores([arachno], [])[gamma] > 0


def test_resnik_scores_by_the_most_informative_common_ancestor(
    mini_hpo_kb: HpoKnowledgeBase,
) -> None:
    kb = mini_hpo_kb
    scorer = ResnikScorer(kb)
    root = kb.term_index("HP:0000118")
    assert scorer.information[root] == pytest.approx(0.0)
    scores = scorer.scores([kb.term_index("HP:0000256")], [])  # macrocephaly
    assert ranking(kb, scores)[0] == "Beta disease"


def test_diagnoser_ranks_explains_and_lists_hallmarks(mini_hpo_kb: HpoKnowledgeBase) -> None:
    kb = mini_hpo_kb
    diagnoser = PhenotypeDiagnoser(kb)
    consult = view({"HP:0001166": True, "HP:0001251": True, "HP:0000256": False})
    ranked = diagnoser.diagnose(consult)
    assert ranked[0].name == "Gamma syndrome"
    assert sum(r.probability for r in ranked) == pytest.approx(1.0)
    (gamma,) = diagnoser.explain(consult, ranked[:1], top_k=1)
    assert {e.code for e in gamma.raised_by} >= {"HP:0001251", "HP:0001166"}
    assert gamma.not_yet_asked == ["Seizure"]  # its one term nobody mentioned


def test_history_taker_asks_a_separating_term_never_an_implied_one(
    mini_hpo_kb: HpoKnowledgeBase,
) -> None:
    kb = mini_hpo_kb
    taker = PhenotypeHistoryTaker(PhenotypeDiagnoser(kb), review_of_systems=False, checklist=1)
    consult = view({"HP:0001251": True})  # ataxia: Alpha and Gamma both have it
    question = taker.next_question(consult)
    assert question is not None
    assert question.kind == "B"
    implied = {"HP:0001251", "HP:0000707", "HP:0000118"}  # ataxia and its ancestors
    assert question.code not in implied
    assert question.expected_gain > 0
    assert question.text.startswith("Does the patient have ")
    denied = view({"HP:0001251": True, "HP:0001250": False}, asked=["HP:0001250"])
    again = taker.next_question(denied)
    assert again is not None
    assert again.code not in {"HP:0001250", "HP:0007359", *implied}  # below a "no": no too


def test_question_text_is_plain_english(mini_hpo_kb: HpoKnowledgeBase) -> None:
    kb = mini_hpo_kb
    text = term_question(kb, kb.term_index("HP:0001166"))
    assert (
        text
        == "Does the patient have arachnodactyly (abnormally long and slender fingers and toes)?"
    )
    seizure = term_question(kb, kb.term_index("HP:0001250"))
    assert seizure == (
        "Does the patient have seizure (an intermittent abnormality of nervous system physiology)?"
    )
    assert first_sentence("One thing. Another thing.") == "One thing"
    assert first_sentence("word " * 60, limit=20).endswith("…")


def test_the_review_of_systems_comes_first_and_counts_per_branch(
    mini_hpo_kb: HpoKnowledgeBase,
) -> None:
    from agent.reasoners.hpo.catalogue import HpoCatalogue
    from retrieval.hpo_review import REVIEW_CODE, expand_findings
    from simulator.phenotype_patient import PhenotypePatient

    kb = mini_hpo_kb
    taker = PhenotypeHistoryTaker(PhenotypeDiagnoser(kb))
    first = taker.next_question(view({"HP:0001251": True}))
    assert first is not None and first.code == REVIEW_CODE and first.kind == "M"
    labels = [label for label, _ in first.choices]
    assert "Nervous system" in labels and "Head or neck" in labels
    # the simulated patient ticks a branch when one of its terms lies below it
    patient = PhenotypePatient(kb, ["HP:0001250"])  # seizure: nervous system only
    answer = patient.answer(REVIEW_CODE)
    assert answer == ["HP:0000707"]
    catalogue = HpoCatalogue(kb)
    assert catalogue.parse_text(REVIEW_CODE, "nervous system") == ["HP:0000707"]
    assert catalogue.parse_text(REVIEW_CODE, "no") == []
    assert catalogue.parse_text(REVIEW_CODE, "nervous, finger") == ["HP:0000707", "HP:0001167"]
    assert catalogue.parse_text(REVIEW_CODE, "1") == [first.choices[0][1]]
    assert catalogue.parse_text(REVIEW_CODE, "neck") == ["HP:0000152"]  # part of a name
    with pytest.raises(InvalidAnswerError, match="not one of the choices"):
        catalogue.parse_text(REVIEW_CODE, "lungs")
    assert catalogue.parse_text(REVIEW_CODE, "don't know") is None
    assert catalogue.phrase_answer(REVIEW_CODE, ["HP:0000707"]) == "Affected: Nervous system."
    # unticked branches are absent, except one a volunteered term already implies
    findings: Findings = {"HP:0001166": True, REVIEW_CODE: ["HP:0000707"]}
    expanded = expand_findings(kb, findings)
    assert expanded["HP:0000707"] is True
    assert expanded["HP:0000152"] is False  # head or neck: not ticked
    assert "HP:0001167" not in expanded  # finger: implied by arachnodactyly, never denied
    # after the review: a checklist of terms, none below a branch answered no
    after = view(findings, asked=[REVIEW_CODE])
    following = taker.next_question(after)
    assert following is not None and following.kind == "M"
    offered = {code for _, code in following.choices}
    assert len(offered) >= 2
    assert not offered & {"HP:0000252", "HP:0000256", "HP:0000234", "HP:0000152"}


def test_a_checklist_offers_unrelated_terms_and_counts_each_choice(
    mini_hpo_kb: HpoKnowledgeBase,
) -> None:
    from agent.reasoners.hpo.catalogue import HpoCatalogue
    from agent.reasoners.hpo.roles import split_view
    from retrieval.hpo_review import checklist_terms, expand_findings
    from simulator.phenotype_patient import PhenotypePatient

    kb = mini_hpo_kb
    taker = PhenotypeHistoryTaker(PhenotypeDiagnoser(kb), review_of_systems=False, checklist=3)
    question = taker.next_question(view({"HP:0001251": True}))  # ataxia
    assert question is not None and question.kind == "M"
    terms = checklist_terms(kb, question.code)
    assert terms is not None and 2 <= len(terms) <= 3
    assert [code for _, code in question.choices] == [kb.term_ids[t] for t in terms]
    for term in terms:  # no choice is an ancestor or descendant of another, or implied
        others = set(terms) - {term}
        assert not others & {int(a) for a in kb.ancestors_of(term)}
        assert kb.term_ids[term] not in {"HP:0001251", "HP:0000707", "HP:0000118"}
    catalogue = HpoCatalogue(kb)
    assert catalogue.knows(question.code) and not catalogue.knows("HP:0001250+HP:9999999")
    assert catalogue.question_text(question.code).startswith("Which of these does the patient")
    first = str(question.choices[0][1])
    assert catalogue.parse_text(question.code, "1") == [first]
    assert catalogue.parse_text(question.code, "none") == []
    with pytest.raises(InvalidAnswerError, match="Not a choice"):
        catalogue.normalize(question.code, ["HP:0000118"])
    # the record patient ticks what the record has (or has below), leaves the rest unticked
    patient = PhenotypePatient(kb, ["HP:0001251", "HP:0007359"], excluded=[first])
    answer = patient.answer(question.code)
    assert isinstance(answer, list)
    assert answer == [kb.term_ids[t] for t in terms if patient.has(kb.term_ids[t])]
    # ticked: confirmed when asked; unticked: a weak "no"; "don't know": nothing
    findings: Findings = {"HP:0001251": True, question.code: [first]}
    split = split_view(kb, view(findings, asked=[question.code]))
    assert kb.term_index(first) in split.confirmed
    assert set(split.unticked) == set(terms) - {kb.term_index(first)}
    assert expand_findings(kb, {question.code: None}) == {}
    again = taker.next_question(view({"HP:0001251": True, question.code: None}, [question.code]))
    if again is not None:
        offered = checklist_terms(kb, again.code) or [kb.term_index(again.code)]
        assert not set(offered) & set(terms)


def test_expected_gain_counts_yes_and_no_and_leaves_dont_know_uninformative(
    mini_hpo_kb: HpoKnowledgeBase,
) -> None:
    """The sparse gain equals the gain computed densely from the answer model."""
    from agent.reasoners.hpo.questions import AnswerModel

    kb = mini_hpo_kb
    answers = AnswerModel(answer_rate=0.6, denial_rate=0.1)
    taker = PhenotypeHistoryTaker(PhenotypeDiagnoser(kb), answers=answers)
    weights = np.array([0.5, 0.2, 0.2, 0.1])
    terms = list(range(kb.n_terms))
    gains = taker.expected_gains(weights, terms)
    presence = taker.scorer.presence.toarray()
    noise = taker.scorer.params.noise * taker.scorer.background
    prior = weights / weights.sum()

    def entropy(p: np.ndarray) -> float:
        p = p[p > 0]
        return float(-(p * np.log2(p)).sum())

    for t in terms:
        p_yes = np.clip(0.6 * presence[:, t] + noise[t], 1e-12, 1)
        p_no = np.clip(0.1 * (1 - 0.6 * presence[:, t]), 1e-12, 1)
        expected = 0.0
        for p in (p_yes, p_no):
            joint = prior * p
            expected += joint.sum() * (entropy(prior) - entropy(joint / joint.sum()))
        assert gains[t] == pytest.approx(expected, abs=1e-9)
    # a term every disease has equally tells nothing; one only Beta has tells something
    assert gains[kb.term_index("HP:0000256")] > 0
