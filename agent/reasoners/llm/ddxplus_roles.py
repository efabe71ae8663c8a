"""LLM roles for DDXPlus runs (``ddx eval ddxplus --doctor … --patient …``, ``ddx chat``).

Builds the clients from the settings, the consultation context that puts them behind the role
protocols, and the patient factory (an LLM role-playing the record, or the structured
simulator). Returns None when every role is ``kb``: the run is the embedded one, unchanged.
"""

from __future__ import annotations

import logging
from pathlib import Path

from agent.context import ConsultContext, embedded_context
from agent.errors import DataFormatError, SettingsError
from agent.llm.client import LLMClient
from agent.llm.factory import RoleClients, role_clients
from agent.reasoners.llm.context import llm_context
from agent.reasoners.llm.knn import SolvedCase, SolvedCasePool
from agent.settings import DdxSettings
from data.locations import require_existing
from eval.ddxplus_bench import LLMRoles
from retrieval.ddxplus_kb import KnowledgeBase
from simulator.ddxplus_patient import SimulatedPatient
from simulator.llm_patient import LLMDdxPlusPatient, ddxplus_profile
from simulator.records import PatientRecord, load_patients

log = logging.getLogger(__name__)


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


def ddxplus_llm_roles(
    settings: DdxSettings, kb: KnowledgeBase, *, cache: bool = True, examples: Path | None = None
) -> tuple[LLMRoles, RoleClients] | None:
    clients = role_clients(settings, cache=cache)
    if not clients.all():
        return None
    clients.check()
    if settings.strategy == "fewshot-knn" and clients.diagnoser is not None and examples is None:
        raise SettingsError(
            "The fewshot-knn strategy needs solved cases: give --examples PATIENTS.csv "
            "(e.g. a training split; never the patients being evaluated)."
        )
    pool = solved_ddxplus_cases(kb, examples) if examples is not None else None

    def context(kb: KnowledgeBase, model_path: Path | None) -> ConsultContext:
        base = embedded_context(kb, model_path)
        return llm_context(base, clients, strategy=settings.strategy, examples=pool)

    patient_client = clients.patient

    def patient(kb: KnowledgeBase, record: PatientRecord) -> SimulatedPatient:
        if patient_client is None:
            return SimulatedPatient(kb, record)
        return LLMDdxPlusPatient(kb, record, patient_client)

    return LLMRoles(label=roles_label(settings, clients), context=context, patient=patient), clients
