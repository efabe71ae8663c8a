"""Training conversations in the common chat JSONL format, validated line by line.

One conversation per line: ``{"id": "...", "messages": [{"role": ..., "content": ...}, ...]}``
(other keys ignored).

=====================  ==========  ==========================================================
field                  type        meaning (example)
=====================  ==========  ==========================================================
``id``                 string      optional stable id; decides the held-out split
                                   (``"dev_patients.csv:12"``)
``messages``           list        the turns, in order
``messages[].role``    string      ``system``, ``user`` or ``assistant``
``messages[].content`` string      the turn's text; an assistant turn of an engine-taught
                                   dialogue is ``NextStep`` or ``Differential`` JSON
                                   (``{"action":"ask","question":"Do you have a fever?",
                                   "reason":"It separates ..."}``)
=====================  ==========  ==========================================================
 A line is used only when it is a JSON object whose
``messages`` is a non-empty list of ``system`` / ``user`` / ``assistant`` turns with non-empty
text, and at least one turn is the assistant's (training learns the assistant's turns only).
Bad lines are reported with their number and reason and skipped, never silently dropped.

The held-out split is chosen by a hash of each conversation's id (or of its text), so the same
conversation always lands on the same side, whatever the order or the size of the file.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agent.errors import DataFormatError, MissingDataError
from agent.llm.base import Message


class Dialogue(BaseModel):
    """One training conversation: the assistant's turns are what the model learns."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str = Field(default="", description="Stable id (used for the held-out split).")
    messages: tuple[Message, ...] = Field(min_length=1)

    @field_validator("messages")
    @classmethod
    def _usable(cls, messages: tuple[Message, ...]) -> tuple[Message, ...]:
        for i, message in enumerate(messages, 1):
            if not message.content.strip():
                raise ValueError(f"message {i} ({message.role}) has empty content")
        if not any(m.role == "assistant" for m in messages):
            raise ValueError("no assistant turn to learn from")
        return messages

    def key(self) -> str:
        """The id, or a hash of the text when the line has none."""
        if self.id:
            return self.id
        text = json.dumps([m.model_dump() for m in self.messages], ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass
class DialogueLoad:
    """What a load kept and what it skipped, with a reason per skipped line."""

    dialogues: list[Dialogue] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)

    def problems(self, limit: int = 20) -> list[str]:
        lines = [f"line {line} skipped: {reason}" for line, reason in self.skipped[:limit]]
        if len(self.skipped) > limit:
            lines.append(f"… and {len(self.skipped) - limit} more lines skipped")
        return lines


def _reason(exc: ValidationError) -> str:
    """The validation problems without the text they quote (it may hold patient data)."""
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'line'}: {err['msg']}"
        for err in exc.errors()[:3]
    )


def load_dialogues(path: Path) -> DialogueLoad:
    """Every usable conversation of ``path``; bad lines are listed with line number and reason."""
    if not path.is_file():
        raise MissingDataError(f"Dialogue file {path} does not exist.")
    result = DialogueLoad()
    try:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    result.dialogues.append(Dialogue.model_validate_json(line))
                except ValidationError as exc:
                    result.skipped.append((number, _reason(exc)))
    except UnicodeDecodeError:
        raise DataFormatError(f"{path} is not UTF-8 text.") from None
    return result


def require_dialogues(path: Path) -> DialogueLoad:
    """Like :func:`load_dialogues`, but a file without one usable conversation is an error."""
    loaded = load_dialogues(path)
    if not loaded.dialogues:
        detail = f" ({loaded.problems(3)[0]})" if loaded.skipped else ""
        raise DataFormatError(
            f"{path} holds no usable conversation{detail}. Expected one JSON object per line "
            'with "messages": [{"role": "system|user|assistant", "content": "..."}, ...].'
        )
    return loaded


def is_held_out(key: str, fraction: float) -> bool:
    """Whether the conversation with this key belongs to the held-out split."""
    if fraction <= 0:
        return False
    digest = hashlib.sha256(f"heldout:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def split(dialogues: Sequence[Dialogue], fraction: float) -> tuple[list[Dialogue], list[Dialogue]]:
    """(training, held-out) by :func:`is_held_out` on each conversation's key."""
    train: list[Dialogue] = []
    held: list[Dialogue] = []
    for dialogue in dialogues:
        (held if is_held_out(dialogue.key(), fraction) else train).append(dialogue)
    return train, held


def write_dialogues(path: Path, dialogues: Iterable[Dialogue]) -> int:
    """Write one conversation per line (atomically: a temporary file renamed into place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    count = 0
    with partial.open("w", encoding="utf-8") as handle:
        for dialogue in dialogues:
            handle.write(dialogue.model_dump_json() + "\n")
            count += 1
    partial.replace(path)
    return count
