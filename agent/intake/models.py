"""What the intake reader returns: findings read from a message, grouped into ranked readings.

A *reading* is one way to understand the whole message (a set of findings); the reader offers
several, best first, and the person picks one or none. Every finding keeps the text it matched
and the words of the message behind it, so a front end can show why it was read.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from retrieval.ddxplus_kb import KnowledgeBase, Value
from retrieval.findings import Findings


class ReadFinding(BaseModel):
    """One finding read from a message: a yes/no answer, or one value of an evidence."""

    model_config = ConfigDict(frozen=True)

    code: str = Field(description="Evidence code, e.g. E_55.")
    value: bool | Value = Field(description="True/False for a yes/no evidence, else a value.")
    matched: str = Field(description="The knowledge-base text it matched ('top of the head').")
    said: str = Field(description="The words of the message it was read from.")
    score: float = Field(description="Cosine similarity of those words and the matched text.")
    implied_by: str | None = Field(
        default=None, description="The finding (code) whose presence implies this one."
    )


class Reading(BaseModel):
    """One way to understand the whole message."""

    model_config = ConfigDict(frozen=True)

    findings: tuple[ReadFinding, ...]
    score: float = Field(description="Mean score of the parts of the message it reads.")

    def as_findings(self, kb: KnowledgeBase) -> Findings:
        """The findings in the engine's form: multi-choice values gathered into one sorted list."""
        from retrieval.ddxplus_kb import EvidenceKind

        out: Findings = {}
        for found in self.findings:
            if kb.evidence(found.code).kind is EvidenceKind.MULTI_CHOICE:
                values = out.get(found.code)
                gathered: list[Value] = [*values] if isinstance(values, list) else []
                if not isinstance(found.value, bool):
                    gathered.append(found.value)
                out[found.code] = sorted(set(gathered), key=str)
            else:
                out[found.code] = found.value
        return out

    def regions(self, kb: KnowledgeBase) -> dict[str, list[Value]]:
        """Several-choice evidences named only as a region: one phrase read as several values
        ("chest": upper, lower, both breasts, both sides). The patient has at least one of them,
        not each; the engine scores them so (:meth:`BayesEngine.region_loglik`) and may ask
        which. Values read from phrases of their own ("forehead and temple") stay exact."""
        from retrieval.ddxplus_kb import EvidenceKind

        by_phrase: dict[tuple[str, str], set[Value]] = {}
        for found in self.findings:
            if kb.evidence(found.code).kind is not EvidenceKind.MULTI_CHOICE:
                continue
            if not isinstance(found.value, bool):
                by_phrase.setdefault((found.code, found.matched), set()).add(found.value)
        vague = {code for (code, _), values in by_phrase.items() if len(values) > 1}
        return {
            code: sorted(
                {v for (c, _), values in by_phrase.items() if c == code for v in values}, key=str
            )
            for code in sorted(vague)
        }

    def describe(self, kb: KnowledgeBase) -> str:
        """'pain somewhere: yes; where: top of the head, forehead' — for a person to check."""
        from retrieval.ddxplus_phrases import short_statement

        regions = self.regions(kb)
        parts: dict[str, list[str]] = {}
        vague: set[str] = set()  # statements read as a region: "one or more of" its places
        for found in self.findings:
            ev = kb.evidence(found.code)
            if isinstance(found.value, bool):
                text = "yes" if found.value else "no"
            else:
                text = ev.describe_value(found.value)
            statement = short_statement(ev.question)
            parts.setdefault(statement, []).append(text)
            if found.code in regions:
                vague.add(statement)
        return "; ".join(
            f"{question}: {'one or more of ' if question in vague else ''}{', '.join(texts)}"
            for question, texts in parts.items()
        )

    @property
    def states_a_symptom(self) -> bool:
        """Whether something is present (a consultation cannot start from denials alone)."""
        return any(found.value is not False for found in self.findings)


class IntakeReading(BaseModel):
    """Everything read from one message: its readings, best first (empty: nothing understood)."""

    model_config = ConfigDict(frozen=True)

    text: str
    readings: tuple[Reading, ...] = ()

    @property
    def best(self) -> Reading | None:
        return self.readings[0] if self.readings else None
