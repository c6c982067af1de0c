from __future__ import annotations

import math
import re
from collections.abc import Mapping

from langchain_core.embeddings import Embeddings
from langchain_core.runnables import RunnableConfig

from langchain_finops.routing import RoutingClassifier, RoutingDecision


class KeywordClassifier(RoutingClassifier):
    """A test double: the score is the highest score of the words it knows."""

    def __init__(
        self,
        scores: Mapping[str, float],
        *,
        fallback_words: tuple[str, ...] = (),
        threshold: float = 0.5,
    ) -> None:
        self.words = dict(scores)
        self.fallback_words = fallback_words
        self.default_threshold = threshold
        self.seen: list[str] = []

    def classify(
        self, prompt: str, config: RunnableConfig | None = None
    ) -> RoutingDecision:
        self.seen.append(prompt)
        words = re.findall(r"\w+", prompt.lower())
        if any(w in self.fallback_words for w in words):
            return RoutingDecision(1.0, "unknown", fallback_reason="unknown label 'x'")
        score = max((self.words.get(w, 0.0) for w in words), default=0.0)
        return RoutingDecision(score, "strong" if score >= 0.5 else "cheap")


class BagOfWordsEmbeddings(Embeddings):
    """Real lexical semantics: a normalised count vector over a fixed vocabulary."""

    def __init__(self, vocabulary: list[str]) -> None:
        self.vocabulary = {w: i for i, w in enumerate(vocabulary)}
        self.calls = 0

    def _embed(self, text: str) -> list[float]:
        vector = [0.0] * len(self.vocabulary)
        for word in re.findall(r"\w+", text.lower()):
            if word in self.vocabulary:
                vector[self.vocabulary[word]] += 1.0
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        return [v / norm for v in vector]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls += 1
        return [self._embed(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        self.calls += 1
        return self._embed(text)


class TableEmbeddings(Embeddings):
    """Vectors looked up in a table: similarities are known exactly."""

    def __init__(self, table: Mapping[str, list[float]]) -> None:
        self.table = dict(table)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.table[t] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.table[text]
