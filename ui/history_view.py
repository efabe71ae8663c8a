"""The sidebar (page links, this user's consultations, what is loading) and the history page.
Opening a consultation resumes it; every link keeps the user in the address."""

from __future__ import annotations

import time

import streamlit as st

from agent.report import DISCLAIMER
from ui.engines import KNOWLEDGE_LABELS
from ui.facade import ConsultFacade
from ui.history_store import ConsultationEntry
from ui.identity import USER_COOKIE, remember_script
from ui.nav import CONSULT, render_links, switch_to
from ui.progress_view import render_background_status
from ui.state import session_user

SIDEBAR_ITEMS = 8
REMEMBERED_KEY = "ddx_cookie_written"


def render_sidebar(facade: ConsultFacade | None) -> None:
    user = session_user()
    with st.sidebar:
        render_links(user, _open_thread(facade))
        st.divider()
        render_background_status()
        if facade is not None:
            if st.button(
                "New consultation", icon=":material/add:", width="stretch", on_click=facade.close
            ):
                switch_to(CONSULT, user, None)
            entries = facade.history()
            st.markdown("**Your consultations**")
            if not entries:
                st.caption("None yet.")
            for entry in entries[:SIDEBAR_ITEMS]:
                _open_button(facade, entry, in_sidebar=True)
            st.caption(
                "Kept for this browser and this page's address: bookmark it to reach them "
                "from another browser."
            )
        st.caption(f":material/warning: {DISCLAIMER}")
        _remember_user(user)


def _open_thread(facade: ConsultFacade | None) -> str | None:
    return (facade.thread_id or facade.waiting_for) if facade is not None else None


def _remember_user(user: str) -> None:
    """Store the user id in this browser's cookie, once per session, unless it is there."""
    if st.session_state.get(REMEMBERED_KEY) == user:
        return
    if dict(st.context.cookies).get(USER_COOKIE) != user:
        st.html(remember_script(user), unsafe_allow_javascript=True, width="content")
    st.session_state[REMEMBERED_KEY] = user


def render_history_page(facade: ConsultFacade) -> None:
    st.title("History")
    entries = facade.history()
    if not entries:
        st.info("No consultations yet: start one on the Consult page.")
        return
    for entry in entries:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(entry.updated))
        status = "finished" if entry.finished else "in progress"
        kind = "rare diseases" if entry.knowledge == "hpo" else "common conditions"
        left, right = st.columns([4, 1], vertical_alignment="center")
        left.markdown(
            f"**{entry.title}**  \n{status} · {kind} · {entry.questions} questions · "
            f"{entry.leading or '—'} · {when}"
        )
        with right:
            _open_button(facade, entry, in_sidebar=False)


def _open_button(facade: ConsultFacade, entry: ConsultationEntry, in_sidebar: bool) -> None:
    mark = "✓" if entry.finished else "…"
    label = f"{mark} {entry.title}" if in_sidebar else ("Open" if entry.finished else "Resume")
    if in_sidebar and entry.thread_id == _open_thread(facade):
        label = f"**{label}** (open)"
    knowledge = KNOWLEDGE_LABELS["hpo" if entry.knowledge == "hpo" else "ddxplus"]
    clicked = st.button(
        label,
        key=f"open-{'side' if in_sidebar else 'page'}-{entry.thread_id}",
        help=f"{knowledge} · {entry.leading or 'no differential yet'} · {entry.questions} "
        "questions",
        width="stretch",
        on_click=_open,
        args=(facade, entry.thread_id),
    )
    if clicked:
        switch_to(CONSULT, facade.user_id, _open_thread(facade))


def _open(facade: ConsultFacade, thread_id: str) -> None:
    if not facade.open(thread_id):
        facade.error = facade.error or "That consultation is no longer available."
