"""k nearest solved cases by embedding: the examples of the ``fewshot-knn`` strategy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from agent.free_text import TextEncoder, default_encoder


@dataclass(frozen=True)
class SolvedCase:
    case_id: str
    text: str
    diagnosis: str


class SolvedCasePool:
    """Solved cases, embedded once; :meth:`nearest` excludes the case being solved."""

    def __init__(self, cases: Sequence[SolvedCase], encoder: TextEncoder | None = None) -> None:
        self.cases = list(cases)
        self._encoder = encoder or default_encoder()
        self._vectors = self._encoder([case.text for case in self.cases]) if self.cases else None

    def nearest(self, text: str, k: int, exclude: str | None = None) -> list[SolvedCase]:
        if self._vectors is None or k <= 0:
            return []
        scores = self._vectors @ self._encoder([text])[0]
        order = np.argsort(-scores, kind="stable")
        picked = [self.cases[i] for i in order if self.cases[i].case_id != exclude]
        return picked[:k]


def examples_text(cases: Sequence[SolvedCase], max_chars: int = 600) -> str:
    return "\n\n".join(
        f"Case {i}: {case.text[:max_chars]}\nDiagnosis: {case.diagnosis}"
        for i, case in enumerate(cases, 1)
    )
