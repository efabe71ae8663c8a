"""`ddx chat --kb hpo`: a rare-disease consultation on typed phenotypes (HPO ids or words)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from agent.assembly import ConsultOptions
    from agent.free_text import FreeTextMatcher
    from agent.reasoners.hpo.free_text import PhenotypeReading
    from agent.settings import DdxSettings
    from retrieval.hpo_kb import HpoKnowledgeBase

EXAMPLE = "tall, long thin fingers, dislocated lens, no seizures  (or HPO ids: HP:0001166)"


@dataclass(frozen=True)
class HpoIntake:
    """How ``ddx chat --kb hpo`` opens: the phenotype described (asked for when None), and age
    and sex, recorded in the report (the phenotype reasoner itself uses neither)."""

    say: str | None = None
    age: int | None = None
    sex: str | None = None


def hpo_chat(
    settings: DdxSettings,
    options: ConsultOptions,
    opening: HpoIntake,
    *,
    resume: str | None,
    why: bool,
    markdown: Path | None,
    words: bool = True,
) -> None:
    """Run one HPO consultation in the terminal (see ``ddx chat --help``)."""
    from rich.console import Console

    from agent.assembly import assemble
    from agent.cli.rarebench_cmd import load_hpo
    from agent.cli.terminal import checkpointer, converse, resumed_turn, show_report
    from agent.consult.graph import compile_graph
    from agent.consult.session import ConsultationSession
    from agent.state import CaseIntake

    console = Console()
    kb = load_hpo(settings)
    warn = lambda m: console.print(f"[dim]{m}[/]")  # noqa: E731
    context = assemble(settings, kb, options, warn).context
    with checkpointer(settings.state_dir) as saver:
        session = ConsultationSession(compile_graph(saver), context)
        if resume:
            thread_id = resume
            turn = resumed_turn(console, session, thread_id)
        else:
            findings = _phenotype_findings(console, kb, settings, opening.say, words)
            thread_id = uuid.uuid4().hex[:12]
            console.print(f"[dim]consultation id {thread_id} (continue later with --resume)[/]")
            if opening.age is not None or opening.sex is not None:
                console.print("[dim]age and sex go into the report; the reasoner uses neither[/]")
            intake = CaseIntake(
                age=opening.age,
                sex=opening.sex,
                findings=dict(findings),
                max_questions=settings.max_questions,
                confidence_threshold=settings.confidence_threshold,
                refinement_rounds=settings.refinement_rounds,
            )
            turn = session.start(thread_id, intake)
        report = converse(console, session, thread_id, turn, None, why)
    show_report(console, report, thread_id, markdown)


def _phenotype_findings(
    console: Console,
    kb: HpoKnowledgeBase,
    settings: DdxSettings,
    say: str | None,
    words: bool,
) -> dict[str, bool | None]:
    """Read the description, show what it was mapped to, let the person drop wrong terms."""
    from agent.reasoners.hpo.free_text import read_phenotypes, words_of

    matcher: FreeTextMatcher | None = None
    text = say
    while True:
        if text is None:
            text = str(typer.prompt(f"Describe the patient's phenotype (e.g. {EXAMPLE})"))
        if words and matcher is None and words_of(text):
            matcher = _matcher(console, kb, settings)
        reading = read_phenotypes(kb, text, matcher)
        for term_id in reading.unknown_ids:
            console.print(f"[yellow]{term_id} is not an HPO phenotype term; ignored.[/]")
        rows = _show_mapping(console, kb, reading)
        if not any(value for value in reading.findings.values()):
            console.print("No phenotype recognised as present; try other words or HPO ids.")
            text = None
            continue
        if say is not None:
            return dict(rows)
        drop = str(
            typer.prompt("Drop any? (numbers, comma-separated; Enter keeps all)", default="")
        )
        dropped = {int(n) for n in drop.replace(" ", "").split(",") if n.isdigit()}
        return {code: value for i, (code, value) in enumerate(rows, 1) if i not in dropped}


def _show_mapping(
    console: Console, kb: HpoKnowledgeBase, reading: PhenotypeReading
) -> list[tuple[str, bool | None]]:
    said = {m.label: m for m in reading.matches}
    rows: list[tuple[str, bool | None]] = []
    console.print("Understood:")
    for number, (code, value) in enumerate(reading.findings.items(), start=1):
        present = value if isinstance(value, bool) else None
        name = kb.term_names[kb.term_index(code)]
        source = (
            f'  [dim]from "{said[code].clause}" ({said[code].score:.2f})[/]' if code in said else ""
        )
        console.print(f"  {number}. {name} ({code}): {'yes' if present else 'no'}{source}")
        rows.append((code, present))
    return rows


def _matcher(console: Console, kb: HpoKnowledgeBase, settings: DdxSettings) -> FreeTextMatcher:
    from agent.free_text import default_encoder
    from agent.reasoners.hpo.free_text import hpo_matcher

    console.print(
        "[dim]loading the phenotype matcher (the first time embeds ~29,000 HPO names "
        "and synonyms, a few minutes; cached afterwards)[/]"
    )
    return hpo_matcher(kb, default_encoder(), settings.cache_folder)
