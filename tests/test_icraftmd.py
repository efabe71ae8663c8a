"""iCraft-MD: the case loader, the consultation loop, resumable concurrent runs, a server that
goes down, and `ddx eval icraftmd` end to end against a stub OpenAI-compatible server."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agent.cli import app
from agent.errors import DdxError
from agent.llm.base import ChatRequest, LLMUnavailableError
from agent.llm.client import LLMClient
from agent.llm.fake import FakeChat
from eval.icraftmd import IcraftRunConfig, run_icraftmd
from eval.icraftmd_cases import IcraftSetup, load_cases, run_case
from tests.llm_fixtures import completion, stub_server

CASES = Path(__file__).parent / "fixtures" / "llm" / "icraftmd_cases.jsonl"


class Scripted:
    """A doctor who asks two questions then stops, a patient who repeats a fact, and a
    diagnoser who always names ``pick`` (so accuracy is the share of cases whose answer it is).
    """

    def __init__(self, pick: str = "Psoriasis", questions: int = 2) -> None:
        self.pick = pick
        self.questions = questions

    def __call__(self, request: ChatRequest) -> str:
        prompt = request.messages[-1].content
        if request.schema_name == "NextStep":
            asked = prompt.count("- Doctor:")
            if asked >= self.questions:
                return '{"action": "stop", "reason": "enough"}'
            return json.dumps({"action": "ask", "question": f"Question {asked + 1}?"})
        if request.schema_name == "Differential":
            return json.dumps({"diagnoses": [{"name": self.pick.lower()}], "rationale": "r"})
        if request.schema_name == "Summary":
            return '{"summary": "rewritten profile"}'
        system = request.messages[0].content
        return "It began a year ago." if "year ago" in system else "I don't know."


def _setup(responder: Any, **kwargs: Any) -> IcraftSetup:
    client = LLMClient(FakeChat(responder))
    return IcraftSetup(doctor=client, diagnoser=client, patient=client, **kwargs)


def _config(setup: IcraftSetup) -> IcraftRunConfig:
    return IcraftRunConfig(
        cases=str(CASES),
        cases_sha256="x",
        mode=setup.mode,
        questions=setup.questions,
        rounds=setup.rounds,
        strategy=setup.strategy,
        doctor="fake",
        diagnoser="fake",
        patient="fake",
        limit=None,
        seed=0,
    )


def test_loader_keeps_good_cases_and_reports_bad_lines() -> None:
    loaded = load_cases(CASES)
    assert [c.case_id for c in loaded.cases] == ["1", "2", "3"]
    assert [p.split(":")[0] for p in loaded.problems] == ["line 4", "line 5", "line 6"]
    assert "not one of the options" in loaded.problems[2]


def test_a_case_asks_listens_and_diagnoses_among_the_options() -> None:
    case = load_cases(CASES).cases[0]
    responder = Scripted()
    result = run_case(_setup(responder, questions=5), case)
    assert result.questions_asked == 2 and result.stop_reason == "doctor stopped"
    assert result.transcript[0].answer == "It began a year ago."
    assert result.differential == ["Psoriasis"] and result.correct and result.truth_rank == 1
    assert result.llm_calls == 3 + 2 + 1  # three doctor steps, two patient replies, diagnosis


def test_the_doctor_only_sees_the_opening_sentence() -> None:
    case = load_cases(CASES).cases[0]
    chat = FakeChat(Scripted())
    client = LLMClient(chat)
    run_case(IcraftSetup(doctor=client, diagnoser=client, patient=client), case)
    first = chat.requests[0].messages[-1].content
    assert case.opening in first and "silvery" not in first.replace(case.opening, "")


def test_a_diagnosis_that_never_fits_is_reported_not_hidden() -> None:
    case = load_cases(CASES).cases[0]
    result = run_case(_setup(Scripted(pick="Melanoma"), questions=1), case)
    assert result.differential == [] and not result.correct
    assert result.failed_step is not None and "Differential" in result.failed_step
    assert result.invalid_outputs == 3 and result.fallbacks == 1


def test_open_mode_ranks_freely_and_finds_the_truth_by_fuzzy_name() -> None:
    case = load_cases(CASES).cases[1]
    result = run_case(_setup(Scripted(pick="tinea corporis (ringworm)"), mode="open"), case)
    assert result.truth_rank == 1


def test_refinement_rounds_rewrite_the_profile_and_feed_back_the_differential() -> None:
    case = load_cases(CASES).cases[0]
    chat = FakeChat(Scripted(questions=4))
    client = LLMClient(chat)
    setup = IcraftSetup(doctor=client, diagnoser=client, patient=client, questions=4, rounds=2)
    result = run_case(setup, case)
    diagnoses = [r for r in chat.requests if r.schema_name == "Differential"]
    assert len(diagnoses) == 2 and result.questions_asked == 4
    assert "Your previous differential: Psoriasis" in diagnoses[1].messages[-1].content
    assert "rewritten profile" in diagnoses[1].messages[-1].content


def test_runs_resume_and_concurrency_does_not_change_results(tmp_path: Path) -> None:
    cases = load_cases(CASES).cases
    setup = _setup(Scripted(), questions=3)
    serial = run_icraftmd(setup, cases, _config(setup), tmp_path / "serial", concurrency=1)
    parallel = run_icraftmd(setup, cases, _config(setup), tmp_path / "par", concurrency=3)
    assert serial.summary.gtpa_1 == parallel.summary.gtpa_1 == round(1 / 3, 4)
    assert serial.summary.n == 3 and serial.summary.avg_questions > 0
    again = run_icraftmd(setup, cases, _config(setup), tmp_path / "serial", concurrency=2)
    assert again.newly_run == 0 and again.summary.n == 3


def test_a_down_server_fails_cases_once_and_they_run_next_time(tmp_path: Path) -> None:
    cases = load_cases(CASES).cases
    state = {"down": True}

    def flaky(request: ChatRequest) -> str:
        if state["down"]:
            raise LLMUnavailableError("The LLM server at http://x failed 4 time(s).")
        return Scripted()(request)

    setup = _setup(flaky, questions=1)
    with pytest.raises(DdxError, match=r"failed 4 time.*run the same command again"):
        run_icraftmd(setup, cases, _config(setup), tmp_path, concurrency=1)
    failed = json.loads((tmp_path / "failed.json").read_text())
    assert failed and not (tmp_path / "cases.jsonl").read_text().strip()
    assert not (tmp_path / "summary.json").exists()  # no case finished: no result to show
    state["down"] = False
    outcome = run_icraftmd(setup, cases, _config(setup), tmp_path, concurrency=2)
    assert outcome.newly_run == 3 and outcome.summary.n == 3
    assert json.loads((tmp_path / "failed.json").read_text()) == {}


def test_cli_runs_icraftmd_against_a_stub_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = Scripted(pick="Lichen planus")

    def reply(payload: dict[str, Any]) -> tuple[int, str]:
        request = ChatRequest.model_validate(
            {
                "messages": payload["messages"],
                "schema_name": payload.get("response_format", {})
                .get("json_schema", {})
                .get("name"),
            }
        )
        return completion(script(request))

    monkeypatch.setenv("DDX_LLM_CACHE_DIR", str(tmp_path / "cache"))
    runner = CliRunner()
    with stub_server(reply) as server:
        backend = f"openai:stub@{server.url}"
        args = ["eval", "icraftmd", "--cases", str(CASES), "--questions", "2"]
        args += ["--doctor", backend, "--patient", backend, "--concurrency", "2"]
        result = runner.invoke(app, [*args, "--out", str(tmp_path / "mc")])
        assert result.exit_code == 0, result.output
        summary = json.loads((tmp_path / "mc" / "summary.json").read_text())
        assert summary["n"] == 3 and summary["gtpa@1"] == round(1 / 3, 4)
        # per case: 2 questions + 2 replies + 1 diagnosis; case 2 has no "Lichen planus"
        # among its options, so its diagnosis is asked 3 times and then reported as failed
        assert summary["avg_questions"] == 2.0 and summary["llm_calls"] == 5 + 7 + 5
        assert summary["failed_steps"] == 1 and summary["invalid_outputs"] == 3
        calls = len(server.requests)
        result = runner.invoke(app, [*args, "--mode", "open", "--out", str(tmp_path / "open")])
        assert result.exit_code == 0, result.output
        summary = json.loads((tmp_path / "open" / "summary.json").read_text())
        assert {"gtpa@1", "gtpa@3", "gtpa@5", "gtpa@10", "incomplete"} <= set(summary)
        assert summary["gtpa@1"] == round(1 / 3, 4)
        rerun = runner.invoke(app, [*args, "--out", str(tmp_path / "mc-again")])
        assert rerun.exit_code == 0
        after = len(server.requests)
    assert after - calls == 3  # only the open run's diagnoses were new; the rest was cached
    assert json.loads((tmp_path / "mc-again" / "summary.json").read_text())["cache_hits"] == 17


def test_cli_refuses_kb_for_free_text_cases(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["eval", "icraftmd", "--cases", str(CASES), "--out", str(tmp_path)]
    )
    assert result.exit_code != 0
    assert "need an LLM backend" in str(result.exception)


def test_open_mode_asks_the_judge_when_names_do_not_match() -> None:
    case = load_cases(CASES).cases[1]  # Tinea corporis
    judged: list[str] = []

    def judge(request: ChatRequest) -> str:
        predicted = request.messages[-1].content.split("Predicted: ")[1].split("\n")[0]
        judged.append(predicted)
        return json.dumps({"same": predicted == "Ringworm"})

    scripted = Scripted()

    def diagnoser(request: ChatRequest) -> str:
        if request.schema_name == "Differential":
            return json.dumps({"diagnoses": [{"name": "Eczema"}, {"name": "Ringworm"}]})
        return scripted(request)

    client = LLMClient(FakeChat(diagnoser))
    setup = IcraftSetup(doctor=client, diagnoser=client, patient=client, mode="open")
    setup = dataclasses.replace(setup, judge=LLMClient(FakeChat(judge)))
    result = run_case(setup, case)
    assert result.truth_rank == 2 and judged == ["Eczema", "Ringworm"]


def test_a_free_text_case_is_the_graphs_consultation_as_a_person_would_hold_it() -> None:
    # run_case drives the consultation graph with the facts patient inside it; the same case
    # held turn by turn through the graph's interrupts, the replies typed in, is the same
    # consultation: same questions, answers, rounds and differential.
    from langgraph.checkpoint.memory import InMemorySaver

    from agent.assembly import free_text_case
    from agent.consult.graph import compile_graph
    from agent.consult.session import Answer, ConsultationSession
    from agent.reasoners.llm.free_text import FreeTextDiagnoser
    from agent.state import CaseIntake
    from agent.trace import RefinementRound
    from retrieval.free_text_findings import OPENING
    from simulator.facts_patient import FactsPatient

    case = load_cases(CASES).cases[0]
    setup = _setup(Scripted(questions=3), questions=4, rounds=2)
    result = run_case(setup, case)
    assert result.questions_asked == 4 and result.transcript[0].answer == "It began a year ago."
    client = setup.doctor
    options = list(case.options.values())
    diagnoser = FreeTextDiagnoser(client, candidates=options, case_id=case.case_id)
    context = free_text_case(client, diagnoser, None)
    session = ConsultationSession(compile_graph(InMemorySaver()), context)
    patient = FactsPatient(client, case.facts, hidden=options)
    intake = CaseIntake(findings={OPENING: case.opening}, max_questions=4, refinement_rounds=2)
    turn = session.start("held", intake)
    while turn.question is not None:
        assert turn.question.kind == "T"
        turn = session.answer("held", Answer.of_text(patient.answer(turn.question.code)))
    report = turn.report
    assert report is not None and turn.trace is not None
    assert [(t.question, t.answer) for t in report.transcript] == [
        (e.question, e.answer) for e in result.transcript
    ]
    assert [r.name for r in report.differential] == result.differential == ["Psoriasis"]
    assert report.stop_reason == result.stop_reason == "question budget reached"
    assert [e.round for e in turn.trace if isinstance(e, RefinementRound)] == [1, 2]


def test_a_doctor_whose_answers_never_fit_ends_the_questioning_and_is_reported() -> None:
    case = load_cases(CASES).cases[0]
    scripted = Scripted()

    def broken_doctor(request: ChatRequest) -> str:
        return "not JSON" if request.schema_name == "NextStep" else scripted(request)

    result = run_case(_setup(broken_doctor, questions=3), case)
    assert result.stop_reason == "doctor gave no valid question" and result.questions_asked == 0
    assert result.fallbacks == 1 and result.invalid_outputs == 3
    assert result.differential == ["Psoriasis"]  # the diagnosis is still made, from the opening


def test_every_round_is_refined_even_one_the_budget_left_without_questions() -> None:
    # 2 questions over 3 rounds: 1, 1 and 0 questions; each round ends with a diagnosis that
    # is fed the previous one (MEDDxAgent's fixed number of iterations).
    case = load_cases(CASES).cases[0]
    chat = FakeChat(Scripted(questions=5))
    client = LLMClient(chat)
    setup = IcraftSetup(doctor=client, diagnoser=client, patient=client, questions=2, rounds=3)
    result = run_case(setup, case)
    diagnoses = [r for r in chat.requests if r.schema_name == "Differential"]
    assert result.questions_asked == 2 and len(diagnoses) == 3
    assert "previous differential" not in diagnoses[0].messages[-1].content
    assert all(
        "Your previous differential: Psoriasis" in d.messages[-1].content for d in diagnoses[1:]
    )
