"""Backend strings: one string per backend, parsed once and validated with a clear message.

=====================================  ====================================================
string                                 backend
=====================================  ====================================================
``kb``                                 no LLM: the embedded engine plays the role
``hf:<dir or hub id>[+<LoRA dir>]``    transformers, local (CPU or GPU), chat template,
                                       optional PEFT adapter
``openai:<model>@<base url>``          any OpenAI-compatible server (vLLM, Ollama,
                                       llama.cpp); key from ``DDX_OPENAI_API_KEY``
``fake`` / ``fake:<replies.jsonl>``    scripted (tests): defers to the engine, or plays the
                                       replies of the file in order
=====================================  ====================================================
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from agent.errors import SettingsError

BackendKind = Literal["kb", "hf", "openai", "fake"]


class BackendSpec(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: BackendKind
    model: str = ""
    adapter: str | None = None
    base_url: str | None = None
    replies: Path | None = None

    @property
    def is_llm(self) -> bool:
        return self.kind != "kb"

    def __str__(self) -> str:
        if self.kind == "hf":
            return f"hf:{self.model}" + (f"+{self.adapter}" if self.adapter else "")
        if self.kind == "openai":
            return f"openai:{self.model}@{self.base_url}"
        if self.kind == "fake":
            return f"fake:{self.replies}" if self.replies else "fake"
        return "kb"


def parse_backend(text: str) -> BackendSpec:
    """Parse a backend string; raises SettingsError naming the accepted forms."""
    value = text.strip()
    if value == "kb":
        return BackendSpec(kind="kb")
    if value == "fake":
        return BackendSpec(kind="fake")
    if value.startswith("fake:") and len(value) > 5:
        return BackendSpec(kind="fake", replies=Path(value[5:]))
    if value.startswith("hf:") and len(value) > 3:
        model, _, adapter = value[3:].partition("+")
        if model:
            return BackendSpec(kind="hf", model=model, adapter=adapter or None)
    if value.startswith("openai:"):
        model, at, url = value[7:].partition("@")
        if model and at and url.startswith(("http://", "https://")):
            return BackendSpec(kind="openai", model=model, base_url=url.rstrip("/"))
    raise SettingsError(
        f"Unknown LLM backend {text!r}. Use kb, fake, hf:<model dir or hub id>[+<LoRA dir>] "
        "or openai:<model>@<base url> (e.g. openai:qwen2.5-7b@http://127.0.0.1:8000/v1)."
    )
