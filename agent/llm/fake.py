"""The ``fake`` backend: scripted answers for tests and for checking the plumbing.

``fake`` answers every structured request with the deferring answer of its schema (hand the
step back to the engine) and every free-text request with "I don't know." — so hybrid mode over
``fake`` must reproduce the embedded engine's figures exactly. ``fake:<file.jsonl>`` plays the
replies of a file in order (one JSON string per line), and tests pass any responder function.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from agent.errors import DataFormatError
from agent.llm.base import ChatRequest, LLMError
from agent.llm.schemas import DEFERRING

Responder = Callable[[ChatRequest], str]

UNKNOWN_REPLY = "I don't know."


def deferring_reply(request: ChatRequest) -> str:
    """The engine-deferring answer for structured requests; "I don't know." otherwise."""
    if request.schema_name is None:
        return UNKNOWN_REPLY
    deferring = DEFERRING.get(request.schema_name)
    if deferring is None:
        return "{}"  # no deferring form: an invalid answer, so the caller's fallback runs
    return deferring.model_dump_json()


class FakeChat:
    """A chat model whose answers come from a responder or a script of replies."""

    def __init__(
        self, responder: Responder | Iterable[str] | None = None, name: str = "fake"
    ) -> None:
        self._name = name
        self._lock = threading.Lock()
        self.requests: list[ChatRequest] = []
        if responder is None:
            self._responder: Responder = deferring_reply
        elif callable(responder):
            self._responder = responder
        else:
            script = iter(list(responder))

            def play(request: ChatRequest) -> str:
                try:
                    return next(script)
                except StopIteration:
                    raise LLMError("the fake backend's script has no more replies") from None

            self._responder = play

    @property
    def name(self) -> str:
        return self._name

    def complete(self, request: ChatRequest) -> str:
        with self._lock:
            self.requests.append(request)
            return self._responder(request)


def load_script(path: Path) -> FakeChat:
    """``fake:<file>``: one JSON string per line, played in order."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DataFormatError(f"Cannot read the fake backend's replies {path}: {exc}") from None
    replies: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            reply = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataFormatError(f"{path}, line {number}: not JSON ({exc}).") from None
        replies.append(reply if isinstance(reply, str) else json.dumps(reply))
    return FakeChat(replies, name=f"fake:{path}")
