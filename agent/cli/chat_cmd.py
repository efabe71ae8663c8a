"""`ddx chat`: a consultation in the terminal, answered by a person or by a simulated patient."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from agent.cli import knowledge_options
from agent.cli.common import load_kb, settings_from
from agent.errors import DdxError
from agent.llm import options as llm_options

if TYPE_CHECKING:
    from rich.console import Console

    from agent.assembly import ConsultOptions
    from agent.llm.client import LLMClient
    from agent.settings import DdxSettings
    from agent.state import CaseIntake
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
    patient: int | None = typer.Option(
        None,
        "--patient",
        min=1,
        help="Which patient of --patient-file (1 = first data row) [default: 1].",
        show_default=False,
    ),
    questions: int | None = typer.Option(
        None, "--questions", min=0, help="Question budget [default: $DDX_MAX_QUESTIONS, else 10]."
    ),
    confidence: float | None = typer.Option(
        None,
        "--confidence",
        help="Stop once the leading diagnosis reaches this probability "
        "[default: $DDX_CONFIDENCE_THRESHOLD, else 0.99].",
    ),
    rounds: int | None = typer.Option(
        None,
        "--rounds",
        min=1,
        max=5,
        help="Refinement rounds: the question budget split over them, the differential refined "
        "at each round's end [default: $DDX_REFINEMENT_ROUNDS, else 1].",
        show_default=False,
    ),
    model: Path | None = typer.Option(None, "--model", help="Fitted model from `ddx kb fit`."),
    resume: str | None = typer.Option(None, "--resume", help="Continue a saved consultation."),
    why: bool = typer.Option(True, "--why/--no-why", help="Show why each question is asked."),
    markdown: Path | None = typer.Option(None, "--markdown", help="Also save the report here."),
    knowledge: bool = typer.Option(
        True,
        "--knowledge/--no-knowledge",
        help="Cite the built-in knowledge index of --kb (built by `ddx index build --builtin "
        "ddxplus` or `--builtin hpo`) for the leading candidates; an LLM diagnoser reads it.",
    ),
    online: bool = knowledge_options.ONLINE,
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
    An option that cannot apply (e.g. --model with --kb hpo) is refused, never ignored.
    Decision support for learning and research, not a diagnosis.
    """
    from agent.assembly import ConsultOptions, refuse_unsupported

    settings = settings_from(
        ctx,
        max_questions=questions,
        confidence_threshold=confidence,
        refinement_rounds=rounds,
        doctor=doctor,
        diagnoser=diagnoser,
        strategy=strategy,
    )
    if kb_name not in ("ddxplus", "hpo"):
        raise DdxError(f"--kb must be ddxplus or hpo, not {kb_name!r}.")
    refuse_unusable(
        kb_name,
        resume=resume,
        patient_file=patient_file,
        patient=patient,
        said=[("--age", age), ("--sex", sex), ("--say", say), ("--complaint", complaint)],
    )
    if strategy is not None and settings.diagnoser_backend == "kb":
        raise DdxError(f"--strategy {strategy} needs an LLM diagnoser (--doctor or --diagnoser).")
    options = ConsultOptions(
        retrieval="if-built" if knowledge else "off", online=online, model_path=model
    )
    refuse_unsupported("hpo" if kb_name == "hpo" else "ddxplus", settings, options)
    if kb_name == "hpo":
        from agent.cli.hpo_chat import HpoIntake, hpo_chat

        intake = HpoIntake(say=say or complaint, age=age, sex=_check_sex(sex) if sex else None)
        hpo_chat(settings, options, intake, resume=resume, why=why, markdown=markdown)
        return
    _ddxplus_chat(
        settings,
        options,
        given=(age, sex, say or complaint),
        simulated_from=(patient_file, patient or 1),
        resume=resume,
        why=why,
        markdown=markdown,
    )


