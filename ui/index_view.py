"""The knowledge index from the app: say what is missing, build it with progress, reload.

Without the built-in index the consultation runs but cites nothing. Building it embeds the
knowledge base's pages (66 passages for DDXPlus, seconds) on a background job; the engine is
then reloaded so the next reports cite their sources.
"""

from __future__ import annotations

import streamlit as st

from ui.engines import Engine, engine_key
from ui.jobs import JobBoard, Progress
from ui.progress_view import wait_for
from ui.state import board

NO_INDEX = "no knowledge index yet"


def _build(engine: Engine, jobs: JobBoard, progress: Progress) -> str:
    from agent.assembly import index_root
    from retrieval.builtin_index import build_ddxplus_index

    progress("Embedding the knowledge base's pages")
    outcome = build_ddxplus_index(engine.kb, index_root(engine.settings), progress=False)
    jobs.forget(engine_key(engine.settings))  # the engine reloads, now with citations
    return f"{outcome.manifest.n_documents} passages indexed"


def render_index_builder(engine: Engine) -> None:
    """The engine's notes; a button that builds the missing knowledge index."""
    key = ("index", str(engine.settings.state_dir), str(engine.data_dir))
    jobs = board()
    job = jobs.get(key)
    if job is not None and not job.finished:
        wait_for(job)
    for note in engine.notes:
        st.info(note)
    if job is not None and job.error:
        st.error(f"The knowledge index was not built: {job.error}")
    missing = any(note.startswith(NO_INDEX) for note in engine.notes)
    if missing and st.button("Build the knowledge index", icon=":material/build:"):
        wait_for(jobs.start(key, "Building the knowledge index", lambda p: _build(engine, jobs, p)))
