"""A simulated rare-disease patient that answers yes/no questions about HPO terms.

The answer is yes when the asked term or one of its descendants is among the patient's terms
(a patient with *Focal seizure* has a *Seizure*), no otherwise; to the review of systems it
ticks each branch by the same rule. Terms outside the knowledge base are ignored.
"""

from __future__ import annotations

from collections.abc import Sequence

from agent.findings import Findings, FindingValue
from agent.phenotype.review import REVIEW_CODE, review_branches
from retrieval.hpo_kb import HpoKnowledgeBase


class PhenotypePatient:
    """Answers from a list of HPO terms; holds the ontology to apply the descendant rule."""

    def __init__(self, kb: HpoKnowledgeBase, terms: Sequence[str]) -> None:
        self.kb = kb
        self.terms = [t for t in (kb.resolve(term) for term in terms) if t is not None]
        self._yes: set[int] = set()
        for term in self.terms:
            self._yes.update(int(a) for a in kb.ancestors_of(kb.term_index(term)))

    def answer(self, code: str) -> FindingValue:
        """True when ``code`` or one of its descendants is among the patient's terms; for the
        review of systems, the branches for which that holds."""
        if code == REVIEW_CODE:
            return [self.kb.term_ids[t] for t in review_branches(self.kb) if t in self._yes]
        return self.has(code)

    def has(self, code: str) -> bool:
        """Whether ``code`` or one of its descendants is among the patient's terms."""
        current = self.kb.resolve(code)
        return current is not None and self.kb.term_index(current) in self._yes

    def findings(self, terms: Sequence[str] | None = None) -> Findings:
        """The given terms (default: all the patient's) as present findings."""
        return {term: True for term in (self.terms if terms is None else terms)}
