"""Several-choice questions in the consult page (``ui.consult_view``), rendered alone by AppTest
over a recording stand-in for the facade: a rare-disease checklist on the hand-written HPO
fixture shows one checkbox per term and sends the ticked ids — the same list a pick sent — and
"None of these" / "Don't know" stay one click; a long list keeps the searchable pick."""

from __future__ import annotations

from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from agent.consult.session import PendingQuestion
from retrieval.hpo_kb import HpoKnowledgeBase
from retrieval.hpo_review import checklist_code, choices_of, question_text
from ui.consult_view import CHECKBOX_LIMIT


def page(question: object) -> None:
    """The script AppTest runs (annotations only of builtins: it is run as its own source): the
    answer controls of the PendingQuestion ``question``; each answer the page sends is appended
    to ``sent`` in the session state."""
    from typing import cast

    import streamlit as st

    from agent.consult.session import Answer, PendingQuestion
    from ui.consult_view import _answer_buttons
    from ui.facade import ConsultFacade

    class Recorder:
        error: str | None = None

        def absent_answer(self, _: PendingQuestion) -> list[str]:
            return []

        def answer(self, reply: Answer) -> None:
            st.session_state.setdefault("sent", []).append(reply.as_resume())

    recorder = st.session_state.setdefault("recorder", Recorder())
    if recorder.error:
        st.warning(recorder.error)
        recorder.error = None
    _answer_buttons(cast(ConsultFacade, recorder), cast(PendingQuestion, question))


def question_of(choices: list[tuple[str, str]], code: str = "Q", text: str = "") -> PendingQuestion:
    return PendingQuestion(
        code=code,
        text=text,
        kind="M",
        choices=list(choices),
        reason="reason",
        expected_gain=0.0,
        number=3,
        budget=10,
    )


def open_page(question: PendingQuestion) -> AppTest:
    at = AppTest.from_function(page, kwargs={"question": question})
    at.run()
    assert not at.exception, at.exception
    return at


def click(at: AppTest, label: str) -> list[dict[str, Any]]:
    """Click the answer button ``label``; the answers sent so far."""
    [button] = [b for b in at.button if b.label == label]
    button.click()
    at.run()
    assert not at.exception, at.exception
    return list(at.session_state["sent"]) if "sent" in at.session_state else []


@pytest.fixture
def checklist(mini_hpo_kb: HpoKnowledgeBase) -> PendingQuestion:
    """A checklist over the fixture's five annotated terms, as the reasoner asks it."""
    terms = [mini_hpo_kb.term_index(f"HP:{n:07d}") for n in (1166, 252, 256, 1250, 1251)]
    code = checklist_code(mini_hpo_kb, terms)
    return question_of(choices_of(mini_hpo_kb, code), code, question_text(mini_hpo_kb, code))


def test_a_checklist_shows_one_checkbox_per_term_and_sends_the_ticked_ids(
    checklist: PendingQuestion,
) -> None:
    at = open_page(checklist)
    assert [box.label for box in at.checkbox] == [label for label, _ in checklist.choices]
    assert not at.multiselect and not any(box.value for box in at.checkbox)
    assert [b.label for b in at.button] == ["Answer", "None of these", "Don't know"]

    assert click(at, "Answer") == []  # nothing ticked: explained, nothing sent
    assert any(w.value.startswith("Tick what applies first") for w in at.warning)

    at.checkbox[3].check()
    at.checkbox[0].check()
    at.run()
    assert [b.label for b in at.button if b.disabled] == ["None of these"]  # it would contradict
    assert click(at, "Answer") == [{"value": ["HP:0001166", "HP:0001250"]}]  # question order


def test_none_of_these_and_dont_know_are_one_click_on_a_checklist(
    checklist: PendingQuestion,
) -> None:
    at = open_page(checklist)
    assert not any(b.disabled for b in at.button)
    assert click(at, "None of these") == [{"value": []}]
    assert click(at, "Don't know") == [{"value": []}, {"value": None}]


def test_a_long_list_keeps_the_searchable_pick() -> None:
    places = [(f"place {n}", f"V_{n}") for n in range(CHECKBOX_LIMIT + 1)]
    at = open_page(question_of(places))
    assert not at.checkbox and at.multiselect[0].options == [label for label, _ in places]
    at.multiselect[0].set_value(["place 2", "place 0"])
    at.run()
    assert click(at, "Answer") == [{"value": ["V_2", "V_0"]}]


def test_up_to_the_limit_checkboxes_run_down_two_columns() -> None:
    signs = [(f"sign {n}", f"V_{n}") for n in range(CHECKBOX_LIMIT)]
    at = open_page(question_of(signs))
    assert len(at.checkbox) == CHECKBOX_LIMIT and not at.multiselect
    half = CHECKBOX_LIMIT // 2
    left, right = at.columns[0], at.columns[1]  # the checkboxes' columns come first
    assert [box.label for box in left.checkbox] == [label for label, _ in signs[:half]]
    assert [box.label for box in right.checkbox] == [label for label, _ in signs[half:]]
