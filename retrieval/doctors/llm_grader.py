"""DrRank's pointwise LLM grading: each candidate graded 0–4 against the need's criteria, the
score being the expected grade under the model's label probabilities.

Two ways to get the probabilities, by backend (``agent.llm``):

* ``hf:`` (a local transformers model): one forward pass; the next-token log-probabilities of
  the digits ``0``…``4`` after the prompt, renormalised over those five tokens. This is DrRank's
  expected relevance, and it separates doctors that share the most likely label.
* ``openai:`` and ``fake``: a structured answer (:class:`GradeLabel`, with a short reason) put
  through the bounded-retry structured call; its label gets probability 1.

A grading that fails (the model never produces a valid label) scores the candidate 0 and counts
it in ``failures``; it is never silently dropped. A backend that cannot be reached stops the
ranking (``LLMUnavailableError``) rather than grading every candidate 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, Field

from retrieval.doctors.criteria import CriteriaSet
from retrieval.doctors.profiles import DoctorProfile

if TYPE_CHECKING:
    from agent.llm.base import Message
    from agent.llm.client import LLMClient

LEVELS = (0, 1, 2, 3, 4)
MAX_PROFILE_CHARS = 2000

GRADING_SYSTEM = (
    "You rank doctors for a patient's need. Grade how well the doctor fits the need against "
    "the criteria, on this scale: 0 not relevant, 1 slightly relevant, 2 relevant, "
    "3 highly relevant, 4 the best fit. Judge only the profile; ignore the patient's gender "
    "and region."
)


class GradeLabel(BaseModel):
    """The structured answer of a grading call."""

    grade: int = Field(ge=0, le=4, description="0 not relevant … 4 the best fit.")
    reason: str = Field(default="", description="One sentence: which criteria the doctor meets.")


def grading_messages(need: str, criteria: CriteriaSet, profile: DoctorProfile) -> list[Message]:
    """The prompt: need, criteria, profile; the answer is a grade."""
    from agent.llm.base import Message

    listed = "\n".join(f"- {c.key}: {c.text}" for c in criteria.criteria)
    user = (
        f"Patient need: {need}\n\nCriteria:\n{listed}\n\n"
        f"Doctor profile:\n{profile.text()[:MAX_PROFILE_CHARS]}\n\n"
        "Grade (0-4):"
    )
    return [Message(role="system", content=GRADING_SYSTEM), Message(role="user", content=user)]


def expected_relevance(probabilities: Sequence[float]) -> float:
    """Σ grade × p(grade) over the five levels, after renormalising the probabilities."""
    if len(probabilities) != len(LEVELS):
        raise ValueError("one probability per level (0–4)")
    total = sum(probabilities)
    if total <= 0:
        return 0.0
    return sum(level * p for level, p in zip(LEVELS, probabilities, strict=True)) / total


class LabelDistribution(Protocol):
    """Probabilities of the five grades for one grading prompt (and the model's reason for
    the last one, when it wrote one)."""

    name: str
    last_reason: str

    def distribution(self, messages: Sequence[Message]) -> list[float]: ...


class TokenLogprobDistribution:
    """Next-token probabilities of the digits 0–4 from a local transformers model (``hf:``)."""

    def __init__(self, model: Any, tokenizer: Any, name: str, device: str = "cpu") -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.name = name
        self.device = device
        self.last_reason = ""  # one forward pass: no written reason
        self.level_tokens = [self._single_token(str(level)) for level in LEVELS]

    def _single_token(self, digit: str) -> int:
        ids = self.tokenizer.encode(digit, add_special_tokens=False)
        if not ids:
            raise ValueError(f"the tokenizer cannot encode {digit!r}")
        return int(ids[-1])

    def distribution(self, messages: Sequence[Message]) -> list[float]:
        import torch

        chat = [m.model_dump() for m in messages]
        prompt = self.tokenizer.apply_chat_template(
            chat, tokenize=False, add_generation_prompt=True
        )
        inputs = self.tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
        inputs = {key: value.to(self.device) for key, value in inputs.items()}
        with torch.inference_mode():
            logits = self.model(**inputs).logits[0, -1]
        chosen = torch.log_softmax(logits.float(), dim=-1)[self.level_tokens]
        return [float(p) for p in torch.softmax(chosen, dim=-1)]


class StructuredLabelDistribution:
    """A structured grade from any chat backend (``openai:``, ``fake``): probability 1 on it."""

    def __init__(self, client: LLMClient) -> None:
        self.client = client
        self.name = client.name
        self.last_reason = ""

    def distribution(self, messages: Sequence[Message]) -> list[float]:
        from agent.llm.structured import generate_structured

        label = generate_structured(self.client, messages, GradeLabel, max_tokens=128)
        self.last_reason = label.reason
        return [1.0 if level == label.grade else 0.0 for level in LEVELS]


class LlmGrader:
    """The ``llm`` ranker: expected grade of every candidate (one call per candidate)."""

    name = "llm"

    def __init__(self, labels: LabelDistribution) -> None:
        self.labels = labels
        self.failures = 0
        self.reasons: dict[str, str] = {}
        """Profile id → the model's written reason for its grade (structured backends)."""

    def reason_for(self, profile_id: str) -> str:
        return self.reasons.get(profile_id, "")

    def score(
        self, need: str, candidates: Sequence[DoctorProfile], criteria: CriteriaSet
    ) -> list[float]:
        from agent.llm.base import LLMError, LLMUnavailableError

        scores = []
        for profile in candidates:
            try:
                probabilities = self.labels.distribution(grading_messages(need, criteria, profile))
                self.reasons[profile.id] = self.labels.last_reason
            except LLMUnavailableError:
                raise  # a server that is down would grade every doctor 0: stop, say so
            except LLMError:
                self.failures += 1
                probabilities = [1.0, 0.0, 0.0, 0.0, 0.0]
                self.reasons[profile.id] = "no valid grade from the model"
            value = expected_relevance(probabilities)
            scores.append(value if math.isfinite(value) else 0.0)
        return scores


def client_for(backend: str) -> LLMClient:
    """A cached, retrying client for a chat backend string (``openai:…``, ``fake``, ``hf:…``)."""
    from agent.backend_spec import parse_backend
    from agent.errors import SettingsError
    from agent.llm.cache import LLMCache
    from agent.llm.client import LLMClient
    from agent.llm.factory import build_chat
    from agent.settings import load_settings

    spec = parse_backend(backend)
    if not spec.is_llm:
        raise SettingsError("This needs an LLM backend (hf:…, openai:…), not 'kb'.")
    settings = load_settings()
    return LLMClient(
        build_chat(spec, settings),
        cache=LLMCache(settings.llm_cache_folder),
        max_tokens=settings.llm_max_tokens,
        format_retries=settings.llm_format_retries,
    )


def grader_from_backend(backend: str) -> LlmGrader:
    """The LLM grader over a backend string: digit log-probs for ``hf:``, a structured label
    otherwise."""
    client = client_for(backend)
    from agent.llm.hf_chat import HFChat

    chat = client.chat
    if isinstance(chat, HFChat):
        return LlmGrader(
            TokenLogprobDistribution(chat.model, chat.tokenizer, chat.name, chat.device)
        )
    return LlmGrader(StructuredLabelDistribution(client))
