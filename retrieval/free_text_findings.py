"""Findings of a free-text consultation (iCraft-MD): what the patient said first, and each
question the doctor asked in their own words with the patient's reply.

There is no knowledge base of findings to name them by, so a finding's code carries the
question itself, numbered so that a question asked twice stays two findings:
``"Q3: Does it itch?"``. The opening statement is the finding :data:`OPENING`.
"""

from __future__ import annotations

import re

OPENING = "opening"
"""The code of what the patient says first (the vignette's chief complaint)."""
OPENING_QUESTION = "What brings you here today?"

_QUESTION_CODE = re.compile(r"^Q(\d+): (.*)$", re.S)


def question_code(number: int, question: str) -> str:
    """The code of the ``number``-th question asked (1-based)."""
    return f"Q{number}: {question}"


def is_question_code(code: str) -> bool:
    return _QUESTION_CODE.match(code) is not None


def question_of(code: str) -> str:
    """The question a code stands for (the opening's question for :data:`OPENING`)."""
    if code == OPENING:
        return OPENING_QUESTION
    matched = _QUESTION_CODE.match(code)
    return matched.group(2) if matched else code
