"""Optional online knowledge: PubMed abstracts (NCBI E-utilities) and Wikipedia summaries.

Off unless asked for (``--online``): the product works fully offline. Every request has a
timeout, is retried with exponential back-off on network errors, 429 and 5xx (tenacity), and
its answer is cached on disk, so a repeated consultation does not query the network again.
A source that stays unreachable yields no passages and a warning, never a failed consultation.

No patient data leaves the machine: the queries are condition names only. An NCBI API key, if
any, comes from the environment (``NCBI_API_KEY``) and is never logged.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field
from tenacity import (
    retry,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from agent.errors import DdxError
from retrieval.documents import Document
from retrieval.passages import Passage, RetrievalQuery, passage_of

PUBMED_LICENCE = "PubMed abstract: copyright of the publisher; cite, do not redistribute"
WIKIPEDIA_LICENCE = "CC BY-SA 4.0"


class OnlineUnavailableError(DdxError):
    """An online source could not be reached or answered nonsense (after the retries)."""


class OnlineUnreachableError(OnlineUnavailableError):
    """The source is down (no connection, time-outs, 429 or 5xx after every retry): asking it
    again in the same consultation would only wait for the same time-outs."""


class OnlineSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    pubmed_url: str = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils"
    wikipedia_url: str = "https://en.wikipedia.org"
    timeout_seconds: float = Field(default=10.0, gt=0)
    attempts: int = Field(default=3, ge=1, le=10)
    backoff_seconds: float = Field(default=0.5, ge=0)
    cache_dir: Path | None = Field(default=None, description="None: no on-disk cache.")


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, httpx.TransportError):
        return True
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code == 429 or exc.response.status_code >= 500
    return False


class HttpFetcher:
    """GET with timeout, retries and an on-disk cache of successful answers."""

    def __init__(self, settings: OnlineSettings, client: httpx.Client | None = None) -> None:
        self.settings = settings
        self._client = client or httpx.Client(
            timeout=settings.timeout_seconds,
            headers={"User-Agent": "ddx-agent (https://github.com/; research software)"},
            follow_redirects=True,
        )

    def _cache_path(self, url: str, params: dict[str, str]) -> Path | None:
        if self.settings.cache_dir is None:
            return None
        public = {k: v for k, v in params.items() if k != "api_key"}
        key = hashlib.sha256(json.dumps([url, sorted(public.items())]).encode()).hexdigest()
        return self.settings.cache_dir / f"{key}.txt"

    def get_text(self, url: str, params: dict[str, str] | None = None) -> str:
        params = params or {}
        cached = self._cache_path(url, params)
        if cached is not None and cached.is_file():
            with contextlib.suppress(OSError, UnicodeDecodeError):  # damaged: fetch again
                return cached.read_text(encoding="utf-8")
        settings = self.settings

        @retry(
            retry=retry_if_exception(_retryable),
            stop=stop_after_attempt(settings.attempts),
            wait=wait_exponential(multiplier=settings.backoff_seconds, max=8),
            reraise=True,
        )
        def fetch() -> str:
            response = self._client.get(url, params=params)
            response.raise_for_status()
            return response.text

        try:
            text = fetch()
        except httpx.HTTPStatusError as exc:
            error = OnlineUnreachableError if _retryable(exc) else OnlineUnavailableError
            raise error(f"{url} answered HTTP {exc.response.status_code}.") from None
        except httpx.HTTPError as exc:
            raise OnlineUnreachableError(
                f"{url} could not be reached ({type(exc).__name__})."
            ) from None
        if cached is not None:
            # A cache that cannot be written costs a repeated request later, not this answer.
            with contextlib.suppress(OSError):
                cached.parent.mkdir(parents=True, exist_ok=True)
                temporary = cached.with_suffix(".tmp")
                temporary.write_text(text, encoding="utf-8")
                temporary.replace(cached)
        return text

    def get_json(self, url: str, params: dict[str, str] | None = None) -> Any:
        text = self.get_text(url, params)
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise OnlineUnavailableError(f"{url} did not answer JSON.") from None

    def close(self) -> None:
        self._client.close()


class OnlineSource(Protocol):
    name: str

    def search(self, query: str, k: int) -> list[Document]: ...


class PubMedSource:
    """Titles and abstracts of the best PubMed matches (esearch, then efetch)."""

    name = "PubMed"

    def __init__(self, fetcher: HttpFetcher) -> None:
        self.fetcher = fetcher
        self.base = fetcher.settings.pubmed_url.rstrip("/")

    def _params(self, **extra: str) -> dict[str, str]:
        params = {"db": "pubmed", "tool": "ddx-agent", **extra}
        key = os.environ.get("NCBI_API_KEY")
        if key:
            params["api_key"] = key
        return params

    def search(self, query: str, k: int) -> list[Document]:
        found = self.fetcher.get_json(
            f"{self.base}/esearch.fcgi",
            self._params(term=query, retmode="json", retmax=str(k), sort="relevance"),
        )
        try:
            ids = [str(i) for i in found["esearchresult"]["idlist"]][:k]
        except (KeyError, TypeError):
            raise OnlineUnavailableError("PubMed esearch answered without an id list.") from None
        if not ids:
            return []
        xml = self.fetcher.get_text(
            f"{self.base}/efetch.fcgi", self._params(id=",".join(ids), retmode="xml")
        )
        return parse_pubmed_articles(xml)


def parse_pubmed_articles(xml: str) -> list[Document]:
    """Documents from an efetch PubmedArticleSet (articles without an abstract are skipped)."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        raise OnlineUnavailableError("PubMed efetch answered malformed XML.") from None
    documents = []
    for article in root.iter("PubmedArticle"):
        pmid = (article.findtext(".//PMID") or "").strip()
        title_element = article.find(".//ArticleTitle")
        title = "".join(title_element.itertext()).strip() if title_element is not None else ""
        abstract = " ".join(
            "".join(part.itertext()).strip() for part in article.iter("AbstractText")
        ).strip()
        if not pmid or not abstract:
            continue
        documents.append(
            Document(
                id=f"pmid:{pmid}",
                title=title or f"PMID {pmid}",
                text=abstract,
                source=f"PubMed PMID {pmid}",
                licence=PUBMED_LICENCE,
                url=f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/",
            )
        )
    return documents


