"""The one object the Streamlit script talks to: a browser session's view of consultations.

:class:`Engine` is what loads once per process (knowledge base, engine, compiled graph with its
SQLite checkpointer, the history index) and is shared by every browser session;
:class:`ConsultFacade` is per browser session (kept in ``st.session_state``) and holds only
which consultation is open and where it stands. Nothing here imports Streamlit, so the same
object is driven directly by tests.
"""

from __future__ import annotations

import gc
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from agent.errors import DdxError
from agent.report import FinalReport, to_markdown, urgent_conditions
from agent.roles import RankedCondition
from agent.session import Answer, ConsultationSession, PendingQuestion, Turn
from agent.settings import DdxSettings
from agent.state import CaseIntake
from retrieval.ddxplus_kb import KnowledgeBase
from ui.complaint import ComplaintOption, complaint_options
from ui.history_store import ConsultationEntry, HistoryStore
from ui.identity import new_thread_id

CHECKPOINT_FILE = "consultations.sqlite"
"""The same file ``ddx chat`` uses, so both front ends share one place for consultations."""


@dataclass(frozen=True)
class Engine:
    """What one process loads once for a set of settings and shares between browser sessions.

    ``notes`` says what is not available and why (no knowledge index built yet, …).
    """

    settings: DdxSettings
    kb: KnowledgeBase
    session: ConsultationSession
    history: HistoryStore
    notes: tuple[str, ...] = ()

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir


def engine_key(settings: DdxSettings) -> tuple[str, ...]:
    """The settings an engine depends on (per-consultation limits are not among them)."""
    return (
        str(settings.data_dir),
        str(settings.state_dir),
        settings.doctor,
        settings.diagnoser_backend,
        settings.strategy,
        str(settings.doctor_directory or ""),
    )


