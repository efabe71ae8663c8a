"""The terminal consultation loop both ``ddx chat`` knowledge bases share: the checkpoint file,
resuming, the question-and-answer loop, and the report with its sources, doctors and Markdown.

``chat_cmd`` (DDXPlus) and ``hpo_chat`` (rare diseases) differ only in how the consultation
opens (a complaint or a phenotype); everything after the opening lives here, so the two cannot
drift apart and neither imports the other's private helpers.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from agent.errors import DdxError
from data.locations import ensure_folder

if TYPE_CHECKING:
    from rich.console import Console

    from agent.consult.session import ConsultationSession, Turn
    from agent.report import FinalReport
    from simulator.ddxplus_patient import SimulatedPatient


def checkpointer(state_dir: Path) -> AbstractContextManager[Any]:
    """SQLite checkpoints in the state folder: consultations survive a restart."""
    from langgraph.checkpoint.sqlite import SqliteSaver

    ensure_folder(state_dir, "state folder")
    return SqliteSaver.from_conn_string(str(state_dir / "consultations.sqlite"))


def resumed_turn(console: Console, session: ConsultationSession, thread_id: str) -> Turn:
    """Where a saved consultation stands; a clear error for an unknown id or for one held over
    the other knowledge base (``--kb``)."""
    turn = session.current(thread_id)
    if turn is None:
        raise DdxError(f"No saved consultation with id {thread_id!r}.")
    if turn.question is not None and not session.context.catalogue.knows(turn.question.code):
        raise DdxError(
            f"Consultation {thread_id} was held over another knowledge base: "
            "resume it with the --kb it was started with."
        )
    console.print(f"Resuming consultation {thread_id}.")
    return turn


def converse(
    console: Console,
    session: ConsultationSession,
    thread_id: str,
    turn: Turn,
    simulated: SimulatedPatient | None,
    why: bool,
) -> Any:
    """Ask until the consultation reaches its report (a simulated patient answers, or the
    person types); returns the report."""
    from agent.cli.render import render_leading, render_question
    from agent.consult.session import Answer

    while turn.question is not None:
        question = turn.question
        render_question(console, question, show_reason=why)
        if simulated is not None:
            said = simulated.say(question.code)
            console.print(f"  > {said}")
            reply = Answer.of_value(simulated.answer(question.code))
        else:
            try:
                reply = Answer.of_text(typer.prompt("  >", prompt_suffix=" "))
            except (EOFError, typer.Abort):
                raise DdxError(
                    f"Stopped. Continue later with: ddx chat --resume {thread_id}"
                ) from None
        turn = session.answer(thread_id, reply)
        if turn.question is not None and not turn.question.error:
            render_leading(console, turn.question.leading)
    return turn.report


def show_report(
    console: Console, report: FinalReport, thread_id: str, markdown: Path | None
) -> None:
    """The final report: differential and explanations, the LLM's rationale, the sources
    retrieved (with what each was about), the doctors, and the Markdown copy when asked."""
    from agent.cli.doctors_cmd import render_report_doctors
    from agent.cli.render import render_report

    render_report(console, report)
    if report.rationale:
        console.print("\n[bold]Rationale[/] (the LLM diagnoser)")
        console.print(f"  {report.rationale}", markup=False)
    if report.passages:
        console.print("\n[bold]Sources[/]")
        for passage in report.passages:
            about = f" (on {passage.about})" if passage.about else ""
            console.print(
                f"  [{passage.doc_id}] {passage.title}{about} — {passage.source}", markup=False
            )
    render_report_doctors(console, report)
    if markdown:
        save_markdown(console, markdown, report, thread_id)


def save_markdown(console: Console, path: Path, report: FinalReport, thread_id: str) -> None:
    """Write the report as Markdown; a path that cannot be written is a clear error (the
    consultation stays saved, so nothing is lost)."""
    from agent.report import to_markdown

    try:
        path.write_text(to_markdown(report), encoding="utf-8")
    except OSError as exc:
        raise DdxError(
            f"Cannot write {path}: {exc.strerror}. The consultation is saved: run the same "
            f"command with --resume {thread_id} and another --markdown."
        ) from None
    console.print(f"saved {path}")
