"""Fit the cache's and the router's thresholds to a user's labelled traffic.

The cache threshold comes from pairs of the user's own prompts: two prompts
with the same label are a pair the cache should serve from each other, two
with different labels a pair it must not. For each prompt the pair of another
label is its *nearest* one by shared words among a seeded sample, so that the
negatives are the hard ones a cache meets, not random strangers. The
threshold is the lowest similarity at which at most `max_false_hit_rate` of
the negatives would hit (`SemanticFaissCache.calibrate`).

A rate on pairs is not the rate a cache shows on a stream: there each prompt
meets its *nearest* stored prompt among thousands, so wrong neighbours come
closer than in any one pair. `calibrate_traffic` therefore also replays the
labelled prompts in order against the earlier ones (cosine similarity of the
cache's own embeddings, guard left out) and reports the share of would-be
hits served from another label: the figure `simulate` measures.

The router threshold is the score quantile that sends `strong_share` of the
prompts to the strong model (`ModelRouter.calibrate`).
"""

from __future__ import annotations

import itertools
import random
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_finops.simulate.pipeline import PipelineOptions, chat_model
from langchain_finops.simulate.traffic import Traffic, TrafficRecord

__all__ = ["CalibrationResult", "calibrate_traffic", "labelled_pairs"]

_WORD = re.compile(r"[a-z0-9']+")
# Candidates of another label scanned for each prompt's hard negative.
_NEGATIVE_CANDIDATES = 200


@dataclass(frozen=True, kw_only=True)
class CalibrationResult:
    """The thresholds found and the figures behind them."""

    prompts: int
    labels: int
    duplicates: int
    non_duplicates: int
    cache_threshold: float
    cache_hit_rate: float
    """Share of same-label pairs served at the threshold."""
    cache_false_hit_rate: float
    """Share of different-label pairs served at the threshold."""
    router_threshold: float
    strong_share: float
    """Share of the prompts the router sends to the strong model."""
    stream_prompts: int = 0
    """Labelled prompts replayed in order for the stream estimate."""
    stream_hit_rate: float = 0.0
    """Share of them whose nearest earlier prompt reaches the threshold."""
    stream_false_hit_rate: float = 0.0
    """Share of those would-be hits whose neighbour has another label."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; `simulate --calibration FILE` reads it back."""
        return {
            "cache_threshold": self.cache_threshold,
            "router_threshold": self.router_threshold,
            "prompts": self.prompts,
            "labels": self.labels,
            "duplicates": self.duplicates,
            "non_duplicates": self.non_duplicates,
            "cache_hit_rate": self.cache_hit_rate,
            "cache_false_hit_rate": self.cache_false_hit_rate,
            "strong_share": self.strong_share,
            "stream_prompts": self.stream_prompts,
            "stream_hit_rate": self.stream_hit_rate,
            "stream_false_hit_rate": self.stream_false_hit_rate,
        }


def _prompt_of(record: TrafficRecord) -> str | None:
    if record.prompt is not None:
        return record.prompt
    users = [turn.content for turn in record.messages or () if turn.role == "user"]
    return users[-1] if users else None


def _words(text: str) -> frozenset[str]:
    return frozenset(_WORD.findall(text.lower()))


