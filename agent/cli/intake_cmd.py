"""`ddx intake`: what the free-text intake reads in a message, or how well it reads phrases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from agent.cli.common import load_kb, settings_from
from agent.errors import DdxError

if TYPE_CHECKING:
    from agent.intake.models import IntakeReading, ReadFinding, Reading
    from agent.intake.reader import IntakeReader
    from eval.intake_phrases import Phrase
    from retrieval.ddxplus_kb import KnowledgeBase


def intake(
    ctx: typer.Context,
    text: str | None = typer.Argument(
        None, help="What the patient says, e.g. 'a bad cough and a fever, no sore throat'."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
    eval_files: list[Path] = typer.Option(
        [],
        "--eval",
        help="Score the reader on a phrase file (JSONL: text, expect, allow; see "
        "tests/fixtures/intake/README.md) instead of reading TEXT. Repeat for several files.",
    ),
    details: bool = typer.Option(
        False, "--details", help="With --eval: list every phrase with a wrong or missed finding."
    ),
) -> None:
    """Read a message into DDXPlus findings, as the chat and the app do at intake.

    Prints the readings best first: each finding with its evidence code, value, the
    knowledge-base text it matched, the words it came from and the similarity score. The
    person picks one reading or none. The first call loads the sentence encoder (seconds).
    """
    if (text is None) == (not eval_files):
        raise DdxError("Give either the TEXT to read or --eval FILE (not both).")
    if text is not None and not text.strip():
        raise DdxError("The text to read is empty.")
    settings = settings_from(ctx)
    kb = load_kb(settings)
    phrase_files = _phrase_files(kb, eval_files)  # checked before the encoder loads
    from agent.intake.shared import intake_reader

    reader = intake_reader(kb, settings.cache_folder)
    if phrase_files:
        _evaluate(kb, reader, phrase_files, as_json, details)
        return
    assert text is not None
    read = reader.read(text)
    if as_json:
        typer.echo(json.dumps(reading_json(kb, read), indent=2, ensure_ascii=False))
    else:
        _print_readings(kb, read)


def finding_json(kb: KnowledgeBase, found: ReadFinding) -> dict[str, Any]:
    """One finding as printed by --json."""
    ev = kb.evidence(found.code)
    value_text = None if isinstance(found.value, bool) else ev.describe_value(found.value)
    return {
        "code": found.code,
        "question": ev.question,
        "value": found.value,
        "value_text": value_text,
        "matched": found.matched,
        "said": found.said,
        "score": found.score,
        "implied_by": found.implied_by,
    }


def reading_json(kb: KnowledgeBase, read: IntakeReading) -> dict[str, Any]:
    """The whole answer of `ddx intake --json`: the best reading's findings, then every reading."""
    return {
        "text": read.text,
        "findings": [finding_json(kb, f) for f in read.best.findings] if read.best else [],
        "readings": [
            {
                "rank": rank,
                "score": reading.score,
                "label": reading.describe(kb),
                "findings": [finding_json(kb, f) for f in reading.findings],
            }
            for rank, reading in enumerate(read.readings, start=1)
        ],
    }


def _print_readings(kb: KnowledgeBase, read: IntakeReading) -> None:
    if not read.readings:
        typer.echo("Nothing in that text matches a finding of the knowledge base.")
        return
    typer.echo(f"Read {read.text!r} as:")
    for rank, reading in enumerate(read.readings, start=1):
        typer.echo(f"  {rank}. {reading.describe(kb)}   (score {reading.score:.2f})")
        if rank == 1:
            _print_findings(kb, reading)
    typer.echo("  0. none of these")


def _print_findings(kb: KnowledgeBase, reading: Reading) -> None:
    for found in reading.findings:
        item = finding_json(kb, found)
        value = item["value_text"] or ("yes" if found.value else "no")
        why = f"implied by {found.implied_by}" if found.implied_by else f"matched {found.matched!r}"
        typer.echo(f"       {found.code} = {value}  ({why}, {found.score:.2f})")


def _phrase_files(kb: KnowledgeBase, paths: list[Path]) -> dict[Path, list[Phrase]]:
    """Every phrase file read and its findings checked against the knowledge base."""
    from data.locations import require_existing
    from eval.intake_phrases import load_phrases, parse_expected

    files = {path: load_phrases(require_existing(path, "a phrase file")) for path in paths}
    for phrases in files.values():
        for phrase in phrases:
            for token in [*phrase.expect, *phrase.allow]:
                parse_expected(kb, token)
    return files


def _evaluate(
    kb: KnowledgeBase,
    reader: IntakeReader,
    files: dict[Path, list[Phrase]],
    as_json: bool,
    details: bool,
) -> None:
    from rich.progress import track

    from eval.intake_phrases import summarise

    results: dict[str, Any] = {}
    for path, phrases in files.items():
        reads = [reader.read(p.text) for p in track(phrases, description=path.name, transient=True)]
        scores = summarise(kb, phrases, reads)
        results[str(path)] = scores.model_dump(exclude={"details"} if not details else set())
        if not as_json:
            typer.echo(
                f"{path}: {scores.phrases} phrases, precision {scores.precision:.3f}, "
                f"recall {scores.recall:.3f}, exact {scores.exact:.3f}, "
                f"exact among the readings {scores.in_readings:.3f}"
            )
            if details:
                for d in scores.details:
                    if d.wrong or d.missing:
                        typer.echo(f"  {d.text!r}: wrong {d.wrong}, missed {d.missing}")
    if as_json:
        typer.echo(json.dumps(results, indent=2))