class WikipediaSource:
    """Lead-section summaries of the best Wikipedia pages (REST search, then page summary)."""

    name = "Wikipedia"

    def __init__(self, fetcher: HttpFetcher) -> None:
        self.fetcher = fetcher
        self.base = fetcher.settings.wikipedia_url.rstrip("/")

    def search(self, query: str, k: int) -> list[Document]:
        found = self.fetcher.get_json(
            f"{self.base}/w/rest.php/v1/search/page", {"q": query, "limit": str(k)}
        )
        pages = found.get("pages") if isinstance(found, dict) else None
        if not isinstance(pages, list):
            raise OnlineUnavailableError("Wikipedia search answered without pages.")
        documents = []
        for page in pages[:k]:
            key = page.get("key") if isinstance(page, dict) else None
            if not key:
                continue
            summary = self.fetcher.get_json(
                f"{self.base}/api/rest_v1/page/summary/{quote(str(key), safe='')}"
            )
            if not isinstance(summary, dict):
                continue
            extract = str(summary.get("extract") or "").strip()
            if not extract:
                continue
            links = summary.get("content_urls")
            desktop = links.get("desktop") if isinstance(links, dict) else None
            url = (desktop.get("page") if isinstance(desktop, dict) else None) or (
                f"{self.base}/wiki/{quote(str(key))}"
            )
            documents.append(
                Document(
                    id=f"wikipedia:{key}",
                    title=str(summary.get("title") or key),
                    text=extract,
                    source="Wikipedia",
                    licence=WIKIPEDIA_LICENCE,
                    url=str(url),
                )
            )
        return documents


class OnlineRetriever:
    """A passage source over online sources for the leading candidates (names only are sent)."""

    def __init__(
        self,
        sources: Sequence[OnlineSource],
        *,
        per_query: int = 1,
        warn: Callable[[str], None] = lambda message: None,
    ) -> None:
        self.sources = list(sources)
        self.per_query = per_query
        self.warn = warn
        self.down: set[str] = set()
        """Sources found unreachable; not asked again by this retriever."""

    def retrieve(self, query: RetrievalQuery) -> list[Passage]:
        passages: list[Passage] = []
        for name in query.leaders:
            for source in self.sources:
                if source.name in self.down:
                    continue
                try:
                    documents = source.search(name, self.per_query)
                except OnlineUnreachableError as exc:
                    self.down.add(source.name)
                    self.warn(f"{source.name} skipped from now on: {exc}")
                    continue
                except OnlineUnavailableError as exc:
                    self.warn(f"{source.name} skipped: {exc}")
                    continue
                passages.extend(
                    passage_of(d, 1.0 / (rank + 1), about=name) for rank, d in enumerate(documents)
                )
        return passages


def online_retriever(settings: OnlineSettings, warn: Callable[[str], None]) -> OnlineRetriever:
    """PubMed and Wikipedia behind one fetcher (one connection pool, one cache)."""
    fetcher = HttpFetcher(settings)
    return OnlineRetriever([PubMedSource(fetcher), WikipediaSource(fetcher)], warn=warn)
