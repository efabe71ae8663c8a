"""`ddx eval icraftmd`: a resumable, concurrent iCraft-MD run with LLM doctor and patient.

The same run folder, results file and runner as every benchmark (:mod:`eval.run_folder`):
``DIR/run.json`` fixes the run (cases file and hash, mode, budget, backends, strategy);
``DIR/cases.jsonl`` gets one :class:`IcraftCaseResult` per finished case; ``DIR/summary.json``
one :class:`IcraftSummary`. Cases run in ``concurrency`` threads (LLM calls are I/O-bound; the
server batches them). A case whose server call failed is listed in ``DIR/failed.json`` and runs
again next time, after the cases never tried; an unreachable server stops the run after the
cases in flight, with one message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import BaseModel

from agent.files import file_sha256
from agent.llm.base import LLMUnavailableError
from agent.settings import MAX_CONSECUTIVE_FAILURES
from eval.icraftmd_cases import IcraftCase, IcraftCaseResult, IcraftSetup, run_case
from eval.icraftmd_schema import IcraftSummary, summarize
from eval.run_folder import BenchOutcome, Execution, finish_run, run_in_folder


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


IcraftOutcome = BenchOutcome[IcraftSummary]


class IcraftCaseRunner:
    """One consultation per index, for the executor's threads."""

    def __init__(self, setup: IcraftSetup, cases: Sequence[IcraftCase]) -> None:
        self.setup = setup
        self.cases = cases

    def run(self, index: int) -> IcraftCaseResult:
        return run_case(self.setup, self.cases[index])


def run_icraftmd(
    setup: IcraftSetup,
    cases: list[IcraftCase],
    config: IcraftRunConfig,
    out: Path,
    *,
    concurrency: int = 1,
    max_consecutive_failures: int = MAX_CONSECUTIVE_FAILURES,
    warn: Callable[[str], None] = lambda message: None,
) -> IcraftOutcome:
    """Run (or finish) an iCraft-MD run and write ``summary.json``."""
    run = run_in_folder(
        out,
        config,
        IcraftCaseRunner(setup, cases),
        [case.case_id for case in cases],
        IcraftCaseResult,
        lambda result: result.case_id,
        Execution(
            workers=max(1, concurrency),
            description="iCraft-MD",
            mode="threads",
            max_consecutive_failures=max_consecutive_failures,
            fatal=(LLMUnavailableError,),
        ),
        warn,
    )
    summary = summarize(
        run.cases, config.mode, run.seconds, questions_budget=config.questions, label=out.name
    )
    return finish_run(out, summary, run)


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
