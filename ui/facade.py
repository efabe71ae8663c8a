"""The one object the Streamlit script talks to: a browser session's view of consultations.

:class:`ui.engines.Engine` is what loads once per process (knowledge base, agents, graph and
checkpointer, history index); :class:`ConsultFacade` is per browser session (kept in
``st.session_state``) and holds only which consultation is open, on which knowledge (common
conditions or rare diseases), and where it stands. Nothing here imports Streamlit, so the same
object is driven directly by tests.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from agent.consult.session import Answer, PendingQuestion, Turn
from agent.errors import DdxError
from agent.report import FinalReport, PatientSummary, to_markdown
from agent.report_html import markdown_to_html
from agent.state import CaseIntake
from retrieval.findings import FindingValue, absent_value
from ui.complaint import ComplaintOption, complaint_options
from ui.engines import KNOWLEDGE_LABELS, Engine, Knowledge, freeze_long_lived_objects
from ui.history_store import ConsultationEntry
from ui.identity import new_thread_id
from ui.rare import PhenotypeDraft, disease_references


@dataclass(frozen=True)
class Limits:
    """Per-consultation limits a person sets on the settings page."""

    max_questions: int
    confidence_threshold: float
    refinement_rounds: int = 1
    """The driver's refinement rounds ($DDX_REFINEMENT_ROUNDS; not on the settings page yet)."""


def intake_problem(age: int | None, sex: str | None, complaint: str) -> str | None:
    """What the intake still lacks, as one sentence; None when age, sex and complaint are in."""
    missing = [
        name for name, given in (("age", age is not None), ("sex", sex in ("F", "M"))) if not given
    ]
    if not complaint.strip():
        missing.append("presenting complaint")
    if not missing:
        return None
    listed = " and ".join(missing) if len(missing) < 3 else "age, sex and presenting complaint"
    return f"Enter the patient's {listed} to start."


