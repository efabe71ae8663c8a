"""The built-in HPO corpus: one page per rare disease of the HPO knowledge base.

A page names the disease and all its ids (OMIM, Orphanet, DECIPHER), then its phenotype terms
grouped by how often they occur (the annotation frequency; "frequency not given" last), then
the terms it is annotated *not* to have. Generated from the same annotations as the reasoner,
so what the retrieval agent cites never disagrees with the ranking. ``ddx index build
--builtin hpo`` indexes them; the rare-disease consultation then queries that index for its
leading diseases (``retrieval.builtin_index.hpo_retriever_if_built``).
"""

from __future__ import annotations

from collections.abc import Iterator

from retrieval.documents import Document
from retrieval.hpo_kb import UNKNOWN_FREQUENCY, HpoKnowledgeBase

SOURCE = "Human Phenotype Ontology annotations (the release shipped with hpo3)"
LICENCE = "HPO licence (free use with attribution; https://hpo.jax.org/license)"
ID_PREFIX = "hpo:"

FREQUENCY_BANDS: tuple[tuple[float, str], ...] = (
    (0.99, "Always present"),
    (0.80, "Very frequent (80–99%)"),
    (0.30, "Frequent (30–79%)"),
    (0.05, "Occasional (5–29%)"),
    (0.0, "Very rare (1–4%)"),
)


def _band(frequency: float) -> str:
    if frequency == UNKNOWN_FREQUENCY:
        return "Frequency not given"
    return next(label for floor, label in FREQUENCY_BANDS if frequency >= floor)


def _url(disease_id: str) -> str:
    prefix, number = disease_id.split(":", 1)
    if prefix == "OMIM":
        return f"https://omim.org/entry/{number}"
    if prefix == "ORPHA":
        return f"https://www.orpha.net/en/disease/detail/{number}"
    return ""


def disease_page(kb: HpoKnowledgeBase, disease: int) -> Document:
    """The page of one disease (see the module docstring)."""
    terms, freqs = kb.disease_terms(disease)
    grouped: dict[str, list[str]] = {}
    for term, frequency in sorted(zip(terms, freqs, strict=True), key=lambda p: -p[1]):
        grouped.setdefault(_band(float(frequency)), []).append(kb.term_names[int(term)])
    order = [label for _, label in FREQUENCY_BANDS] + ["Frequency not given"]
    name = kb.disease_names[disease]
    lines = [f"{name} ({', '.join(kb.disease_xrefs[disease])})."]
    lines += [f"{label}: {'; '.join(grouped[label])}." for label in order if label in grouped]
    start, end = kb.excluded.indptr[disease], kb.excluded.indptr[disease + 1]
    excluded = [kb.term_names[int(t)] for t in kb.excluded.indices[start:end]]
    if excluded:
        lines.append(f"Not a feature: {'; '.join(excluded)}.")
    primary = kb.disease_ids[disease]
    return Document(
        id=ID_PREFIX + primary,
        title=name,
        text="\n".join(lines),
        source=SOURCE,
        licence=LICENCE,
        url=_url(primary),
    )


def hpo_pages(kb: HpoKnowledgeBase) -> Iterator[Document]:
    """One page per disease, in the knowledge base's order."""
    for disease in range(kb.n_diseases):
        yield disease_page(kb, disease)
