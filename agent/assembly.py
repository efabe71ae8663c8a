"""The one place a consultation's context is built, for every front end and benchmark.

``ddx chat`` (both knowledge bases), the app, ``ddx eval ddxplus``, ``ddx eval rarebench``,
the fine-tuning teacher and iCraft-MD's retrieval all come here with their settings and
:class:`ConsultOptions`; each feature — retrieval over the built-in index, PubMed and
Wikipedia, doctors, LLM roles — is either put in the context or refused with a one-line
:class:`~agent.errors.SettingsError`, the same way for everyone, so nothing a user asked for is
silently left out. The order is fixed: reasoner, then retrieval, then doctors, then LLM roles.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agent.errors import SettingsError
from agent.settings import DdxSettings

if TYPE_CHECKING:
    from agent.context import ConsultContext
    from agent.llm.client import LLMClient
    from agent.llm.factory import RoleClients
    from agent.reasoners.llm.case_knowledge import CaseKnowledge
    from agent.reasoners.llm.free_text import FreeTextDiagnoser
    from agent.roles import Retriever
    from retrieval.ddxplus_kb import KnowledgeBase
    from retrieval.hpo_kb import HpoKnowledgeBase
    from retrieval.passages import PassageSource

Knowledge = Literal["ddxplus", "hpo"]
Retrieval = Literal["off", "if-built", "on"]
"""The built-in index: not used; used when built (a hint otherwise: chat, app); required (a
benchmark asked for it: refused when it is not built)."""


class ConsultOptions(BaseModel):
    """What a consultation uses beyond :class:`DdxSettings` (which names the LLM backends,
    the strategy and the doctor directory). Defaults: what ``ddx chat`` does."""

    model_config = ConfigDict(frozen=True)

    retrieval: Retrieval = "if-built"
    index: Path | None = Field(
        default=None,
        description="A user's index (`ddx index build --out DIR`) instead of the built-in one.",
    )
    online: bool = Field(default=False, description="Also PubMed and Wikipedia.")
    doctors: bool | None = Field(
        default=None,
        description="Recommend doctors: None when a directory is configured; True requires one.",
    )
    model_path: Path | None = Field(default=None, description="DDXPlus likelihood model.")
    examples: Path | None = Field(default=None, description="Solved cases for fewshot-knn.")
    cache: bool = Field(default=True, description="Cache LLM calls on disk.")
    summarise: bool = Field(
        default=True, description="The LLM diagnoser's model condenses the passages first."
    )
    review_of_systems: bool = True
    checklist: int | None = Field(
        default=None, ge=1, description="HPO terms per question; None: the reasoner's default."
    )


@dataclass(frozen=True)
class Assembly:
    context: ConsultContext[Any]
    clients: RoleClients
    label: str
    """What runs besides the engine ('kb' when nothing does): recorded in a run's run.json so a
    resumed run cannot mix configurations."""


def engine_settings() -> DdxSettings:
    """Settings with every role on the embedded reasoner and no doctor directory (library
    callers and tests that build a plain context, whatever the environment says)."""
    return DdxSettings(doctor="kb", diagnoser="kb", patient="kb", judge="kb", doctor_directory=None)


def index_root(settings: DdxSettings) -> Path:
    """Where the built-in corpora's indexes live: ``<state dir>/indexes``."""
    from retrieval.builtin_index import index_root_of

    return index_root_of(settings.state_dir)


def assemble(
    settings: DdxSettings | None,
    kb: KnowledgeBase | HpoKnowledgeBase,
    options: ConsultOptions | None = None,
    warn: Callable[[str], None] = lambda message: None,
    *,
    clients: RoleClients | None = None,
) -> Assembly:
    """The context of a consultation over ``kb`` (DDXPlus or HPO) as ``settings`` and
    ``options`` ask. ``settings`` None: :func:`engine_settings`. ``clients``: the LLM clients
    when the caller already made them (``ddx chat`` parses the first message with the
    doctor's). Raises SettingsError (or another DdxError) for what cannot be honoured."""
    from agent.llm.factory import role_clients
    from retrieval.ddxplus_kb import KnowledgeBase  # not the HPO one: it loads scipy

    settings = settings or engine_settings()
    options = options or ConsultOptions()
    clients = clients if clients is not None else role_clients(settings, cache=options.cache)
    if isinstance(kb, KnowledgeBase):
        context = _ddxplus_context(settings, kb, options, clients, warn)
    else:
        context = _hpo_context(settings, kb, options, clients, warn)
    label = _label(settings, clients, options, retrieving=context.retriever is not None)
    return Assembly(context=context, clients=clients, label=label)


