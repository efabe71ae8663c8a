"""One facade over the compiled graph for every front end (terminal chat, UI, batch harness).

It hides LangGraph's invoke/interrupt/resume mechanics behind three calls — :meth:`start`,
:meth:`answer`, :meth:`current` — that return a :class:`Turn`: the next question or the final
report, with the typed trace and the current differential. Front ends read nothing else of
the graph's state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.types import Command, Durability

from agent.consult.graph import ConsultGraph, compile_graph
from agent.context import ConsultContext
from agent.errors import DdxError
from agent.report import FinalReport, urgent_conditions
from agent.roles import RankedCondition
from agent.state import CaseIntake, InputState, PendingQuestion
from agent.trace import Pairs, TraceEntry
from retrieval.findings import FindingValue

__all__ = ["Answer", "ConsultationSession", "PendingQuestion", "Turn", "batch_session"]


@dataclass(frozen=True)
class Turn:
    """Where a consultation stands after a call: the next question or, once finished, the
    report (exactly one is set), the trace so far and the current differential."""

    question: PendingQuestion | None = None
    report: FinalReport | None = None
    trace: list[TraceEntry] = field(default_factory=list)
    differential: Pairs = field(default_factory=list)
    """Every ranked condition, most probable first (the report's, once finished)."""

    @property
    def finished(self) -> bool:
        return self.report is not None

    @property
    def questions_asked(self) -> int:
        if self.report is not None:
            return self.report.questions_asked
        return self.question.number - 1 if self.question is not None else 0


def _turn(values: dict[str, Any], question: PendingQuestion | None) -> Turn:
    """The :class:`Turn` of a graph call's output (or a saved state's values)."""
    differential = values.get("differential")
    return Turn(
        question=question,
        report=None if question is not None else values.get("report"),
        trace=list(values.get("trace", [])),
        differential=list(differential.pairs) if differential is not None else [],
    )


class ConsultationSession:
    """Runs consultations of one compiled graph with one context, keyed by thread id."""

    def __init__(
        self,
        graph: ConsultGraph,
        context: ConsultContext[Any],
        durability: Durability = "sync",
    ) -> None:
        self.graph = graph
        self.context = context
        self.durability: Durability = durability

    def _config(self, thread_id: str) -> RunnableConfig:
        return {"configurable": {"thread_id": thread_id}}

    def _run(self, thread_id: str, payload: InputState | Command[Any]) -> Turn:
        result: dict[str, Any] = self.graph.invoke(
            payload, self._config(thread_id), context=self.context, durability=self.durability
        )
        interrupts = result.get("__interrupt__")
        return _turn(result, interrupts[0].value if interrupts else None)

    def start(self, thread_id: str, intake: CaseIntake) -> Turn:
        """Open a consultation; returns the first question (or the report if none is needed)."""
        return self._run(thread_id, {"intake": intake})

    def answer(self, thread_id: str, reply: Answer) -> Turn:
        """Resume with the patient's answer: a structured value or what a person typed."""
        return self._run(thread_id, Command(resume=reply.as_resume()))

    def finish_now(self, thread_id: str) -> Turn:
        """End the questioning ("Finish now"): the pending question stays unanswered and the
        report is written from what is known."""
        return self._run(thread_id, Command(resume={"stop": True}))

    def current(self, thread_id: str) -> Turn | None:
        """Where a saved consultation stands (after a restart): its question, its report, or
        None when the thread id is unknown."""
        snapshot = self.graph.get_state(self._config(thread_id))
        if not snapshot.values and not snapshot.next:
            return None
        for task in snapshot.tasks:
            for pending in task.interrupts:
                return _turn(snapshot.values, pending.value)
        if "report" in snapshot.values:
            return _turn(snapshot.values, None)
        raise DdxError(f"Consultation {thread_id} stopped in an unexpected state; start a new one.")

    def urgent(self, differential: Pairs) -> list[str]:
        """The severe conditions of ``differential`` with real probability (the report's rule,
        for a consultation still under way)."""
        ranked = [RankedCondition(name=n, probability=p) for n, p in differential]
        return urgent_conditions(self.context.catalogue, ranked, self.context.urgent_threshold)

    def forget(self, thread_id: str) -> None:
        """Drop a finished consultation's checkpoints (batch runs keep memory flat this way)."""
        checkpointer = self.graph.checkpointer
        if isinstance(checkpointer, BaseCheckpointSaver):
            checkpointer.delete_thread(thread_id)

    def consult_to_end(
        self, thread_id: str, intake: CaseIntake, answer: Callable[[str], FindingValue]
    ) -> FinalReport:
        """A whole consultation, ``answer`` (a simulated patient) answering each asked code; the
        thread is forgotten afterwards. What the batch benchmarks run per case.

        The patient rides in the context, so the graph runs to its report in one call: the same
        nodes and trace as :meth:`start` / :meth:`answer`, without an interrupt, a checkpoint
        load and a resume per question (a test holds the two equal).
        """
        context = replace(self.context, patient=answer)
        config: RunnableConfig = {
            **self._config(thread_id),
            "recursion_limit": _STEPS_BEFORE_QUESTIONS
            + _STEPS_PER_QUESTION * intake.max_questions
            + _STEPS_PER_ROUND * intake.refinement_rounds,
        }
        result: dict[str, Any] = self.graph.invoke(
            {"intake": intake},
            config,
            context=context,
            durability=self.durability if self.graph.checkpointer else None,
        )
        self.forget(thread_id)
        assert not result.get("__interrupt__"), "a simulated patient answers every question"
        report: FinalReport = result["report"]
        return report


_STEPS_BEFORE_QUESTIONS = 25
"""Graph steps a consultation may take besides its questions (intake, diagnoses, retrieval,
refinement, finish): LangGraph's recursion limit, a guard against a routing loop."""
_STEPS_PER_QUESTION = 5
"""At most driver, ask, diagnose and retrieve per question (two with the embedded engine)."""
_STEPS_PER_ROUND = 4
"""A refinement round's end: driver, refine, diagnose, retrieve."""


def batch_session(context: ConsultContext[Any]) -> ConsultationSession:
    """A session for a benchmark worker: the same graph without a checkpointer — a simulated
    patient answers inside the graph (:meth:`ConsultationSession.consult_to_end`), so nothing
    pauses and nobody ever resumes from a checkpoint; saving the typed state at the end of every
    case would cost ~10 % of a case's time for nothing — and LangGraph's background work run
    inline."""
    return ConsultationSession(batch_graph(), context, durability="exit")


def batch_graph() -> ConsultGraph:
    """The graph of :func:`batch_session`, for runners that give each case its own context
    (``ConsultationSession(graph, context, durability="exit")`` per case, one graph)."""
    run_graph_tasks_inline()
    return compile_graph(None)


class _InlineExecutor(Executor):
    """Runs each submitted task at once, in the calling thread (a completed future back)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:  # handed to the caller through the future, as a thread would
            future.set_exception(exc)
        else:
            future.set_result(result)
        return future


_INLINE = _InlineExecutor()


@contextmanager
def _inline_executor(config: object) -> Iterator[Executor]:
    yield _INLINE


def run_graph_tasks_inline() -> bool:
    """Run LangGraph's background work (the checkpoint save at the end of each call, parallel
    tasks of a step) in the calling thread instead of a thread pool made for every call.

    A batch run makes one graph call per question, one consultation at a time per process; the
    per-call pool then costs a thread start, a hand-off and a join on every question — on a
    busy 2-core machine as much as the consultation step itself — and buys nothing: our steps
    have one task each and the in-memory save is microseconds. Front ends (chat, app) keep
    LangGraph's default.

    LangGraph 1.x builds that executor from langchain-core's ``get_executor_for_config`` in
    ``langgraph.pregel._executor``; where that hook is missing this does nothing and returns
    False (the graph then runs exactly as before, only slower).
    """
    import langgraph.pregel._executor as executor_module

    if not hasattr(executor_module, "get_executor_for_config"):
        return False
    executor_module.get_executor_for_config = _inline_executor
    return True


@dataclass(frozen=True)
class Answer:
    """What resumes the graph: ``value`` (structured) or ``text`` (typed by a person)."""

    kind: Literal["value", "text"]
    content: FindingValue | str

    @classmethod
    def of_value(cls, value: FindingValue) -> Answer:
        return cls("value", value)

    @classmethod
    def of_text(cls, text: str) -> Answer:
        return cls("text", text)

    def as_resume(self) -> dict[str, Any]:
        return {self.kind: self.content}
