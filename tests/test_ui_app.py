"""The Streamlit app driven through its real script with AppTest, on the mini knowledge base:
a whole consultation, the history across restarts and users, the benchmarks page, settings."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from agent.trace import AnswerGiven
from tests.test_ui_parts import ENGINE_VARIABLES
from ui.facade import ConsultFacade
from ui.state import FACADE_KEY

APP = Path(__file__).parents[1] / "ui" / "app.py"
RUNS = Path(__file__).parent / "fixtures" / "ui" / "eval-runs"
TIMEOUT = 120  # the first complaint loads the sentence encoder (once per process)


@pytest.fixture
def app_env(monkeypatch: pytest.MonkeyPatch, mini_data_dir: Path, tmp_path: Path) -> Path:
    """The app's environment: the mini knowledge base and a fresh state folder."""
    monkeypatch.setenv("DDX_DATA_DIR", str(mini_data_dir))
    monkeypatch.setenv("DDX_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DDX_RUNS_DIR", str(RUNS))
    for name in ("DDX_MAX_QUESTIONS", "DDX_CONFIDENCE_THRESHOLD", *ENGINE_VARIABLES):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def open_app(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params.update(query or {})
    at.run()
    assert not at.exception, at.exception
    return at


def click(at: AppTest, label: str) -> AppTest:
    matches = [b for b in at.button if b.label == label]
    assert matches, f"no button {label!r} among {[b.label for b in at.button]}"
    matches[0].click()
    at.run()
    assert not at.exception, at.exception
    return at


def start(
    at: AppTest,
    complaint: str = "fever",
    expected: str = "a fever: yes",
    age: int = 30,
    sex: str = "F",
) -> AppTest:
    at.number_input(key="intake_age").set_value(age)
    at.radio(key="intake_sex").set_value(sex)
    at.text_input(key="intake_text").input(complaint)
    click(at, "Find the complaint")
    assert at.radio(key="pick").options[0] == expected
    return click(at, "Start consultation")


def question_text(at: AppTest) -> str:
    return str(at.subheader[0].value)


def progress_text(at: AppTest) -> str:
    return str(at.get("progress")[0].proto.text)


def charts(at: AppTest) -> int:
    return len(at.get("vega_lite_chart"))


def facade_of(at: AppTest) -> ConsultFacade:
    facade = at.session_state[FACADE_KEY]
    assert isinstance(facade, ConsultFacade)
    return facade


def test_a_whole_consultation_by_buttons_and_by_text(app_env: Path) -> None:
    at = open_app()
    user = at.query_params["user"]
    assert len(user) == 32

    start(at)
    first = question_text(at)
    assert progress_text(at) == "Question 1 of 10"
    assert any(c.value.startswith("Why this question: It ") for c in at.caption)
    assert charts(at) == 1
    before = list(facade_of(at).differential)

    click(at, "No")
    assert progress_text(at) == "Question 2 of 10"
    assert question_text(at) != first
    assert facade_of(at).differential != before  # the chart's data moved with the answer

    at.text_input(key="typed_answer").input("no")
    click(at, "Send")
    assert progress_text(at) == "Question 3 of 10"

    click(at, "Finish now")
    assert [s.value for s in at.subheader] == ["Report"]
    assert any("stopped: finished on request" in m.value for m in at.markdown)
    assert any(m.value.startswith("**Patient:** 30 years, female") for m in at.markdown)
    report = facade_of(at).report
    assert report is not None
    assert len(report.transcript) == 2  # the question left open is not in the transcript
    assert report.transcript[0].question == first and report.transcript[0].value is False
    assert at.expander[0].label.startswith(report.differential[0].name)
    assert {"**For**", "**Against**"} <= {m.value for m in at.markdown}
    runner_up = report.differential[1].name
    assert f"Compared with {runner_up}" in {c.value for c in at.caption}
    assert not any("nothing in particular" in c.value for c in at.caption)
    downloads = [d.proto.label for d in at.get("download_button")]
    assert downloads == ["Download the report (Markdown)", "Printable report (HTML)"]
    assert "# Differential diagnosis report" in facade_of(at).markdown()
    transcript = at.table[0].value
    assert list(transcript.columns) == ["question", "answer", "why it was asked"]
    assert transcript["why it was asked"][0].startswith("It ")
    assert at.query_params["user"] == user


def test_a_typed_answer_that_does_not_fit_is_explained(app_env: Path) -> None:
    at = start(open_app())
    first = question_text(at)

    at.text_input(key="typed_answer").input("maybe later")
    click(at, "Send")

    assert question_text(at) == first
    assert any("yes, no, or don't know" in w.value for w in at.warning)


def findings_of(at: AppTest) -> dict[str, object]:
    """The answers recorded so far, as the session's trace gives them to the app."""
    turn = facade_of(at).turn
    assert turn is not None
    return {e.code: e.value for e in turn.trace if isinstance(e, AnswerGiven)}


def test_a_choice_question_offers_one_button_per_choice(app_env: Path) -> None:
    at = start(open_app(), complaint="pain", expected="pain somewhere: yes")
    assert question_text(at) == "Have you traveled out of the country recently?"
    labels = [b.label for b in at.main.button]
    assert labels[:4] == ["Africa", "Asia", "None of these", "Don't know"]

    click(at, "Asia")

    assert findings_of(at)["E_7"] == "V_21"
    now = facade_of(at).question
    assert now is None or now.code != "E_7"


def test_none_of_these_records_the_absent_value(app_env: Path) -> None:
    at = start(open_app(), complaint="pain", expected="pain somewhere: yes")
    click(at, "None of these")
    assert findings_of(at)["E_7"] == "V_10"


def test_urgent_conditions_raise_a_banner(app_env: Path) -> None:
    at = start(open_app())

    urgent = facade_of(at).urgent
    assert urgent == ["Pneumonia"]  # severity 2 in the fixture, and not ruled out by a fever
    assert any(e.value.startswith("Urgent: Pneumonia") for e in at.error)


def test_a_consultation_resumes_after_a_restart_and_only_for_its_user(app_env: Path) -> None:
    first = start(open_app())
    click(first, "No")
    user, thread = first.query_params["user"], first.query_params["consultation"]
    waiting = question_text(first)

    # The app restarts: nothing cached survives (a new engine and checkpoint connection), and
    # the browser comes back with the same URL as a new session.
    engine = facade_of(first).engine
    st.cache_resource.clear()
    again = open_app({"user": user, "consultation": thread})
    assert facade_of(again).engine is not engine
    assert question_text(again) == waiting
    assert progress_text(again) == "Question 2 of 10"

    # Same user without the consultation in the URL: the sidebar lists it; a click reopens it.
    listed = open_app({"user": user})
    assert [s.value for s in listed.subheader] == ["New consultation"]
    item = [b for b in listed.sidebar.button if b.label.endswith("a fever: yes")]
    assert len(item) == 1 and item[0].label.startswith("… 30 y F")
    item[0].click()
    listed.run()
    assert question_text(listed) == waiting

    # Another browser session: a fresh user who sees nothing, even given the thread id.
    stranger = open_app({"consultation": thread})
    assert stranger.query_params["user"] != user
    assert [s.value for s in stranger.subheader] == ["New consultation"]
    assert not [b for b in stranger.sidebar.button if "fever" in b.label]
    assert "None yet." in [c.value for c in stranger.sidebar.caption]


def test_the_history_page_lists_and_reopens(app_env: Path) -> None:
    at = start(open_app())
    click(at, "Finish now")
    at.switch_page("screens/history.py").run()
    assert not at.exception
    assert any("finished" in m.value and "a fever: yes" in m.value for m in at.markdown)
    click(at, "Open")
    assert [s.value for s in at.subheader] == ["Report"]


def test_the_knowledge_base_loads_once_per_process(app_env: Path) -> None:
    one, two = open_app(), open_app()
    assert facade_of(one) is not facade_of(two)
    assert facade_of(one).engine is facade_of(two).engine


def test_the_sidebar_lists_a_consultation_as_soon_as_it_starts(app_env: Path) -> None:
    at = start(open_app())
    assert [b.label for b in at.sidebar.button if "fever" in b.label] == [
        "**… 30 y F · a fever: yes** (open)"
    ]
    click(at, "Finish now")
    assert [b.label for b in at.sidebar.button if "fever" in b.label] == [
        "**✓ 30 y F · a fever: yes** (open)"
    ]


def reach(at: AppTest, code: str) -> AppTest:
    """Answer "Don't know" until the question about ``code`` comes."""
    for _ in range(12):
        question = facade_of(at).question
        assert question is not None, f"finished before {code}"
        if question.code == code:
            return at
        click(at, "Don't know")
    raise AssertionError(f"{code} was not asked")


@pytest.fixture
def long_consultations(app_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DDX_MAX_QUESTIONS", "20")
    monkeypatch.setenv("DDX_CONFIDENCE_THRESHOLD", "1.0")  # never stop for confidence


def test_a_several_choice_question_is_answered_with_checkboxes(long_consultations: None) -> None:
    at = reach(start(open_app(), complaint="pain", expected="pain somewhere: yes"), "E_4")
    assert [box.label for box in at.checkbox] == ["chest", "throat", "head"]  # "Where is...?"
    click(at, "Answer")  # nothing ticked yet: explained, not sent
    assert any(w.value.startswith("Tick what applies first") for w in at.warning)

    at.checkbox[2].check()
    at.checkbox[0].check()
    click(at, "Answer")

    assert findings_of(at)["E_4"] == ["V_1", "V_3"]


def test_a_scale_question_is_answered_with_a_slider(long_consultations: None) -> None:
    at = start(open_app(), complaint="pain", expected="pain somewhere: yes")
    click(reach(at, "E_4"), "Don't know")
    reach(at, "E_5")  # "How intense is the pain?", 0-10

    at.select_slider[0].set_value(7)
    click(at, "Answer")

    assert findings_of(at)["E_5"] == 7
