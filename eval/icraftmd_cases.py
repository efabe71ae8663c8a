"""iCraft-MD dermatology cases (from MediQ; built from CRAFT-MD) and one case's consultation.

``icraftmd/dev_cases.jsonl`` — one case per line:

============  ==================  =========================================================
field         type                meaning (example)
============  ==================  =========================================================
id            int or str          case id (``19``)
question      str                 the exam question ("Which … is the most likely diagnosis?")
context       list[str]           the vignette's sentences; the first is the chief complaint
facts         list[str]           numbered atomic facts a simulated patient may reveal
options       dict[str, str]      ``A``–``D`` → diagnosis
answer        str                 the correct diagnosis (one of the options)
answer_idx    str                 its letter (``"A"``)
============  ==================  =========================================================

A consultation (:func:`run_case`) runs through the consultation graph like every other, with
the free-text roles (``agent.reasoners.llm.free_text``) and the facts patient
(``simulator.facts_patient``): MEDDxAgent's iterative refinement is the driver's — up to
``rounds`` rounds of history taking (the doctor asks, the LLM patient answers from ``facts``),
the working profile rewritten between rounds, a diagnosis at each round's end with the previous
round's differential fed back. The doctor starts from the first sentence of ``context`` only.
"""

from __future__ import annotations

import functools
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.assembly import free_text_case
from agent.consult.graph import ConsultGraph
from agent.consult.session import ConsultationSession, batch_graph
from agent.errors import DataFormatError
from agent.llm.client import LLMClient, case_meter
from agent.llm.schemas import Verdict
from agent.llm.structured import ask_or_none
from agent.reasoners.llm import prompts
from agent.reasoners.llm.case_knowledge import CaseKnowledge
from agent.reasoners.llm.free_text import FreeTextDiagnoser
from agent.reasoners.llm.knn import SolvedCase, SolvedCasePool
from agent.settings import Strategy
from agent.state import CaseIntake
from eval.results_file import validation_message
from retrieval.free_text_findings import OPENING
from retrieval.fuzzy import match_name
from retrieval.passages import PassageSource
from simulator.facts_patient import FactsPatient

Mode = Literal["mc", "open"]


