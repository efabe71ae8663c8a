"""Online sources (PubMed E-utilities, Wikipedia) against stub servers on 127.0.0.1: parsing,
retries on 5xx, timeouts, the on-disk cache, and a source that stays down."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from agent.retriever import ViewRetriever
from agent.roles import ConsultationView
from retrieval.online import (
    HttpFetcher,
    OnlineRetriever,
    OnlineSettings,
    OnlineUnavailableError,
    PubMedSource,
    WikipediaSource,
    online_retriever,
)
from retrieval.passages import CombinedSource

EFETCH = """<?xml version="1.0"?>
<PubmedArticleSet>
 <PubmedArticle><MedlineCitation><PMID Version="1">111</PMID><Article>
  <ArticleTitle>Community-acquired <i>pneumonia</i> in adults.</ArticleTitle>
  <Abstract><AbstractText Label="BACKGROUND">Pneumonia is common.</AbstractText>
  <AbstractText Label="RESULTS">Antibiotics work.</AbstractText></Abstract>
 </Article></MedlineCitation></PubmedArticle>
 <PubmedArticle><MedlineCitation><PMID Version="1">222</PMID><Article>
  <ArticleTitle>A letter without abstract.</ArticleTitle>
 </Article></MedlineCitation></PubmedArticle>
</PubmedArticleSet>"""


class Stub:
    """Canned answers; ``fail_first`` requests to a path answer 503, ``slow`` paths sleep."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.fail_first: dict[str, int] = {}
        self.slow: set[str] = set()
        self.down = False
        self.terms: list[str] = []


