"""`ddx eval ddxplus`: a resumable, parallel DDXPlus benchmark run.

``DIR/run.json`` fixes what the run is (patients file and its hash, question budget, …); started
again with the same ``--out``, the run finishes only the cases missing from ``DIR/cases.jsonl``
and refuses to mix in results of different settings.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from agent.errors import DdxError
from data.locations import require_existing
from eval.ddxplus_cases import DdxPlusCaseRunner
from eval.metrics import summarize
from eval.parallel import CaseFailure, run_cases
from eval.report import write_summary
from eval.results_file import ResultsWriter, read_cases
from eval.schema import CASES_FILE, CONFIG_FILE, CaseResult, RunConfig, RunSummary
from retrieval.ddxplus_kb import KnowledgeBase
from simulator.records import PatientRecord, load_patients

PROGRESS_FILE = "progress.json"


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


def select_cases(records: list[PatientRecord], limit: int | None, seed: int) -> list[PatientRecord]:
    """All records, or ``limit`` of them drawn with ``seed`` (kept in file order)."""
    if limit is None or limit >= len(records):
        return records
    chosen = sorted(random.Random(seed).sample(range(len(records)), limit))
    return [records[i] for i in chosen]


def _check_config(out: Path, config: RunConfig) -> None:
    path = out / CONFIG_FILE
    if path.exists():
        try:
            previous = RunConfig.model_validate_json(path.read_text(encoding="utf-8"))
        except ValueError:
            raise DdxError(f"{path} is not a run configuration; use another --out.") from None
        if previous != config:
            changed = [
                f"{name}: {getattr(previous, name)!r} → {getattr(config, name)!r}"
                for name in RunConfig.model_fields
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
    )
    out = request.out
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DdxError(f"Cannot create the output folder {out}: {exc.strerror}.") from None
    _check_config(out, config)
    cases_path = out / CASES_FILE
    done = {case.case_id for case in read_cases(cases_path, repair=True)}
    todo = [i for i, record in enumerate(selected) if record.case_id not in done]

    failures: list[CaseFailure] = []
    started = time.perf_counter()
    previous_seconds = _seconds_so_far(out)
    try:
        with ResultsWriter(cases_path) as writer:

            def keep(result: CaseResult) -> None:
                writer.write(result)

            def fail(failure: CaseFailure) -> None:
                failures.append(failure)
                warn(f"case {selected[failure.index].case_id} failed: {failure.error}")

            run_cases(
                runner,
                todo,
                request.workers,
                keep,
                fail,
                description="DDXPlus",
                already_done=len(selected) - len(todo),
            )
    finally:
        _save_seconds(out, previous_seconds + time.perf_counter() - started)
    wanted = {record.case_id for record in selected}
    cases = [case for case in read_cases(cases_path) if case.case_id in wanted]
    summary = summarize(
        cases,
        skipped=len(loaded.skipped),
        seconds=_seconds_so_far(out),
        questions_budget=request.questions,
        full_profile=request.full_profile,
        label=out.name,
    )
    write_summary(out, summary)
    return DdxPlusOutcome(summary=summary, failures=failures, newly_run=len(todo))
