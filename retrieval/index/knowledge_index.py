"""A loaded index directory that answers queries: dense, BM25, or both fused.

Load once per process (the CLI, the UI's ``st.cache_resource``, each benchmark worker) and
query many times: a warm hybrid query is one encoder pass plus two sub-millisecond searches.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from agent.errors import DataFormatError, SettingsError
from retrieval.corpus import corpus_hash, read_documents
from retrieval.documents import Document
from retrieval.index.dense import DenseIndex, TextEncoder
from retrieval.index.fusion import RRF_K, convex_fusion, reciprocal_rank_fusion
from retrieval.index.lexical import LexicalIndex
from retrieval.index.manifest import (
    BM25_DIR,
    DENSE_FILE,
    DOCUMENTS_FILE,
    IndexManifest,
    IndexMismatchError,
    check_compatible,
    read_manifest,
)
from retrieval.index.tokenizers import Tokenizer, tokenizer_named

Method = Literal["bm25", "dense", "hybrid"]
Fusion = Literal["rrf", "convex"]

CANDIDATES = 100
"""Hits taken from each half before fusing (at least the number asked for)."""


@dataclass(frozen=True)
class Hit:
    document: Document
    score: float
    rank: int


class KnowledgeIndex:
    """Search over one index directory (see :mod:`retrieval.index.manifest` for its layout)."""

    def __init__(
        self,
        directory: Path,
        manifest: IndexManifest,
        documents: list[Document],
        dense: DenseIndex | None,
        lexical: LexicalIndex | None,
        encoder: TextEncoder | None,
    ) -> None:
        self.directory = directory
        self.manifest = manifest
        self.documents = documents
        self._dense = dense
        self._lexical = lexical
        self._encoder = encoder
        self.fusion: Fusion = "rrf"
        self.rrf_k = RRF_K
        self.dense_weight = 0.5

    @classmethod
    def load(
        cls,
        directory: Path,
        *,
        encoder: TextEncoder | None = None,
        tokenizer: Tokenizer | None = None,
        expected_corpus_hash: str | None = None,
    ) -> KnowledgeIndex:
        """Open a complete index; refuses another model, tokenizer or corpus (see
        :func:`~retrieval.index.manifest.check_compatible`). Without ``encoder`` a dense
        index loads but only BM25 queries work."""
        manifest = read_manifest(directory)
        settings = manifest.settings
        if settings.has_bm25 and tokenizer is None:
            tokenizer = tokenizer_named(settings.tokenizer)
        check_compatible(
            directory,
            manifest,
            model=encoder.name if encoder is not None else None,
            tokenizer=tokenizer.name if tokenizer is not None else None,
            corpus_hash=expected_corpus_hash,
        )
        try:
            documents = read_documents(directory / DOCUMENTS_FILE)
        except DataFormatError:
            documents = []
        if corpus_hash(documents) != manifest.corpus_hash:
            raise DataFormatError(
                f"The documents of the index at {directory} do not match its manifest (files "
                "changed or damaged); rebuild the index."
            )
        dense = DenseIndex.load(directory / DENSE_FILE) if settings.has_dense else None
        if dense is not None and dense.size != manifest.n_documents:
            raise DataFormatError(f"{directory / DENSE_FILE} is damaged; rebuild the index.")
        lexical = None
        if settings.has_bm25:
            assert tokenizer is not None
            lexical = LexicalIndex.load(directory / BM25_DIR, tokenizer)
        return cls(directory, manifest, documents, dense, lexical, encoder)

    @property
    def methods(self) -> list[Method]:
        """The search methods this index (with the encoder it was loaded with) can run."""
        methods: list[Method] = []
        if self._lexical is not None:
            methods.append("bm25")
        if self._dense is not None and self._encoder is not None:
            methods.append("dense")
        if len(methods) == 2:
            methods.append("hybrid")
        return methods

    @property
    def best_method(self) -> Method:
        """Hybrid when this index can run it, else the one method it has."""
        if not self.methods:
            raise SettingsError(f"The index at {self.directory} has nothing to search with.")
        return self.methods[-1]

    def _require(self, method: Method) -> None:
        if method not in self.methods:
            missing = {
                "bm25": "it has no BM25 index",
                "dense": "it has no dense index or no encoder was given",
                "hybrid": "it needs both a dense index (with an encoder) and BM25",
            }[method]
            raise SettingsError(
                f"The index at {self.directory} cannot search by {method}: {missing}."
            )

    def _dense_scores(self, query: str, depth: int) -> dict[int, float]:
        assert self._dense is not None and self._encoder is not None
        one_query_thread()
        return self._dense.search(self._encoder.encode([query]), depth)

    def _lexical_scores(self, query: str, depth: int) -> dict[int, float]:
        assert self._lexical is not None
        return self._lexical.search(query, depth)

    def ranked_positions(self, query: str, depth: int, method: Method) -> list[tuple[int, float]]:
        """``(position, score)`` best first, at most ``depth`` of them."""
        self._require(method)
        if method == "dense":
            return list(self._dense_scores(query, depth).items())
        if method == "bm25":
            return list(self._lexical_scores(query, depth).items())
        pool = max(depth, CANDIDATES)
        dense = self._dense_scores(query, pool)
        lexical = self._lexical_scores(query, pool)
        if self.fusion == "convex":
            fused = convex_fusion([dense, lexical], [self.dense_weight, 1 - self.dense_weight])
        else:
            fused = reciprocal_rank_fusion([list(dense), list(lexical)], self.rrf_k)
        return fused[:depth]

    def search(
        self, query: str, k: int = 10, method: Method = "hybrid", *, whole_documents: bool = False
    ) -> list[Hit]:
        """The ``k`` best hits; ``whole_documents`` keeps one hit per document (its best
        chunk), for judging against document-level relevance."""
        if k <= 0 or not query.strip():
            return []
        depth = k * 4 if whole_documents else k
        hits: list[Hit] = []
        seen: set[str] = set()
        for position, score in self.ranked_positions(query, depth, method):
            document = self.documents[position]
            if whole_documents:
                if document.parent_id in seen:
                    continue
                seen.add(document.parent_id)
            hits.append(Hit(document=document, score=score, rank=len(hits) + 1))
            if len(hits) == k:
                break
        return hits


__all__ = ["Hit", "IndexMismatchError", "KnowledgeIndex", "Method"]


def one_query_thread() -> None:
    """Embed queries on one torch thread in this process. A query is one short text: one
    thread is as fast when the machine is idle and many times faster when its cores are
    oversubscribed (BENCHMARKS.md, "Knowledge retrieval"). It also keeps a process that forks
    workers after a query (a benchmark warms up in the parent) safe: torch's OpenMP thread
    pool does not survive a fork, and workers that inherit one hang on their first query."""
    import torch

    if torch.get_num_threads() != 1:
        torch.set_num_threads(1)
