"""Transfer: train on one data set, calibrate on 200 prompts of another, test there.

For each pair (A -> B), a router is trained on all of A; its threshold is
then set with `ModelRouter.calibrate(..., strong_share=0.255)` on 200 random
prompts of B (MT-Bench has 72 prompts: half of them), and it is scored on
the rest of B. Repeated over 20 random calibration draws: the table gives
the mean realised strong share, the mean and the largest miss of the 25.5%
target, the share of draws within 3 points of it, the mean quality kept at
the calibrated threshold, and the APGR on B (which does not depend on the
threshold). Random and prompt-length routers run through
the same calibration, side by side.

    uv run python benchmarks/router_transfer.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from _router_common import Outcomes, data_dir_arg, load_routellm, metrics, pct
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from langchain_finops.routing import (
    LearnedComplexityClassifier,
    RoutingClassifier,
    RoutingDecision,
    create_model_router,
)
from langchain_finops.testing import FakeUsageChatModel

TARGET = 0.255
CALIBRATION = 200
DRAWS = 20
PAIRS = (
    ("mmlu", "gsm8k"),
    ("gsm8k", "mmlu"),
    ("mmlu", "mt_bench"),
    ("gsm8k", "mt_bench"),
)
RESULTS = Path(__file__).resolve().parent / "results" / "router_transfer.md"


class FixedScores(RoutingClassifier):
    """Scores computed ahead of time (the baselines), behind the classifier API."""

    def __init__(self, prompts: list[str], scores: np.ndarray) -> None:
        self.table = dict(zip(prompts, scores.tolist(), strict=True))

    def classify(self, prompt: str, config: object = None) -> RoutingDecision:
        return RoutingDecision(self.table[prompt], "x")

    def scores(self, prompts: list[str]) -> list[float]:  # type: ignore[override]
        return [self.table[p] for p in prompts]


def _tfidf(train: Outcomes, test: Outcomes) -> np.ndarray:
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    model = LogisticRegression(max_iter=2000)
    model.fit(vectorizer.fit_transform(train.prompts), train.needs_strong)
    return model.predict_proba(vectorizer.transform(test.prompts))[:, 1]


def _evaluate(classifier: RoutingClassifier, target: Outcomes) -> dict[str, float]:
    models = [
        FakeUsageChatModel(model_name="gpt-4o-mini"),
        FakeUsageChatModel(model_name="gpt-4o"),
    ]
    router = create_model_router(models, classifier=classifier, threshold=0.5)
    scores = np.asarray(classifier.scores(target.prompts))
    n = len(target.prompts)
    size = min(CALIBRATION, n // 2)
    shares, kept = [], []
    for draw in range(DRAWS):
        order = np.random.default_rng(draw).permutation(n)
        calibration, test = order[:size], order[size:]
        (threshold,) = router.calibrate(
            [target.prompts[i] for i in calibration], TARGET
        )
        strong = scores[test] >= threshold
        shares.append(float(strong.mean()))
        quality = np.where(strong, target.strong[test], target.weak[test]).mean()
        kept.append(float(quality / target.strong[test].mean()))
    return {
        "share": float(np.mean(shares)),
        "worst_miss": float(np.max(np.abs(np.asarray(shares) - TARGET))),
        "mean_miss": float(np.mean(np.abs(np.asarray(shares) - TARGET))),
        "within3": float(np.mean(np.abs(np.asarray(shares) - TARGET) <= 0.03)),
        "kept": float(np.mean(kept)),
        "apgr": metrics(scores, target.weak, target.strong).apgr,
    }


def main() -> None:
    args = data_dir_arg(__doc__ or "").parse_args()
    data = load_routellm(args.data_dir)
    lines = [
        "| train -> test | router | mean realised strong share (target 25.5%) | "
        "mean miss | worst miss | draws within 3 points | quality kept | "
        "APGR on test |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for source, target_name in PAIRS:
        train, target = data[source], data[target_name]
        ours = LearnedComplexityClassifier.trained(
            train.prompts, list(train.needs_strong > 0)
        )
        rng = np.random.default_rng(0)
        candidates: dict[str, RoutingClassifier] = {
            "random": FixedScores(target.prompts, rng.random(len(target.prompts))),
            "prompt length": FixedScores(
                target.prompts,
                np.array([len(p) for p in target.prompts], dtype=float) / 1e6,
            ),
            "TF-IDF + LR (scikit-learn)": FixedScores(
                target.prompts, _tfidf(train, target)
            ),
            "**LearnedComplexityClassifier.trained**": ours,
        }
        for name, classifier in candidates.items():
            r = _evaluate(classifier, target)
            lines.append(
                f"| {source} -> {target_name} | {name} | {pct(r['share'])} | "
                f"{100 * r['mean_miss']:.1f} points | "
                f"{100 * r['worst_miss']:.1f} points | {pct(r['within3'])} | "
                f"{pct(r['kept'])} | "
                f"{r['apgr']:.3f} |"
            )
            print(lines[-1], flush=True)
    text = (
        "# Transfer: train on one data set, calibrate on 200 prompts of another\n\n"
        "Command: `uv run python benchmarks/router_transfer.py`\n\n"
        "MT-Bench has 72 decontaminated prompts: 36 calibrate, 36 test.\n\n"
        + "\n".join(lines)
        + "\n"
    )
    print(text)
    RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
