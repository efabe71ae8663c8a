"""Simulated rare-disease patients, generated from the HPO annotations (RareBench format).

RareBench's patient records are not public here, so development and the figures in
BENCHMARKS.md use patients generated the way the Phenomizer paper (Köhler et al. 2009) built
its test cases. For each patient:

1. **Disease**: drawn uniformly from the diseases with at least ``min_terms`` annotated terms.
2. **Terms**: each annotated term is kept with its annotated frequency (``default_frequency``
   when the source gives none); if fewer than ``min_terms`` are kept, the most frequent others
   are added until there are; at most ``max_terms`` are kept (a random subset).
3. **Imprecision**: each kept term is, with probability ``imprecision``, replaced by one of its
   ancestors one or two levels up (never *Phenotypic abnormality* or its direct children: a
   clinician says "seizure" for "focal seizure", not "abnormality of the nervous system").
4. **Noise**: ``round(noise × kept terms)`` terms (at least one when ``noise > 0``) are added,
   drawn from all annotations of all diseases (so common findings are common noise), skipping
   terms of the patient's own disease and their ancestors.
5. **Order**: the terms are shuffled (the benchmark starts from the first 20 % of them).

``RareDisease`` holds the disease's primary id only (OMIM when it has one), so a ranking must
match through cross-references when it lists the disease under another id. Everything is drawn
from one ``random.Random(seed)``: the same seed gives the same file.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import numpy as np
from pydantic import BaseModel, Field

from retrieval.hpo_kb import PHENOTYPIC_ABNORMALITY, UNKNOWN_FREQUENCY, HpoKnowledgeBase
from simulator.phenotype_records import PhenotypeRecord


class GeneratorSettings(BaseModel):
    """How simulated patients are drawn; the defaults are the "moderate" setting."""

    imprecision: float = Field(default=0.3, ge=0.0, le=1.0)
    noise: float = Field(default=0.25, ge=0.0, le=5.0)
    min_terms: int = Field(default=3, ge=1)
    max_terms: int = Field(default=15, ge=1)
    default_frequency: float = Field(default=0.5, gt=0.0, le=1.0)
    seed: int = 0


class PhenotypeCaseGenerator:
    """Draws simulated patients from one knowledge base."""

    def __init__(self, kb: HpoKnowledgeBase, settings: GeneratorSettings | None = None) -> None:
        self.kb = kb
        self.settings = settings or GeneratorSettings()
        counts = np.diff(kb.annotations.indptr)
        self.eligible = np.flatnonzero(counts >= self.settings.min_terms)
        root = kb.term_index(PHENOTYPIC_ABNORMALITY)
        parents = kb.parents.tocsc()
        top_level = parents.indices[parents.indptr[root] : parents.indptr[root + 1]]
        self._too_general = {root, *(int(t) for t in top_level)}
        self._noise_pool = kb.annotations.indices
        self._distinct_pool = np.unique(self._noise_pool)

    def _parents(self, term: int) -> list[int]:
        start, end = self.kb.parents.indptr[term], self.kb.parents.indptr[term + 1]
        return [int(p) for p in self.kb.parents.indices[start:end]]

    def _imprecise(self, term: int, rng: random.Random) -> int:
        """An ancestor one or two levels up, unless that would be too general."""
        current = term
        for _ in range(rng.choice((1, 2))):
            options = [p for p in self._parents(current) if p not in self._too_general]
            if not options:
                break
            current = rng.choice(options)
        return current

    def patient(self, disease: int, rng: random.Random, case_id: str) -> PhenotypeRecord:
        s = self.settings
        terms, freqs = self.kb.disease_terms(disease)
        freqs = np.where(freqs == UNKNOWN_FREQUENCY, s.default_frequency, freqs)
        kept = [int(t) for t, f in zip(terms, freqs, strict=True) if rng.random() < f]
        if len(kept) < s.min_terms:
            for i in np.argsort(-freqs, kind="stable"):
                if int(terms[i]) not in kept:
                    kept.append(int(terms[i]))
                if len(kept) >= s.min_terms:
                    break
        if len(kept) > s.max_terms:
            kept = rng.sample(kept, s.max_terms)
        shown = [self._imprecise(t, rng) if rng.random() < s.imprecision else t for t in kept]
        own: set[int] = set()
        for t in terms:
            own.update(int(a) for a in self.kb.ancestors_of(int(t)))
        n_noise = max(1, round(s.noise * len(kept))) if s.noise > 0 else 0
        foreign = int(np.count_nonzero(~np.isin(self._distinct_pool, list(own))))
        n_noise = min(n_noise, foreign)  # a tiny ontology may have fewer unrelated terms
        noise: list[int] = []
        while len(noise) < n_noise:
            candidate = int(self._noise_pool[rng.randrange(len(self._noise_pool))])
            if candidate not in own and candidate not in noise:
                noise.append(candidate)
        chosen = list(dict.fromkeys(shown + noise))
        rng.shuffle(chosen)
        return PhenotypeRecord(
            case_id=case_id,
            phenotype=[self.kb.term_ids[t] for t in chosen],
            diseases=[self.kb.disease_ids[disease]],
        )

    def generate(self, count: int) -> Iterator[PhenotypeRecord]:
        """``count`` patients, reproducibly from the settings' seed."""
        rng = random.Random(self.settings.seed)
        for number in range(1, count + 1):
            disease = int(self.eligible[rng.randrange(len(self.eligible))])
            yield self.patient(disease, rng, f"sim-{self.settings.seed}-{number}")
