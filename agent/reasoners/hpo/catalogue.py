"""The HPO phenotype terms as the graph's finding catalogue: yes/no questions about terms."""

from __future__ import annotations

from agent.reasoners.hpo.phrasing import phrase_term_answer, term_question
from retrieval.answers import InvalidAnswerError, parse_yes_no
from retrieval.findings import FindingValue
from retrieval.hpo_kb import HpoKnowledgeBase
from retrieval.hpo_review import (
    is_multi_choice,
    normalize_choices,
    parse_choices,
    phrase_choices,
    question_text,
)


class HpoCatalogue:
    """Every phenotype term is a yes/no finding (``None``: don't know), except the review of
    systems and the checklists (``retrieval.hpo_review``), multi-choice questions over
    several terms.

    No rare disease is flagged urgent: the annotations carry no severity.
    """

    def __init__(self, kb: HpoKnowledgeBase) -> None:
        self.kb = kb

    def knows(self, code: str) -> bool:
        return self.kb.resolve(code) is not None or is_multi_choice(self.kb, code)

    def question_text(self, code: str) -> str:
        if is_multi_choice(self.kb, code):
            return question_text(self.kb, code)
        return term_question(self.kb, self.kb.term_index(code))

    def normalize(self, code: str, value: object) -> FindingValue:
        if is_multi_choice(self.kb, code):
            return normalize_choices(self.kb, code, value)
        if value is None or isinstance(value, bool):
            return value
        raise InvalidAnswerError(f"{code} is a yes/no question; got {value!r}.")

    def parse_text(self, code: str, text: str) -> FindingValue:
        if is_multi_choice(self.kb, code):
            return parse_choices(self.kb, code, text)
        return parse_yes_no(text)

    def phrase_answer(self, code: str, value: FindingValue) -> str:
        if is_multi_choice(self.kb, code):
            return phrase_choices(self.kb, code, value)
        return phrase_term_answer(value if isinstance(value, bool) else None)

    def is_present(self, code: str, value: FindingValue) -> bool | None:
        if isinstance(value, list):
            return bool(value)
        return value if isinstance(value, bool) else None

    def is_urgent(self, condition: str) -> bool:
        return False
