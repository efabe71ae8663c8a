"""Findings: what is known about the patient, one value per evidence code.

A finding's value depends on the evidence's kind:

=============  ==========================================  ==========================
kind           value                                       "absent" is
=============  ==========================================  ==========================
binary         ``True`` / ``False``                        ``False``
categorical    one value code ``"V_n"`` or scale point     the evidence's default
multi-choice   a sorted list of value codes                ``[default]``
any            ``None``: the patient does not know         (neither)
=============  ==========================================  ==========================

Values stay plain JSON types so the graph's checkpoints serialise them cheaply.
"""

from __future__ import annotations

import re

from retrieval.answers import NO, UNKNOWN, normalise_answer, parse_yes_no
from retrieval.answers import InvalidAnswerError as InvalidAnswerError
from retrieval.ddxplus_kb import Evidence, EvidenceKind, Value

FindingValue = bool | Value | list[Value] | None
Findings = dict[str, FindingValue]


def absent_value(ev: Evidence) -> FindingValue:
    """The value that means 'no' for this evidence."""
    if ev.kind is EvidenceKind.BINARY:
        return False
    if ev.kind is EvidenceKind.MULTI_CHOICE:
        return [ev.default]
    return ev.default


def is_present(ev: Evidence, value: FindingValue) -> bool | None:
    """Whether the finding says the evidence is there (None when the patient did not know)."""
    if value is None:
        return None
    if ev.kind is EvidenceKind.BINARY:
        return bool(value)
    if ev.kind is EvidenceKind.MULTI_CHOICE:
        assert isinstance(value, list)
        return any(v != ev.default for v in value)
    return value != ev.default


def normalize(ev: Evidence, value: object) -> FindingValue:
    """Check a structured answer against the question and return its canonical form."""
    if value is None:
        return None
    if ev.kind is EvidenceKind.BINARY:
        if isinstance(value, bool):
            return value
        raise InvalidAnswerError(f"{ev.code} is a yes/no question; got {value!r}.")
    if ev.kind is EvidenceKind.CATEGORICAL:
        if not _is_value_of(ev, value):
            raise InvalidAnswerError(f"{ev.code} takes one of {list(ev.values)}; got {value!r}.")
        assert isinstance(value, str | int)
        return value
    items = list(value) if isinstance(value, list | tuple | set | frozenset) else [value]
    picked = [v for v in items if _is_value_of(ev, v) and isinstance(v, str | int)]
    if not items or len(picked) != len(items):
        raise InvalidAnswerError(f"{ev.code} takes values from {list(ev.values)}; got {value!r}.")
    chosen: list[Value] = sorted({v for v in picked if v != ev.default}, key=str)
    return chosen if chosen else [ev.default]


def _is_value_of(ev: Evidence, value: object) -> bool:
    """Exactly one of the evidence's values: True is not 1 and 4.0 is not 4 here."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return False
    return value in ev.values


def parse_text_answer(ev: Evidence, text: str) -> FindingValue:
    """Turn what a person typed into a finding value.

    Accepts yes/no/don't-know words for every kind ("no" means the absent value), a choice's
    number as shown by :func:`choices`, a value's text, or a 0–10 number for scales; several
    choices are separated by commas. Raises InvalidAnswerError with a hint otherwise.
    """
    said = normalise_answer(text)
    if said in UNKNOWN:
        return None
    if ev.kind is EvidenceKind.BINARY:
        return parse_yes_no(text)
    if said in NO:
        return absent_value(ev)
    options = choices(ev)
    tokens = [t.strip() for t in re.split(r"[,;]| and ", said) if t.strip()]
    picked: list[Value] = []
    for token in tokens:
        value = _match_choice(ev, options, token)
        if value is None:
            raise InvalidAnswerError(_choice_hint(ev))
        picked.append(value)
    if ev.kind is EvidenceKind.CATEGORICAL:
        if len(picked) != 1:
            raise InvalidAnswerError(f"Please give one answer. {_choice_hint(ev)}")
        return picked[0]
    return normalize(ev, picked)


def choices(ev: Evidence) -> list[tuple[str, Value]]:
    """The numbered options shown to a person: (label, value), absent value excluded."""
    if ev.kind is EvidenceKind.BINARY:
        return []
    return [(ev.describe_value(v), v) for v in ev.non_default_values]


def _match_choice(ev: Evidence, options: list[tuple[str, Value]], token: str) -> Value | None:
    if ev.is_scale:
        return ev.parse_value(token)
    if token.isdigit() and 1 <= int(token) <= len(options):
        return options[int(token) - 1][1]
    for label, value in options:
        if label.lower() == token:
            return value
    return None


def _choice_hint(ev: Evidence) -> str:
    if ev.is_scale:
        return "Please answer with a number from 0 to 10, or don't know."
    return (
        "Please answer with the number of a choice (several separated by commas), "
        "no, or don't know."
    )
