"""One RareBench case through the real consultation graph, a phenotype patient answering.

As in MEDDxAgent and RareBench, the consultation starts from the first 20 % of the record's
observed terms (at least one), after shuffling them with a seed so that the curators' order
does not leak, and asks up to ``questions`` questions; the simulated patient
(``simulator.phenotype_patient``) answers yes when the record has the asked term or a
descendant, no when the record excludes it, and "don't know" otherwise (``unmentioned``).
``full_profile`` gives every observed term (and every excluded one as absent) up front and asks
nothing.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from agent.consult.session import ConsultationSession, batch_session
from agent.context import ConsultContext
from agent.reasoners.hpo.questions import CHECKLIST_SIZE
from agent.report import FinalReport
from agent.state import CaseIntake
from eval.rarebench_matching import DiseaseMatcher
from eval.rarebench_schema import PhenotypeCaseResult
from eval.schema import steps_of, transcript_of
from retrieval.hpo_kb import HpoKnowledgeBase
from simulator.phenotype_patient import PhenotypePatient, Unmentioned
from simulator.phenotype_records import PhenotypeRecord, opening_terms

LISTED = 10

CHECKPOINTS = (0, 5, 10, 20)
"""Numbers of answers after which the truth's rank is recorded (those within the budget)."""


def run_phenotype_case(
    session: ConsultationSession,
    kb: HpoKnowledgeBase,
    matcher: DiseaseMatcher,
    record: PhenotypeRecord,
    *,
    questions: int,
    full_profile: bool,
    opening_share: float,
    confidence_threshold: float,
    refinement_rounds: int = 1,
    opening_seed: int | None = 0,
    unmentioned: Unmentioned = "unknown",
) -> PhenotypeCaseResult:
    started = time.perf_counter()
    patient = PhenotypePatient(kb, record.phenotype, record.excluded, unmentioned)
    if full_profile:
        findings = patient.full_profile()
    else:
        key = None if opening_seed is None else f"{opening_seed}:{record.case_id}"
        findings = patient.findings(opening_terms(patient.terms, opening_share, key))
    intake = CaseIntake(
        findings=findings,
        max_questions=0 if full_profile else questions,
        confidence_threshold=confidence_threshold,
        refinement_rounds=refinement_rounds,
    )
    report = session.consult_to_end(record.case_id, intake, patient.answer)
    ranking = [kb.disease_by_name(item.name) for item in report.differential]
    rank, kind = matcher.rank([d for d in ranking if d is not None], record.diseases)
    return PhenotypeCaseResult(
        case_id=record.case_id,
        truth=record.diseases,
        opening=[code for code, value in findings.items() if value],
        group=record.group,
        questions_asked=report.questions_asked,
        stop_reason=report.stop_reason,
        transcript=transcript_of(report),
        differential=[(i.name, round(i.probability, 6)) for i in report.differential[:LISTED]],
        truth_rank=rank,
        matched_by=kind,
        rank_after=ranks_after(report, kb, matcher, record, 0 if full_profile else questions),
        steps=steps_of(report),
        seconds=round(time.perf_counter() - started, 6),
    )


def ranks_after(
    report: FinalReport,
    kb: HpoKnowledgeBase,
    matcher: DiseaseMatcher,
    record: PhenotypeRecord,
    budget: int,
) -> dict[int, int | None]:
    """The truth's rank in the top 10 after each checkpoint's number of answers (the last
    differential at or before it: a consultation that stopped early keeps its ranking)."""
    ranks: dict[int, int | None] = {}
    for k in (c for c in CHECKPOINTS if c <= budget):
        shown = [s for s in report.history if s.questions <= k]
        if not shown:
            continue
        ranking = [kb.disease_by_name(name) for name, _ in shown[-1].top]
        ranks[k] = matcher.rank([d for d in ranking if d is not None], record.diseases)[0]
    return ranks


class PhenotypeCaseRunner:
    """Per-worker runner: one compiled graph (``batch_session``) over the HPO
    context, cases run one after another."""

    def __init__(
        self,
        kb: HpoKnowledgeBase,
        matcher: DiseaseMatcher,
        records: Sequence[PhenotypeRecord],
        *,
        questions: int,
        full_profile: bool,
        opening_share: float,
        confidence_threshold: float,
        refinement_rounds: int = 1,
        review_of_systems: bool = True,
        checklist: int = CHECKLIST_SIZE,
        opening_seed: int | None = 0,
        unmentioned: Unmentioned = "unknown",
        context: ConsultContext[HpoKnowledgeBase] | None = None,
    ) -> None:
        """``context``: from ``agent.assembly.assemble`` (None: assembled here from
        ``review_of_systems`` and ``checklist``, the phenotype reasoner alone)."""
        from agent.assembly import ConsultOptions, assemble

        self.kb = kb
        self.matcher = matcher
        self.records = records
        self.questions = questions
        self.full_profile = full_profile
        self.opening_share = opening_share
        self.confidence_threshold = confidence_threshold
        self.refinement_rounds = refinement_rounds
        self.opening_seed = opening_seed
        self.unmentioned: Unmentioned = unmentioned
        if context is None:
            options = ConsultOptions(
                retrieval="off",
                doctors=False,
                review_of_systems=review_of_systems,
                checklist=checklist,
            )
            context = assemble(None, kb, options).context
        self.session = batch_session(context)

    def run(self, index: int) -> PhenotypeCaseResult:
        return run_phenotype_case(
            self.session,
            self.kb,
            self.matcher,
            self.records[index],
            questions=self.questions,
            full_profile=self.full_profile,
            opening_share=self.opening_share,
            confidence_threshold=self.confidence_threshold,
            refinement_rounds=self.refinement_rounds,
            opening_seed=self.opening_seed,
            unmentioned=self.unmentioned,
        )
