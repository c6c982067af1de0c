from __future__ import annotations

import math
import zlib

import numpy as np

from langchain_finops.routing._features import SparseRows, hash_features, hash_rows
from langchain_finops.routing._logistic import fit_logistic, sigmoid


def test_crc32_buckets_are_stable_across_processes() -> None:
    # crc32("hello") is a fixed published value, unlike hash().
    assert zlib.crc32(b"hello") == 907060870
    counts = hash_features("hello", 2**10)
    bucket = 907060870 & (2**10 - 1)
    sign = -1.0 if 907060870 & (1 << 31) else 1.0
    assert counts[bucket] == sign
    # "hello" (5 chars) -> #len2, no digits -> #digits0, no newline -> #lines0
    expected = {"hello", "#len2", "#digits0", "#lines0"}
    assert len(counts) == len(expected)


def test_repeated_words_add_up_and_bigrams_are_counted() -> None:
    counts = hash_features("go go", 2**20)
    go = zlib.crc32(b"go")
    go_go = zlib.crc32(b"go go")

    def sign(c):
        return -1.0 if c & (1 << 31) else 1.0

    assert counts[go & (2**20 - 1)] == 2 * sign(go)
    assert counts[go_go & (2**20 - 1)] == sign(go_go)


def _dense(rows: SparseRows) -> np.ndarray:
    out = np.zeros((rows.n_rows, rows.n_features))
    for r in range(rows.n_rows):
        for k in range(rows.indptr[r], rows.indptr[r + 1]):
            out[r, rows.indices[k]] += rows.values[k]
    return out


def test_sparse_products_match_dense_algebra() -> None:
    rows = SparseRows(
        indptr=np.array([0, 2, 2, 3]),
        indices=np.array([0, 3, 1]),
        values=np.array([1.0, 2.0, -3.0]),
        n_features=4,
    )
    w = np.array([0.5, 1.0, -1.0, 2.0])
    assert rows.dot(w).tolist() == [4.5, 0.0, -3.0]
    r = np.array([1.0, 7.0, 2.0])
    assert rows.transpose_dot(r).tolist() == [1.0, -6.0, 0.0, 2.0]
    scaled = rows.scaled(np.array([1.0, 1.0, 1.0, 0.5]))
    # row 0 becomes [1, 0, 0, 1] / sqrt(2); the empty row stays empty.
    assert np.allclose(_dense(scaled)[0], [1 / math.sqrt(2), 0, 0, 1 / math.sqrt(2)])
    assert np.allclose(_dense(scaled)[2], [0, -1.0, 0, 0])


def test_hash_rows_hold_log_counts() -> None:
    rows = hash_rows(["go go", ""], 2**20)
    go = zlib.crc32(b"go") & (2**20 - 1)
    dense = _dense(rows)
    assert abs(dense[0, go]) == math.log1p(2)
    # An empty prompt still has its shape tokens (#len0, #digits0, #lines0).
    assert rows.indptr[2] - rows.indptr[1] == 3


def test_logistic_fit_reaches_the_penalised_optimum() -> None:
    rng = np.random.default_rng(0)
    n, d = 200, 8
    x = rng.normal(size=(n, d))
    y = (x[:, 0] + 0.5 * x[:, 1] + rng.normal(scale=0.5, size=n) > 0).astype(float)
    indptr = np.arange(0, n * d + 1, d)
    rows = SparseRows(indptr, np.tile(np.arange(d), n), x.ravel(), d)
    l2 = 0.01
    w, b = fit_logistic(rows, y, l2=l2, epochs=3000, learning_rate=0.05)
    p = sigmoid(x @ w + b)
    # At the optimum the gradient of the penalised mean log loss vanishes.
    grad_w = x.T @ (p - y) / n + l2 * w
    assert np.max(np.abs(grad_w)) < 1e-4
    assert abs(float((p - y).mean())) < 1e-4
    assert w[0] > w[1] > 0
