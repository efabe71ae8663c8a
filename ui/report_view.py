"""The final report on screen: patient, differential with explanations (and, for rare
diseases, OMIM / ORPHA identifiers as links), transcript with why each question was asked,
sources, doctors with what their profile shows, downloads (Markdown, printable HTML)."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from agent.report import FinalReport, consider_line
from agent.roles import ConditionExplanation, FindingEffect
from ui.charts import differential_chart
from ui.facade import ConsultFacade

SEXES = {"M": "male", "F": "female"}
HEADINGS = {
    "ddxplus": ("For", "Against", "Not yet asked"),
    "hpo": (
        "For it (matching phenotypes first)",
        "Against it",
        "Missing: typical phenotypes not reported",
    ),
}


def render_report(facade: ConsultFacade) -> None:
    report = facade.report
    assert report is not None, "render_report is called only once the consultation finished"
    st.subheader("Report", anchor=False)
    summary = facade.summary()
    age = f"{report.age} years" if report.age is not None else "age not given"
    st.markdown(
        f"**Patient:** {age}, {SEXES.get(report.sex or '', 'sex not given')} · "
        f"**Presenting:** {summary.complaint or '—'}  \n"
        f"{summary.knowledge} · {_count(report.questions_asked, 'question')} asked · "
        f"stopped: {report.stop_reason}."
    )
    rare = facade.knowledge == "hpo"
    chart, details = st.columns([1, 1] if rare else [2, 3], gap="large")
    with chart:
        st.markdown("**Differential diagnosis**")
        spec = differential_chart(
            facade.differential, report.urgent, label_limit=200 if rare else 260
        )
        st.vega_lite_chart(spec, width="stretch")
        if report.differential_list:
            st.markdown("**Consider**")
            st.caption(consider_line(report))
    references = facade.references()
    with details:
        for i, explanation in enumerate(report.explanations):
            ids = references.get(explanation.name, [])
            _render_explanation(explanation, HEADINGS[facade.knowledge], ids, expanded=i == 0)
        if report.rationale:  # an LLM diagnoser's own reasoning; the engine writes none
            st.markdown("**Rationale**")
            st.text(report.rationale)
    _render_transcript(report)
    if facade.knowledge == "ddxplus":  # the rare-disease consultation cites no index
        _render_sources(report, facade.engine.notes)
    _render_doctors(report)
    _render_downloads(facade)
    st.caption(report.disclaimer)


def _render_explanation(
    exp: ConditionExplanation,
    headings: tuple[str, str, str],
    ids: Sequence[tuple[str, str]],
    expanded: bool,
) -> None:
    flag = " · :red[urgent]" if exp.urgent else ""
    with st.expander(f"{exp.name} — {exp.probability:.1%}{flag}", expanded=expanded):
        if ids:
            st.markdown(" · ".join(f"[{ident}]({url})" for ident, url in ids))
        elif exp.icd10 or exp.severity:
            icd = exp.icd10.upper() or "—"  # the DDXPlus release mixes "a15" and "J02.9"
            st.caption(f"ICD-10 {icd} · severity {exp.severity} (1 = most severe)")
        if exp.compared_with:
            st.caption(f"Compared with {exp.compared_with}")
        if exp.note:
            st.caption(exp.note)
        pro, con = st.columns(2)
        present_first = sorted(exp.raised_by, key=lambda e: e.present is False)
        for column, heading, effects, side in (
            (pro, headings[0], present_first, "for"),
            (con, headings[1], exp.lowered_by, "against"),
        ):
            column.markdown(f"**{heading}**")
            for effect in effects:
                column.markdown(f"- {_emphasised(effect)}")
            if not effects and not exp.note:
                column.caption(f"no answer so far speaks {side} it")
        if exp.not_yet_asked:
            st.markdown(f"**{headings[2]}:** " + "; ".join(exp.not_yet_asked))


def _emphasised(effect: FindingEffect) -> str:
    """The statement with its answer in bold, so the eye finds the findings before the rates."""
    finding = effect.finding
    if finding and effect.statement.startswith(finding):
        return f"**{finding}**{effect.statement[len(finding) :]}"
    return effect.statement


def _render_transcript(report: FinalReport) -> None:
    with st.expander(f"Transcript ({_count(len(report.transcript), 'answer')})", expanded=True):
        st.table(
            [
                {"question": t.question, "answer": t.answer, "why it was asked": t.reason}
                for t in report.transcript
            ]
            or [{"question": "—", "answer": "no question was asked", "why it was asked": ""}]
        )


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


def _render_downloads(facade: ConsultFacade) -> None:
    stem = f"ddx-report-{(facade.thread_id or 'consultation')[:8]}"
    left, middle, right = st.columns(3)
    left.download_button(
        "Download the report (Markdown)",
        data=facade.markdown(),
        file_name=f"{stem}.md",
        mime="text/markdown",
        on_click="ignore",
        type="primary",
    )
    middle.download_button(
        "Printable report (HTML)",
        data=facade.html(),
        file_name=f"{stem}.html",
        mime="text/html",
        on_click="ignore",
        help="Open it in the browser and print it, or save it as PDF.",
    )
    right.button("New consultation", on_click=facade.close)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
