"""Knowledge indexes: dense (FAISS), lexical (BM25) and their fusion, in one directory.

Build with :func:`build_index` (atomic, resumable, reused when nothing changed) and query with
:class:`KnowledgeIndex` (``load`` refuses another model, tokenizer or corpus).
"""

from retrieval.index.build import BuildOutcome, build_index
from retrieval.index.knowledge_index import Hit, KnowledgeIndex, Method
from retrieval.index.manifest import (
    BuildSettings,
    IndexManifest,
    IndexMismatchError,
    IndexNotFoundError,
)
from retrieval.index.tokenizers import NamedTokenizer, Tokenizer, tokenizer_named

__all__ = [
    "BuildOutcome",
    "BuildSettings",
    "Hit",
    "IndexManifest",
    "IndexMismatchError",
    "IndexNotFoundError",
    "KnowledgeIndex",
    "Method",
    "NamedTokenizer",
    "Tokenizer",
    "build_index",
    "tokenizer_named",
]
