"""Bilingual text features: Chinese character bigrams and English words plus character trigrams.

Chinese needs no tokenizer this way: overlapping character bigrams catch most words, and TF-IDF
weights them. A capability vocabulary (tag -> Chinese and English terms) bridges the two languages.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.feature_extraction.text import TfidfVectorizer

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUNS = re.compile(rf"[{_CJK}]+|[a-z0-9]+(?:[.+#-][a-z0-9]+)*")
_IS_CJK = re.compile(rf"[{_CJK}]")


def normalise(text: str) -> str:
    """Fold full-width forms and case, so 'ＳＥＭ' and 'sem' are the same."""
    return unicodedata.normalize("NFKC", text).lower()


def features(text: str) -> list[str]:
    """The terms a text is indexed by: CJK bigrams (a lone character stands for itself), English words
    and their padded character trigrams (so 'bonder' still meets 'bonding')."""
    out: list[str] = []
    for run in _RUNS.findall(normalise(text)):
        out.extend(_cjk_terms(run) if _IS_CJK.match(run) else _latin_terms(run))
    return out


def _cjk_terms(run: str) -> list[str]:
    return [run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)]


def _latin_terms(run: str) -> list[str]:
    out = ["w:" + run]
    if len(run) >= 4:
        padded = f"<{run}>"
        out.extend("t:" + padded[i : i + 3] for i in range(len(padded) - 2))
    return out


class Vocabulary:
    """Capability tags with their terms in both languages, prepared once for fast query expansion."""

    def __init__(self, terms: Mapping[str, Sequence[str]]) -> None:
        self.terms = {tag: list(words) for tag, words in terms.items()}
        self._cjk: dict[str, list[str]] = {}
        self._latin: dict[str, re.Pattern[str]] = {}
        for tag, words in self.terms.items():
            folded = [normalise(w) for w in [*words, tag.replace("-", " ")] if w.strip()]
            self._cjk[tag] = [w for w in folded if _IS_CJK.search(w)]
            latin = sorted({w for w in folded if not _IS_CJK.search(w)}, key=len, reverse=True)
            if latin:
                alternation = "|".join(re.escape(w) for w in latin)
                self._latin[tag] = re.compile(rf"(?<![a-z0-9])(?:{alternation})(?![a-z0-9])")

    def tags_in(self, query: str) -> list[str]:
        q = normalise(query)
        return [
            tag
            for tag in self.terms
            if any(w in q for w in self._cjk[tag]) or (tag in self._latin and self._latin[tag].search(q))
        ]


def expand_query(query: str, vocabulary: Vocabulary | Mapping[str, Sequence[str]]) -> tuple[str, list[str]]:
    """Add the other-language terms of every vocabulary tag the query mentions.

    Returns the expanded query and the tags that matched, so an English "machine vision" also
    searches for 机器视觉. Terms match as substrings in Chinese and as whole words in English.
    """
    vocab = vocabulary if isinstance(vocabulary, Vocabulary) else Vocabulary(vocabulary)
    matched = vocab.tags_in(query)
    extra = [term for tag in matched for term in vocab.terms[tag]]
    return " ".join([query, *extra]), matched


@dataclass(frozen=True)
class Hit:
    key: int
    score: float


# Words that say nothing about what a resource does: a search never matches on them alone. English
# function words, and the Chinese function characters whose bigrams would join any two phrases.
STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "per",
        "the",
        "to",
        "via",
        "with",
        "without",
    ]
)
_CJK_STOP_CHARS = frozenset("的了和与及或之")


def search_features(text: str) -> list[str]:
    """``features`` without stop words: an English stop word gives neither its word nor its trigrams,
    and a Chinese bigram holding a function character is dropped."""
    out: list[str] = []
    for run in _RUNS.findall(normalise(text)):
        if _IS_CJK.match(run):
            out.extend(g for g in _cjk_terms(run) if not _CJK_STOP_CHARS.intersection(g))
        elif run not in STOP_WORDS:
            out.extend(_latin_terms(run))
    return out


def query_units(query: str) -> list[list[str]]:
    """The words of a query as the index sees them, stop words left out: per English word its word
    term first, then its trigrams; per Chinese run its bigrams."""
    units: list[list[str]] = []
    for run in _RUNS.findall(normalise(query)):
        if _IS_CJK.match(run):
            grams = [g for g in _cjk_terms(run) if not _CJK_STOP_CHARS.intersection(g)]
            if grams:
                units.append(grams)
        elif run not in STOP_WORDS:
            units.append(_latin_terms(run))
    return units


def _ranked(
    keys: Sequence[int],
    position: Mapping[int, int],
    scores: np.ndarray,
    among: Iterable[int] | None,
    min_score: float,
    relative: float,
) -> list[Hit]:
    if scores.size == 0:
        return []
    if among is not None:
        positions = [position[k] for k in among if k in position]
        mask = np.zeros(scores.shape, dtype=bool)
        mask[positions] = True
        scores = np.where(mask, scores, 0.0)
    best = float(scores.max(initial=0.0))
    if best <= 0:
        return []
    cut = max(min_score, relative * best)
    order = np.argsort(-scores, kind="stable")
    return [Hit(keys[i], float(scores[i])) for i in order if scores[i] >= cut]


class FieldedIndex:
    """TF-IDF per field (a resource's name, its capability tags, its long description), each with its
    own vocabulary and weights; a query's score is the weighted mean of its cosine in each field. So a
    word in a name or a capability tag counts for more than the same word deep in a description, and a
    long description cannot outweigh a short name by its length."""

    def __init__(
        self, documents: Iterable[tuple[int, Mapping[str, str]]], weights: Mapping[str, float]
    ) -> None:
        docs = list(documents)
        self.keys: list[int] = [k for k, _ in docs]
        self._position = {k: i for i, k in enumerate(self.keys)}
        total = sum(weights.values())
        self.weights = {field: w / total for field, w in weights.items()}
        self._fields: dict[str, tuple[TfidfVectorizer, csr_matrix]] = {}
        for field in self.weights:
            texts = [fields.get(field, "") for _, fields in docs]
            if not any(t.strip() for t in texts):
                continue
            vectorizer = TfidfVectorizer(analyzer=search_features, sublinear_tf=True, dtype=np.float32)
            try:
                self._fields[field] = (vectorizer, vectorizer.fit_transform(texts))
            except ValueError:  # nothing left once stop words are gone
                continue

    def __len__(self) -> int:
        return len(self.keys)

    def coverage(self, query: str) -> np.ndarray:
        """How much of the query each document holds, in any one field, averaged over the query's
        words (stop words left out): an English word counts when the document holds it or half its
        trigrams at least (so 'bonding' still meets 'bonder'); a Chinese run, which may be a whole
        sentence, counts by the share of its bigrams the document holds."""
        units = query_units(query)
        size = len(self.keys)
        if not units:
            return np.ones(size, dtype=np.float32)
        covered = np.zeros(size, dtype=np.float32)
        for unit in units:
            latin = unit[0].startswith("w:")
            grams = sorted(set(unit[1:] if latin else unit))
            best = np.zeros(size, dtype=np.float32)
            for vectorizer, matrix in self._fields.values():
                vocabulary = vectorizer.vocabulary_
                columns = [vocabulary[g] for g in grams if g in vocabulary]
                present = (
                    np.asarray((matrix[:, columns] > 0).sum(axis=1)).ravel() if columns else np.zeros(size)
                )
                if latin:
                    word = (
                        np.asarray((matrix[:, [vocabulary[unit[0]]]] > 0).toarray()).ravel()
                        if unit[0] in vocabulary
                        else np.zeros(size, dtype=bool)
                    )
                    hit = (word | (present >= max(1, len(grams) / 2) if grams else word)).astype(np.float32)
                else:
                    hit = (present / len(grams)).astype(np.float32)
                best = np.maximum(best, hit)
            covered += best
        return covered / len(units)

    def scores(self, query: str) -> np.ndarray:
        total = np.zeros(len(self.keys), dtype=np.float32)
        for field, (vectorizer, matrix) in self._fields.items():
            q = vectorizer.transform([query])
            if q.nnz:
                total += self.weights[field] * np.asarray((matrix @ q.T).toarray()).ravel()
        return total

    def search(
        self,
        query: str,
        *,
        among: Iterable[int] | None = None,
        min_score: float = 0.05,
        relative: float = 0.2,
        asked: str | None = None,
    ) -> list[Hit]:
        """Documents matching ``query``, best first, with weak tail matches dropped (see
        ``TextIndex.search``). The weighted score is scaled by how many of the words of ``asked`` (the
        words the user typed, before any expansion; ``query`` itself by default) a document holds."""
        relevance = self.scores(query)
        scores = relevance * self.coverage(asked if asked is not None else query)
        # The floor applies to the relevance itself: a long sentence covers little of any one document.
        scores = np.where(relevance >= min_score, scores, 0.0)
        return _ranked(self.keys, self._position, scores, among, 0.0, relative)


class TextIndex:
    """TF-IDF over ``features``; cosine scores of a query against every document."""

    def __init__(self, documents: Iterable[tuple[int, str]]) -> None:
        docs = list(documents)
        self.keys: list[int] = [k for k, _ in docs]
        self._position = {k: i for i, k in enumerate(self.keys)}
        self._vectorizer = TfidfVectorizer(analyzer=features, sublinear_tf=True, dtype=np.float32)
        if docs:
            self._matrix: csr_matrix | None = self._vectorizer.fit_transform([t for _, t in docs])
        else:
            self._matrix = None

    def __len__(self) -> int:
        return len(self.keys)

    def scores(self, query: str) -> np.ndarray:
        if self._matrix is None:
            return np.zeros(0, dtype=np.float32)
        q = self._vectorizer.transform([query])
        return np.asarray((self._matrix @ q.T).toarray()).ravel()

    def search(
        self,
        query: str,
        *,
        among: Iterable[int] | None = None,
        min_score: float = 0.05,
        relative: float = 0.2,
    ) -> list[Hit]:
        """Documents matching ``query``, best first. Weak tail matches (below ``relative`` times the
        best score, or below ``min_score``) are dropped so a search returns what it was asked for."""
        return _ranked(self.keys, self._position, self.scores(query), among, min_score, relative)