class IcraftCase(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: int | str
    question: str = ""
    context: list[str] = Field(min_length=1)
    facts: list[str] = Field(min_length=1)
    options: dict[str, str] = Field(min_length=2)
    answer: str = Field(min_length=1)
    answer_idx: str = ""

    @property
    def case_id(self) -> str:
        return str(self.id)

    @property
    def opening(self) -> str:
        return self.context[0].strip()


@dataclass(frozen=True)
class LoadedCases:
    cases: list[IcraftCase]
    problems: list[str]


def load_cases(path: Path) -> LoadedCases:
    """Every valid case; bad lines are reported (line number, reason) and skipped."""
    cases: list[IcraftCase] = []
    problems: list[str] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFormatError(f"Cannot read the iCraft-MD cases {path}: {exc}") from None
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            case = IcraftCase.model_validate(json.loads(line))
        except json.JSONDecodeError as exc:
            problems.append(f"line {number}: not JSON ({exc.msg})")
            continue
        except ValidationError as exc:
            problems.append(f"line {number}: {validation_message(exc)}")
            continue
        if case.case_id in seen:
            problems.append(f"line {number}: duplicate id {case.case_id}")
            continue
        if match_name(case.answer, list(case.options.values())) is None:
            problems.append(f"line {number}: answer is not one of the options")
            continue
        seen.add(case.case_id)
        cases.append(case)
    return LoadedCases(cases=cases, problems=problems)


class Exchange(BaseModel):
    question: str
    answer: str


class IcraftCaseResult(BaseModel):
    """One iCraft-MD consultation as it ran."""

    case_id: str
    mode: Mode
    answer: str = Field(description="Ground truth.")
    differential: list[str] = Field(description="Most likely first; empty when it failed.")
    correct: bool = Field(description="Top-1 is the ground truth.")
    truth_rank: int | None = Field(description="1-based rank of the truth; None: not listed.")
    rationale: str = ""
    questions_asked: int
    stop_reason: str
    transcript: list[Exchange]
    rounds: int
    llm_calls: int
    cache_hits: int
    invalid_outputs: int
    fallbacks: int
    failed_step: str | None = Field(
        default=None, description="A step whose answers never fitted (reported, not hidden)."
    )
    passages: list[str] = Field(
        default_factory=list, description="Ids of the passages the diagnoser read."
    )
    seconds: float


@dataclass(frozen=True)
class IcraftSetup:
    doctor: LLMClient
    patient: LLMClient
    diagnoser: LLMClient
    mode: Mode = "mc"
    questions: int = 10
    rounds: int = 1
    strategy: Strategy = "standard"
    examples: SolvedCasePool | None = None
    judge: LLMClient | None = None
    """Open mode: names fuzzy matching cannot place are judged by this LLM, if set."""
    retriever: PassageSource | None = None
    """Knowledge for the candidates (``agent.assembly.passage_source``): the doctor and the
    diagnoser read it; None: no retrieval."""
    summariser: LLMClient | None = None
    """Condenses the passages before the diagnoser reads them; None: their cited excerpts."""


def solved_pool(cases: list[IcraftCase]) -> SolvedCasePool:
    """The other cases as worked examples (the case itself is excluded when solving it)."""
    return SolvedCasePool(
        [SolvedCase(case_id=c.case_id, text=" ".join(c.context), diagnosis=c.answer) for c in cases]
    )


def run_case(setup: IcraftSetup, case: IcraftCase) -> IcraftCaseResult:
    """Consult one case through the consultation graph; an unreachable server propagates (the
    case is retried next run)."""
    started = time.perf_counter()
    with case_meter() as stats:
        patient = FactsPatient(setup.patient, case.facts, hidden=list(case.options.values()))
        candidates = list(case.options.values()) if setup.mode == "mc" else None
        knowledge = CaseKnowledge(setup.retriever, case.opening, candidates, setup.summariser)
        diagnoser = FreeTextDiagnoser(
            setup.diagnoser,
            strategy=setup.strategy,
            candidates=candidates,
            examples=setup.examples if setup.strategy == "fewshot-knn" else None,
            case_id=case.case_id,
            knowledge=knowledge,
        )
        context = free_text_case(setup.doctor, diagnoser, knowledge)
        intake = CaseIntake(
            findings={OPENING: case.opening},
            max_questions=setup.questions,
            refinement_rounds=setup.rounds,
        )
        session = ConsultationSession(_graph(), context, durability="exit")
        report = session.consult_to_end(f"icraftmd:{case.case_id}", intake, patient.answer)
    names = [item.name for item in report.differential]
    truth_rank = _rank_of(case.answer, names, setup.judge if setup.mode == "open" else None)
    return IcraftCaseResult(
        case_id=case.case_id,
        mode=setup.mode,
        answer=case.answer,
        differential=names,
        correct=truth_rank == 1,
        truth_rank=truth_rank,
        rationale=report.rationale,
        questions_asked=report.questions_asked,
        stop_reason=report.stop_reason,
        transcript=[Exchange(question=t.question, answer=t.answer) for t in report.transcript],
        rounds=setup.rounds,
        llm_calls=stats.llm_calls,
        cache_hits=stats.cache_hits,
        invalid_outputs=stats.invalid_outputs,
        fallbacks=stats.fallbacks,
        failed_step=diagnoser.failure,
        passages=knowledge.read,
        seconds=round(time.perf_counter() - started, 6),
    )


@functools.cache
def _graph() -> ConsultGraph:
    """One compiled graph for every case of the process (cases run in threads, each with its
    own thread id and context)."""
    return batch_graph()


def _rank_of(answer: str, names: list[str], judge: LLMClient | None = None) -> int | None:
    """Rank of the truth: fuzzy name matching, then (open mode) the judge, top 10 only."""
    matched = match_name(answer, names)
    if matched is not None:
        return names.index(matched) + 1
    if judge is None:
        return None
    for rank, name in enumerate(names[:10], start=1):
        turn = prompts.JUDGE_TURN.format(reference=answer, predicted=name)
        verdict = ask_or_none(
            judge, prompts.JUDGE_SYSTEM, turn, Verdict, step="judge (counted as different)"
        )
        if verdict is not None and verdict.same:
            return rank
    return None
