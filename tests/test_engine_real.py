"""The shipped model on the real DDXPlus files (integration: DDX_DATA_DIR must be set)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from langgraph.checkpoint.memory import InMemorySaver
from typer.testing import CliRunner

from agent.cli import app
from agent.consult.graph import compile_graph
from agent.consult.session import ConsultationSession
from agent.context import embedded_context
from agent.reasoners.ddxplus.model_file import EngineModel
from agent.reasoners.ddxplus.shipped import load_engine_model, shipped_model_path
from agent.state import CaseIntake
from retrieval.ddxplus_kb import KnowledgeBase
from simulator.ddxplus_patient import SimulatedPatient
from simulator.records import load_patients

pytestmark = pytest.mark.integration

FEMALE_ONLY = ("E_167", "E_145", "E_163")
"""Pregnancy, heavy periods, vaginal discharge: the samples show them in women only."""


def _train_dir(real_data_dir: Path) -> Path:
    folder = real_data_dir / "ddxplus" / "train"
    if not (folder / "train_stats.json").is_file():
        pytest.skip(f"{folder} has no train_stats.json (the train split's statistics)")
    return folder


def test_kb_fit_rebuilds_the_shipped_model_exactly(
    real_data_dir: Path, real_kb: KnowledgeBase, tmp_path: Path
):
    train = _train_dir(real_data_dir)
    out = tmp_path / "rebuilt.npz"
    args = [
        "kb", "fit",
        "--stats", str(train / "train_stats.json"),
        "--profile", str(train / "train_profile.json"),
        "--patients", str(train / "train_sample_patients.csv"),
        "--patients", str(train / "validate_sample_patients.csv"),
        "--out", str(out),
    ]  # fmt: skip
    result = CliRunner().invoke(app, args, env={"DDX_DATA_DIR": str(real_data_dir)})
    assert result.exit_code == 0, result.output
    shipped = EngineModel.load(shipped_model_path(), real_kb)
    rebuilt = EngineModel.load(out, real_kb)
    assert shipped.likelihood.arrays().keys() == rebuilt.likelihood.arrays().keys()
    for name, array in shipped.likelihood.arrays().items():
        np.testing.assert_array_equal(rebuilt.likelihood.arrays()[name], array, err_msg=name)
    assert shipped.differential is not None and rebuilt.differential is not None
    np.testing.assert_array_equal(rebuilt.differential.weights, shipped.differential.weights)
    np.testing.assert_array_equal(rebuilt.differential.bias, shipped.differential.bias)
    assert rebuilt.differential.threshold == shipped.differential.threshold
    assert rebuilt.decisions == shipped.decisions
    assert rebuilt.likelihood.provenance == shipped.likelihood.provenance


def test_the_default_context_uses_the_shipped_model(real_kb: KnowledgeBase):
    loaded = load_engine_model(real_kb)
    assert loaded.note == ""
    assert loaded.origin.startswith("shipped default")
    context = embedded_context(real_kb)
    assert context.differential_lister is not None
    assert context.list_taker is not None
    assert embedded_context(real_kb, "structural").differential_lister is None


def test_men_are_never_asked_what_only_women_can_have(real_data_dir: Path, real_kb: KnowledgeBase):
    train = _train_dir(real_data_dir)
    records = load_patients(real_kb, train / "validate_sample_patients.csv").records
    men = [r for r in records if r.sex == "M" and r.pathology in ("GERD", "Anemia", "SLE")]
    assert men, "the validate samples hold men with these conditions"
    session = ConsultationSession(compile_graph(InMemorySaver()), embedded_context(real_kb))
    asked: set[str] = set()
    for record in men:
        patient = SimulatedPatient(real_kb, record)
        intake = CaseIntake(age=record.age, sex="M", findings=patient.intake(), max_questions=30)
        report = session.consult_to_end(record.case_id, intake, patient.answer)
        asked |= {t.code for t in report.transcript}
    assert not asked & set(FEMALE_ONLY)


def test_a_cough_and_a_fever_raise_no_urgent_banner(real_kb: KnowledgeBase):
    context = embedded_context(real_kb)
    session = ConsultationSession(compile_graph(InMemorySaver()), context)
    turn = session.start("t", CaseIntake(age=45, sex="M", findings={"E_201": True, "E_91": True}))
    assert turn.question is not None
    leading = [name for name, _ in turn.question.leading]
    assert "Ebola" not in leading
    severe = [
        n
        for n, p in turn.differential
        if p >= context.urgent_threshold and real_kb.conditions[n].severity <= 2
    ]
    assert severe == []
