"""Exact, approximate and adaptive vector indexes."""

from __future__ import annotations

import math

import faiss
import numpy as np
import pytest

from langchain_finops.cache._index import AdaptiveIndex, FlatIndex, IVFIndex

DIM = 32


def clustered(count: int, seed: int) -> np.ndarray:
    """Unit vectors around `count // 20` random centres, like cached topics."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((count // 20, DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    points = centres[rng.integers(0, len(centres), count)]
    points = points + 0.15 * rng.standard_normal((count, DIM)).astype(np.float32)
    return points / np.linalg.norm(points, axis=1, keepdims=True)


def noisy(vectors: np.ndarray, seed: int) -> np.ndarray:
    """Paraphrase-like queries: each vector plus a little noise."""
    rng = np.random.default_rng(seed)
    out = vectors + 0.08 * rng.standard_normal(vectors.shape).astype(np.float32)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_adaptive_recall_at_one_matches_exact_search() -> None:
    vectors = clustered(4000, seed=1)
    ids = np.arange(4000, dtype=np.int64)
    exact = FlatIndex(DIM)
    exact.add(ids, vectors)
    adaptive = AdaptiveIndex(DIM, threshold=1000)
    for start in range(0, 4000, 500):
        adaptive.add(ids[start : start + 500], vectors[start : start + 500])
    assert adaptive.approximate
    assert len(adaptive) == 4000
    queries = noisy(vectors[::8], seed=2)
    agree = [
        adaptive.search(query, 1)[0][0] == exact.search(query, 1)[0][0]
        for query in queries
    ]
    assert len(agree) == 500
    assert sum(agree) / len(agree) >= 0.99


def test_approximate_scores_are_the_exact_inner_products() -> None:
    vectors = clustered(2000, seed=3)
    index = IVFIndex(ids=np.arange(2000, dtype=np.int64), vectors=vectors)
    query = noisy(vectors[:1], seed=4)[0]
    hits = index.search(query, 3)
    assert len(hits) == 3
    for entry, score in hits:
        assert score == pytest.approx(float(vectors[entry] @ query), abs=1e-5)
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)


def test_removed_ids_are_never_returned() -> None:
    vectors = clustered(3000, seed=5)
    ids = np.arange(100, 3100, dtype=np.int64)
    index = AdaptiveIndex(DIM, threshold=1000)
    index.add(ids, vectors)
    assert index.approximate
    removed = ids[::3]
    index.remove(np.concatenate([removed, np.array([-5, 999_999])]))
    assert len(index) == 2000
    gone = set(removed.tolist())
    for vector in vectors[::3]:
        found = {entry for entry, _ in index.search(vector, 10)}
        assert len(found) == 10
        assert not found & gone
    # A kept vector is still found as its own best match.
    top, score = index.search(vectors[1], 1)[0]
    assert top == 101
    assert score == pytest.approx(1.0, abs=1e-5)


def test_flat_removal_and_unknown_ids() -> None:
    index = FlatIndex(4)
    eye = np.eye(4, dtype=np.float32)
    index.add(np.array([10, 11, 12, 13]), eye)
    index.remove(np.array([11, 77]))
    assert len(index) == 3
    query = np.array([0.5, 0.9, 0.25, 0.125], dtype=np.float32)
    # Id 11 (score 0.9) is gone; the rest come back best first.
    assert index.search(query, 4) == [(10, 0.5), (12, 0.25), (13, 0.125)]
    ids, stored = index.contents()
    assert sorted(ids.tolist()) == [10, 12, 13]
    for entry, row in zip(ids, stored, strict=True):
        assert np.array_equal(row, eye[entry - 10])


def test_migration_keeps_every_id_and_vector() -> None:
    vectors = clustered(1500, seed=6)
    ids = np.arange(5000, 6500, dtype=np.int64)
    index = AdaptiveIndex(DIM, threshold=1200)
    index.add(ids[:1199], vectors[:1199])
    assert not index.approximate
    index.add(ids[1199:], vectors[1199:])
    assert index.approximate
    assert len(index) == 1500
    for entry, vector in zip(ids, vectors, strict=True):
        top, score = index.search(vector, 1)[0]
        assert top == entry
        assert score == pytest.approx(1.0, abs=1e-5)


def test_growth_rebuilds_with_more_groups_and_keeps_ids() -> None:
    vectors = clustered(2400, seed=7)
    ids = np.arange(2400, dtype=np.int64)
    index = IVFIndex(ids=ids[:1000], vectors=vectors[:1000], regrow=2.0)
    assert index.nlist == int(4 * math.sqrt(1000)) == 126
    assert index.nprobe == 64
    index.nprobe = 200
    assert index.nprobe == 126
    index.add(ids[1000:1999], vectors[1000:1999])
    assert index.nlist == 126
    index.add(ids[1999:], vectors[1999:])
    assert index.nlist == int(4 * math.sqrt(2400)) == 195
    assert index.nprobe == 195
    index.nprobe = None
    assert index.nprobe == 64
    stored_ids, stored = index.contents()
    order = np.argsort(stored_ids)
    assert np.array_equal(stored_ids[order], ids)
    assert np.array_equal(stored[order], vectors)


def test_empty_searches_return_nothing() -> None:
    query = np.ones(DIM, dtype=np.float32) / math.sqrt(DIM)
    assert FlatIndex(DIM).search(query, 4) == []
    ids, stored = FlatIndex(DIM).contents()
    assert ids.shape == (0,)
    assert stored.shape == (0, DIM)
    assert AdaptiveIndex(DIM, threshold=1000).search(query, 4) == []
    vectors = clustered(1000, seed=8)
    ids = np.arange(1000, dtype=np.int64)
    index = IVFIndex(ids=ids, vectors=vectors)
    index.remove(ids)
    assert len(index) == 0
    assert index.search(query, 4) == []


def test_search_runs_on_one_thread_and_restores_the_setting() -> None:
    before = faiss.omp_get_max_threads()
    try:
        faiss.omp_set_num_threads(2)
        index = FlatIndex(4)
        index.add(np.array([1]), np.eye(4, dtype=np.float32)[:1])
        assert index.search(np.eye(4, dtype=np.float32)[0], 1) == [(1, 1.0)]
        assert faiss.omp_get_max_threads() == 2
    finally:
        faiss.omp_set_num_threads(before)


def test_bad_arguments_are_refused_with_the_value() -> None:
    with pytest.raises(ValueError, match=r"threshold must be at least 1000.*got 10"):
        AdaptiveIndex(DIM, threshold=10)
    few = clustered(200, seed=9)
    with pytest.raises(ValueError, match=r"at least 1000 vectors.*got 200"):
        IVFIndex(ids=np.arange(200, dtype=np.int64), vectors=few)
    many = clustered(1000, seed=9)
    with pytest.raises(ValueError, match=r"nprobe must be at least 1, got 0"):
        IVFIndex(ids=np.arange(1000, dtype=np.int64), vectors=many, nprobe=0)
    with pytest.raises(ValueError, match=r"regrow must be above 1, got 1\.0"):
        IVFIndex(ids=np.arange(1000, dtype=np.int64), vectors=many, regrow=1.0)
