"""Yes, no and "don't know": one reading for a typed answer and for a reply in words."""

from __future__ import annotations

import pytest

from retrieval.answers import InvalidAnswerError, parse_yes_no, read_yes_no


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Yes.", True), ("  YEP! ", True), ("I do", True), ("No.", False), ("not really", False)],
)
def test_a_typed_answer_is_read_whole(text: str, expected: bool) -> None:
    assert parse_yes_no(text) is expected


@pytest.mark.parametrize("text", ["I don’t know.", "idk", "?", "skip"])
def test_a_typed_dont_know_is_none(text: str) -> None:
    assert parse_yes_no(text) is None


@pytest.mark.parametrize("text", ["yes no", "yes, I do", "maybe", ""])
def test_a_typed_answer_that_is_more_than_yes_or_no_is_refused(text: str) -> None:
    with pytest.raises(InvalidAnswerError, match="yes, no, or don't know"):
        parse_yes_no(text)


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("Yes, I do.", True),
        ('"Yes," I said.', True),
        ("I have had it for a week.", True),
        ("No, never.", False),
        ("Nope", False),
        ("Not that I know of.", False),
        ("I do not have that.", False),  # the longest opening first: not "I do"
        ("I am not coughing at all.", False),
        ("I'm not sure.", None),
        ("I don’t know, maybe.", None),
        ("It started a year ago.", None),
    ],
)
def test_a_reply_is_read_from_its_opening(reply: str, expected: bool | None) -> None:
    assert read_yes_no(reply) is expected
