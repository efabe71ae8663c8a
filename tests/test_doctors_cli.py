"""`ddx doctors rank / eval / synth`, the persisted directory index, and doctors in the
consultation's final report (mini knowledge base, tiny fixtures, the bundled encoder)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from agent.cli import app
from agent.errors import DdxError
from retrieval.doctors.first_stage import DirectoryIndex
from retrieval.doctors.profiles import load_directory
from retrieval.embeddings import load_encoder

FIXTURES = Path(__file__).parent / "fixtures" / "doctors"
DIRECTORY = FIXTURES / "directory.jsonl"
SUMMARY_KEYS = {"n_queries", "ndcg@1", "ndcg@5", "ndcg@10", "map", "mrr@10", "pnr", "seconds"}


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("DDX_DATA_DIR", "DDX_DOCTOR_DIRECTORY", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DDX_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("COLUMNS", "200")


def ddx(data_dir: Path, *args: str | Path) -> Result:
    return CliRunner().invoke(app, ["--data-dir", str(data_dir), *(str(a) for a in args)])


def ok(result: Result) -> str:
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
    return result.output


def test_rank_shows_criteria_doctors_and_their_evidence(
    mini_data_dir: Path, tmp_path: Path
) -> None:
    output = ok(
        ddx(
            mini_data_dir,
            "doctors",
            "rank",
            "a doctor treating pneumonia with antibiotics",
            "--directory",
            DIRECTORY,
            "--top",
            "3",
            "--explain",
            "--json",
            tmp_path / "ranking.json",
        )
    )

    assert "Criteria for Pneumonia with antibiotics (source: kb)" in output
    assert "department: Pulmonology" in output
    assert "duplicate id 'd1'" in output  # bad rows of the directory are reported
    first = output.split("Top 3")[1].splitlines()[1]
    assert "Dr Ana Ortiz" in first
    assert "✓ department: “Pulmonology”" in output
    saved = json.loads((tmp_path / "ranking.json").read_text(encoding="utf-8"))
    assert saved["doctors"][0]["profile"]["id"] == "d1" and len(saved["doctors"]) == 3


def test_rank_without_knowledge_base_uses_the_needs_words(tmp_path: Path) -> None:
    output = ok(ddx(tmp_path / "no-data", "doctors", "rank", "migraine", "--directory", DIRECTORY))
    assert "(source: need)" in output
    assert "Dr Ben Kim" in output.split("Top")[1].splitlines()[1]


def test_rank_with_a_missing_directory_is_a_clear_error(mini_data_dir: Path) -> None:
    result = ddx(mini_data_dir, "doctors", "rank", "x", "--directory", "/nonexistent.jsonl")
    assert isinstance(result.exception, DdxError)
    assert "not found" in str(result.exception)


def test_rank_refuses_an_unknown_ranker_before_indexing(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    result = ddx(
        tmp_path / "no-data",
        *("doctors", "rank", "x", "--directory", DIRECTORY, "--ranker", "nope"),
        *("--index-dir", index_dir),
    )
    assert isinstance(result.exception, DdxError)
    assert "Unknown ranker 'nope'" in str(result.exception)
    assert not index_dir.exists()


def test_outputs_that_cannot_be_written_are_clear_errors(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder", encoding="utf-8")
    result = ddx(
        tmp_path / "no-data",
        *("doctors", "rank", "migraine", "--directory", DIRECTORY, "--ranker", "bm25"),
        *("--json", blocked / "ranking.json"),
    )
    assert isinstance(result.exception, DdxError)
    assert "Cannot write" in str(result.exception)


def test_directory_index_is_built_once_then_reused_and_rebuilt_on_change(
    tmp_path: Path,
) -> None:
    encoder = load_encoder()
    copy = tmp_path / "dir.jsonl"
    shutil.copy(DIRECTORY, copy)
    folder = tmp_path / "index"
    first = DirectoryIndex.open(load_directory(copy), folder, encoder, progress=False)
    again = DirectoryIndex.open(load_directory(copy), folder, encoder, progress=False)

    assert first.built and not again.built
    assert again.candidates("migraine headache", 2)[0].id == "d2"
    with copy.open("a", encoding="utf-8") as handle:
        handle.write('{"id": "d9", "department": "Dermatology", "expertise": "Eczema."}\n')
    changed = DirectoryIndex.open(load_directory(copy), folder, encoder, progress=False)
    assert changed.built and len(changed.directory.profiles) == 6


def test_synth_then_eval_writes_the_summary_and_fairness(
    mini_data_dir: Path, tmp_path: Path
) -> None:
    data = tmp_path / "syn.jsonl"
    output = ok(
        ddx(mini_data_dir, "doctors", "synth", "--n", "3", "--candidates", "20", "--out", data)
    )
    assert "SYNTHETIC" in output and (tmp_path / "syn.directory.jsonl").is_file()

    out = tmp_path / "eval"
    ok(
        ddx(
            mini_data_dir,
            "doctors",
            "eval",
            "--data",
            data,
            "--out",
            out,
            "--ranker",
            "bm25",
            "--fairness",
        )
    )
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert set(summary) >= SUMMARY_KEYS and summary["n_queries"] == 3
    assert summary["ranker"] == "bm25" and summary["criteria"] == "kb"
    assert 0.0 < summary["ndcg@10"] <= 1.0
    fairness = json.loads((out / "fairness.json").read_text(encoding="utf-8"))
    assert len(fairness["variants"]) == 4
    rankings = (out / "rankings.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(rankings) == 3 and len(json.loads(rankings[0])["ranking"]) == 20


def test_eval_on_the_chinese_fixture_with_drrank_criteria(tmp_path: Path) -> None:
    out = tmp_path / "eval"
    result = ddx(
        tmp_path / "no-data",
        "doctors",
        "eval",
        "--data",
        FIXTURES / "drrank_zh.jsonl",
        "--out",
        out,
        "--ranker",
        "embedded",
        "--criteria",
        FIXTURES / "criteria_zh.json",
    )
    ok(result)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["n_queries"] == 3 and summary["skipped_lines"] == 2
    assert summary["criteria"] == "file:criteria_zh.json"


def test_consultation_report_recommends_doctors_when_a_directory_is_set(
    mini_data_dir: Path, mini_patients_csv: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DDX_DOCTOR_DIRECTORY", str(DIRECTORY))
    markdown = tmp_path / "report.md"
    output = ok(
        ddx(
            mini_data_dir,
            "chat",
            "--patient-file",
            mini_patients_csv,
            "--patient",
            "1",
            "--markdown",
            markdown,
        )
    )

    assert "Doctors for " in output
    text = markdown.read_text(encoding="utf-8")
    section = text.split("## Doctors for ")[1]
    leading = section.splitlines()[0]
    assert leading in {"Flu", "Pneumonia", "Migraine", "Measles"}
    assert "\n1. " in section and "meets:" in section


def test_llm_criteria_without_a_backend_is_a_clear_error(tmp_path: Path) -> None:
    result = ddx(
        tmp_path / "no-data",
        "doctors",
        "eval",
        "--data",
        FIXTURES / "drrank_zh.jsonl",
        "--out",
        tmp_path / "out",
        "--ranker",
        "bm25",
        "--criteria",
        "llm",
    )
    assert isinstance(result.exception, DdxError)
    assert "--backend" in str(result.exception)
