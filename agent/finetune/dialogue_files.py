"""``ddx data dialogues``: write a training file and its held-out split, with a manifest.

From ``--out train.jsonl`` come four files side by side:

===============================  ==============================================================
file                             contents
===============================  ==============================================================
``train.jsonl``                  the training conversations (chat JSONL)
``train.heldout.jsonl``          the held-out conversations: never trained on
``train.heldout_patients.csv``   (source ddxplus) the held-out patients' original CSV rows, for
                                 ``ddx eval ddxplus --patients`` on patients the model never saw
``train.manifest.json``          what was made, from what (SHA-256), the split and the timing
===============================  ==============================================================
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from agent.errors import DataFormatError
from agent.finetune.chat_data import (
    Dialogue,
    require_dialogues,
    split,
    write_dialogues,
)
from agent.finetune.teacher import EngineTeacher, TeacherSettings, teach
from retrieval.ddxplus_kb import KnowledgeBase
from simulator.records import PatientRecord, RowError, iter_rows, parse_row

Source = Literal["ddxplus", "chat"]


class DialogueManifest(BaseModel):
    """The record of one ``ddx data dialogues`` run (``<out>.manifest.json``)."""

    source: Source
    input: str = Field(description="The patients CSV (ddxplus) or the user's chat JSONL.")
    input_sha256: str
    created: str
    heldout_fraction: float
    train_file: str
    train_count: int
    heldout_file: str
    heldout_count: int
    heldout_ids: list[str]
    heldout_patients: str | None = Field(
        default=None, description="ddxplus: the held-out patients' CSV rows, for ddx eval."
    )
    skipped: list[str] = Field(default_factory=list, description="Input lines not used, why.")
    teacher: dict[str, float | int] | None = None
    seconds: float
    dialogues_per_second: float


def sibling(out: Path, suffix: str) -> Path:
    """``train.jsonl`` → ``train<suffix>`` (e.g. ``train.heldout.jsonl``)."""
    return out.with_name(out.name.removesuffix(".jsonl") + suffix)


class _TeacherRunner:
    """One consultation per index, for :func:`agent.executor.run_cases` (forked workers)."""

    def __init__(
        self, teacher: EngineTeacher, records: Sequence[PatientRecord], settings: TeacherSettings
    ) -> None:
        self.teacher = teacher
        self.records = records
        self.settings = settings

    def run(self, index: int) -> tuple[int, Dialogue]:
        return index, teach(self.teacher, self.records[index], self.settings)


def _read_patients(
    kb: KnowledgeBase, path: Path
) -> tuple[list[str], list[tuple[PatientRecord, dict[str, str]]], list[str]]:
    """Header, (record, original row) pairs, and the skipped rows with their reason."""
    with path.open(encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle), [])
    kept: list[tuple[PatientRecord, dict[str, str]]] = []
    skipped: list[str] = []
    for line, row in iter_rows(path):
        try:
            kept.append((parse_row(kb, row, f"{path.name}:{line}"), row))
        except RowError as exc:
            skipped.append(f"line {line} skipped: {exc}")
    return header, kept, skipped


def _write_rows(path: Path, header: list[str], rows: Sequence[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    partial.replace(path)


def ddxplus_dialogues(
    kb: KnowledgeBase,
    patients: Path,
    out: Path,
    *,
    n: int | None,
    seed: int,
    heldout_fraction: float,
    settings: TeacherSettings,
    workers: int,
    warn: Callable[[str], None],
) -> DialogueManifest:
    """Consult ``n`` patients of ``patients`` with the engine as teacher; write the files."""
    from agent.executor import CaseFailure, run_cases, select_cases

    header, kept, skipped = _read_patients(kb, patients)
    for problem in skipped[:20]:
        warn(f"{patients.name} {problem}")
    if not kept:
        raise DataFormatError(f"{patients} has no usable patient rows.")
    chosen = select_cases(kept, n, seed)
    records = [record for record, _ in chosen]
    results: dict[int, Dialogue] = {}
    failures: list[CaseFailure] = []

    def keep(item: tuple[int, Dialogue]) -> None:
        results[item[0]] = item[1]

    started = time.perf_counter()
    run_cases(
        _TeacherRunner(EngineTeacher.build(kb), records, settings),
        range(len(records)),
        workers,
        keep,
        failures.append,
        description="dialogues",
        chunk_size=64,
    )
    seconds = time.perf_counter() - started
    for failure in failures:
        warn(f"patient {records[failure.index].case_id} failed: {failure.error}")
    dialogues = [results[i] for i in sorted(results)]
    train, held = split(dialogues, heldout_fraction)
    held_ids = {d.id for d in held}
    heldout_patients = sibling(out, ".heldout_patients.csv")
    _write_rows(heldout_patients, header, [row for rec, row in chosen if rec.case_id in held_ids])
    return _write_split(
        out,
        train,
        held,
        source="ddxplus",
        input_path=patients,
        heldout_fraction=heldout_fraction,
        heldout_patients=heldout_patients.name,
        skipped=skipped + [f"{records[f.index].case_id}: {f.error}" for f in failures],
        teacher={
            "questions": settings.questions,
            "confidence_threshold": settings.confidence_threshold,
            "seed": seed,
        },
        seconds=seconds,
    )


def chat_dialogues(
    source: Path, out: Path, *, heldout_fraction: float, warn: Callable[[str], None]
) -> DialogueManifest:
    """Validate the user's chat JSONL (bad lines reported), split it, write the files."""
    started = time.perf_counter()
    loaded = require_dialogues(source)
    for problem in loaded.problems():
        warn(f"{source.name} {problem}")
    train, held = split(loaded.dialogues, heldout_fraction)
    return _write_split(
        out,
        train,
        held,
        source="chat",
        input_path=source,
        heldout_fraction=heldout_fraction,
        skipped=[f"line {line} skipped: {why}" for line, why in loaded.skipped],
        seconds=time.perf_counter() - started,
    )


def _write_split(
    out: Path,
    train: Sequence[Dialogue],
    held: Sequence[Dialogue],
    *,
    source: Source,
    input_path: Path,
    heldout_fraction: float,
    skipped: list[str],
    seconds: float,
    heldout_patients: str | None = None,
    teacher: dict[str, float | int] | None = None,
) -> DialogueManifest:
    """Write the training and held-out files, then the manifest that records them."""
    from agent.files import file_sha256

    write_dialogues(out, train)
    write_dialogues(sibling(out, ".heldout.jsonl"), held)
    manifest = DialogueManifest(
        source=source,
        input=str(input_path.resolve()),
        input_sha256=file_sha256(input_path),
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        heldout_fraction=heldout_fraction,
        train_file=out.name,
        train_count=len(train),
        heldout_file=sibling(out, ".heldout.jsonl").name,
        heldout_count=len(held),
        heldout_ids=[d.key() for d in held],
        heldout_patients=heldout_patients,
        skipped=skipped,
        teacher=teacher,
        seconds=round(seconds, 3),
        dialogues_per_second=round((len(train) + len(held)) / max(seconds, 1e-9), 1),
    )
    path = sibling(out, ".manifest.json")
    partial = path.with_name(path.name + ".partial")
    partial.write_text(manifest.model_dump_json(indent=2) + "\n", encoding="utf-8")
    partial.replace(path)
    return manifest