def refuse_unusable(
    kb_name: str,
    *,
    resume: str | None,
    patient_file: Path | None,
    patient: int | None,
    said: list[tuple[str, object]],
) -> None:
    """One-line errors for options that would otherwise be ignored."""
    given = [name for name, value in said if value is not None]
    if "--say" in given and "--complaint" in given:
        raise DdxError("Give the first message once: --say or --complaint, not both.")
    if patient is not None and patient_file is None:
        raise DdxError("--patient picks a row of --patient-file: give the file too.")
    if patient_file is not None:
        if kb_name == "hpo":
            raise DdxError(
                "--patient-file is a DDXPlus patient CSV; rare-disease patients are simulated "
                "by `ddx eval rarebench --cases FILE`."
            )
        if given:
            raise DdxError(
                f"The simulated patient of --patient-file gives its own age, sex and "
                f"complaint: drop {', '.join(given)}."
            )
    if resume is not None and given:
        raise DdxError(
            f"A resumed consultation keeps its opening: drop {', '.join(given)} with --resume."
        )


def _ddxplus_chat(
    settings: DdxSettings,
    options: ConsultOptions,
    *,
    given: tuple[int | None, str | None, str | None],
    simulated_from: tuple[Path | None, int],
    resume: str | None,
    why: bool,
    markdown: Path | None,
) -> None:
    """A DDXPlus consultation: assembled, opened (or resumed), conversed, reported."""
    from rich.console import Console

    from agent.assembly import assemble
    from agent.cli.terminal import checkpointer, converse, resumed_turn, show_report
    from agent.consult.graph import compile_graph
    from agent.consult.session import ConsultationSession
    from agent.llm.factory import role_clients

    kb = load_kb(settings)
    console = Console()
    path, number = simulated_from
    simulated = _simulated_patient(kb, path, number) if path else None
    with checkpointer(settings.state_dir) as saver:
        clients = role_clients(settings)
        warn = lambda m: console.print(f"[dim]{m}[/]")  # noqa: E731
        context = assemble(settings, kb, options, warn, clients=clients).context
        session = ConsultationSession(compile_graph(saver), context)
        if resume:
            thread_id = resume
            turn = resumed_turn(console, session, thread_id)
        else:
            thread_id = uuid.uuid4().hex[:12]
            intake = _opening(console, kb, settings, simulated, given, clients.doctor)
            console.print(f"[dim]consultation id {thread_id} (continue later with --resume)[/]")
            turn = session.start(thread_id, intake)
        report = converse(console, session, thread_id, turn, simulated, why)
    show_report(console, report, thread_id, markdown)
    if simulated is not None:
        console.print(f"[dim]ground truth: {simulated.record.pathology}[/]")


def _opening(
    console: Console,
    kb: KnowledgeBase,
    settings: DdxSettings,
    simulated: SimulatedPatient | None,
    given: tuple[int | None, str | None, str | None],
    doctor: LLMClient | None,
) -> CaseIntake:
    """The intake: the simulated patient's, or age, sex and the complaint asked for."""
    from agent.state import CaseIntake

    if simulated is not None:
        record = simulated.record
        console.print(
            f"Simulated patient {record.case_id}: {record.age} y, {record.sex}, "
            f"complaint: {kb.evidences[record.initial_evidence].question}"
        )
        return CaseIntake(
            age=record.age,
            sex=record.sex,
            findings=simulated.intake(),
            max_questions=settings.max_questions,
            confidence_threshold=settings.confidence_threshold,
            refinement_rounds=settings.refinement_rounds,
        )
    from agent.cli.chat_intake import ask_complaint

    age, sex, first_message = given
    known_age = age if age is not None else _ask_age()
    known_sex = _check_sex(sex) if sex else _ask_sex()
    picked = ask_complaint(console, kb, first_message, doctor, settings.cache_folder)
    return CaseIntake(
        age=known_age,
        sex=known_sex,
        findings=picked.findings,
        regions=picked.regions,
        max_questions=settings.max_questions,
        confidence_threshold=settings.confidence_threshold,
        refinement_rounds=settings.refinement_rounds,
    )


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
