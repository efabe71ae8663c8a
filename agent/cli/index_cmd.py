"""`ddx index ...`: build knowledge indexes (dense + BM25) and try them from the terminal."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from agent.cli.common import load_kb, settings_from
from agent.errors import DdxError

if TYPE_CHECKING:
    from retrieval.chunking import ChunkSettings
    from retrieval.index import Method

app = typer.Typer(help="Build and query knowledge indexes (FAISS + BM25).", no_args_is_help=True)

BUILTINS = ("ddxplus", "hpo")
METHODS: dict[str, Method] = {"bm25": "bm25", "dense": "dense", "hybrid": "hybrid"}


def chunking_option(chunk_words: int, overlap: int) -> ChunkSettings | None:
    """--chunk-words / --overlap as chunk settings (None: documents indexed whole)."""
    from retrieval.chunking import ChunkSettings

    if not chunk_words:
        return None
    try:
        return ChunkSettings(max_words=chunk_words, overlap_words=overlap)
    except ValueError:
        raise DdxError("--overlap must be smaller than --chunk-words (at least 8).") from None


def method_option(value: str) -> Method:
    """A --method value checked against the search methods."""
    try:
        return METHODS[value]
    except KeyError:
        raise DdxError(f"--method must be bm25, dense or hybrid, not {value!r}.") from None


@app.command("build")
def build(
    ctx: typer.Context,
    corpus: Path | None = typer.Option(
        None,
        "--corpus",
        help="JSONL (id, title, text[, source, licence, url]) or a folder of .md/.txt files.",
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Index folder to write (replaced whole when the corpus changed)."
    ),
    builtin: str | None = typer.Option(
        None,
        "--builtin",
        help="Build a built-in corpus instead, into <state dir>/indexes/NAME: 'ddxplus' (one "
        "page per condition; consultations find and cite it) or 'hpo' (one page per rare "
        "disease from the HPO annotations, ~12,000 pages: add --bm25-only for a fast build).",
    ),
    model: str | None = typer.Option(
        None,
        "--model",
        help="Sentence-transformers model directory [default: the bundled all-MiniLM-L6-v2].",
    ),
    tokenizer: str = typer.Option(
        "english", "--tokenizer", help="BM25 tokenizer: 'english' (stemmed) or 'jieba' (Chinese)."
    ),
    chunk_words: int = typer.Option(
        180, "--chunk-words", min=0, help="Words per chunk; 0 indexes documents whole."
    ),
    overlap: int = typer.Option(40, "--overlap", min=0, help="Words shared by adjacent chunks."),
    licence: str = typer.Option(
        "unknown", "--licence", help="Licence recorded for documents that do not name one."
    ),
    bm25_only: bool = typer.Option(
        False, "--bm25-only", help="Lexical index only: no embedding model, fast to build."
    ),
) -> None:
    """Build an index folder: embeddings in FAISS plus BM25, with a manifest of the model,
    corpus hash and settings. An unchanged corpus is not re-embedded; a killed build resumes
    where it stopped when the same command runs again, and never leaves a half index."""
    from rich.console import Console

    from retrieval.builtin_index import ddxplus_documents, hpo_documents
    from retrieval.corpus import load_corpus
    from retrieval.embeddings import load_encoder, model_name
    from retrieval.index import BuildSettings, build_index, tokenizer_named
    from retrieval.index.build import up_to_date

    console = Console(stderr=True)
    if (corpus is None) == (builtin is None):
        raise DdxError("Give either --corpus FILE (with --out DIR) or --builtin NAME.")
    if builtin is not None:
        if builtin not in BUILTINS:
            raise DdxError(
                f"Unknown built-in corpus {builtin!r}; choose from {', '.join(BUILTINS)}."
            )
        settings = settings_from(ctx)
        if builtin == "hpo":
            from agent.cli.rarebench_cmd import load_hpo

            documents = hpo_documents(load_hpo(settings))
        else:
            documents = ddxplus_documents(load_kb(settings))
        from agent.assembly import index_root

        target = out or index_root(settings) / builtin
    else:
        assert corpus is not None
        if out is None:
            raise DdxError("Give --out DIR: the folder the index is written to.")
        loaded = load_corpus(
            corpus, chunking=chunking_option(chunk_words, overlap), licence=licence
        )
        for problem in loaded.problems:
            console.print(f"[yellow]skipped[/] {problem}", highlight=False)
        console.print(loaded.summary(), highlight=False)
        documents = loaded.documents
        target = out
    build_settings = BuildSettings(
        components=("bm25",) if bm25_only else ("dense", "bm25"),
        model="" if bm25_only else model_name(model),
        tokenizer=tokenizer_named(tokenizer).name,
    )
    current = up_to_date(documents, target, build_settings)
    if current is not None:  # checked before loading the model: nothing to embed
        typer.echo(f"{target}: up to date ({current.n_documents} chunks); nothing rebuilt.")
        return
    encoder = None if bm25_only else load_encoder(model)
    outcome = build_index(documents, target, settings=build_settings, encoder=encoder)
    manifest = outcome.manifest
    if not outcome.reused:
        resumed = f", {outcome.resumed_batches} batches resumed" if outcome.resumed_batches else ""
        typer.echo(
            f"wrote {target}: {manifest.n_documents} chunks in {manifest.build_seconds:.1f} s "
            f"({manifest.docs_per_second:.1f} chunks/s{resumed})."
        )


@app.command("search")
def search(
    index: Path = typer.Argument(..., help="Index folder written by `ddx index build`."),
    query: str = typer.Argument(..., help="What to look for."),
    k: int = typer.Option(5, "--k", min=1, max=100, help="Number of hits."),
    method: str | None = typer.Option(
        None, "--method", help="bm25, dense or hybrid [default: hybrid when the index has both]."
    ),
    model: str | None = typer.Option(
        None, "--model", help="Embedding model [default: the one the index was built with]."
    ),
) -> None:
    """Query an index and print the hits with their citations."""
    from rich.console import Console

    from retrieval.embeddings import load_encoder
    from retrieval.index import KnowledgeIndex
    from retrieval.index.manifest import read_manifest

    chosen = method_option(method) if method is not None else None
    built = read_manifest(index).settings
    encoder = load_encoder(model or built.model) if built.has_dense and chosen != "bm25" else None
    loaded = KnowledgeIndex.load(index, encoder=encoder)
    console = Console()
    for hit in loaded.search(query, k, chosen or loaded.best_method):
        document = hit.document
        console.print(
            f"{hit.rank}. {document.title or document.id}  ({hit.score:.3f})", markup=False
        )
        console.print(f"   {document.citation()}", style="dim", markup=False)
        console.print(f"   {document.text[:240].replace(chr(10), ' ')}", markup=False)
