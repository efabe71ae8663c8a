"""The dense half: normalised sentence embeddings in an exact FAISS inner-product index.

Exact search (``IndexFlatIP``) over 10^4–10^5 chunks costs well under a millisecond per query
on a laptop CPU and needs no training, so it is both the simplest and the right index at the
scale of a knowledge corpus.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from agent.errors import DataFormatError


class TextEncoder(Protocol):
    """What the index needs of an encoder (``retrieval.embeddings.Encoder`` is one)."""

    name: str
    dimension: int

    def encode(
        self, texts: Sequence[str], *, batch_size: int = ..., progress: bool = ...
    ) -> npt.NDArray[np.float32]: ...


class DenseIndex:
    """A FAISS inner-product index; positions are the documents' positions in the index."""

    def __init__(self, index: Any) -> None:
        self._index = index

    @classmethod
    def from_vectors(cls, vectors: npt.NDArray[np.float32]) -> DenseIndex:
        import faiss

        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return cls(index)

    @classmethod
    def load(cls, path: Path) -> DenseIndex:
        import faiss

        try:
            return cls(faiss.read_index(str(path)))
        except RuntimeError as exc:
            raise DataFormatError(f"{path} is not a readable FAISS index: {exc}") from None

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self._index, str(path))

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    @property
    def dimension(self) -> int:
        return int(self._index.d)

    def search(self, query: npt.NDArray[np.float32], k: int) -> dict[int, float]:
        """Top ``k`` positions for one (1, d) query vector, with their cosine scores."""
        k = min(k, self.size)
        if k <= 0:
            return {}
        scores, positions = self._index.search(query.reshape(1, -1), k)
        return {
            int(pos): float(score)
            for pos, score in zip(positions[0], scores[0], strict=True)
            if pos >= 0
        }
