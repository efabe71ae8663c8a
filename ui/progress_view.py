"""Progress of background work on screen: a bar a page waits behind, and the sidebar's list of
what is still loading.

A page that needs a result (the engine, the rare-disease knowledge, the phenotype matcher)
waits with :func:`wait_for`; the person may click elsewhere at any moment: the script run stops
but the job goes on (``ui.jobs``), and the next visit shows it further along or done.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import streamlit as st

from ui.facade import ConsultFacade
from ui.jobs import Job, Status
from ui.state import board

POLL_SECONDS = 0.5


def show_status(slot: Any, status: Status) -> None:
    """One bar (or, when nothing is countable, a line) for a job's status."""
    fraction = status.fraction
    line = status.line()
    text = line if line.startswith(status.title) else f"{status.title}: {line}"
    if fraction is None:
        slot.info(text, icon=":material/hourglass_top:")
    else:
        slot.progress(fraction, text=text)


def wait_for(job: Job[Any], *, rerun: bool = True) -> bool:
    """Show the job's progress until it ends; then rerun the page (``rerun``) so it draws
    with the result. Returns True when the job ended without an error."""
    slot = st.empty()
    while not job.finished:
        show_status(slot, job.status)
        job.wait(POLL_SECONDS)
    slot.empty()
    if job.error is None and rerun:
        st.rerun()
    return job.error is None


@st.fragment(run_every=timedelta(seconds=2))
def _running_jobs() -> None:
    running = board().running()
    for job in running:
        show_status(st, job.status)
    if not running and st.session_state.get("ddx_jobs_shown"):
        st.session_state["ddx_jobs_shown"] = False
        st.rerun(scope="app")  # something finished: redraw the page with it
    st.session_state["ddx_jobs_shown"] = bool(running)


def render_background_status() -> None:
    """In the sidebar: what is still loading, refreshed every two seconds while it lasts."""
    if board().running() or st.session_state.get("ddx_jobs_shown"):
        _running_jobs()


def require_facade() -> ConsultFacade | None:
    """The session's facade for a page that consults; while the engine loads, its progress
    (the page redraws when it is ready); when it cannot load, why, and where to fix it."""
    from ui.nav import SETTINGS, render_links
    from ui.state import current_facade, keep_address, loading, problem, session_user

    facade = current_facade()
    if facade is not None:
        return facade
    job = loading()
    if job is not None:
        with st.sidebar:
            render_links(session_user(), None)
        keep_address()
        wait_for(job)
        return None
    st.error(f"The app cannot consult yet: {problem() or 'the engine did not load'}.")
    st.page_link(SETTINGS.path, label="Open the settings", icon=SETTINGS.icon)
    return None
