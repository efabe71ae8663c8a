"""Training conversations: the engine as teacher on the mini knowledge base, the user's chat
JSONL validated line by line, the held-out split and its manifest, and the CLI."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli import app
from agent.errors import DataFormatError, SettingsError
from agent.finetune.chat_data import Dialogue, is_held_out, load_dialogues, require_dialogues
from agent.finetune.dialogue_files import DialogueManifest, ddxplus_dialogues
from agent.finetune.teacher import DIFFERENTIAL_REQUEST, EngineTeacher, TeacherSettings, teach
from agent.llm.schemas import Differential, NextStep
from retrieval.ddxplus_kb import KnowledgeBase
from simulator.records import load_patients

FIXTURES = Path(__file__).parent / "fixtures" / "finetune"


def test_a_taught_consultation_is_a_chat_whose_assistant_turns_fit_the_schemas(
    mini_kb: KnowledgeBase, mini_patients_csv: Path
) -> None:
    record = load_patients(mini_kb, mini_patients_csv).records[0]
    dialogue = teach(EngineTeacher.build(mini_kb), record, TeacherSettings(questions=3))
    roles = [m.role for m in dialogue.messages]
    assert roles[:2] == ["system", "user"] and roles[-2:] == ["user", "assistant"]
    assert dialogue.messages[-2].content == DIFFERENTIAL_REQUEST
    steps = [NextStep.model_validate_json(m.content) for m in dialogue.messages[2:-2:2]]
    assert [s.action for s in steps[:-1]] == ["ask"] * (len(steps) - 1)
    assert steps[-1].action == "stop" and steps[-1].reason
    assert 1 <= len(steps) - 1 <= 3
    answers = [m.content for m in dialogue.messages[3:-2:2]]
    assert all(a.endswith(".") for a in answers)  # the simulator's plain English
    final = Differential.model_validate_json(dialogue.messages[-1].content)
    assert final.diagnoses and all(d.name in mini_kb.conditions for d in final.diagnoses)
    assert all(d.reason for d in final.diagnoses) and final.rationale
    assert dialogue.id == record.case_id


def test_user_dialogues_are_validated_and_bad_lines_reported() -> None:
    loaded = load_dialogues(FIXTURES / "mixed.jsonl")
    assert [d.id for d in loaded.dialogues] == ["fixture-1", "fixture-2"]
    reasons = dict(loaded.skipped)
    assert sorted(reasons) == [2, 3, 4, 6]
    assert "JSON" in reasons[2]
    assert "no assistant turn" in reasons[3]
    assert "role" in reasons[4]
    assert "empty content" in reasons[6]
    assert all("line" in p for p in loaded.problems())


def test_a_file_without_a_usable_conversation_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "not a chat"}\n', encoding="utf-8")
    with pytest.raises(DataFormatError, match="no usable conversation"):
        require_dialogues(bad)


def test_the_held_out_split_depends_on_the_id_only() -> None:
    keys = [f"case-{i}" for i in range(2000)]
    held = [k for k in keys if is_held_out(k, 0.1)]
    assert 140 < len(held) < 260
    assert held == [k for k in reversed(keys) if is_held_out(k, 0.1)][::-1]
    assert not any(is_held_out(k, 0.0) for k in keys)
    text_only = Dialogue.model_validate(
        {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}
    )
    assert text_only.key() == text_only.model_copy().key() and len(text_only.key()) == 16


def test_ddxplus_dialogues_write_train_held_out_patients_and_manifest(
    mini_kb: KnowledgeBase, mini_patients_csv: Path, tmp_path: Path
) -> None:
    out = tmp_path / "train.jsonl"
    warnings: list[str] = []
    manifest = ddxplus_dialogues(
        mini_kb,
        mini_patients_csv,
        out,
        n=None,
        seed=0,
        heldout_fraction=0.5,
        settings=TeacherSettings(questions=2),
        workers=1,
        warn=warnings.append,
    )
    assert manifest.train_count + manifest.heldout_count == 4  # 4 good rows of 8
    assert len(manifest.skipped) == 4 and any("line 6" in w for w in warnings)
    train = load_dialogues(out).dialogues
    held = load_dialogues(tmp_path / "train.heldout.jsonl").dialogues
    assert {d.id for d in held} == set(manifest.heldout_ids)
    assert not {d.id for d in train} & {d.id for d in held}
    with (tmp_path / "train.heldout_patients.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == manifest.heldout_count
    saved = DialogueManifest.model_validate_json(
        (tmp_path / "train.manifest.json").read_text(encoding="utf-8")
    )
    assert saved.input_sha256 == manifest.input_sha256 and saved.source == "ddxplus"


def test_cli_dialogues_from_ddxplus_and_from_chat(
    mini_data_dir: Path, mini_patients_csv: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    out = tmp_path / "new-folder" / "d.jsonl"
    result = runner.invoke(
        app,
        [
            "--data-dir",
            str(mini_data_dir),
            "data",
            "dialogues",
            "--patients",
            str(mini_patients_csv),
            "--out",
            str(out),
            "--n",
            "3",
            "--questions",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((out.parent / "d.manifest.json").read_text(encoding="utf-8"))
    assert manifest["train_count"] + manifest["heldout_count"] == 3
    result = runner.invoke(
        app,
        [
            "data",
            "dialogues",
            "--source",
            "chat",
            "--dialogues",
            str(FIXTURES / "mixed.jsonl"),
            "--out",
            str(tmp_path / "c.jsonl"),
            "--heldout",
            "0",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "line 3 skipped" in result.output and "2 training" in result.output
    result = runner.invoke(app, ["data", "dialogues", "--source", "chat", "--out", str(out)])
    assert result.exit_code != 0
    folder = ["data", "dialogues", "--patients", str(mini_patients_csv), "--out", str(tmp_path)]
    result = runner.invoke(app, ["--data-dir", str(mini_data_dir), *folder])
    assert isinstance(result.exception, SettingsError) and "is a folder" in str(result.exception)


def test_the_teachers_dialogue_is_the_graphs_consultation(
    mini_kb: KnowledgeBase, mini_patients_csv: Path
) -> None:
    # The teacher runs the consultation graph: the questions, their reasons, the answers and
    # the stop of every dialogue are those of the same consultation held turn by turn through
    # the graph's interrupts, as a person would hold it.
    from langgraph.checkpoint.memory import InMemorySaver

    from agent.consult.graph import compile_graph
    from agent.consult.policy import teacher_stop_text
    from agent.consult.session import Answer, ConsultationSession
    from agent.state import CaseIntake
    from simulator.ddxplus_patient import SimulatedPatient

    teacher = EngineTeacher.build(mini_kb)
    front = ConsultationSession(compile_graph(InMemorySaver()), teacher.session.context)
    settings = TeacherSettings(questions=4, confidence_threshold=0.99)
    stops = set()
    for record in load_patients(mini_kb, mini_patients_csv).records:
        patient = SimulatedPatient(mini_kb, record)
        intake = CaseIntake(
            age=record.age,
            sex=record.sex,
            findings=patient.intake(),
            max_questions=4,
            confidence_threshold=0.99,
        )
        turn = front.start(record.case_id, intake)
        while turn.question is not None:
            turn = front.answer(record.case_id, Answer.of_value(patient.answer(turn.question.code)))
        report = turn.report
        assert report is not None
        dialogue = teach(teacher, record, settings)
        steps = [NextStep.model_validate_json(m.content) for m in dialogue.messages[2:-2:2]]
        answers = [m.content for m in dialogue.messages[3:-2:2]]
        assert [(s.question, s.reason) for s in steps[:-1]] == [
            (t.question, t.reason) for t in report.transcript
        ]
        assert answers == [t.answer for t in report.transcript]
        top = report.differential[0].probability
        assert steps[-1].reason == teacher_stop_text(report.stop_reason, top) != ""
        final = Differential.model_validate_json(dialogue.messages[-1].content)
        assert final.diagnoses[0].name == report.differential[0].name
        stops.add(report.stop_reason)
    assert len(stops) >= 2  # more than one of the graph's stop rules was exercised
