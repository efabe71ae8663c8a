"""Retrieved knowledge reaches the reasoning, not only the report: the LLM diagnoser's prompt
(DDXPlus through the graph, and iCraft-MD against the stub server), the LLM doctor's prompt,
the report's per-condition citations, and the HPO consultation's own index."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from typer.testing import CliRunner

from agent.cli import app
from agent.consult.graph import builder
from agent.consult.session import Answer, ConsultationSession
from agent.context import embedded_context
from agent.llm.base import ChatRequest
from agent.llm.client import LLMClient
from agent.llm.factory import RoleClients
from agent.llm.fake import FakeChat
from agent.reasoners.llm.context import llm_context
from agent.retriever import ViewRetriever
from agent.state import CaseIntake
from retrieval.ddxplus_kb import KnowledgeBase
from retrieval.passages import Passage, RetrievalQuery
from tests.llm_fixtures import completion, stub_server

CASES = Path(__file__).parent / "fixtures" / "llm" / "icraftmd_cases.jsonl"
PAGES = {  # dermatology pages for the fixture cases' options
    "Psoriasis": "Psoriasis forms well-demarcated plaques with silvery scale on the extensor "
    "surfaces, elbows and knees; the Auspitz sign is typical.",
    "Atopic dermatitis": "Atopic dermatitis is an itchy eczema of the flexures in atopic "
    "patients, with lichenification when chronic.",
    "Tinea corporis": "Tinea corporis is a dermatophyte infection: an annular plaque with a "
    "scaly advancing border and central clearing; KOH microscopy shows hyphae.",
}


class PageSource:
    """A passage source that answers each leader with its page (and records the queries)."""

    def __init__(self, pages: dict[str, str]) -> None:
        self.pages = pages
        self.queries: list[RetrievalQuery] = []

    def retrieve(self, query: RetrievalQuery) -> list[Passage]:
        self.queries.append(query)
        return [
            Passage(doc_id=f"page:{n}", title=n, text=self.pages[n], source="t", score=1, about=n)
            for n in query.leaders
            if n in self.pages
        ]


def test_the_llm_diagnoser_reads_the_passages_retrieved_in_the_consultation(
    mini_kb: KnowledgeBase,
) -> None:
    """Through the graph: retrieval runs before the final diagnosis, and that diagnosis's
    prompt carries the cited passages (it never did: passages only decorated the report)."""
    prompts: list[str] = []

    def diagnoser(request: ChatRequest) -> str:
        prompts.append(request.messages[-1].content)
        return json.dumps({"diagnoses": [{"name": "Flu"}], "rationale": "r"})

    client = LLMClient(FakeChat(diagnoser))
    clients = RoleClients(doctor=None, diagnoser=client, patient=None, judge=None)
    source = PageSource({name: f"{name}: the page of the mini kb." for name in mini_kb.conditions})
    base = embedded_context(mini_kb, retriever=ViewRetriever(source))
    context = llm_context(base, clients, summarise=False)
    session = ConsultationSession(builder.compile(checkpointer=InMemorySaver()), context)
    turn = session.start("t", CaseIntake(age=30, sex="F", findings={"E_1": True}, max_questions=2))
    while turn.question is not None:
        turn = session.answer("t", Answer.of_text("yes"))
    assert turn.report is not None and turn.report.passages
    assert source.queries and source.queries[0].findings == {"E_1": True}
    assert "Relevant medical knowledge" not in prompts[0]  # nothing retrieved yet
    last = prompts[-1]
    assert "Relevant medical knowledge" in last
    for passage in turn.report.passages:
        assert f"[{passage.doc_id}] {passage.title}: {passage.text}" in last


def test_icraftmd_prompts_carry_the_passages_of_the_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ddx eval icraftmd --index DIR` against the stub server: every diagnosis prompt (and the
    doctor's) carries the options' pages from the index, and each case records what it read.
    The stub is not a model: this shows the plumbing, not retrieval's effect on accuracy."""
    corpus = tmp_path / "derm.jsonl"
    corpus.write_text(
        "".join(
            json.dumps({"id": f"derm:{i}", "title": name, "text": text}) + "\n"
            for i, (name, text) in enumerate(PAGES.items())
        )
    )
    monkeypatch.setenv("DDX_STATE_DIR", str(tmp_path / "state"))
    runner = CliRunner()
    built = runner.invoke(
        app,
        ["index", "build", "--corpus", str(corpus), "--out", str(tmp_path / "ix"), "--bm25-only"],
    )
    assert built.exit_code == 0, built.output
    prompts: dict[str, list[str]] = {"NextStep": [], "Differential": []}

    def reply(payload: dict[str, Any]) -> tuple[int, str]:
        schema = payload.get("response_format", {}).get("json_schema", {}).get("name")
        prompt = payload["messages"][-1]["content"]
        if schema in prompts:
            prompts[schema].append(prompt)
        if schema == "NextStep":
            return completion('{"action": "stop", "reason": "enough"}')
        if schema == "Differential":
            return completion(json.dumps({"diagnoses": [{"name": "Psoriasis"}]}))
        if schema == "Summary":
            return completion('{"summary": "Silvery plaques on the elbows point to psoriasis."}')
        return completion("I don't know.")

    with stub_server(reply) as server:
        backend = f"openai:stub@{server.url}"
        args = ["eval", "icraftmd", "--cases", str(CASES), "--questions", "1", "--no-cache"]
        args += ["--doctor", backend, "--patient", backend, "--index", str(tmp_path / "ix")]
        result = runner.invoke(app, [*args, "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert prompts["Differential"] and prompts["NextStep"]
    first_case = prompts["Differential"][0]
    assert "Relevant medical knowledge" in first_case
    assert "Silvery plaques on the elbows point to psoriasis." in first_case  # the summary
    assert "silvery scale on the extensor" in first_case and "[derm:0] Psoriasis" in first_case
    assert all("Relevant medical knowledge" in p for p in prompts["Differential"])
    assert all("Relevant medical knowledge" in p for p in prompts["NextStep"])
    cases = [
        json.loads(line) for line in (tmp_path / "run" / "cases.jsonl").read_text().splitlines()
    ]
    assert "derm:0" in cases[0]["passages"]
    config = json.loads((tmp_path / "run" / "run.json").read_text())
    assert config["retrieval"] == str((tmp_path / "ix").resolve())


def test_icraftmd_without_an_index_reads_no_knowledge(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control: the same run without --index has no knowledge block in any prompt."""
    seen: list[str] = []

    def reply(payload: dict[str, Any]) -> tuple[int, str]:
        seen.append(payload["messages"][-1]["content"])
        schema = payload.get("response_format", {}).get("json_schema", {}).get("name")
        if schema == "NextStep":
            return completion('{"action": "stop"}')
        return completion(json.dumps({"diagnoses": [{"name": "Psoriasis"}]}))

    monkeypatch.setenv("DDX_STATE_DIR", str(tmp_path / "state"))
    with stub_server(reply) as server:
        backend = f"openai:stub@{server.url}"
        args = ["eval", "icraftmd", "--cases", str(CASES), "--questions", "1", "--no-cache"]
        args += ["--doctor", backend, "--patient", backend, "--out", str(tmp_path / "run")]
        assert CliRunner().invoke(app, args).exit_code == 0
    assert seen and not any("Relevant medical knowledge" in p for p in seen)
