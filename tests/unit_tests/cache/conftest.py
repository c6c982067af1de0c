from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable

import numpy as np
import pytest
from langchain_core.embeddings import Embeddings

from langchain_finops.embeddings import DefaultEmbeddings


class WordBagEmbeddings(Embeddings):
    """Deterministic plumbing embedder: a normalised bag of hashed words.

    Texts with the same words embed identically; each shared word raises the
    cosine by a known amount, so tests can reason about similarities.
    """

    dimension = 256
    embedder_id = "test-word-bag-256"

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.threads: set[int] = set()
        self._lock = threading.Lock()

    def _vector(self, text: str) -> list[float]:
        with self._lock:
            self.calls.append(text)
            self.threads.add(threading.get_ident())
        vector = np.zeros(self.dimension, dtype=np.float64)
        for word in re.findall(r"\w+", text.lower()):
            digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
            vector[int.from_bytes(digest, "little") % self.dimension] += 1.0
        norm = np.linalg.norm(vector)
        if norm:
            vector /= norm
        return [float(item) for item in vector]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._vector(text) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)


class TableEmbeddings(Embeddings):
    """Returns the vector listed for each text (for exact calibration sums)."""

    embedder_id = "test-table"

    def __init__(self, table: dict[str, list[float]]) -> None:
        self.table = table
        self.dimension = len(next(iter(table.values())))

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.table[text] for text in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.table[text]


@pytest.fixture(scope="session")
def real_embeddings() -> DefaultEmbeddings:
    embeddings = DefaultEmbeddings()
    embeddings.embed_query("warm up")  # load the ONNX model once per session
    return embeddings


@pytest.fixture
def word_bag() -> WordBagEmbeddings:
    return WordBagEmbeddings()


@pytest.fixture
def word_bag_factory() -> Callable[[], WordBagEmbeddings]:
    return WordBagEmbeddings


@pytest.fixture
def table_embeddings() -> Callable[[dict[str, list[float]]], TableEmbeddings]:
    return TableEmbeddings
