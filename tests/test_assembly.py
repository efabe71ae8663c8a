"""One assembly: every front end and benchmark builds its consultation context through
``agent.assembly.assemble``, and a feature it cannot honour is refused in one line, never
silently ignored (``ddx chat --kb hpo`` used to drop --doctor, --online, --patient-file, --age
and --model without a word; benchmarks could not run with retrieval at all)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.assembly import ConsultOptions, assemble, engine_settings
from agent.cli import app
from agent.consult.session import batch_session
from agent.errors import DdxError
from agent.retriever import ViewRetriever
from agent.settings import DdxSettings
from agent.state import CaseIntake
from retrieval.builtin_index import DDXPLUS, HPO, ddxplus_documents, hpo_documents
from retrieval.ddxplus_kb import KnowledgeBase
from retrieval.documents import Document
from retrieval.hpo_kb import HpoKnowledgeBase
from retrieval.index import BuildSettings, build_index

ROOT = Path(__file__).parents[1]
BUILDERS = {
    "embedded_context",
    "hpo_context",
    "llm_context",
    "free_text_context",
    "ConsultContext",
}
"""The building blocks of a context; only the assembly (and their own modules) call them."""
ALLOWED = {
    "agent/assembly.py",
    "agent/context.py",
    "agent/reasoners/hpo/context.py",
    "agent/reasoners/llm/context.py",
    # parameter sweeps over the engine's internals (question policy, list gain) for choosing
    # the shipped settings on the train split; not a consultation any user runs
    "eval/ddxplus_tuning.py",
}


def _calls(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name in BUILDERS:
                names.add(name)
    return names


def test_contexts_are_built_in_one_place() -> None:
    """No front end, benchmark or teacher builds a context of its own."""
    offenders = {}
    for folder in ("agent", "eval", "ui", "retrieval", "simulator"):
        for path in (ROOT / folder).rglob("*.py"):
            relative = path.relative_to(ROOT).as_posix()
            if relative not in ALLOWED and (found := _calls(path)):
                offenders[relative] = sorted(found)
    assert offenders == {}


def test_the_core_no_longer_imports_the_harness() -> None:
    """LLM roles live in agent/ (they came from eval/ddxplus_bench.py)."""
    source = (ROOT / "agent" / "reasoners" / "llm" / "ddxplus_roles.py").read_text()
    assert "from eval" not in source and "import eval" not in source


def test_chat_modules_share_a_terminal_loop_without_a_circle() -> None:
    hpo_chat = (ROOT / "agent" / "cli" / "hpo_chat.py").read_text()
    chat = (ROOT / "agent" / "cli" / "chat_cmd.py").read_text()
    assert "agent.cli.chat_cmd" not in hpo_chat
    assert "agent.cli.terminal" in hpo_chat and "agent.cli.terminal" in chat


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--model", "structural"], "--model is a DDXPlus likelihood model"),
        (["--doctor", "fake"], "An LLM doctor (--doctor) asks DDXPlus questions only"),
        (["--patient-file", "x.csv"], "--patient-file is a DDXPlus patient CSV"),
        (["--patient", "2"], "--patient picks a row of --patient-file"),
        (["--complaint", "tall"], "--say or --complaint, not both"),
        (["--strategy", "cot"], "--strategy cot needs an LLM diagnoser"),
    ],
)
def test_hpo_chat_refuses_what_it_cannot_honour(
    extra: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DDX_STATE_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["chat", "--kb", "hpo", "--say", "HP:0001166", *extra])
    assert isinstance(result.exception, DdxError), result.output
    assert message in str(result.exception)


def test_ddxplus_chat_refuses_options_the_simulated_patient_overrides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mini_data_dir: Path
) -> None:
    monkeypatch.setenv("DDX_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("DDX_DATA_DIR", str(mini_data_dir))
    csv = mini_data_dir / "ddxplus" / "patients.csv"
    result = CliRunner().invoke(app, ["chat", "--patient-file", str(csv), "--age", "40"])
    assert isinstance(result.exception, DdxError)
    assert "gives its own age, sex and complaint: drop --age" in str(result.exception)
    resumed = CliRunner().invoke(app, ["chat", "--resume", "abc", "--say", "cough"])
    assert "keeps its opening: drop --say" in str(resumed.exception)


def _bm25_index(documents: list[Document], folder: Path) -> None:
    build_index(documents, folder, settings=BuildSettings(components=("bm25",)), progress=False)


def test_the_hpo_consultation_queries_the_hpo_index(
    mini_hpo_kb: HpoKnowledgeBase, tmp_path: Path
) -> None:
    """The HPO corpus index was built but never queried: now its pages are cited."""
    settings = DdxSettings(state_dir=tmp_path, doctor="kb", doctor_directory=None)
    warnings: list[str] = []
    without = assemble(settings, mini_hpo_kb, ConsultOptions(), warnings.append).context
    assert without.retriever is None
    assert "ddx index build --builtin hpo" in warnings[0]
    _bm25_index(hpo_documents(mini_hpo_kb), tmp_path / "indexes" / HPO)
    context = assemble(settings, mini_hpo_kb, ConsultOptions()).context
    assert isinstance(context.retriever, ViewRetriever)
    present = mini_hpo_kb.term_ids[int(mini_hpo_kb.disease_terms(0)[0][0])]
    intake = CaseIntake(findings={present: True}, max_questions=2)
    report = batch_session(context).consult_to_end("h", intake, lambda code: None)
    assert report.passages and all(p.doc_id.startswith("hpo:") for p in report.passages)
    leaders = [r.name for r in report.differential[:3]]
    assert {p.about for p in report.passages} <= set(leaders)
    with pytest.raises(DdxError, match="No complete index"):
        assemble(settings, mini_hpo_kb, ConsultOptions(retrieval="on", index=tmp_path / "none"))


def test_a_benchmark_runs_with_retrieval_and_records_it(
    mini_kb: KnowledgeBase, mini_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ddx eval ddxplus --knowledge`: the built-in index is used (recorded in run.json) and
    the engine's figures do not move (it reads no passages); without the index, refused."""
    monkeypatch.setenv("DDX_DATA_DIR", str(mini_data_dir))
    monkeypatch.setenv("DDX_STATE_DIR", str(tmp_path / "state"))
    patients = mini_data_dir / "ddxplus" / "patients.csv"
    base = ["eval", "ddxplus", "--patients", str(patients), "--workers", "1"]
    runner = CliRunner()
    refused = runner.invoke(app, [*base, "--knowledge", "--out", str(tmp_path / "none")])
    assert isinstance(refused.exception, DdxError) and "No complete index" in str(refused.exception)
    assert not (tmp_path / "none").exists()
    no_doctors = runner.invoke(app, [*base, "--doctors", "--out", str(tmp_path / "d")])
    assert "DDX_DOCTOR_DIRECTORY" in str(no_doctors.exception)
    _bm25_index(ddxplus_documents(mini_kb), tmp_path / "state" / "indexes" / DDXPLUS)
    plain = runner.invoke(app, [*base, "--out", str(tmp_path / "plain")])
    cited = runner.invoke(app, [*base, "--knowledge", "--out", str(tmp_path / "cited")])
    assert plain.exit_code == 0 and cited.exit_code == 0, cited.output
    config = json.loads((tmp_path / "cited" / "run.json").read_text())
    assert config["llm"] == "retrieval=built-in index"
    assert json.loads((tmp_path / "plain" / "run.json").read_text())["llm"] == "kb"
    summaries = [
        json.loads((tmp_path / n / "summary.json").read_text()) for n in ("plain", "cited")
    ]
    keep = ("n", "gtpa@1", "gtpa@3", "avg_questions")
    assert {k: summaries[0][k] for k in keep} == {k: summaries[1][k] for k in keep}


