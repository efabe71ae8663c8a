"""The one recipe for a DDXPlus consultation's context, shared by ``ddx chat`` and the app.

Front ends differ in how they talk to a person, not in which agents they run: both get the
embedded engine, the built-in knowledge index when it was built (citations), PubMed and
Wikipedia on request, doctors when a directory is configured, and LLM roles when a backend other
than ``kb`` is set. Keeping the order here means a feature added to one front end reaches the
other.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from agent.settings import DdxSettings

if TYPE_CHECKING:
    from agent.context import ConsultContext
    from agent.llm.factory import RoleClients
    from agent.roles import Retriever
    from retrieval.ddxplus_kb import KnowledgeBase


def index_root(settings: DdxSettings) -> Path:
    """Where the built-in corpora's indexes live: ``<state dir>/indexes``."""
    from retrieval.builtin_index import index_root_of

    return index_root_of(settings.state_dir)


def default_retriever(
    settings: DdxSettings, kb: KnowledgeBase, warn: Callable[[str], None]
) -> Retriever | None:
    """The built-in DDXPlus retrieval agent when its index is built (None, with a hint)."""
    from retrieval.builtin_index import ddxplus_retriever_if_built

    return ddxplus_retriever_if_built(kb, index_root(settings), warn)


def with_online_sources(
    settings: DdxSettings, retriever: Retriever | None, warn: Callable[[str], None]
) -> Retriever:
    """``retriever`` followed by PubMed and Wikipedia (``--online``), cached on disk."""
    from retrieval.online import CombinedRetriever, OnlineSettings, online_retriever

    online = online_retriever(OnlineSettings(cache_dir=settings.state_dir / "online-cache"), warn)
    return CombinedRetriever([retriever, online]) if retriever is not None else online


def ddxplus_context(
    settings: DdxSettings,
    kb: KnowledgeBase,
    warn: Callable[[str], None],
    *,
    model_path: Path | None = None,
    knowledge: bool = True,
    online: bool = False,
    clients: RoleClients | None = None,
) -> ConsultContext:
    """Engine, then retrieval, then doctors, then LLM roles, as ``settings`` ask.

    Raises DdxError for the user's mistakes (an unusable backend, a bad doctor directory);
    a missing knowledge index is not one: ``warn`` says how to build it and the consultation
    runs without citations. ``clients``: the LLM clients when the caller already made them
    (``ddx chat`` also parses the first message with the doctor's); default: from ``settings``.
    """
    from agent.context import embedded_context
    from agent.doctors import with_doctors
    from agent.llm.factory import role_clients
    from agent.reasoners.llm.context import llm_context

    retriever = default_retriever(settings, kb, warn) if knowledge else None
    if online:
        retriever = with_online_sources(settings, retriever, warn)
    context = with_doctors(embedded_context(kb, model_path, retriever), settings, kb)
    clients = clients if clients is not None else role_clients(settings)
    return llm_context(context, clients, strategy=settings.strategy)
