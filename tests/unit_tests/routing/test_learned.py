from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
import pytest

from langchain_finops.routing import LearnedComplexityClassifier
from langchain_finops.routing._calibration import thresholds_for_shares

EASY = ["hi", "thanks", "hello", "what time is it", "good morning", "bye", "ok"]
HARD = [
    "prove the theorem",
    "derive the integral",
    "analyse the contract liability",
    "optimise the distributed algorithm",
    "solve the differential equation",
]
FILLER = ["please", "now", "today", "again", "for me", "quickly", "in detail"]


def _toy(seed: int, n: int) -> tuple[list[str], list[bool]]:
    rng = random.Random(seed)
    prompts, labels = [], []
    for _ in range(n):
        hard = rng.random() < 0.3
        core = rng.choice(HARD if hard else EASY)
        prompts.append(f"{core} {rng.choice(FILLER)}")
        labels.append(hard)
    return prompts, labels


@pytest.fixture(scope="module")
def shipped() -> LearnedComplexityClassifier:
    return LearnedComplexityClassifier()


def test_shipped_weights_load_and_score_probabilities(
    shipped: LearnedComplexityClassifier,
) -> None:
    assert shipped.n_features == 2**18
    assert 0.0 < shipped.default_threshold < 1.0
    for prompt in ["", "hi", "x" * 50_000, "Prove that 2^n > n for all n."]:
        score = shipped.score(prompt)
        assert 0.0 <= score <= 1.0
    decision = shipped.classify("hi")
    assert decision.fallback_reason is None
    assert decision.label == (
        "strong" if decision.score >= shipped.default_threshold else "cheap"
    )


def test_batch_scores_equal_single_scores(shipped: LearnedComplexityClassifier) -> None:
    prompts = ["hello", "Solve 3x + 4 = 19 for x.", "", "Explain GDPR article 6."]
    batch = shipped.scores(prompts)
    single = [shipped.score(p) for p in prompts]
    assert np.allclose(batch, single, rtol=0, atol=1e-12)


def test_fit_learns_the_users_outcomes_and_generalises() -> None:
    prompts, labels = _toy(0, 400)
    classifier = LearnedComplexityClassifier.trained(
        prompts, labels, n_features=2**12, epochs=200
    )
    # Held-out prompts: new fillers, same kinds of request.
    hard = classifier.scores(["prove the theorem carefully", "solve the equation"])
    easy = classifier.scores(["hi there", "thanks a lot"])
    assert min(hard) > 0.5 > max(easy)
    # The refitted default threshold sends the top quarter of training up.
    share = np.mean(
        np.asarray(classifier.scores(prompts)) >= classifier.default_threshold
    )
    assert share == pytest.approx(0.25, abs=0.005)


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    prompts, labels = _toy(1, 200)
    classifier = LearnedComplexityClassifier.trained(
        prompts, labels, n_features=2**10, epochs=50
    )
    path = tmp_path / "mine.npz"
    classifier.save(path)
    loaded = LearnedComplexityClassifier(weights_path=path)
    probe = ["prove the theorem now", "hi", "something unseen"]
    # Weights are stored as float32: scores agree to float32 precision.
    assert np.allclose(loaded.scores(probe), classifier.scores(probe), atol=1e-6)
    assert loaded.default_threshold == classifier.default_threshold


def test_a_file_of_another_kind_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.npz"
    np.savez(path, something=np.zeros(3))
    with pytest.raises(ValueError, match="not a LearnedComplexityClassifier file"):
        LearnedComplexityClassifier(weights_path=path)


@pytest.mark.parametrize(
    ("prompts", "labels", "error", "match"),
    [
        (["a", "b"], [True], ValueError, "2 prompts but 1 labels"),
        (["a", "b"], [True, True], ValueError, "both kinds"),
        ("ab", [True, False], TypeError, "not one string"),
        (["a", 3], [True, False], TypeError, "Prompt 1 is a int"),
        (["a", "b"], [2, 0], ValueError, "booleans"),
    ],
)
def test_fit_rejects_bad_training_data(
    prompts: list[str], labels: list[bool], error: type[Exception], match: str
) -> None:
    classifier = LearnedComplexityClassifier()
    with pytest.raises(error, match=match):
        classifier.fit(prompts, labels)


def test_thresholds_for_shares_by_hand() -> None:
    scores = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    # 30% strong: the top three (1.0, 0.9, 0.8) go up; cut between 0.8 and 0.7.
    assert thresholds_for_shares(scores, [0.3]) == [pytest.approx(0.75)]
    # Three tiers: 20% to the top, 30% to the middle -> cuts at 0.85 and 0.55.
    cuts = thresholds_for_shares(scores, [0.3, 0.2])
    assert cuts == [pytest.approx(0.55), pytest.approx(0.85)]
    # 0% strong: just above the highest score (capped at 1.0).
    assert thresholds_for_shares([0.2, 0.4], [0.0]) == [math.nextafter(0.4, 1.0)]
    assert thresholds_for_shares(scores, [1.0]) == [0.1]
    with pytest.raises(ValueError, match="between 0 and 1"):
        thresholds_for_shares(scores, [1.5])
    with pytest.raises(ValueError, match="sum to"):
        thresholds_for_shares(scores, [0.6, 0.6])
    with pytest.raises(ValueError, match="at least one sample"):
        thresholds_for_shares([], [0.2])
