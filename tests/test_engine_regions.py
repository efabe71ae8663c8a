"""A place named only as a region ("my chest hurts"): at least one of its values, not each.

The intake reads one phrase that covers several values of a several-choice question as a region
(``IntakeOption.regions`` → ``CaseIntake.regions``); the engine scores it as
P(present) · (1 − Π(1 − P(v | c))) until the question is asked and answered exactly.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver

from agent.consult.graph import builder
from agent.consult.session import Answer, ConsultationSession
from agent.context import ConsultContext
from agent.errors import DdxError
from agent.reasoners.ddxplus.bayes import BayesEngine
from agent.reasoners.ddxplus.roles import BayesDiagnoser
from agent.roles import ConsultationView, Question
from agent.state import CaseIntake
from retrieval.ddxplus_kb import KnowledgeBase

PAIN, PLACE = "E_3", "E_4"  # the mini knowledge base: a pain, and where (V_1, V_2, V_3)


def _engine(context: ConsultContext) -> BayesEngine:
    diagnoser = context.diagnoser
    assert isinstance(diagnoser, BayesDiagnoser)
    return diagnoser.engine


def test_a_region_scores_the_chance_of_at_least_one_of_its_places(
    mini_context: ConsultContext, mini_kb: KnowledgeBase
) -> None:
    engine = _engine(mini_context)
    tables = engine.tables(30, "F")
    region = engine.region_loglik(PLACE, ["V_1", "V_2"], {PAIN: True}, tables)
    assert region is not None
    ei = mini_kb.evidence_index[PLACE]
    index = [engine.value_index[PLACE][v] for v in ("V_1", "V_2")]
    none_of_them = np.prod(1 - engine.value_probs[PLACE][:, index], axis=1)
    expected = np.log(tables.p_present[:, ei]) + np.log(1 - none_of_them)
    np.testing.assert_allclose(region, expected, rtol=1e-9)


def test_a_region_never_weighs_against_a_condition_more_than_its_places_all_observed(
    mini_context: ConsultContext, mini_kb: KnowledgeBase
) -> None:
    # "Exactly these places" is one way of "at least one of them": never more probable.
    engine = _engine(mini_context)
    tables = engine.tables(None, None)
    findings = {PAIN: True}
    region = engine.region_loglik(PLACE, ["V_1", "V_2", "V_3"], findings, tables)
    exact = engine.finding_loglik(PLACE, ["V_1", "V_2", "V_3"], findings, tables)
    assert region is not None and exact is not None
    assert np.all(region >= exact - 1e-12)
    assert np.any(region > exact + 1e-3)


def test_a_region_moves_the_differential_until_the_place_is_asked(
    mini_context: ConsultContext,
) -> None:
    diagnoser = mini_context.diagnoser
    assert isinstance(diagnoser, BayesDiagnoser)
    plain = ConsultationView(30, "F", {PAIN: True}, [], [], 10)
    with_region = ConsultationView(30, "F", {PAIN: True}, [], [], 10, regions={PLACE: ["V_3"]})
    assert not np.allclose(diagnoser.posterior(plain), diagnoser.posterior(with_region))
    # the cache tells the two apart, in either order
    assert not np.allclose(diagnoser.posterior(with_region), diagnoser.posterior(plain))
    # an exact answer for the same question replaces the region
    answered = ConsultationView(
        30, "F", {PAIN: True, PLACE: ["V_3"]}, [PLACE], [], 10, regions={PLACE: ["V_1", "V_3"]}
    )
    exact = ConsultationView(30, "F", {PAIN: True, PLACE: ["V_3"]}, [PLACE], [], 10)
    np.testing.assert_allclose(diagnoser.posterior(answered), diagnoser.posterior(exact))


class _AsksThePlaceFirst:
    """A history taker that asks where the pain is, then nothing more."""

    def next_question(self, view: ConsultationView) -> Question | None:
        if PLACE in view.findings:
            return None
        return Question(code=PLACE, text="Where?", kind="M", reason="test", expected_gain=1.0)


def test_the_consultation_keeps_a_region_until_its_question_is_answered(
    mini_context: ConsultContext,
) -> None:
    context = replace(mini_context, history_taker=_AsksThePlaceFirst(), list_taker=None)
    session = ConsultationSession(builder.compile(checkpointer=InMemorySaver()), context)
    intake = CaseIntake(
        age=30,
        sex="F",
        findings={PAIN: True},
        regions={PLACE: ["V_2", "V_1"]},
        max_questions=10,
        confidence_threshold=1.0,
    )
    config: RunnableConfig = {"configurable": {"thread_id": "t"}}
    turn = session.start("t", intake)
    assert turn.question is not None and turn.question.code == PLACE
    assert session.graph.get_state(config).values["regions"] == {PLACE: ["V_1", "V_2"]}
    turn = session.answer("t", Answer.of_value(["V_1"]))
    assert turn.report is not None and turn.report.findings[PLACE] == ["V_1"]
    assert session.graph.get_state(config).values["regions"] == {}


def test_a_region_for_a_question_without_several_choices_is_refused(
    mini_context: ConsultContext,
) -> None:
    session = ConsultationSession(builder.compile(checkpointer=InMemorySaver()), mini_context)
    intake = CaseIntake(age=30, sex="F", findings={PAIN: True}, regions={"E_1": ["V_1"]})
    with pytest.raises(DdxError, match="E_1"):
        session.start("t", intake)