def test_engine_settings_ignore_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Library callers that build a plain context get the engine, whatever DDX_* says."""
    monkeypatch.setenv("DDX_DOCTOR", "fake")
    monkeypatch.setenv("DDX_DOCTOR_DIRECTORY", "/nowhere.jsonl")
    settings = engine_settings()
    assert settings.doctor == "kb" and settings.doctor_directory is None


def test_an_llm_diagnoser_reranks_the_phenotype_reasoners_leaders(
    mini_hpo_kb: HpoKnowledgeBase,
) -> None:
    """LLM roles worked on DDXPlus only: over HPO the LLM diagnoser now re-ranks the
    reasoner's leading diseases, reading the phenotype as the catalogue phrases it."""
    from agent.llm.base import ChatRequest
    from agent.llm.client import LLMClient
    from agent.llm.factory import RoleClients
    from agent.llm.fake import FakeChat
    from agent.reasoners.hpo.context import hpo_context
    from agent.reasoners.llm.context import llm_context
    from agent.reasoners.llm.diagnosis import LLMDiagnoser

    prompts: list[str] = []
    engine = batch_session(hpo_context(mini_hpo_kb))
    present = mini_hpo_kb.term_ids[int(mini_hpo_kb.disease_terms(0)[0][0])]
    intake = CaseIntake(findings={present: True}, max_questions=0)
    engine_order = [r.name for r in engine.consult_to_end("e", intake, lambda c: None).differential]
    pick = engine_order[-1]  # the engine's last: the LLM's ranking must show

    def diagnoser(request: ChatRequest) -> str:
        prompts.append(request.messages[-1].content)
        return json.dumps({"diagnoses": [{"name": pick}], "rationale": "r"})

    clients = RoleClients(
        doctor=None, diagnoser=LLMClient(FakeChat(diagnoser)), patient=None, judge=None
    )
    context = llm_context(hpo_context(mini_hpo_kb), clients)
    assert isinstance(context.diagnoser, LLMDiagnoser)
    report = batch_session(context).consult_to_end("l", intake, lambda c: None)
    assert report.differential[0].name == pick
    assert all(name in prompts[-1] for name in engine_order)
    assert context.catalogue.question_text(present) in prompts[-1]
    with pytest.raises(DdxError, match="An LLM doctor"):
        llm_context(
            hpo_context(mini_hpo_kb),
            RoleClients(doctor=clients.diagnoser, diagnoser=None, patient=None, judge=None),
        )


def test_a_parallel_benchmark_with_dense_retrieval_finishes(
    mini_kb: KnowledgeBase, mini_data_dir: Path, tmp_path: Path
) -> None:
    """Two workers forked after the parent's warm-up queried the encoder used to hang on
    their first query (torch's thread pool does not survive a fork): the run must finish."""
    import os
    import subprocess
    import sys

    from retrieval.builtin_index import build_ddxplus_index

    build_ddxplus_index(mini_kb, tmp_path / "state" / "indexes", progress=False)
    env = {
        **os.environ,
        "DDX_DATA_DIR": str(mini_data_dir),
        "DDX_STATE_DIR": str(tmp_path / "state"),
    }
    env.pop("OMP_NUM_THREADS", None)
    patients = mini_data_dir / "ddxplus" / "patients.csv"
    ddx = Path(sys.executable).with_name("ddx")
    command = [str(ddx), "eval", "ddxplus", "--patients", str(patients)]
    command += ["--workers", "2", "--knowledge", "--out", str(tmp_path / "run")]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["n"] > 0
