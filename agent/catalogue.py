"""What the consultation graph needs to know about findings, whatever the knowledge base.

The graph asks questions, reads answers, phrases them for transcripts and flags urgent
conditions; how depends on the knowledge base (DDXPlus evidences with kinds and choices, HPO
terms answered yes/no). :class:`FindingCatalogue` is that narrow interface;
:class:`DdxPlusCatalogue` implements it over the DDXPlus knowledge base, and
``agent.reasoners.hpo.catalogue.HpoCatalogue`` over the HPO one.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from retrieval.ddxplus_kb import KnowledgeBase
from retrieval.findings import (
    FindingValue,
    is_present,
    normalize,
    parse_text_answer,
)
from simulator.ddxplus_patient import phrase_answer


@runtime_checkable
class FindingCatalogue(Protocol):
    """The findings a knowledge base knows: question text, answer reading and phrasing."""

    def knows(self, code: str) -> bool:
        """Whether ``code`` is a finding of this knowledge base."""
        ...

    def question_text(self, code: str) -> str:
        """The question about ``code`` as the patient reads it."""
        ...

    def normalize(self, code: str, value: object) -> FindingValue:
        """A structured answer in canonical form; InvalidAnswerError when it does not fit."""
        ...

    def parse_text(self, code: str, text: str) -> FindingValue:
        """What a person typed as an answer; InvalidAnswerError with a hint when unusable."""
        ...

    def phrase_answer(self, code: str, value: FindingValue) -> str:
        """The answer in plain English ('Yes.', 'About 7 out of 10.')."""
        ...

    def is_present(self, code: str, value: FindingValue) -> bool | None:
        """Whether the answer says the finding is there (None: the patient did not know)."""
        ...

    def is_urgent(self, condition: str) -> bool:
        """Whether a condition must not be missed when it has real probability."""
        ...


class DdxPlusCatalogue:
    """The DDXPlus evidences (binary, categorical, multi-choice) as a finding catalogue."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb

    def knows(self, code: str) -> bool:
        return code in self.kb.evidences

    def question_text(self, code: str) -> str:
        return self.kb.evidence(code).question

    def normalize(self, code: str, value: object) -> FindingValue:
        return normalize(self.kb.evidence(code), value)

    def parse_text(self, code: str, text: str) -> FindingValue:
        return parse_text_answer(self.kb.evidence(code), text)

    def phrase_answer(self, code: str, value: FindingValue) -> str:
        return phrase_answer(self.kb, code, value)

    def is_present(self, code: str, value: FindingValue) -> bool | None:
        return is_present(self.kb.evidence(code), value)

    def is_urgent(self, condition: str) -> bool:
        cond = self.kb.conditions.get(condition)
        return cond is not None and cond.is_urgent
