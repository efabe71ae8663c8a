"""Query vectors of one message, each text embedded once."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from agent.free_text import FloatMatrix, TextEncoder

MAX_REMEMBERED = 20_000
"""Texts whose vectors are kept (~30 MB at 384 dimensions); past that the memory starts over."""


class QueryVectors:
    """Embeds texts on demand and remembers them: a clause, its word spans and its words are
    asked for more than once, and people type the same words again ("fever", "chest")."""

    def __init__(self, encoder: TextEncoder) -> None:
        self.encoder = encoder
        self._known: dict[str, FloatMatrix] = {}

    def of(self, texts: Sequence[str]) -> FloatMatrix:
        """One unit vector per text, as rows."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._known]
        if missing:
            if len(self._known) + len(missing) > MAX_REMEMBERED:
                self._known = {}
            self._known.update(zip(missing, self.encoder(missing), strict=True))
        known = self._known
        return np.stack([known[t] for t in texts])
