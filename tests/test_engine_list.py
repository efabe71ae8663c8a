"""The differential list (model, features, list questions), question criteria, and the graph's
list phase, on the mini knowledge base."""

from __future__ import annotations

import dataclasses
import itertools
import math
from typing import Any

import numpy as np
import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from agent.consult.graph import builder
from agent.context import ConsultContext
from agent.reasoners.ddxplus.bayes import BayesEngine
from agent.reasoners.ddxplus.differential_list import FeatureBuilder, ListModel, differential_list
from agent.reasoners.ddxplus.fit_list import fit_list_model
from agent.reasoners.ddxplus.gain import expected_gain
from agent.reasoners.ddxplus.likelihood import structural_model
from agent.reasoners.ddxplus.list_questions import EngineDifferentialList, ListHistoryTaker
from agent.reasoners.ddxplus.roles import (
    BayesDiagnoser,
    InformationGainHistoryTaker,
    QuestionPolicy,
)
from agent.roles import ConsultationView
from agent.trace import QuestionAsked
from retrieval.ddxplus_kb import KnowledgeBase
from simulator.records import PatientRecord

FLU, PNEUMONIA, MIGRAINE, MEASLES = range(4)


def view(
    findings: dict[str, Any] | None = None, asked: list[str] | None = None
) -> ConsultationView:
    return ConsultationView(
        age=30,
        sex="F",
        findings=findings or {},
        asked=asked or [],
        differential=[],
        max_questions=10,
    )


def breathless_records(n: int) -> list[PatientRecord]:
    """Flu patients whose reference lists Pneumonia exactly when they are short of breath."""
    records = []
    for i in range(n):
        evidences: dict[str, Any] = {"E_1": True, "E_2": True}
        reference = [("Flu", 0.8)]
        if i % 2:
            evidences["E_10"] = True
            reference.append(("Pneumonia", 0.2))
        records.append(
            PatientRecord(
                case_id=f"t:{i}",
                age=30,
                sex="F",
                pathology="Flu",
                initial_evidence="E_1",
                evidences=evidences,
                differential=reference,
            )
        )
    return records


@pytest.fixture
def list_model(mini_kb: KnowledgeBase) -> ListModel:
    return fit_list_model(mini_kb, breathless_records(40), regularisation=10.0, threshold=0.5)


@pytest.fixture
def lister(mini_kb: KnowledgeBase, list_model: ListModel) -> EngineDifferentialList:
    return EngineDifferentialList(
        BayesDiagnoser(BayesEngine(mini_kb, structural_model(mini_kb))), list_model
    )


# -- features and the list model ----------------------------------------------------------------


def test_observed_features_keep_present_findings_under_present_parents(mini_kb: KnowledgeBase):
    builder = FeatureBuilder(mini_kb)
    x = builder.observed(
        {"E_1": True, "E_2": False, "E_3": True, "E_4": ["V_2"], "E_5": 4}, 30, "F"
    )
    on = {builder.layout[i] for i in np.flatnonzero(x[: len(builder.layout)])}
    assert on == {("E_1", None), ("E_3", None), ("E_4", "V_2"), ("E_5", 4)}
    assert x[-1] == 1.0  # female
    # A child whose parent is absent is not a finding.
    y = builder.observed({"E_3": False, "E_5": 4}, None, None)
    assert not y.any()


def test_expected_features_impute_unknown_findings_from_the_posterior(mini_kb: KnowledgeBase):
    engine = BayesEngine(mini_kb, structural_model(mini_kb))
    builder = FeatureBuilder(mini_kb)
    posterior = np.array([1.0, 0.0, 0.0, 0.0])  # surely Flu
    x = builder.expected(engine, {"E_1": True}, posterior, 30, "F")
    column = builder.index
    assert x[column[("E_1", None)]] == 1.0  # known
    assert x[column[("E_2", None)]] == pytest.approx(0.5)  # Flu lists cough: 0.5
    assert x[column[("E_8", None)]] == pytest.approx(0.002)  # not listed for Flu: the leak
    # A child of an unknown parent needs the parent too: P(pain) · P(rated | pain) · one of ten
    # scale points.
    assert x[column[("E_5", 3)]] == pytest.approx(0.5 * 0.5 * 0.1)
    no_pain = builder.expected(engine, {"E_3": False}, posterior, 30, "F")
    assert no_pain[column[("E_5", 3)]] == 0.0


def test_the_list_model_learns_what_the_reference_lists(
    lister: EngineDifferentialList, list_model: ListModel
):
    breathless = dict(lister.list_weights(view({"E_1": True, "E_10": True})))
    not_breathless = dict(lister.list_weights(view({"E_1": True, "E_10": False})))
    assert breathless["Pneumonia"] > 0.8 > 0.2 > not_breathless["Pneumonia"]
    assert breathless["Flu"] > 0.9  # every reference lists Flu
    names = [c.name for c in lister.differential_list(view({"E_1": True, "E_10": True}))]
    assert "Pneumonia" in names and "Flu" in names
    assert list_model.provenance["records"] == 40


def test_the_list_always_holds_the_posterior_leader() -> None:
    model = ListModel(np.zeros((3, 1)), np.full(3, -5.0), 0.5, {})
    inclusion = np.array([0.1, 0.7, 0.2])
    listed = differential_list(model, inclusion, np.array([0.2, 0.1, 0.7]), ["A", "B", "C"])
    assert [name for name, _ in listed] == ["B", "C"]  # B passes; C leads the posterior