class ConsultFacade:
    """One browser session: its user, the open consultation, and the actions on it.

    Actions never raise for a user's mistake: the message lands in :attr:`error` for the page
    to show, and the consultation stays as it was.
    """

    def __init__(self, user_id: str, engine: Engine, limits: Limits) -> None:
        self.user_id = user_id
        self.engine = engine
        self.rare: Engine | None = None
        self.limits = limits
        self.knowledge: Knowledge = "ddxplus"
        self.thread_id: str | None = None
        self.waiting_for: str | None = None
        """A rare-disease consultation to reopen once the rare-disease engine is loaded."""
        self.turn: Turn | None = None
        self.differential: list[tuple[str, float]] = []
        self.error: str | None = None
        self.complaints: list[ComplaintOption] = []
        self.draft = PhenotypeDraft()

    # -- what the page shows ------------------------------------------------------------------

    @property
    def active(self) -> Engine | None:
        """The engine of the chosen knowledge (None while the rare-disease one loads)."""
        return self.rare if self.knowledge == "hpo" else self.engine

    @property
    def question(self) -> PendingQuestion | None:
        return self.turn.question if self.turn else None

    @property
    def report(self) -> FinalReport | None:
        return self.turn.report if self.turn else None

    @property
    def urgent(self) -> list[str]:
        """Severe conditions that have real probability now (the report's list once finished)."""
        if self.report is not None:
            return self.report.urgent
        engine = self.active
        return engine.session.urgent(self.differential) if engine is not None else []

    def history(self) -> list[ConsultationEntry]:
        return self.engine.history.list(self.user_id)

    def absent_answer(self, question: PendingQuestion) -> FindingValue:
        """The answer "None of these" stands for (a rare-disease review of systems: none)."""
        engine = self.active
        if engine is not None and engine.knowledge == "ddxplus":
            return absent_value(engine.kb.evidence(question.code))
        return []

    def references(self) -> dict[str, list[tuple[str, str]]]:
        """OMIM / ORPHA identifiers with their addresses for the listed rare diseases."""
        if self.knowledge != "hpo" or self.rare is None:
            return {}
        names = [name for name, _ in self.differential[:10]]
        return {name: disease_references(self.rare.kb, name) for name in names}

    def summary(self) -> PatientSummary:
        entry = self.engine.history.entry(self.user_id, self.thread_id or "")
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(entry.started)) if entry else ""
        return PatientSummary(
            complaint=entry.complaint if entry else "",
            knowledge=KNOWLEDGE_LABELS[self.knowledge],
            consultation=self.thread_id or "",
            when=when,
        )

    def markdown(self) -> str:
        if self.report is None:
            raise DdxError("The consultation has no report yet.")
        return to_markdown(self.report, self.summary(), self.references())

    def html(self) -> str:
        return markdown_to_html(self.markdown(), "Differential diagnosis report")

    # -- actions ------------------------------------------------------------------------------

    def choose(self, knowledge: Knowledge) -> None:
        """Pick the knowledge for the next consultation (closes the open one: it stays saved)."""
        if knowledge != self.knowledge:
            self.close()
            self.knowledge = knowledge

    def find_complaints(self, text: str, age: int | None = None, sex: str | None = None) -> None:
        self.error = intake_problem(age, sex, text)
        self.complaints = []
        if self.error is not None:
            return
        self.complaints = complaint_options(
            self.engine.kb, text, cache_dir=self.engine.settings.cache_folder
        )
        freeze_long_lived_objects()  # the first reading loads the sentence encoder
        if not self.complaints:
            self.error = "No symptom in the knowledge base matches those words; try other words."

    def start(self, age: int | None, sex: str | None, complaint: ComplaintOption) -> None:
        """Open a new consultation on common conditions and show its first question."""
        if complaint.none_of_these:
            self.complaints = []
            self.error = "Describe the complaint in other words, then find it again."
            return
        self.knowledge = "ddxplus"
        if self._begin(age, sex, complaint.findings, complaint.label, "ddxplus", complaint.regions):
            self.complaints = []

    def start_rare(self, age: int | None, sex: str | None, findings: dict[str, bool]) -> None:
        """Open a new rare-disease consultation from the phenotypes the person kept."""
        if not any(findings.values()):
            self.error = "Keep at least one phenotype that is present."
            return
        labels = {f.term_id: f.label for f in self.draft.findings}
        told = "; ".join(
            f"{labels.get(term, term)}{'' if present else ': no'}"
            for term, present in findings.items()
        )
        self.knowledge = "hpo"
        if self._begin(age, sex, dict(findings), told, "hpo"):
            self.draft = PhenotypeDraft()

    def answer(self, reply: Answer) -> None:
        engine = self.active
        if self.thread_id is None or self.question is None or engine is None:
            self.error = "No question is waiting for an answer."
            return
        self.error = None
        self._show(self.thread_id, engine.session.answer(self.thread_id, reply))

    def finish_now(self) -> None:
        engine = self.active
        if self.thread_id is None or self.question is None or engine is None:
            return
        self.error = None
        self._show(self.thread_id, engine.session.finish_now(self.thread_id))

    def open(self, thread_id: str) -> bool:
        """Reopen one of this user's consultations where it stopped; False if it is not theirs
        or is gone. A rare-disease one waits (:attr:`waiting_for`) until its engine loads."""
        self.error = None
        entry = self.engine.history.entry(self.user_id, thread_id)
        if entry is None:
            return False
        knowledge: Knowledge = "hpo" if entry.knowledge == "hpo" else "ddxplus"
        self.close()
        self.knowledge = knowledge
        engine = self.active
        if engine is None:
            self.waiting_for = thread_id
            return True
        try:
            turn = engine.session.current(thread_id)
        except DdxError as exc:
            self.error = str(exc)
            return False
        if turn is None:
            return False
        self._show(thread_id, turn)
        return True

    def attach_rare(self, engine: Engine) -> None:
        """The rare-disease engine is loaded: reopen the consultation that waited for it."""
        self.rare = engine
        waiting, self.waiting_for = self.waiting_for, None
        if waiting is not None and not self.open(waiting):
            self.error = self.error or "That consultation is no longer available."

    def replace_engine(self, engine: Engine) -> None:
        """New settings loaded: consultations go on with the new engine. The open one is
        reopened on it when the knowledge base is the same, else closed (it stays saved)."""
        same_kb = engine.data_dir == self.engine.data_dir
        self.engine = engine
        if self.knowledge == "ddxplus" and self.thread_id is not None:
            thread_id = self.thread_id
            if not same_kb or not self.open(thread_id):
                self.close()

    def close(self) -> None:
        """Leave the open consultation (it stays in the history) and go back to the intake."""
        self.thread_id, self.turn, self.differential = None, None, []
        self.complaints, self.error, self.waiting_for = [], None, None

    # -- internals ----------------------------------------------------------------------------

    def _begin(
        self,
        age: int | None,
        sex: str | None,
        findings: dict[str, Any],
        complaint: str,
        knowledge: Knowledge,
        regions: dict[str, list[str]] | None = None,
    ) -> bool:
        self.error = intake_problem(age, sex, complaint or "-")
        engine = self.active
        if self.error is not None or engine is None:
            return False
        thread_id = new_thread_id()
        try:
            intake = CaseIntake(
                age=age,
                sex="M" if sex == "M" else "F" if sex == "F" else None,
                findings=findings,
                regions=regions or {},
                max_questions=self.limits.max_questions,
                confidence_threshold=self.limits.confidence_threshold,
                refinement_rounds=self.limits.refinement_rounds,
            )
            turn = engine.session.start(thread_id, intake)
        except DdxError as exc:
            self.error = str(exc)
            return False
        shown = complaint if len(complaint) <= 60 else complaint[:57] + "…"
        title = " · ".join(part for part in (_demographics(age, sex), shown) if part)
        self.engine.history.add(
            self.user_id, thread_id, title, knowledge=knowledge, complaint=complaint
        )
        self._show(thread_id, turn)
        return True

    def _show(self, thread_id: str, turn: Turn) -> None:
        self.thread_id, self.turn = thread_id, turn
        self.differential = turn.differential
        leading = (
            f"{self.differential[0][0]} {self.differential[0][1]:.0%}" if self.differential else ""
        )
        self.engine.history.update(
            self.user_id,
            thread_id,
            finished=turn.finished,
            questions=turn.questions_asked,
            leading=leading,
        )


def _demographics(age: int | None, sex: str | None) -> str:
    parts = [f"{age} y" if age is not None else "", sex or ""]
    return " ".join(p for p in parts if p)
