"""Running a benchmark's cases into its run folder, resumably: shared by every benchmark.

``run.json`` must match the run's config; cases already in ``cases.jsonl`` are skipped; new
ones are appended as they finish; wall time accumulates over resumed runs in
``progress.json``; ``summary.json`` is rewritten at the end. What a case is and how a run is
summarised stay with each benchmark.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from pydantic import BaseModel

from agent.errors import DdxError
from agent.reasoners.ddxplus.recipe import (
    file_sha256 as file_sha256,  # re-exported: run.json hashes
)
from data.locations import ensure_folder
from eval.parallel import CaseFailure, CaseRunner, run_cases
from eval.rarebench_schema import RareBenchSummary
from eval.report import write_summary
from eval.results_file import ResultsWriter, read_results
from eval.schema import CASES_FILE, CONFIG_FILE, RunSummary

ResultT = TypeVar("ResultT", bound=BaseModel)
RecordT = TypeVar("RecordT")
SummaryT = TypeVar("SummaryT", RunSummary, RareBenchSummary)

PROGRESS_FILE = "progress.json"


@dataclass(frozen=True, kw_only=True)
class RunRequest:
    """The options every benchmark run takes besides its input file."""

    out: Path
    questions: int = 10
    workers: int = 1
    limit: int | None = None
    seed: int = 0
    full_profile: bool = False
    confidence_threshold: float = 0.99


@dataclass
class BenchOutcome(Generic[SummaryT]):
    """What a finished (or finished-again) benchmark run reports back to its command."""

    summary: SummaryT
    failures: list[CaseFailure] = field(default_factory=list)
    newly_run: int = 0


def select_cases(records: list[RecordT], limit: int | None, seed: int) -> list[RecordT]:
    """All records, or ``limit`` of them drawn with ``seed`` (kept in file order)."""
    if limit is None or limit >= len(records):
        return records
    chosen = sorted(random.Random(seed).sample(range(len(records)), limit))
    return [records[i] for i in chosen]


def check_config(out: Path, config: BaseModel) -> None:
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


def seconds_so_far(out: Path) -> float:
    """Wall time of earlier runs into ``out`` (0 when unknown: a resumed run just restarts it)."""
    path = out / PROGRESS_FILE
    if not path.exists():
        return 0.0
    try:
        return float(json.loads(path.read_text(encoding="utf-8"))["seconds"])
    except (ValueError, KeyError, TypeError):
        return 0.0


def save_seconds(out: Path, seconds: float) -> None:
    (out / PROGRESS_FILE).write_text(json.dumps({"seconds": round(seconds, 3)}) + "\n")


@dataclass
class FolderRun(Generic[ResultT]):
    cases: list[ResultT]
    """Every finished case of the selection (earlier runs' and this one's)."""
    seconds: float
    """Wall time of all runs into this folder."""
    failures: list[CaseFailure] = field(default_factory=list)
    newly_run: int = 0


def run_in_folder(
    out: Path,
    config: BaseModel,
    runner: CaseRunner[ResultT],
    case_ids: Sequence[str],
    result_type: type[ResultT],
    case_id_of: Callable[[ResultT], str],
    *,
    workers: int,
    description: str,
    warn: Callable[[str], None],
) -> FolderRun[ResultT]:
    """Run the cases of ``case_ids`` (the runner's indices) missing from the folder."""
    ensure_folder(out, "output folder")
    check_config(out, config)
    cases_path = out / CASES_FILE
    done = {case_id_of(c) for c in read_results(cases_path, result_type, repair=True)}
    todo = [i for i, case_id in enumerate(case_ids) if case_id not in done]
    failures: list[CaseFailure] = []
    started = time.perf_counter()
    previous_seconds = seconds_so_far(out)
    try:
        with ResultsWriter(cases_path) as writer:

            def fail(failure: CaseFailure) -> None:
                failures.append(failure)
                warn(f"case {case_ids[failure.index]} failed: {failure.error}")

            run_cases(
                runner,
                todo,
                workers,
                writer.write,
                fail,
                description=description,
                already_done=len(case_ids) - len(todo),
            )
    finally:
        save_seconds(out, previous_seconds + time.perf_counter() - started)
    wanted = set(case_ids)
    cases = [c for c in read_results(cases_path, result_type) if case_id_of(c) in wanted]
    return FolderRun(cases, seconds_so_far(out), failures, len(todo))


def finish_run(out: Path, summary: SummaryT, run: FolderRun[ResultT]) -> BenchOutcome[SummaryT]:
    """Write the run's ``summary.json`` and report the run back."""
    write_summary(out, summary)
    return BenchOutcome(summary=summary, failures=run.failures, newly_run=run.newly_run)
