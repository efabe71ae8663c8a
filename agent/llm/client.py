"""The client every LLM role calls: a backend, the on-disk cache, and the call counters.

Counters are kept per client (the whole run) and per case: a benchmark case runs in one
thread, and :func:`case_meter` binds a fresh :class:`CallStats` to that thread's context for
the case's duration, so concurrent cases never mix their counts.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from agent.llm.base import ChatModel, ChatRequest
from agent.llm.cache import LLMCache


@dataclass
class CallStats:
    llm_calls: int = 0
    """Requests the roles made (answered by the model or from the cache)."""
    cache_hits: int = 0
    invalid_outputs: int = 0
    """Answers that did not fit their schema (each one was retried or fell back)."""
    fallbacks: int = 0
    """Steps handed to the embedded engine (or a default) after the retries ran out."""

    def add(self, other: CallStats) -> None:
        self.llm_calls += other.llm_calls
        self.cache_hits += other.cache_hits
        self.invalid_outputs += other.invalid_outputs
        self.fallbacks += other.fallbacks


_case_stats: contextvars.ContextVar[CallStats | None] = contextvars.ContextVar(
    "ddx_case_llm_stats", default=None
)


@contextmanager
def case_meter() -> Iterator[CallStats]:
    """Count the LLM calls made in this thread until the block ends."""
    stats = CallStats()
    token = _case_stats.set(stats)
    try:
        yield stats
    finally:
        _case_stats.reset(token)


class LLMClient:
    """One backend behind the cache; thread-safe, shared by every role that uses it."""

    def __init__(
        self,
        chat: ChatModel,
        *,
        cache: LLMCache | None = None,
        max_tokens: int = 512,
        format_retries: int = 2,
    ) -> None:
        self.chat = chat
        self.cache = cache
        self.max_tokens = max_tokens
        self.format_retries = format_retries
        self.stats = CallStats()
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.chat.name

    def complete(self, request: ChatRequest) -> str:
        key = request.cache_key(self.chat.name) if self.cache is not None else ""
        cached = self.cache.get(key) if self.cache is not None else None
        self._count(llm_calls=1, cache_hits=int(cached is not None))
        if cached is not None:
            return cached
        reply = self.chat.complete(request)
        if self.cache is not None:
            self.cache.put(key, self.chat.name, reply)
        return reply

    def count_invalid(self) -> None:
        self._count(invalid_outputs=1)

    def count_fallback(self) -> None:
        self._count(fallbacks=1)

    def _count(self, **increments: int) -> None:
        delta = CallStats(**increments)
        with self._lock:
            self.stats.add(delta)
        case = _case_stats.get()
        if case is not None:
            case.add(delta)
