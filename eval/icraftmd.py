"""`ddx eval icraftmd`: a resumable, concurrent iCraft-MD run with LLM doctor and patient.

``DIR/run.json`` fixes the run (cases file and hash, mode, budget, backends, strategy);
``DIR/cases.jsonl`` gets one :class:`IcraftCaseResult` per finished case, appended as cases
finish; ``DIR/summary.json`` the metrics. Cases run in ``concurrency`` threads (LLM calls are
I/O-bound; the server batches them). A case whose server call failed is not written: it is
listed in ``DIR/failed.json`` and runs again next time. An unreachable server stops the run
after the cases in flight, with one message.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ValidationError
from tqdm import tqdm

from agent.errors import DataFormatError
from agent.llm.base import LLMUnavailableError
from data.locations import ensure_folder
from eval.icraftmd_cases import IcraftCase, IcraftCaseResult, IcraftSetup, run_case
from eval.metrics import gtpa_at_k
from eval.results_file import atomic_write, validation_message
from eval.run_folder import check_config, file_sha256
from eval.schema import CASES_FILE, SUMMARY_FILE

FAILED_FILE = "failed.json"


class IcraftRunConfig(BaseModel):
    benchmark: str = "icraftmd"
    cases: str
    cases_sha256: str
    mode: str
    questions: int
    rounds: int
    strategy: str
    doctor: str
    diagnoser: str
    patient: str
    judge: str = "kb"
    retrieval: str = "off"
    """The knowledge the doctor and diagnoser read: an index folder, "online", or off."""
    limit: int | None
    seed: int


@dataclass
class IcraftOutcome:
    summary: dict[str, object]
    failures: dict[str, str] = field(default_factory=dict)
    newly_run: int = 0


def read_results(path: Path) -> list[IcraftCaseResult]:
    """Finished cases; a half-written last line (a killed run) is dropped and cut off."""
    if not path.exists():
        return []
    raw = path.read_text(encoding="utf-8")
    lines = raw.split("\n")
    results: list[IcraftCaseResult] = []
    kept: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            results.append(IcraftCaseResult.model_validate_json(line))
            kept.append(line)
        except ValidationError as exc:
            if number == len(lines) and not raw.endswith("\n"):
                break
            raise DataFormatError(
                f"{path}, line {number}: not an iCraft-MD case result "
                f"({validation_message(exc)}). Fix or delete that line."
            ) from None
    if len(kept) != sum(1 for line in lines if line.strip()) or (raw and not raw.endswith("\n")):
        path.write_text("".join(line + "\n" for line in kept), encoding="utf-8")
    return results


def summarize(results: list[IcraftCaseResult], mode: str, seconds: float) -> dict[str, object]:
    """Summary keys of the issue: n, accuracy (mc) or gtpa@1/5/10 (open), avg_questions,
    llm_calls, invalid_outputs, seconds; plus cache hits, fallbacks and failed steps."""
    n = len(results)
    summary: dict[str, object] = {"n": n, "mode": mode}
    if mode == "mc":
        summary["accuracy"] = round(sum(r.correct for r in results) / n, 4) if n else 0.0
    else:
        ranks = [r.truth_rank if r.truth_rank is not None else 10**6 for r in results]
        for k in (1, 5, 10):
            summary[f"gtpa@{k}"] = round(gtpa_at_k(ranks, k), 4) if n else 0.0
    summary.update(
        avg_questions=round(sum(r.questions_asked for r in results) / n, 3) if n else 0.0,
        llm_calls=sum(r.llm_calls for r in results),
        invalid_outputs=sum(r.invalid_outputs for r in results),
        cache_hits=sum(r.cache_hits for r in results),
        fallbacks=sum(r.fallbacks for r in results),
        failed_steps=sum(r.failed_step is not None for r in results),
        seconds=round(seconds, 3),
    )
    return summary


def run_icraftmd(
    setup: IcraftSetup,
    cases: list[IcraftCase],
    config: IcraftRunConfig,
    out: Path,
    *,
    concurrency: int = 1,
    warn: Callable[[str], None] = lambda message: None,
) -> IcraftOutcome:
    ensure_folder(out, "output folder")
    check_config(out, config)  # refuses to resume a run made with other settings
    results_path = out / CASES_FILE
    done = {r.case_id for r in read_results(results_path)}
    todo = [case for case in cases if case.case_id not in done]
    failures: dict[str, str] = {}
    unavailable: list[str] = []
    lock = threading.Lock()
    started = time.perf_counter()
    with (
        results_path.open("a", encoding="utf-8") as handle,
        tqdm(
            total=len(cases), initial=len(cases) - len(todo), desc="iCraft-MD", unit="case"
        ) as bar,
        ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool,
    ):
        pending: dict[Future[IcraftCaseResult], IcraftCase] = {}
        queue = list(reversed(todo))

        def refill() -> None:
            while queue and len(pending) < max(1, concurrency) and not unavailable:
                case = queue.pop()
                pending[pool.submit(run_case, setup, case)] = case

        refill()
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                case = pending.pop(future)
                try:
                    result = future.result()
                except LLMUnavailableError as exc:
                    failures[case.case_id] = str(exc)
                    unavailable.append(str(exc))
                    continue
                except Exception as exc:  # one broken case must not end the run: reported
                    failures[case.case_id] = f"{type(exc).__name__}: {exc}"
                    warn(f"case {case.case_id} failed: {failures[case.case_id]}")
                    continue
                with lock:
                    handle.write(result.model_dump_json() + "\n")
                    handle.flush()
                bar.update(1)
            refill()
    seconds = time.perf_counter() - started
    atomic_write(out / FAILED_FILE, json.dumps(failures, indent=2).encode("utf-8"))
    wanted = {case.case_id for case in cases}
    results = [r for r in read_results(results_path) if r.case_id in wanted]
    summary = summarize(results, config.mode, seconds)
    summary["failed_cases"] = len(failures)
    atomic_write(out / SUMMARY_FILE, (json.dumps(summary, indent=2) + "\n").encode("utf-8"))
    if unavailable:
        raise LLMUnavailableError(
            f"{unavailable[0]} — {len(failures)} case(s) not run; they are listed in "
            f"{out / FAILED_FILE} and run again when you repeat the command."
        )
    return IcraftOutcome(summary=summary, failures=failures, newly_run=len(todo))


def make_config(
    cases_path: Path, setup: IcraftSetup, limit: int | None, seed: int, names: dict[str, str]
) -> IcraftRunConfig:
    return IcraftRunConfig(
        cases=str(cases_path.resolve()),
        cases_sha256=file_sha256(cases_path),
        mode=setup.mode,
        questions=setup.questions,
        rounds=setup.rounds,
        strategy=setup.strategy,
        doctor=names["doctor"],
        diagnoser=names["diagnoser"],
        patient=names["patient"],
        judge=names["judge"],
        retrieval=names.get("retrieval", "off"),
        limit=limit,
        seed=seed,
    )
