"""Cutting long documents into overlapping chunks the encoder can read whole.

Sentence-transformers models read a bounded number of word pieces (256 for all-MiniLM-L6-v2)
and silently drop the rest, so a long page is cut into windows of ``max_words`` words, each
sharing ``overlap_words`` with the previous one so that a statement cut at a border is whole in
one of them. Windows keep the original text between their first and last word (line breaks and
Markdown survive). A chunk's id is ``<document id>#<n>`` and its ``part_of`` names the document.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from pydantic import BaseModel, ConfigDict, Field, model_validator

from retrieval.documents import Document

_WORD = re.compile(r"\S+")


class ChunkSettings(BaseModel):
    """How documents are cut; stored in the index manifest (a change means a rebuild)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_words: int = Field(default=180, ge=8, description="Words per chunk at most.")
    overlap_words: int = Field(default=40, ge=0, description="Words shared by adjacent chunks.")

    @model_validator(mode="after")
    def _overlap_smaller(self) -> ChunkSettings:
        if self.overlap_words >= self.max_words:
            raise ValueError("overlap_words must be smaller than max_words")
        return self


def chunk_text(text: str, settings: ChunkSettings) -> list[str]:
    """``text`` as overlapping windows of words (one window when it is short enough)."""
    spans = [match.span() for match in _WORD.finditer(text)]
    if len(spans) <= settings.max_words:
        return [text.strip()] if spans else []
    step = settings.max_words - settings.overlap_words
    chunks: list[str] = []
    start = 0
    while True:
        end = min(start + settings.max_words, len(spans))
        chunks.append(text[spans[start][0] : spans[end - 1][1]])
        if end == len(spans):
            return chunks
        start += step


def chunk_document(document: Document, settings: ChunkSettings) -> list[Document]:
    """The document itself when short, else its chunks (the title repeated on each)."""
    pieces = chunk_text(document.text, settings)
    if len(pieces) <= 1:
        return [document]
    return [
        document.model_copy(
            update={"id": f"{document.id}#{n}", "text": piece, "part_of": document.id}
        )
        for n, piece in enumerate(pieces, start=1)
    ]


def chunk_documents(documents: Iterable[Document], settings: ChunkSettings) -> Iterator[Document]:
    for document in documents:
        yield from chunk_document(document, settings)
