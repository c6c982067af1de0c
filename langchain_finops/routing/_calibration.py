"""Thresholds that send a chosen share of traffic to each tier."""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["thresholds_for_shares"]


def _threshold_for_share(ordered: Sequence[float], share: float) -> float:
    # `ordered` is descending. The threshold sits halfway between the last
    # score that goes up and the first that stays, so a score equal to either
    # side of the gap lands where the sample says it should.
    n = len(ordered)
    count = round(share * n)
    if count <= 0:
        return min(1.0, math.nextafter(ordered[0], math.inf))
    if count >= n:
        return max(0.0, ordered[-1])
    return (ordered[count - 1] + ordered[count]) / 2


def thresholds_for_shares(
    scores: Sequence[float], shares: Sequence[float]
) -> list[float]:
    """Score cutoffs so that each tier above the cheapest gets its share.

    Args:
        scores: Classifier scores of sample traffic.
        shares: For each tier above the cheapest, in order, the share of calls
            it should get; they sum to at most 1.

    Returns:
        Ascending cutoffs, one per tier above the cheapest: a prompt goes to
        the highest tier whose cutoff its score reaches.

    Raises:
        ValueError: If there are no scores, or a share is outside [0, 1], or
            the shares sum above 1.
    """
    if not scores:
        msg = "calibrate() needs at least one sample prompt."
        raise ValueError(msg)
    for share in shares:
        if not 0.0 <= share <= 1.0:
            msg = f"A strong share must be between 0 and 1, got {share!r}."
            raise ValueError(msg)
    if sum(shares) > 1.0 + 1e-9:
        msg = f"The shares of the upper tiers sum to {sum(shares)}, above 1."
        raise ValueError(msg)
    ordered = sorted(scores, reverse=True)
    cutoffs = []
    for index in range(len(shares)):
        # A tier's cutoff admits its own share plus every share above it.
        cutoffs.append(_threshold_for_share(ordered, sum(shares[index:])))
    return cutoffs
