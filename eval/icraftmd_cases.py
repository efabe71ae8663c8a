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

A consultation (:func:`run_case`) follows MEDDxAgent's iterative refinement: up to ``rounds``
rounds of history taking (the doctor asks, the LLM patient answers from ``facts``), the working
profile rewritten between rounds, then a diagnosis with the previous round's differential fed
back. The doctor starts from the first sentence of ``context`` only.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.errors import DataFormatError
from agent.llm.base import LLMError, LLMUnavailableError
from agent.llm.client import LLMClient, case_meter
from agent.llm.schemas import Summary, Verdict
from agent.llm.structured import ask_or_none
from agent.reasoners.llm import prompts
from agent.reasoners.llm.diagnosis import llm_differential
from agent.reasoners.llm.history import next_step
from agent.reasoners.llm.knn import SolvedCase, SolvedCasePool, examples_text
from agent.reasoners.llm.retrieval import CaseKnowledge
from agent.settings import Strategy
from eval.results_file import validation_message
from retrieval.fuzzy import match_name
from retrieval.passages import PassageSource
from simulator.llm_patient import LLMPatient, icraftmd_profile

log = logging.getLogger(__name__)

Mode = Literal["mc", "open"]
FEWSHOT_K = 3


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


def _round_budgets(questions: int, rounds: int) -> list[int]:
    base, extra = divmod(questions, rounds)
    return [base + (1 if i < extra else 0) for i in range(rounds)]


def _known(profile: str, transcript: list[Exchange], since: int) -> str:
    lines = [f"- Doctor: {e.question} Patient: {e.answer}" for e in transcript[since:]]
    return "\n".join([profile, *lines]) if profile else "\n".join(lines) or "- nothing yet"


def run_case(setup: IcraftSetup, case: IcraftCase) -> IcraftCaseResult:
    """Consult one case; an unreachable server propagates (the case is retried next run)."""
    started = time.perf_counter()
    with case_meter() as stats:
        patient = LLMPatient(
            setup.patient, icraftmd_profile(case.facts), hidden=list(case.options.values())
        )
        transcript: list[Exchange] = []
        profile = f"- {case.opening}"
        profile_from = 0
        previous = ""
        names: list[str] = []
        rationale = ""
        failed: str | None = None
        stop_reason = "question budget reached"
        candidates = list(case.options.values()) if setup.mode == "mc" else None
        knowledge = CaseKnowledge(setup.retriever, setup.summariser, candidates, case.opening)
        for round_number, budget in enumerate(_round_budgets(setup.questions, setup.rounds), 1):
            evidence = knowledge.excerpts(names)
            stop = _take_history(
                setup, case, patient, transcript, (profile, profile_from, evidence), budget
            )
            if stop is not None:
                stop_reason = stop
            if round_number > 1 or setup.rounds > 1:
                profile, profile_from = _rewrite_profile(setup, profile, transcript, profile_from)
            examples = ""
            if setup.strategy == "fewshot-knn" and setup.examples is not None:
                nearest = setup.examples.nearest(
                    _known(profile, transcript, profile_from), FEWSHOT_K, exclude=case.case_id
                )
                examples = examples_text(nearest)
            try:
                answer = llm_differential(
                    setup.diagnoser,
                    strategy=setup.strategy,
                    patient=case.opening,
                    known=_known(profile, transcript, profile_from),
                    candidates=candidates,
                    previous=previous,
                    examples=examples,
                    evidence=knowledge.evidence(names),
                )
            except LLMUnavailableError:
                raise
            except LLMError as exc:
                log.warning("case %s: diagnosis failed: %s", case.case_id, exc)
                setup.diagnoser.count_fallback()
                failed = f"diagnosis round {round_number}: {exc}"
                continue
            names, rationale, failed = answer.names, answer.rationale, None
            previous = ", ".join(names[:5])
            if stop_reason != "question budget reached":
                break
    truth_rank = _rank_of(case.answer, names, setup.judge if setup.mode == "open" else None)
    return IcraftCaseResult(
        case_id=case.case_id,
        mode=setup.mode,
        answer=case.answer,
        differential=names,
        correct=truth_rank == 1,
        truth_rank=truth_rank,
        rationale=rationale,
        questions_asked=len(transcript),
        stop_reason=stop_reason,
        transcript=transcript,
        rounds=setup.rounds,
        llm_calls=stats.llm_calls,
        cache_hits=stats.cache_hits,
        invalid_outputs=stats.invalid_outputs,
        fallbacks=stats.fallbacks,
        failed_step=failed,
        passages=knowledge.read,
        seconds=round(time.perf_counter() - started, 6),
    )


def _take_history(
    setup: IcraftSetup,
    case: IcraftCase,
    patient: LLMPatient,
    transcript: list[Exchange],
    known: tuple[str, int, str],
    budget: int,
) -> str | None:
    """Ask up to ``budget`` questions; returns why questioning ended early, if it did.
    ``known``: the working profile, the transcript index it covers, retrieved knowledge."""
    profile, profile_from, evidence = known
    for _ in range(budget):
        left = setup.questions - len(transcript)
        try:
            step = next_step(
                setup.doctor,
                patient=case.opening,
                known=_known(profile, transcript, profile_from),
                left=left,
                evidence=evidence,
            )
        except LLMUnavailableError:
            raise
        except LLMError as exc:
            # No engine plays the doctor for free-text cases: questioning ends here, reported.
            log.warning("case %s: doctor failed: %s", case.case_id, exc)
            setup.doctor.count_fallback()
            return "doctor gave no valid question"
        if step.action != "ask":
            return "doctor stopped"
        transcript.append(Exchange(question=step.question, answer=patient.reply(step.question)))
    return None


def _rewrite_profile(
    setup: IcraftSetup, profile: str, transcript: list[Exchange], since: int
) -> tuple[str, int]:
    """MEDDxAgent rewrites the working profile between rounds; on failure the transcript stays."""
    if since == len(transcript):
        return profile, since
    turn = prompts.PROFILE_TURN.format(profile=profile, transcript=_known("", transcript, since))
    summary = ask_or_none(
        setup.doctor,
        prompts.PROFILE_SYSTEM,
        turn,
        Summary,
        step="profile rewrite",
    )
    if summary is None:
        return profile, since
    return summary.summary, len(transcript)


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
