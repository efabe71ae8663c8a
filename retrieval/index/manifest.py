"""What an index directory is: its files, its manifest, and the settings it was built with.

Layout of an index directory::

    manifest.json     IndexManifest; written last, so its presence means the index is whole
    documents.jsonl   the indexed documents (chunks), in index order
    dense.faiss       FAISS inner-product index of the normalised embeddings (if dense)
    bm25/             the bm25s index (if lexical)

The manifest records the embedding model, the tokenizer, the corpus hash and every build
setting. Loading compares them with what the caller wants and refuses a mismatch with a message
that says how to fix it, instead of returning wrong neighbours.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.errors import DdxError, MissingDataError

FORMAT_VERSION = 1
MANIFEST_FILE = "manifest.json"
DOCUMENTS_FILE = "documents.jsonl"
DENSE_FILE = "dense.faiss"
BM25_DIR = "bm25"

Component = Literal["dense", "bm25"]


class IndexNotFoundError(MissingDataError):
    """No complete index at the given place (never built, or the build did not finish)."""


class IndexMismatchError(DdxError):
    """The index was built with another model, tokenizer or corpus than the caller's."""


class BuildSettings(BaseModel):
    """Everything that changes the index's content; a change means a rebuild."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    components: tuple[Component, ...] = Field(
        default=("dense", "bm25"), description="Which indexes to build."
    )
    model: str = Field(default="", description="Embedding model name ('' without dense).")
    tokenizer: str = Field(default="english", description="BM25 tokenizer name.")
    bm25_k1: float = Field(default=1.2, gt=0.0)
    bm25_b: float = Field(default=0.75, ge=0.0, le=1.0)
    bm25_method: Literal["lucene", "robertson", "atire", "bm25l", "bm25+"] = "lucene"

    @property
    def has_dense(self) -> bool:
        return "dense" in self.components

    @property
    def has_bm25(self) -> bool:
        return "bm25" in self.components


class IndexManifest(BaseModel):
    """The manifest of a complete index directory."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: int = FORMAT_VERSION
    settings: BuildSettings
    dimension: int = Field(ge=0, description="Embedding dimension (0 without dense).")
    corpus_hash: str
    n_documents: int = Field(ge=1)
    build_seconds: float = Field(ge=0.0, description="Wall time of the build that wrote it.")
    embed_seconds: float = Field(default=0.0, ge=0.0, description="Of which: embedding.")

    @property
    def docs_per_second(self) -> float:
        return self.n_documents / self.build_seconds if self.build_seconds else 0.0


def read_manifest(directory: Path) -> IndexManifest:
    """The manifest of a complete index, or IndexNotFoundError saying why there is none."""
    path = directory / MANIFEST_FILE
    if not path.is_file():
        partial = " (an interrupted build left nothing usable)" if directory.exists() else ""
        raise IndexNotFoundError(
            f"No complete index at {directory}{partial}. Build one with "
            f"`ddx index build --corpus FILE --out {directory}`."
        )
    try:
        manifest = IndexManifest.model_validate_json(path.read_text(encoding="utf-8"))
    except (ValidationError, UnicodeDecodeError):
        raise IndexNotFoundError(
            f"{path} is not an index manifest of this version; rebuild the index."
        ) from None
    if manifest.format != FORMAT_VERSION:
        raise IndexNotFoundError(
            f"{directory} holds an index of format {manifest.format}; this version reads "
            f"format {FORMAT_VERSION}. Rebuild the index."
        )
    return manifest


def check_compatible(
    directory: Path,
    manifest: IndexManifest,
    *,
    model: str | None = None,
    tokenizer: str | None = None,
    corpus_hash: str | None = None,
) -> None:
    """Refuse an index built with another model / tokenizer or from another corpus."""
    built = manifest.settings
    if model is not None and built.has_dense and built.model != model:
        raise IndexMismatchError(
            f"The index at {directory} was built with the embedding model {built.model!r}, "
            f"not {model!r}: its vectors cannot be compared with this model's. Use the same "
            "model, or rebuild the index with the new one."
        )
    if tokenizer is not None and built.has_bm25 and built.tokenizer != tokenizer:
        raise IndexMismatchError(
            f"The index at {directory} was built with the tokenizer {built.tokenizer!r}, not "
            f"{tokenizer!r}. Use the same tokenizer, or rebuild the index."
        )
    if corpus_hash is not None and manifest.corpus_hash != corpus_hash:
        raise IndexMismatchError(
            f"The corpus changed since the index at {directory} was built (hash "
            f"{manifest.corpus_hash[:12]} in the index, {corpus_hash[:12]} now). Rebuild it "
            "with `ddx index build`; an unchanged corpus is never re-embedded."
        )
