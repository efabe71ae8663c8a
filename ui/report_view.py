"""The final report: differential, findings for and against, sources, transcript, download."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from agent.report import FinalReport
from agent.roles import ConditionExplanation
from ui.charts import differential_chart
from ui.facade import ConsultFacade


def render_report(facade: ConsultFacade) -> None:
    report = facade.report
    assert report is not None, "render_report is called only once the consultation finished"
    st.subheader("Report", anchor=False)
    st.caption(
        f"{_count(report.questions_asked, 'question')} asked; stopped: {report.stop_reason}."
    )
    chart, details = st.columns([2, 3], gap="large")
    with chart:
        st.markdown("**Differential diagnosis**")
        st.vega_lite_chart(differential_chart(facade.differential, report.urgent), width="stretch")
    with details:
        for i, explanation in enumerate(report.explanations):
            _render_explanation(explanation, expanded=i == 0)
        if report.rationale:  # an LLM diagnoser's own reasoning; the engine writes none
            st.markdown("**Rationale**")
            st.text(report.rationale)
    _render_sources(report, facade.engine.notes)
    _render_doctors(report)
    with st.expander(f"Transcript ({_count(len(report.transcript), 'answer')})"):
        st.table(
            [{"question": t.question, "answer": t.answer} for t in report.transcript]
            or [{"question": "—", "answer": "no question was asked"}]
        )
    left, right = st.columns(2)
    left.download_button(
        "Download the report (Markdown)",
        data=facade.markdown(),
        file_name=f"ddx-report-{(facade.thread_id or 'consultation')[:8]}.md",
        mime="text/markdown",
        on_click="ignore",
        type="primary",
    )
    right.button("New consultation", on_click=facade.close)
    st.caption(report.disclaimer)


def _render_explanation(exp: ConditionExplanation, expanded: bool) -> None:
    flag = " · :red[urgent]" if exp.urgent else ""
    title = f"{exp.name} — {exp.probability:.1%}{flag}"
    with st.expander(title, expanded=expanded):
        st.caption(f"ICD-10 {exp.icd10 or '—'} · severity {exp.severity} (1 = most severe)")
        pro, con = st.columns(2)
        pro.markdown("**For**")
        for effect in exp.raised_by:
            pro.markdown(f"- {effect.statement}")
        if not exp.raised_by:
            pro.caption("nothing in particular")
        con.markdown("**Against**")
        for effect in exp.lowered_by:
            con.markdown(f"- {effect.statement}")
        if not exp.lowered_by:
            con.caption("nothing in particular")


def _render_sources(report: FinalReport, notes: Sequence[str]) -> None:
    st.markdown("**Cited knowledge**")
    if not report.passages:
        why = "; ".join(notes) or "nothing retrieved for these candidates"
        st.caption(f"No passages: {why}.")
        return
    for passage in report.passages:
        with st.expander(f"[{passage.doc_id}] {passage.title}"):
            st.markdown(passage.text)
            st.caption(f"Source: {passage.source} · score {passage.score:.2f}")


def _render_doctors(report: FinalReport) -> None:
    if not report.doctors:
        return
    st.markdown(f"**Doctors for {report.doctors_for}**")
    for i, doctor in enumerate(report.doctors, start=1):
        with st.expander(f"{i}. {doctor.headline}"):
            if doctor.criteria_met:
                st.markdown("Meets: " + ", ".join(doctor.criteria_met))
            for line in doctor.evidence:
                st.caption(line)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
