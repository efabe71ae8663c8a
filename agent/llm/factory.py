"""One factory from backend strings to clients, one client per distinct backend.

Roles that name the same backend share one client (one loaded model, one connection pool, one
set of counters). ``kb`` builds nothing: the embedded engine plays that role.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from agent.backend_spec import BackendSpec, parse_backend
from agent.llm.base import ChatModel
from agent.llm.cache import LLMCache
from agent.llm.client import CallStats, LLMClient
from agent.settings import DdxSettings

_hf_models: dict[str, ChatModel] = {}
_hf_lock = threading.Lock()


def build_chat(spec: BackendSpec, settings: DdxSettings) -> ChatModel:
    """The chat model of a backend (a local model loads once per process)."""
    if spec.kind == "fake":
        from agent.llm.fake import FakeChat, load_script

        return load_script(spec.replies) if spec.replies else FakeChat()
    if spec.kind == "openai":
        from agent.llm.openai_chat import OpenAIChat

        assert spec.base_url is not None
        key = settings.openai_api_key
        return OpenAIChat(
            spec.model,
            spec.base_url,
            api_key=key.get_secret_value() if key else None,
            timeout=settings.llm_timeout,
            attempts=settings.llm_attempts,
        )
    if spec.kind == "hf":
        with _hf_lock:
            if str(spec) not in _hf_models:
                from agent.llm.hf_chat import HFChat

                _hf_models[str(spec)] = HFChat(spec.model, spec.adapter)
            return _hf_models[str(spec)]
    raise ValueError("the kb backend has no chat model")


@dataclass
class RoleClients:
    """The client of each LLM role; None where the embedded engine (``kb``) plays it."""

    doctor: LLMClient | None
    diagnoser: LLMClient | None
    patient: LLMClient | None
    judge: LLMClient | None

    def all(self) -> list[LLMClient]:
        unique: dict[int, LLMClient] = {}
        for client in (self.doctor, self.diagnoser, self.patient, self.judge):
            if client is not None:
                unique[id(client)] = client
        return list(unique.values())

    def check(self) -> None:
        """Raise LLMUnavailableError when a server-backed role cannot be reached (one clear
        error before a run, instead of one failure per case)."""
        for client in self.all():
            check = getattr(client.chat, "check", None)
            if callable(check):
                check()

    def totals(self) -> CallStats:
        total = CallStats()
        for client in self.all():
            total.add(client.stats)
        return total


def role_clients(settings: DdxSettings, *, cache: bool = True) -> RoleClients:
    """Clients for doctor, diagnoser, patient and judge from the settings."""
    backends = [settings.doctor, settings.diagnoser_backend, settings.patient, settings.judge]
    any_llm = any(parse_backend(b).is_llm for b in backends)
    shared_cache = LLMCache(settings.llm_cache_folder) if cache and any_llm else None
    built: dict[str, LLMClient | None] = {}

    def client_for(backend: str) -> LLMClient | None:
        spec = parse_backend(backend)
        if str(spec) not in built:
            built[str(spec)] = (
                LLMClient(
                    build_chat(spec, settings),
                    cache=shared_cache,
                    max_tokens=settings.llm_max_tokens,
                    format_retries=settings.llm_format_retries,
                )
                if spec.is_llm
                else None
            )
        return built[str(spec)]

    return RoleClients(
        doctor=client_for(settings.doctor),
        diagnoser=client_for(settings.diagnoser_backend),
        patient=client_for(settings.patient),
        judge=client_for(settings.judge),
    )
