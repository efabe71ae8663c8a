"""Finding values: absent values, presence, normalisation, and reading what a person typed."""

from __future__ import annotations

import pytest

from retrieval.ddxplus_kb import Evidence, KnowledgeBase
from retrieval.findings import (
    InvalidAnswerError,
    absent_value,
    choices,
    is_present,
    normalize,
    parse_text_answer,
)

# Mini KB: E_1 binary (fever), E_7 categorical (travel: V_10 'N' default, V_20 Africa, V_21 Asia),
# E_4 multi-choice (pain location: V_0 default, V_1 chest, V_2 throat, V_3 head), E_5 scale 0–10.


@pytest.fixture
def ev(mini_kb: KnowledgeBase):
    def get(code: str) -> Evidence:
        return mini_kb.evidence(code)

    return get


# -- absent and present -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "absent"), [("E_1", False), ("E_7", "V_10"), ("E_4", ["V_0"]), ("E_5", 0)]
)
def test_absent_value_per_kind(ev, code, absent):
    assert absent_value(ev(code)) == absent
    assert is_present(ev(code), absent) is False


@pytest.mark.parametrize(
    ("code", "value", "present"),
    [
        ("E_1", True, True),
        ("E_7", "V_21", True),
        ("E_4", ["V_2"], True),
        ("E_4", ["V_0", "V_2"], True),
        ("E_5", 3, True),
        ("E_1", None, None),
        ("E_4", None, None),
    ],
)
def test_is_present(ev, code, value, present):
    assert is_present(ev(code), value) is present


# -- parse_text_answer: yes / no / don't know ---------------------------------------------------


@pytest.mark.parametrize("text", ["yes", "Yes.", "  YEP! ", "yeah", "y", "sure", "I do", "1"])
def test_yes_variants(ev, text):
    assert parse_text_answer(ev("E_1"), text) is True


@pytest.mark.parametrize("text", ["no", "No.", "NOPE", "n", "never", "I don't", "not really", "0"])
def test_no_variants(ev, text):
    assert parse_text_answer(ev("E_1"), text) is False


@pytest.mark.parametrize(
    "text", ["I don't know", "I don’t know.", "don't know", "idk", "?", "not sure", "skip"]
)
@pytest.mark.parametrize("code", ["E_1", "E_7", "E_4", "E_5"])
def test_dont_know_is_none_for_every_kind(ev, code, text):
    assert parse_text_answer(ev(code), text) is None


@pytest.mark.parametrize(("code", "absent"), [("E_7", "V_10"), ("E_4", ["V_0"]), ("E_5", 0)])
@pytest.mark.parametrize("text", ["no", "No.", "none", "nope"])
def test_no_means_the_absent_value(ev, code, absent, text):
    assert parse_text_answer(ev(code), text) == absent


@pytest.mark.parametrize("text", ["maybe", "yes no", "fever", ""])
def test_nonsense_to_a_yes_no_question(ev, text):
    with pytest.raises(InvalidAnswerError, match="yes, no, or don't know"):
        parse_text_answer(ev("E_1"), text)


# -- parse_text_answer: choices and scales ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"), [("1", "V_20"), ("2", "V_21"), ("Asia", "V_21"), ("africa.", "V_20")]
)
def test_one_choice_by_number_or_text(ev, text, value):
    assert parse_text_answer(ev("E_7"), text) == value


def test_several_answers_to_a_one_choice_question(ev):
    with pytest.raises(InvalidAnswerError, match="Please give one answer"):
        parse_text_answer(ev("E_7"), "1, 2")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1, 3", ["V_1", "V_3"]),
        ("3,1", ["V_1", "V_3"]),
        ("head and chest", ["V_1", "V_3"]),
        ("2; Head", ["V_2", "V_3"]),
        ("2, 2", ["V_2"]),
        ("throat", ["V_2"]),
    ],
)
def test_several_choices(ev, text, value):
    assert parse_text_answer(ev("E_4"), text) == value


@pytest.mark.parametrize(("code", "text"), [("E_7", "3"), ("E_7", "Europe"), ("E_4", "1, elbow")])
def test_a_choice_that_is_not_offered(ev, code, text):
    with pytest.raises(InvalidAnswerError, match="number of a choice") as info:
        parse_text_answer(ev(code), text)
    assert "don't know" in str(info.value)


@pytest.mark.parametrize(("text", "value"), [("7", 7), ("10", 10), (" 3. ", 3), ("0", 0)])
def test_scale_numbers(ev, text, value):
    answer = parse_text_answer(ev("E_5"), text)
    assert answer == value
    assert type(answer) is int


@pytest.mark.parametrize("text", ["11", "-1", "seven", "3, 4", "very bad"])
def test_a_scale_answer_out_of_range(ev, text):
    with pytest.raises(InvalidAnswerError, match="number from 0 to 10"):
        parse_text_answer(ev("E_5"), text)


# -- choices ------------------------------------------------------------------------------------


def test_choices_leave_out_the_absent_value(ev):
    assert choices(ev("E_7")) == [("Africa", "V_20"), ("Asia", "V_21")]
    assert choices(ev("E_4")) == [("chest", "V_1"), ("throat", "V_2"), ("head", "V_3")]
    assert choices(ev("E_5")) == [(f"{n}/10", n) for n in range(1, 11)]
    assert choices(ev("E_1")) == []


# -- normalize ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "value", "expected"),
    [
        ("E_1", True, True),
        ("E_1", False, False),
        ("E_1", None, None),
        ("E_7", "V_21", "V_21"),
        ("E_7", "V_10", "V_10"),
        ("E_5", 7, 7),
        ("E_4", ["V_3", "V_1"], ["V_1", "V_3"]),
        ("E_4", ("V_2",), ["V_2"]),
        ("E_4", "V_2", ["V_2"]),
        ("E_4", ["V_0", "V_2"], ["V_2"]),
        ("E_4", ["V_0"], ["V_0"]),
        ("E_4", frozenset({"V_3", "V_1"}), ["V_1", "V_3"]),
    ],
)
def test_normalize_returns_the_canonical_form(ev, code, value, expected):
    assert normalize(ev(code), value) == expected


@pytest.mark.parametrize(
    ("code", "value"),
    [
        ("E_1", 1),
        ("E_1", "yes"),
        ("E_1", [True]),
        ("E_7", "V_99"),
        ("E_7", ["V_20"]),
        ("E_7", "Africa"),
        ("E_5", 11),
        ("E_5", "7"),
        ("E_5", [7]),
        ("E_4", []),
        ("E_4", ["V_9"]),
        ("E_4", ["V_1", "V_9"]),
        ("E_4", 1),
    ],
)
def test_normalize_rejects_wrong_types_and_values(ev, code, value):
    with pytest.raises(InvalidAnswerError) as info:
        normalize(ev(code), value)
    assert code in str(info.value)


def test_normalize_rejects_a_bool_for_a_scale(ev):
    # True == 1, so a plain `value in ev.values` would take True for the scale point 1.
    with pytest.raises(InvalidAnswerError):
        normalize(ev("E_5"), True)


def test_normalize_rejects_a_float_for_a_scale_with_invalid_answer_error(ev):
    # 4.0 == 4: it must be an InvalidAnswerError, not an AssertionError further down.
    with pytest.raises(InvalidAnswerError):
        normalize(ev("E_5"), 4.0)
