"""`ddx eval retrieval`: a BEIR-format retrieval benchmark of the knowledge indexes.

Input files (BEIR layout):

===============  ===========================================================================
file             format
===============  ===========================================================================
corpus.jsonl     one document per line: ``_id`` (or ``id``), ``title``, ``text``
queries.jsonl    one query per line: ``_id`` (or ``id``), ``text``
qrels (TSV)      header ``query-id  corpus-id  score``, then one judgement per line
===============  ===========================================================================

Output folder: ``summary.json`` (:class:`RetrievalSummary`), ``per_query.jsonl`` (each query's
metrics) and ``run.trec`` (the top-100 in TREC run format, for other tools). The index lives in
``--index DIR`` (default ``OUT/index``) and is reused on the next run when nothing changed, so
only the first run pays for embedding the corpus.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from agent.errors import DataFormatError, MissingDataError
from data.locations import ensure_folder
from eval.ir_metrics import Qrels, evaluate_run
from eval.run_claim import claim_for
from retrieval.chunking import ChunkSettings
from retrieval.corpus import jsonl_rows
from retrieval.index import BuildOutcome, BuildSettings, KnowledgeIndex, Method, build_index
from retrieval.index.build import up_to_date
from retrieval.index.knowledge_index import Fusion
from retrieval.index.manifest import Component

RUN_DEPTH = 100
LATENCY_K = 10
METRICS = ("ndcg@10", "recall@100", "mrr@10")


class RetrievalSummary(BaseModel):
    n_queries: int
    ndcg_at_10: float = Field(alias="ndcg@10")
    recall_at_100: float = Field(alias="recall@100")
    mrr_at_10: float = Field(alias="mrr@10")
    index_seconds: float = Field(description="Time this run spent building or loading the index.")
    query_ms_p50: float = Field(description="Warm single-query latency, top-10, median.")
    query_ms_p95: float
    method: str
    fusion: str
    index_reused: bool
    index_build_seconds: float = Field(description="Wall time of the build that made the index.")
    docs_per_second: float = Field(description="Indexed documents per second of that build.")
    n_documents: int
    model: str
    chunking: str
    skipped_queries: int = 0

    model_config = {"populate_by_name": True}


@dataclass(frozen=True)
class RetrievalRequest:
    corpus: Path
    queries: Path
    qrels: Path
    out: Path
    method: Method = "hybrid"
    fusion: Fusion = "rrf"
    index_dir: Path | None = None
    model: str | None = None
    chunking: ChunkSettings | None = None


def read_queries(path: Path, warn: Callable[[str], None]) -> dict[str, str]:
    """Query id → text; bad lines are reported through ``warn`` and skipped."""
    if not path.is_file():
        raise MissingDataError(f"No queries file at {path}.")
    queries: dict[str, str] = {}
    for number, row in jsonl_rows(path):
        if isinstance(row, str):
            warn(f"{path.name} line {number}: {row}; skipped")
            continue
        qid = str(row.get("_id", row.get("id", ""))).strip()
        text = str(row.get("text") or "").strip()
        if not qid or not text:
            warn(f"{path.name} line {number}: no id or no text; skipped")
            continue
        queries[qid] = text
    if not queries:
        raise DataFormatError(f"{path} holds no usable query.")
    return queries


def read_qrels(path: Path, warn: Callable[[str], None]) -> dict[str, dict[str, int]]:
    """BEIR qrels TSV (header ``query-id corpus-id score``) as query id → {doc id: grade}."""
    if not path.is_file():
        raise MissingDataError(f"No qrels file at {path}.")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise DataFormatError(f"{path} is not UTF-8 text.") from None
    if not lines or lines[0].split("\t")[:2] != ["query-id", "corpus-id"]:
        raise DataFormatError(
            f"{path} must start with the header 'query-id<TAB>corpus-id<TAB>score'."
        )
    qrels: dict[str, dict[str, int]] = {}
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if not line.strip():
            continue
        if len(fields) != 3 or not fields[2].strip().lstrip("-").isdigit():
            warn(f"{path.name} line {number}: expected query-id, corpus-id, integer score; skipped")
            continue
        qrels.setdefault(fields[0].strip(), {})[fields[1].strip()] = int(fields[2])
    if not qrels:
        raise DataFormatError(f"{path} holds no judgement.")
    return qrels


def _build_settings(method: Method, model: str) -> BuildSettings:
    by_method: dict[str, tuple[Component, ...]] = {
        "bm25": ("bm25",),
        "dense": ("dense",),
        "hybrid": ("dense", "bm25"),
    }
    components = by_method[method]
    return BuildSettings(
        components=components,
        model=model if "dense" in components else "",
    )


def _usable_index(index_dir: Path, method: Method) -> BuildSettings | None:
    """An existing index that already has what ``method`` needs (a hybrid index serves all)."""
    from retrieval.index.manifest import IndexNotFoundError, read_manifest

    try:
        manifest = read_manifest(index_dir)
    except IndexNotFoundError:
        return None
    needs = {"bm25": {"bm25"}, "dense": {"dense"}, "hybrid": {"dense", "bm25"}}[method]
    return manifest.settings if needs <= set(manifest.settings.components) else None


def run_retrieval_bench(
    request: RetrievalRequest, warn: Callable[[str], None], progress: bool = True
) -> RetrievalSummary:
    """Index the corpus (or reuse its index), run every judged query, write the results."""
    from eval.ir_metrics import run_from_rankings
    from retrieval.corpus import load_corpus
    from retrieval.embeddings import load_encoder, model_name

    queries = read_queries(request.queries, warn)
    qrels: Qrels = read_qrels(request.qrels, warn)
    judged = [qid for qid in qrels if qid in queries]
    missing = len(qrels) - len(judged)
    if missing:
        warn(f"{missing} judged quer{'y has' if missing == 1 else 'ies have'} no text; skipped")
    if not judged:
        raise DataFormatError("No query of the qrels is in the queries file.")
    ensure_folder(request.out, "output folder")
    claim_for(request.out, "retrieval")  # never into another benchmark's run folder

    index_dir = request.index_dir or request.out / "index"
    started = time.perf_counter()
    loaded = load_corpus(request.corpus, chunking=request.chunking)
    for problem in loaded.problems[:20]:
        warn(f"corpus: {problem}")
    if len(loaded.problems) > 20:
        warn(f"corpus: … and {len(loaded.problems) - 20} more skipped documents")
    model = model_name(request.model)
    wanted = _build_settings(request.method, model)
    existing = _usable_index(index_dir, request.method)
    if existing is not None and (not existing.has_dense or existing.model == model):
        wanted = existing  # e.g. a hybrid index serves a bm25 run without rebuilding
    current = up_to_date(loaded.documents, index_dir, wanted)
    needs_model = request.method != "bm25" or (current is None and wanted.has_dense)
    encoder = load_encoder(request.model) if needs_model else None
    if current is not None:
        outcome = BuildOutcome(directory=index_dir, manifest=current, reused=True)
    else:
        outcome = build_index(
            loaded.documents, index_dir, settings=wanted, encoder=encoder, progress=progress
        )
    index = KnowledgeIndex.load(index_dir, encoder=encoder)
    index.fusion = request.fusion
    index_seconds = time.perf_counter() - started

    texts = [queries[qid] for qid in judged]
    index.search(texts[0], LATENCY_K, request.method)  # warm-up: first-call costs are not latency
    rankings = {}
    for qid, text in zip(judged, texts, strict=True):
        hits = index.search(text, RUN_DEPTH, request.method, whole_documents=True)
        rankings[qid] = [(hit.document.parent_id, hit.score) for hit in hits]
    latencies = []
    for text in texts:
        tick = time.perf_counter()
        index.search(text, LATENCY_K, request.method)
        latencies.append((time.perf_counter() - tick) * 1000)

    scores = evaluate_run(run_from_rankings(rankings), {q: qrels[q] for q in judged}, METRICS)
    manifest = outcome.manifest
    summary = RetrievalSummary.model_validate(
        {
            "n_queries": scores.n_queries,
            "ndcg@10": round(scores.means["ndcg@10"], 4),
            "recall@100": round(scores.means["recall@100"], 4),
            "mrr@10": round(scores.means["mrr@10"], 4),
            "index_seconds": round(index_seconds, 3),
            "query_ms_p50": round(float(np.percentile(latencies, 50)), 3),
            "query_ms_p95": round(float(np.percentile(latencies, 95)), 3),
            "method": request.method,
            "fusion": request.fusion if request.method == "hybrid" else "",
            "index_reused": outcome.reused,
            "index_build_seconds": manifest.build_seconds,
            "docs_per_second": round(manifest.docs_per_second, 2),
            "n_documents": manifest.n_documents,
            "model": manifest.settings.model,
            "chunking": (
                f"{request.chunking.max_words} words, {request.chunking.overlap_words} overlap"
                if request.chunking
                else "none"
            ),
            "skipped_queries": len(scores.skipped_queries) + missing,
        }
    )
    _write_outputs(request.out, summary, scores.per_query, rankings)
    return summary


def _write_outputs(
    out: Path,
    summary: RetrievalSummary,
    per_query: dict[str, dict[str, float]],
    rankings: dict[str, list[tuple[str, float]]],
) -> None:
    (out / "summary.json").write_text(
        summary.model_dump_json(by_alias=True, indent=2) + "\n", encoding="utf-8"
    )
    with (out / "per_query.jsonl").open("w", encoding="utf-8") as handle:
        for qid, values in per_query.items():
            handle.write(json.dumps({"query_id": qid, **values}) + "\n")
    with (out / "run.trec").open("w", encoding="utf-8") as handle:
        for qid, hits in rankings.items():
            for rank, (doc_id, score) in enumerate(hits, start=1):
                handle.write(f"{qid} Q0 {doc_id} {rank} {score:.6f} {summary.method}\n")
