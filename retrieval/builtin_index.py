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


def load_builtin_retriever(
    name: str,
    documents: Callable[[], list[Document]],
    index_root: Path,
    *,
    kb: KnowledgeBase | None = None,
    model: str | None = None,
) -> KnowledgeRetriever:
    """The retrieval agent over a built-in index (``name``: ddxplus or hpo) of ``documents()``
    (made only once the index is found: the HPO pages take seconds);
    IndexNotFoundError when it was never built, IndexMismatchError when it was built from other
    release files or (given ``model``) with another model. Without ``model`` the model the
    index was built with is loaded (none for a BM25-only index)."""
    from retrieval.index.manifest import read_manifest

    directory = builtin_index_dir(index_root, name)
    built = read_manifest(directory).settings  # cheap check first: no model load without one
    index = KnowledgeIndex.load(
        directory,
        encoder=load_encoder(model or built.model) if built.has_dense else None,
        expected_corpus_hash=corpus_hash(documents()),
    )
    return KnowledgeRetriever(index, kb)


def load_ddxplus_retriever(
    kb: KnowledgeBase, index_root: Path, *, model: str | None = None
) -> KnowledgeRetriever:
    """The retrieval agent over the built-in DDXPlus index (see :func:`load_builtin_retriever`);
    its queries add the findings that separate the leaders."""
    return load_builtin_retriever(
        DDXPLUS, lambda: ddxplus_documents(kb), index_root, kb=kb, model=model
    )


def retriever_if_built(
    load: Callable[[], KnowledgeRetriever], name: str, warn: Callable[[str], None]
) -> KnowledgeRetriever | None:
    """``load()``'s retrieval agent over the built-in index ``name`` when it was built for
    this knowledge base; None (saying why through ``warn``) otherwise, so that a consultation
    runs without citations rather than failing. Front ends and benchmarks share this."""
    from agent.errors import DdxError
    from retrieval.index import IndexNotFoundError

    try:
        return load()
    except IndexNotFoundError:
        warn(f"no knowledge index yet: run `ddx index build --builtin {name}` to cite sources")
    except DdxError as exc:
        warn(f"knowledge index not used: {exc}")
    return None


def ddxplus_retriever_if_built(
    kb: KnowledgeBase, index_root: Path, warn: Callable[[str], None]
) -> KnowledgeRetriever | None:
    """The built-in DDXPlus retrieval agent, or None with a hint (:func:`retriever_if_built`)."""
    return retriever_if_built(lambda: load_ddxplus_retriever(kb, index_root), DDXPLUS, warn)


def hpo_retriever_if_built(
    kb: HpoKnowledgeBase, index_root: Path, warn: Callable[[str], None]
) -> KnowledgeRetriever | None:
    """The built-in HPO retrieval agent (one page per rare disease, queried by the leading
    diseases' names), or None with a hint (:func:`retriever_if_built`)."""
    return retriever_if_built(lambda: load_hpo_retriever(kb, index_root), HPO, warn)


def load_hpo_retriever(kb: HpoKnowledgeBase, index_root: Path) -> KnowledgeRetriever:
    """The retrieval agent over the built-in HPO index (see :func:`load_builtin_retriever`)."""
    return load_builtin_retriever(HPO, lambda: hpo_documents(kb), index_root)