def _ddxplus_context(
    settings: DdxSettings,
    kb: KnowledgeBase,
    options: ConsultOptions,
    clients: RoleClients,
    warn: Callable[[str], None],
) -> ConsultContext[Any]:
    from agent.context import embedded_context
    from agent.reasoners.llm.context import llm_context
    from agent.reasoners.llm.ddxplus_roles import solved_ddxplus_cases
    from retrieval.builtin_index import ddxplus_retriever_if_built, load_ddxplus_retriever

    if settings.strategy == "fewshot-knn" and clients.diagnoser and options.examples is None:
        raise SettingsError(
            "The fewshot-knn strategy needs solved cases: give --examples PATIENTS.csv "
            "(e.g. a training split; never the patients being evaluated)."
        )
    pool = solved_ddxplus_cases(kb, options.examples) if options.examples is not None else None
    builtin = _builtin(
        options,
        lambda: load_ddxplus_retriever(kb, index_root(settings)),
        lambda: ddxplus_retriever_if_built(kb, index_root(settings), warn),
    )
    retriever = _retriever(settings, options, builtin, warn)
    context = _with_doctors(
        embedded_context(kb, options.model_path, retriever), settings, options, kb
    )
    if clients.all():
        clients.check()
    return llm_context(
        context, clients, strategy=settings.strategy, examples=pool, summarise=options.summarise
    )


def _hpo_context(
    settings: DdxSettings,
    kb: HpoKnowledgeBase,
    options: ConsultOptions,
    clients: RoleClients,
    warn: Callable[[str], None],
) -> ConsultContext[Any]:
    from agent.reasoners.hpo.context import hpo_context
    from agent.reasoners.llm.context import llm_context
    from retrieval.builtin_index import hpo_retriever_if_built, load_hpo_retriever

    refuse_unsupported("hpo", settings, options)
    builtin = _builtin(
        options,
        lambda: load_hpo_retriever(kb, index_root(settings)),
        lambda: hpo_retriever_if_built(kb, index_root(settings), warn),
    )
    chosen = {} if options.checklist is None else {"checklist": options.checklist}
    base = hpo_context(kb, review_of_systems=options.review_of_systems, **chosen)
    context = dataclasses.replace(base, retriever=_retriever(settings, options, builtin, warn))
    context = _with_doctors(context, settings, options, None)
    if clients.all():
        clients.check()
    return llm_context(context, clients, strategy=settings.strategy, summarise=options.summarise)


def free_text_case(
    doctor: LLMClient, diagnoser: FreeTextDiagnoser, knowledge: CaseKnowledge | None
) -> ConsultContext[None]:
    """The context of one free-text case (iCraft-MD): its LLM doctor, its diagnoser (the
    case's options), and its retrieval (``passage_source``), built per case."""
    from agent.reasoners.llm.context import free_text_context

    return free_text_context(doctor=doctor, diagnoser=diagnoser, knowledge=knowledge)


def refuse_unsupported(
    knowledge: Knowledge, settings: DdxSettings, options: ConsultOptions
) -> None:
    """What a consultation over ``knowledge`` cannot do, each refused with its own one-line
    reason (before any knowledge base loads: front ends call it first, :func:`assemble`
    again)."""
    if knowledge == "ddxplus":
        return
    if settings.doctor != "kb":
        raise SettingsError(
            "An LLM doctor (--doctor) asks DDXPlus questions only; with --kb hpo keep --doctor "
            "kb and give --diagnoser BACKEND (it re-ranks the phenotype reasoner's leaders)."
        )
    if settings.strategy == "fewshot-knn" and settings.diagnoser_backend != "kb":
        raise SettingsError("The fewshot-knn strategy has solved DDXPlus cases only; not --kb hpo.")
    if options.model_path is not None:
        raise SettingsError(
            "--model is a DDXPlus likelihood model (`ddx kb fit`); the rare-disease reasoner "
            "takes none."
        )
    if options.examples is not None:
        raise SettingsError("--examples are DDXPlus solved cases; not used with --kb hpo.")


