"""`ddx eval ddxplus`: a resumable, parallel DDXPlus benchmark run.

``DIR/run.json`` fixes what the run is (patients file and its hash, question budget, …); started
again with the same ``--out``, the run finishes only the cases missing from ``DIR/cases.jsonl``
and refuses to mix in results of different settings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.context import ConsultContext
from agent.errors import DdxError
from agent.executor import select_cases
from agent.files import file_sha256
from agent.llm.base import LLMUnavailableError
from agent.reasoners.ddxplus.shipped import describe_model
from agent.reasoners.llm.ddxplus_roles import PatientFactory
from data.locations import require_existing
from eval.ddxplus_cases import DdxPlusCaseRunner
from eval.ddxplus_summary import summarize
from eval.run_folder import (
    BenchOutcome,
    Execution,
    RunRequest,
    finish_run,
    run_in_folder,
)
from eval.schema import CaseResult, RunConfig, RunSummary
from retrieval.ddxplus_kb import KnowledgeBase
from simulator.ddxplus_patient import SimulatedPatient
from simulator.records import load_patients


@dataclass(frozen=True, kw_only=True)
class DdxPlusRequest(RunRequest):
    patients: Path
    model_path: Path | None = None
    """None: the shipped model; Path("structural"); or a model file from `ddx kb fit`."""
    context: ConsultContext[Any] | None = None
    """The consultation's context from ``agent.assembly.assemble`` (LLM roles, retrieval,
    doctors); None: the embedded engine over ``model_path``, assembled the same way."""
    label: str = "kb"
    """What runs besides the engine ('doctor=…; diagnoser=…; …; retrieval=…', the assembly's
    label): recorded in run.json so a resume cannot mix."""
    patient_factory: PatientFactory = SimulatedPatient


DdxPlusOutcome = BenchOutcome[RunSummary]


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
        refinement_rounds=request.refinement_rounds,
        model=describe_model(kb, request.model_path),
        llm=request.label,
    )
    # Build the runner (engine, model file, graph) before touching the run folder: a setup
    # mistake such as a mistyped --model must not leave a run.json behind.
    runner = DdxPlusCaseRunner(
        kb,
        selected,
        questions=request.questions,
        full_profile=request.full_profile,
        confidence_threshold=request.confidence_threshold,
        refinement_rounds=request.refinement_rounds,
        model_path=request.model_path,
        context=request.context,
        patient_factory=request.patient_factory,
    )

    run = run_in_folder(
        request.out,
        config,
        runner,
        [record.case_id for record in selected],
        CaseResult,
        lambda case: case.case_id,
        Execution(
            workers=request.workers,
            description="DDXPlus",
            max_consecutive_failures=request.max_consecutive_failures,
            fatal=(LLMUnavailableError,),
        ),
        warn,
    )
    summary = summarize(
        run.cases,
        skipped=len(loaded.skipped),
        seconds=run.seconds,
        questions_budget=request.questions,
        full_profile=request.full_profile,
        label=request.out.name,
    )
    return finish_run(request.out, summary, run)
