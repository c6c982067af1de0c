"""Build the shipped weights of `LearnedComplexityClassifier`.

Trains the package's own recipe (`train_weights`: hashed word n-grams, TF-IDF,
numpy logistic regression) on every decontaminated RouteLLM prompt (MMLU,
GSM8K, MT-Bench), labelled "needs strong" where GPT-4 scored higher than
Mixtral-8x7B. Only the learned numbers are written; no prompt or row of the
data set goes into the package.

    uv run python benchmarks/train_router_classifier.py
"""

from __future__ import annotations

from pathlib import Path

from _router_common import data_dir_arg, load_routellm

from langchain_finops.routing.learned import LearnedComplexityClassifier

OUT = (
    Path(__file__).resolve().parents[1]
    / "langchain_finops"
    / "routing"
    / "data"
    / "complexity_v1.npz"
)


def main() -> None:
    args = data_dir_arg(__doc__ or "").parse_args()
    data = load_routellm(args.data_dir)
    prompts: list[str] = []
    labels: list[bool] = []
    for name in ("mmlu", "gsm8k", "mt_bench"):
        prompts += data[name].prompts
        labels += [bool(v) for v in data[name].needs_strong]
    classifier = LearnedComplexityClassifier.trained(prompts, labels)
    classifier.save(OUT)
    print(f"trained on {len(prompts)} prompts ({sum(labels)} need strong)")
    print(f"default threshold {classifier.default_threshold:.4f}")
    print(f"wrote {OUT} ({OUT.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
