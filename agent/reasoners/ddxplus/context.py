"""The embedded engine's context: the Bayesian engine over DDXPlus in every role.

The building block the assembly (``agent.assembly``) uses for a DDXPlus consultation without
an LLM; it lives beside the engine, so the generic context (``agent.context``) knows no reasoner.
"""

from __future__ import annotations

from pathlib import Path

from agent.context import DEFAULT_URGENT_THRESHOLD, ConsultContext
from agent.reasoners.ddxplus.roles import QuestionPolicy
from agent.roles import Retriever
from retrieval.ddxplus_kb import KnowledgeBase


def embedded_context(
    kb: KnowledgeBase,
    model_path: Path | str | None = None,
    retriever: Retriever | None = None,
    *,
    policy: QuestionPolicy | None = None,
    list_questions: bool = True,
) -> ConsultContext:
    """The default context: the Bayesian engine in every role, no weights needed; with a
    ``retriever`` (e.g. the built-in DDXPlus index) the report also cites knowledge.

    ``model_path``: None for the shipped model, "structural" for the model without data, or a
    model file from `ddx kb fit`. ``policy`` and ``list_questions`` are for comparisons
    (BENCHMARKS.md); the defaults are the chosen ones.
    """
    from agent.reasoners.ddxplus.bayes import BayesEngine
    from agent.reasoners.ddxplus.list_questions import EngineDifferentialList, ListHistoryTaker
    from agent.reasoners.ddxplus.roles import BayesDiagnoser, InformationGainHistoryTaker
    from agent.reasoners.ddxplus.shipped import load_engine_model

    loaded = load_engine_model(kb, model_path)
    diagnoser = BayesDiagnoser(BayesEngine(kb, loaded.model.likelihood))
    history_taker = InformationGainHistoryTaker(diagnoser, policy)
    lister = list_taker = None
    if loaded.model.differential is not None:
        lister = EngineDifferentialList(diagnoser, loaded.model.differential)
        list_taker = ListHistoryTaker(lister, history_taker) if list_questions else None
    urgent = loaded.model.decisions.urgent_threshold
    return ConsultContext(
        kb=kb,
        history_taker=history_taker,
        diagnoser=diagnoser,
        retriever=retriever,
        list_taker=list_taker,
        differential_lister=lister,
        model_origin=loaded.origin + (f" ({loaded.note})" if loaded.note else ""),
        urgent_threshold=urgent if urgent is not None else DEFAULT_URGENT_THRESHOLD,
    )
