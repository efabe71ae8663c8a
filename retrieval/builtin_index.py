"""The indexes of the built-in corpora, kept under ``<state dir>/indexes/<name>``.

``ddx index build --builtin ddxplus`` writes the DDXPlus index there; the consultation (chat,
UI, benchmark) then finds it by itself and cites it. The index is tied to the knowledge base it
was generated from: when the release files change, loading refuses it and says to rebuild.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from retrieval.chunking import ChunkSettings, chunk_documents
from retrieval.corpus import corpus_hash
from retrieval.ddxplus_corpus import ddxplus_pages
from retrieval.ddxplus_kb import KnowledgeBase
from retrieval.documents import Document
from retrieval.embeddings import load_encoder
from retrieval.index import BuildOutcome, BuildSettings, KnowledgeIndex, build_index
from retrieval.knowledge_retriever import KnowledgeRetriever

if TYPE_CHECKING:
    from retrieval.hpo_kb import HpoKnowledgeBase

DDXPLUS = "ddxplus"
HPO = "hpo"
BUILTIN_CHUNKING = ChunkSettings()


def index_root_of(state_dir: Path) -> Path:
    """Where the built-in corpora's indexes live: ``<state dir>/indexes``."""
    return state_dir / "indexes"


def builtin_index_dir(index_root: Path, name: str) -> Path:
    return index_root / name


def ddxplus_documents(kb: KnowledgeBase) -> list[Document]:
    """The DDXPlus pages as indexed (chunked like every corpus)."""
    return list(chunk_documents(ddxplus_pages(kb), BUILTIN_CHUNKING))


def hpo_documents(kb: HpoKnowledgeBase) -> list[Document]:
    """The HPO disease pages (one per disease, phenotypes with frequencies) as indexed."""
    from retrieval.hpo_corpus import hpo_pages  # scipy, only for the HPO corpus

    return list(chunk_documents(hpo_pages(kb), BUILTIN_CHUNKING))


def build_ddxplus_index(
    kb: KnowledgeBase, index_root: Path, *, model: str | None = None, progress: bool = True
) -> BuildOutcome:
    encoder = load_encoder(model)
    return build_index(
        ddxplus_documents(kb),
        builtin_index_dir(index_root, DDXPLUS),
        settings=BuildSettings(model=encoder.name),
        encoder=encoder,
        progress=progress,
    )


def load_ddxplus_retriever(
    kb: KnowledgeBase, index_root: Path, *, model: str | None = None, leaders: int = 3
) -> KnowledgeRetriever:
    """The retrieval agent over the built-in DDXPlus index; IndexNotFoundError when it was
    never built, IndexMismatchError when it was built from other release files or (given
    ``model``) with another model. Without ``model`` the model the index was built with is
    loaded (none for a BM25-only index)."""
    from retrieval.index.manifest import read_manifest

    directory = builtin_index_dir(index_root, DDXPLUS)
    built = read_manifest(directory).settings  # cheap check first: no model load without one
    index = KnowledgeIndex.load(
        directory,
        encoder=load_encoder(model or built.model) if built.has_dense else None,
        expected_corpus_hash=corpus_hash(ddxplus_documents(kb)),
    )
    return KnowledgeRetriever(index, kb, leaders=leaders)


def ddxplus_retriever_if_built(
    kb: KnowledgeBase, index_root: Path, warn: Callable[[str], None]
) -> KnowledgeRetriever | None:
    """The retrieval agent over the built-in DDXPlus index when it was built for this
    knowledge base; None (saying why through ``warn``) otherwise, so that a consultation runs
    without citations rather than failing. Front ends (chat, UI, benchmark) share this."""
    from agent.errors import DdxError
    from retrieval.index import IndexNotFoundError

    try:
        return load_ddxplus_retriever(kb, index_root)
    except IndexNotFoundError:
        warn("no knowledge index yet: run `ddx index build --builtin ddxplus` to cite sources")
    except DdxError as exc:
        warn(f"knowledge index not used: {exc}")
    return None