def build_engine(settings: DdxSettings) -> Engine:
    """Load the knowledge base and the agents, and open the checkpoint database.

    The context is assembled as for ``ddx chat``: the embedded engine, the built-in knowledge
    index when it was built (citations), doctors when a directory is set, LLM roles when a
    backend other than ``kb`` is chosen. Raises DdxError for the user's mistakes (missing or
    malformed data, a state folder that cannot be created, an unusable backend).
    """
    from langgraph.checkpoint.sqlite import SqliteSaver

    from agent.assembly import ddxplus_context
    from agent.graph import compile_graph
    from retrieval.ddxplus_kb import load_from_data_dir

    kb = load_from_data_dir(settings.data_dir)
    history = HistoryStore(settings.state_dir)
    notes: list[str] = []
    context = ddxplus_context(settings, kb, notes.append)
    # One connection shared by every session's thread; SqliteSaver serialises access to it.
    # Write-ahead log without a disk flush per commit: an answer costs milliseconds, and a
    # power cut can lose at most the last answers, never corrupt the file.
    conn = sqlite3.connect(settings.state_dir / CHECKPOINT_FILE, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    graph = compile_graph(SqliteSaver(conn))
    # "exit": a consultation is saved each time it stops for an answer, not after every step.
    session = ConsultationSession(graph, context, durability="exit")
    freeze_long_lived_objects()
    return Engine(settings=settings, kb=kb, session=session, history=history, notes=tuple(notes))


def freeze_long_lived_objects() -> None:
    """Leave everything alive now out of later garbage collections.

    The knowledge base, the engine and above all the sentence encoder with torch and
    transformers make ~500k long-lived objects; a full collection over them takes ~0.7 s and
    would land on a random answer click. Frozen objects are never collected, which is right
    for these and costs at most the few short-lived objects alive at that moment.
    """
    gc.freeze()


@dataclass(frozen=True)
class Limits:
    """Per-consultation limits a person sets on the settings page."""

    max_questions: int
    confidence_threshold: float


class ConsultFacade:
    """One browser session: its user, the open consultation, and the actions on it.

    Actions never raise for a user's mistake: the message lands in :attr:`error` for the page
    to show, and the consultation stays as it was.
    """

    def __init__(self, user_id: str, engine: Engine, limits: Limits) -> None:
        self.user_id = user_id
        self.engine = engine
        self.limits = limits
        self.thread_id: str | None = None
        self.turn: Turn | None = None
        self.differential: list[tuple[str, float]] = []
        self.error: str | None = None
        self.complaints: list[ComplaintOption] = []

    # -- what the page shows ------------------------------------------------------------------

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
        ranked = [RankedCondition(name=n, probability=p) for n, p in self.differential]
        context = self.engine.session.context
        return urgent_conditions(context.catalogue, ranked, context.urgent_threshold)

    def history(self) -> list[ConsultationEntry]:
        return self.engine.history.list(self.user_id)

    def markdown(self) -> str:
        if self.report is None:
            raise DdxError("The consultation has no report yet.")
        return to_markdown(self.report)

    # -- actions ------------------------------------------------------------------------------

    def find_complaints(self, text: str) -> None:
        self.error = None
        self.complaints = complaint_options(
            self.engine.kb, text, cache_dir=self.engine.settings.cache_folder
        )
        freeze_long_lived_objects()  # the first reading loads the sentence encoder
        if not self.complaints:
            self.error = "No symptom in the knowledge base matches those words; try other words."

    def start(self, age: int | None, sex: str | None, complaint: ComplaintOption) -> None:
        """Open a new consultation from the intake and show its first question."""
        self.error = None
        if complaint.none_of_these:
            self.complaints = []
            self.error = "Describe the complaint in other words, then find it again."
            return
        thread_id = new_thread_id()
        try:
            intake = CaseIntake(
                age=age,
                sex="M" if sex == "M" else "F" if sex == "F" else None,
                findings=complaint.findings,
                max_questions=self.limits.max_questions,
                confidence_threshold=self.limits.confidence_threshold,
            )
            turn = self.engine.session.start(thread_id, intake)
        except DdxError as exc:
            self.error = str(exc)
            return
        title = " · ".join(part for part in (_demographics(age, sex), complaint.label) if part)
        self.engine.history.add(self.user_id, thread_id, title)
        self.complaints = []
        self._show(thread_id, turn)

    def answer(self, reply: Answer) -> None:
        if self.thread_id is None or self.question is None:
            self.error = "No question is waiting for an answer."
            return
        self.error = None
        self._show(self.thread_id, self.engine.session.answer(self.thread_id, reply))

    def finish_now(self) -> None:
        if self.thread_id is None or self.question is None:
            return
        self.error = None
        self._show(self.thread_id, self.engine.session.finish_now(self.thread_id))

    def open(self, thread_id: str) -> bool:
        """Reopen one of this user's consultations where it stopped; False if it is not theirs
        or is gone."""
        self.error = None
        if not self.engine.history.owns(self.user_id, thread_id):
            return False
        try:
            turn = self.engine.session.current(thread_id)
        except DdxError as exc:
            self.error = str(exc)
            return False
        if turn is None:
            return False
        self._show(thread_id, turn)
        return True

    def close(self) -> None:
        """Leave the open consultation (it stays in the history) and go back to the intake."""
        self.thread_id, self.turn, self.differential = None, None, []
        self.complaints, self.error = [], None

    # -- internals ----------------------------------------------------------------------------

    def _show(self, thread_id: str, turn: Turn) -> None:
        self.thread_id, self.turn = thread_id, turn
        if turn.report is not None:
            self.differential = [(r.name, r.probability) for r in turn.report.differential]
            questions = turn.report.questions_asked
        else:
            snapshot = self.engine.session.graph.get_state(
                {"configurable": {"thread_id": thread_id}}
            )
            values = snapshot.values
            self.differential = [(str(n), float(p)) for n, p in values.get("differential", [])]
            questions = len(values.get("asked", []))
        leading = (
            f"{self.differential[0][0]} {self.differential[0][1]:.0%}" if self.differential else ""
        )
        self.engine.history.update(
            self.user_id, thread_id, finished=turn.finished, questions=questions, leading=leading
        )


def _demographics(age: int | None, sex: str | None) -> str:
    parts = [f"{age} y" if age is not None else "", sex or ""]
    return " ".join(p for p in parts if p)
