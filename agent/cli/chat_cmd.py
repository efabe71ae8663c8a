"""`ddx chat`: a consultation in the terminal, answered by a person or by a simulated patient."""

from __future__ import annotations

import uuid
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from agent.cli.common import load_kb, settings_from
from agent.errors import DdxError
from agent.llm import options as llm_options
from data.locations import ensure_folder

if TYPE_CHECKING:
    from rich.console import Console

    from agent.consult.session import ConsultationSession, Turn
    from agent.report import FinalReport
    from retrieval.ddxplus_kb import KnowledgeBase
    from simulator.ddxplus_patient import SimulatedPatient


def chat(
    ctx: typer.Context,
    age: int | None = typer.Option(None, "--age", min=0, max=130, help="Patient's age in years."),
    sex: str | None = typer.Option(None, "--sex", help="M or F."),
    complaint: str | None = typer.Option(
        None,
        "--complaint",
        help="Chief complaint: an evidence code (E_91), taken as it is, or words to read.",
    ),
    say: str | None = typer.Option(
        None,
        "--say",
        help="The patient's first message in free text ('fever since Monday, no cough'): "
        "read into findings, present or denied; you pick the right reading (or none).",
    ),
    patient_file: Path | None = typer.Option(
        None, "--patient-file", help="DDXPlus patient CSV: a simulated patient answers."
    ),
    patient: int = typer.Option(
        1, "--patient", min=1, help="Which patient of --patient-file (1 = first data row)."
    ),
    questions: int | None = typer.Option(
        None, "--questions", min=0, help="Question budget [default: $DDX_MAX_QUESTIONS, else 10]."
    ),
    confidence: float | None = typer.Option(
        None,
        "--confidence",
        help="Stop once the leading diagnosis reaches this probability [default: 0.95].",
    ),
    model: Path | None = typer.Option(None, "--model", help="Fitted model from `ddx kb fit`."),
    resume: str | None = typer.Option(None, "--resume", help="Continue a saved consultation."),
    why: bool = typer.Option(True, "--why/--no-why", help="Show why each question is asked."),
    markdown: Path | None = typer.Option(None, "--markdown", help="Also save the report here."),
    knowledge: bool = typer.Option(
        True,
        "--knowledge/--no-knowledge",
        help="Cite the built-in DDXPlus knowledge index (built by `ddx index build --builtin "
        "ddxplus`) for the leading candidates.",
    ),
    online: bool = typer.Option(
        False,
        "--online",
        help="Also cite PubMed abstracts and Wikipedia summaries for the leading candidates "
        "(sends condition names only; answers cached under the state folder).",
    ),
    doctor: str | None = llm_options.DOCTOR,
    diagnoser: str | None = llm_options.DIAGNOSER,
    strategy: str | None = llm_options.STRATEGY,
    kb_name: str = typer.Option(
        "ddxplus",
        "--kb",
        help="Knowledge base: ddxplus (common conditions) or hpo (rare diseases: describe the "
        "phenotype in words or HPO ids with --say or when asked; yes/no questions follow).",
    ),
) -> None:
    """Hold a consultation in the terminal: the embedded engine, or an LLM in a role.

    Answer yes / no / don't know, or pick choices by number. Consultations are saved as you
    go; continue one later with --resume ID. With --patient-file, a simulated patient answers.
    Decision support for learning and research, not a diagnosis.
    """
    from rich.console import Console

    from agent.assembly import ddxplus_context
    from agent.consult.graph import compile_graph
    from agent.consult.session import ConsultationSession

    settings = settings_from(
        ctx,
        max_questions=questions,
        confidence_threshold=confidence,
        doctor=doctor,
        diagnoser=diagnoser,
        strategy=strategy,
    )
    if kb_name == "hpo":
        from agent.cli.hpo_chat import hpo_chat

        hpo_chat(settings, say=say, resume=resume, why=why, markdown=markdown)
        return
    if kb_name != "ddxplus":
        raise DdxError(f"--kb must be ddxplus or hpo, not {kb_name!r}.")
    kb = load_kb(settings)
    console = Console()
    simulated = _simulated_patient(kb, patient_file, patient) if patient_file else None
    with _checkpointer(settings.state_dir) as saver:
        from agent.llm.factory import role_clients

        clients = role_clients(settings)
        context = ddxplus_context(
            settings,
            kb,
            lambda m: console.print(f"[dim]{m}[/]"),
            model_path=model,
            knowledge=knowledge,
            online=online,
            clients=clients,
        )
        session = ConsultationSession(compile_graph(saver), context)
        if resume:
            thread_id = resume
            turn = resumed_turn(console, session, thread_id)
        else:
            from agent.state import CaseIntake

            thread_id = uuid.uuid4().hex[:12]
            if simulated is not None:
                record = simulated.record
                intake = CaseIntake(
                    age=record.age,
                    sex=record.sex,
                    findings=simulated.intake(),
                    max_questions=settings.max_questions,
                    confidence_threshold=settings.confidence_threshold,
                )
                console.print(
                    f"Simulated patient {record.case_id}: {record.age} y, {record.sex}, "
                    f"complaint: {kb.evidences[record.initial_evidence].question}"
                )
            else:
                from agent.cli.chat_intake import ask_complaint

                known_age = age if age is not None else _ask_age()
                known_sex = _check_sex(sex) if sex else _ask_sex()
                picked = ask_complaint(
                    console, kb, say or complaint, clients.doctor, settings.cache_folder
                )
                intake = CaseIntake(
                    age=known_age,
                    sex=known_sex,
                    findings=picked.findings,
                    regions=picked.regions,
                    max_questions=settings.max_questions,
                    confidence_threshold=settings.confidence_threshold,
                )
            console.print(f"[dim]consultation id {thread_id} (continue later with --resume)[/]")
            turn = session.start(thread_id, intake)
        report = _converse(console, session, thread_id, turn, simulated, why)
    from agent.cli.render import render_report

    render_report(console, report)
    if report.rationale:
        console.print("\n[bold]Rationale[/] (the LLM diagnoser)")
        console.print(f"  {report.rationale}", markup=False)
    _render_sources(console, report)
    from agent.cli.doctors_cmd import render_report_doctors

    render_report_doctors(console, report)
    if markdown:
        save_markdown(console, markdown, report, thread_id)
    if simulated is not None:
        console.print(f"[dim]ground truth: {simulated.record.pathology}[/]")


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


