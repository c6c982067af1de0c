from pathlib import Path

import pytest

from langchain_finops.simulate.calibration import (
    calibrate_traffic,
    labelled_pairs,
    stream_estimate,
)
from langchain_finops.simulate.traffic import TrafficRecord, load_traffic

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def records(*items: tuple[str, str | None]) -> list[TrafficRecord]:
    return [
        TrafficRecord(line=i + 1, prompt=text, label=label)
        for i, (text, label) in enumerate(items)
    ]


def test_pairs_are_same_label_chains_and_nearest_other_label() -> None:
    pairs = labelled_pairs(
        records(
            ("reset my password", "pw"),
            ("how to reset password", "pw"),
            ("password reset link", "pw"),
            ("opening hours today", "hours"),
            ("reset my password", "pw"),  # a repeat adds no pair
            ("unlabelled words", None),
        ),
        max_pairs=100,
    )
    positives = [p for p in pairs if p[2]]
    negatives = [p for p in pairs if not p[2]]
    # Three distinct "pw" prompts chain into two pairs; "hours" has one.
    assert len(positives) == 2
    assert all(
        {a, b} <= {"reset my password", "how to reset password", "password reset link"}
        for a, b, _ in positives
    )
    # Every labelled prompt gets its nearest prompt of another label.
    assert len(negatives) == 4
    for a, b, _ in negatives:
        assert ("hours" in a) != ("hours" in b)
    assert all("unlabelled" not in a + b for a, b, _ in pairs)


def test_pairs_need_labels() -> None:
    with pytest.raises(ValueError, match="found 1 label"):
        labelled_pairs(records(("a", "x"), ("b", "x")))
    with pytest.raises(ValueError, match="0 with two or more prompts"):
        labelled_pairs(records(("a", "x"), ("b", "y")))


def test_calibrate_the_example_traffic() -> None:
    traffic = load_traffic(EXAMPLES / "traffic.jsonl")
    result = calibrate_traffic(traffic, max_false_hit_rate=0.0, strong_share=0.25)
    assert result.prompts == 16
    assert result.labels == 7
    assert 0.0 < result.cache_threshold <= 1.0
    # With no false hit allowed, none of the different-label pairs is served.
    assert result.cache_false_hit_rate == 0.0
    assert result.duplicates + result.non_duplicates > 0
    # The router's cutoff is a quantile: a quarter of 16 prompts is 4.
    assert abs(result.strong_share - 0.25) <= 1 / 16
    # The stream estimate replays all 16 labelled prompts in order.
    assert result.stream_prompts == 16
    assert 0.0 <= result.stream_false_hit_rate <= 1.0
    data = result.to_dict()
    assert data["cache_threshold"] == result.cache_threshold
    assert data["router_threshold"] == result.router_threshold


def test_stream_estimate_replays_prompts_against_their_nearest_earlier_one() -> None:
    items = [("a", "x"), ("b", "x"), ("c", "y")]
    # b is a's twin (cosine 1.0, same label); c is 0.8 from both, another label.
    vectors = [[1.0, 0.0], [1.0, 0.0], [0.8, 0.6]]
    assert stream_estimate(items, vectors, 0.75) == (1.0, 0.5)
    assert stream_estimate(items, vectors, 0.9) == (0.5, 0.0)
    assert stream_estimate(items[:1], vectors[:1], 0.5) == (0.0, 0.0)
