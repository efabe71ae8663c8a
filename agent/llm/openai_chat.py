"""The ``openai:<model>@<base url>`` backend: any OpenAI-compatible chat-completions server.

vLLM, Ollama (``http://127.0.0.1:11434/v1``), llama.cpp's server and hosted APIs all speak
``POST {base}/chat/completions``. Plain httpx with one pooled connection per client keeps the
harness overhead per call to a fraction of a millisecond; tenacity retries timeouts, dropped
connections, 429 and 5xx with exponential back-off. A server that stays unreachable raises one
:class:`LLMUnavailableError` naming the URL. The API key comes from the environment
(``DDX_OPENAI_API_KEY``, else ``OPENAI_API_KEY``), never from a command-line argument, and is
never logged.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
)

from agent.llm.base import ChatRequest, LLMError, LLMUnavailableError
from agent.settings import LLM_TIMEOUT_SECONDS

log = logging.getLogger(__name__)


class _TransientError(Exception):
    """A failure worth retrying: timeout, connection, 429, 5xx, an unreadable reply."""


class OpenAIChat:
    def __init__(
        self,
        model: str,
        base_url: str,
        *,
        api_key: str | None = None,
        timeout: float = LLM_TIMEOUT_SECONDS,
        attempts: int = 4,
        backoff: float = 0.5,
        max_connections: int = 64,
    ) -> None:
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.attempts = attempts
        self.deadline = 2 * timeout
        """A call and its retries give up after this: a hung server must not cost attempts ×
        timeout (4 minutes by the old defaults) per call."""
        self.backoff = backoff
        self._structured_format = True
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
        )

    @property
    def name(self) -> str:
        return f"openai:{self.model}@{self.base_url}"

    def close(self) -> None:
        self._http.close()

    def check(self) -> None:
        """Fail fast, before a batch run, when the server cannot be reached at all (any HTTP
        answer counts as reachable: not every server serves ``/models``)."""
        try:
            self._http.get("/models", timeout=5.0)
        except httpx.TransportError as exc:
            raise LLMUnavailableError(
                f"Cannot reach the LLM server at {self.base_url} ({type(exc).__name__}). "
                "Is it running? Start it, or check the URL of the openai: backend."
            ) from None

    def complete(self, request: ChatRequest) -> str:
        retrying = Retrying(
            stop=stop_after_attempt(self.attempts) | stop_after_delay(self.deadline),
            wait=wait_exponential(multiplier=self.backoff, max=8.0),
            retry=retry_if_exception_type(_TransientError),
            reraise=False,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._post(request)
        except RetryError as exc:
            cause = exc.last_attempt.exception()
            raise LLMUnavailableError(
                f"The LLM server at {self.base_url} failed {exc.last_attempt.attempt_number} "
                "time(s) "
                f"({cause}). Is it running and serving model {self.model!r}?"
            ) from None
        raise AssertionError("unreachable: Retrying either returns or raises")

    def _payload(self, request: ChatRequest) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": [m.model_dump() for m in request.messages],
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
        }
        if request.json_schema is not None and self._structured_format:
            payload["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": request.schema_name or "answer",
                    "schema": request.json_schema,
                },
            }
        return payload

    def _post(self, request: ChatRequest) -> str:
        try:
            response = self._http.post("/chat/completions", json=self._payload(request))
        except httpx.TimeoutException as exc:
            raise _TransientError(f"timed out: {type(exc).__name__}") from None
        except httpx.TransportError as exc:
            raise _TransientError(f"cannot connect: {type(exc).__name__}") from None
        status = response.status_code
        if status == 429 or status >= 500:
            raise _TransientError(f"HTTP {status}")
        if status == 400 and self._structured_format and request.json_schema is not None:
            # Some servers (older llama.cpp, some Ollama builds) reject json_schema: ask again
            # without it; the schema is in the prompt and the answer is validated anyway.
            log.warning("%s rejected response_format; continuing without it", self.base_url)
            self._structured_format = False
            raise _TransientError("HTTP 400 with response_format")
        if status in (401, 403):
            raise LLMUnavailableError(
                f"The LLM server at {self.base_url} refused the request (HTTP {status}): set "
                "DDX_OPENAI_API_KEY (or OPENAI_API_KEY) to a valid key."
            )
        if status == 404:
            # Wrong base URL (often a missing /v1) or a model the server does not serve: every
            # call would fail the same way, so it is the run's error, not one step's fallback.
            raise LLMUnavailableError(
                f"The LLM server at {self.base_url} answered HTTP 404 to /chat/completions: "
                f"check the URL (OpenAI-compatible servers usually end in /v1) and that it "
                f"serves model {self.model!r}."
            )
        if status >= 400:
            raise LLMError(f"{self.base_url} answered HTTP {status}: {response.text[:200]}")
        try:
            content = response.json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise _TransientError("reply is not a chat completion") from None
        if not isinstance(content, str):
            raise _TransientError("reply has no text content")
        return content
