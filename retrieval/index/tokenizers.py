"""Tokenizers for the BM25 index, pluggable so that any language can be indexed.

A tokenizer is anything with a ``name`` and a ``__call__(text) -> list[str]``. The name is
stored in the index manifest: an index refuses to load with a different tokenizer, because
query tokens would then not match the indexed vocabulary. Built in: ``english`` (lower-case
words, English stop words dropped, Snowball-stemmed with PyStemmer) and ``jieba`` (Chinese
segmented with jieba, other scripts as ``english``). Wrap your own function with
:class:`NamedTokenizer` (e.g. a character n-gram tokenizer for another CJK language).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

from agent.errors import SettingsError

_WORDS = re.compile(r"[^\W_]+", re.UNICODE)
_CJK_OR_WORD = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[^\W_]+", re.UNICODE)
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


class Tokenizer(Protocol):
    """Turns a text into the tokens BM25 counts; ``name`` identifies it in manifests."""

    @property
    def name(self) -> str: ...

    def __call__(self, text: str) -> list[str]: ...


@dataclass(frozen=True)
class NamedTokenizer:
    """A tokenizer function with the name an index records for it."""

    name: str
    function: Callable[[str], list[str]]

    def __call__(self, text: str) -> list[str]:
        return self.function(text)


@cache
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


@cache
def _stop_words() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


@cache
def _jieba() -> Any:
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def english_tokens(text: str) -> list[str]:
    """Lower-case words without stop words, stemmed ('infections' and 'infected' meet)."""
    stop = _stop_words()
    words = [w for w in _WORDS.findall(text.lower()) if w not in stop]
    return [str(t) for t in _stemmer().stemWords(words)]


def jieba_tokens(text: str) -> list[str]:
    """Chinese runs segmented by jieba; everything else as :func:`english_tokens`."""
    tokens: list[str] = []
    for run in _CJK_OR_WORD.findall(text.lower()):
        if _CJK.search(run):
            tokens.extend(w for w in _jieba().lcut(run) if w.strip())
        else:
            tokens.extend(english_tokens(run))
    return tokens


BUILT_IN: dict[str, Tokenizer] = {
    "english": NamedTokenizer("english", english_tokens),
    "jieba": NamedTokenizer("jieba", jieba_tokens),
}


def tokenizer_named(name: str) -> Tokenizer:
    """A built-in tokenizer by name (SettingsError naming the choices otherwise)."""
    try:
        return BUILT_IN[name]
    except KeyError:
        raise SettingsError(
            f"Unknown tokenizer {name!r}; built in: {', '.join(BUILT_IN)}. Pass your own "
            "tokenizer object to load an index built with a custom one."
        ) from None
