"""Diagnosis by an LLM: strategies standard, cot, fewshot-knn and hybrid.

:func:`llm_differential` is the model call, shared by the DDXPlus diagnoser below and the
KB-free iCraft-MD loop. The answer is restricted to the benchmark's diagnoses by fuzzy name
matching; names that match nothing are dropped, and an answer left with none is invalid (it is
re-asked like any schema error). :class:`LLMDiagnoser` puts it behind the ``Diagnoser``
protocol: the engine's posterior is context in hybrid mode and the fallback in every mode;
explanations (likelihood ratios) come from the engine. The model's rationale comes with the
ranking as a typed field (:meth:`LLMDiagnoser.diagnosis` returns an ``agent.roles.Diagnosis``;
nothing per-consultation is kept on the shared diagnoser); the graph copies it into the trace
and the final report.

Probabilities: a model's ranking carries an order, not probabilities. The DDXPlus diagnoser
keeps the model's order and gives the ranks the engine's sorted posterior values, so the
graph's confidence stop fires only when the evidence itself is concentrated (a model naming one
diagnosis would otherwise claim 100 % and end the consultation before any question).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from agent.catalogue import DdxPlusCatalogue, FindingCatalogue
from agent.errors import SettingsError
from agent.llm.base import LLMError, LLMUnavailableError, Message, StructuredOutputError
from agent.llm.client import LLMClient
from agent.llm.schemas import Differential
from agent.llm.structured import generate_structured
from agent.reasoners.llm import prompts
from agent.reasoners.llm.knn import SolvedCasePool, examples_text
from agent.reasoners.llm.render import findings_text, patient_line, ranking_text
from agent.reasoners.llm.retrieval import evidence_for
from agent.roles import (
    ConditionExplanation,
    ConsultationView,
    Diagnoser,
    Diagnosis,
    RankedCondition,
)
from agent.settings import Strategy
from retrieval.ddxplus_kb import KnowledgeBase
from retrieval.fuzzy import restrict

log = logging.getLogger(__name__)

OPEN_LIST_SIZE = 10
FEWSHOT_K = 3


@dataclass(frozen=True)
class LLMDifferential:
    """The model's differential: names on the benchmark's list (or free, when there is none)."""

    names: list[str]
    rationale: str
    deferred: bool = False
    """Hybrid mode: the model kept the engine's ranking."""


def llm_differential(
    client: LLMClient,
    *,
    strategy: Strategy,
    patient: str,
    known: str,
    candidates: Sequence[str] | None,
    engine_ranking: Sequence[tuple[str, float]] = (),
    previous: str = "",
    examples: str = "",
    evidence: str = "",
) -> LLMDifferential:
    """Ask for a differential; retries when the names match none of ``candidates``."""
    turn = prompts.DIAGNOSER_TURN.format(
        patient=patient,
        known=known,
        previous=prompts.PREVIOUS_BLOCK.format(ranking=previous) if previous else "",
        engine=prompts.ENGINE_BLOCK.format(k=10, ranking=ranking_text(list(engine_ranking)))
        if strategy == "hybrid" and engine_ranking
        else "",
        examples=prompts.EXAMPLES_BLOCK.format(examples=examples) if examples else "",
        evidence=prompts.EVIDENCE_BLOCK.format(summary=evidence) if evidence else "",
        candidates=prompts.CANDIDATES_BLOCK.format(names="\n".join(candidates))
        if candidates
        else prompts.OPEN_BLOCK.format(k=OPEN_LIST_SIZE),
        strategy=prompts.STRATEGY_TEXT[strategy],
    )
    messages = [
        Message(role="system", content=prompts.DIAGNOSER_SYSTEM),
        Message(role="user", content=turn),
    ]
    attempts = client.format_retries + 1
    last_problem = ""
    for _ in range(attempts):
        answer = generate_structured(client, messages, Differential)
        if answer.keep_engine_ranking and strategy == "hybrid" and engine_ranking:
            return LLMDifferential(names=[], rationale=answer.rationale, deferred=True)
        raw = [d.name for d in answer.diagnoses]
        names = restrict(raw, candidates) if candidates else _dedupe(raw)
        if names:
            return LLMDifferential(names=names, rationale=answer.rationale)
        client.count_invalid()
        last_problem = "none of the diagnoses is on the list"
        messages = [
            *messages,
            Message(role="assistant", content=answer.model_dump_json()),
            Message(
                role="user",
                content="None of those names is on the list; choose names from the list only.",
            ),
        ]
    raise StructuredOutputError("Differential", attempts, last_problem)


def _dedupe(names: Sequence[str]) -> list[str]:
    seen: dict[str, None] = {}
    for name in names:
        if name.strip():
            seen.setdefault(name.strip(), None)
    return list(seen)


