"""One narrow ranker interface and its interchangeable implementations.

A ranker only scores candidates for a need (``score``); :func:`rank` sorts, cuts and attaches
rationales, the same way for every ranker. Implementations:

==========  =======================================================================  ==========
name        how it scores                                                            needs
==========  =======================================================================  ==========
baseline    the longest profile first (the naive "most detailed profile" heuristic)  nothing
bm25        BM25 of the need's words over the candidates' text (CJK-aware tokens)    nothing
embedded    criteria-aware: per criterion, the best-matching profile piece's          an embedding
            cosine similarity above a floor, weighted by the criterion's weight      model
llm         DrRank's pointwise grading: 5 levels, expected relevance over the        an LLM
            label probabilities (``retrieval.doctors.llm_grader``)                   backend
==========  =======================================================================  ==========
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from agent.errors import SettingsError
from retrieval.doctors.criteria import CriteriaSet
from retrieval.doctors.profiles import DoctorProfile
from retrieval.doctors.rationale import (
    CriterionEvidence,
    DenseMatcher,
    LexicalMatcher,
    SectionMatcher,
    best_matches,
    explain,
)
from retrieval.index.tokenizers import jieba_tokens as tokenize

if TYPE_CHECKING:
    from retrieval.embeddings import Encoder

RANKER_NAMES = ("baseline", "bm25", "embedded", "llm")
SIMILARITY_FLOOR = 0.25
"""Similarities below this count as no match at all: unrelated sentences of the same language
still reach 0.1–0.25 with all-MiniLM-L6-v2, and summed over many pieces that noise would
outweigh a real match."""


class RankedDoctor(BaseModel):
    """One doctor of a ranking, with the criteria their profile meets: what ``ddx doctors
    rank`` and the app's Doctors page list, and what a consultation's report recommends."""

    model_config = ConfigDict(frozen=True)

    rank: int = Field(ge=1)
    score: float
    profile: DoctorProfile
    rationale: list[CriterionEvidence] = Field(default_factory=list)
    reason: str = Field(default="", description="The LLM grader's written reason, if any.")

    @property
    def doctor_id(self) -> str:
        return self.profile.id

    @property
    def headline(self) -> str:
        """Name, title, department and hospital, as one line."""
        return self.profile.headline()

    @property
    def criteria_met(self) -> list[str]:
        """The keys of the criteria the profile meets, in the criteria's order."""
        return [e.key for e in self.rationale if e.met]

    @property
    def evidence(self) -> list[str]:
        """'criterion: profile text' for every criterion met."""
        return [f"{e.key}: {e.evidence}" for e in self.rationale if e.met]


class Ranking(BaseModel):
    """A ranked list of doctors for one need, with the criteria it was judged by."""

    model_config = ConfigDict(frozen=True)

    need: str
    ranker: str
    criteria: CriteriaSet
    doctors: list[RankedDoctor]
    candidates: int = Field(description="How many doctors were considered.")
    seconds: float = 0.0


@runtime_checkable
class Ranker(Protocol):
    """Scores candidates for a need (higher is better); one score per candidate, in order."""

    name: str

    def score(
        self, need: str, candidates: Sequence[DoctorProfile], criteria: CriteriaSet
    ) -> list[float]: ...


@runtime_checkable
class Preparing(Protocol):
    """A ranker that can do per-candidate work once, before ranking many needs."""

    def prepare(self, candidates: Sequence[DoctorProfile], *, progress: bool = False) -> None: ...


@runtime_checkable
class Explaining(Protocol):
    """A ranker that writes its own reason per doctor (the LLM grader)."""

    def reason_for(self, profile_id: str) -> str: ...


class LengthBaseline:
    """The trivial baseline every ranker must beat: longer profiles first."""

    name = "baseline"

    def score(
        self, need: str, candidates: Sequence[DoctorProfile], criteria: CriteriaSet
    ) -> list[float]:
        return [float(len(p.text())) for p in candidates]


