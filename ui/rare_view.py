"""The rare-disease intake: phenotypes picked by name or HPO id (suggested as the person types)
or described in plain words, shown for confirmation, then the consultation starts.

The plain-words reading needs the phenotype matcher; its first load embeds ~29,000 HPO names
(minutes, then cached) on a background job with a progress bar, while picking by name or id
works at once.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui.facade import ConsultFacade
from ui.intake_fields import demographics, render_demographics
from ui.jobs import Job
from ui.progress_view import wait_for
from ui.rare import PhenotypeFinding, load_matcher, needs_words, read_description, term_of
from ui.state import board, current_settings

TEXT_KEY, PICK_KEY, PENDING_KEY = "rare_text", "rare_pick", "rare_reading_pending"
EXAMPLE = "tall, long thin fingers, dislocated lens, no seizures (or HP:0001166)"


def matcher_job(facade: ConsultFacade) -> Job[Any]:
    assert facade.rare is not None
    kb, cache = facade.rare.kb, current_settings().cache_folder
    return board().start(
        ("hpo-matcher", str(cache)),
        "Preparing the plain-words phenotype reader",
        lambda progress: load_matcher(kb, cache, progress),
    )


def render_rare_intake(facade: ConsultFacade) -> None:
    from ui.rare import term_options

    assert facade.rare is not None, "the page waits for the rare-disease engine first"
    render_demographics()
    st.text_area("Phenotypes in plain words or HPO ids", placeholder=EXAMPLE, key=TEXT_KEY)
    st.button("Read the description", on_click=_read, args=(facade,))
    pending = st.session_state.get(PENDING_KEY)
    if isinstance(pending, str) and needs_words(pending):
        job = matcher_job(facade)
        if not job.finished:
            st.caption("Picking by name or HPO id below works meanwhile.")
            wait_for(job)
        _read_now(facade, pending, job)
    elif isinstance(pending, str):
        _read_now(facade, pending, None)
    st.multiselect(
        "Add phenotypes by name or HPO id (type a part of the name or the id)",
        term_options(facade.rare.kb),
        key=PICK_KEY,
        placeholder="e.g. arachnodactyly, HP:0001166",
        filter_mode="contains",
        select_all=False,
    )
    _render_draft(facade)
    st.button("Start consultation", type="primary", on_click=_start, args=(facade,))


def _read(facade: ConsultFacade) -> None:
    text = str(st.session_state.get(TEXT_KEY) or "").strip()
    if not text:
        facade.error = "Describe the phenotypes first, or pick them below."
        return
    facade.error = None
    st.session_state[PENDING_KEY] = text


def _read_now(facade: ConsultFacade, text: str, job: Job[Any] | None) -> None:
    """Read the description: typed ids always, words with the matcher ``job`` loaded."""
    assert facade.rare is not None
    del st.session_state[PENDING_KEY]
    matcher = job.result if job is not None else None
    if job is not None and matcher is None:
        st.warning(f"Plain words could not be read ({job.error}); HPO ids still are.")
    draft = read_description(facade.rare.kb, text, matcher)
    for finding in draft.findings:
        facade.draft.add(finding)
    for term_id in draft.unknown_ids:
        st.warning(f"{term_id} is not an HPO phenotype term; ignored.")
    if not draft.findings:
        st.warning("No phenotype recognised in that description; try other words or ids.")


def _render_draft(facade: ConsultFacade) -> None:
    if not facade.draft.findings:
        return
    st.markdown("**Understood** (untick what is wrong):")
    for finding in facade.draft.findings:
        said = f' — from "{finding.source}"' if finding.source else ""
        mark = "present" if finding.present else "absent"
        st.checkbox(f"{finding.label}: {mark}{said}", value=True, key=f"keep-{finding.term_id}")


def _start(facade: ConsultFacade) -> None:
    assert facade.rare is not None
    kept = {
        f.term_id: f.present
        for f in facade.draft.findings
        if st.session_state.get(f"keep-{f.term_id}", True)
    }
    for label in st.session_state.get(PICK_KEY) or []:
        term = term_of(label)
        if term is not None and term not in kept:
            kept[term] = True
            facade.draft.add(PhenotypeFinding(term, label, True))
    facade.start_rare(*demographics(), kept)
    if facade.error is None:
        st.session_state.pop(PICK_KEY, None)
