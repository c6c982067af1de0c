"""Vector indexes behind a small interface, so another engine can slot in."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "APPROXIMATE_THRESHOLD",
    "AdaptiveIndex",
    "FlatIndex",
    "IVFIndex",
    "VectorIndex",
]

# Partition size at which exact search on one thread crosses about 1 ms for
# 384-d vectors: 0.65 ms p50 at 15,000, 0.99 at 17,500, 1.08 at 20,000 (measured with
# benchmarks/cache_index_recall.py).
APPROXIMATE_THRESHOLD = 16_000


@contextmanager
def _one_thread(faiss: Any) -> Iterator[None]:
    """Run FAISS on one OpenMP thread for the block, then restore.

    A single-vector search gains nothing from threads, and on a loaded machine
    the default team made one search 300 times slower. The OpenMP setting is
    per calling thread, so this does not change other threads' searches.
    """
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


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


class _FaissIndex:
    """Removal and search, shared by the exact and the approximate index.

    Subclasses set `_faiss` (the module) and `_index` (a FAISS index that
    keeps the caller's ids).
    """

    _faiss: Any
    _index: Any

    def remove(self, ids: NDArray[np.int64]) -> None:
        """Remove the ids present; unknown ids are ignored."""
        if len(ids):
            selector = self._faiss.IDSelectorBatch(np.ascontiguousarray(ids, np.int64))
            self._index.remove_ids(selector)

    def search(self, vector: NDArray[np.float32], k: int) -> list[tuple[int, float]]:
        """The `k` nearest ids with their inner products, best first."""
        if self._index.ntotal == 0:
            return []
        with _one_thread(self._faiss):
            scores, ids = self._index.search(
                np.ascontiguousarray(vector.reshape(1, -1), dtype=np.float32),
                min(k, self._index.ntotal),
            )
        return _pairs(ids[0], scores[0])

    def __len__(self) -> int:
        return int(self._index.ntotal)


class FlatIndex(_FaissIndex):
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

    def contents(self) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """Every stored id with its vector, for moving them to another index."""
        ids = self._faiss.vector_to_array(self._index.id_map).astype(np.int64)
        flat: Any = self._faiss.downcast_index(self._index.index)
        codes = self._faiss.vector_to_array(flat.codes)
        return ids, codes.view(np.float32).reshape(len(ids), flat.d).copy()


def _check_nprobe(nprobe: int | None) -> None:
    if nprobe is not None and nprobe < 1:
        msg = (
            f"nprobe must be at least 1, got {nprobe!r}; it is how many groups "
            "one search scans (None picks 64 or 1 in 32 groups)."
        )
        raise ValueError(msg)


def _pairs(
    ids: NDArray[np.int64], scores: NDArray[np.float32]
) -> list[tuple[int, float]]:
    return [
        (int(entry), float(score))
        for entry, score in zip(ids, scores, strict=True)
        if entry != -1
    ]


class IVFIndex(_FaissIndex):
    """Approximate FAISS inner-product search (`IndexIVFFlat`).

    Vectors are grouped around `nlist` k-means centres (about 4 times the
    square root of the count) and a search scans the `nprobe` groups nearest
    the query (all of them if there are fewer). By default `nprobe` is 64 or
    1 in 32 groups, whichever is more: a share of the groups alone would scan
    too much of a small index, a fixed count too little of a large one.
    The index trains on the vectors it is built from and rebuilds itself, with
    a larger `nlist`, once it has grown to `regrow` times the size it was
    trained at, so the groups stay small. Ids are the caller's own (IVF stores
    them per vector), and removal takes them out of their group.

    Args:
        ids: Ids of the initial vectors.
        vectors: The initial vectors, one row per id (unit length); there must
            be at least `MIN_TRAIN` of them.
        nprobe: How many groups a search scans, or None for the default
            rule above (measured in benchmarks/results/cache_index_recall.md).
        regrow: Growth factor that triggers a rebuild.
        seed: K-means seed, for reproducible builds.

    Raises:
        ValueError: If there are too few vectors to train on, or an argument is
            out of range.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> vectors = rng.standard_normal((2000, 8)).astype(np.float32)
        >>> vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        >>> index = IVFIndex(ids=np.arange(2000), vectors=vectors)
        >>> index.search(vectors[7], 1)[0][0]
        7
    """

    MIN_TRAIN = 1_000

    def __init__(
        self,
        *,
        ids: NDArray[np.int64],
        vectors: NDArray[np.float32],
        nprobe: int | None = None,
        regrow: float = 4.0,
        seed: int = 0,
    ) -> None:
        _check_nprobe(nprobe)
        if regrow <= 1:
            msg = f"regrow must be above 1, got {regrow!r}; try 4.0."
            raise ValueError(msg)
        if len(ids) < self.MIN_TRAIN:
            msg = (
                f"IVFIndex needs at least {self.MIN_TRAIN} vectors to train on, "
                f"got {len(ids)}; use FlatIndex (or AdaptiveIndex) below that."
            )
            raise ValueError(msg)
        import faiss

        self._faiss = faiss
        self._nprobe = nprobe
        self._regrow = regrow
        self._seed = seed
        self._dimension = int(vectors.shape[1])
        self._index: Any = None
        self._trained_at = 0
        self._build(
            np.ascontiguousarray(ids, dtype=np.int64),
            np.ascontiguousarray(vectors, dtype=np.float32),
        )

    @property
    def nlist(self) -> int:
        """How many groups the index has."""
        return int(self._index.nlist)

    @property
    def nprobe(self) -> int:
        """How many groups one search scans."""
        return int(self._index.nprobe)

    @nprobe.setter
    def nprobe(self, value: int | None) -> None:
        _check_nprobe(value)
        self._nprobe = value
        self._index.nprobe = self._probes(self.nlist)

    def _probes(self, nlist: int) -> int:
        if self._nprobe is None:
            return min(nlist, max(64, math.ceil(nlist / 32)))
        return min(nlist, self._nprobe)

    def _build(self, ids: NDArray[np.int64], vectors: NDArray[np.float32]) -> None:
        faiss = self._faiss
        count = len(ids)
        nlist = max(1, int(4 * math.sqrt(count)))
        quantizer = faiss.IndexFlatIP(self._dimension)
        index = faiss.IndexIVFFlat(
            quantizer, self._dimension, nlist, faiss.METRIC_INNER_PRODUCT
        )
        index.cp.seed = self._seed
        # At 4 * sqrt(n) groups a small index has fewer than the 39 points a
        # centre FAISS asks for; recall is measured fine there, so no warning.
        index.cp.min_points_per_centroid = 1
        # K-means gains little past ~40 points a centre; a sample bounds the
        # cost of a rebuild at large sizes.
        sample = min(count, 40 * nlist)
        if sample < count:
            rows = np.random.default_rng(self._seed).choice(count, sample, False)
            train = vectors[np.sort(rows)]
        else:
            train = vectors
        with _one_thread(faiss):
            index.train(train)
            index.add_with_ids(vectors, ids)
        index.nprobe = self._probes(nlist)
        self._index = index
        self._quantizer = quantizer  # the IVF index does not own it
        self._trained_at = count

    def contents(self) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """Every stored id with its vector, read back from the groups."""
        invlists = self._index.invlists
        id_parts: list[NDArray[np.int64]] = []
        vector_parts: list[NDArray[np.float32]] = []
        for group in range(invlists.nlist):
            size = invlists.list_size(group)
            if size == 0:
                continue
            group_ids = self._faiss.rev_swig_ptr(invlists.get_ids(group), size)
            codes = self._faiss.rev_swig_ptr(
                invlists.get_codes(group), size * invlists.code_size
            )
            id_parts.append(np.array(group_ids, dtype=np.int64))
            vector_parts.append(
                np.frombuffer(bytes(codes), dtype=np.float32).reshape(size, -1)
            )
        if not id_parts:
            return (
                np.empty(0, dtype=np.int64),
                np.empty((0, self._dimension), dtype=np.float32),
            )
        return np.concatenate(id_parts), np.concatenate(vector_parts)

    def add(self, ids: NDArray[np.int64], vectors: NDArray[np.float32]) -> None:
        """Add one row of `vectors` per id; rebuild if grown `regrow` times."""
        with _one_thread(self._faiss):
            self._index.add_with_ids(
                np.ascontiguousarray(vectors, dtype=np.float32),
                np.ascontiguousarray(ids, dtype=np.int64),
            )
        if self._index.ntotal >= self._regrow * self._trained_at:
            self._build(*self.contents())


class AdaptiveIndex:
    """Exact search while small, approximate past `threshold` vectors.

    Starts as a `FlatIndex`; the add that brings it to `threshold` vectors
    moves every id and vector into an `IVFIndex` trained on them. It stays
    approximate afterwards, as removals of a few entries would otherwise make
    it migrate back and forth.

    Args:
        dimension: Vector length.
        threshold: Size at which to switch (default `APPROXIMATE_THRESHOLD`);
            at least `IVFIndex.MIN_TRAIN`.

    Raises:
        ValueError: If `threshold` is below `IVFIndex.MIN_TRAIN`.

    Example:
        >>> import numpy as np
        >>> index = AdaptiveIndex(dimension=4)
        >>> index.add(np.array([1]), np.array([[1, 0, 0, 0]], dtype=np.float32))
        >>> index.search(np.array([1, 0, 0, 0], dtype=np.float32), 1)
        [(1, 1.0)]
    """

    def __init__(
        self, dimension: int, *, threshold: int = APPROXIMATE_THRESHOLD
    ) -> None:
        if threshold < IVFIndex.MIN_TRAIN:
            msg = (
                f"threshold must be at least {IVFIndex.MIN_TRAIN} (IVF training "
                f"needs that many vectors), got {threshold!r}."
            )
            raise ValueError(msg)
        self._threshold = threshold
        self._flat: FlatIndex | None = FlatIndex(dimension)
        self._ivf: IVFIndex | None = None

    @property
    def approximate(self) -> bool:
        """Whether the index has switched to approximate search."""
        return self._ivf is not None

    def add(self, ids: NDArray[np.int64], vectors: NDArray[np.float32]) -> None:
        """Add one row of `vectors` per id, switching at the threshold."""
        if self._ivf is not None:
            self._ivf.add(ids, vectors)
            return
        assert self._flat is not None
        self._flat.add(ids, vectors)
        if len(self._flat) >= self._threshold:
            stored_ids, stored = self._flat.contents()
            self._ivf = IVFIndex(ids=stored_ids, vectors=stored)
            self._flat = None

    def remove(self, ids: NDArray[np.int64]) -> None:
        """Remove the ids present; unknown ids are ignored."""
        self._current().remove(ids)

    def search(self, vector: NDArray[np.float32], k: int) -> list[tuple[int, float]]:
        """The `k` nearest ids found with their inner products, best first."""
        return self._current().search(vector, k)

    def _current(self) -> FlatIndex | IVFIndex:
        if self._ivf is not None:
            return self._ivf
        assert self._flat is not None
        return self._flat

    def __len__(self) -> int:
        return len(self._current())
