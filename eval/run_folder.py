"""One run folder for every benchmark: claimed by one benchmark, resumable, honest when partial.

``run.json`` names the benchmark and must match the run's config (another benchmark's folder
is refused before anything is written); cases already in ``cases.jsonl`` are skipped; new ones
are appended as they finish; failed cases are listed in ``failed.json`` and tried again (after
the never-tried ones) on the next run; wall time accumulates over resumed runs in
``progress.json``; ``summary.json`` is rewritten at the end, marked ``incomplete`` with counts
when some selected cases are missing, and not written at all when no case finished. What a
case is and how a run is summarised stay with each benchmark.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from pydantic import BaseModel

from agent.errors import DdxError
from agent.executor import CaseFailure, CaseRunner, Mode, run_cases
from agent.files import atomic_write
from agent.settings import MAX_CONSECUTIVE_FAILURES
from data.locations import ensure_folder
from eval.report import write_summary
from eval.results_file import ResultsWriter, read_results
from eval.run_claim import claim_folder
from eval.schema import CASES_FILE, CONFIG_FILE, FAILED_FILE, RunStatus

ResultT = TypeVar("ResultT", bound=BaseModel)
SummaryT = TypeVar("SummaryT", bound=RunStatus)

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
    refinement_rounds: int = 1
    max_consecutive_failures: int = MAX_CONSECUTIVE_FAILURES


@dataclass
class BenchOutcome(Generic[SummaryT]):
    """What a finished (or finished-again) benchmark run reports back to its command."""

    summary: SummaryT
    failures: list[CaseFailure] = field(default_factory=list)
    newly_run: int = 0


def check_config(out: Path, config: BaseModel) -> None:
    """Write the run's config, or check it against the one a previous run wrote (a folder of
    another benchmark is refused by :func:`claim_folder` first, with its own message)."""
    benchmark = str(getattr(config, "benchmark", ""))
    claim_folder(out, benchmark)
    path = out / CONFIG_FILE
    if path.exists():
        try:
            previous = type(config).model_validate_json(path.read_text(encoding="utf-8"))
        except ValueError:
            raise DdxError(
                f"{path} is not a {benchmark} run configuration this version of ddx can read; "
                "use another --out, or delete that folder to start over."
            ) from None
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


def read_failed(out: Path) -> dict[str, str]:
    """Case id → error of the cases that failed in earlier runs (empty when none is listed)."""
    path = out / FAILED_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}


def write_failed(out: Path, failed: dict[str, str]) -> None:
    atomic_write(out / FAILED_FILE, (json.dumps(failed, indent=2) + "\n").encode("utf-8"))


@dataclass
class FolderRun(Generic[ResultT]):
    cases: list[ResultT]
    """Every finished case of the selection (earlier runs' and this one's)."""
    seconds: float
    """Wall time of all runs into this folder."""
    selected: int
    """How many cases the run is made of."""
    failures: list[CaseFailure] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    """Selected cases that failed and are still not finished: case id → error."""
    newly_run: int = 0
    stopped: str | None = None
    """Why the run stopped before trying every case (one line), None when it did not."""


@dataclass(frozen=True, kw_only=True)
class Execution:
    """How a benchmark's cases are run."""

    workers: int
    description: str
    mode: Mode = "processes"
    max_consecutive_failures: int = MAX_CONSECUTIVE_FAILURES
    fatal: tuple[type[BaseException], ...] = ()
    """Errors no later case can escape (a backend that is down): the run stops at the first."""


def _todo(case_ids: Sequence[str], done: set[str], failed_before: dict[str, str]) -> list[int]:
    """Indices to run: never-tried cases first, then earlier failures, so one case that always
    fails cannot stop every rerun before the others."""
    fresh = [i for i, c in enumerate(case_ids) if c not in done and c not in failed_before]
    retried = [i for i, c in enumerate(case_ids) if c not in done and c in failed_before]
    return fresh + retried


def run_in_folder(
    out: Path,
    config: BaseModel,
    runner: CaseRunner[ResultT],
    case_ids: Sequence[str],
    result_type: type[ResultT],
    case_id_of: Callable[[ResultT], str],
    execution: Execution,
    warn: Callable[[str], None],
) -> FolderRun[ResultT]:
    """Run the cases of ``case_ids`` (the runner's indices) missing from the folder."""
    ensure_folder(out, "output folder")
    check_config(out, config)
    cases_path = out / CASES_FILE
    done = {case_id_of(c) for c in read_results(cases_path, result_type, repair=True)}
    failed_before = read_failed(out)
    todo = _todo(case_ids, done, failed_before)
    failures: list[CaseFailure] = []
    started = time.perf_counter()
    previous_seconds = seconds_so_far(out)
    try:
        with ResultsWriter(cases_path) as writer:

            def fail(failure: CaseFailure) -> None:
                failures.append(failure)
                warn(f"case {case_ids[failure.index]} failed: {failure.error}")

            stopped = run_cases(
                runner,
                todo,
                execution.workers,
                writer.write,
                fail,
                mode=execution.mode,
                description=execution.description,
                already_done=len(case_ids) - len(todo),
                max_consecutive_failures=execution.max_consecutive_failures,
                fatal=execution.fatal,
            )
    finally:
        save_seconds(out, previous_seconds + time.perf_counter() - started)
    wanted = set(case_ids)
    cases = [c for c in read_results(cases_path, result_type) if case_id_of(c) in wanted]
    finished = {case_id_of(c) for c in cases}
    failed = {k: v for k, v in failed_before.items() if k in wanted and k not in finished}
    failed.update({case_ids[f.index]: f.error for f in failures})
    write_failed(out, failed)
    return FolderRun(
        cases, seconds_so_far(out), len(case_ids), failures, failed, len(todo), stopped
    )


def finish_run(out: Path, summary: SummaryT, run: FolderRun[ResultT]) -> BenchOutcome[SummaryT]:
    """Write the run's ``summary.json`` (marked incomplete when cases are missing) and report
    the run back; a run that stopped early, or finished no case at all, is an error that says
    why in one line (its finished cases and ``failed.json`` are kept for the next run)."""
    failed = len(run.failed)
    not_run = max(0, run.selected - len(run.cases) - failed)
    summary = summary.model_copy(
        update={"incomplete": bool(failed or not_run), "failed": failed, "not_run": not_run}
    )
    if not run.cases and (failed or run.stopped):
        cause = run.stopped or next(iter(run.failed.values()))
        listed = f" The failed cases are listed in {out / FAILED_FILE}." if failed else ""
        raise DdxError(
            f"No case finished ({cause}); no summary was written.{listed} Fix the cause and "
            "run the same command again."
        )
    write_summary(out, summary)
    if run.stopped:
        raise DdxError(
            f"The run stopped: {run.stopped}. {len(run.cases)} of {run.selected} cases are "
            f"done ({out / 'summary.json'} is marked incomplete); run the same command again "
            "to finish the rest."
        )
    return BenchOutcome(summary=summary, failures=run.failures, newly_run=run.newly_run)
