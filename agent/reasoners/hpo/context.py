"""The consultation context for rare diseases: the HPO knowledge base and phenotype roles."""

from __future__ import annotations

from agent.context import ConsultContext
from agent.reasoners.hpo.catalogue import HpoCatalogue
from agent.reasoners.hpo.questions import CHECKLIST_SIZE, PhenotypeHistoryTaker
from agent.reasoners.hpo.roles import PhenotypeDiagnoser
from retrieval.hpo_kb import HpoKnowledgeBase


def hpo_context(
    kb: HpoKnowledgeBase, *, review_of_systems: bool = True, checklist: int = CHECKLIST_SIZE
) -> ConsultContext[HpoKnowledgeBase]:
    """The phenotype reasoner in every role; no rare disease is flagged urgent.
    ``review_of_systems``: open the questioning with the multi-choice review of systems;
    ``checklist``: terms offered per later question (1: single yes/no questions)."""
    diagnoser = PhenotypeDiagnoser(kb)
    history_taker = PhenotypeHistoryTaker(
        diagnoser, review_of_systems=review_of_systems, checklist=checklist
    )
    return ConsultContext(
        kb=kb,
        history_taker=history_taker,
        diagnoser=diagnoser,
        findings_catalogue=HpoCatalogue(kb),
    )
