"""Free-text intake: clause splitting, negation scope, embedding match against the KB."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.errors import DdxError
from agent.free_text import (
    FreeTextMatcher,
    LabelledText,
    TextEncoder,
    ddxplus_labels,
    default_encoder,
    question_as_statement,
    read_intake,
    split_clauses,
)
from retrieval.ddxplus_kb import KnowledgeBase


def _items(text: str) -> list[tuple[str, bool]]:
    return [(clause.text, clause.negated) for clause in split_clauses(text)]


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("I have a fever", [("fever", False)]),
        ("No fever, cough or chills.", [("fever", True), ("cough", True), ("chills", True)]),
        ("fever but no cough", [("fever", False), ("cough", True)]),
        ("Denies cough and has a rash", [("cough", True), ("rash", False)]),
        ("I don't have a headache", [("headache", True)]),
        ("without nausea; sore throat", [("nausea", True), ("sore throat", False)]),
        ("She is not vomiting", [("vomiting", True)]),
        ("I've been having headaches", [("headaches", False)]),
        ("negative for chest pain", [("chest pain", True)]),
    ],
)
def test_split_clauses_keeps_the_scope_of_negation(
    message: str, expected: list[tuple[str, bool]]
) -> None:
    assert _items(message) == expected


def test_split_clauses_of_empty_text_is_empty() -> None:
    assert split_clauses(" . ; ") == []


def test_questions_become_statements() -> None:
    assert question_as_statement("Do you have a fever (felt or measured)?") == (
        "a fever (felt or measured)"
    )
    assert question_as_statement("Are you short of breath?") == "short of breath"


@pytest.fixture(scope="module")
def encoder() -> TextEncoder:
    return default_encoder()


def test_matcher_finds_present_and_denied_symptoms(
    encoder: TextEncoder, mini_kb: KnowledgeBase
) -> None:
    matcher = FreeTextMatcher(ddxplus_labels(mini_kb), encoder)
    matches = matcher.match("I've had a fever since Monday but no cough. I smoke.")
    found = {m.label: m.present for m in matches}
    assert found == {"E_1": True, "E_2": False, "E_6": True}
    assert all(0.55 <= m.score <= 1.0 for m in matches)
    assert matches[0].clause.lower().startswith("i've had a fever")


def test_matcher_ignores_what_is_not_in_the_labels(encoder: TextEncoder) -> None:
    matcher = FreeTextMatcher([LabelledText(label="E_1", text="a fever")], encoder)
    assert matcher.match("the weather is nice today") == []


def test_labels_are_the_yes_no_questions_only(mini_kb: KnowledgeBase) -> None:
    labels = {label.label for label in ddxplus_labels(mini_kb)}
    assert "E_4" not in labels and "E_5" not in labels and "E_7" not in labels
    assert {"E_1", "E_2", "E_10"} <= labels


def test_read_intake_needs_a_present_symptom(encoder: TextEncoder, mini_kb: KnowledgeBase) -> None:
    matcher = FreeTextMatcher(ddxplus_labels(mini_kb), encoder)
    reading = read_intake(mini_kb, "short of breath, no rash", matcher)
    assert reading.findings == {"E_10": True, "E_8": False}
    with pytest.raises(DdxError, match="Could not find a symptom"):
        read_intake(mini_kb, "no fever", matcher)


def test_chat_reads_the_first_message_with_say(
    mini_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from agent.cli import app

    monkeypatch.setenv("DDX_STATE_DIR", str(tmp_path))
    args = ["--data-dir", str(mini_data_dir), "chat", "--age", "30", "--sex", "F"]
    args += ["--say", "I've had a fever since Monday, no cough", "--questions", "1"]
    result = CliRunner().invoke(app, [*args, "--no-knowledge"], input="no\n")
    assert result.exit_code == 0, result.output
    assert "understood: Do you have a fever? yes" in result.output
    assert "understood: Do you have a cough? no" in result.output
    nothing = CliRunner().invoke(app, [*args[:-4], "--say", "nice weather", "--no-knowledge"])
    assert nothing.exit_code != 0 and "Could not find a symptom" in str(nothing.exception)
