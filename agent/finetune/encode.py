"""Conversations to token ids, with the loss on the assistant's turns only.

The conversation is rendered once with the tokenizer's chat template; each assistant turn's
character span is found by rendering the prefix before it (with the generation prompt) and the
prefix that includes it. Tokens whose first character lies inside an assistant span are
labelled (the turn's text and its end-of-turn token, so the model learns to stop); everything
else — system, user, template markup — is masked with -100.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agent.errors import DataFormatError
from agent.finetune.chat_data import Dialogue

IGNORE = -100


@dataclass(frozen=True)
class Encoded:
    input_ids: list[int]
    labels: list[int]

    @property
    def target_tokens(self) -> int:
        return sum(1 for label in self.labels if label != IGNORE)


def _render(tokenizer: Any, messages: Sequence[dict[str, str]], prompt: bool = False) -> str:
    return str(
        tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=prompt)
    )


def assistant_spans(tokenizer: Any, dialogue: Dialogue) -> tuple[str, list[tuple[int, int]]]:
    """The rendered conversation and the (start, end) characters of each assistant turn."""
    messages = [m.model_dump() for m in dialogue.messages]
    full = _render(tokenizer, messages)
    spans = []
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        before = _render(tokenizer, messages[:i], prompt=True) if i else ""
        upto = _render(tokenizer, messages[: i + 1])
        if not (full.startswith(upto) and upto.startswith(before)):
            raise DataFormatError(
                "The tokenizer's chat template does not render a conversation as the sum of "
                "its turns, so the assistant's tokens cannot be found; use a model whose "
                "template is prefix-stable (Llama, Qwen2, Mistral are)."
            )
        spans.append((len(before), len(upto)))
    return full, spans


def encode(tokenizer: Any, dialogue: Dialogue, max_length: int) -> Encoded:
    """Token ids and labels (assistant tokens only), truncated to ``max_length`` tokens."""
    text, spans = assistant_spans(tokenizer, dialogue)
    encoded = tokenizer(
        text,
        add_special_tokens=False,
        return_offsets_mapping=True,
        truncation=True,
        max_length=max_length,
    )
    ids = [int(t) for t in encoded["input_ids"]]
    labels = []
    for token, (start, end) in zip(ids, encoded["offset_mapping"], strict=True):
        inside = end > start and any(s <= start < e for s, e in spans)
        labels.append(token if inside else IGNORE)
    return Encoded(input_ids=ids, labels=labels)


def pad_batch(items: Sequence[Encoded], pad_id: int) -> dict[str, Any]:
    """Right-padded ``input_ids``, ``attention_mask`` and ``labels`` tensors."""
    import torch

    width = max(len(item.input_ids) for item in items)
    ids = torch.full((len(items), width), pad_id, dtype=torch.long)
    labels = torch.full((len(items), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(items), width), dtype=torch.long)
    for row, item in enumerate(items):
        n = len(item.input_ids)
        ids[row, :n] = torch.tensor(item.input_ids)
        labels[row, :n] = torch.tensor(item.labels)
        mask[row, :n] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}
