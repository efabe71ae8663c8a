"""User corpora: a JSONL file or a folder of Markdown / text files, checked and chunked.

Formats
-------
JSONL, one document per line:

=========  =====  ========  =========================================================
field      type   required  meaning
=========  =====  ========  =========================================================
id         str    yes       unique id (``_id`` is accepted too: BEIR corpora use it)
title      str    no        shown in citations
text       str    yes       the content; must not be empty
source     str    no        where it comes from (default: the file name)
licence    str    no        terms of use (default: the ``licence`` argument)
url        str    no        a link to the original
=========  =====  ========  =========================================================

Folder: every ``*.md``, ``*.markdown`` and ``*.txt`` below it is one document whose id is its
path relative to the folder; the title is the first Markdown heading, else the file name.

Bad documents — not valid JSON, not UTF-8, no id, empty text, an id seen before — are reported in
:attr:`LoadedCorpus.problems` and skipped; a corpus with no usable document is an error.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agent.errors import DataFormatError, MissingDataError
from retrieval.chunking import ChunkSettings, chunk_documents
from retrieval.documents import Document

TEXT_SUFFIXES = (".md", ".markdown", ".txt")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


@dataclass(frozen=True)
class CorpusProblem:
    """A document that was skipped, and why (``where``: file and line or file name)."""

    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


@dataclass
class LoadedCorpus:
    documents: list[Document]
    problems: list[CorpusProblem] = field(default_factory=list)

    def summary(self) -> str:
        return f"{len(self.documents)} documents loaded, {len(self.problems)} skipped"


def _document_from_record(
    record: dict[str, Any], default_source: str, licence: str
) -> tuple[Document | None, str]:
    doc_id = record.get("id", record.get("_id"))
    if doc_id is None or (isinstance(doc_id, str) and not doc_id.strip()):
        return None, "no id"
    fields = {
        "id": str(doc_id),
        "title": record.get("title") or "",
        "text": record.get("text") or "",
        "source": record.get("source") or default_source,
        "licence": record.get("licence") or licence,
        "url": record.get("url") or "",
    }
    try:
        return Document.model_validate(fields), ""
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return None, f"{where}: {first['msg']}".replace("Value error, ", "")


def jsonl_rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(line number, JSON object) per non-blank line, streamed; a line that is not UTF-8 or
    not a JSON object comes as (line number, what is wrong with it), so that callers report
    it and go on. The one JSONL line reader of corpora, queries and doctor files."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                yield number, "not UTF-8 text"
                continue
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, f"not valid JSON ({exc.msg})"
                continue
            yield number, row if isinstance(row, dict) else "not a JSON object"


def read_jsonl(path: Path, *, licence: str = "unknown", source: str | None = None) -> LoadedCorpus:
    """Documents of a JSONL file (see the module docstring); bad lines reported and skipped."""
    loaded = LoadedCorpus(documents=[])
    default_source = source or path.name
    try:
        for number, row in jsonl_rows(path):
            where = f"{path.name} line {number}"
            if isinstance(row, str):
                loaded.problems.append(CorpusProblem(where, row))
                continue
            document, reason = _document_from_record(row, default_source, licence)
            if document is None:
                loaded.problems.append(CorpusProblem(where, reason))
            else:
                loaded.documents.append(document)
    except OSError as exc:
        raise MissingDataError(f"Cannot read the corpus {path}: {exc.strerror}.") from None
    return loaded


def _title_of(text: str, fallback: str) -> str:
    match = _HEADING.search(text)
    return match.group(1).strip() if match else fallback


def read_folder(folder: Path, *, licence: str = "unknown") -> LoadedCorpus:
    """One document per Markdown / text file below ``folder`` (sorted, so ids are stable)."""
    loaded = LoadedCorpus(documents=[])
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in TEXT_SUFFIXES)
    for path in files:
        relative = path.relative_to(folder).as_posix()
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            loaded.problems.append(CorpusProblem(relative, "not UTF-8 text"))
            continue
        except OSError as exc:
            loaded.problems.append(CorpusProblem(relative, f"unreadable ({exc.strerror})"))
            continue
        if not text.strip():
            loaded.problems.append(CorpusProblem(relative, "empty file"))
            continue
        title = _title_of(text, path.stem.replace("_", " ").replace("-", " "))
        loaded.documents.append(
            Document(id=relative, title=title, text=text, source=relative, licence=licence)
        )
    return loaded


def drop_duplicate_ids(loaded: LoadedCorpus) -> LoadedCorpus:
    """Keep the first document of each id; later ones are reported as problems."""
    seen: set[str] = set()
    kept: list[Document] = []
    problems = list(loaded.problems)
    for document in loaded.documents:
        if document.id in seen:
            problems.append(CorpusProblem(document.id, "duplicate id; the first one is kept"))
            continue
        seen.add(document.id)
        kept.append(document)
    return LoadedCorpus(documents=kept, problems=problems)


def load_corpus(
    path: Path, *, chunking: ChunkSettings | None = None, licence: str = "unknown"
) -> LoadedCorpus:
    """A JSONL file or a folder, checked, de-duplicated and (unless ``chunking`` is None)
    chunked. Raises MissingDataError / DataFormatError when nothing usable is there."""
    if path.is_dir():
        loaded = read_folder(path, licence=licence)
    elif path.is_file():
        loaded = read_jsonl(path, licence=licence)
    else:
        raise MissingDataError(f"No corpus at {path}: give a JSONL file or a folder of .md/.txt.")
    loaded = drop_duplicate_ids(loaded)
    if not loaded.documents:
        detail = f" ({loaded.problems[0]})" if loaded.problems else ""
        raise DataFormatError(f"{path} holds no usable document{detail}.")
    if chunking is not None:
        loaded.documents = list(chunk_documents(loaded.documents, chunking))
    return loaded


def corpus_hash(documents: Iterable[Document]) -> str:
    """A hash of every field of every document, in order: what an index was built from."""
    digest = hashlib.sha256()
    for document in documents:
        digest.update(document.model_dump_json().encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def write_jsonl(documents: Sequence[Document], path: Path) -> None:
    """Documents as JSONL with every field, the format :func:`read_documents` reads back."""
    with path.open("w", encoding="utf-8") as handle:
        for document in documents:
            handle.write(document.model_dump_json() + "\n")


def read_documents(path: Path) -> list[Document]:
    """Documents written by :func:`write_jsonl`, every field kept; any bad line is an error
    (this is the project's own file, not user input to be cleaned)."""
    documents = []
    try:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                try:
                    documents.append(Document.model_validate_json(line))
                except ValidationError:
                    raise DataFormatError(f"{path} line {number} is not a document.") from None
    except (OSError, UnicodeDecodeError):
        raise DataFormatError(f"{path} is unreadable.") from None
    return documents
