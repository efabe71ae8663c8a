"""A simulated rare-disease patient that answers questions about HPO terms from a record.

* **yes** when the asked term or one of its descendants is among the record's observed terms
  (a patient with *Focal seizure* has a *Seizure*);
* **no** when the asked term, or one of its ancestors, is among the record's excluded terms
  (a patient recorded without *Seizure* has no *Focal seizure*);
* otherwise **"I don't know"** (``None``): a real record lists what the authors saw and what
  they ruled out, and says nothing about the rest. ``unmentioned="absent"`` answers "no"
  instead, which is right only for records that are complete by construction (the simulated
  patients of ``simulator.phenotype_generator``).

To a multi-choice question (the review of systems, a checklist of terms) it ticks each choice
by the yes rule and leaves the rest unticked: it says "no" to none of them. Terms outside the
knowledge base are ignored. Yes wins when a record both has a term and excludes an ancestor of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from retrieval.findings import Findings, FindingValue
from retrieval.hpo_kb import HpoKnowledgeBase
from retrieval.hpo_review import choice_terms, is_multi_choice

Unmentioned = Literal["unknown", "absent"]
"""What a term the record does not mention is: unknown (real records) or absent."""


class PhenotypePatient:
    """Answers from a record's terms; holds the ontology to apply the descendant rule."""

    def __init__(
        self,
        kb: HpoKnowledgeBase,
        terms: Sequence[str],
        excluded: Sequence[str] = (),
        unmentioned: Unmentioned = "unknown",
    ) -> None:
        self.kb = kb
        self.unmentioned = unmentioned
        self.terms = _known(kb, terms)
        self.excluded = [t for t in _known(kb, excluded) if t not in self.terms]
        self._yes: set[int] = set()
        for term in self.terms:
            self._yes.update(int(a) for a in kb.ancestors_of(kb.term_index(term)))
        self._excluded = {kb.term_index(t) for t in self.excluded}

    def answer(self, code: str) -> FindingValue:
        """Yes / no / don't know (None) for a term; for a multi-choice question (the review
        of systems, a checklist), the choices the patient has a term under."""
        if is_multi_choice(self.kb, code):
            return [self.kb.term_ids[t] for t in choice_terms(self.kb, code) if t in self._yes]
        current = self.kb.resolve(code)
        if current is None:
            return None if self.unmentioned == "unknown" else False
        index = self.kb.term_index(current)
        if index in self._yes:
            return True
        if self._excluded.intersection(int(a) for a in self.kb.ancestors_of(index)):
            return False
        return None if self.unmentioned == "unknown" else False

    def has(self, code: str) -> bool:
        """Whether ``code`` or one of its descendants is among the patient's terms."""
        current = self.kb.resolve(code)
        return current is not None and self.kb.term_index(current) in self._yes

    def findings(self, terms: Sequence[str] | None = None) -> Findings:
        """The given terms (default: all the patient's) as present findings."""
        return {term: True for term in (self.terms if terms is None else terms)}

    def full_profile(self, with_excluded: bool = True) -> Findings:
        """Every observed term present and (``with_excluded``) every excluded term absent."""
        findings: Findings = dict(self.findings())
        if with_excluded:
            findings.update({term: False for term in self.excluded})
        return findings


def _known(kb: HpoKnowledgeBase, terms: Sequence[str]) -> list[str]:
    """The current ids of the terms the knowledge base knows, each once, in order."""
    resolved = (kb.resolve(term) for term in terms)
    return list(dict.fromkeys(t for t in resolved if t is not None))
