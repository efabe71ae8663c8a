"""Query vectors of one message, each text embedded once."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from agent.free_text import FloatMatrix, TextEncoder


class QueryVectors:
    """Embeds the texts of one message on demand and remembers them (a clause, its word spans
    and its words are often asked for more than once)."""

    def __init__(self, encoder: TextEncoder) -> None:
        self.encoder = encoder
        self._known: dict[str, FloatMatrix] = {}

    def of(self, texts: Sequence[str]) -> FloatMatrix:
        """One unit vector per text, as rows."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._known]
        if missing:
            self._known.update(zip(missing, self.encoder(missing), strict=True))
        return np.stack([self._known[t] for t in texts])
