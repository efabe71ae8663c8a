"""The retrieval agent in the consultation (passages with citations in the final report), the
ranking metrics, and the `ddx index` / `ddx eval retrieval` commands on tiny fixtures."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from typer.testing import CliRunner

from agent.cli import app
from agent.consult.graph import builder
from agent.consult.session import Answer, ConsultationSession
from agent.context import embedded_context
from agent.report import to_markdown
from agent.retriever import ViewRetriever, query_of
from agent.roles import ConsultationView, Retriever
from agent.state import CaseIntake
from agent.trace import KnowledgeRetrieved
from eval.ir_metrics import evaluate_run, measure_for
from eval.retrieval_bench import read_queries
from retrieval import builtin_index
from retrieval.builtin_index import (
    DDXPLUS,
    build_ddxplus_index,
    ddxplus_documents,
    ddxplus_retriever_if_built,
    load_ddxplus_retriever,
)
from retrieval.ddxplus_corpus import statement
from retrieval.ddxplus_kb import KnowledgeBase
from retrieval.embeddings import Encoder
from retrieval.index import BuildSettings, IndexMismatchError, build_index
from retrieval.knowledge_retriever import KnowledgeRetriever
from retrieval.passages import PassageSource, RetrievalQuery

FIXTURES = Path(__file__).parent / "fixtures" / "retrieval"


@pytest.fixture(scope="module")
def index_root(tmp_path_factory: pytest.TempPathFactory, mini_kb: KnowledgeBase, encoder: Encoder):
    root = tmp_path_factory.mktemp("indexes")
    build_ddxplus_index(mini_kb, root, progress=False)
    return root


@pytest.fixture(scope="module")
def retriever(index_root: Path, mini_kb: KnowledgeBase) -> KnowledgeRetriever:
    return load_ddxplus_retriever(mini_kb, index_root)


def view(differential: list[tuple[str, float]], findings: dict[str, Any]) -> ConsultationView:
    return ConsultationView(
        age=30, sex="F", findings=findings, asked=[], differential=differential, max_questions=5
    )


def query(differential: list[tuple[str, float]], findings: dict[str, Any]) -> RetrievalQuery:
    """What the consultation's Retriever role asks a source for this view."""
    return query_of(view(differential, findings))


# -- metrics ----------------------------------------------------------------------------------


def test_metrics_match_hand_computed_values() -> None:
    run = {"q1": {"a": 3.0, "b": 2.0, "c": 1.0}, "q2": {"x": 1.0}}
    qrels = {"q1": {"b": 1, "c": 2}, "q2": {"y": 1}, "q3": {"z": 1}, "q4": {"a": 0}}
    scores = evaluate_run(run, qrels, ["ndcg@10", "recall@100", "mrr@10", "map", "p@1"])
    q1 = scores.per_query["q1"]
    # trec_eval's nDCG gains are the grades: b (1) at rank 2, c (2) at rank 3, ideal c then b
    dcg = 1 / math.log2(3) + 2 / math.log2(4)
    ideal = 2 / math.log2(2) + 1 / math.log2(3)
    assert q1["mrr@10"] == pytest.approx(0.5)
    assert q1["recall@100"] == pytest.approx(1.0)
    assert q1["p@1"] == pytest.approx(0.0)
    assert q1["ndcg@10"] == pytest.approx(dcg / ideal)
    assert scores.per_query["q3"] == dict.fromkeys(scores.means, 0.0)  # no results: counts 0
    assert scores.skipped_queries == ["q4"]  # nothing relevant: not judged
    assert scores.n_queries == 3
    assert scores.means["mrr@10"] == pytest.approx(0.5 / 3)


def test_bad_query_lines_are_reported_and_skipped(tmp_path: Path) -> None:
    path = tmp_path / "queries.jsonl"
    path.write_bytes(
        b'{"_id": "q1", "text": "fever"}\n\xff\n[1]\n{"_id": "q2"}\n'
        b'not json\n{"id": "q3", "text": "x"}\n'
    )
    warnings: list[str] = []
    assert read_queries(path, warnings.append) == {"q1": "fever", "q3": "x"}
    assert warnings == [
        "queries.jsonl line 2: not UTF-8 text; skipped",
        "queries.jsonl line 3: not a JSON object; skipped",
        "queries.jsonl line 4: no id or no text; skipped",
        "queries.jsonl line 5: not valid JSON (Expecting value); skipped",
    ]


