"""Vector indexes behind a small interface, so another engine can slot in."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["FlatIndex", "VectorIndex"]


class VectorIndex(Protocol):
    """Inner-product search over unit vectors, keyed by entry id."""

    def add(self, ids: NDArray[np.int64], vectors: NDArray[np.float32]) -> None:
        """Add one row of `vectors` per id."""

    def remove(self, ids: NDArray[np.int64]) -> None:
        """Remove the ids present; unknown ids are ignored."""

    def search(self, vector: NDArray[np.float32], k: int) -> list[tuple[int, float]]:
        """The `k` nearest ids with their inner products, best first."""

    def __len__(self) -> int:
        """How many vectors the index holds."""


class FlatIndex:
    """Exact FAISS inner-product search (`IndexFlatIP` under an id map).

    Args:
        dimension: Vector length.
    """

    def __init__(self, dimension: int) -> None:
        import faiss

        self._faiss = faiss
        self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))

    def add(self, ids: NDArray[np.int64], vectors: NDArray[np.float32]) -> None:
        """Add one row of `vectors` per id."""
        self._index.add_with_ids(
            np.ascontiguousarray(vectors, dtype=np.float32),
            np.ascontiguousarray(ids, dtype=np.int64),
        )

    def remove(self, ids: NDArray[np.int64]) -> None:
        """Remove the ids present; unknown ids are ignored."""
        if len(ids):
            selector = self._faiss.IDSelectorBatch(np.ascontiguousarray(ids, np.int64))
            self._index.remove_ids(selector)

    def search(self, vector: NDArray[np.float32], k: int) -> list[tuple[int, float]]:
        """The `k` nearest ids with their inner products, best first."""
        if self._index.ntotal == 0:
            return []
        scores, ids = self._index.search(
            np.ascontiguousarray(vector.reshape(1, -1), dtype=np.float32),
            min(k, self._index.ntotal),
        )
        return [
            (int(entry), float(score))
            for entry, score in zip(ids[0], scores[0], strict=True)
            if entry != -1
        ]

    def __len__(self) -> int:
        return int(self._index.ntotal)
