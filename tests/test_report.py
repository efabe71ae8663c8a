"""Loading run folders (including what a killed run leaves), the table, the plot, the summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.errors import DataFormatError, MissingDataError
from eval.ddxplus_summary import summarize
from eval.report import LoadedRun, load_run, plot_accuracy_curves, summary_table, write_summary
from eval.schema import CaseResult, RunConfig, RunSummary
from tests.factories import make_case

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def write_cases(run_dir: Path, cases: list[CaseResult], tail: str = "") -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    lines = "".join(c.model_dump_json() + "\n" for c in cases)
    (run_dir / "cases.jsonl").write_text(lines + tail, encoding="utf-8")


def no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


TWO_CASES = [
    make_case("Flu", 1, steps=[(0, "Cold"), (2, "Flu")], questions=2, seconds=1.5, case_id="a"),
    make_case("Cold", 3, steps=[(0, "Flu"), (5, "Flu")], questions=5, seconds=2.5, case_id="b"),
]


# --- load_run ------------------------------------------------------------------------------


def test_load_run_reads_written_summary_and_cases(tmp_path: Path) -> None:
    run_dir = tmp_path / "run-q10"
    write_cases(run_dir, TWO_CASES)
    summary = summarize(TWO_CASES, skipped=1, seconds=3.0, label="x")
    path = write_summary(run_dir, summary)

    raw = json.loads(path.read_text(encoding="utf-8"))
    assert raw["gtpa@1"] == 0.5
    assert raw["urgent_recall@5"] is None
    assert no_temp_files(run_dir)

    run = load_run(run_dir)
    assert run.label == "run-q10"
    assert run.summary == summary
    assert [c.case_id for c in run.cases] == ["a", "b"]
    assert run.budget == 5


def test_load_run_recomputes_missing_summary_from_cases(tmp_path: Path) -> None:
    run_dir = tmp_path / "killed"
    write_cases(run_dir, TWO_CASES)
    config = RunConfig(
        benchmark="ddxplus",
        patients="p.csv",
        patients_sha256="0" * 64,
        questions=10,
        full_profile=False,
        limit=None,
        seed=0,
        confidence_threshold=0.9,
        model="structural",
    )
    (run_dir / "run.json").write_text(config.model_dump_json(), encoding="utf-8")

    s = load_run(run_dir).summary
    assert isinstance(s, RunSummary)
    assert s.n == 2
    assert s.gtpa_1 == 0.5
    assert s.gtpa_3 == 1.0
    assert s.seconds == pytest.approx(4.0)  # sum of the per-case times
    assert (s.label, s.questions_budget, s.full_profile) == ("killed", 10, False)


def test_load_run_skips_a_truncated_last_line(tmp_path: Path) -> None:
    write_cases(tmp_path, TWO_CASES, tail='{"case_id": "c", "patho')
    assert [c.case_id for c in load_run(tmp_path).cases] == ["a", "b"]


def test_load_run_skips_a_last_line_cut_inside_a_multibyte_character(tmp_path: Path) -> None:
    write_cases(tmp_path, TWO_CASES)
    with (tmp_path / "cases.jsonl").open("ab") as fh:
        fh.write('{"case_id": "é'.encode()[:-1])
    assert len(load_run(tmp_path).cases) == 2


def test_load_run_reports_a_malformed_middle_line_with_its_number(tmp_path: Path) -> None:
    run_dir = tmp_path / "bad"
    run_dir.mkdir()
    good = TWO_CASES[0].model_dump_json()
    (run_dir / "cases.jsonl").write_text(f"{good}\n{{not json\n{good}\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"cases\.jsonl, line 2: not valid JSON"):
        load_run(run_dir)


def test_load_run_refuses_a_complete_last_line_that_is_not_a_case(tmp_path: Path) -> None:
    # Valid JSON was written whole, so it is not what a killed run leaves: no silent skip.
    write_cases(tmp_path, TWO_CASES, tail='{"case_id": "c"}\n')
    with pytest.raises(DataFormatError, match=r"line 3: not a case result \(pathology"):
        load_run(tmp_path)


def test_load_run_missing_folder_or_files(tmp_path: Path) -> None:
    with pytest.raises(MissingDataError, match="does not exist"):
        load_run(tmp_path / "nowhere")
    with pytest.raises(MissingDataError, match=r"neither cases\.jsonl nor summary\.json"):
        load_run(tmp_path)


def test_load_run_malformed_summary_names_the_file(tmp_path: Path) -> None:
    write_cases(tmp_path, TWO_CASES)
    (tmp_path / "summary.json").write_text('{"n": 2}', encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"summary\.json: not a run summary"):
        load_run(tmp_path)


def test_load_run_with_summary_only_has_no_cases(tmp_path: Path) -> None:
    write_summary(tmp_path, summarize(TWO_CASES, 0, 1.0))
    run = load_run(tmp_path)
    assert run.cases == []
    assert run.budget == 0
    assert run.summary.n == 2


# --- table, plot ---------------------------------------------------------------------------


def loaded(label: str, cases: list[CaseResult], questions_budget: int | None = None) -> LoadedRun:
    summary = summarize(cases, 0, 2.0, questions_budget=questions_budget)
    budget = max((c.questions_asked for c in cases), default=0)
    return LoadedRun(label=label, summary=summary, cases=cases, budget=budget)


def test_summary_table_has_one_column_per_run_and_formats_cells() -> None:
    runs = [loaded("q5", TWO_CASES, questions_budget=5), loaded("q10", TWO_CASES[:1])]
    table = summary_table(runs)

    assert [c.header for c in table.columns] == ["metric", "q5", "q10"]
    metrics = [str(m) for m in table.columns[0].cells]
    assert metrics[:3] == ["n", "skipped", "gtpa@1"]
    assert "label" not in metrics
    rows = {
        m: [str(v) for v in values]
        for m, *values in zip(metrics, table.columns[1].cells, table.columns[2].cells, strict=True)
    }
    assert rows["n"] == ["2", "1"]
    assert rows["gtpa@1"] == ["0.500", "1.000"]
    assert rows["questions_budget"] == ["5", "—"]
    assert rows["urgent_recall@5"] == ["—", "—"]


def test_plot_writes_a_png(tmp_path: Path) -> None:
    runs = [loaded("q5", TWO_CASES), loaded("q2", TWO_CASES[:1])]
    out = plot_accuracy_curves(runs, tmp_path / "plots" / "curves.png")

    data = out.read_bytes()
    assert out == tmp_path / "plots" / "curves.png"
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 1000
    assert no_temp_files(out.parent)


def test_plot_needs_at_least_one_run_with_cases(tmp_path: Path) -> None:
    with pytest.raises(MissingDataError, match="summary-only"):
        plot_accuracy_curves([loaded("summary-only", [])], tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()
