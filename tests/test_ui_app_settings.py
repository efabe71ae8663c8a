"""The app's settings, doctors and benchmarks pages driven through the real script with
AppTest, on the mini knowledge base: settings checked, saved per user and kept across restarts,
a doctor directory loaded with progress, runs compared, a benchmark started from the app."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st

from retrieval.ddxplus_kb import KnowledgeBase
from tests.test_ui_app import TIMEOUT, app_env, click, facade_of, open_app, progress_text, start
from ui.engines import engine_key

__all__ = ["app_env"]  # the fixture, shared


def test_the_benchmarks_page_compares_runs_and_replays_a_case(app_env: Path) -> None:
    at = open_app()
    at.switch_page("screens/benchmarks.py").run()
    assert not at.exception
    runs = at.multiselect[0]
    assert runs.options == ["broken", "q2", "q4/unsummarised"]
    runs.set_value(["broken", "q2", "q4/unsummarised"]).run()
    assert any(w.value.startswith("broken: ") for w in at.warning)  # explained, not crashed

    summary = at.dataframe[0].value
    assert list(summary.columns) == ["metric", "q2", "q4/unsummarised", "meaning"]
    assert summary.set_index("metric").loc["gtpa@1"]["meaning"].startswith("Ground-truth")
    gtpa1 = summary.set_index("metric").loc["gtpa@1"]
    assert gtpa1["q2"] == "0.667" and gtpa1["q4/unsummarised"] == "1.000"
    assert len(at.get("vega_lite_chart")) >= 2

    at.selectbox(key="case_run").set_value("q2").run()
    at.checkbox(key="misses_only").check().run()
    assert at.selectbox(key="case_pick").options == ["102 · Pneumonia · truth ranked 2"]
    assert [m.value for m in at.metric][:2] == ["Pneumonia", "2"]
    steps = at.dataframe[1].value
    assert list(steps["truth rank"]) == ["2", "2", "2"]
    assert [t for t in at.table[0].value["question"]] == ["Question 1?", "Question 2?"]


def test_invalid_settings_in_the_environment_are_explained(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DDX_CONFIDENCE_THRESHOLD", "2")
    at = open_app()
    assert any("confidence_threshold" in e.value for e in at.error), [e.value for e in at.error]
    assert [t.value for t in at.title] == ["Settings"]

    at.number_input(key="set_threshold").set_value(0.9)
    click(at, "Apply")
    assert any(s.value.startswith("Applied") for s in at.success)
    assert not at.error
    assert facade_of(at).limits.confidence_threshold == 0.9
    at.switch_page("screens/consult.py").run()
    assert [s.value for s in at.subheader] == ["New consultation"]


def test_a_bad_data_folder_is_refused_and_the_old_settings_stay(app_env: Path) -> None:
    at = open_app()
    at.switch_page("screens/settings.py").run()
    at.text_input(key="set_data_dir").input(str(app_env / "nowhere"))
    click(at, "Apply")
    assert any(
        e.value.startswith("Settings not applied:") and "nowhere" in e.value for e in at.error
    )

    at.text_input(key="set_data_dir").input(str(facade_of(at).engine.data_dir))
    at.number_input(key="set_budget").set_value(3)
    click(at, "Apply")
    at.switch_page("screens/consult.py").run()
    start(at)
    assert progress_text(at) == "Question 1 of 3"


def test_backends_per_role_are_checked_and_explained(app_env: Path) -> None:
    at = open_app()
    at.switch_page("screens/settings.py").run()
    assert at.text_input(key="set_doctor").value == "kb"  # embedded by default
    assert any("ddx index build" in i.value for i in at.info)  # why nothing is cited

    at.text_input(key="set_doctor").input("telepathy:gpt")
    click(at, "Apply")

    assert any(e.value.startswith("Settings not applied:") for e in at.error)
    assert facade_of(at).engine.settings.doctor == "kb"


def test_the_doctors_page_explains_how_to_configure_a_directory(app_env: Path) -> None:
    at = open_app()
    at.switch_page("screens/doctors.py").run()
    assert not at.exception
    assert any("No doctor directory is configured" in i.value for i in at.info)


def test_the_doctors_page_ranks_a_synthetic_directory(
    app_env: Path, monkeypatch: pytest.MonkeyPatch, mini_kb: KnowledgeBase
) -> None:
    from retrieval.doctors import synth

    directory = synth.write(synth.generate(mini_kb, 2, candidates=10), app_env / "syn.jsonl")
    monkeypatch.setenv("DDX_DOCTOR_DIRECTORY", str(directory))
    at = open_app()
    at.switch_page("screens/doctors.py").run()
    at.text_area(key="doctor_need").input("a doctor treating Pneumonia")
    at.number_input(key="doctor_top").set_value(3)
    click(at, "Rank doctors")

    ranked = [e.label for e in at.expander if e.label[:2] in ("1.", "2.", "3.")]
    assert len(ranked) == 3 and ranked[0].startswith("1. ")
    assert any("candidates · ranker" in c.value for c in at.caption)

    # The final report recommends doctors for the leading diagnosis too.
    at.switch_page("screens/consult.py").run()
    click(start(at), "Finish now")
    report = facade_of(at).report
    assert report is not None and report.doctors
    assert f"**Doctors for {report.doctors_for}**" in [m.value for m in at.markdown]


def test_settings_are_kept_for_the_user_across_reloads_and_restarts(app_env: Path) -> None:
    at = open_app()
    user = at.query_params["user"]
    at.switch_page("screens/settings.py").run()
    at.number_input(key="set_budget").set_value(3)
    click(at, "Apply")
    assert any(s.value.startswith("Applied") for s in at.success)

    st.cache_resource.clear()  # the app restarts; the browser comes back with its address
    again = open_app({"user": user})
    again.switch_page("screens/settings.py").run()
    assert again.number_input(key="set_budget").value == 3
    again.switch_page("screens/consult.py").run()
    start(again)
    assert progress_text(again) == "Question 1 of 3"

    stranger = open_app()  # another user keeps the defaults
    stranger.switch_page("screens/settings.py").run()
    assert stranger.number_input(key="set_budget").value == 10


def test_a_doctor_directory_loads_with_progress_and_its_choice_is_saved_at_once(
    app_env: Path, mini_kb: KnowledgeBase
) -> None:
    from retrieval.doctors import synth
    from ui.state import board

    directory = synth.write(synth.generate(mini_kb, 2, candidates=10), app_env / "syn.jsonl")
    at = open_app()
    user = at.query_params["user"]
    at.switch_page("screens/settings.py").run()
    at.text_input(key="set_directory").input(str(directory))
    click(at, "Apply")

    assert any(s.value.startswith("Applied") for s in at.success)
    engine = facade_of(at).engine
    assert engine.settings.doctor_directory == directory
    job = board().get(engine_key(engine.settings))
    assert job is not None and job.result is engine
    assert job.status.stage == "Indexing the directory for search"
    assert job.status.total == 20  # every profile, counted
    saved = engine.history.saved_settings(user)
    assert saved["doctor_directory"] == str(directory)


def test_a_benchmark_started_from_the_app_shows_its_progress_then_its_run(
    app_env: Path, mini_patients_csv: Path, tmp_path: Path
) -> None:
    from ui.state import board

    at = open_app()
    at.switch_page("screens/benchmarks.py").run()
    at.text_input(key="bench_root").input(str(tmp_path / "runs")).run()
    at.text_input(key="bench_patients").input(str(mini_patients_csv))
    at.number_input(key="bench_cases").set_value(2)
    at.number_input(key="bench_questions").set_value(2)
    click(at, "Start the benchmark")
    job = board().get(at.session_state["bench_started"])
    assert job is not None and job.title == "Benchmark"
    assert job.wait(TIMEOUT) and job.error is None, job.error
    assert job.status.done == 2 and job.status.total == 2  # cases counted as they finish

    at.run()
    assert any(s.value.startswith("Finished: ") for s in at.success)
    run = Path(str(job.result)).name
    assert run in at.multiselect[0].options


def test_the_knowledge_index_is_built_from_the_settings_page(app_env: Path) -> None:
    from ui.state import board

    at = open_app()
    at.switch_page("screens/settings.py").run()
    before = facade_of(at).engine
    assert any(i.value.startswith("no knowledge index yet") for i in at.info)

    click(at, "Build the knowledge index")
    reloading = board().get(engine_key(before.settings))
    assert reloading is not None and reloading.wait(TIMEOUT)  # the engine reloads with it
    at.run()

    after = facade_of(at).engine
    assert after is not before and not any("knowledge index" in n for n in after.notes)
    assert not any(i.value.startswith("no knowledge index yet") for i in at.info)
    assert "Build the knowledge index" not in [b.label for b in at.button]
