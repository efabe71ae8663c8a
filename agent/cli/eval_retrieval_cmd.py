"""`ddx eval retrieval`: the knowledge indexes on a BEIR-format benchmark (registered in
``agent/cli/eval_cmd.py``)."""

from __future__ import annotations

from pathlib import Path

import typer

from agent.errors import DdxError


def retrieval(
    corpus: Path = typer.Option(..., "--corpus", help="BEIR corpus.jsonl (_id, title, text)."),
    queries: Path = typer.Option(..., "--queries", help="BEIR queries.jsonl (_id, text)."),
    qrels: Path = typer.Option(
        ..., "--qrels", help="Judgements TSV with header 'query-id corpus-id score'."
    ),
    out: Path = typer.Option(
        ..., "--out", help="Results folder: summary.json, per_query.jsonl, run.trec."
    ),
    method: str = typer.Option("hybrid", "--method", help="bm25, dense or hybrid."),
    fusion: str = typer.Option(
        "rrf", "--fusion", help="Hybrid fusion: rrf (reciprocal rank) or convex (scores)."
    ),
    index: Path | None = typer.Option(
        None,
        "--index",
        help="Index folder, reused when corpus and settings are unchanged [default: OUT/index].",
    ),
    model: str | None = typer.Option(
        None, "--model", help="Sentence-transformers model directory [default: bundled MiniLM]."
    ),
    chunk_words: int = typer.Option(
        0, "--chunk-words", min=0, help="Cut documents into chunks of this many words (0: whole)."
    ),
    overlap: int = typer.Option(40, "--overlap", min=0, help="Words shared by adjacent chunks."),
) -> None:
    """Measure retrieval quality (nDCG@10, recall@100, MRR@10 with ir-measures) and query
    latency. The first run embeds the corpus (minutes on a laptop CPU); later runs reuse the
    index. Documents are judged whole: a document's best chunk stands for it."""
    from rich.console import Console

    from agent.cli.index_cmd import chunking_option, method_option
    from eval.retrieval_bench import RetrievalRequest, run_retrieval_bench

    if fusion not in ("rrf", "convex"):
        raise DdxError(f"--fusion must be rrf or convex, not {fusion!r}.")
    console = Console(stderr=True)
    summary = run_retrieval_bench(
        RetrievalRequest(
            corpus=corpus,
            queries=queries,
            qrels=qrels,
            out=out,
            method=method_option(method),
            fusion="convex" if fusion == "convex" else "rrf",
            index_dir=index,
            model=model,
            chunking=chunking_option(chunk_words, overlap),
        ),
        warn=lambda message: console.print(f"[yellow]warning:[/] {message}", highlight=False),
    )
    for key, value in summary.model_dump(by_alias=True).items():
        typer.echo(f"{key}: {value}")
    typer.echo(f"wrote {out / 'summary.json'}")
