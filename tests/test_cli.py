"""The ``ddx`` command on the mini fixture: help, chat (typed, simulated, stopped and resumed),
kb info / fit and the one-message error path (light imports: tests/test_light_imports.py)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from agent.cli import app, main
from agent.errors import DdxError
from tests.conftest import run_ddx

# Age, sex, the complaint in words, pick its first reading ("a cough: yes"), then the two
# questions the engine asks (smoking, then diabetes; an unusable answer in between is asked again).
TYPED_CONSULTATION = "abc\n30\nF\ncough breath\n1\nno\nmaybe\nyes\n"


@pytest.fixture(autouse=True)
def _isolated(isolated_cli: Path) -> None:
    """Consultations saved under tmp_path; nothing from the caller's shell (conftest)."""


ddx = run_ddx


def ok(result: Result) -> str:
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
    return result.output


def test_help_lists_the_commands() -> None:
    output = ok(CliRunner().invoke(app, ["--help"]))

    for command in ("chat", "kb", "eval", "data"):
        assert re.search(rf"^\W*{command}\b", output, re.MULTILINE), command
    assert "not a diagnosis" in output


def test_chat_answered_by_a_person_ends_with_a_differential(
    mini_data_dir: Path, tmp_path: Path
) -> None:
    markdown = tmp_path / "report.md"
    output = ok(ddx(mini_data_dir, "chat", "--markdown", markdown, input=TYPED_CONSULTATION))

    assert "Please give the age as a whole number" in output
    assert "1. a cough: yes" in output
    assert "2. short of breath: yes" in output
    assert "0. none of these" in output
    assert "Q1/10 Do you smoke cigarettes?" in output
    assert "Please answer yes, no, or don't know." in output
    assert "Q2/10 Do you have diabetes?" in output
    assert "Differential diagnosis" in output
    assert re.search(r"1\W+Pneumonia\W+9\d\.\d%", output), "Pneumonia leads with > 90%"
    assert "Do you have a cough: yes" in output  # the picked complaint is a finding
    assert "2 questions asked; stopped: confident." in output
    saved = markdown.read_text(encoding="utf-8")
    assert saved.startswith("# Differential diagnosis")
    assert "| 1 | Pneumonia |" in saved


def test_chat_with_a_simulated_patient_runs_unattended(
    mini_data_dir: Path, mini_patients_csv: Path
) -> None:
    result = ddx(mini_data_dir, "chat", "--patient-file", mini_patients_csv, "--patient", "1")

    output = ok(result)
    assert "Simulated patient patients.csv:2: 34 y, F, complaint: Do you have a fever?" in output
    assert "Differential diagnosis" in output
    assert "questions asked; stopped:" in output
    assert "ground truth: Flu" in output


def test_chat_patient_number_beyond_the_file_is_a_clear_error(
    mini_data_dir: Path, mini_patients_csv: Path
) -> None:
    result = ddx(mini_data_dir, "chat", "--patient-file", mini_patients_csv, "--patient", "9")

    assert isinstance(result.exception, DdxError)
    assert "4 usable patients" in str(result.exception)


def test_chat_stopped_by_eof_resumes_with_its_id(mini_data_dir: Path) -> None:
    stopped = ddx(mini_data_dir, "chat", input="30\nF\ncough breath\n1\nno\n")

    assert isinstance(stopped.exception, DdxError)
    message = str(stopped.exception)
    found = re.search(r"ddx chat --resume (\w+)$", message)
    assert found, message
    thread_id = found.group(1)
    assert f"consultation id {thread_id}" in stopped.output
    assert "Q2/10 Do you have diabetes?" in stopped.output

    resumed = ok(ddx(mini_data_dir, "chat", "--resume", thread_id, input="yes\n"))

    assert f"Resuming consultation {thread_id}." in resumed
    assert "Do you smoke cigarettes?" not in resumed.split("Differential diagnosis")[0]
    assert "Q2/10 Do you have diabetes?" in resumed
    assert "2 questions asked; stopped: confident." in resumed
    assert "Do you smoke cigarettes: no" in resumed  # the answer given before the stop


