"""Turning questions and SOP text into index terms, for English and CJK text.

Latin-script words are lower-cased (Unicode NFKC + casefold), stop words dropped and the rest
stemmed with the Snowball English stemmer (``snowballstemmer``). Chinese, Japanese and Korean
runs, which have no spaces between words, become their overlapping character bigrams plus the
single characters, as Lucene's ``CJKBigramFilter`` does with ``outputUnigrams``: bigrams match
words, unigrams keep a question matching when its bigrams straddle word boundaries.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import snowballstemmer

_STEMMER = snowballstemmer.stemmer("english")
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_TOKEN_RE = re.compile(rf"[{_CJK}]+|[^\W_{_CJK}]+", re.UNICODE)
_CJK_RE = re.compile(rf"[{_CJK}]")

STOP_WORDS = frozenset(
    [
        "a",
        "about",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "been",
        "being",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "for",
        "from",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "him",
        "his",
        "how",
        "i",
        "i'd",
        "i'm",
        "i've",
        "if",
        "in",
        "into",
        "is",
        "it",
        "it's",
        "its",
        "just",
        "me",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "out",
        "over",
        "own",
        "please",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "hi",
        "hello",
        "hey",
        "thanks",
        "thank",
        "t",
        "s",
        "d",
        "m",
        "ve",
        "ll",
        "re",
    ]
)


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return _STEMMER.stemWord(word)


def terms(text: str) -> list[str]:
    """Return the index terms of ``text`` in order (repeats kept, for term frequencies)."""
    normalized = unicodedata.normalize("NFKC", text).casefold().replace("'", "").replace("\u2019", "")
    out: list[str] = []
    for run in _TOKEN_RE.findall(normalized):
        if _CJK_RE.match(run):
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
            out.extend(run)
        elif run not in STOP_WORDS:
            out.append(_stem(run))
    return out


def has_cjk(text: str) -> bool:
    """Return whether ``text`` has a Chinese, Japanese or Korean character."""
    return _CJK_RE.search(text) is not None
