"""`ddx intake` (text, --json, --eval, one-line errors) and the chat's intake (numbered readings
with "none of these"), on the mini knowledge base with the real bundled encoder."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from agent.cli import main
from agent.errors import DataFormatError, DdxError
from agent.intake.models import IntakeReading, ReadFinding, Reading
from eval.intake_phrases import Phrase, load_phrases, parse_expected, score_phrase, summarise
from retrieval.ddxplus_kb import KnowledgeBase
from tests.conftest import run_ddx


@pytest.fixture(autouse=True)
def _isolated(isolated_cli: Path) -> None:
    """State under tmp_path; nothing from the caller's shell (conftest)."""


ddx = run_ddx


def test_intake_json_prints_each_finding_with_what_it_matched(mini_data_dir: Path) -> None:
    result = ddx(mini_data_dir, "intake", "I have a headache and no fever", "--json")
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    found = {(f["code"], f["value"]): f for f in printed["findings"]}
    assert set(found) == {("E_3", True), ("E_4", "V_3"), ("E_1", False)}
    head = found[("E_4", "V_3")]
    assert head["value_text"] == "head" and head["matched"] == "head"
    assert head["said"] == "I have a headache and no fever" and 0 < head["score"] <= 1
    assert printed["readings"][0]["rank"] == 1
    assert printed["readings"][0]["label"] == (
        "pain somewhere: yes; Where is the pain: head; a fever: no"
    )


def test_intake_text_lists_the_readings_and_none_of_these(mini_data_dir: Path) -> None:
    result = ddx(mini_data_dir, "intake", "a bad cough and a fever")
    assert result.exit_code == 0, result.output
    assert "1. a cough: yes; a fever: yes" in result.output
    assert "E_2 = yes" in result.output and "0. none of these" in result.output
    nothing = ddx(mini_data_dir, "intake", "the weather is lovely")
    assert nothing.exit_code == 0 and "Nothing in that text matches" in nothing.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "Give either the TEXT to read or --eval FILE"),
        (["fever", "--eval", "x.jsonl"], "Give either the TEXT to read or --eval FILE"),
        (["   "], "The text to read is empty"),
        (["--eval", "missing.jsonl"], "missing.jsonl not found"),
    ],
)
def test_intake_mistakes_are_one_line_errors(
    mini_data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    monkeypatch.setattr(sys, "argv", ["ddx", "--data-dir", str(mini_data_dir), "intake", *args])
    with pytest.raises(SystemExit) as stopped:
        main()
    assert stopped.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_intake_eval_scores_a_phrase_file(mini_data_dir: Path, tmp_path: Path) -> None:
    phrases = tmp_path / "phrases.jsonl"
    lines = [
        {"text": "a bad cough and a fever", "expect": ["E_2", "E_1"]},
        {"text": "I have a headache", "expect": ["E_3", "E_4=head"]},
        {"text": "no fever", "expect": ["!E_1"], "allow": []},
        {"text": "hello there", "expect": []},
    ]
    phrases.write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")
    result = ddx(mini_data_dir, "intake", "--eval", phrases, "--json")
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)[str(phrases)]
    assert scores["phrases"] == 4
    assert scores["precision"] == 1.0 and scores["recall"] == 1.0 and scores["exact"] == 1.0


def _read(*findings: ReadFinding) -> IntakeReading:
    return IntakeReading(text="t", readings=(Reading(findings=findings, score=1.0),))


def _finding(code: str, value: bool | str) -> ReadFinding:
    return ReadFinding(code=code, value=value, matched="m", said="t", score=1.0)


def test_scoring_counts_right_wrong_neutral_and_missed(mini_kb: KnowledgeBase) -> None:
    phrase = Phrase(text="t", expect=["E_3", "E_4=head|throat", "!E_1"], allow=["E_2"])
    read = _read(
        _finding("E_3", True),
        _finding("E_4", "V_3"),
        _finding("E_4", "V_2"),  # both values in the expected alternatives: one right finding
        _finding("E_2", True),  # allowed: neutral
        _finding("E_10", True),  # wrong
    )
    score = score_phrase(mini_kb, phrase, read)
    assert (score.right, score.neutral) == (2, 1)
    assert (score.wrong, score.missing) == (["E_10=True"], ["!E_1"])
    summary = summarise(mini_kb, [phrase], [read])
    assert summary.precision == round(2 / 3, 3) and summary.recall == round(2 / 3, 3)
    assert summary.exact == 0.0 and not summary.details[0].in_readings


def test_expected_findings_are_checked_against_the_knowledge_base(mini_kb: KnowledgeBase) -> None:
    assert parse_expected(mini_kb, "E_4=head|V_1").values == frozenset({"V_3", "V_1"})
    assert parse_expected(mini_kb, "!E_1").present is False
    with pytest.raises(DataFormatError, match="E_404"):
        parse_expected(mini_kb, "E_404")
    with pytest.raises(DataFormatError, match="'knee' is not a value of E_4"):
        parse_expected(mini_kb, "E_4=knee")


def test_a_malformed_phrase_file_names_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fever", "expect": ["E_1"]}\n{"text": ""}\n', encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"bad\.jsonl:2"):
        load_phrases(bad)


# -- the chat's intake ----------------------------------------------------------------------


def test_chat_shows_the_readings_of_say_and_takes_the_pick(mini_data_dir: Path) -> None:
    args = ["chat", "--age", "30", "--sex", "F", "--questions", "1", "--no-knowledge"]
    result = ddx(
        mini_data_dir, *args, "--say", "I've had a fever since Monday, no cough", input="1\nno\n"
    )
    assert result.exit_code == 0, result.output
    assert "1. a fever: yes; a cough: no" in result.output
    assert "0. none of these" in result.output
    assert "understood: Do you have a fever? yes" in result.output
    assert "understood: Do you have a cough? no" in result.output


def test_chat_none_of_these_asks_again(mini_data_dir: Path) -> None:
    args = ["chat", "--age", "30", "--sex", "F", "--questions", "1", "--no-knowledge"]
    typed = "0\nmy head hurts\n1\nno\n"  # reject the reading of "cough", describe it again
    result = ddx(mini_data_dir, *args, "--complaint", "cough", input=typed)
    assert result.exit_code == 0, result.output
    assert "What brings the patient in?" in result.output
    assert "understood: Do you have pain somewhere? yes" in result.output
    assert "understood: Where is the pain? head" in result.output
    assert "understood: Do you have a cough? yes" not in result.output


def test_chat_with_nothing_understood_asks_again_then_stops_clearly(mini_data_dir: Path) -> None:
    args = ["chat", "--age", "30", "--sex", "F", "--no-knowledge", "--say", "nice weather"]
    result = ddx(mini_data_dir, *args, input="")
    assert "Nothing in that names a symptom" in result.output
    assert isinstance(result.exception, DdxError)
    assert "no complaint chosen" in str(result.exception)
