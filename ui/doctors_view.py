"""The doctors page: a patient's need in, ranked doctors out, each with the criteria their
profile meets and the text that shows it (``retrieval.doctors``, after DrRank)."""

from __future__ import annotations

import streamlit as st

from agent.errors import DdxError
from retrieval.doctors.rankers import Ranking
from retrieval.doctors.recommend import DEFAULT_TOP, DoctorRecommender
from ui.facade import ConsultFacade

NEED_KEY, TOP_KEY, RESULT_KEY = "doctor_need", "doctor_top", "doctor_ranking"


def _recommender(facade: ConsultFacade) -> DoctorRecommender:
    """The engine's own recommender: loaded (with its progress bar) with the settings that
    name the directory, once per process."""
    finder = facade.engine.context.doctor_finder
    if not isinstance(finder, DoctorRecommender):
        raise DdxError("The doctor directory is still loading; try again in a moment.")
    return finder


def render_doctors_page(facade: ConsultFacade) -> None:
    st.title("Doctors")
    settings = facade.engine.settings
    if settings.doctor_directory is None:
        st.info(
            "No doctor directory is configured: set one on the Settings page (or "
            "DDX_DOCTOR_DIRECTORY before starting the app). To try it out, "
            "`ddx doctors synth --n 50 --out runs/syn.jsonl` writes a SYNTHETIC directory "
            "(invented profiles) as runs/syn.directory.jsonl."
        )
        return
    st.caption(f"Directory: {settings.doctor_directory}")
    with st.form("need"):
        st.text_area(
            "What does the patient need?", value=_suggested_need(facade), key=NEED_KEY, height=80
        )
        st.number_input("How many doctors", 1, 20, DEFAULT_TOP, key=TOP_KEY)
        st.form_submit_button("Rank doctors", type="primary", on_click=_rank, args=(facade,))
    result = st.session_state.get(RESULT_KEY)
    if isinstance(result, str):
        st.error(result)
    elif isinstance(result, Ranking):
        _render_ranking(result)


def _suggested_need(facade: ConsultFacade) -> str:
    report = facade.report
    if report is not None and report.differential:
        return f"a doctor treating {report.differential[0].name}"
    return ""


def _rank(facade: ConsultFacade) -> None:
    need = str(st.session_state.get(NEED_KEY) or "").strip()
    if not need:
        st.session_state[RESULT_KEY] = "Describe the need first, e.g. 'a doctor treating asthma'."
        return
    try:
        recommender = _recommender(facade)
        top = int(st.session_state.get(TOP_KEY) or DEFAULT_TOP)
        st.session_state[RESULT_KEY] = recommender.rank(need, top=top)
    except DdxError as exc:
        st.session_state[RESULT_KEY] = str(exc)


def _render_ranking(ranking: Ranking) -> None:
    with st.expander(f"Criteria ({ranking.criteria.source})"):
        for line in ranking.criteria.describe():
            st.markdown(f"- {line}")
    st.caption(
        f"{len(ranking.doctors)} of {ranking.candidates} candidates · ranker {ranking.ranker}"
    )
    for doctor in ranking.doctors:
        met = [e for e in doctor.rationale if e.met]
        with st.expander(
            f"{doctor.rank}. {doctor.profile.headline()} — score {doctor.score:.2f}",
            expanded=doctor.rank == 1,
        ):
            for evidence in met:
                st.markdown(f"**{evidence.key}** ({evidence.criterion}): {evidence.evidence}")
            if not met:
                st.caption("Meets none of the criteria clearly.")
