"""What one process loads once per set of settings and shares between browser sessions: the
knowledge base, the agents, the compiled graph with its SQLite checkpointer, the history index.

Two kinds of knowledge: ``ddxplus`` (common conditions: the DDXPlus knowledge base and the
Bayesian engine) and ``hpo`` (rare diseases: the HPO annotations and the phenotype reasoner);
both are built by ``agent.assembly.assemble``. Both kinds write their consultations to the
same checkpoint file, so the history lists them side by side. Loading reports its steps to
a :class:`ui.jobs.Progress` (the app runs it on a background thread). No Streamlit here.
"""

from __future__ import annotations

import gc
import sqlite3
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from agent.consult.session import ConsultationSession
from agent.settings import DdxSettings
from ui.history_store import HistoryStore, open_store
from ui.jobs import Progress, no_progress

if TYPE_CHECKING:
    from agent.context import ConsultContext
    from retrieval.ddxplus_kb import KnowledgeBase
    from retrieval.hpo_kb import HpoKnowledgeBase

Knowledge = Literal["ddxplus", "hpo"]
KNOWLEDGE_LABELS: dict[Knowledge, str] = {
    "ddxplus": "Common conditions (DDXPlus, 49 conditions)",
    "hpo": "Rare diseases (HPO annotations, ~12,000 diseases)",
}
CHECKPOINT_FILE = "consultations.sqlite"
"""The same file ``ddx chat`` uses, so both front ends share one place for consultations."""


@dataclass(frozen=True)
class Engine:
    """One kind of knowledge loaded for a set of settings. ``notes`` says what is not
    available and why (no knowledge index built yet, …)."""

    settings: DdxSettings
    knowledge: Knowledge
    kb: Any
    """The :class:`KnowledgeBase` (``ddxplus``) or :class:`HpoKnowledgeBase` (``hpo``)."""
    session: ConsultationSession
    history: HistoryStore
    notes: tuple[str, ...] = ()

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir

    @property
    def context(self) -> ConsultContext[Any]:
        return self.session.context


def engine_key(settings: DdxSettings, knowledge: Knowledge = "ddxplus") -> tuple[str, ...]:
    """The settings an engine depends on (per-consultation limits are not among them)."""
    if knowledge == "hpo":
        return ("hpo", str(settings.state_dir), str(settings.cache_folder))
    return (
        "ddxplus",
        str(settings.data_dir),
        str(settings.state_dir),
        settings.doctor,
        settings.diagnoser_backend,
        settings.strategy,
        str(settings.doctor_directory or ""),
    )


def build_engine(settings: DdxSettings, progress: Progress = no_progress) -> Engine:
    """Common conditions: the DDXPlus knowledge base and the agents, as ``ddx chat`` assembles
    them (the embedded engine, the built-in knowledge index when built, doctors when a
    directory is set, LLM roles when a backend other than ``kb`` is chosen).

    Raises DdxError for the user's mistakes (missing or malformed data, a state folder that
    cannot be created, an unusable backend, a bad doctor directory).
    """
    from agent.assembly import ConsultOptions, assemble
    from agent.doctors import open_doctor_finder
    from retrieval.ddxplus_kb import load_from_data_dir

    progress("Loading the knowledge base")
    kb = load_from_data_dir(settings.data_dir)
    history = open_store(settings.state_dir)
    notes: list[str] = []
    progress("Loading the engine")
    context = assemble(settings, kb, ConsultOptions(doctors=False), notes.append).context
    # doctors opened here, not by the assembly, so the app's progress bar follows the index build
    finder = open_doctor_finder(settings, kb, progress=False, on_progress=progress)
    if finder is not None:
        context = replace(context, doctor_finder=finder)
    return _engine(settings, "ddxplus", kb, context, history, notes)


def build_rare_engine(settings: DdxSettings, progress: Progress = no_progress) -> Engine:
    """Rare diseases: the HPO knowledge base (built into the cache folder on first use, a few
    seconds) and the phenotype reasoner in every role."""
    from agent.assembly import ConsultOptions, assemble
    from retrieval.hpo_kb import load_hpo_kb

    progress("Loading the rare-disease knowledge (HPO)")
    kb = load_hpo_kb(settings.cache_folder)
    notes: list[str] = []
    # The phenotype reasoner with the built-in HPO index when it was built (cited sources);
    # the app's doctor finder and LLM settings are for common conditions only.
    plain = settings.model_copy(update={"doctor": "kb", "diagnoser": None})
    if plain.diagnoser_backend != settings.diagnoser_backend or plain.doctor != settings.doctor:
        notes.append("LLM roles apply to common conditions; rare diseases use the reasoner")
    context = assemble(plain, kb, ConsultOptions(doctors=False), notes.append).context
    return _engine(settings, "hpo", kb, context, open_store(settings.state_dir), notes)


def _engine(
    settings: DdxSettings,
    knowledge: Knowledge,
    kb: KnowledgeBase | HpoKnowledgeBase,
    context: ConsultContext[Any],
    history: HistoryStore,
    notes: list[str],
) -> Engine:
    from langgraph.checkpoint.sqlite import SqliteSaver

    from agent.consult.graph import compile_graph

    # One connection shared by every session's thread; SqliteSaver serialises access to it.
    # Write-ahead log without a disk flush per commit: an answer costs milliseconds, and a
    # power cut can lose at most the last answers, never corrupt the file.
    conn = sqlite3.connect(settings.state_dir / CHECKPOINT_FILE, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    # "exit": a consultation is saved each time it stops for an answer, not after every step.
    session = ConsultationSession(compile_graph(SqliteSaver(conn)), context, durability="exit")
    freeze_long_lived_objects()
    return Engine(settings, knowledge, kb, session, history, tuple(notes))


def freeze_long_lived_objects() -> None:
    """Leave everything alive now out of later garbage collections.

    The knowledge base, the engine and above all the sentence encoder with torch and
    transformers make ~500k long-lived objects; a full collection over them takes ~0.7 s and
    would land on a random answer click. Frozen objects are never collected, which is right
    for these and costs at most the few short-lived objects alive at that moment.
    """
    gc.freeze()
