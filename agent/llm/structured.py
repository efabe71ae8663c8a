"""Structured output: ask for a pydantic model, validate, retry with the error fed back.

The schema goes to the server as ``response_format`` (servers that support it constrain
decoding) and into the prompt (for those that do not, and for local models). An answer that does
not parse or validate is shown back to the model with the validation error, a bounded number of
times; then :class:`StructuredOutputError` is raised and logged, and the caller falls back to
the embedded engine for that step. Never an empty result in place of an answer.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from functools import cache
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from agent.llm.base import (
    ChatRequest,
    LLMError,
    LLMUnavailableError,
    Message,
    StructuredOutputError,
)
from agent.llm.client import LLMClient

log = logging.getLogger(__name__)

ModelT = TypeVar("ModelT", bound=BaseModel)

_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.S)
MAX_ECHO = 1500


@cache
def json_schema_of(schema: type[BaseModel]) -> dict[str, Any]:
    """The schema's JSON schema, built once (pydantic takes milliseconds to build it)."""
    return schema.model_json_schema()


@cache
def schema_instruction(schema: type[BaseModel]) -> str:
    return (
        "Reply with only one JSON object, no other text, that fits this JSON schema:\n"
        + json.dumps(json_schema_of(schema), separators=(",", ":"))
    )


def extract_json(text: str) -> str:
    """The JSON object in a reply: inside a code fence, or from the first '{' to the last '}'."""
    fenced = _FENCE.search(text)
    body = fenced.group(1) if fenced else text
    start, end = body.find("{"), body.rfind("}")
    return body[start : end + 1] if 0 <= start < end else body.strip()


def _problem(exc: Exception) -> str:
    """The error without the input it quotes (the input may hold patient text)."""
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'answer'}: {err['msg']}"
            for err in exc.errors()[:5]
        )
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON ({exc.msg} at position {exc.pos})"
    return type(exc).__name__


def parse_reply(text: str, schema: type[ModelT]) -> ModelT:
    """Parse one reply; raises ValueError (JSONDecodeError or ValidationError) when it does not
    fit."""
    return schema.model_validate(json.loads(extract_json(text)))


def generate_structured(
    client: LLMClient,
    messages: Sequence[Message],
    schema: type[ModelT],
    *,
    retries: int | None = None,
    max_tokens: int | None = None,
) -> ModelT:
    """Ask until the answer fits ``schema`` (1 + retries attempts), else raise."""
    budget = client.format_retries if retries is None else retries
    conversation = list(messages)
    instruction = schema_instruction(schema)
    if conversation and conversation[-1].role == "user":
        last = conversation[-1]
        conversation[-1] = Message(role="user", content=f"{last.content}\n\n{instruction}")
    else:
        conversation.append(Message(role="user", content=instruction))
    problem = ""
    for attempt in range(1, budget + 2):
        request = ChatRequest(
            messages=tuple(conversation),
            schema_name=schema.__name__,
            json_schema=json_schema_of(schema),
            max_tokens=max_tokens or client.max_tokens,
        )
        reply = client.complete(request)
        try:
            return parse_reply(reply, schema)
        except ValueError as exc:
            client.count_invalid()
            problem = _problem(exc)
            log.info("%s: invalid answer (attempt %d): %s", schema.__name__, attempt, problem)
            conversation += [
                Message(role="assistant", content=reply[:MAX_ECHO]),
                Message(
                    role="user",
                    content=f"That answer is invalid: {problem}. Reply again with only the "
                    "JSON object.",
                ),
            ]
    log.warning("%s: giving up after %d attempts: %s", schema.__name__, budget + 1, problem)
    raise StructuredOutputError(schema.__name__, budget + 1, problem)


def generate_text(
    client: LLMClient, messages: Sequence[Message], *, max_tokens: int | None = None
) -> str:
    """A free-text answer (the patient's replies): stripped, never empty."""
    reply = client.complete(
        ChatRequest(messages=tuple(messages), max_tokens=max_tokens or client.max_tokens)
    ).strip()
    return reply or "I don't know."


def ask_or_none(
    client: LLMClient, system: str, user: str, schema: type[ModelT], *, step: str
) -> ModelT | None:
    """One structured step with its fallback made explicit: the answer, or None once the
    retries ran out — logged with ``step`` and counted as a fallback, so the caller's
    replacement (the engine's move, a default) is never silent. A server that is down
    (:class:`~agent.llm.base.LLMUnavailableError`) propagates: that is the run's error."""
    try:
        return generate_structured(
            client,
            [Message(role="system", content=system), Message(role="user", content=user)],
            schema,
        )
    except LLMUnavailableError:
        raise
    except LLMError as exc:
        log.warning("%s: %s; falling back", step, exc)
        client.count_fallback()
        return None
