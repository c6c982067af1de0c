"""Scoring labelled pairs as the cache would, and fitting a threshold to them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from langchain_core.embeddings import Embeddings

from langchain_finops.cache._guard import conflict, signature
from langchain_finops.cache._prompt import normalize_text

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["pair_scores", "threshold_at"]


def pair_scores(
    embeddings: Embeddings, pairs: Sequence[tuple[str, str, bool]], *, guard: bool
) -> NDArray[np.float64]:
    """Each pair's similarity as the cache sees it: -inf when the guard refuses.

    Args:
        embeddings: The embedder.
        pairs: `(text_a, text_b, label)` triples.
        guard: Apply the guard.

    Returns:
        One score per pair.
    """
    left = [normalize_text(a) for a, _, _ in pairs]
    right = [normalize_text(b) for _, b, _ in pairs]
    texts = sorted(set(left) | set(right))
    position = {text: index for index, text in enumerate(texts)}
    matrix = np.asarray(embeddings.embed_documents(texts), dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    matrix = matrix / np.clip(norms, 1e-12, None)
    first = matrix[[position[text] for text in left]]
    second = matrix[[position[text] for text in right]]
    scores: NDArray[np.float64] = np.sum(first * second, axis=1).astype(np.float64)
    if guard:
        signatures = {text: signature(text) for text in texts}
        for index, (a, b) in enumerate(zip(left, right, strict=True)):
            if conflict(signatures[a], signatures[b]) is not None:
                scores[index] = -np.inf
    return scores


def threshold_at(
    scores: NDArray[np.float64], labels: NDArray[np.bool_], max_false_hit_rate: float
) -> tuple[float, float, float]:
    """The lowest threshold whose false-hit rate stays within the limit.

    Args:
        scores: Pair scores (-inf: never served).
        labels: True for duplicates.
        max_false_hit_rate: Allowed share of non-duplicates served.

    Returns:
        The threshold (clipped to [0, 1]), the hit rate and false-hit rate
        it gives.
    """
    negatives = np.sort(scores[~labels])[::-1]
    allowed = math.floor(max_false_hit_rate * len(negatives) + 1e-9)
    # Serving scores >= t: t must sit just above the (allowed+1)-th best
    # negative so that at most `allowed` negatives reach it.
    if allowed < len(negatives) and np.isfinite(negatives[allowed]):
        threshold = float(np.nextafter(negatives[allowed], np.inf))
    else:
        threshold = 0.0
    threshold = min(max(threshold, 0.0), 1.0)
    hit_rate = float(np.mean(scores[labels] >= threshold))
    false_rate = float(np.mean(scores[~labels] >= threshold))
    return threshold, hit_rate, false_rate
