"""Start a DDXPlus benchmark from the Benchmarks page and follow it with a progress bar; the
run then appears among the runs to compare (``ui.bench_runner`` does the work)."""

from __future__ import annotations

import time
from collections.abc import Hashable
from datetime import timedelta
from pathlib import Path

import streamlit as st

from ui.bench_runner import BenchRequest, run_benchmark
from ui.progress_view import show_status
from ui.state import board, current_settings

CASES_KEY, QUESTIONS_KEY, STARTED_KEY = "bench_cases", "bench_questions", "bench_started"
PATIENTS_KEY = "bench_patients"


def render_bench_starter(root: Path) -> None:
    default = current_settings().data_dir / "ddxplus" / "dev_patients.csv"
    started = st.session_state.get(STARTED_KEY)
    job = board().get(started) if started is not None else None
    with st.expander("Run a benchmark", expanded=job is not None and not job.finished):
        st.text_input("DDXPlus patients (CSV)", value=str(default), key=PATIENTS_KEY)
        left, right = st.columns(2)
        left.number_input("Patients", 1, 1000, 20, key=CASES_KEY)
        right.number_input("Questions per consultation", 0, 50, 10, key=QUESTIONS_KEY)
        st.caption(
            f"Simulated patients answer from their records; results go to {root}/app-<time>, "
            "the same files `ddx eval ddxplus` writes."
        )
        st.button("Start the benchmark", on_click=_start, args=(root, default))
        if job is not None and not job.finished:
            _follow(started)
        elif job is not None and job.error:
            st.error(job.error)
        elif job is not None:
            st.success(f"Finished: {job.result} (pick it below).")


@st.fragment(run_every=timedelta(seconds=2))
def _follow(key: Hashable) -> None:
    """The run's progress, redrawn every two seconds; the whole page once it ends (the new
    run then shows among the runs)."""
    job = board().get(key)
    if job is None or job.finished:
        st.rerun(scope="app")
    show_status(st, job.status)
    st.caption("You may leave this page: the benchmark goes on.")


def _start(root: Path, default: Path) -> None:
    """Read the form as it is now (a callback's arguments date from the previous run)."""
    out = root / f"app-{time.strftime('%Y%m%d-%H%M%S')}"
    request = BenchRequest(
        patients=Path(str(st.session_state.get(PATIENTS_KEY) or default)),
        cases=int(st.session_state.get(CASES_KEY) or 20),
        questions=int(st.session_state.get(QUESTIONS_KEY) or 10),
        out=out,
    )
    key = ("benchmark", str(out))
    board().start(key, "Benchmark", lambda progress: run_benchmark(request, progress))
    st.session_state[STARTED_KEY] = key
