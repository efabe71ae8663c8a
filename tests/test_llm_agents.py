"""LLM agents behind the role protocols on the mini knowledge base: hybrid mode over the fake
doctor reproduces the embedded engine exactly; questions map onto the KB; the diagnoser keeps
to the benchmark's list; failures fall back to the engine and are counted; the LLM patient
keeps to its profile and never names the diagnosis."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli import app
from agent.context import ConsultContext, embedded_context
from agent.errors import DdxError
from agent.free_text import TextEncoder, default_encoder
from agent.llm.base import ChatRequest, LLMUnavailableError
from agent.llm.client import LLMClient
from agent.llm.factory import RoleClients
from agent.llm.fake import FakeChat
from agent.reasoners.ddxplus.roles import BayesDiagnoser, InformationGainHistoryTaker
from agent.reasoners.llm.context import llm_context
from agent.reasoners.llm.diagnosis import LLMDiagnoser, rank_probabilities
from agent.reasoners.llm.history import LLMHistoryTaker
from agent.reasoners.llm.intake import parse_message
from agent.reasoners.llm.knn import SolvedCase, SolvedCasePool
from agent.roles import ConsultationView
from eval.ddxplus_cases import DdxPlusCaseRunner
from retrieval.answers import read_yes_no
from retrieval.ddxplus_kb import KnowledgeBase
from retrieval.fuzzy import match_name, restrict
from simulator.llm_patient import LLMPatient
from simulator.records import load_patients


@pytest.fixture(scope="module")
def encoder() -> TextEncoder:
    return default_encoder()


def _client(responder: object) -> LLMClient:
    return LLMClient(FakeChat(responder))  # type: ignore[arg-type]


def _view(findings: dict[str, object] | None = None) -> ConsultationView:
    return ConsultationView(
        age=40,
        sex="F",
        findings=findings or {"E_1": True},  # type: ignore[arg-type]
        asked=[],
        differential=[],
        max_questions=5,
    )


def _engine(kb: KnowledgeBase) -> tuple[BayesDiagnoser, InformationGainHistoryTaker]:
    base = embedded_context(kb)
    assert isinstance(base.diagnoser, BayesDiagnoser)
    assert isinstance(base.history_taker, InformationGainHistoryTaker)
    return base.diagnoser, base.history_taker


def test_hybrid_over_the_deferring_fake_equals_the_embedded_engine(
    mini_kb: KnowledgeBase, mini_patients_csv: Path
) -> None:
    records = load_patients(mini_kb, mini_patients_csv).records
    fake = _client(None)
    clients = RoleClients(doctor=fake, diagnoser=fake, patient=None, judge=None)
    hybrid = llm_context(embedded_context(mini_kb), clients, strategy="hybrid")
    assert isinstance(hybrid.history_taker, LLMHistoryTaker)

    def run(context: ConsultContext | None) -> list[dict[str, object]]:
        runner = DdxPlusCaseRunner(
            mini_kb,
            records,
            questions=5,
            full_profile=False,
            confidence_threshold=0.95,
            context=context,
        )
        return [runner.run(i).model_dump(exclude={"seconds"}) for i in range(len(records))]

    assert run(hybrid) == run(None)
    assert fake.stats.llm_calls > 0 and fake.stats.fallbacks == 0


def test_the_doctors_question_is_mapped_onto_the_kb(
    mini_kb: KnowledgeBase, encoder: TextEncoder
) -> None:
    _, engine = _engine(mini_kb)
    replies = iter(
        [
            '{"action": "ask", "question": "Are you short of breath at all?", "reason": "lungs"}',
            '{"action": "ask", "question": "What is your favourite colour?"}',
            "gibberish",
            "gibberish",
            "gibberish",
            '{"action": "stop", "reason": "enough"}',
        ]
    )
    client = _client(lambda request: next(replies))
    doctor = LLMHistoryTaker(client, mini_kb, engine, encoder=encoder)
    view = _view()
    question = doctor.next_question(view)
    assert question is not None
    assert (question.code, question.text) == ("E_10", "Are you short of breath at all?")
    engine_question = engine.next_question(view)
    assert doctor.next_question(view) == engine_question  # unknown question: engine's
    assert doctor.next_question(view) == engine_question  # never valid: engine's
    assert client.stats.fallbacks == 2 and client.stats.invalid_outputs == 3
    assert doctor.next_question(view) is None


def test_hybrid_doctor_sees_the_engines_hints(mini_kb: KnowledgeBase) -> None:
    _, engine = _engine(mini_kb)
    chat = FakeChat()
    doctor = LLMHistoryTaker(LLMClient(chat), mini_kb, engine, hybrid=True)
    question = doctor.next_question(_view())
    assert question == engine.next_question(_view())
    assert question is not None
    prompt = chat.requests[0].messages[-1].content
    assert f"1. {question.text}" in prompt and "'defer'" in prompt


def test_diagnoser_keeps_to_the_list_and_ranks_by_the_models_order(
    mini_kb: KnowledgeBase,
) -> None:
    bayes, _ = _engine(mini_kb)
    answer = {"diagnoses": [{"name": "pneumonia"}, {"name": "Ebola"}, {"name": "FLU"}]}
    client = _client(lambda request: json.dumps(answer))
    ranked = LLMDiagnoser(client, mini_kb, bayes).diagnose(_view())
    assert [r.name for r in ranked[:2]] == ["Pneumonia", "Flu"]
    assert {r.name for r in ranked} == set(mini_kb.condition_names)
    engine = [r.probability for r in bayes.diagnose(_view())]
    assert [r.probability for r in ranked] == engine  # the model's order, the engine's values
    prompt = client.chat.requests[0].messages[-1].content  # type: ignore[attr-defined]
    assert all(name in prompt for name in mini_kb.condition_names)


def test_diagnoser_falls_back_to_the_engine_and_says_so(mini_kb: KnowledgeBase) -> None:
    bayes, _ = _engine(mini_kb)
    strangers = json.dumps({"diagnoses": [{"name": "Ebola"}]})
    client = _client(lambda request: strangers)
    ranked = LLMDiagnoser(client, mini_kb, bayes).diagnose(_view())
    assert ranked == bayes.diagnose(_view())
    assert client.stats.fallbacks == 1 and client.stats.invalid_outputs == 3


def test_diagnoser_lets_a_down_server_through(mini_kb: KnowledgeBase) -> None:
    bayes, _ = _engine(mini_kb)

    def down(request: ChatRequest) -> str:
        raise LLMUnavailableError("server down")

    with pytest.raises(LLMUnavailableError):
        LLMDiagnoser(_client(down), mini_kb, bayes).diagnose(_view())


def test_hybrid_reorders_with_the_engines_probabilities(mini_kb: KnowledgeBase) -> None:
    engine = [("Flu", 0.6), ("Pneumonia", 0.3), ("Migraine", 0.1), ("Measles", 0.0)]
    ranked = rank_probabilities(["Migraine"], mini_kb.condition_names, engine)
    assert [(r.name, r.probability) for r in ranked] == [
        ("Migraine", 0.6),
        ("Flu", 0.3),
        ("Pneumonia", 0.1),
        ("Measles", 0.0),
    ]


def test_fewshot_prompt_holds_the_nearest_solved_cases(
    mini_kb: KnowledgeBase, encoder: TextEncoder
) -> None:
    bayes, _ = _engine(mini_kb)
    pool = SolvedCasePool(
        [
            SolvedCase("a", "fever and cough for three days", "Flu"),
            SolvedCase("b", "throbbing headache with light sensitivity", "Migraine"),
        ],
        encoder,
    )
    assert [c.case_id for c in pool.nearest("a fever and a cough", 1)] == ["a"]
    assert [c.case_id for c in pool.nearest("a fever and a cough", 1, exclude="a")] == ["b"]
    chat = FakeChat(lambda request: '{"diagnoses": [{"name": "Flu"}]}')
    diagnoser = LLMDiagnoser(LLMClient(chat), mini_kb, bayes, strategy="fewshot-knn", examples=pool)
    diagnoser.diagnose(_view())
    assert "Diagnosis: Flu" in chat.requests[0].messages[-1].content
    with pytest.raises(DdxError, match="fewshot-knn strategy needs solved example cases"):
        LLMDiagnoser(LLMClient(chat), mini_kb, bayes, strategy="fewshot-knn")


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("Type 1 minocycline hyperpigmentation", "Type I minocycline hyperpigmentation"),
        ("type II minocycline hyperpigmentation.", "Type II minocycline hyperpigmentation"),
        ("Immunobulous disease", "Immunobullous disease"),
        ("Sarcoidosis", None),
    ],
)
def test_fuzzy_names(written: str, expected: str | None) -> None:
    options = [
        "Type I minocycline hyperpigmentation",
        "Type II minocycline hyperpigmentation",
        "Immunobullous disease",
    ]
    assert match_name(written, options) == expected


def test_restrict_drops_duplicates_and_strangers() -> None:
    assert restrict(["flu", "Flu", "x-ray", "Pneumonia"], ["Flu", "Pneumonia"]) == [
        "Flu",
        "Pneumonia",
    ]


def test_llm_patient_keeps_to_the_profile_and_hides_the_diagnosis() -> None:
    chat = FakeChat(["Yes, my doctor said it is Psoriasis.", "It started a year ago."])
    patient = LLMPatient(LLMClient(chat), "- Itchy plaques on the elbows.", hidden=["Psoriasis"])
    assert patient.reply("What do you have?") == "I don't know."
    assert patient.reply("Since when?") == "It started a year ago."
    system = chat.requests[0].messages[0].content
    assert "Itchy plaques" in system and "never name" in system.lower()
    assert patient.leaks_blocked == 1


@pytest.mark.parametrize(
    ("reply", "expected"),
    [("Yes, I do.", True), ("No, never.", False), ("I'm not sure.", None), ("Nope", False)],
)
def test_yes_no_reading_of_free_text(reply: str, expected: bool | None) -> None:
    assert read_yes_no(reply) is expected


def test_llm_intake_maps_stated_findings_and_falls_back_on_gibberish(
    mini_kb: KnowledgeBase, encoder: TextEncoder
) -> None:
    from agent.intake.reader import IntakeReader

    reader = IntakeReader(mini_kb, encoder)
    parsed = {
        "findings": [
            {"statement": "fever", "present": True},
            {"statement": "cough", "present": False},
        ]
    }
    reading = parse_message(
        mini_kb, "hot, not coughing", _client(lambda r: json.dumps(parsed)), reader
    )
    assert reading.best is not None
    assert reading.best.as_findings(mini_kb) == {"E_1": True, "E_2": False}
    gibberish = _client(lambda r: "???")
    fallback = parse_message(mini_kb, "I have a fever", gibberish, reader)
    assert fallback.best is not None and gibberish.stats.fallbacks == 1
    assert fallback.best.as_findings(mini_kb) == {"E_1": True}


def test_eval_ddxplus_accepts_backends_and_records_them(
    mini_data_dir: Path, mini_patients_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DDX_LLM_CACHE_DIR", str(tmp_path / "cache"))
    runner = CliRunner()
    base = ["--data-dir", str(mini_data_dir), "eval", "ddxplus", "--patients"]
    base += [str(mini_patients_csv), "--questions", "3"]
    embedded = runner.invoke(app, [*base, "--out", str(tmp_path / "kb")])
    hybrid = runner.invoke(
        app, [*base, "--out", str(tmp_path / "hy"), "--doctor", "fake", "--strategy", "hybrid"]
    )
    assert embedded.exit_code == 0 and hybrid.exit_code == 0, hybrid.output
    keep = ("gtpa@1", "gtpa@5", "avg_rank", "ddf1", "avg_questions", "ece")
    kb_summary = json.loads((tmp_path / "kb" / "summary.json").read_text())
    hy_summary = json.loads((tmp_path / "hy" / "summary.json").read_text())
    assert {k: kb_summary[k] for k in keep} == {k: hy_summary[k] for k in keep}
    config = json.loads((tmp_path / "hy" / "run.json").read_text())
    assert config["llm"] == "doctor=fake; diagnoser=fake; patient=kb; strategy=hybrid"
    changed = runner.invoke(app, [*base, "--out", str(tmp_path / "hy"), "--doctor", "kb"])
    assert changed.exit_code != 0 and "llm" in str(changed.exception)


def test_llm_writes_the_retrieval_queries_and_falls_back_to_the_retrievers_own(
    mini_kb: KnowledgeBase, tmp_path: Path, encoder: TextEncoder
) -> None:
    from agent.reasoners.llm.retrieval import LLMQueryRetriever, summarise_passages
    from agent.retriever import ViewRetriever, query_of
    from retrieval.builtin_index import build_ddxplus_index, load_ddxplus_retriever

    build_ddxplus_index(mini_kb, tmp_path, progress=False)
    base = load_ddxplus_retriever(mini_kb, tmp_path)
    view = ConsultationView(
        age=30,
        sex="F",
        findings={"E_1": True},
        asked=[],
        differential=[("Flu", 0.6), ("Pneumonia", 0.4)],
        max_questions=5,
    )
    writer = _client(lambda request: '{"queries": ["pneumonia cough fever"]}')
    retriever = LLMQueryRetriever(writer, base)
    query = query_of(view)
    assert retriever.queries(query) == ["pneumonia cough fever"]
    passages = retriever.retrieve(query)
    assert passages and all(p.source for p in passages)
    assert passages[0].about == "Pneumonia"  # the candidate the model's query names
    broken = LLMQueryRetriever(_client(lambda request: "no"), base)
    assert broken.queries(query) == base.queries(query)
    summary = summarise_passages(
        _client(lambda request: '{"summary": "Pneumonia brings cough."}'), ["Flu"], passages
    )
    assert summary == "Pneumonia brings cough."
    fake = _client(None)
    clients = RoleClients(doctor=fake, diagnoser=None, patient=None, judge=None)
    context = llm_context(embedded_context(mini_kb, retriever=ViewRetriever(base)), clients)
    assert isinstance(context.retriever, ViewRetriever)
    assert isinstance(context.retriever.source, LLMQueryRetriever)


def test_llm_ddxplus_patient_answers_yes_no_from_its_replies(
    mini_kb: KnowledgeBase, mini_patients_csv: Path
) -> None:
    from simulator.llm_patient import LLMDdxPlusPatient, ddxplus_profile

    record = load_patients(mini_kb, mini_patients_csv).records[0]
    replies = iter(["Yes, I do.", "No.", "Hmm, I'm not sure."])
    chat = FakeChat(lambda request: next(replies))
    patient = LLMDdxPlusPatient(mini_kb, record, LLMClient(chat))
    assert [patient.answer("E_1"), patient.answer("E_2"), patient.answer("E_6")] == [
        True,
        False,
        None,
    ]
    assert patient.answer("E_7") == "V_10"  # a question with choices: from the record
    assert len(chat.requests) == 3
    profile = chat.requests[0].messages[0].content
    assert ddxplus_profile(mini_kb, record) in profile
    assert record.pathology not in profile


def test_a_repeated_question_gives_way_to_the_engines(
    mini_kb: KnowledgeBase, encoder: TextEncoder
) -> None:
    _, engine = _engine(mini_kb)
    ask = '{"action": "ask", "question": "Do you have a fever?"}'
    client = _client(lambda request: ask)
    doctor = LLMHistoryTaker(client, mini_kb, engine, encoder=encoder)
    view = _view({"E_2": True})
    assert doctor.next_question(view) is not None
    assert doctor.next_question(view).code == "E_1"  # type: ignore[union-attr]
    answered = _view({"E_1": True})
    assert doctor.next_question(answered) == engine.next_question(answered)
    assert client.stats.fallbacks == 1


def test_the_diagnosers_rationale_reaches_the_trace_and_the_report(mini_kb: KnowledgeBase) -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    from agent.consult.graph import compile_graph
    from agent.consult.session import ConsultationSession
    from agent.report import to_markdown
    from agent.state import CaseIntake
    from agent.trace import DifferentialMoved

    reasoned = {"diagnoses": [{"name": "Pneumonia"}], "rationale": "Fever with a cough."}
    answers = [json.dumps(reasoned)]
    client = _client(lambda request: answers[0])
    clients = RoleClients(doctor=None, diagnoser=client, patient=None, judge=None)
    session = ConsultationSession(
        compile_graph(InMemorySaver()), llm_context(embedded_context(mini_kb), clients)
    )
    intake = CaseIntake(age=40, sex="F", findings={"E_1": True}, max_questions=0)

    turn = session.start("reasoned", intake)
    assert turn.report is not None
    assert turn.report.differential[0].name == "Pneumonia"
    assert turn.report.rationale == "Fever with a cough."
    assert "Rationale: Fever with a cough." in to_markdown(turn.report)
    diagnoses = [e for e in turn.trace if isinstance(e, DifferentialMoved)]
    assert diagnoses and diagnoses[-1].rationale == "Fever with a cough."

    answers[0] = "gibberish"  # the engine's fallback ranking has no rationale, none carried over
    fallback = session.start("fallback", intake)
    assert fallback.report is not None and fallback.report.rationale == ""
    assert "Rationale" not in to_markdown(fallback.report)
    assert client.stats.fallbacks == 1


def test_fewshot_examples_must_be_a_file_of_usable_patients(
    mini_kb: KnowledgeBase, tmp_path: Path
) -> None:
    from agent.reasoners.llm.ddxplus_roles import solved_ddxplus_cases
    from simulator.records import REQUIRED_COLUMNS

    with pytest.raises(DdxError, match="not found"):
        solved_ddxplus_cases(mini_kb, tmp_path / "missing.csv")
    header_only = tmp_path / "header.csv"
    header_only.write_text(",".join(REQUIRED_COLUMNS) + "\n", encoding="utf-8")
    with pytest.raises(DdxError, match="no usable patient rows"):
        solved_ddxplus_cases(mini_kb, header_only)
