"""LLM roles for DDXPlus runs (``ddx eval ddxplus --doctor … --patient …``, ``ddx chat``):
the label a run records, the solved cases of the fewshot-knn strategy and the patient factory
(an LLM role-playing the record, or the structured simulator). The context itself is built by
:func:`agent.assembly.assemble`, like every other.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from agent.errors import DataFormatError
from agent.llm.client import LLMClient
from agent.llm.factory import RoleClients
from agent.reasoners.llm.knn import SolvedCase, SolvedCasePool
from agent.settings import DdxSettings
from data.locations import require_existing
from retrieval.ddxplus_kb import KnowledgeBase
from simulator.ddxplus_patient import SimulatedPatient
from simulator.llm_patient import LLMDdxPlusPatient, ddxplus_profile
from simulator.records import PatientRecord, load_patients

log = logging.getLogger(__name__)

PatientFactory = Callable[[KnowledgeBase, PatientRecord], SimulatedPatient]
"""Builds the patient of one record: the structured simulator, or an LLM playing it."""


def roles_label(settings: DdxSettings, clients: RoleClients) -> str:
    def name(client: LLMClient | None) -> str:
        return client.name if client is not None else "kb"

    return (
        f"doctor={name(clients.doctor)}; diagnoser={name(clients.diagnoser)}; "
        f"patient={name(clients.patient)}; strategy={settings.strategy}"
    )


def solved_ddxplus_cases(kb: KnowledgeBase, path: Path) -> SolvedCasePool:
    """Records of a patients CSV as worked examples (their full profile, their pathology)."""
    loaded = load_patients(kb, require_existing(path, "a DDXPlus patient CSV of solved cases"))
    if not loaded.records:
        raise DataFormatError(f"{path} has no usable patient rows for --examples.")
    if loaded.skipped:
        log.warning("--examples %s: %s", path.name, loaded.summary())
    records = loaded.records
    return SolvedCasePool(
        [
            SolvedCase(case_id=r.case_id, text=ddxplus_profile(kb, r), diagnosis=r.pathology)
            for r in records
        ]
    )


def ddxplus_patients(clients: RoleClients) -> PatientFactory:
    """Who answers a DDXPlus benchmark case: an LLM role-playing the record when the patient
    role has a backend, the structured simulator otherwise."""
    patient_client = clients.patient

    def patient(kb: KnowledgeBase, record: PatientRecord) -> SimulatedPatient:
        if patient_client is None:
            return SimulatedPatient(kb, record)
        return LLMDdxPlusPatient(kb, record, patient_client)

    return patient
