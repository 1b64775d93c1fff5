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
        if _IS_CJK.match(run):
            if len(run) == 1:
                out.append(run)
            else:
                out.extend(run[i : i + 2] for i in range(len(run) - 1))
        else:
            out.append("w:" + run)
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
        scores = self.scores(query)
        if scores.size == 0:
            return []
        if among is not None:
            positions = [self._position[k] for k in among if k in self._position]
            mask = np.zeros(scores.shape, dtype=bool)
            mask[positions] = True
            scores = np.where(mask, scores, 0.0)
        best = float(scores.max(initial=0.0))
        if best <= 0:
            return []
        cut = max(min_score, relative * best)
        order = np.argsort(-scores, kind="stable")
        return [Hit(self.keys[i], float(scores[i])) for i in order if scores[i] >= cut]
