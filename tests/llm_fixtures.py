"""Test doubles for the LLM backends: a tiny random model on disk, and a stub
OpenAI-compatible server on 127.0.0.1 (``agent.llm.stub_server``, shared with the
harness benchmarks).

The tiny model is a 1-layer Qwen2 with a byte-level BPE tokenizer trained offline (with
``tokenizers``) on a few lines of text; its output is gibberish, which is the point: the
structured-output retries and the fallbacks must cope with it. Nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path

from agent.llm.stub_server import StubServer, completion, stub_server

__all__ = ["StubServer", "build_tiny_model", "completion", "stub_server"]

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
_CORPUS = [
    '{"action": "ask", "question": "Do you have a fever?", "reason": "fever"}',
    '{"diagnoses": [{"name": "Flu", "reason": "fever"}], "rationale": "likely"}',
    "Do you have a cough? Yes. No. I don't know. Where is the pain? Pneumonia Migraine",
    "The patient is a 30-year-old woman with a rash on her arms and itching for two weeks.",
]


def build_tiny_model(folder: Path) -> Path:
    """Write a random 1-layer Qwen2 and its tokenizer (with a chat template) to ``folder``."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    special = ["<|end|>", "<|pad|>", "<|system|>", "<|user|>", "<|assistant|>"]
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=special,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator(_CORPUS * 4, trainer=trainer)
    fast = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=tokenizer, eos_token="<|end|>", pad_token="<|pad|>"
    )
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(folder)
    torch.manual_seed(0)
    config = Qwen2Config(
        vocab_size=len(fast),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=4096,
        eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id,
        tie_word_embeddings=True,
    )
    Qwen2ForCausalLM(config).save_pretrained(folder)
    return folder
