"""The persisted index of a doctor directory: first-stage search and section embeddings.

A directory can hold 10^5 profiles, so neither search nor the criteria-aware scorer may embed
profiles at query time. One index folder holds:

* ``search/`` — the project's knowledge index (``retrieval.index``: BM25 with the jieba-aware
  tokenizer + FAISS dense, fused) over one document per profile; it refuses to load against
  another model or a changed directory file;
* ``sections.npz`` — the embedding of every distinct profile piece (``DoctorProfile.sections``)
  with the model name and the directory's hash, written atomically.

The pieces are embedded first; a profile's dense vector for the search is then the normalised
mean of its pieces' vectors, so no whole profile (hundreds of tokens, the slow part of a
transformer) is ever embedded: a 5,000-profile directory indexes in the time its distinct short
pieces take. After :meth:`DirectoryIndex.open`, ranking 1,000 candidates embeds only the few
criteria.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from agent.errors import DataFormatError
from retrieval.corpus import corpus_hash
from retrieval.doctors.profiles import Directory, DoctorProfile
from retrieval.doctors.rationale import EMBED_BATCH, DenseMatcher
from retrieval.documents import Document

if TYPE_CHECKING:
    from retrieval.embeddings import Encoder
    from retrieval.index import KnowledgeIndex

TOKENIZER = "jieba"
"""Chinese is segmented by jieba, everything else is stemmed English words."""
SECTIONS_FILE = "sections.npz"
SEARCH_DIR = "search"
FIRST_STAGE_DEPTH = 100
"""Candidates the first stage hands to the ranker (DrRank ranks ~100 per need)."""
PROGRESS_STEP = 256
"""Profile pieces embedded between two progress reports."""

OnProgress = Callable[[str, int, int], None]
"""(stage, done, total): where a long index build stands, for a progress bar."""


def _silent(stage: str, done: int, total: int) -> None:
    """The default :data:`OnProgress`: tells nobody."""


def profile_documents(directory: Directory) -> list[Document]:
    """One searchable document per profile (its whole text; the headline as title)."""
    return [
        Document(id=p.id, title=p.headline(), text=p.text(), source=directory.path.name)
        for p in directory.profiles
    ]


def default_index_dir(state_dir: Path, directory: Directory) -> Path:
    """Where a directory's index lives unless told otherwise: one folder per file content."""
    return state_dir / "doctor_index" / f"{directory.path.stem}-{directory.fingerprint}"


@dataclass
class DirectoryIndex:
    """A directory with its loaded search index and section embeddings."""

    directory: Directory
    search: KnowledgeIndex
    matcher: DenseMatcher
    built: bool
    """False when an existing index was reused."""

    @classmethod
    def open(
        cls,
        directory: Directory,
        folder: Path,
        encoder: Encoder,
        *,
        progress: bool = True,
        on_progress: OnProgress = _silent,
    ) -> DirectoryIndex:
        """Load the index at ``folder``, building (or rebuilding) what is missing or stale.

        ``progress`` draws terminal bars; ``on_progress`` hears the same steps (the app's)."""
        from retrieval.index import BuildSettings, KnowledgeIndex, build_index, tokenizer_named

        documents = profile_documents(directory)
        texts = _section_texts(directory.profiles)
        stamp = {"model": encoder.name, "corpus_hash": corpus_hash(documents)}
        vectors = _read_sections(folder / SECTIONS_FILE, stamp, len(texts))
        built = vectors is None
        if vectors is None:
            vectors = _embed_pieces(texts, encoder, progress, on_progress)
            _write_sections(folder / SECTIONS_FILE, stamp, vectors)
        matcher = DenseMatcher(encoder)
        matcher.remember(texts, vectors)
        on_progress("Indexing the directory for search", 0, len(documents))
        outcome = build_index(
            documents,
            folder / SEARCH_DIR,
            settings=BuildSettings(model=encoder.name, tokenizer=TOKENIZER),
            encoder=_ProfileMeans(encoder, directory.profiles, documents, matcher),
            tokenizer=tokenizer_named(TOKENIZER),
            progress=progress,
        )
        search = KnowledgeIndex.load(
            folder / SEARCH_DIR, encoder=encoder, tokenizer=tokenizer_named(TOKENIZER)
        )
        return cls(directory, search, matcher, built or not outcome.reused)

    @cached_property
    def _by_id(self) -> dict[str, DoctorProfile]:
        """Profiles by id, made once: a directory can hold 10^5 of them."""
        return {p.id: p for p in self.directory.profiles}

    def candidates(self, need: str, k: int = FIRST_STAGE_DEPTH) -> list[DoctorProfile]:
        """The ``k`` profiles the hybrid search finds for the need, best first."""
        hits = self.search.search(need, k, "hybrid")
        return [self._by_id[h.document.id] for h in hits if h.document.id in self._by_id]


def _section_texts(profiles: Sequence[DoctorProfile]) -> list[str]:
    return list(dict.fromkeys(text for p in profiles for _, text in p.sections()))


def _embed_pieces(
    texts: Sequence[str], encoder: Encoder, progress: bool, on_progress: OnProgress
) -> np.ndarray:
    """Every distinct profile piece, in steps of :data:`PROGRESS_STEP` (each one reported)."""
    stage = "Embedding the doctor profiles"
    parts: list[np.ndarray] = []
    on_progress(stage, 0, len(texts))
    for start in range(0, len(texts), PROGRESS_STEP):
        batch = texts[start : start + PROGRESS_STEP]
        parts.append(encoder.encode(batch, batch_size=EMBED_BATCH, progress=progress))
        on_progress(stage, start + len(batch), len(texts))
    return np.vstack(parts) if parts else np.zeros((0, encoder.dimension), dtype=np.float32)


class _ProfileMeans:
    """The encoder the search index is built with: a profile's text maps to the normalised
    mean of its pieces' (already computed) vectors; any other text is embedded as usual."""

    def __init__(
        self,
        encoder: Encoder,
        profiles: Sequence[DoctorProfile],
        documents: Sequence[Document],
        matcher: DenseMatcher,
    ) -> None:
        self.name = encoder.name
        self.dimension = encoder.dimension
        self._encoder = encoder
        self._means: dict[str, np.ndarray] = {}
        for profile, document in zip(profiles, documents, strict=True):
            pieces = [text for _, text in profile.sections()]
            mean = matcher.vectors(pieces).mean(axis=0)
            self._means[document.indexed_text()] = mean / max(float(np.linalg.norm(mean)), 1e-9)

    def encode(
        self, texts: Sequence[str], *, batch_size: int = EMBED_BATCH, progress: bool = False
    ) -> np.ndarray:
        if all(text in self._means for text in texts):
            if not texts:
                return np.zeros((0, self.dimension), dtype=np.float32)
            return np.stack([self._means[text] for text in texts]).astype(np.float32)
        return self._encoder.encode(texts, batch_size=batch_size, progress=progress)


def _read_sections(path: Path, stamp: dict[str, str], count: int) -> np.ndarray | None:
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            if json.loads(str(stored["stamp"])) != stamp:
                return None
            vectors = np.asarray(stored["vectors"], dtype=np.float32)
    except (OSError, ValueError, KeyError) as exc:
        raise DataFormatError(f"{path} is damaged ({exc}); delete it to rebuild.") from None
    return vectors if len(vectors) == count else None


def _write_sections(path: Path, stamp: dict[str, str], vectors: np.ndarray) -> None:
    """Write to a temporary file and rename: a kill never leaves a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp.npz")
    np.savez(temporary, stamp=np.array(json.dumps(stamp)), vectors=vectors)
    temporary.replace(path)
