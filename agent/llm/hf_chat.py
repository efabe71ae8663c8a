"""The ``hf:<model dir or hub id>[+<LoRA dir>]`` backend: a local transformers model.

The tokenizer's chat template formats the conversation; greedy decoding keeps runs
reproducible (and cacheable). A PEFT adapter (what ``ddx finetune`` writes) is applied on top
of the base model. Hub ids are read from the local cache only: nothing is downloaded during a
consultation. One lock serialises generation: a model on one device runs one batch at a time.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from agent.errors import SettingsError
from agent.llm.base import ChatRequest


class HFChat:
    def __init__(
        self, model: str, adapter: str | None = None, *, device: str | None = None
    ) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.model_id = model
        self.adapter = adapter
        self._lock = threading.Lock()
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        try:
            kind = torch.device(self.device).type
        except RuntimeError:
            raise SettingsError(f"Unknown device {self.device!r}; use cpu or cuda.") from None
        if kind == "cuda" and not torch.cuda.is_available():
            raise SettingsError(f"Device {self.device!r}: no CUDA GPU is available; use cpu.")
        hint = (
            "Give a local model directory (config.json, weights, tokenizer) or a hub id already "
            "in the local cache."
        )
        if model.startswith(("/", ".", "~")) and not Path(model).expanduser().is_dir():
            # A path, not a hub id: say so rather than relay the hub's repo-id complaint.
            raise SettingsError(f"Cannot load the model {model!r}: no such folder. {hint}")
        try:
            self.tokenizer: Any = AutoTokenizer.from_pretrained(model, local_files_only=True)
            loaded: Any = AutoModelForCausalLM.from_pretrained(model, local_files_only=True)
        except (OSError, ValueError) as exc:
            problem = " ".join(str(exc).split()).rstrip(".")
            raise SettingsError(f"Cannot load the model {model!r}: {problem}. {hint}") from None
        if adapter:
            if not Path(adapter).is_dir():
                raise SettingsError(f"LoRA adapter folder {adapter!r} does not exist.")
            from peft import PeftModel

            loaded = PeftModel.from_pretrained(loaded, adapter)
        if getattr(self.tokenizer, "chat_template", None) is None:
            raise SettingsError(
                f"The tokenizer of {model!r} has no chat template; use an instruction-tuned "
                "model or add a chat_template to its tokenizer_config.json."
            )
        self.model: Any = loaded.to(self.device).eval()

    @property
    def name(self) -> str:
        return f"hf:{self.model_id}" + (f"+{self.adapter}" if self.adapter else "")

    def complete(self, request: ChatRequest) -> str:
        import torch

        messages = [m.model_dump() for m in request.messages]
        prompt = self.tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True
        )
        inputs = self.tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
        inputs = {key: value.to(self.device) for key, value in inputs.items()}
        pad = self.tokenizer.pad_token_id
        if pad is None:
            pad = self.tokenizer.eos_token_id
        with self._lock, torch.inference_mode():
            output = self.model.generate(
                **inputs,
                max_new_tokens=request.max_tokens,
                do_sample=False,
                pad_token_id=pad,
            )
        new_tokens = output[0, inputs["input_ids"].shape[1] :]
        return str(self.tokenizer.decode(new_tokens, skip_special_tokens=True))