def make_handler(stub: Stub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

        def do_GET(self) -> None:
            url = urlparse(self.path)
            stub.requests.append(url.path)
            if stub.down:
                return self._send(500, "text/plain", "down")
            if stub.fail_first.get(url.path, 0) > 0:
                stub.fail_first[url.path] -= 1
                return self._send(503, "text/plain", "busy")
            if url.path in stub.slow:
                time.sleep(1.0)
            query = parse_qs(url.query)
            if url.path.endswith("/esearch.fcgi"):
                stub.terms.append(query["term"][0])
                body: dict[str, object] = {"esearchresult": {"idlist": ["111", "222"]}}
                return self._send(200, "application/json", json.dumps(body))
            if url.path.endswith("/efetch.fcgi"):
                return self._send(200, "text/xml", EFETCH)
            if url.path == "/w/rest.php/v1/search/page":
                body = {"pages": [{"key": "Pneumonia", "title": "Pneumonia"}]}
                return self._send(200, "application/json", json.dumps(body))
            if url.path == "/api/rest_v1/page/summary/Pneumonia":
                body = {
                    "title": "Pneumonia",
                    "extract": "Pneumonia is an inflammatory condition of the lung.",
                    "content_urls": {
                        "desktop": {"page": "https://en.wikipedia.org/wiki/Pneumonia"}
                    },
                }
                return self._send(200, "application/json", json.dumps(body))
            return self._send(404, "text/plain", "no")

        def _send(self, status: int, kind: str, body: str) -> None:
            data = body.encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (the timeout test): nothing to answer

    return Handler


@pytest.fixture
def stub() -> Iterator[tuple[Stub, str]]:
    state = Stub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def settings_for(base: str, tmp_path: Path | None = None, **extra: object) -> OnlineSettings:
    return OnlineSettings.model_validate(
        {
            "pubmed_url": f"{base}/entrez/eutils",
            "wikipedia_url": base,
            "timeout_seconds": 0.5,
            "attempts": 3,
            "backoff_seconds": 0.01,
            "cache_dir": tmp_path,
            **extra,
        }
    )


def test_pubmed_titles_and_abstracts_with_citations(stub: tuple[Stub, str]) -> None:
    _, base = stub
    documents = PubMedSource(HttpFetcher(settings_for(base))).search("Pneumonia", 2)
    assert [d.id for d in documents] == ["pmid:111"]  # the one without abstract is skipped
    doc = documents[0]
    assert doc.title == "Community-acquired pneumonia in adults."
    assert doc.text == "Pneumonia is common. Antibiotics work."
    assert doc.url == "https://pubmed.ncbi.nlm.nih.gov/111/"
    assert "PubMed PMID 111" in doc.citation()


def test_wikipedia_summary_with_link_and_licence(stub: tuple[Stub, str]) -> None:
    _, base = stub
    documents = WikipediaSource(HttpFetcher(settings_for(base))).search("Pneumonia", 1)
    assert len(documents) == 1
    assert documents[0].text.startswith("Pneumonia is an inflammatory")
    assert documents[0].citation() == (
        "Wikipedia; CC BY-SA 4.0; https://en.wikipedia.org/wiki/Pneumonia"
    )


def test_server_errors_are_retried(stub: tuple[Stub, str]) -> None:
    state, base = stub
    state.fail_first["/entrez/eutils/esearch.fcgi"] = 2
    documents = PubMedSource(HttpFetcher(settings_for(base))).search("Pneumonia", 2)
    assert len(documents) == 1
    assert state.requests.count("/entrez/eutils/esearch.fcgi") == 3


def test_a_source_that_stays_down_is_an_error_after_the_retries(stub: tuple[Stub, str]) -> None:
    state, base = stub
    state.down = True
    with pytest.raises(OnlineUnavailableError, match="HTTP 500"):
        PubMedSource(HttpFetcher(settings_for(base))).search("Pneumonia", 2)
    assert len(state.requests) == 3


def test_slow_answers_time_out(stub: tuple[Stub, str]) -> None:
    state, base = stub
    state.slow.add("/w/rest.php/v1/search/page")
    fetcher = HttpFetcher(settings_for(base, attempts=1, timeout_seconds=0.2))
    with pytest.raises(OnlineUnavailableError, match="could not be reached"):
        WikipediaSource(fetcher).search("Pneumonia", 1)


def test_answers_are_cached_on_disk(stub: tuple[Stub, str], tmp_path: Path) -> None:
    state, base = stub
    first = WikipediaSource(HttpFetcher(settings_for(base, tmp_path))).search("Pneumonia", 1)
    served = len(state.requests)
    again = WikipediaSource(HttpFetcher(settings_for(base, tmp_path))).search("Pneumonia", 1)
    assert again == first and len(state.requests) == served == 2
    assert len(list(tmp_path.glob("*.txt"))) == 2
    for entry in tmp_path.glob("*.txt"):
        entry.write_bytes(b"\xff damaged")
    repaired = WikipediaSource(HttpFetcher(settings_for(base, tmp_path))).search("Pneumonia", 1)
    assert repaired == first and len(state.requests) == 4  # damaged entries are fetched again


def test_online_retriever_sends_names_only_and_survives_a_dead_source(
    stub: tuple[Stub, str],
) -> None:
    state, base = stub
    warnings: list[str] = []
    retriever = online_retriever(settings_for(base), warnings.append)
    view = ConsultationView(
        age=30,
        sex="F",
        findings={"E_1": True},
        asked=[],
        differential=[("Pneumonia", 0.8), ("Flu", 0.2)],
        max_questions=5,
    )
    passages = ViewRetriever(retriever, leaders=1).retrieve(view)
    assert [p.doc_id for p in passages] == ["pmid:111", "wikipedia:Pneumonia"]
    assert {p.about for p in passages} == {"Pneumonia"}
    assert state.terms == ["Pneumonia"]  # the condition's name: no patient finding leaves
    state.down = True
    dead = ViewRetriever(OnlineRetriever(retriever.sources, warn=warnings.append), leaders=1)
    assert ViewRetriever(CombinedSource([dead.source]), leaders=1).retrieve(view) == []
    assert len(warnings) == 2 and "PubMed skipped" in warnings[0]
    served = len(state.requests)  # a source found down is not waited for again
    assert dead.retrieve(view) == [] and len(state.requests) == served and len(warnings) == 2


def test_a_cache_that_cannot_be_written_does_not_lose_the_answer(
    stub: tuple[Stub, str], tmp_path: Path
) -> None:
    _, base = stub
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder", encoding="utf-8")
    fetcher = HttpFetcher(settings_for(base, blocked / "cache"))
    assert [d.id for d in WikipediaSource(fetcher).search("Pneumonia", 1)] == [
        "wikipedia:Pneumonia"
    ]
