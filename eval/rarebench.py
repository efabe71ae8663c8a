"""`ddx eval rarebench`: a resumable, parallel RareBench run over the HPO knowledge base.

Same run-folder layout and resume rules as ``ddx eval ddxplus``: ``run.json`` fixes the run,
``cases.jsonl`` grows as cases finish, ``summary.json`` is rewritten at the end. Records whose
terms are all unknown to the knowledge base are reported and skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from agent.context import ConsultContext
from agent.errors import DdxError
from agent.executor import select_cases
from agent.files import file_sha256
from agent.reasoners.hpo.questions import CHECKLIST_SIZE
from data.locations import require_existing
from eval.rarebench_cases import PhenotypeCaseRunner
from eval.rarebench_matching import DiseaseMatcher, load_disease_mapping
from eval.rarebench_schema import (
    PhenotypeCaseResult,
    RareBenchConfig,
    RareBenchSummary,
    summarize_rarebench,
)
from eval.run_folder import (
    BenchOutcome,
    Execution,
    RunRequest,
    finish_run,
    run_in_folder,
)
from retrieval.hpo_kb import HpoKnowledgeBase
from simulator.phenotype_patient import Unmentioned
from simulator.phenotype_records import OPENING_SHARE, PhenotypeRecord, load_phenotype_records

MAPPING_FILE = "disease_mapping.json"


@dataclass(frozen=True, kw_only=True)
class RareBenchRequest(RunRequest):
    cases: Path
    opening_share: float = OPENING_SHARE
    review_of_systems: bool = True
    """Open each consultation with the review of systems (one multi-choice question)."""
    checklist: int = CHECKLIST_SIZE
    """HPO terms offered per later question (1: single yes/no questions)."""
    opening_seed: int | None = 0
    """Seed of the shuffle of the observed terms before the opening; None: record order."""
    unmentioned: Unmentioned = "unknown"
    """The patient's answer about a term its record does not mention."""
    mapping: Path | None = None
    """RareBench's disease_mapping.json (names for name matching); None: match by id only."""
    context: ConsultContext[HpoKnowledgeBase] | None = None
    """From ``agent.assembly.assemble``; None: the phenotype reasoner with the options above."""


RareBenchOutcome = BenchOutcome[RareBenchSummary]


def usable_records(
    kb: HpoKnowledgeBase, records: list[PhenotypeRecord]
) -> tuple[list[PhenotypeRecord], list[str]]:
    """Records with at least one phenotype term the knowledge base knows, and the others."""
    kept, dropped = [], []
    for record in records:
        if any(kb.resolve(term) is not None for term in record.phenotype):
            kept.append(record)
        else:
            dropped.append(record.case_id)
    return kept, dropped


def run_rarebench(
    kb: HpoKnowledgeBase, request: RareBenchRequest, warn: Callable[[str], None]
) -> RareBenchOutcome:
    """Run (or finish) a RareBench run and write ``summary.json``; returns the summary."""
    path = require_existing(request.cases, "a RareBench JSONL file")
    loaded = load_phenotype_records(path)
    for problem in loaded.problems():
        warn(f"{path.name} {problem} (skipped)")
    records, unknown = usable_records(kb, loaded.records)
    if unknown:
        warn(f"{len(unknown)} record(s) have no HPO term the knowledge base knows: skipped")
    if not records:
        raise DdxError(f"{path} has no record with a known HPO term.")
    mapping = load_disease_mapping(request.mapping) if request.mapping else {}
    selected = select_cases(records, request.limit, request.seed)
    config = RareBenchConfig(
        cases=str(path.resolve()),
        cases_sha256=file_sha256(path),
        questions=request.questions,
        full_profile=request.full_profile,
        opening_share=request.opening_share,
        review_of_systems=request.review_of_systems,
        checklist=request.checklist,
        opening_seed=request.opening_seed,
        unmentioned=request.unmentioned,
        refinement_rounds=request.refinement_rounds,
        limit=request.limit,
        seed=request.seed,
        knowledge_base=kb.version,
    )
    matcher = DiseaseMatcher(kb, mapping)
    runner = PhenotypeCaseRunner(
        kb,
        matcher,
        selected,
        questions=request.questions,
        full_profile=request.full_profile,
        opening_share=request.opening_share,
        confidence_threshold=request.confidence_threshold,
        refinement_rounds=request.refinement_rounds,
        review_of_systems=request.review_of_systems,
        checklist=request.checklist,
        opening_seed=request.opening_seed,
        unmentioned=request.unmentioned,
        context=request.context,
    )
    run = run_in_folder(
        request.out,
        config,
        runner,
        [record.case_id for record in selected],
        PhenotypeCaseResult,
        lambda case: case.case_id,
        Execution(
            workers=request.workers,
            description="RareBench",
            max_consecutive_failures=request.max_consecutive_failures,
        ),
        warn,
    )
    summary = summarize_rarebench(
        run.cases,
        skipped=len(loaded.skipped) + len(unknown),
        seconds=run.seconds,
        n_diseases=kb.n_diseases,
        questions_budget=request.questions,
        full_profile=request.full_profile,
        label=request.out.name,
    )
    return finish_run(request.out, summary, run)