def labelled_pairs(
    records: Sequence[TrafficRecord], *, max_pairs: int = 4000, seed: int = 0
) -> list[tuple[str, str, bool]]:
    """Same-label and hard different-label pairs of the records' prompts.

    Args:
        records: Records with a `label`; unlabelled ones are left out.
        max_pairs: At most this many pairs, half of each kind when possible.
        seed: Seed of the sampling.

    Returns:
        `(prompt_a, prompt_b, same_label)` triples.

    Raises:
        ValueError: If fewer than two labels, or no label with two distinct
            prompts, are found.
    """
    by_label: dict[str, list[str]] = defaultdict(list)
    for record in records:
        prompt = _prompt_of(record)
        if record.label is not None and prompt is not None:
            by_label[record.label].append(prompt)
    for label, prompts in by_label.items():
        by_label[label] = sorted(set(prompts))
    repeated = [label for label, prompts in by_label.items() if len(prompts) > 1]
    if len(by_label) < 2 or not repeated:
        msg = (
            f"Calibration needs labelled prompts: at least two labels, one of them "
            f"with two different prompts; found {len(by_label)} label(s), "
            f"{len(repeated)} with two or more prompts. Add a `label` field "
            "(JSONL) or pass --label-column (CSV)."
        )
        raise ValueError(msg)

    rng = random.Random(seed)
    half = max(1, max_pairs // 2)
    positives: list[tuple[str, str, bool]] = []
    for label in sorted(repeated):
        prompts = by_label[label][:]
        rng.shuffle(prompts)
        positives.extend((a, b, True) for a, b in itertools.pairwise(prompts))
    rng.shuffle(positives)
    positives = positives[:half]

    everything = [(label, p) for label in sorted(by_label) for p in by_label[label]]
    words = {prompt: _words(prompt) for _, prompt in everything}
    anchors = everything[:]
    rng.shuffle(anchors)
    negatives: list[tuple[str, str, bool]] = []
    for label, prompt in anchors[:half]:
        candidates = rng.sample(everything, min(_NEGATIVE_CANDIDATES, len(everything)))
        others = [(other, p) for other, p in candidates if other != label]
        if not others:
            continue
        mine = words[prompt]

        def overlap(item: tuple[str, str], mine: frozenset[str] = mine) -> float:
            theirs = words[item[1]]
            union = len(mine | theirs)
            return len(mine & theirs) / union if union else 0.0

        nearest = max(others, key=overlap)
        negatives.append((prompt, nearest[1], False))
    return positives + negatives


def stream_estimate(
    items: Sequence[tuple[str, str]], vectors: Any, threshold: float
) -> tuple[float, float]:
    """Replay labelled prompts in order against the earlier ones.

    Args:
        items: `(prompt, label)` in stream order.
        vectors: Their unit-length embeddings, one row each (numpy array).
        threshold: The cache's similarity threshold.

    Returns:
        The share of prompts whose nearest earlier prompt reaches the
        threshold, and the share of those whose neighbour has another label.
    """
    import numpy as np

    matrix = np.asarray(vectors, dtype=np.float32)
    similarities = matrix @ matrix.T
    hits = wrong = 0
    for index in range(1, len(items)):
        earlier = similarities[index, :index]
        nearest = int(np.argmax(earlier))
        if earlier[nearest] >= threshold:
            hits += 1
            wrong += items[nearest][1] != items[index][1]
    served = hits / (len(items) - 1) if len(items) > 1 else 0.0
    return served, (wrong / hits if hits else 0.0)


def calibrate_traffic(
    traffic: Traffic,
    *,
    options: PipelineOptions | None = None,
    max_false_hit_rate: float = 0.01,
    strong_share: float = 0.25,
    max_pairs: int = 4000,
    max_stream: int = 2000,
    seed: int = 0,
) -> CalibrationResult:
    """Set both thresholds from `traffic`'s labelled prompts.

    Args:
        traffic: Labelled records.
        options: The models the router is built with (for its tokenizer and
            names); nothing is called.
        max_false_hit_rate: The share of different-label pairs the cache may
            serve, in [0, 1).
        strong_share: The share of prompts the router should send to the
            strong model, in (0, 1).
        max_pairs: Pairs to calibrate the cache on.
        max_stream: Labelled prompts (the first ones) for the stream estimate.
        seed: Seed of the pair sampling.

    Returns:
        The thresholds and the rates they give on this traffic.

    Raises:
        ValueError: If the traffic has too few labels, or a rate is invalid.
    """
    from langchain_finops.cache import SemanticFaissCache
    from langchain_finops.routing import create_model_router

    options = options or PipelineOptions()
    pairs = labelled_pairs(traffic.records, max_pairs=max_pairs, seed=seed)
    cache = SemanticFaissCache()
    report = cache.calibrate(pairs, max_false_hit_rate=max_false_hit_rate)

    prompts = [p for p in (_prompt_of(r) for r in traffic.records) if p is not None]
    router = create_model_router(
        cheap=chat_model(options.cheap, options=options),
        strong=chat_model(options.strong, options=options),
    )
    (threshold,) = router.calibrate(prompts, strong_share=strong_share)
    scores = router.classifier.scores(prompts)
    realised = sum(1 for score in scores if score >= threshold) / len(scores)

    labelled = [
        (prompt, record.label)
        for record in traffic.records
        if record.label is not None and (prompt := _prompt_of(record)) is not None
    ][:max_stream]
    vectors = cache.embeddings.embed_documents([prompt for prompt, _ in labelled])
    served, false_rate = stream_estimate(labelled, vectors, report.threshold)
    return CalibrationResult(
        prompts=len(prompts),
        labels=len({r.label for r in traffic.records if r.label is not None}),
        duplicates=report.duplicates,
        non_duplicates=report.non_duplicates,
        cache_threshold=report.threshold,
        cache_hit_rate=report.hit_rate,
        cache_false_hit_rate=report.false_hit_rate,
        router_threshold=threshold,
        strong_share=realised,
        stream_prompts=len(labelled),
        stream_hit_rate=served,
        stream_false_hit_rate=false_rate,
    )
