"""Speed of the default classifier: per-prompt latency on one core, import and load.

Latency is measured on real prompts (every decontaminated RouteLLM prompt,
MMLU, GSM8K and MT-Bench, 15,416 prompts of 10 to 9,000 characters), one at
a time, pinned to one CPU core with numpy's threads set to 1. Side by side: a
scikit-learn TF-IDF + logistic regression pipeline scoring one prompt at a
time (the baseline the RouteLLM anchor measured at p50 3.8 ms).

Import and load are timed in fresh processes: importing the module and
loading the shipped weights, then the same with langchain-core already
imported (any LangChain app has it loaded).

    uv run python benchmarks/router_speed.py
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from _router_common import data_dir_arg, load_routellm

RESULTS = Path(__file__).resolve().parent / "results" / "router_speed.md"

_COLD = (
    "import time; t = time.perf_counter(); "
    "from langchain_finops.routing.learned import LearnedComplexityClassifier; "
    "c = LearnedComplexityClassifier(); c.score('hello'); "
    "print(time.perf_counter() - t)"
)
_WARM = (
    "import langchain_core.runnables, langchain_core.messages; "
    "import time; t = time.perf_counter(); "
    "from langchain_finops.routing.learned import LearnedComplexityClassifier; "
    "c = LearnedComplexityClassifier(); c.score('hello'); "
    "print(time.perf_counter() - t)"
)


def _fresh(code: str, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        times.append(float(out.stdout.strip()))
    return float(np.median(times))


def _latencies(score, prompts: list[str]) -> np.ndarray:
    for prompt in prompts[:200]:
        score(prompt)  # warm caches
    out = np.empty(len(prompts))
    for index, prompt in enumerate(prompts):
        start = time.perf_counter()
        score(prompt)
        out[index] = time.perf_counter() - start
    return out * 1000


def main() -> None:
    args = data_dir_arg(__doc__ or "").parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    data = load_routellm(args.data_dir)
    prompts = [p for name in ("mmlu", "gsm8k", "mt_bench") for p in data[name].prompts]
    labels = np.concatenate(
        [data[n].needs_strong for n in ("mmlu", "gsm8k", "mt_bench")]
    )

    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from langchain_finops.routing import LearnedComplexityClassifier

    ours = LearnedComplexityClassifier()
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    model = LogisticRegression(max_iter=2000).fit(
        vectorizer.fit_transform(prompts), labels
    )

    def tfidf_score(prompt: str) -> float:
        return float(model.predict_proba(vectorizer.transform([prompt]))[0, 1])

    rows = []
    for name, score in (
        ("**LearnedComplexityClassifier.score**", ours.score),
        ("TF-IDF + LR (scikit-learn), one prompt per call", tfidf_score),
    ):
        ms = _latencies(score, prompts)
        rows.append(
            f"| {name} | {np.percentile(ms, 50):.3f} | {np.percentile(ms, 99):.3f} "
            f"| {ms.max():.2f} |"
        )
        print(rows[-1], flush=True)
    cold = _fresh(_COLD)
    warm = _fresh(_WARM)
    size = (
        (
            Path(__file__).resolve().parents[1]
            / "langchain_finops"
            / "routing"
            / "data"
            / "complexity_v1.npz"
        )
        .stat()
        .st_size
    )
    text = (
        "# Speed of the default routing classifier\n\n"
        "Command: `uv run python benchmarks/router_speed.py`\n\n"
        f"{len(prompts)} real prompts, one at a time, one pinned core "
        "(the machine's 2 cores are shared with other jobs).\n\n"
        "| classifier | p50 ms | p99 ms | max ms |\n|---|---|---|---|\n"
        + "\n".join(rows)
        + "\n\n| import + load of the shipped weights "
        "(fresh process, median of 5) | s |\n"
        "|---|---|\n"
        f"| cold: numpy, the module and the weights | {cold:.3f} |\n"
        f"| the same after langchain-core was imported | {warm:.3f} |\n\n"
        f"Weights file: {size / 1e6:.2f} MB. Scoring makes no network call "
        "(the unit tests run with sockets disabled).\n"
    )
    print(text)
    RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
