"""Router quality on RouteLLM's outcomes, with RouteLLM's own metrics.

Data: `routellm/routellm_pairs.csv.gz` (MMLU, GSM8K, MT-Bench; GPT-4 as the
strong model, Mixtral-8x7B as the weak one), contaminated rows dropped.

Every router is scored on prompts it was not trained on: the two learned
routers (ours, and a scikit-learn TF-IDF + logistic regression baseline) are
trained and scored in the same 5 folds, each fold trained on the other four
folds of all three data sets pooled, which is the recipe of the shipped
weights. Random and prompt-length routers need no training. The oracle
knows the outcomes (an upper bound).

Metrics (RouteLLM): quality kept at a 25.5% strong share (a 70% cost cut at
gpt-4o-mini / gpt-4o prices) as a share of the strong model's quality;
CPT(50%) and CPT(80%), the strong share needed to recover 50% / 80% of the
quality gap; APGR, the area under the gap-recovered curve. Brackets: 95%
bootstrap intervals over prompts (200 resamples; the router is fixed).

    uv run python benchmarks/router_quality.py
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from _router_common import (
    Outcomes,
    bootstrap,
    data_dir_arg,
    load_routellm,
    metrics,
    pct,
    with_ci,
)
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from langchain_finops.routing._features import hash_rows
from langchain_finops.routing._logistic import sigmoid
from langchain_finops.routing.learned import train_weights

FOLDS = 5
DATASETS = ("mmlu", "gsm8k", "mt_bench")
RESULTS = Path(__file__).resolve().parent / "results" / "router_quality.md"


def _ours(train: list[str], labels: np.ndarray, test: list[str]) -> np.ndarray:
    arrays = train_weights(train, labels)
    weights = np.asarray(arrays["weights"])
    rows = hash_rows(test, len(weights)).scaled(np.asarray(arrays["idf"]))
    return sigmoid(rows.dot(weights) + float(arrays["bias"]))


def _tfidf(train: list[str], labels: np.ndarray, test: list[str]) -> np.ndarray:
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    model = LogisticRegression(max_iter=2000)
    model.fit(vectorizer.fit_transform(train), labels)
    return model.predict_proba(vectorizer.transform(test))[:, 1]


def _pooled_cv(
    data: dict[str, Outcomes], fit_score, seed: int = 0
) -> dict[str, np.ndarray]:
    # Folds are drawn within each data set, so each fold holds a fifth of
    # each; a model is trained on the other folds of all data sets together.
    rng = np.random.default_rng(seed)
    fold_of = {
        name: rng.permutation(len(data[name].prompts)) % FOLDS for name in DATASETS
    }
    out = {name: np.zeros(len(data[name].prompts)) for name in DATASETS}
    for fold in range(FOLDS):
        train: list[str] = []
        labels: list[float] = []
        for name in DATASETS:
            keep = np.nonzero(fold_of[name] != fold)[0]
            train += [data[name].prompts[i] for i in keep]
            labels += list(data[name].needs_strong[keep])
        for name in DATASETS:
            test = np.nonzero(fold_of[name] == fold)[0]
            out[name][test] = fit_score(
                train, np.asarray(labels), [data[name].prompts[i] for i in test]
            )
    return out


def main() -> None:
    args = data_dir_arg(__doc__ or "").parse_args()
    data = load_routellm(args.data_dir)
    routers: dict[str, dict[str, np.ndarray]] = {}
    rng = np.random.default_rng(0)
    routers["random"] = {n: rng.random(len(data[n].prompts)) for n in DATASETS}
    routers["prompt length (longer goes strong)"] = {
        n: np.array([len(p) for p in data[n].prompts], dtype=float) for n in DATASETS
    }
    start = time.perf_counter()
    routers["TF-IDF + LR (scikit-learn), 5-fold pooled"] = _pooled_cv(data, _tfidf)
    print(f"tfidf cv {time.perf_counter() - start:.0f}s", flush=True)
    start = time.perf_counter()
    routers["**LearnedComplexityClassifier recipe, 5-fold pooled**"] = _pooled_cv(
        data, _ours
    )
    print(f"ours cv {time.perf_counter() - start:.0f}s", flush=True)
    routers["oracle (knows the outcomes)"] = {
        n: data[n].strong - data[n].weak for n in DATASETS
    }

    lines = []
    for name in DATASETS:
        o = data[name]
        lines += [
            "",
            f"### {name} (n={len(o.prompts)}; weak {o.weak.mean():.3f}, "
            f"strong {o.strong.mean():.3f})",
            "",
            "| router | quality kept at 25.5% strong | CPT(50%) | CPT(80%) | APGR |",
            "|---|---|---|---|---|",
        ]
        for router, scores in routers.items():
            s = scores[name]
            m = metrics(s, o.weak, o.strong)
            ci = bootstrap(s, o.weak, o.strong)
            lines.append(
                f"| {router} | "
                f"{with_ci(m.quality_kept, ci['quality_kept'], percent=True)}"
                f" | {with_ci(m.cpt50, ci['cpt50'], percent=True)}"
                f" | {with_ci(m.cpt80, ci['cpt80'], percent=True)}"
                f" | {with_ci(m.apgr, ci['apgr'], percent=False)} |"
            )
        print("\n".join(lines[-len(routers) - 5 :]), flush=True)
    summary = ["", "| router | MMLU | GSM8K | MT-Bench |", "|---|---|---|---|"]
    for router, scores in routers.items():
        kept = [
            pct(metrics(scores[n], data[n].weak, data[n].strong).quality_kept)
            for n in DATASETS
        ]
        summary.append(f"| {router} | {' | '.join(kept)} |")
    text = (
        "# Router quality on RouteLLM outcomes (decontaminated)\n\n"
        "Command: `uv run python benchmarks/router_quality.py`\n\n"
        "Quality kept at a 25.5% strong share (70% cost cut), as a share of the "
        "strong model's quality:\n" + "\n".join(summary) + "\n\n"
        "## Details (95% bootstrap intervals)\n" + "\n".join(lines) + "\n"
    )
    print(text)
    RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
