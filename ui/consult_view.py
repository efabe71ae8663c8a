"""The consult page: the knowledge to use, the intake, then one question at a time with the
differential beside it, then the report.

Every action is a widget callback on the facade, so the page that renders after a click
already shows the new question and differential (one script run per click).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import streamlit as st

from agent.consult.session import Answer, PendingQuestion
from agent.report import DISCLAIMER
from retrieval.ddxplus_kb import Value
from retrieval.findings import FindingValue
from ui.charts import differential_chart
from ui.engines import KNOWLEDGE_LABELS, Knowledge
from ui.facade import ConsultFacade
from ui.intake_fields import demographics, render_demographics
from ui.progress_view import wait_for
from ui.rare_view import render_rare_intake
from ui.report_view import render_report
from ui.state import choose_knowledge, current_settings, rare_job

COMPLAINT_KEY, PICK_KEY = "intake_text", "pick"
TYPED_KEY, KNOWLEDGE_KEY = "typed_answer", "knowledge"
CHECKBOX_LIMIT = 16
"""A several-choice question with at most this many choices (a rare-disease checklist of 8
terms, DDXPlus's "Characterize your pain" with 16) shows one checkbox per choice, all read at
a glance; a longer list (the review of systems' ~25 branches, DDXPlus's 165 body places) stays
a pick that filters as you type."""
CHECKBOX_COLUMN = 8
"""Checkboxes per column: more choices than this are laid out in two columns."""


def render(facade: ConsultFacade) -> None:
    st.title("Consult")
    st.caption(DISCLAIMER)
    # Fixed slots, filled or not, so the elements below keep their place between runs and the
    # browser updates them in place instead of redrawing the page.
    notice, banner = st.container(), st.container()
    if facade.error:
        notice.warning(facade.error)
    if facade.urgent:
        banner.error(
            f"Urgent: {', '.join(facade.urgent)} cannot be ruled out (severe condition with "
            "real probability). Consider immediate assessment.",
            icon=":material/emergency:",
        )
    if facade.knowledge == "hpo" and facade.rare is None:
        if facade.waiting_for is None:
            _render_knowledge(facade)
        wait_for(rare_job(current_settings()))
    elif facade.report is not None:
        render_report(facade)
    elif facade.question is not None:
        _render_question(facade, facade.question)
    else:
        _render_knowledge(facade)
        if facade.knowledge == "hpo":
            render_rare_intake(facade)
        else:
            _render_intake(facade)


# -- intake -----------------------------------------------------------------------------------


def _render_knowledge(facade: ConsultFacade) -> None:
    st.subheader("New consultation", anchor=False)
    st.session_state[KNOWLEDGE_KEY] = facade.knowledge
    st.segmented_control(
        "Knowledge",
        list(KNOWLEDGE_LABELS),
        format_func=lambda k: KNOWLEDGE_LABELS[k].split(" (")[0],
        key=KNOWLEDGE_KEY,
        on_change=_choose,
        help="; ".join(KNOWLEDGE_LABELS.values()),
    )


def _choose() -> None:
    picked: Knowledge | None = st.session_state.get(KNOWLEDGE_KEY)
    if picked is not None:
        choose_knowledge(picked)


def _render_intake(facade: ConsultFacade) -> None:
    with st.form("intake"):
        render_demographics()
        st.text_input(
            "Presenting complaint", placeholder="e.g. fever, chest pain, cough", key=COMPLAINT_KEY
        )
        st.form_submit_button(
            "Find the complaint", type="primary", on_click=_find_complaints, args=(facade,)
        )
    if facade.complaints:
        labels = [option.label for option in facade.complaints]
        st.radio("Which of these did you mean?", labels, index=0, key=PICK_KEY)
        st.button("Start consultation", type="primary", on_click=_start, args=(facade,))


def _find_complaints(facade: ConsultFacade) -> None:
    facade.find_complaints(str(st.session_state.get(COMPLAINT_KEY) or ""), *demographics())


def _start(facade: ConsultFacade) -> None:
    labels = [option.label for option in facade.complaints]
    picked = st.session_state.get(PICK_KEY)
    option = facade.complaints[labels.index(picked)] if picked in labels else None
    if option is None:
        facade.error = "Pick one of the complaints first."
        return
    facade.start(*demographics(), option)


# -- one question -----------------------------------------------------------------------------


def _render_question(facade: ConsultFacade, question: PendingQuestion) -> None:
    # Rare diseases have long names: their chart gets half the width.
    ask, chart = st.columns([1, 1] if facade.knowledge == "hpo" else [3, 2], gap="large")
    with ask:
        done = (question.number - 1) / question.budget if question.budget else 0.0
        st.progress(min(done, 1.0), text=f"Question {question.number} of {question.budget}")
        st.subheader(question.text, anchor=False)
        st.caption(f"Why this question: {question.reason}")
        if question.error:
            st.warning(question.error)
        _answer_buttons(facade, question)
        with st.form("typed", clear_on_submit=True, border=False):
            st.text_input("…or type the answer", key=TYPED_KEY, placeholder="yes / no / 2, 3")
            st.form_submit_button("Send", on_click=_send_typed, args=(facade,))
        st.button(
            "Finish now", on_click=facade.finish_now, help="Write the report from what is known."
        )
    with chart:
        st.markdown("**Current differential**")
        st.vega_lite_chart(differential_chart(facade.differential, facade.urgent), width="stretch")


def _answer_buttons(facade: ConsultFacade, question: PendingQuestion) -> None:
    """One click per answer: yes / no / don't know, a button per choice, or a pick for
    scales and several-choice questions (checkboxes when the choices are few)."""
    absent = facade.absent_answer(question)
    values = [value for _, value in question.choices]
    options: list[tuple[str, Choice]]
    if question.kind == "B":
        options = [("Yes", True), ("No", False)]
    elif values and all(isinstance(v, int) for v in values):
        key = f"scale-{question.number}"
        st.select_slider("How much, from 0 to 10?", options=values, key=key)
        options = [("Answer", WidgetPick(key, {}))]
    elif question.kind == "M" and len(question.choices) <= CHECKBOX_LIMIT:
        options = [("Answer", _checkboxes(question)), ("None of these", absent)]
    elif question.kind == "M":
        key = f"multi-{question.number}"
        st.multiselect("Pick all that apply", [label for label, _ in question.choices], key=key)
        options = [("Answer", WidgetPick(key, dict(question.choices))), ("None of these", absent)]
    else:
        options = [*question.choices, ("None of these", absent)]
    options.append(("Don't know", None))
    # Signs ticked: "None of these" would contradict them, so it waits until they are unticked.
    ticked = any(isinstance(c, TickedPick) and c.read() is not None for _, c in options)
    for column, (label, choice) in zip(st.columns(len(options)), options, strict=True):
        column.button(
            label,
            key=f"answer-{label}",
            on_click=_reply,
            args=(facade, choice),
            width="stretch",
            disabled=ticked and label == "None of these",
        )


@dataclass(frozen=True)
class WidgetPick:
    """An answer read from a widget when its button is clicked: a scale point (``labels``
    empty) or the values of the labels picked in a multiselect."""

    key: str
    labels: dict[str, Value]
    nothing_picked: ClassVar[str] = "Pick an answer first, or click Don't know."

    def read(self) -> FindingValue:
        picked = st.session_state.get(self.key)
        if not self.labels:
            return picked if isinstance(picked, int) else None
        return [self.labels[label] for label in picked or []] or None


@dataclass(frozen=True)
class TickedPick:
    """An answer read from checkboxes when its button is clicked: the values ticked, in the
    question's order (the same list a multiselect pick gives)."""

    boxes: tuple[tuple[str, Value], ...]
    """(widget key, value) per checkbox."""
    nothing_picked: ClassVar[str] = "Tick what applies first, or click None of these or Don't know."

    def read(self) -> FindingValue:
        return [value for key, value in self.boxes if st.session_state.get(key)] or None


def _checkboxes(question: PendingQuestion) -> TickedPick:
    boxes = tuple(
        (f"tick-{question.number}-{index}", value)
        for index, (_, value) in enumerate(question.choices)
    )
    with st.container(border=True):
        columns = st.columns(1 if len(boxes) <= CHECKBOX_COLUMN else 2)
        rows = -(-len(boxes) // len(columns))  # top to bottom, then the next column
        for index, ((label, _), (key, _)) in enumerate(zip(question.choices, boxes, strict=True)):
            columns[index // rows].checkbox(label, key=key)
    return TickedPick(boxes)


Choice = FindingValue | WidgetPick | TickedPick


def _reply(facade: ConsultFacade, choice: Choice) -> None:
    if isinstance(choice, TickedPick | WidgetPick):
        value = choice.read()
        if value is None:
            facade.error = choice.nothing_picked
            return
        facade.answer(Answer.of_value(value))
    else:
        facade.answer(Answer.of_value(choice))


def _send_typed(facade: ConsultFacade) -> None:
    text = str(st.session_state.get(TYPED_KEY) or "").strip()
    if text:
        facade.answer(Answer.of_text(text))
