"""What every posterior-based reasoner shares: scores turned into a posterior, its entropy, its
leaders, the ranked differential the graph receives, and the diagnoser that keeps its last one.

Both embedded reasoners score every condition on a log scale — DDXPlus the log joint of its
naive-Bayes model, HPO summed log likelihood ratios and information content — and differ only in
how they score and in what a posterior depends on. The rest is here, once:

* :func:`softmax` turns log scores into probabilities (a temperature for over-confident scores);
* :func:`entropy_bits` and :func:`binary_entropy_bits` measure what a question could tell;
* :func:`leading` finds the ``k`` most probable without sorting thousands of diseases;
* :class:`PosteriorDiagnoser` is the diagnoser role's scaffolding: the driver asks the diagnoser
  and then the history taker about the same findings, so the last posterior is kept
  (:class:`LastResult`), and a reasoner may extend the last scores instead of starting afresh.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

from agent.reasoners.arrays import FloatArray, IndexArray
from agent.roles import ConsultationView, RankedCondition

KeyT = TypeVar("KeyT", bound=Hashable)
ValueT = TypeVar("ValueT")


def softmax(log_scores: FloatArray, temperature: float = 1.0) -> FloatArray:
    """exp(scores / temperature), normalised; the largest score is subtracted first, so a
    posterior of very unlikely findings does not underflow to 0 / 0."""
    shifted = log_scores - log_scores.max()
    if temperature != 1.0:
        shifted = shifted / temperature
    weights = np.exp(shifted)
    return np.asarray(weights / weights.sum(), dtype=np.float64)


def entropy_bits(p: FloatArray, axis: int = 0) -> FloatArray:
    """Shannon entropy in bits along ``axis`` (0·log 0 = 0)."""
    safe = np.where(p > 0, p, 1.0)
    return np.asarray(-(p * np.log2(safe)).sum(axis=axis))


def binary_entropy_bits(p: FloatArray) -> FloatArray:
    """Entropy in bits of yes-with-probability-``p``, elementwise (``p`` kept off 0 and 1)."""
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return entropy_bits(np.stack([p, 1 - p]), axis=0)


def leading(values: FloatArray, k: int) -> IndexArray:
    """Indices of the ``k`` largest values, largest first (ties by index), without sorting
    all of them: ``argsort`` of ~12,000 diseases on every step of a consultation is a
    measurable cost."""
    if k >= len(values):
        return np.argsort(-values, kind="stable")
    part = np.argpartition(-values, k - 1)[:k]
    return part[np.lexsort((part, -values[part]))]


@dataclass(frozen=True)
class Posterior:
    """A posterior with the log scores it came from (a reasoner may add to them later)."""

    log_scores: FloatArray
    probabilities: FloatArray

    @classmethod
    def from_scores(cls, log_scores: FloatArray, temperature: float = 1.0) -> Posterior:
        return cls(log_scores, softmax(log_scores, temperature))


class LastResult(Generic[KeyT, ValueT]):
    """The value last computed, kept with the key it was computed for.

    ``compute`` receives the previous (key, value), or None: what changed since may be cheaper
    to add than the whole (one answer more adds one finding's weight).
    """

    def __init__(self) -> None:
        self._last: tuple[KeyT, ValueT] | None = None

    def get(self, key: KeyT, compute: Callable[[tuple[KeyT, ValueT] | None], ValueT]) -> ValueT:
        last = self._last
        if last is not None and last[0] == key:
            return last[1]
        value = compute(last)
        self._last = (key, value)
        return value


class PosteriorDiagnoser(ABC, Generic[KeyT]):
    """The diagnoser role over a posterior: ranking, the ranked differential, the kept posterior.

    A reasoner says what its posterior depends on (:meth:`posterior_key`) and how it scores
    (:meth:`log_scores`); its explanations stay its own (``explain``).
    """

    temperature: float = 1.0
    """Scores are divided by this before the softmax (1: they are log-likelihoods)."""
    listed: int | None = None
    """The differential lists this many conditions (None: all of them)."""

    def __init__(self, condition_names: Sequence[str]) -> None:
        self.condition_names = condition_names
        self._last: LastResult[KeyT, Posterior] = LastResult()

    @abstractmethod
    def posterior_key(self, view: ConsultationView) -> KeyT:
        """What the posterior depends on: equal keys, equal posteriors."""

    @abstractmethod
    def log_scores(self, view: ConsultationView, last: tuple[KeyT, Posterior] | None) -> FloatArray:
        """Every condition's score (log scale) for the view; ``last``: the posterior kept."""

    def posterior(self, view: ConsultationView) -> FloatArray:
        """P(condition | what the view knows), kept for the next call on the same key."""
        return self._last.get(
            self.posterior_key(view),
            lambda last: Posterior.from_scores(self.log_scores(view, last), self.temperature),
        ).probabilities

    def ranking(self, view: ConsultationView) -> list[tuple[str, float]]:
        """The listed conditions with their posterior, most probable first (ties by order)."""
        probabilities = self.posterior(view)
        order = leading(probabilities, self.listed or len(probabilities))
        names = self.condition_names
        return [
            (names[i], p)
            for i, p in zip(order.tolist(), probabilities[order].tolist(), strict=True)
        ]

    def diagnose(self, view: ConsultationView) -> list[RankedCondition]:
        # Values come straight from the posterior (valid by construction): no re-validation.
        return [
            RankedCondition.model_construct(name=name, probability=p)
            for name, p in self.ranking(view)
        ]
