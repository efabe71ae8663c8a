"""Integration tests on the public DDXPlus files (DDX_DATA_DIR); skipped, with the reason,
without them. They check the real release loads as documented and that the benchmark and the
simulated chat run end to end through the command line."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from agent.cli import app
from retrieval.ddxplus_kb import KnowledgeBase
from simulator.records import load_patients

DOCUMENTED_QUIRKS = {
    "E_69": "E_68",
    "E_37": "E_36",
    "E_118": "E_117",
    "E_123": "E_122",
    "E_87": "E_85",
}
"""Child evidence → the parent question the release names but does not contain."""
GTPA1_FLOOR = 0.6
"""A sanity floor for 40 dev cases with 10 questions, well under what the engine reaches."""


def dev_patients(data_dir: Path) -> Path:
    path = data_dir / "ddxplus" / "dev_patients.csv"
    if not path.is_file():
        pytest.skip(f"{path} is not there")
    return path


def ddx(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *args: str | Path) -> Result:
    for name in ("DDX_MAX_QUESTIONS", "DDX_CONFIDENCE_THRESHOLD", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DDX_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("COLUMNS", "200")
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.mark.integration
def test_real_knowledge_base_loads_with_the_documented_quirks(real_kb: KnowledgeBase) -> None:
    assert len(real_kb.conditions) == 49
    assert len(real_kb.evidences) == 223
    assert len(real_kb.quirks) == 5
    for child, parent in DOCUMENTED_QUIRKS.items():
        assert any(q.startswith(f"{child} names parent question {parent},") for q in real_kb.quirks)
        assert real_kb.evidences[child].parent is None, "treated as a root question"


@pytest.mark.integration
def test_dev_patient_file_loads_without_skipping_a_row(
    real_kb: KnowledgeBase, real_data_dir: Path
) -> None:
    path = dev_patients(real_data_dir)
    with path.open(encoding="utf-8", newline="") as handle:
        rows = sum(1 for _ in csv.DictReader(handle))

    loaded = load_patients(real_kb, path)

    assert loaded.skipped == []
    assert len(loaded.records) == rows > 0
    assert all(r.pathology in real_kb.conditions for r in loaded.records)


@pytest.mark.integration
def test_benchmark_on_forty_dev_cases_through_the_cli(
    real_data_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    patients = dev_patients(real_data_dir)
    out = tmp_path / "dev40"

    result = ddx(
        monkeypatch,
        tmp_path,
        "--data-dir",
        real_data_dir,
        "eval",
        "ddxplus",
        "--patients",
        patients,
        "--out",
        out,
        "--limit",
        "40",
        "--questions",
        "10",
        "--workers",
        "2",
    )

    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["n"] == 40
    assert summary["skipped"] == 0
    assert summary["gtpa@1"] >= GTPA1_FLOOR
    assert 0 < summary["avg_questions"] <= 10
    lines = (out / "cases.jsonl").read_text(encoding="utf-8").splitlines()
    assert len({json.loads(line)["case_id"] for line in lines}) == len(lines) == 40


@pytest.mark.integration
def test_simulated_chat_on_a_dev_patient_finishes(
    real_data_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    patients = dev_patients(real_data_dir)

    result = ddx(
        monkeypatch,
        tmp_path,
        "--data-dir",
        real_data_dir,
        "chat",
        "--patient-file",
        patients,
        "--patient",
        "1",
    )

    assert result.exit_code == 0, result.output
    assert "Simulated patient dev_patients.csv:2" in result.output
    assert "Differential diagnosis" in result.output
    assert "questions asked; stopped:" in result.output
    assert "ground truth: " in result.output