def test_unknown_metric_is_refused() -> None:
    with pytest.raises(ValueError, match="Unknown metric"):
        measure_for("bleu@4")
    with pytest.raises(ValueError, match="cut-off"):
        measure_for("recall")


# -- the retrieval agent ----------------------------------------------------------------------


def test_retriever_implements_the_protocol(retriever: KnowledgeRetriever) -> None:
    assert isinstance(retriever, PassageSource)
    assert isinstance(ViewRetriever(retriever), Retriever)


def test_the_knowledge_layer_does_not_import_the_consultation_core() -> None:
    """retrieval/ sits below agent/: its retrievers read a RetrievalQuery, not a view."""
    import ast

    root = Path(__file__).parents[1] / "retrieval"
    upward = []
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("agent."):
                ground = node.module in ("agent.errors", "agent.settings")
                if not ground and not (node.module or "").startswith("agent.llm"):
                    upward.append(f"{path.name}: {node.module}")
    assert upward == []


def test_queries_name_the_leaders_and_their_separating_findings(
    retriever: KnowledgeRetriever, mini_kb: KnowledgeBase
) -> None:
    leaders = [("Pneumonia", 0.6), ("Flu", 0.3), ("Measles", 0.1)]
    findings = {"E_1": True, "E_10": True, "E_8": False}
    separating = retriever.separating_findings(query(leaders, findings), ["Pneumonia", "Flu"])
    fever_linked_to_all = all(
        "E_1" in mini_kb.conditions[n].evidences for n in ("Pneumonia", "Flu")
    )
    assert fever_linked_to_all
    assert separating == [statement(mini_kb.evidences["E_10"].question)]  # Pneumonia's only
    queries = retriever.queries(query(leaders, findings))
    assert [q.split(":")[0] for q in queries] == ["Pneumonia", "Flu", "Measles"]


def test_retrieve_returns_each_leaders_page_with_its_citation(
    retriever: KnowledgeRetriever,
) -> None:
    passages = retriever.retrieve(query([("Migraine", 0.7), ("Flu", 0.2)], {"E_3": True}))
    assert [p.title for p in passages] == ["Migraine", "Flu"]
    assert [p.about for p in passages] == ["Migraine", "Flu"]
    assert all(p.doc_id.startswith("ddxplus:") for p in passages)
    assert all("DDXPlus" in p.source and "CC-BY 4.0" in p.source for p in passages)


def test_consultation_report_cites_the_builtin_corpus(
    mini_kb: KnowledgeBase, retriever: KnowledgeRetriever
) -> None:
    context = embedded_context(mini_kb, retriever=ViewRetriever(retriever))
    session = ConsultationSession(builder.compile(checkpointer=InMemorySaver()), context)
    intake = CaseIntake(age=30, sex="F", findings={"E_1": True}, max_questions=3)
    turn = session.start("r", intake)
    while turn.question is not None:
        turn = session.answer("r", Answer.of_text("yes"))
    report = turn.report
    assert report is not None and report.passages
    leaders = {r.name for r in report.differential[:3]}
    assert {p.title for p in report.passages} & leaders
    assert all(p.source.startswith("DDXPlus knowledge base") for p in report.passages)
    retrievals = [e for e in turn.trace if isinstance(e, KnowledgeRetrieved)]
    assert retrievals and retrievals[0].doc_ids
    markdown = to_markdown(report)
    assert "## Sources" in markdown and report.passages[0].doc_id in markdown
    explained = {e.name for e in report.explanations}
    cited = [p for p in report.passages if p.about in explained]
    assert cited, "a passage about an explained condition is cited under it"
    section = markdown.split(f"### {cited[0].about} (")[1].split("###")[0]
    assert f"- Sources: [{cited[0].doc_id}]" in section


def test_builtin_index_of_another_knowledge_base_is_refused(
    index_root: Path, mini_kb: KnowledgeBase
) -> None:
    changed = mini_kb.model_copy(
        update={
            "conditions": {
                **mini_kb.conditions,
                "Flu": mini_kb.conditions["Flu"].model_copy(update={"severity": 1}),
            }
        }
    )
    with pytest.raises(IndexMismatchError, match="corpus changed"):
        load_ddxplus_retriever(changed, index_root)
    warnings: list[str] = []
    assert ddxplus_retriever_if_built(changed, index_root, warnings.append) is None
    assert "corpus changed" in warnings[0]


