"""Counters a cache keeps about its own decisions."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

__all__ = ["HISTOGRAM_BINS", "CacheStats"]

HISTOGRAM_BINS = 20


@dataclass(frozen=True, slots=True)
class CacheStats:
    """A snapshot of what a `SemanticFaissCache` did since it was created.

    `similarity_histogram[i]` counts semantic searches whose best candidate
    scored in `[i / 20, (i + 1) / 20)` (the last bin includes 1.0).
    """

    exact_hits: int = 0
    semantic_hits: int = 0
    misses: int = 0
    guard_rejections: int = 0
    guard_reasons: dict[str, int] = field(default_factory=dict)
    skipped_updates: dict[str, int] = field(default_factory=dict)
    similarity_histogram: tuple[int, ...] = (0,) * HISTOGRAM_BINS
    dollars_saved: Decimal = Decimal(0)
    unpriced_hits: int = 0
    entries: int = 0

    @property
    def hits(self) -> int:
        """Hits of both tiers."""
        return self.exact_hits + self.semantic_hits

    @property
    def hit_rate(self) -> float:
        """Hits over lookups (0.0 before the first lookup)."""
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else 0.0
