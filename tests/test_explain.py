"""Explanations a clinician can read: rates behind every finding, the runner-up named, a 'no' in
support with why, and never an empty explanation when answers moved the differential."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pytest

from agent.reasoners.ddxplus.bayes import BayesEngine
from agent.reasoners.ddxplus.explain import Rates, percent, rate_clause
from agent.reasoners.ddxplus.likelihood import structural_model
from agent.reasoners.ddxplus.roles import BayesDiagnoser
from agent.report import FinalReport, to_markdown
from agent.roles import ConditionExplanation, ConsultationView
from retrieval.ddxplus_kb import KnowledgeBase
from retrieval.findings import FindingValue

COLUMNS = {  # P(present | c) for Flu, Pneumonia, Migraine, Measles (the mini KB's order)
    "E_1": (0.92, 0.34, 0.02, 0.90),  # fever
    "E_2": (0.70, 0.90, 0.01, 0.05),  # cough
    "E_3": (0.50, 0.50, 0.95, 0.10),  # pain
    "E_7": (0.05, 0.05, 0.05, 0.60),  # travel (categorical: N, Africa, Asia)
}
TRAVEL_VALUES = ((0.6, 0.4), (0.5, 0.5), (0.5, 0.5), (0.9, 0.1))  # Africa, Asia given travel


def diagnoser_with(
    kb: KnowledgeBase, columns: Mapping[str, Sequence[float]] = COLUMNS
) -> BayesDiagnoser:
    """The structural model with known rates, so the statements' numbers can be checked."""
    model = structural_model(kb)
    p_present = model.p_present.copy()
    for code, column in columns.items():
        p_present[:, kb.evidence_index[code]] = column
    model.p_present = p_present
    model.value_probs = {**model.value_probs, "E_7": np.array(TRAVEL_VALUES)}
    model.source = "hand-set rates, as if counted on records"
    return BayesDiagnoser(BayesEngine(kb, model))


@pytest.fixture(scope="module")
def diagnoser(mini_kb: KnowledgeBase) -> BayesDiagnoser:
    return diagnoser_with(mini_kb)


def explain(
    diagnoser: BayesDiagnoser, findings: Mapping[str, FindingValue], asked: Sequence[str] = ()
) -> list[ConditionExplanation]:
    view = ConsultationView(
        age=None,
        sex=None,
        findings=dict(findings),
        asked=list(asked) or list(findings),
        differential=[],
        max_questions=20,
    )
    return diagnoser.explain(view, diagnoser.diagnose(view), top_k=4)


def test_statements_carry_the_rates_against_the_runner_up(diagnoser: BayesDiagnoser) -> None:
    flu, pneumonia, *_ = explain(diagnoser, {"E_1": True, "E_2": True})
    assert (flu.name, flu.compared_with) == ("Flu", "Pneumonia")
    assert pneumonia.compared_with == "Flu"  # every other condition is compared with the leader
    fever = next(e for e in flu.raised_by if e.code == "E_1")
    assert fever.statement == (
        "Do you have a fever: yes — present in 92 % of Flu patients vs 34 % of Pneumonia"
    )
    assert (fever.this_rate, fever.other_rate, fever.compared_with) == (0.92, 0.34, "Pneumonia")
    assert fever.finding == "Do you have a fever: yes" and fever.present is True
    cough = next(e for e in flu.lowered_by if e.code == "E_2")
    assert cough.statement.endswith("present in only 70 % of Flu patients vs 90 % of Pneumonia")
    fever_for_pneumonia = next(e for e in pneumonia.lowered_by if e.code == "E_1")
    assert "34 % of Pneumonia patients vs 92 % of Flu" in fever_for_pneumonia.statement


def test_a_no_in_support_says_why(diagnoser: BayesDiagnoser) -> None:
    migraine = explain(diagnoser, {"E_1": False, "E_3": True})[0]
    assert (migraine.name, migraine.compared_with) == ("Migraine", "Pneumonia")
    no_fever = next(e for e in migraine.raised_by if e.code == "E_1")
    assert no_fever.present is False
    assert no_fever.statement == (
        "Do you have a fever: no — seen in only 2 % of Migraine patients but 34 % of "
        "Pneumonia, so its absence speaks for Migraine"
    )
    for explanation in explain(diagnoser, {"E_1": False, "E_3": True}):
        for effect in explanation.raised_by:
            if effect.present is False:  # every 'no' listed in support says why
                assert effect.statement.endswith(f"so its absence speaks for {explanation.name}")


