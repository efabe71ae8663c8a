"""The HPO phenotype terms as the graph's finding catalogue: yes/no questions about terms."""

from __future__ import annotations

from agent.findings import FindingValue, InvalidAnswerError, parse_yes_no
from agent.phenotype.phrasing import phrase_term_answer, term_question
from agent.phenotype.review import (
    REVIEW_CODE,
    REVIEW_TEXT,
    normalize_review,
    parse_review,
    phrase_review,
)
from retrieval.hpo_kb import HpoKnowledgeBase


class HpoCatalogue:
    """Every phenotype term is a yes/no finding (``None``: don't know), except the review of
    systems (``agent.phenotype.review``), a multi-choice question over the top-level branches.

    No rare disease is flagged urgent: the annotations carry no severity.
    """

    def __init__(self, kb: HpoKnowledgeBase) -> None:
        self.kb = kb

    def knows(self, code: str) -> bool:
        return self.kb.resolve(code) is not None

    def question_text(self, code: str) -> str:
        if code == REVIEW_CODE:
            return REVIEW_TEXT
        return term_question(self.kb, self.kb.term_index(code))

    def normalize(self, code: str, value: object) -> FindingValue:
        if code == REVIEW_CODE:
            return normalize_review(self.kb, value)
        if value is None or isinstance(value, bool):
            return value
        raise InvalidAnswerError(f"{code} is a yes/no question; got {value!r}.")

    def parse_text(self, code: str, text: str) -> FindingValue:
        if code == REVIEW_CODE:
            return parse_review(self.kb, text)
        return parse_yes_no(text)

    def phrase_answer(self, code: str, value: FindingValue) -> str:
        if code == REVIEW_CODE:
            return phrase_review(self.kb, value)
        return phrase_term_answer(value if isinstance(value, bool) else None)

    def is_present(self, code: str, value: FindingValue) -> bool | None:
        if isinstance(value, list):
            return bool(value)
        return value if isinstance(value, bool) else None

    def is_urgent(self, condition: str) -> bool:
        return False