def _builtin(
    options: ConsultOptions,
    load: Callable[[], PassageSource],
    if_built: Callable[[], PassageSource | None],
) -> PassageSource | None:
    """The built-in index's source as ``options.retrieval`` asks (a user's ``--index`` wins)."""
    if options.retrieval == "off":
        return None
    if options.index is not None:
        return passage_index(options.index)
    return load() if options.retrieval == "on" else if_built()


def passage_index(directory: Path) -> PassageSource:
    """A retrieval source over a user's index (built by `ddx index build --out DIR`): queries
    are the leading candidates' names (no knowledge base to add findings from)."""
    from retrieval.embeddings import load_encoder
    from retrieval.index import KnowledgeIndex
    from retrieval.index.manifest import read_manifest
    from retrieval.knowledge_retriever import KnowledgeRetriever

    built = read_manifest(directory).settings
    encoder = load_encoder(built.model) if built.has_dense else None
    return KnowledgeRetriever(KnowledgeIndex.load(directory, encoder=encoder))


def passage_source(
    settings: DdxSettings | None, options: ConsultOptions, warn: Callable[[str], None]
) -> PassageSource | None:
    """Retrieval without a knowledge base (free-text cases such as iCraft-MD): a user's
    ``options.index`` and/or the online sources; the built-in indexes are for their own
    knowledge bases and are refused here."""
    from retrieval.passages import CombinedSource

    settings = settings or engine_settings()
    if options.retrieval == "on" and options.index is None:
        raise SettingsError(
            "Free-text cases have no built-in knowledge index: give --index DIR (a corpus "
            "indexed with `ddx index build --corpus FILE --out DIR`) or --online."
        )
    sources: list[PassageSource] = []
    if options.index is not None and options.retrieval != "off":
        sources.append(passage_index(options.index))
    if options.online:
        sources.append(_online(settings, warn))
    return None if not sources else sources[0] if len(sources) == 1 else CombinedSource(sources)


def _online(settings: DdxSettings, warn: Callable[[str], None]) -> PassageSource:
    from retrieval.online import OnlineSettings, online_retriever

    return online_retriever(OnlineSettings(cache_dir=settings.state_dir / "online-cache"), warn)


def _retriever(
    settings: DdxSettings,
    options: ConsultOptions,
    builtin: PassageSource | None,
    warn: Callable[[str], None],
) -> Retriever | None:
    """The consultation's Retriever role over the built-in source and, with ``online``, the
    online sources after it."""
    from agent.retriever import ViewRetriever
    from retrieval.passages import CombinedSource

    sources = [s for s in (builtin, _online(settings, warn) if options.online else None) if s]
    if not sources:
        return None
    return ViewRetriever(sources[0] if len(sources) == 1 else CombinedSource(sources))


def _with_doctors(
    context: ConsultContext[Any],
    settings: DdxSettings,
    options: ConsultOptions,
    kb: KnowledgeBase | None,
) -> ConsultContext[Any]:
    """The context with a doctor finder when a directory is configured (``options.doctors``
    True: required, refused without one; False: never)."""
    if options.doctors is False:
        return context
    if settings.doctor_directory is None:
        if options.doctors:
            raise SettingsError(
                "Doctor recommendations need a doctor directory: set DDX_DOCTOR_DIRECTORY "
                "(a .jsonl or .csv of doctor profiles)."
            )
        return context
    from agent.doctors import open_doctor_finder

    return dataclasses.replace(context, doctor_finder=open_doctor_finder(settings, kb))


def _label(
    settings: DdxSettings, clients: RoleClients, options: ConsultOptions, *, retrieving: bool
) -> str:
    from agent.reasoners.llm.ddxplus_roles import roles_label

    parts = [roles_label(settings, clients)] if clients.all() else []
    if retrieving and options.retrieval != "off":
        parts.append(f"retrieval={options.index or 'built-in index'}")
    if options.online:
        parts.append("online=pubmed+wikipedia")
    return "; ".join(parts) or "kb"