def rank_probabilities(
    names: Sequence[str], everything: Sequence[str], engine: Sequence[tuple[str, float]] = ()
) -> list[RankedCondition]:
    """The model's names first, then the rest (in the engine's order when there is one).

    With an engine ranking the engine's sorted probabilities are reassigned in the new order
    (the model reorders; the engine's confidence profile stays). Without one, the model's names
    get 1/rank weights, normalised, and the rest 0.
    """
    rest_order = [n for n, _ in engine] if engine else list(everything)
    order = list(names) + [n for n in rest_order if n not in names]
    if engine:
        values = sorted((p for _, p in engine), reverse=True)
        values += [0.0] * (len(order) - len(values))
        return [RankedCondition(name=n, probability=v) for n, v in zip(order, values, strict=False)]
    weights = [1.0 / rank for rank in range(1, len(names) + 1)]
    total = sum(weights)
    probs = [w / total for w in weights] + [0.0] * (len(order) - len(names))
    return [RankedCondition(name=n, probability=p) for n, p in zip(order, probs, strict=True)]


class LLMDiagnoser:
    """Diagnoser over a knowledge base: the LLM ranks its conditions (DDXPlus: all 49), or
    the engine's ``shortlist`` leading ones when there are too many to list (HPO's ~12,000
    rare diseases), reading the findings as the catalogue phrases them."""

    def __init__(
        self,
        client: LLMClient,
        kb: KnowledgeBase | None,
        engine: Diagnoser,
        *,
        strategy: Strategy = "standard",
        examples: SolvedCasePool | None = None,
        summariser: LLMClient | None = None,
        catalogue: FindingCatalogue | None = None,
        shortlist: int | None = None,
    ) -> None:
        """``summariser``: condenses retrieved passages for the prompt (None: the prompt
        carries their cited excerpts). ``kb`` None: give the ``catalogue`` and a
        ``shortlist`` (the candidates are then the engine's leaders)."""
        if kb is None and (catalogue is None or shortlist is None):
            raise TypeError("without a DDXPlus kb, give the catalogue and a shortlist")
        if strategy == "fewshot-knn" and examples is None:
            raise SettingsError(
                "The fewshot-knn strategy needs solved example cases (`ddx eval ddxplus "
                "--examples PATIENTS.csv`); here choose the standard, cot or hybrid strategy."
            )
        self.client = client
        self.kb = kb
        self.engine = engine
        self.strategy = strategy
        self.examples = examples
        self.summariser = summariser
        self.catalogue = catalogue or DdxPlusCatalogue(kb) if kb is not None else catalogue
        self.shortlist = shortlist

    def diagnose(self, view: ConsultationView) -> list[RankedCondition]:
        return self.diagnosis(view).ranked

    def diagnosis(self, view: ConsultationView) -> Diagnosis:
        """The model's differential and its rationale (the engine's, without a rationale,
        when the model's answer is unusable or it defers to the engine)."""
        engine_ranked = self.engine.diagnose(view)
        engine_pairs = [(r.name, r.probability) for r in engine_ranked]
        assert self.catalogue is not None
        known = findings_text(self.catalogue, view.findings)
        if self.shortlist is not None:
            candidates = [r.name for r in engine_ranked[: self.shortlist]]
        else:
            assert self.kb is not None
            candidates = list(self.kb.condition_names)
        examples = ""
        if self.strategy == "fewshot-knn" and self.examples is not None:
            examples = examples_text(self.examples.nearest(known, FEWSHOT_K))
        try:
            answer = llm_differential(
                self.client,
                strategy=self.strategy,
                patient=patient_line(view.age, view.sex),
                known=known,
                candidates=candidates,
                engine_ranking=engine_pairs,
                previous=ranking_text(list(view.differential), 5) if view.differential else "",
                examples=examples,
                evidence=evidence_for(
                    view.passages, [n for n, _ in view.differential[:3]], self.summariser
                ),
            )
        except LLMUnavailableError:
            raise
        except LLMError as exc:
            log.warning("diagnoser: %s; using the engine's differential for this step", exc)
            self.client.count_fallback()
            return Diagnosis(ranked=engine_ranked)
        if answer.deferred:
            return Diagnosis(ranked=engine_ranked)
        ranked = rank_probabilities(answer.names, [n for n, _ in engine_pairs], engine_pairs)
        return Diagnosis(ranked=ranked, rationale=answer.rationale.strip())

    def explain(
        self, view: ConsultationView, differential: Sequence[RankedCondition], top_k: int
    ) -> list[ConditionExplanation]:
        return self.engine.explain(view, differential, top_k)
