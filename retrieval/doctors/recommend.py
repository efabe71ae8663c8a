"""The one entry point for ranking doctors over a directory: the CLI, the app and the
consultation (through ``agent.doctors``) use it.

need → criteria (cached) → first stage (hybrid search over the persisted directory index,
skipped when the caller gives the candidates) → ranker → top k with rationales.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from retrieval.doctors.criteria import CachedCriteria, CriteriaProvider, CriteriaSet, NeedCriteria
from retrieval.doctors.first_stage import (
    FIRST_STAGE_DEPTH,
    DirectoryIndex,
    OnProgress,
    default_index_dir,
)
from retrieval.doctors.kb_criteria import KbCriteria
from retrieval.doctors.profiles import DoctorProfile, load_directory
from retrieval.doctors.rankers import (
    RankedDoctor,
    Ranker,
    Ranking,
    make_ranker,
    rank,
    rationale_matcher,
)
from retrieval.doctors.rationale import SectionMatcher

if TYPE_CHECKING:
    from retrieval.ddxplus_kb import KnowledgeBase

DEFAULT_TOP = 5


@dataclass
class DoctorRecommender:
    """A directory index, a criteria provider and a ranker, loaded once and used many times."""

    index: DirectoryIndex
    criteria: CriteriaProvider
    ranker: Ranker
    depth: int = FIRST_STAGE_DEPTH

    @classmethod
    def open(
        cls,
        directory_file: Path,
        *,
        state_dir: Path,
        kb: KnowledgeBase | None = None,
        index_dir: Path | None = None,
        ranker: str = "embedded",
        embedding_model: str | None = None,
        grader_backend: str | None = None,
        progress: bool = True,
        on_progress: OnProgress | None = None,
    ) -> DoctorRecommender:
        """Load the directory and its index (built on first use, then reused); ``progress``
        draws terminal bars, ``on_progress`` hears each step (stage, done, total)."""
        from retrieval.embeddings import load_encoder

        tell = on_progress or (lambda stage, done, total: None)
        tell("Reading the doctor directory", 0, 0)
        directory = load_directory(directory_file)
        tell("Loading the sentence encoder", 0, 0)
        encoder = load_encoder(embedding_model)
        # Any other ranker is made (and a bad name or backend refused) before indexing.
        other = (
            make_ranker(ranker, encoder=encoder, grader_backend=grader_backend)
            if ranker != "embedded"
            else None
        )
        folder = index_dir or default_index_dir(state_dir, directory)
        index = DirectoryIndex.open(directory, folder, encoder, progress=progress, on_progress=tell)
        provider: CriteriaProvider = KbCriteria(kb) if kb is not None else NeedCriteria()
        criteria = CachedCriteria(provider, state_dir / "doctor_criteria", tag=encoder.name)
        return cls(index, criteria, other if other is not None else _embedded_on(index))

    def rank(
        self,
        need: str,
        *,
        top: int = DEFAULT_TOP,
        candidates: Sequence[DoctorProfile] | None = None,
        criteria: CriteriaSet | None = None,
        explain: bool = True,
    ) -> Ranking:
        """Rank doctors for a need; ``candidates`` skips the first stage (as in DrRank)."""
        chosen = criteria or self.criteria.criteria_for(need)
        pool = list(candidates) if candidates is not None else self.first_stage(need, chosen)
        matcher: SectionMatcher | None = None
        if explain:
            lexical = self.ranker.name in ("baseline", "bm25")
            matcher = rationale_matcher(self.ranker) if lexical else self.index.matcher
        return rank(self.ranker, need, pool, chosen, top=top, rationale=matcher)

    def first_stage(self, need: str, criteria: CriteriaSet) -> list[DoctorProfile]:
        """Search with the need and with its criteria (a department or related condition
        finds doctors whose profile never names the disease), pooled without repeats."""
        pool = {p.id: p for p in self.index.candidates(need, self.depth)}
        expanded = " ".join([criteria.disease, *(c.text for c in criteria.criteria)])
        for profile in self.index.candidates(expanded, self.depth):
            pool.setdefault(profile.id, profile)
        return list(pool.values())

    def recommend_for(self, condition: str, top: int = DEFAULT_TOP) -> list[RankedDoctor]:
        """Doctors for a diagnosis (the consultation's leading condition, the report's
        ``DoctorFinder``): a knowledge-base condition gets the knowledge base's criteria for it
        directly, anything else the criteria of the need "a doctor treating <condition>"."""
        need = f"a doctor treating {condition}"
        criteria: CriteriaSet | None = None
        provider = self.criteria.inner if isinstance(self.criteria, CachedCriteria) else None
        if isinstance(provider, KbCriteria) and condition in provider.kb.conditions:
            criteria = provider.for_condition(condition, need=need)
        return self.rank(need, top=top, criteria=criteria).doctors


def _embedded_on(index: DirectoryIndex) -> Ranker:
    """The embedded ranker over the index's matcher, which already holds every section's
    embedding (no profile is embedded at query time)."""
    from retrieval.doctors.rankers import EmbeddedRanker

    return EmbeddedRanker(index.matcher)
