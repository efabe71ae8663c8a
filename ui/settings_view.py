"""The settings page: data folder, question budget, confidence threshold, backends per role.

Settings are checked by the same :func:`agent.settings.load_settings` as the command line; what
is wrong is shown in words and the previous settings stay in force. Applied settings are saved
for the user at once and load in the background with a progress bar (a large doctor directory
takes minutes the first time); the person may leave the page meanwhile without losing them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from agent.settings import STRATEGIES, DdxSettings
from ui.index_view import render_index_builder
from ui.progress_view import wait_for
from ui.state import (
    RESULT_KEY,
    apply_settings,
    current_facade,
    current_settings,
    loading,
    problem,
)

BACKEND_HELP = (
    "kb = the embedded Bayesian engine (no model weights); hf:<folder or hub id>[+<LoRA "
    "folder>] = a local model; openai:<model>@<base url> = any OpenAI-compatible server "
    "(vLLM, Ollama, llama.cpp; key from DDX_OPENAI_API_KEY); fake = scripted, for tests."
)


def render_settings_page() -> None:
    st.title("Settings")
    trouble = problem()
    if trouble:
        st.error(f"The app cannot consult yet: {trouble}")
    settings = current_settings()
    fields = DdxSettings.model_fields
    with st.form("settings"):
        st.text_input(
            "Data folder",
            value=str(settings.data_dir),
            key="set_data_dir",
            help=fields["data_dir"].description,
        )
        left, right = st.columns(2)
        left.number_input(
            "Question budget",
            min_value=0,
            max_value=200,
            step=1,
            value=settings.max_questions,
            key="set_budget",
            help=fields["max_questions"].description,
        )
        right.number_input(
            "Confidence threshold",
            min_value=0.01,
            max_value=1.0,
            step=0.01,
            value=float(settings.confidence_threshold),
            key="set_threshold",
            help=fields["confidence_threshold"].description,
        )
        st.markdown("**Backends per role**")
        left, right = st.columns(2)
        left.text_input(
            "History taking", value=settings.doctor, key="set_doctor", help=BACKEND_HELP
        )
        right.text_input(
            "Diagnosis (empty: as history taking)",
            value=settings.diagnoser or "",
            key="set_diagnoser",
            help=BACKEND_HELP,
        )
        left.selectbox(
            "Diagnosis strategy (LLM diagnosis only)",
            STRATEGIES,
            index=STRATEGIES.index(settings.strategy),
            key="set_strategy",
        )
        right.text_input(
            "Doctor directory (.jsonl or .csv; empty: no recommendations)",
            value=str(settings.doctor_directory or ""),
            key="set_directory",
            help=fields["doctor_directory"].description,
        )
        st.form_submit_button("Apply", type="primary", on_click=_apply)
    job = loading()
    if job is not None:
        st.caption("Applying (saved; you may leave this page, the loading goes on):")
        wait_for(job)
    result = st.session_state.get(RESULT_KEY)
    if isinstance(result, str):
        st.error(f"Settings not applied: {result}")
    elif result is True:
        st.success("Applied. New limits hold for consultations started from now on.")
    facade = current_facade()
    if facade is not None:
        render_index_builder(facade.engine)
    st.caption(
        f"Consultations are saved in {settings.state_dir} (set DDX_STATE_DIR before starting "
        "the app to move them)."
    )


def _text(key: str) -> str | None:
    value = str(st.session_state.get(key) or "").strip()
    return value or None


def _apply() -> None:
    explicit: dict[str, Any] = {
        "data_dir": Path(data) if (data := _text("set_data_dir")) else None,
        "max_questions": int(st.session_state.get("set_budget") or 0),
        "confidence_threshold": float(st.session_state.get("set_threshold") or 0.0),
        "doctor": _text("set_doctor"),
        "diagnoser": _text("set_diagnoser"),
        "strategy": st.session_state.get("set_strategy"),
        "doctor_directory": Path(d) if (d := _text("set_directory")) else None,
    }
    error = apply_settings(**explicit)
    if error:
        st.session_state[RESULT_KEY] = error
