"""The lexical half: BM25 with ``bm25s`` (sparse pre-computed scores, fast on CPU).

Texts are tokenized by the caller's :class:`~retrieval.index.tokenizers.Tokenizer`, so the same
index serves English (stemmed words) and Chinese (jieba words) alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agent.errors import DataFormatError
from retrieval.index.manifest import BuildSettings
from retrieval.index.tokenizers import Tokenizer


class LexicalIndex:
    """A bm25s index plus the tokenizer its vocabulary was built with."""

    def __init__(self, model: Any, tokenizer: Tokenizer) -> None:
        self._model = model
        self._tokenizer = tokenizer
        self._vocab: dict[str, int] = dict(model.vocab_dict)

    @classmethod
    def build(
        cls, texts: Sequence[str], tokenizer: Tokenizer, settings: BuildSettings
    ) -> LexicalIndex:
        import bm25s

        model = bm25s.BM25(k1=settings.bm25_k1, b=settings.bm25_b, method=settings.bm25_method)
        model.index([tokenizer(text) for text in texts], show_progress=False)
        return cls(model, tokenizer)

    @classmethod
    def load(cls, directory: Path, tokenizer: Tokenizer) -> LexicalIndex:
        import bm25s

        try:
            model = bm25s.BM25.load(str(directory), show_progress=False)
        except (OSError, ValueError) as exc:
            raise DataFormatError(f"{directory} is not a readable BM25 index: {exc}") from None
        return cls(model, tokenizer)

    def save(self, directory: Path) -> None:
        self._model.save(str(directory), show_progress=False)

    def search(self, query: str, k: int) -> dict[int, float]:
        """Top ``k`` positions with a positive BM25 score for ``query``."""
        ids = [self._vocab[token] for token in self._tokenizer(query) if token in self._vocab]
        if not ids or k <= 0:
            return {}
        scores = np.asarray(self._model.get_scores_from_ids(ids))
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return {int(pos): float(scores[pos]) for pos in top if scores[pos] > 0}
