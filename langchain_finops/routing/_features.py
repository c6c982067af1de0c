"""Hashed word n-gram features of a prompt, in pure Python and numpy.

A prompt becomes a sparse vector of word unigrams, word bigrams and a few
coarse shape tokens (length, digits, code and maths marks), hashed into a fixed
number of buckets with CRC-32. CRC-32 is stable across processes and Python
versions, unlike `hash()`, so the weights trained on one machine score the
same on another.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import numpy.typing as npt

__all__ = ["SparseRows", "hash_features", "hash_rows"]

_WORD = re.compile(r"\w+", re.UNICODE)
# Long prompts are cut before tokenising so that scoring time stays bounded;
# the length token still sees the whole prompt.
MAX_CHARS = 4000
_SIGN_BIT = 1 << 31


@dataclass(frozen=True)
class SparseRows:
    """Rows of a sparse matrix in compressed-row form (no scipy at run time)."""

    indptr: npt.NDArray[np.int64]
    indices: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]
    n_features: int

    @property
    def n_rows(self) -> int:
        """How many rows the matrix has."""
        return len(self.indptr) - 1

    def dot(self, weights: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Each row's dot product with `weights`."""
        products = self.values * weights[self.indices]
        out: npt.NDArray[np.float64] = np.bincount(
            self._row_of(), weights=products, minlength=self.n_rows
        ).astype(np.float64, copy=False)
        return out

    def _row_of(self) -> npt.NDArray[np.int64]:
        return np.repeat(np.arange(self.n_rows), np.diff(self.indptr))

    def transpose_dot(
        self, residuals: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.float64]:
        """`X.T @ residuals`, the gradient of a linear model's loss."""
        per_entry = self.values * np.repeat(residuals, np.diff(self.indptr))
        out: npt.NDArray[np.float64] = np.bincount(
            self.indices, weights=per_entry, minlength=self.n_features
        ).astype(np.float64, copy=False)
        return out

    def scaled(self, column_weights: npt.NDArray[np.float64]) -> SparseRows:
        """Multiply each column by a weight, then give each row unit length."""
        values = self.values * column_weights[self.indices]
        squares = np.bincount(self._row_of(), weights=values**2, minlength=self.n_rows)
        lengths = np.sqrt(squares)
        lengths[lengths == 0] = 1.0
        values = values / np.repeat(lengths, np.diff(self.indptr))
        return SparseRows(self.indptr, self.indices, values, self.n_features)


def _bucket(token: str, mask: int) -> tuple[int, float]:
    code = zlib.crc32(token.encode("utf-8"))
    return code & mask, -1.0 if code & _SIGN_BIT else 1.0


def _shape_tokens(text: str) -> list[str]:
    # Coarse, log-scaled bins: the model learns how length and the share of
    # digits relate to difficulty without a separate dense input.
    length_bin = int(math.log2(len(text) + 1))
    digits = sum(ch.isdigit() for ch in text[:MAX_CHARS])
    digit_bin = int(math.log2(digits + 1))
    lines_bin = int(math.log2(text.count("\n") + 1))
    tokens = [f"#len{length_bin}", f"#digits{digit_bin}", f"#lines{lines_bin}"]
    if "```" in text or "def " in text or "{" in text:
        tokens.append("#code")
    if any(mark in text for mark in ("=", "^", "\\frac", "√", "∫")):
        tokens.append("#maths")
    return tokens


def hash_features(text: str, n_features: int) -> dict[int, float]:
    """The hashed feature counts of one prompt.

    Args:
        text: The prompt.
        n_features: The number of buckets; a power of two.

    Returns:
        Bucket index to signed count.
    """
    mask = n_features - 1
    words = _WORD.findall(text[:MAX_CHARS].lower())
    tokens = [*words, *(f"{a} {b}" for a, b in pairwise(words))]
    tokens.extend(_shape_tokens(text))
    counts: dict[int, float] = {}
    for token in tokens:
        index, sign = _bucket(token, mask)
        counts[index] = counts.get(index, 0.0) + sign
    return counts


def hash_rows(texts: Sequence[str], n_features: int) -> SparseRows:
    """Hashed features of many prompts, as compressed rows of log counts.

    Args:
        texts: The prompts.
        n_features: The number of buckets; a power of two.

    Returns:
        One row per prompt; each value is `sign * log1p(|count|)`.
    """
    indptr = [0]
    indices: list[int] = []
    values: list[float] = []
    for text in texts:
        counts = hash_features(text, n_features)
        for index in sorted(counts):
            count = counts[index]
            if count == 0.0:
                continue
            indices.append(index)
            values.append(math.copysign(math.log1p(abs(count)), count))
        indptr.append(len(indices))
    return SparseRows(
        np.asarray(indptr, dtype=np.int64),
        np.asarray(indices, dtype=np.int64),
        np.asarray(values, dtype=np.float64),
        n_features,
    )
