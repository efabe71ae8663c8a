"""The app's parts without Streamlit: identity in the URL, the history index, the facade,
"Finish now" in the graph, run discovery, the chart spec, and the ``ddx ui`` command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from typer.testing import CliRunner

from agent.cli import app, main
from agent.context import ConsultContext
from agent.graph import builder
from agent.session import Answer, ConsultationSession
from agent.settings import load_settings
from agent.state import CaseIntake
from retrieval.ddxplus_kb import KnowledgeBase
from ui.benchmarks_view import discover_runs
from ui.charts import differential_chart
from ui.complaint import NONE_OF_THESE, ComplaintOption, complaint_options
from ui.facade import ConsultFacade, Limits, build_engine
from ui.history_store import HistoryStore
from ui.identity import (
    CONSULTATION_PARAM,
    USER_PARAM,
    consultation_from,
    show_consultation,
    user_id_from,
)

RUNS = Path(__file__).parent / "fixtures" / "ui" / "eval-runs"
ENGINE_VARIABLES = ("DDX_DOCTOR", "DDX_DIAGNOSER", "DDX_STRATEGY", "DDX_DOCTOR_DIRECTORY")
ALICE, BOB = "a" * 32, "b" * 32


def test_a_user_id_is_made_once_and_kept_in_the_url() -> None:
    params: dict[str, str] = {}
    made = user_id_from(params)
    assert params == {USER_PARAM: made} and len(made) == 32
    assert user_id_from(params) == made

    tampered = {USER_PARAM: "../../etc"}
    assert user_id_from(tampered) != "../../etc" and tampered[USER_PARAM] != "../../etc"


def test_the_open_consultation_is_shown_in_the_url_only_when_well_formed() -> None:
    params: dict[str, str] = {}
    show_consultation(params, "c" * 32)
    assert consultation_from(params) == "c" * 32
    show_consultation(params, None)
    assert CONSULTATION_PARAM not in params
    assert consultation_from({CONSULTATION_PARAM: "x; drop table"}) is None


def test_the_history_index_keeps_users_apart(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path)
    store.add(ALICE, "t1", "first")
    store.add(ALICE, "t2", "second")
    store.add(BOB, "t3", "bob's")
    store.update(ALICE, "t1", finished=True, questions=4, leading="Flu 80%")
    store.update(BOB, "t1", finished=False, questions=9, leading="stolen")  # not Bob's: no-op

    alice = store.list(ALICE)
    assert [e.thread_id for e in alice] == ["t1", "t2"]  # most recently touched first
    assert (alice[0].finished, alice[0].questions, alice[0].leading) == (True, 4, "Flu 80%")
    assert [e.title for e in store.list(BOB)] == ["bob's"]
    assert store.owns(ALICE, "t2") and not store.owns(BOB, "t2")
    assert [e.thread_id for e in HistoryStore(tmp_path).list(ALICE)] == ["t1", "t2"]  # reopened


def memory_session(ctx: ConsultContext) -> ConsultationSession:
    return ConsultationSession(builder.compile(checkpointer=InMemorySaver()), ctx)


def test_finish_now_leaves_the_pending_question_unanswered(mini_context: ConsultContext) -> None:
    session = memory_session(mini_context)
    turn = session.start("a", CaseIntake(age=30, sex="F", findings={"E_1": True}))
    assert turn.question is not None
    turn = session.answer("a", Answer.of_value(False))
    assert turn.question is not None

    done = session.finish_now("a")

    assert done.report is not None and done.trace is not None
    assert done.report.stop_reason == "finished on request"
    assert [t.code for t in done.report.transcript] == ["E_6"]
    assert {"kind": "stop"} in done.trace
    assert session.current("a") == done


@pytest.fixture(autouse=True)
def _no_settings_from_the_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENGINE_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def facade(mini_data_dir: Path, tmp_path: Path) -> ConsultFacade:
    engine = build_engine(load_settings(data_dir=mini_data_dir, state_dir=tmp_path))
    return ConsultFacade(ALICE, engine, Limits(10, 0.95))


def test_the_facade_opens_only_its_users_consultations(facade: ConsultFacade) -> None:
    facade.find_complaints("fever")
    facade.start(30, "F", facade.complaints[0])
    mine = facade.thread_id
    assert mine is not None and facade.question is not None

    bob = ConsultFacade(BOB, facade.engine, facade.limits)
    assert not bob.open(mine)
    assert bob.thread_id is None and bob.history() == []

    facade.close()
    assert facade.open(mine) and facade.question is not None
    assert facade.question.number == 1


def test_the_facade_reports_mistakes_instead_of_raising(facade: ConsultFacade) -> None:
    facade.answer(Answer.of_text("yes"))
    assert facade.error == "No question is waiting for an answer."

    facade.find_complaints("zzzz qqqq")
    assert facade.complaints == [] and facade.error and "other words" in facade.error

    facade.start(30, "F", ComplaintOption(label="?", findings={"E_404": True}))
    assert facade.thread_id is None and facade.error and "E_404" in facade.error


def test_complaints_are_searched_by_words_or_taken_by_code(mini_kb: KnowledgeBase) -> None:
    assert [o.findings for o in complaint_options(mini_kb, "E_2")] == [{"E_2": True}, {}]
    words = complaint_options(mini_kb, "cough", read_sentences=False)
    assert [(o.label, o.findings) for o in words] == [
        ("Do you have a cough?", {"E_2": True}),
        (NONE_OF_THESE.label, {}),
    ]
    assert words[-1].none_of_these and not words[0].none_of_these
    assert complaint_options(mini_kb, "zzzz qqqq") == []  # no "none of these" alone


def test_none_of_these_starts_nothing_and_asks_again(facade: ConsultFacade) -> None:
    facade.find_complaints("I have a headache")
    assert facade.complaints[0].findings == {"E_3": True, "E_4": ["V_3"]}
    assert facade.complaints[-1].none_of_these
    facade.start(30, "F", facade.complaints[-1])
    assert facade.thread_id is None and facade.complaints == []
    assert facade.error is not None and "other words" in facade.error


def test_runs_are_found_at_any_depth_up_to_three() -> None:
    found = [p.relative_to(RUNS).as_posix() for p in discover_runs(RUNS)]
    assert found == ["broken", "q2", "q4/unsummarised"]
    assert discover_runs(RUNS / "missing") == []


def test_the_chart_shows_the_top_ten_and_marks_urgent_ones() -> None:
    differential = [(f"C{i}", 1 / (i + 2)) for i in range(12)]
    spec = differential_chart(differential, urgent=["C1"])
    rows = spec["data"]["values"]
    assert [r["condition"] for r in rows] == [f"C{i}" for i in range(10)]
    assert [r["kind"] for r in rows if r["kind"] == "urgent"] == ["urgent"]
    assert rows[1]["kind"] == "urgent"


def test_ddx_ui_runs_streamlit_on_the_packaged_script(
    monkeypatch: pytest.MonkeyPatch, mini_data_dir: Path
) -> None:
    seen: dict[str, Any] = {}

    def fake_run(command: list[str], env: dict[str, str], check: bool) -> Any:
        seen.update(command=command, env=env)
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(subprocess, "run", fake_run)
    result = CliRunner().invoke(
        app, ["--data-dir", str(mini_data_dir), "ui", "--port", "8765", "--no-browser"]
    )

    assert result.exit_code == 0, result.output
    command = seen["command"]
    assert command[:4] == [sys.executable, "-m", "streamlit", "run"]
    assert Path(command[4]).is_file() and Path(command[4]).name == "app.py"
    flags = dict(zip(command[5::2], command[6::2], strict=True))
    assert flags["--server.port"] == "8765" and flags["--server.headless"] == "true"
    assert flags["--browser.gatherUsageStats"] == "false"
    assert seen["env"]["DDX_DATA_DIR"] == str(mini_data_dir)


def test_ddx_ui_with_an_invalid_setting_says_so_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DDX_MAX_QUESTIONS", "many")
    monkeypatch.setattr(sys, "argv", ["ddx", "ui"])
    with pytest.raises(SystemExit) as stopped:
        main()
    assert stopped.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "max_questions" in err[0]


def test_a_complaint_is_also_read_as_sentences_with_negations(mini_kb: KnowledgeBase) -> None:
    options = complaint_options(mini_kb, "I have a pain, but no fever")
    assert options[0].findings == {"E_3": True, "E_1": False}
    assert options[0].label == "pain somewhere: yes; a fever: no"
    assert all(o.findings != {"E_1": True} for o in options)  # the denial is kept
    words = complaint_options(mini_kb, "I have a pain, but no fever", read_sentences=False)
    assert {"E_1": True} not in [o.findings for o in words]  # denied words are not searched
    assert {"E_3": True} in [o.findings for o in words]
