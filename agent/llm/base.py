"""What every backend exchanges: chat messages in, text out, and the errors on the way."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from agent.errors import DdxError

Role = Literal["system", "user", "assistant"]


class Message(BaseModel):
    model_config = ConfigDict(frozen=True)

    role: Role
    content: str


class ChatRequest(BaseModel):
    """One call to a chat model. Its JSON form (with the backend's name) is the cache key."""

    model_config = ConfigDict(frozen=True)

    messages: tuple[Message, ...]
    schema_name: str | None = Field(
        default=None, description="Name of the pydantic model the answer must fit, if any."
    )
    json_schema: dict[str, Any] | None = Field(
        default=None, description="JSON schema of that model (sent as response_format)."
    )
    temperature: float = 0.0
    max_tokens: int = 512

    def cache_key(self, backend: str) -> str:
        payload = json.dumps(
            {"backend": backend, "request": self.model_dump(mode="json")},
            sort_keys=True,
            ensure_ascii=False,
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class ChatModel(Protocol):
    """A backend: turns one request into the model's raw text answer."""

    @property
    def name(self) -> str:
        """Identifies the model (and adapter) for the cache: same name, same answers."""
        ...

    def complete(self, request: ChatRequest) -> str: ...


class LLMError(Exception):
    """A model call failed (transient errors are retried before this is raised)."""


class LLMUnavailableError(LLMError, DdxError):
    """The server cannot be reached or keeps failing: one clear message, no traceback."""


class StructuredOutputError(LLMError):
    """The model's answers never fitted the schema within the retry budget."""

    def __init__(self, schema: str, attempts: int, last_error: str) -> None:
        super().__init__(
            f"{schema}: no valid answer after {attempts} attempt(s); last error: {last_error}"
        )
        self.schema = schema
        self.attempts = attempts
        self.last_error = last_error