def test_a_categorical_answer_quotes_the_value_probability(diagnoser: BayesDiagnoser) -> None:
    measles = explain(diagnoser, {"E_7": "V_20", "E_1": True})[0]
    travel = next(e for e in measles.raised_by if e.code == "E_7")
    # Measles: 60 % travel × 90 % of them to Africa = 54 %; Flu: 5 % × 60 % = 3 %.
    assert travel.this_rate == pytest.approx(0.54) and travel.other_rate == pytest.approx(0.03)
    assert "this answer seen in 54 % of Measles patients vs 3 % of Flu" in travel.statement


def test_the_rest_is_quoted_when_the_runner_up_does_not_explain_the_side() -> None:
    against = Rates("Flu", 0.5, "Pneumonia", 0.6, rest=0.1, supports=True)
    assert rate_clause("present", against) == (
        "present in only 50 % of Flu patients vs 60 % of Pneumonia; "
        "10 % across the rest of the differential"
    )
    tie = Rates("Anemia", 0.001, "SLE", 0.002, rest=0.18, supports=True)
    assert rate_clause("absent", tie) == (
        "seen in <1 % of Anemia patients and <1 % of SLE, but 18 % across the rest of the "
        "differential, so its absence speaks for Anemia"
    )
    assert [percent(r) for r in (0.001, 0.034, 0.999)] == ["<1 %", "3 %", ">99 %"]


def test_structural_rates_are_expected_not_seen(mini_kb: KnowledgeBase) -> None:
    structural = BayesDiagnoser(BayesEngine(mini_kb, structural_model(mini_kb)))
    statements = [
        e.statement
        for explanation in explain(structural, {"E_8": True, "E_1": False})
        for e in explanation.raised_by + explanation.lowered_by
    ]
    assert statements and all("expected in" in s for s in statements)
    assert not any("seen in" in s or "present in" in s for s in statements)


def test_weak_findings_are_shown_rather_than_nothing(mini_kb: KnowledgeBase) -> None:
    # Fever seen in 49–52 % of every condition: no weight passes the cut, yet the answer moved
    # the differential, so the strongest findings are listed instead of an empty explanation.
    weak = diagnoser_with(mini_kb, {"E_1": (0.50, 0.52, 0.49, 0.51)})
    explanations = explain(weak, {"E_1": True})
    assert len({round(e.probability, 6) for e in explanations}) > 1  # the differential moved
    for explanation in explanations:
        effects = explanation.raised_by + explanation.lowered_by
        assert [e.code for e in effects] == ["E_1"] and 0 < abs(effects[0].weight) <= 0.05
        assert explanation.note == "" and "% of" in effects[0].statement


def test_empty_explanations_say_why(diagnoser: BayesDiagnoser) -> None:
    assert {e.note for e in explain(diagnoser, {})} == {"No answers yet."}
    unknown = explain(diagnoser, {"E_1": None}, asked=["E_1"])
    assert all(e.note.startswith("None of the answers so far tells") for e in unknown)
    assert all(not e.raised_by and not e.lowered_by for e in unknown)


def test_report_lists_the_statements_and_never_nothing_in_particular(
    diagnoser: BayesDiagnoser,
) -> None:
    findings: dict[str, FindingValue] = {"E_1": True, "E_2": True}
    view = ConsultationView(
        age=None, sex=None, findings=findings, asked=["E_2"], differential=[], max_questions=5
    )
    ranked = diagnoser.diagnose(view)
    report = FinalReport(
        differential=ranked,
        explanations=diagnoser.explain(view, ranked, top_k=2),
        urgent=[],
        questions_asked=1,
        stop_reason="test",
        transcript=[],
        findings=findings,
        history=[],
    )
    markdown = to_markdown(report)
    assert "- Compared with: Pneumonia" in markdown and "- Compared with: Flu" in markdown
    assert "- For: Do you have a fever: yes — present in 92 % of Flu patients" in markdown
    assert "nothing in particular" not in markdown


def test_the_report_names_the_conditions_to_consider_with_their_probabilities(
    diagnoser: BayesDiagnoser,
) -> None:
    from agent.report import ListedCondition

    view = ConsultationView(
        age=None, sex=None, findings={"E_1": True}, asked=[], differential=[], max_questions=5
    )
    ranked = diagnoser.diagnose(view)
    listed = [
        ListedCondition(name=r.name, weight=0.9 - 0.1 * i, probability=r.probability)
        for i, r in enumerate(ranked[:2])
    ]
    report = FinalReport(
        differential=ranked,
        explanations=[],
        urgent=[],
        questions_asked=0,
        stop_reason="test",
        transcript=[],
        findings={"E_1": True},
        history=[],
        differential_list=listed,
    )
    line = next(x for x in to_markdown(report).splitlines() if x.startswith("**Consider:**"))
    for item in listed:
        assert f"{item.name} ({item.probability:.0%})" in line
    no_list = report.model_copy(update={"differential_list": []})
    assert "Consider" not in to_markdown(no_list)
