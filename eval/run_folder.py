"""Running a benchmark's cases into its run folder, resumably: shared by every benchmark.

``run.json`` must match the run's config; cases already in ``cases.jsonl`` are skipped; new
ones are appended as they finish; wall time accumulates over resumed runs in
``progress.json``. What a case is and how a run is summarised stay with each benchmark.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from pydantic import BaseModel

from agent.errors import DdxError
from eval.ddxplus_bench import _check_config, _save_seconds, _seconds_so_far
from eval.parallel import CaseFailure, CaseRunner, run_cases
from eval.results_file import ResultsWriter, read_results
from eval.schema import CASES_FILE

ResultT = TypeVar("ResultT", bound=BaseModel)


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
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DdxError(f"Cannot create the output folder {out}: {exc.strerror}.") from None
    _check_config(out, config)
    cases_path = out / CASES_FILE
    done = {case_id_of(c) for c in read_results(cases_path, result_type, repair=True)}
    todo = [i for i, case_id in enumerate(case_ids) if case_id not in done]
    failures: list[CaseFailure] = []
    started = time.perf_counter()
    previous_seconds = _seconds_so_far(out)
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
        _save_seconds(out, previous_seconds + time.perf_counter() - started)
    wanted = set(case_ids)
    cases = [c for c in read_results(cases_path, result_type) if case_id_of(c) in wanted]
    return FolderRun(cases, _seconds_so_far(out), failures, len(todo))
