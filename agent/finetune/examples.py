"""The training examples of a fine-tuning run: conversations read and encoded, the micro-batch
order, and the loss over the assistant tokens (what training minimises and the report shows).

The micro-batches of step ``s`` are a function of (seed, s) only (:class:`BatchPlan`), so a
run resumed from a checkpoint takes exactly the batches an uninterrupted run would have taken.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.errors import DataFormatError
from agent.finetune.chat_data import DialogueLoad, require_dialogues
from agent.finetune.encode import IGNORE, Encoded, encode, pad_batch


@dataclass
class BatchPlan:
    """Micro-batch ``k`` of the endless stream of shuffled epochs (a function of k and seed)."""

    records: int
    batch_size: int
    seed: int
    _epoch: int = -1
    _order: list[int] = field(default_factory=list)

    @property
    def per_epoch(self) -> int:
        return math.ceil(self.records / self.batch_size)

    def micro_batch(self, k: int) -> list[int]:
        epoch, position = divmod(k, self.per_epoch)
        if epoch != self._epoch:
            self._order = list(range(self.records))
            random.Random(f"order:{self.seed}:{epoch}").shuffle(self._order)
            self._epoch = epoch
        return self._order[position * self.batch_size : (position + 1) * self.batch_size]


@dataclass(frozen=True)
class Examples:
    """Encoded conversations on one device, padded into batches on demand."""

    items: list[Encoded]
    pad_id: int
    device: Any

    def __len__(self) -> int:
        return len(self.items)

    def padded(self, indices: Sequence[int]) -> dict[str, Any]:
        batch = pad_batch([self.items[i] for i in indices], self.pad_id)
        return {k: v.to(self.device) for k, v in batch.items()}

    def labelled(self, indices: Sequence[int]) -> int:
        """Labelled tokens of these examples (what a loss is averaged over)."""
        return sum(labelled(self.items[i]) for i in indices)

    def tokens(self, indices: Sequence[int]) -> int:
        """Tokens of these examples, padding aside (the throughput's count)."""
        return sum(len(self.items[i].input_ids) for i in indices)


def labelled(item: Encoded) -> int:
    """Labelled tokens that the shifted loss counts (the first token has no predecessor)."""
    return sum(1 for label in item.labels[1:] if label != IGNORE)


def load_dialogues(path: Path, warn: Callable[[str], None]) -> DialogueLoad:
    """The conversations of ``path``; each skipped line is told to ``warn``."""
    loaded = require_dialogues(path)
    for problem in loaded.problems():
        warn(f"{path.name} {problem}")
    return loaded


def encode_dialogues(
    path: Path, loaded: DialogueLoad, tokenizer: Any, max_length: int, warn: Callable[[str], None]
) -> list[Encoded]:
    """The conversations that keep an assistant token within ``max_length`` (DataFormatError
    when none does: there would be nothing to learn)."""
    encoded = [encode(tokenizer, d, max_length) for d in loaded.dialogues]
    examples = [e for e in encoded if labelled(e) > 0]
    if len(examples) < len(encoded):
        warn(
            f"{path.name}: {len(encoded) - len(examples)} conversation(s) have no assistant "
            f"token within max_length={max_length}; skipped"
        )
    if not examples:
        raise DataFormatError(f"{path}: no conversation has assistant tokens to learn.")
    return examples


def token_loss_sum(model: Any, batch: dict[str, Any]) -> Any:
    """Summed cross-entropy over the labelled (assistant) tokens, next-token shifted."""
    import torch

    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    shifted = logits[:, :-1, :].reshape(-1, logits.shape[-1]).float()
    targets = batch["labels"][:, 1:].reshape(-1)
    return torch.nn.functional.cross_entropy(shifted, targets, ignore_index=IGNORE, reduction="sum")


def mean_token_loss(model: Any, batch: dict[str, Any]) -> Any:
    """Loss per labelled token of one batch (what module selection scores with)."""
    return token_loss_sum(model, batch) / max(1, int((batch["labels"][:, 1:] != IGNORE).sum()))


def mean_loss(model: Any, examples: Examples, batch_size: int = 4) -> float:
    """Mean loss per assistant token of ``examples`` (no gradient; dropout off)."""
    import torch

    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(examples), batch_size):
            indices = range(start, min(start + batch_size, len(examples)))
            total += float(token_loss_sum(model, examples.padded(indices)))
            count += examples.labelled(indices)
    model.train(was_training)
    return round(total / max(count, 1), 5)
