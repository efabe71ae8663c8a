"""The app's parts without Streamlit: the facade and its report, "Finish now" in the graph, run
discovery, the chart spec, background jobs, and the ``ddx ui`` command (identity and the
history index: tests/test_ui_identity.py)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import webbrowser
from pathlib import Path
from typing import Any, ClassVar

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from typer.testing import CliRunner

from agent.cli import app, main, ui_cmd
from agent.consult.graph import builder
from agent.consult.session import Answer, ConsultationSession
from agent.context import ConsultContext
from agent.settings import load_settings
from agent.state import CaseIntake
from agent.trace import StopRequested
from retrieval.ddxplus_kb import KnowledgeBase
from ui.benchmarks_view import discover_runs
from ui.charts import differential_chart
from ui.complaint import NONE_OF_THESE, ComplaintOption, complaint_options
from ui.engines import build_engine
from ui.facade import ConsultFacade, Limits, intake_problem
from ui.jobs import JobBoard

RUNS = Path(__file__).parent / "fixtures" / "ui" / "eval-runs"
ENGINE_VARIABLES = ("DDX_DOCTOR", "DDX_DIAGNOSER", "DDX_STRATEGY", "DDX_DOCTOR_DIRECTORY")
ALICE, BOB = "a" * 32, "b" * 32


def memory_session(ctx: ConsultContext) -> ConsultationSession:
    return ConsultationSession(builder.compile(checkpointer=InMemorySaver()), ctx)


def test_finish_now_leaves_the_pending_question_unanswered(mini_context: ConsultContext) -> None:
    session = memory_session(mini_context)
    turn = session.start("a", CaseIntake(age=30, sex="F", findings={"E_1": True}))
    assert turn.question is not None
    turn = session.answer("a", Answer.of_value(False))
    assert turn.question is not None

    done = session.finish_now("a")

    assert done.report is not None
    assert done.report.stop_reason == "finished on request"
    assert [t.code for t in done.report.transcript] == ["E_6"]
    assert StopRequested() in done.trace
    assert session.current("a") == done


@pytest.fixture(autouse=True)
def _no_settings_from_the_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENGINE_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def facade(mini_data_dir: Path, tmp_path: Path) -> ConsultFacade:
    engine = build_engine(load_settings(data_dir=mini_data_dir, state_dir=tmp_path))
    return ConsultFacade(ALICE, engine, Limits(10, 0.95))


def test_the_intake_asks_for_what_is_missing() -> None:
    assert intake_problem(None, None, " ") == (
        "Enter the patient's age, sex and presenting complaint to start."
    )
    assert intake_problem(0, None, "cough") == "Enter the patient's sex to start."
    assert intake_problem(None, "F", "") == (
        "Enter the patient's age and presenting complaint to start."
    )
    assert intake_problem(70, "M", "cough") is None


def test_the_report_download_has_the_patient_and_every_question_with_its_reason(
    facade: ConsultFacade,
) -> None:
    facade.find_complaints("fever", age=30, sex="F")
    complaint = facade.complaints[0]
    facade.start(30, "F", complaint)
    first = facade.question
    assert first is not None
    facade.answer(Answer.of_value(False))
    facade.finish_now()
    report = facade.report
    assert report is not None and (report.age, report.sex) == (30, "F")
    assert report.transcript[0].reason == first.reason and first.reason

    markdown = facade.markdown()
    assert "- **Age:** 30 years" in markdown and "- **Sex:** female" in markdown
    assert f"- **Presenting complaint:** {complaint.label}" in markdown
    assert "## Transcript" in markdown and first.text in markdown and first.reason in markdown
    assert markdown.count("Decision support for learning") == 2  # top and bottom
    html = facade.html()
    assert html.startswith("<!DOCTYPE html>") and "<table>" in html and first.text in html
    assert not any(fetch in html for fetch in ("<link", "<script", "src=", "@import", "url("))


def test_the_facade_opens_only_its_users_consultations(facade: ConsultFacade) -> None:
    facade.find_complaints("fever", age=30, sex="F")
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

    facade.find_complaints("")
    assert facade.error == "Enter the patient's age, sex and presenting complaint to start."
    facade.find_complaints("fever", age=40)
    assert facade.error == "Enter the patient's sex to start." and facade.complaints == []

    facade.find_complaints("zzzz qqqq", age=40, sex="M")
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
    facade.find_complaints("I have a headache", age=30, sex="F")
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
    assert [r["rank"] for r in rows] == list(range(1, 11))  # bars in this order, not by name
    assert spec["encoding"]["y"]["sort"] == {"field": "rank", "op": "min", "order": "ascending"}


class FakeStreamlit:
    """Stands in for the ``streamlit run`` process: records how it was started."""

    started: ClassVar[list[dict[str, Any]]] = []

    def __init__(self, command: list[str], env: dict[str, str], stdin: int) -> None:
        self.started.append({"command": command, "env": env, "stdin": stdin})

    def poll(self) -> None:
        return None

    def wait(self) -> int:
        return 0


@pytest.mark.parametrize(
    ("flag", "display", "opened"),
    [
        ("--browser", ":0", True),
        ("--no-browser", ":0", False),
        ("--browser", "", False),  # no desktop: never a text browser in the log's terminal
    ],
)
def test_ddx_ui_runs_streamlit_headless_and_opens_the_browser_itself(
    monkeypatch: pytest.MonkeyPatch, mini_data_dir: Path, flag: str, display: str, opened: bool
) -> None:
    FakeStreamlit.started = []
    urls: list[str] = []
    monkeypatch.setattr(subprocess, "Popen", FakeStreamlit)
    monkeypatch.setattr(ui_cmd, "wait_until_serving", lambda url, process, timeout: True)
    monkeypatch.setattr(webbrowser, "open", urls.append)
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("DISPLAY", display)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    result = CliRunner().invoke(
        app, ["--data-dir", str(mini_data_dir), "ui", "--port", "8765", flag]
    )

    assert result.exit_code == 0, result.output
    assert "DDx Agent is ready: http://127.0.0.1:8765" in result.output
    assert urls == (["http://127.0.0.1:8765"] if opened else [])
    started = FakeStreamlit.started[0]
    assert started["stdin"] == subprocess.DEVNULL  # nothing can wait on a prompt
    command = started["command"]
    assert command[:4] == [sys.executable, "-m", "streamlit", "run"]
    assert Path(command[4]).is_file() and Path(command[4]).name == "app.py"
    flags = dict(zip(command[5::2], command[6::2], strict=True))
    assert flags["--server.port"] == "8765" and flags["--server.headless"] == "true"
    assert flags["--browser.gatherUsageStats"] == "false"
    assert flags["--client.toolbarMode"] == "minimal"
    assert started["env"]["DDX_DATA_DIR"] == str(mini_data_dir)


def test_the_project_streamlit_config_says_what_ddx_ui_passes() -> None:
    config = Path(__file__).parents[1] / ".streamlit" / "config.toml"
    sections = tomllib.loads(config.read_text(encoding="utf-8"))
    flat = {
        f"{section}.{name}": str(value).lower() if isinstance(value, bool) else str(value)
        for section, values in sections.items()
        for name, value in values.items()
    }
    assert flat == ui_cmd.STREAMLIT_OPTIONS


def test_a_background_job_reports_progress_and_is_done_once_per_key() -> None:
    board = JobBoard()
    calls: list[int] = []

    def work(progress: Any) -> str:
        calls.append(1)
        progress("Embedding", 3, 4)
        return "done"

    job = board.start("k", "Loading", work)
    assert job.wait(10) and job.result == "done" and job.error is None
    assert board.start("k", "Loading", work) is job and calls == [1]
    status = job.status
    assert (status.stage, status.done, status.total, status.fraction) == ("Embedding", 3, 4, 0.75)
    assert status.line().startswith("Embedding: 3 of 4 (")

    def broken(progress: Any) -> str:
        raise ValueError("bad row")

    failed = board.start("f", "Loading", broken)
    assert failed.wait(10) and failed.error == "ValueError: bad row" and failed.result is None
    retried = board.start("f", "Loading", work)
    assert retried is not failed and retried.wait(10) and retried.result == "done"


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
