"""This user's consultations: the sidebar list and the history page. Opening one resumes it."""

from __future__ import annotations

import time

import streamlit as st

from agent.report import DISCLAIMER
from ui.facade import ConsultFacade
from ui.history_store import ConsultationEntry

CONSULT_PAGE = "pages/consult.py"
SIDEBAR_ITEMS = 8


def render_sidebar(facade: ConsultFacade | None) -> None:
    with st.sidebar:
        if facade is not None:
            if st.button(
                "New consultation", icon=":material/add:", width="stretch", on_click=facade.close
            ):
                st.switch_page(CONSULT_PAGE)
            entries = facade.history()
            st.markdown("**Your consultations**")
            if not entries:
                st.caption("None yet.")
            for entry in entries[:SIDEBAR_ITEMS]:
                _open_button(facade, entry, in_sidebar=True)
            st.caption(
                "Your consultations are tied to this page's address: bookmark it to find them "
                "again."
            )
        st.caption(f":material/warning: {DISCLAIMER}")


def render_history_page(facade: ConsultFacade) -> None:
    st.title("History")
    entries = facade.history()
    if not entries:
        st.info("No consultations yet: start one on the Consult page.")
        return
    for entry in entries:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(entry.updated))
        status = "finished" if entry.finished else "in progress"
        left, right = st.columns([4, 1], vertical_alignment="center")
        left.markdown(
            f"**{entry.title}**  \n{status} · {entry.questions} questions · "
            f"{entry.leading or '—'} · {when}"
        )
        with right:
            _open_button(facade, entry, in_sidebar=False)


def _open_button(facade: ConsultFacade, entry: ConsultationEntry, in_sidebar: bool) -> None:
    mark = "✓" if entry.finished else "…"
    label = f"{mark} {entry.title}" if in_sidebar else ("Open" if entry.finished else "Resume")
    if in_sidebar and entry.thread_id == facade.thread_id:
        label = f"**{label}** (open)"
    clicked = st.button(
        label,
        key=f"open-{'side' if in_sidebar else 'page'}-{entry.thread_id}",
        help=f"{entry.leading or 'no differential yet'} · {entry.questions} questions",
        width="stretch",
        on_click=_open,
        args=(facade, entry.thread_id),
    )
    if clicked:
        st.switch_page(CONSULT_PAGE)


def _open(facade: ConsultFacade, thread_id: str) -> None:
    if not facade.open(thread_id):
        facade.error = facade.error or "That consultation is no longer available."
