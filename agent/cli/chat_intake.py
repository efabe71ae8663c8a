"""The chat's first step: the complaint in the patient's words, read and confirmed.

The message (``--say``, ``--complaint`` or typed when asked) is read by the intake reader (by
the LLM doctor first when one is configured); its readings, best first, and the keyword
matches are listed by number with "0. none of these", and the person picks one or types the
complaint again. An evidence code (E_91) is taken as it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from agent.errors import DdxError

if TYPE_CHECKING:
    from rich.console import Console

    from agent.intake.options import IntakeOption
    from agent.llm.client import LLMClient
    from retrieval.ddxplus_kb import KnowledgeBase
    from retrieval.findings import Findings

ASK = "What brings the patient in? (in their words, e.g. 'a bad cough and a fever')"


def ask_complaint(
    console: Console,
    kb: KnowledgeBase,
    given: str | None,
    doctor: LLMClient | None,
    cache_dir: Path | None,
) -> IntakeOption:
    """The reading the person confirms (its findings and regions); asks until one is picked."""
    from agent.intake.options import IntakeOption

    text = given
    while True:
        if text is None:
            text = _prompt(ASK, default=None)
        if text.strip() in kb.evidences:
            code = text.strip()
            return IntakeOption(label=kb.evidences[code].question, findings={code: True})
        options = _options(kb, text, doctor, cache_dir)
        if not options:
            console.print("Nothing in that names a symptom I know; please say it in other words.")
            text = None
            continue
        picked = _pick(console, options)
        if picked is None:
            text = None
            continue
        _show_understood(console, kb, picked.findings, picked.regions)
        return picked


def _options(
    kb: KnowledgeBase, text: str, doctor: LLMClient | None, cache_dir: Path | None
) -> list[IntakeOption]:
    from agent.intake.options import intake_options
    from agent.intake.shared import intake_reader
    from agent.reasoners.llm.intake import parse_message

    read = parse_message(kb, text, doctor, intake_reader(kb, cache_dir))
    return intake_options(kb, text, read)


def _pick(console: Console, options: list[IntakeOption]) -> IntakeOption | None:
    """The option the person picks by number; None for "none of these"."""
    console.print("I read that as:")
    for number, option in enumerate(options, start=1):
        console.print(f"  {number}. {option.label}", markup=False)
    console.print("  0. none of these — type it again")
    while True:
        choice = str(_prompt("Which one? (number)", default="1")).strip()
        if choice == "0":
            return None
        if choice.isdigit() and 1 <= int(choice) <= len(options):
            return options[int(choice) - 1]
        console.print(f"Please answer with a number from 0 to {len(options)}.")


def _show_understood(
    console: Console, kb: KnowledgeBase, findings: Findings, regions: dict[str, list[str]]
) -> None:
    for code, values in regions.items():
        ev = kb.evidence(code)
        places = ", ".join(ev.describe_value(v) for v in values)
        console.print(f"  understood: {ev.question} one or more of: {places}", markup=False)
    for code, value in findings.items():
        ev = kb.evidence(code)
        if isinstance(value, bool):
            said = "yes" if value else "no"
        elif isinstance(value, list):
            said = ", ".join(ev.describe_value(v) for v in value)
        else:
            said = ev.describe_value(value) if value is not None else "don't know"
        console.print(f"  understood: {ev.question} {said}", markup=False)


def _prompt(text: str, default: str | None) -> str:
    try:
        return str(typer.prompt(text, default=default))
    except (EOFError, typer.Abort):
        raise DdxError("Stopped before the consultation began: no complaint chosen.") from None
