"""`ddx eval ddxplus`: a resumable, parallel DDXPlus benchmark run.

``DIR/run.json`` fixes what the run is (patients file and its hash, question budget, …); started
again with the same ``--out``, the run finishes only the cases missing from ``DIR/cases.jsonl``
and refuses to mix in results of different settings.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

from agent.context import ConsultContext
from agent.errors import DdxError
from data.locations import require_existing
from eval.ddxplus_cases import DdxPlusCaseRunner, PatientFactory
from eval.metrics import summarize
from eval.parallel import CaseFailure
from eval.report import write_summary
from eval.schema import CONFIG_FILE, CaseResult, RunConfig, RunSummary
from retrieval.ddxplus_kb import KnowledgeBase
from simulator.ddxplus_patient import SimulatedPatient
from simulator.records import load_patients

PROGRESS_FILE = "progress.json"

RecordT = TypeVar("RecordT")


@dataclass(frozen=True)
class DdxPlusRequest:
    patients: Path
    out: Path
    questions: int = 10
    workers: int = 1
    limit: int | None = None
    seed: int = 0
    full_profile: bool = False
    confidence_threshold: float = 0.95
    model_path: Path | None = None
    llm: LLMRoles | None = None
    """LLM roles (issue 3): who plays them, recorded in run.json; None: the engine only."""


@dataclass(frozen=True)
class LLMRoles:
    label: str
    """'doctor=…; diagnoser=…; patient=…; strategy=…': recorded so a resume cannot mix."""
    context: Callable[[KnowledgeBase, Path | None], ConsultContext]
    patient: PatientFactory


@dataclass
class DdxPlusOutcome:
    summary: RunSummary
    failures: list[CaseFailure] = field(default_factory=list)
    newly_run: int = 0


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def select_cases(records: list[RecordT], limit: int | None, seed: int) -> list[RecordT]:
    """All records, or ``limit`` of them drawn with ``seed`` (kept in file order)."""
    if limit is None or limit >= len(records):
        return records
    chosen = sorted(random.Random(seed).sample(range(len(records)), limit))
    return [records[i] for i in chosen]


def _check_config(out: Path, config: BaseModel) -> None:
    """Write the run's config, or check it against the one a previous run wrote."""
    path = out / CONFIG_FILE
    if path.exists():
        try:
            previous = type(config).model_validate_json(path.read_text(encoding="utf-8"))
        except ValueError:
            raise DdxError(f"{path} is not a run configuration; use another --out.") from None
        if previous != config:
            changed = [
                f"{name}: {getattr(previous, name)!r} → {getattr(config, name)!r}"
                for name in type(config).model_fields
                if getattr(previous, name) != getattr(config, name)
            ]
            raise DdxError(
                f"{out} holds a run with other settings ({'; '.join(changed)}). "
                "Use another --out, or delete that folder to start over."
            )
    else:
        path.write_text(config.model_dump_json(indent=2) + "\n", encoding="utf-8")


def _seconds_so_far(out: Path) -> float:
    path = out / PROGRESS_FILE
    if not path.exists():
        return 0.0
    try:
        return float(json.loads(path.read_text(encoding="utf-8"))["seconds"])
    except (ValueError, KeyError, TypeError):
        return 0.0


def _save_seconds(out: Path, seconds: float) -> None:
    (out / PROGRESS_FILE).write_text(json.dumps({"seconds": round(seconds, 3)}) + "\n")


def run_ddxplus(
    kb: KnowledgeBase, request: DdxPlusRequest, warn: Callable[[str], None]
) -> DdxPlusOutcome:
    """Run (or finish) a benchmark run and write ``summary.json``; returns the summary."""
    patients = require_existing(request.patients, "a DDXPlus patient CSV")
    loaded = load_patients(kb, patients)
    for problem in loaded.problems():
        warn(f"{patients.name} {problem}")
    if loaded.skipped:
        warn(loaded.summary())
    if not loaded.records:
        raise DdxError(f"{patients} has no usable patient rows.")
    selected = select_cases(loaded.records, request.limit, request.seed)
    config = RunConfig(
        benchmark="ddxplus",
        patients=str(patients.resolve()),
        patients_sha256=file_sha256(patients),
        questions=request.questions,
        full_profile=request.full_profile,
        limit=request.limit,
        seed=request.seed,
        confidence_threshold=request.confidence_threshold,
        model=str(request.model_path.resolve()) if request.model_path else "structural",
        llm=request.llm.label if request.llm else "kb",
    )
    # Build the runner (engine, model file, graph) before touching the run folder: a setup
    # mistake such as a mistyped --model must not leave a run.json behind.
    runner = DdxPlusCaseRunner(
        kb,
        selected,
        questions=request.questions,
        full_profile=request.full_profile,
        confidence_threshold=request.confidence_threshold,
        model_path=request.model_path,
        context=request.llm.context(kb, request.model_path) if request.llm else None,
        patient_factory=request.llm.patient if request.llm else SimulatedPatient,
    )
    from eval.run_folder import run_in_folder  # imports this module's run-folder helpers

    out = request.out
    run = run_in_folder(
        out,
        config,
        runner,
        [record.case_id for record in selected],
        CaseResult,
        lambda case: case.case_id,
        workers=request.workers,
        description="DDXPlus",
        warn=warn,
    )
    summary = summarize(
        run.cases,
        skipped=len(loaded.skipped),
        seconds=run.seconds,
        questions_budget=request.questions,
        full_profile=request.full_profile,
        label=out.name,
    )
    write_summary(out, summary)
    return DdxPlusOutcome(summary=summary, failures=run.failures, newly_run=run.newly_run)
