"""Corpora: the Document model, chunking with overlap, JSONL and folder loading with bad
documents reported and skipped, the corpus hash, and the built-in DDXPlus pages."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from pydantic import ValidationError

from agent.errors import DataFormatError, MissingDataError
from retrieval.chunking import ChunkSettings, chunk_document, chunk_text
from retrieval.corpus import corpus_hash, load_corpus, read_jsonl, write_jsonl
from retrieval.ddxplus_corpus import ddxplus_pages, statement
from retrieval.ddxplus_kb import KnowledgeBase
from retrieval.documents import Document

FIXTURES = Path(__file__).parent / "fixtures" / "retrieval"


def words(n: int) -> str:
    return " ".join(f"w{i}" for i in range(n))


def test_document_rejects_blank_text_and_id() -> None:
    with pytest.raises(ValidationError):
        Document(id="a", text="   ", source="s")
    with pytest.raises(ValidationError):
        Document(id="  ", text="text", source="s")


def test_citation_names_source_licence_and_link() -> None:
    doc = Document(id="a", text="t", source="PubMed PMID 1", licence="CC-BY", url="https://x/1")
    assert doc.citation() == "PubMed PMID 1; CC-BY; https://x/1"
    assert Document(id="a", text="t", source="notes.md").citation() == "notes.md"


def test_short_text_is_one_chunk_and_keeps_its_id() -> None:
    doc = Document(id="d", title="T", text=words(20), source="s")
    assert chunk_document(doc, ChunkSettings(max_words=30, overlap_words=5)) == [doc]


def test_chunks_overlap_and_cover_every_word() -> None:
    settings = ChunkSettings(max_words=10, overlap_words=3)
    chunks = chunk_text(words(25), settings)
    as_words = [c.split() for c in chunks]
    assert [len(w) for w in as_words] == [10, 10, 10, 4]
    for previous, current in itertools.pairwise(as_words):
        assert previous[-3:] == current[:3]
    covered = {w for chunk in as_words for w in chunk}
    assert covered == set(words(25).split())


def test_chunks_keep_line_breaks_and_name_their_document() -> None:
    text = "# Title\n\n" + "\n".join(words(30).split())
    doc = Document(id="notes.md", title="Title", text=text, source="notes.md")
    chunks = chunk_document(doc, ChunkSettings(max_words=12, overlap_words=2))
    assert len(chunks) > 1
    assert chunks[0].text.startswith("# Title\n\nw0\nw1")
    assert [c.id for c in chunks[:2]] == ["notes.md#1", "notes.md#2"]
    assert all(c.part_of == "notes.md" and c.parent_id == "notes.md" for c in chunks)
    assert all(c.title == "Title" for c in chunks)


def test_overlap_must_be_smaller_than_the_chunk() -> None:
    with pytest.raises(ValidationError):
        ChunkSettings(max_words=10, overlap_words=10)


def test_bad_jsonl_lines_are_reported_and_skipped(tmp_path: Path) -> None:
    path = tmp_path / "corpus.jsonl"
    path.write_bytes(
        b'{"id": "a", "title": "A", "text": "first"}\n'
        b'{"title": "no id", "text": "x"}\n'
        b'{"id": "b", "text": "   "}\n'
        b"not json\n"
        b'{"id": "c", "text": "caf\xe9"}\n'
        b"[1, 2]\n"
        b"\n"
        b'{"_id": "d", "text": "beir style", "licence": "CC0"}\n'
        b'{"id": "a", "text": "duplicate"}\n'
    )
    loaded = load_corpus(path, licence="default-licence")
    assert [d.id for d in loaded.documents] == ["a", "d"]
    assert loaded.documents[0].source == "corpus.jsonl"
    assert loaded.documents[0].licence == "default-licence"
    assert loaded.documents[1].licence == "CC0"
    reasons = [str(p) for p in loaded.problems]
    assert reasons == [
        "corpus.jsonl line 2: no id",
        "corpus.jsonl line 3: text: text is blank",
        "corpus.jsonl line 4: not valid JSON (Expecting value)",
        "corpus.jsonl line 5: not UTF-8 text",
        "corpus.jsonl line 6: not a JSON object",
        "a: duplicate id; the first one is kept",
    ]


def test_folder_of_markdown_and_text(tmp_path: Path) -> None:
    loaded = load_corpus(FIXTURES / "notes")
    by_id = {d.id: d for d in loaded.documents}
    assert sorted(by_id) == ["heart.md", "sub/gout_notes.txt"]
    assert by_id["heart.md"].title == "Heart failure"
    assert by_id["sub/gout_notes.txt"].title == "gout notes"
    assert sorted(str(p) for p in loaded.problems) == [
        "empty.md: empty file",
        "latin1.txt: not UTF-8 text",
    ]


def test_corpus_without_usable_document_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "x", "text": ""}\n', encoding="utf-8")
    with pytest.raises(DataFormatError, match="no usable document"):
        load_corpus(path)
    with pytest.raises(MissingDataError):
        load_corpus(tmp_path / "missing.jsonl")


def test_load_corpus_chunks_long_documents(tmp_path: Path) -> None:
    path = tmp_path / "long.jsonl"
    path.write_text(
        f'{{"id": "long", "text": "{words(50)}"}}\n{{"id": "short", "text": "tiny"}}\n',
        encoding="utf-8",
    )
    loaded = load_corpus(path, chunking=ChunkSettings(max_words=20, overlap_words=5))
    assert [d.id for d in loaded.documents] == ["long#1", "long#2", "long#3", "short"]


def test_corpus_hash_follows_every_field_and_survives_a_round_trip(tmp_path: Path) -> None:
    documents = read_jsonl(FIXTURES / "corpus.jsonl").documents
    digest = corpus_hash(documents)
    write_jsonl(documents, tmp_path / "copy.jsonl")
    assert corpus_hash(read_jsonl(tmp_path / "copy.jsonl").documents) == digest
    changed = [documents[0].model_copy(update={"text": "changed"}), *documents[1:]]
    assert corpus_hash(changed) != digest
    assert corpus_hash(list(reversed(documents))) != digest


def test_statement_turns_questions_into_findings() -> None:
    assert statement("Do you have a cough?") == "a cough"
    assert statement("Have you ever had pneumonia?") == "history of pneumonia"
    assert statement("Are you pregnant?") == "being pregnant"
    assert statement("Is your BMI less than 18.5?") == "is your BMI less than 18.5"


def test_ddxplus_pages_cover_every_condition(mini_kb: KnowledgeBase) -> None:
    pages = {page.title: page for page in ddxplus_pages(mini_kb)}
    assert set(pages) == set(mini_kb.conditions)
    pneumonia = pages["Pneumonia"]
    assert pneumonia.id == "ddxplus:Pneumonia"
    assert "ICD-10: J18" in pneumonia.text
    assert "Severity: 2 of 5 (severe: must not be missed)" in pneumonia.text
    for code in mini_kb.conditions["Pneumonia"].symptoms:
        evidence = mini_kb.evidences[code]
        if evidence.parent is None:
            assert statement(evidence.question) in pneumonia.text
    assert pneumonia.licence == "CC-BY 4.0" and pneumonia.url.startswith("https://")