def test_chat_resume_of_an_unknown_id_is_refused(mini_data_dir: Path) -> None:
    result = ddx(mini_data_dir, "chat", "--resume", "nosuchid")

    assert isinstance(result.exception, DdxError)
    assert "nosuchid" in str(result.exception)


def test_kb_info_shows_the_quirk(mini_data_dir: Path) -> None:
    output = ok(ddx(mini_data_dir, "kb", "info"))

    assert "4 conditions, 10 evidences" in output
    assert "evidence kinds: binary 7, categorical 2, multi_choice 1" in output
    assert "release quirks handled:" in output
    assert "E_9 names parent question E_99" in output
    # The shipped model is for the DDXPlus release: on this knowledge base it says why not.
    assert "likelihood model: structural" in output
    assert "the shipped model is not used" in output


def test_kb_info_names_a_fitted_model_and_its_inputs(
    mini_data_dir: Path, mini_patients_csv: Path, tmp_path: Path
) -> None:
    model = tmp_path / "model.npz"
    ok(ddx(mini_data_dir, "kb", "fit", "--patients", mini_patients_csv, "--out", model))

    output = ok(ddx(mini_data_dir, "kb", "info", "--model", model))

    assert f"likelihood model: {model.resolve()}" in output
    assert "patients: patients.csv (sha256 " in output
    assert "differential list: threshold" in output


def test_kb_fit_refuses_to_overwrite_and_needs_an_input(
    mini_data_dir: Path, mini_patients_csv: Path, tmp_path: Path
) -> None:
    model = tmp_path / "model.npz"
    ok(ddx(mini_data_dir, "kb", "fit", "--patients", mini_patients_csv, "--out", model))
    again = ddx(mini_data_dir, "kb", "fit", "--patients", mini_patients_csv, "--out", model)
    assert isinstance(again.exception, DdxError) and "--force" in str(again.exception)
    nothing = ddx(mini_data_dir, "kb", "fit", "--out", tmp_path / "other.npz")
    assert isinstance(nothing.exception, DdxError) and "--stats" in str(nothing.exception)


def test_kb_fit_writes_a_model_that_chat_and_eval_accept(
    mini_data_dir: Path, mini_patients_csv: Path, tmp_path: Path
) -> None:
    model = tmp_path / "models" / "model.npz"

    fitted = ok(ddx(mini_data_dir, "kb", "fit", "--patients", mini_patients_csv, "--out", model))

    assert "4 patients loaded, 4 rows skipped" in fitted
    assert f"wrote {model}" in fitted.replace("\n", "")
    assert model.is_file() and model.stat().st_size > 0

    chat = ok(
        ddx(
            mini_data_dir,
            "chat",
            "--model",
            model,
            "--patient-file",
            mini_patients_csv,
            "--patient",
            "2",
        )
    )
    assert "ground truth: Pneumonia" in chat

    run = tmp_path / "run"
    ok(
        ddx(
            mini_data_dir,
            "eval",
            "ddxplus",
            "--patients",
            mini_patients_csv,
            "--out",
            run,
            "--questions",
            "3",
            "--model",
            model,
        )
    )
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    assert summary["n"] == 4
    config = json.loads((run / "run.json").read_text(encoding="utf-8"))
    assert config["model"].startswith(f"{model.resolve()} sha256:")


def test_a_model_that_is_not_there_is_refused(mini_data_dir: Path, tmp_path: Path) -> None:
    result = ddx(mini_data_dir, "chat", "--model", tmp_path / "missing.npz", "--complaint", "E_1")

    assert isinstance(result.exception, DdxError)
    assert "ddx kb fit" in str(result.exception)


def test_missing_data_dir_gives_one_clear_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere"
    monkeypatch.setattr(sys, "argv", ["ddx", "--data-dir", str(missing), "kb", "info"])

    with pytest.raises(SystemExit) as stopped:
        main()

    assert stopped.value.code == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: ")
    assert str(missing / "ddxplus" / "release_evidences.json") in lines[0]
    assert "ddx data fetch ddxplus" in lines[0]
    assert "Traceback" not in captured.err + captured.out
