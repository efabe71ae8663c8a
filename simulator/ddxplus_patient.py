"""A simulated patient that answers the agent's questions from a DDXPlus record.

The record lists only the evidences the patient has; anything else is absent, so the answer is
"no" (binary) or the evidence's default value (categorical, multi-choice). The same answers can be
phrased in plain English for the chat path and for transcripts.
"""

from __future__ import annotations

from retrieval.ddxplus_kb import EvidenceKind, KnowledgeBase
from retrieval.findings import Findings, FindingValue, absent_value, is_present
from simulator.records import PatientRecord


class SimulatedPatient:
    """Answers from one record; holds the knowledge base to know each question's kind."""

    def __init__(self, kb: KnowledgeBase, record: PatientRecord) -> None:
        self.kb = kb
        self.record = record

    def answer(self, code: str) -> FindingValue:
        """The structured answer to evidence ``code``: the record's value or the absent value."""
        ev = self.kb.evidence(code)
        if code in self.record.evidences:
            return self.record.evidences[code]
        return absent_value(ev)

    def say(self, code: str) -> str:
        """The same answer in plain English, as a patient would type it."""
        return phrase_answer(self.kb, code, self.answer(code))

    def intake(self) -> Findings:
        """What the patient says on arrival: the chief complaint (initial evidence)."""
        code = self.record.initial_evidence
        return {code: self.answer(code)}

    def full_profile(self) -> Findings:
        """Every question's answer, as if all were asked: children only under present parents.

        DDXPlus records also carry the default value of a condition's child questions when the
        parent is absent (a patient without pain has "pain radiates: nowhere"); nobody would be
        asked those, so they are left out. A child the record has *present* is kept.
        """
        findings: Findings = {}
        for code, ev in self.kb.evidences.items():
            answer = self.answer(code)
            if ev.parent is not None and not is_present(ev, answer):
                parent_value = self.answer(ev.parent)
                if not is_present(self.kb.evidence(ev.parent), parent_value):
                    continue
            findings[code] = answer
        return findings


def phrase_answer(kb: KnowledgeBase, code: str, value: FindingValue) -> str:
    """Plain-English answer: 'Yes.', 'No.', 'About 7 out of 10.', 'Tonsil(R) and groin(L).'"""
    ev = kb.evidence(code)
    if value is None:
        return "I don't know."
    present = is_present(ev, value)
    if ev.kind is EvidenceKind.BINARY:
        return "Yes." if present else "No."
    if not present:
        return "No." if not ev.is_scale else "Not at all (0 out of 10)."
    if ev.is_scale:
        return f"About {value} out of 10."
    picked = value if isinstance(value, list) else [value]
    texts = [ev.describe_value(v) for v in picked if v != ev.default]
    sentence = texts[0] if len(texts) == 1 else ", ".join(texts[:-1]) + " and " + texts[-1]
    return sentence[:1].upper() + sentence[1:] + "."
