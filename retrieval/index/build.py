"""Building an index directory: batched, resumable, and atomic.

* **Atomic.** Everything is written into ``.<name>.partial`` next to the target and renamed
  into place at the very end, the manifest last of all; a build killed at any moment leaves no
  directory that :func:`~retrieval.index.knowledge_index.KnowledgeIndex.load` accepts, and an
  older complete index at the target stays usable until the new one replaces it.
* **Resumable.** Embeddings are saved batch by batch in the partial directory, tagged with the
  build's fingerprint (corpus hash and settings); running the same build again after a kill
  embeds only the batches that are missing.
* **Reused.** When the target already holds an index of the same corpus and settings, nothing is
  rebuilt at all.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from tqdm import tqdm

from agent.errors import DdxError
from retrieval.corpus import corpus_hash, write_jsonl
from retrieval.documents import Document
from retrieval.index.dense import DenseIndex, TextEncoder
from retrieval.index.lexical import LexicalIndex
from retrieval.index.manifest import (
    BM25_DIR,
    DENSE_FILE,
    DOCUMENTS_FILE,
    MANIFEST_FILE,
    BuildSettings,
    IndexManifest,
    IndexNotFoundError,
    read_manifest,
)
from retrieval.index.tokenizers import Tokenizer, tokenizer_named

EMBED_BATCH = 256
"""Documents embedded (and saved for resuming) per step of the progress bar."""

PARTIAL_TAG = "partial.json"


@dataclass(frozen=True)
class BuildOutcome:
    directory: Path
    manifest: IndexManifest
    reused: bool
    """True when an identical index was already there and nothing was rebuilt."""
    resumed_batches: int = 0
    """Embedding batches taken from an interrupted earlier build."""


def partial_dir(out: Path) -> Path:
    return out.parent / f".{out.name}.partial"


def _fingerprint(settings: BuildSettings, digest: str, n: int) -> dict[str, object]:
    return {"settings": settings.model_dump(mode="json"), "corpus_hash": digest, "n": n}


def _existing(out: Path, settings: BuildSettings, digest: str) -> IndexManifest | None:
    try:
        manifest = read_manifest(out)
    except IndexNotFoundError:
        return None
    if manifest.settings == settings and manifest.corpus_hash == digest:
        return manifest
    return None


def up_to_date(
    documents: Sequence[Document], out: Path, settings: BuildSettings
) -> IndexManifest | None:
    """The manifest of the index at ``out`` if it already holds exactly this build."""
    return _existing(out, settings, corpus_hash(documents))


def _prepare_partial(path: Path, fingerprint: dict[str, object]) -> None:
    """Keep an interrupted build of the same fingerprint; start afresh otherwise."""
    tag = path / PARTIAL_TAG
    if path.exists():
        try:
            same = json.loads(tag.read_text(encoding="utf-8")) == fingerprint
        except (OSError, ValueError):
            same = False
        if same:
            return
        shutil.rmtree(path)
    path.mkdir(parents=True)
    tag.write_text(json.dumps(fingerprint), encoding="utf-8")


def _save_atomically(path: Path, vectors: npt.NDArray[np.float32]) -> None:
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("wb") as handle:
        np.save(handle, vectors)
    temporary.replace(path)


def _embed(
    texts: Sequence[str], encoder: TextEncoder, work: Path, progress: bool
) -> tuple[npt.NDArray[np.float32], int]:
    """Embed in batches saved under ``work``; batches already there are loaded, not redone."""
    parts: list[npt.NDArray[np.float32]] = []
    resumed = 0
    starts = range(0, len(texts), EMBED_BATCH)
    with tqdm(
        total=len(texts), desc="embedding", unit="doc", disable=not progress, leave=False
    ) as bar:
        for start in starts:
            batch = texts[start : start + EMBED_BATCH]
            path = work / f"vectors-{start:09d}.npy"
            vectors: npt.NDArray[np.float32] | None = None
            if path.is_file():
                with contextlib.suppress(OSError, ValueError):
                    loaded = np.load(path)
                    if loaded.shape == (len(batch), encoder.dimension):
                        vectors = loaded.astype(np.float32, copy=False)
                        resumed += 1
            if vectors is None:
                vectors = encoder.encode(batch)
                _save_atomically(path, vectors)
            parts.append(vectors)
            bar.update(len(batch))
    if not parts:
        return np.zeros((0, encoder.dimension), dtype=np.float32), 0
    return np.vstack(parts), resumed


def _swap_into_place(work: Path, out: Path) -> None:
    """Replace ``out`` by ``work`` with renames only (atomic on one file system)."""
    old: Path | None = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        out.replace(old)
    work.replace(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def build_index(
    documents: Sequence[Document],
    out: Path,
    *,
    settings: BuildSettings,
    encoder: TextEncoder | None = None,
    tokenizer: Tokenizer | None = None,
    progress: bool = True,
) -> BuildOutcome:
    """Build (or reuse, or finish) the index of ``documents`` at ``out``."""
    if not documents:
        raise DdxError("Nothing to index: the corpus has no documents.")
    if settings.has_dense and (encoder is None or encoder.name != settings.model):
        raise DdxError("A dense index needs the encoder named in its settings.")
    if settings.has_bm25:
        tokenizer = tokenizer or tokenizer_named(settings.tokenizer)
        if tokenizer.name != settings.tokenizer:
            raise DdxError("The tokenizer must be the one named in the settings.")
    ids = [document.id for document in documents]
    if len(set(ids)) != len(ids):
        raise DdxError("Document ids must be unique within a corpus.")
    if out.exists() and (
        not out.is_dir() or (not (out / MANIFEST_FILE).is_file() and any(out.iterdir()))
    ):
        raise DdxError(
            f"{out} exists and is not an index directory; choose another --out (building "
            "replaces the whole folder)."
        )
    digest = corpus_hash(documents)
    existing = _existing(out, settings, digest)
    if existing is not None:
        return BuildOutcome(directory=out, manifest=existing, reused=True)

    started = time.perf_counter()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        work = partial_dir(out)
        _prepare_partial(work, _fingerprint(settings, digest, len(documents)))
    except OSError as exc:
        raise DdxError(f"Cannot write the index at {out}: {exc.strerror}.") from None
    texts = [document.indexed_text() for document in documents]
    dimension, resumed, embed_seconds = 0, 0, 0.0
    if settings.has_dense:
        assert encoder is not None
        embed_started = time.perf_counter()
        vectors, resumed = _embed(texts, encoder, work, progress)
        embed_seconds = time.perf_counter() - embed_started
        dimension = int(vectors.shape[1])
        DenseIndex.from_vectors(vectors).save(work / DENSE_FILE)
    if settings.has_bm25:
        assert tokenizer is not None
        LexicalIndex.build(texts, tokenizer, settings).save(work / BM25_DIR)
    write_jsonl(documents, work / DOCUMENTS_FILE)
    for part in work.glob("vectors-*.npy"):
        part.unlink()
    (work / PARTIAL_TAG).unlink()
    manifest = IndexManifest(
        settings=settings,
        dimension=dimension,
        corpus_hash=digest,
        n_documents=len(documents),
        build_seconds=round(time.perf_counter() - started, 3),
        embed_seconds=round(embed_seconds, 3),
    )
    (work / MANIFEST_FILE).write_text(manifest.model_dump_json(indent=2) + "\n", "utf-8")
    _swap_into_place(work, out)
    return BuildOutcome(directory=out, manifest=manifest, reused=False, resumed_batches=resumed)