def test_list_questions_ask_what_moves_the_list(lister: EngineDifferentialList, mini_kb):
    diagnostic = InformationGainHistoryTaker(lister.diagnoser)
    taker = ListHistoryTaker(lister, diagnostic, min_gain=0.01)
    question = taker.next_question(view({"E_1": True, "E_2": True}))
    assert question is not None and question.code == "E_10"  # decides Pneumonia's place
    assert "Pneumonia" in question.reason and "list" in question.reason
    assert taker.next_question(view({"E_1": True, "E_2": True, "E_10": False})) is None


# -- question criteria --------------------------------------------------------------------------


def _exact_multi_choice_gain(engine: BayesEngine, posterior: np.ndarray, code: str) -> float:
    """Expected entropy reduction of a multi-choice question by enumerating every answer."""
    ev = engine.kb.evidences[code]
    p_yes = engine.p_present[:, engine.kb.evidence_index[code]]
    q = engine.value_probs[code]

    def h(p: np.ndarray) -> float:
        p = p[p > 0] / p.sum()
        return float(-(p * np.log2(p)).sum())

    expected = (posterior * (1 - p_yes)).sum() * h(posterior * (1 - p_yes))
    for chosen in itertools.product([False, True], repeat=len(ev.non_default_values)):
        mask = np.array(chosen)
        joint = posterior * p_yes * np.prod(np.where(mask, q, 1 - q), axis=1)
        expected += joint.sum() * h(joint)
    return h(posterior) - float(expected)


def test_multi_choice_questions_are_valued_by_the_values_their_answer_picks(
    mini_kb: KnowledgeBase,
):
    model = structural_model(mini_kb)
    model.value_probs["E_4"] = np.array(
        [[0.9, 0.1, 0.1], [0.1, 0.9, 0.1], [0.1, 0.1, 0.9], [0.5, 0.5, 0.5]]
    )
    model.p_present[:, mini_kb.evidence_index["E_4"]] = 0.95
    engine = BayesEngine(mini_kb, model)
    posterior = np.array([0.3, 0.3, 0.3, 0.1])
    tables = engine.tables(None, None)
    sampled = expected_gain(engine.outcomes, posterior, ["E_4"], tables)[0]
    presence = expected_gain(
        engine.outcomes, posterior, ["E_4"], tables, multi_choice_values=False
    )[0]
    exact = _exact_multi_choice_gain(engine, posterior, "E_4")
    assert presence < 0.05  # every condition has the pain located: presence says little
    assert sampled == pytest.approx(exact, abs=0.15)  # 8 sampled answers per condition
    assert sampled > 0.5


def test_expected_error_reduction_in_closed_form(mini_kb: KnowledgeBase):
    model = structural_model(mini_kb)
    model.p_present[:, mini_kb.evidence_index["E_1"]] = [1.0, 1.0, 0.0, 0.0]
    engine = BayesEngine(mini_kb, model)
    posterior = np.array([0.4, 0.1, 0.3, 0.2])
    gain = expected_gain(engine.outcomes, posterior, ["E_1"], engine.tables(None, None), "error")[0]
    # yes (0.5): Flu 0.8 on top; no (0.5): Migraine 0.6 → 0.5·0.8 + 0.5·0.6 − 0.4.
    assert gain == pytest.approx(0.5 * 0.8 + 0.5 * 0.6 - 0.4, abs=1e-6)


@pytest.mark.parametrize("policy", [QuestionPolicy(criterion="error"), QuestionPolicy(lookahead=3)])
def test_other_policies_ask_valid_questions(mini_kb: KnowledgeBase, policy: QuestionPolicy):
    diagnoser = BayesDiagnoser(BayesEngine(mini_kb, structural_model(mini_kb)))
    taker = InformationGainHistoryTaker(diagnoser, policy)
    question = taker.next_question(view({"E_1": True}))
    assert question is not None and question.code in taker.candidates({"E_1": True}, [])
    assert math.isfinite(question.expected_gain)


# -- the graph's list phase ---------------------------------------------------------------------


def test_after_the_diagnosis_is_settled_the_driver_asks_for_the_list(
    mini_context: ConsultContext, lister: EngineDifferentialList
):
    list_taker = ListHistoryTaker(lister, InformationGainHistoryTaker(lister.diagnoser))
    ctx = dataclasses.replace(
        mini_context,
        diagnoser=lister.diagnoser,
        history_taker=InformationGainHistoryTaker(lister.diagnoser),
        list_taker=list_taker,
        differential_lister=lister,
    )
    graph: Any = builder.compile(checkpointer=InMemorySaver())
    config: RunnableConfig = {"configurable": {"thread_id": "t"}}
    # Fever and cough: the leader passes a low threshold at once, but Pneumonia's place on the
    # list depends on breathlessness, so that is asked next.
    intake = {
        "age": 30,
        "sex": "F",
        "findings": {"E_1": True, "E_2": True},
        "max_questions": 5,
        "confidence_threshold": 0.3,
    }
    result = graph.invoke({"intake": intake}, config, context=ctx)
    (pending,) = result["__interrupt__"]
    assert pending.value.code == "E_10"
    assert pending.value.purpose == "differential list"
    result = graph.invoke(Command(resume={"value": True}), config, context=ctx)
    while "__interrupt__" in result:
        result = graph.invoke(Command(resume={"value": False}), config, context=ctx)
    report = result["report"]
    assert report.stop_reason in ("confident", "question budget reached")
    assert "Pneumonia" in [item.name for item in report.differential_list]
    questions = [e for e in result["trace"] if isinstance(e, QuestionAsked)]
    assert questions[0].purpose == "differential list"