class Bm25Ranker:
    """BM25 of the need over the candidates alone (DrRank's lexical baseline). Criteria are
    not used: this is "BM25 alone"."""

    name = "bm25"

    def score(
        self, need: str, candidates: Sequence[DoctorProfile], criteria: CriteriaSet
    ) -> list[float]:
        import bm25s

        query = tokenize(need)
        corpus = [tokenize(p.text()) for p in candidates]
        if not query or not candidates:
            return [0.0] * len(candidates)
        index = bm25s.BM25()
        index.index(corpus, show_progress=False)
        return [float(s) for s in index.get_scores(query)]


class EmbeddedRanker:
    """The criteria-aware scorer without an LLM: for each criterion, the cosine similarity of
    the profile piece that matches it best (above :data:`SIMILARITY_FLOOR`), weighted by the
    criterion's weight and normalised by the total weight (score in 0–1)."""

    name = "embedded"

    def __init__(self, matcher: DenseMatcher, floor: float = SIMILARITY_FLOOR) -> None:
        self.matcher = matcher
        self.floor = floor

    def prepare(self, candidates: Sequence[DoctorProfile], *, progress: bool = False) -> None:
        """Embed every piece of every candidate ahead of ranking, in large batches (an
        evaluation knows all its candidates up front)."""
        pieces = [text for profile in candidates for _, text in profile.sections()]
        self.matcher.vectors(pieces, progress=progress)

    def score(
        self, need: str, candidates: Sequence[DoctorProfile], criteria: CriteriaSet
    ) -> list[float]:
        best, _ = best_matches(self.matcher, criteria, candidates)
        weights = np.array([c.weight for c in criteria.criteria], dtype=np.float32)
        gains = np.clip(best - self.floor, 0.0, None) / (1.0 - self.floor)
        scores = gains @ weights / float(weights.sum())
        return [float(s) for s in scores]


def rank(
    ranker: Ranker,
    need: str,
    candidates: Sequence[DoctorProfile],
    criteria: CriteriaSet,
    *,
    top: int | None = None,
    rationale: SectionMatcher | None = None,
) -> Ranking:
    """Score, sort (ties keep the candidates' order) and cut; with ``rationale``, attach each
    returned doctor's criteria evidence."""
    started = time.perf_counter()
    scores = ranker.score(need, candidates, criteria)
    if len(scores) != len(candidates):
        raise RuntimeError(f"ranker {ranker.name} returned {len(scores)} scores")
    order = sorted(range(len(candidates)), key=lambda i: -scores[i])
    if top is not None:
        order = order[:top]
    doctors = [
        RankedDoctor(
            rank=position,
            score=round(scores[i], 6),
            profile=candidates[i],
            rationale=explain(rationale, criteria, candidates[i]) if rationale else [],
            reason=ranker.reason_for(candidates[i].id) if isinstance(ranker, Explaining) else "",
        )
        for position, i in enumerate(order, start=1)
    ]
    return Ranking(
        need=need,
        ranker=ranker.name,
        criteria=criteria,
        doctors=doctors,
        candidates=len(candidates),
        seconds=round(time.perf_counter() - started, 4),
    )


def make_ranker(
    name: str, *, encoder: Encoder | None = None, grader_backend: str | None = None
) -> Ranker:
    """The ranker called ``name`` (see the table above); SettingsError for an unknown name or a
    missing backend."""
    if name == "baseline":
        return LengthBaseline()
    if name == "bm25":
        return Bm25Ranker()
    if name == "embedded":
        if encoder is None:
            from retrieval.embeddings import load_encoder

            encoder = load_encoder()
        return EmbeddedRanker(DenseMatcher(encoder))
    if name == "llm":
        from retrieval.doctors.llm_grader import grader_from_backend

        if not grader_backend:
            raise SettingsError(
                "The llm ranker needs an LLM backend (--backend hf:DIR or openai:MODEL@URL)."
            )
        return grader_from_backend(grader_backend)
    raise SettingsError(f"Unknown ranker {name!r}: choose one of {', '.join(RANKER_NAMES)}.")


def rationale_matcher(ranker: Ranker) -> SectionMatcher:
    """The matcher that explains a ranker's choices: its own dense matcher when it has one,
    token overlap otherwise."""
    if isinstance(ranker, EmbeddedRanker):
        return ranker.matcher
    return LexicalMatcher()
