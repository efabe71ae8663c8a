"""Refinement rounds are the driver's (MEDDxAgent): the question budget split over the rounds,
the differential refined at each round's end with the previous round's fed back — over the
DDXPlus engine and the HPO reasoner alike — and the stop rules in one policy module."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from agent.consult import policy
from agent.consult.session import batch_session
from agent.context import ConsultContext
from agent.reasoners.hpo.context import hpo_context
from agent.roles import ConditionExplanation, ConsultationView, Diagnoser, RankedCondition
from agent.state import CaseIntake
from retrieval.ddxplus_kb import KnowledgeBase
from retrieval.hpo_kb import HpoKnowledgeBase
from simulator.ddxplus_patient import SimulatedPatient
from simulator.phenotype_patient import PhenotypePatient
from simulator.records import load_patients


class RecordingDiagnoser:
    """The real diagnoser, with every view it diagnosed and its ranking kept (a test double
    that hides the engine's fast path, so the graph calls ``diagnose`` each time)."""

    def __init__(self, inner: Diagnoser) -> None:
        self.inner = inner
        self.seen: list[tuple[ConsultationView, list[tuple[str, float]]]] = []

    def diagnose(self, view: ConsultationView) -> list[RankedCondition]:
        ranked = self.inner.diagnose(view)
        self.seen.append((view, [(r.name, round(r.probability, 6)) for r in ranked]))
        return ranked

    def explain(
        self, view: ConsultationView, differential: Sequence[RankedCondition], top_k: int
    ) -> list[ConditionExplanation]:
        return self.inner.explain(view, differential, top_k)


def _consult(
    context: ConsultContext[Any], intake: CaseIntake, answer: Any, rounds: int
) -> tuple[Any, RecordingDiagnoser]:
    recording = RecordingDiagnoser(context.diagnoser)
    session = batch_session(dataclasses.replace(context, diagnoser=recording))
    intake = intake.model_copy(update={"refinement_rounds": rounds})
    return session.consult_to_end("case", intake, answer), recording


def _check_rounds_feed_back(recording: RecordingDiagnoser) -> None:
    """Every diagnosis of round r > 1 sees round r - 1's last differential as ``previous``."""
    by_round: dict[int, list[tuple[ConsultationView, list[tuple[str, float]]]]] = {}
    for view, ranking in recording.seen:
        by_round.setdefault(view.round, []).append((view, ranking))
    assert sorted(by_round) == list(range(1, len(by_round) + 1)) and len(by_round) > 1
    assert all(not view.previous for view, _ in by_round[1])
    for number in sorted(by_round)[1:]:
        last_of_previous = by_round[number - 1][-1][1]
        assert all(list(view.previous) == last_of_previous for view, _ in by_round[number])


def test_round_budgets_split_the_questions_earlier_rounds_first() -> None:
    assert policy.round_budgets(10, 3) == [4, 3, 3]
    assert policy.round_budgets(2, 3) == [1, 1, 0]
    assert [policy.round_ends_at(10, 3, r) for r in (1, 2, 3)] == [4, 7, 10]
    assert policy.round_over(4, 10, 3, 1) and not policy.round_over(3, 10, 3, 1)
    assert not policy.round_over(10, 10, 3, 3)  # the last round ends with the consultation


@pytest.mark.parametrize("rounds", [2, 3])
def test_ddxplus_refinement_rounds_feed_back_the_previous_differential(
    mini_context: ConsultContext, mini_kb: KnowledgeBase, mini_patients_csv: Path, rounds: int
) -> None:
    records = load_patients(mini_kb, mini_patients_csv).records
    runs = []
    for record in records:
        patient = SimulatedPatient(mini_kb, record)
        intake = CaseIntake(
            age=record.age, sex=record.sex, findings=patient.intake(), confidence_threshold=1.0
        )
        one, _ = _consult(mini_context, intake, patient.answer, 1)
        runs.append((one.questions_asked, patient, intake))
    asked, patient, intake = max(runs, key=lambda run: run[0])
    assert asked >= rounds - 1 >= 1  # at least one question per round but the last
    intake = intake.model_copy(update={"max_questions": asked})
    one, _ = _consult(mini_context, intake, patient.answer, 1)
    several, recording = _consult(mini_context, intake, patient.answer, rounds)
    _check_rounds_feed_back(recording)
    # The engine's posterior depends on the findings only: the rounds change no question and
    # no ranking, only when the differential is refined.
    assert [t.code for t in several.transcript] == [t.code for t in one.transcript]
    assert several.differential == one.differential and several.stop_reason == one.stop_reason


def test_hpo_refinement_rounds_feed_back_the_previous_differential(
    mini_hpo_kb: HpoKnowledgeBase,
) -> None:
    patient = PhenotypePatient(mini_hpo_kb, ["HP:0001251", "HP:0000252", "HP:0007359"])
    intake = CaseIntake(findings={"HP:0001251": True}, max_questions=4, confidence_threshold=1.0)
    answer: Any = patient.answer
    one, _ = _consult(hpo_context(mini_hpo_kb), intake, answer, 1)
    several, recording = _consult(hpo_context(mini_hpo_kb), intake, answer, 2)
    assert one.questions_asked > 2
    _check_rounds_feed_back(recording)
    assert [t.code for t in several.transcript] == [t.code for t in one.transcript]
    assert several.differential == one.differential


def test_a_stop_before_the_budget_ends_the_rounds(
    mini_context: ConsultContext, mini_kb: KnowledgeBase, mini_patients_csv: Path
) -> None:
    # A confident leader (threshold reached) stops the questioning in round 1: no round 2.
    record = load_patients(mini_kb, mini_patients_csv).records[0]
    patient = SimulatedPatient(mini_kb, record)
    intake = CaseIntake(findings=patient.intake(), max_questions=10, confidence_threshold=0.01)
    report, recording = _consult(mini_context, intake, patient.answer, 3)
    assert report.stop_reason == "confident" and report.questions_asked == 0
    assert {view.round for view, _ in recording.seen} == {1}


def test_the_benchmark_and_chat_front_ends_pass_the_rounds_to_the_consultation(
    tmp_path: Path,
    mini_data_dir: Path,
    mini_patients_csv: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`--rounds` reaches every consultation of `ddx eval ddxplus` (recorded in run.json, so a
    resume cannot mix) and of `ddx chat`; it is never silently dropped."""
    import json

    from typer.testing import CliRunner

    from agent.cli import app
    from agent.consult.session import ConsultationSession

    seen: list[int] = []
    consult = ConsultationSession.consult_to_end

    def recording(self: ConsultationSession, thread_id: str, intake: CaseIntake, *a: Any) -> Any:
        seen.append(intake.refinement_rounds)
        return consult(self, thread_id, intake, *a)

    start = ConsultationSession.start

    def recording_start(self: ConsultationSession, thread_id: str, intake: CaseIntake) -> Any:
        seen.append(intake.refinement_rounds)
        return start(self, thread_id, intake)

    monkeypatch.setattr(ConsultationSession, "consult_to_end", recording)
    monkeypatch.setattr(ConsultationSession, "start", recording_start)
    monkeypatch.setenv("DDX_STATE_DIR", str(tmp_path / "state"))
    out = tmp_path / "run"
    base = ["--data-dir", str(mini_data_dir), "eval", "ddxplus"]
    args = [*base, "--patients", str(mini_patients_csv), "--limit", "2", "--out", str(out)]
    done = CliRunner().invoke(app, [*args, "--rounds", "2"])
    assert done.exit_code == 0, done.output
    assert seen and set(seen) == {2}
    assert json.loads((out / "run.json").read_text())["refinement_rounds"] == 2
    refused = CliRunner().invoke(app, [*args, "--rounds", "3"])
    assert "refinement_rounds: 2 → 3" in str(refused.exception)  # `ddx` prints it, exit 2

    seen.clear()
    chat = ["--data-dir", str(mini_data_dir), "chat", "--patient-file", str(mini_patients_csv)]
    done = CliRunner().invoke(app, [*chat, "--rounds", "3", "--questions", "3"])
    assert done.exit_code == 0, done.output
    assert seen == [3]
