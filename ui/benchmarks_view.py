"""The benchmarks page: runs written by ``ddx eval`` side by side, their accuracy curves, and
one case replayed step by step."""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from agent.errors import DdxError
from eval.ddxplus_summary import accuracy_curve
from eval.report import LoadedRun, load_run, summary_rows
from eval.schema import CASES_FILE, SUMMARY_FILE, CaseResult
from ui.bench_view import render_bench_starter
from ui.charts import differential_chart
from ui.metric_names import meaning

ROOT_KEY = "bench_root"
MAX_DEPTH = 3
DEFAULT_RUNS_DIR = "runs"


def discover_runs(root: Path, max_depth: int = MAX_DEPTH) -> list[Path]:
    """Folders under ``root`` (``root`` included, ``max_depth`` levels down) that hold a run."""
    found: list[Path] = []
    frontier = [root]
    for _ in range(max_depth + 1):
        next_level: list[Path] = []
        for folder in frontier:
            if (folder / CASES_FILE).is_file() or (folder / SUMMARY_FILE).is_file():
                found.append(folder)
            try:
                next_level += sorted(p for p in folder.iterdir() if p.is_dir())
            except OSError:
                continue
        frontier = next_level
    return sorted(found)


@st.cache_data(show_spinner=False, max_entries=32)
def _load(path: str, stamp: tuple[float, ...]) -> LoadedRun:
    """Read a run once per version of its files (``stamp``: their modification times)."""
    return load_run(Path(path))


def _stamp(folder: Path) -> tuple[float, ...]:
    files = [folder / CASES_FILE, folder / SUMMARY_FILE]
    return tuple(f.stat().st_mtime if f.is_file() else 0.0 for f in files)


def render_benchmarks_page() -> None:
    st.title("Benchmarks")
    st.caption("Runs written by `ddx eval` (a folder of run folders).")
    default = os.environ.get("DDX_RUNS_DIR", DEFAULT_RUNS_DIR)
    root = Path(st.text_input("Runs folder", value=default, key=ROOT_KEY).strip() or ".")
    render_bench_starter(root)
    folders = discover_runs(root)
    if not folders:
        st.info(
            f"No benchmark runs under `{root}`. Write one with, for example, "
            f"`ddx eval ddxplus --patients dev_patients.csv --questions 10 --out {root}/q10`."
        )
        return
    labels = [str(f.relative_to(root)) if f != root else f.name for f in folders]
    chosen = st.multiselect("Runs to compare", labels, default=labels[:3])
    runs: dict[str, LoadedRun] = {}
    for label in chosen:
        folder = folders[labels.index(label)]
        try:
            runs[label] = _load(str(folder), _stamp(folder))
        except DdxError as exc:
            st.warning(f"{label}: {exc}")
    if not runs:
        return
    st.subheader("Summaries", anchor=False)
    st.dataframe(_summary_rows(runs), hide_index=True)
    _render_curves(runs)
    _render_case(runs)


def _summary_rows(runs: dict[str, LoadedRun]) -> list[dict[str, str]]:
    """One column per run, one row per metric (published names, e.g. gtpa@1), and what the
    metric means."""
    return [
        {"metric": metric} | dict(zip(runs, cells, strict=True)) | {"meaning": meaning(metric)}
        for metric, cells in summary_rows(list(runs.values()))
    ]


def _render_curves(runs: dict[str, LoadedRun]) -> None:
    with_cases = {label: run for label, run in runs.items() if run.cases}
    if not with_cases:
        return
    st.subheader("Top-1 accuracy against questions asked", anchor=False)
    budget = max(run.budget for run in with_cases.values())
    curves = {label: accuracy_curve(run.cases, budget) for label, run in with_cases.items()}
    data = {"questions asked": list(range(budget + 1))} | curves
    st.line_chart(data, x="questions asked", y=list(curves), y_label="GTPA@1")


def _render_case(runs: dict[str, LoadedRun]) -> None:
    with_cases = [label for label, run in runs.items() if run.cases]
    if not with_cases:
        return
    st.subheader("One case, step by step", anchor=False)
    left, right = st.columns([1, 2])
    label = left.selectbox("Run", with_cases, key="case_run")
    run = runs[label]
    misses_only = left.checkbox("Only cases where the truth is not first", key="misses_only")
    cases = [c for c in run.cases if c.truth_rank > 1] if misses_only else run.cases
    if not cases:
        st.info("Every case of this run has the truth first.")
        return
    index = right.selectbox(
        "Case",
        range(len(cases)),
        format_func=lambda i: (
            f"{cases[i].case_id} · {cases[i].pathology} · truth ranked {cases[i].truth_rank}"
        ),
        key="case_pick",
    )
    _render_one_case(cases[index])


def _render_one_case(case: CaseResult) -> None:
    cols = st.columns(4)
    cols[0].metric("Truth", case.pathology)
    cols[1].metric("Rank of the truth", case.truth_rank)
    cols[2].metric("Questions", case.questions_asked)
    cols[3].metric("Patient", f"{case.age} {case.sex}")
    st.caption(f"Stopped: {case.stop_reason} · {case.seconds:.3f} s")
    transcript, steps = st.columns([1, 1], gap="large")
    with transcript:
        st.markdown("**Transcript**")
        st.table(
            [{"question": t.question, "answer": t.answer} for t in case.transcript]
            or [{"question": "—", "answer": "no question was asked"}]
        )
    with steps:
        st.markdown("**Differential after each answer**")
        st.dataframe(_steps_rows(case), hide_index=True)
        st.markdown("**Final differential**")
        st.vega_lite_chart(
            differential_chart(case.differential, case.urgent_flags), width="stretch"
        )


def _steps_rows(case: CaseResult) -> list[dict[str, object]]:
    """Per step: the top three, and where the truth stood (rank within the top 10 kept)."""
    rows: list[dict[str, object]] = []
    for step in sorted(case.steps, key=lambda s: s.questions):
        names = [name for name, _ in step.top]
        rank = names.index(case.pathology) + 1 if case.pathology in names else None
        rows.append(
            {
                "answers": step.questions,
                "top 3": ", ".join(f"{n} {p:.0%}" for n, p in step.top[:3]),
                "truth rank": str(rank) if rank else f">{len(names)}",
                "truth p": dict(step.top).get(case.pathology, 0.0),
            }
        )
    return rows
