"""One RareBench case through the real consultation graph, a phenotype patient answering.

As in MEDDxAgent, the consultation starts from the first 20 % of the record's phenotype list
(at least one term) and asks up to ``questions`` yes/no questions about HPO terms; the
simulated patient answers yes when the asked term or a descendant is among the record's terms.
``full_profile`` gives every term up front and asks nothing.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from agent.session import ConsultationSession, batch_session
from agent.state import CaseIntake
from eval.rarebench_matching import DiseaseMatcher
from eval.rarebench_schema import PhenotypeCaseResult
from eval.schema import steps_of, transcript_of
from retrieval.hpo_kb import HpoKnowledgeBase
from simulator.phenotype_patient import PhenotypePatient
from simulator.phenotype_records import PhenotypeRecord, opening_terms

LISTED = 10


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
) -> PhenotypeCaseResult:
    started = time.perf_counter()
    patient = PhenotypePatient(kb, record.phenotype)
    given = patient.terms if full_profile else opening_terms(patient.terms, opening_share)
    intake = CaseIntake(
        findings=patient.findings(given),
        max_questions=0 if full_profile else questions,
        confidence_threshold=confidence_threshold,
    )
    report = session.consult_to_end(record.case_id, intake, patient.answer)
    ranking = [kb.disease_by_name(item.name) for item in report.differential]
    rank, kind = matcher.rank([d for d in ranking if d is not None], record.diseases)
    return PhenotypeCaseResult(
        case_id=record.case_id,
        truth=record.diseases,
        opening=list(given),
        questions_asked=report.questions_asked,
        stop_reason=report.stop_reason,
        transcript=transcript_of(report),
        differential=[(i.name, round(i.probability, 6)) for i in report.differential[:LISTED]],
        truth_rank=rank,
        matched_by=kind,
        steps=steps_of(report),
        seconds=round(time.perf_counter() - started, 6),
    )


class PhenotypeCaseRunner:
    """Per-worker runner: one compiled graph with an in-memory checkpointer over the HPO
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
        review_of_systems: bool = True,
    ) -> None:
        from agent.phenotype.context import hpo_context

        self.kb = kb
        self.matcher = matcher
        self.records = records
        self.questions = questions
        self.full_profile = full_profile
        self.opening_share = opening_share
        self.confidence_threshold = confidence_threshold
        self.session = batch_session(hpo_context(kb, review_of_systems=review_of_systems))

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
        )