def test_builtin_bm25_only_index_is_searched_without_a_model(
    tmp_path: Path, mini_kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_index(
        ddxplus_documents(mini_kb),
        tmp_path / DDXPLUS,
        settings=BuildSettings(components=("bm25",)),
        progress=False,
    )

    def no_model(*args: object, **kwargs: object) -> None:
        raise AssertionError("a BM25-only index needs no embedding model")

    monkeypatch.setattr(builtin_index, "load_encoder", no_model)
    retriever = load_ddxplus_retriever(mini_kb, tmp_path)
    assert retriever.method == "bm25"
    assert retriever.search("Flu")[0].document.title == "Flu"


def test_missing_builtin_index_means_no_retrieval_and_a_hint(
    tmp_path: Path, mini_kb: KnowledgeBase
) -> None:
    warnings: list[str] = []
    assert ddxplus_retriever_if_built(mini_kb, tmp_path, warnings.append) is None
    assert "ddx index build --builtin ddxplus" in warnings[0]


# -- commands ---------------------------------------------------------------------------------


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ("DDX_DATA_DIR", "DDX_MAX_QUESTIONS", "DDX_CONFIDENCE_THRESHOLD", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DDX_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path


def test_chat_cites_the_builtin_index_once_built(
    isolated: Path, mini_data_dir: Path, mini_patients_csv: Path, encoder: Encoder
) -> None:
    runner = CliRunner()
    base = ["--data-dir", str(mini_data_dir)]
    before = runner.invoke(app, [*base, "chat", "--patient-file", str(mini_patients_csv)])
    assert before.exit_code == 0, before.output
    assert "ddx index build --builtin ddxplus" in before.output and "Sources" not in before.output

    built = runner.invoke(app, [*base, "index", "build", "--builtin", "ddxplus"])
    assert built.exit_code == 0, built.output
    assert (isolated / "state" / "indexes" / "ddxplus" / "manifest.json").is_file()
    again = runner.invoke(app, [*base, "index", "build", "--builtin", "ddxplus"])
    assert "up to date" in again.output

    markdown = isolated / "report.md"
    after = runner.invoke(
        app,
        [*base, "chat", "--patient-file", str(mini_patients_csv), "--markdown", str(markdown)],
    )
    assert after.exit_code == 0, after.output
    assert "Sources" in after.output and "[ddxplus:" in after.output
    assert "## Sources" in markdown.read_text()
    quiet = runner.invoke(
        app, [*base, "chat", "--patient-file", str(mini_patients_csv), "--no-knowledge"]
    )
    assert "Sources" not in quiet.output


def test_index_build_and_search_a_user_folder(isolated: Path, encoder: Encoder) -> None:
    runner = CliRunner()
    out = isolated / "notes-index"
    built = runner.invoke(
        app, ["index", "build", "--corpus", str(FIXTURES / "notes"), "--out", str(out)]
    )
    assert built.exit_code == 0, built.output
    assert "skipped" in built.output and "latin1.txt: not UTF-8 text" in built.output
    found = runner.invoke(app, ["index", "search", str(out), "swollen ankles", "--k", "1"])
    assert found.exit_code == 0, found.output
    assert "Heart failure" in found.output and "heart.md" in found.output


def test_index_build_needs_a_corpus_or_a_builtin(isolated: Path) -> None:
    result = CliRunner().invoke(app, ["index", "build", "--out", str(isolated / "x")])
    assert result.exit_code != 0
    assert isinstance(result.exception, Exception)
    assert "--corpus" in str(result.exception)


def test_eval_retrieval_writes_the_summary(isolated: Path, encoder: Encoder) -> None:
    out = isolated / "bench"
    args = [
        "eval", "retrieval",
        "--corpus", str(FIXTURES / "corpus.jsonl"),
        "--queries", str(FIXTURES / "queries.jsonl"),
        "--qrels", str(FIXTURES / "qrels.tsv"),
        "--out", str(out),
    ]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    for key in ("n_queries", "ndcg@10", "recall@100", "mrr@10", "index_seconds"):
        assert key in summary
    assert summary["n_queries"] == 5
    assert summary["ndcg@10"] >= 0.8  # five easy queries over eight documents
    assert summary["query_ms_p50"] > 0 and summary["query_ms_p95"] >= summary["query_ms_p50"]
    assert not summary["index_reused"]
    assert len((out / "per_query.jsonl").read_text().splitlines()) == 5
    again = CliRunner().invoke(app, [*args, "--method", "bm25"])
    assert again.exit_code == 0, again.output
    assert json.loads((out / "summary.json").read_text())["index_reused"]
