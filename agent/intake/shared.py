"""The intake reader of a knowledge base, built once per process for every front end."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from agent.free_text import CachedEncoder, TextEncoder, default_encoder
from agent.intake.reader import IntakeReader
from retrieval.ddxplus_kb import KnowledgeBase

_readers: dict[int, tuple[KnowledgeBase, IntakeReader]] = {}


def intake_reader(
    kb: KnowledgeBase,
    cache_dir: Path | None = None,
    encoder_factory: Callable[[], TextEncoder] = default_encoder,
) -> IntakeReader:
    """The reader of ``kb`` (the kb is kept, so its id is never reused), loading the sentence
    encoder on first use. With ``cache_dir``, the label vectors are also kept on disk there,
    so the next process skips embedding them."""
    cached = _readers.get(id(kb))
    if cached is None or cached[0] is not kb:
        from retrieval.embeddings import DEFAULT_MODEL_NAME

        encoder = encoder_factory()
        labels = encoder
        if cache_dir is not None:
            labels = CachedEncoder(encoder, cache_dir / "intake", f"intake:{DEFAULT_MODEL_NAME}")
        cached = (kb, IntakeReader(kb, encoder, label_encoder=labels))
        _readers[id(kb)] = cached
    return cached[1]