def _render_sources(console: Console, report: Any) -> None:
    """The knowledge the consultation retrieved, with its citations."""
    if report.passages:
        console.print("\n[bold]Sources[/]")
        for passage in report.passages:
            console.print(f"  [{passage.doc_id}] {passage.title} — {passage.source}", markup=False)


def _converse(
    console: Console,
    session: ConsultationSession,
    thread_id: str,
    turn: Turn,
    simulated: SimulatedPatient | None,
    why: bool,
) -> Any:
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


def _checkpointer(state_dir: Path) -> AbstractContextManager[Any]:
    """SQLite checkpoints in the state folder: consultations survive a restart."""
    from langgraph.checkpoint.sqlite import SqliteSaver

    ensure_folder(state_dir, "state folder")
    return SqliteSaver.from_conn_string(str(state_dir / "consultations.sqlite"))


def _simulated_patient(kb: KnowledgeBase, path: Path, number: int) -> SimulatedPatient:
    from data.locations import require_existing
    from simulator.ddxplus_patient import SimulatedPatient
    from simulator.records import load_patients

    loaded = load_patients(kb, require_existing(path, "a DDXPlus patient CSV"))
    if number > len(loaded.records):
        raise DdxError(f"{path} has {len(loaded.records)} usable patients; --patient {number}.")
    return SimulatedPatient(kb, loaded.records[number - 1])


def _check_sex(value: str) -> str:
    sex = value.strip().upper()[:1]
    if sex not in ("M", "F"):
        raise DdxError(f"--sex must be M or F, not {value!r}.")
    return sex


def _ask_age() -> int:
    while True:
        text = str(typer.prompt("Age (years)"))
        if text.strip().isdigit() and 0 <= int(text) <= 130:
            return int(text)
        typer.echo("Please give the age as a whole number of years (0–130).")


def _ask_sex() -> str:
    while True:
        text = str(typer.prompt("Sex (M/F)"))
        if text.strip().upper()[:1] in ("M", "F"):
            return text.strip().upper()[:1]
        typer.echo("Please answer M or F.")
