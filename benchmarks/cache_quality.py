"""Semantic-cache quality at a 1% false-hit rate: guard vs plain cosine vs GPTCache.

Each data set is shuffled (seed 0) and split in two halves. Every method has
its threshold fitted on half A so that at most 1% of the non-duplicate pairs
would be served, then is measured on half B (hit rate = share of duplicate
pairs served; false-hit rate = share of non-duplicates served). All methods
use the same embedder (`DefaultEmbeddings`):

- plain cosine: serve when cosine >= t (what LangChain's semantic caches do);
- GPTCache: its default `SearchDistanceEvaluation` score on the squared L2
  distance FAISS returns for unit vectors (and, separately, its shipped
  default threshold of 0.8);
- SemanticFaissCache: cosine >= t and the near-miss guard agrees.

It also checks the chat-prompt problem: unrelated questions wrapped with a
system prompt, embedded as LangChain's JSON (what other caches embed) versus
as the text our cache extracts.

Run: uv run python benchmarks/cache_quality.py [--data-dir DIR] [--qqp-pairs N]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import time
from pathlib import Path

import numpy as np
from langchain_core.load import dumps
from langchain_core.messages import HumanMessage, SystemMessage

from langchain_finops.cache._calibration import pair_scores, threshold_at
from langchain_finops.cache._guard import conflict, signature
from langchain_finops.cache._prompt import canonical_prompt, normalize_text
from langchain_finops.cache.semantic import DEFAULT_SIMILARITY_THRESHOLD
from langchain_finops.embeddings import DefaultEmbeddings

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
RATE = 0.01


def load_qqp(data_dir: Path, limit: int) -> list[tuple[str, str, bool]]:
    rows = []
    with (data_dir / "qqp" / "pairs_dev.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            item = json.loads(line)
            rows.append((item["text_a"], item["text_b"], bool(int(item["label"]))))
    random.Random(0).shuffle(rows)
    return rows[:limit]


def load_mrpc(data_dir: Path) -> list[tuple[str, str, bool]]:
    rows = []
    for name in ("msr-para-train.tsv", "msr-para-val.tsv", "msr-para-test.tsv"):
        path = data_dir / "mrpc" / name
        with path.open(encoding="utf-8-sig") as handle:
            next(handle)
            for line in handle:
                parts = line.rstrip("\n").split("\t")
                if len(parts) == 5:
                    rows.append((parts[3], parts[4], parts[0] == "1"))
    random.Random(0).shuffle(rows)
    return rows


_DIGITS = re.compile(r"\d+")
_AUXILIARY = re.compile(r"\b(is|are|can|should|do|does|will|was|did)\b", re.IGNORECASE)
_NAME = re.compile(r"(?<=\s)[A-Z][a-z]{2,}\b")
_OTHER_NAMES = ("Brazil", "Tokyo", "Microsoft", "Einstein", "Canada", "Oracle")


def change_number(text: str) -> str:
    return _DIGITS.sub(lambda match: str(int(match.group(0)) * 2 + 1), text, count=1)


def change_name(text: str) -> str:
    match = _NAME.search(text)
    if match is None:
        return text
    other = next(name for name in _OTHER_NAMES if name != match.group(0))
    return text[: match.start()] + other + text[match.end() :]


def add_negation(text: str) -> str:
    if re.search(r"\bnot\b|n't", text):
        return text
    return _AUXILIARY.sub(lambda match: match.group(0) + " not", text, count=1)


def gptcache_scores(cosines: np.ndarray) -> np.ndarray:
    from gptcache.similarity_evaluation.distance import SearchDistanceEvaluation

    evaluation = SearchDistanceEvaluation()
    low, high = evaluation.range()
    # FAISS IndexFlatL2 (GPTCache's default vector store) returns squared L2
    # distances; for unit vectors that is 2 - 2 cos. GPTCache compares the
    # score with `similarity_threshold * (high - low)`: divide by the range so
    # that thresholds read in its `similarity_threshold` units.
    return np.array(
        [
            evaluation.evaluation({}, {"search_result": (float(2 - 2 * c), None)})
            / (high - low)
            for c in cosines
        ]
    )


def evaluate(scores: np.ndarray, labels: np.ndarray, half: int):
    fit_scores, fit_labels = scores[:half], labels[:half]
    test_scores, test_labels = scores[half:], labels[half:]
    threshold, _, _ = threshold_at(fit_scores, fit_labels, RATE)
    hit = float(np.mean(test_scores[test_labels] >= threshold))
    false = float(np.mean(test_scores[~test_labels] >= threshold))
    return threshold, hit, false


def at_threshold(scores: np.ndarray, labels: np.ndarray, threshold: float):
    return (
        float(np.mean(scores[labels] >= threshold)),
        float(np.mean(scores[~labels] >= threshold)),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--qqp-pairs", type=int, default=6000)
    parser.add_argument("--mrpc-pairs", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    embeddings = DefaultEmbeddings()
    lines = []
    lines.append(
        "| data set | method | threshold (fitted on half A) | hit rate (half B) "
        "| false-hit rate (half B) | vs plain cosine |"
    )
    lines.append("|---|---|---|---|---|---|")
    started = time.perf_counter()
    defaults = []
    adversarial = []
    for name, pairs in (
        ("QQP", load_qqp(args.data_dir, args.qqp_pairs)),
        ("MRPC", load_mrpc(args.data_dir)[: args.mrpc_pairs]),
    ):
        labels = np.array([label for _, _, label in pairs])
        half = len(pairs) // 2
        plain = pair_scores(embeddings, pairs, guard=False)
        # The guard only turns scores into -inf; no need to embed again.
        guarded = plain.copy()
        for index, (a, b, _) in enumerate(pairs):
            if conflict(signature(normalize_text(a)), signature(normalize_text(b))):
                guarded[index] = -np.inf
        gpt = gptcache_scores(plain)
        results = {}
        for method, scores in (
            ("plain cosine", plain),
            ("GPTCache SearchDistanceEvaluation", gpt),
            ("SemanticFaissCache (guard)", guarded),
        ):
            results[method] = evaluate(scores, labels, half)
        base = results["plain cosine"][1]
        for method, (threshold, hit, false) in results.items():
            ratio = hit / base if base else float("nan")
            lines.append(
                f"| {name} ({labels[half:].sum()} dup / {(~labels[half:]).sum()} "
                f"non-dup) | {method} | {threshold:.4f} | {hit:.1%} | {false:.2%} "
                f"| {ratio:.2f}x |"
            )
        shipped_hit, shipped_false = at_threshold(
            guarded[half:], labels[half:], DEFAULT_SIMILARITY_THRESHOLD
        )
        gpt_hit, gpt_false = at_threshold(gpt[half:], labels[half:], 0.8)
        defaults.append(
            f"| {name} | SemanticFaissCache default "
            f"({DEFAULT_SIMILARITY_THRESHOLD}) | {shipped_hit:.1%} | "
            f"{shipped_false:.2%} |"
        )
        defaults.append(
            f"| {name} | GPTCache default (similarity_threshold=0.8) | "
            f"{gpt_hit:.1%} | {gpt_false:.2%} |"
        )

        adversarial.append((name, pairs[half:], labels[half:], results))

    lines.append("")
    lines.append("Shipped defaults, no fitting (half B):")
    lines.append("")
    lines.append("| data set | configuration | hit rate | false-hit rate |")
    lines.append("|---|---|---|---|")
    lines.extend(defaults)

    # Near misses made from true duplicates: one deciding word changed.
    lines.append("")
    lines.append(
        "Near misses: a question of half B against itself with one deciding word "
        "changed (a number, a name, a negation added), share served at each "
        "method's fitted threshold and at the shipped default:"
    )
    lines.append("")
    lines.append(
        "| data set | change | pairs | plain cosine | GPTCache | SemanticFaissCache "
        f"(fitted) | SemanticFaissCache default ({DEFAULT_SIMILARITY_THRESHOLD}) |"
    )
    lines.append("|---|---|---|---|---|---|---|")
    for name, test_pairs, _labels, results in adversarial:
        originals = sorted({a for a, _, _ in test_pairs})
        random.Random(2).shuffle(originals)
        for change, edit in (
            ("number", change_number),
            ("name", change_name),
            ("negation", add_negation),
        ):
            made = [(a, edited) for a in originals if (edited := edit(a)) != a]
            made = made[:400]
            if not made:
                continue
            triples = [(a, b, False) for a, b in made]
            plain_scores = pair_scores(embeddings, triples, guard=False)
            guard_scores = plain_scores.copy()
            for index, (a, b) in enumerate(made):
                if conflict(signature(normalize_text(a)), signature(normalize_text(b))):
                    guard_scores[index] = -np.inf
            gpt_scores = gptcache_scores(plain_scores)
            served = [
                float(np.mean(plain_scores >= results["plain cosine"][0])),
                float(
                    np.mean(
                        gpt_scores >= results["GPTCache SearchDistanceEvaluation"][0]
                    )
                ),
                float(
                    np.mean(guard_scores >= results["SemanticFaissCache (guard)"][0])
                ),
                float(np.mean(guard_scores >= DEFAULT_SIMILARITY_THRESHOLD)),
            ]
            lines.append(
                f"| {name} | {change} | {len(made)} | "
                + " | ".join(f"{value:.1%}" for value in served)
                + " |"
            )

    # Unrelated questions, wrapped as a chat prompt with a system prompt.
    questions = sorted({a for a, _, _ in load_qqp(args.data_dir, 4000)})
    rng = random.Random(1)
    chosen = rng.sample(questions, 1000)
    left, right = chosen[:500], chosen[500:]
    system = SystemMessage("You are a helpful assistant. Answer concisely.")

    def as_json(text: str) -> str:
        return dumps([system, HumanMessage(text)])

    def extracted(text: str) -> str:
        return canonical_prompt(as_json(text), "llm").query

    lines.append("")
    lines.append(
        "Cosine of 500 unrelated QQP question pairs (system prompt + question):"
    )
    lines.append("")
    lines.append("| text embedded | mean cosine | p95 cosine | max cosine |")
    lines.append("|---|---|---|---|")
    for label, transform in (
        ("raw question text", lambda text: text),
        ("LangChain's JSON of the messages (other caches)", as_json),
        ("SemanticFaissCache's extracted user turn", extracted),
    ):
        a = embeddings.embed_array([transform(text) for text in left])
        b = embeddings.embed_array([transform(text) for text in right])
        cos = np.sum(a * b, axis=1)
        lines.append(
            f"| {label} | {cos.mean():.3f} | {np.percentile(cos, 95):.3f} "
            f"| {cos.max():.3f} |"
        )
    lines.append("")
    lines.append(f"Wall time: {time.perf_counter() - started:.0f} s.")
    table = "\n".join(lines)
    print(table)
    if args.out is not None:
        args.out.write_text(
            "# Cache quality at 1% false hits\n\nCommand: `uv run python "
            "benchmarks/cache_quality.py --out benchmarks/results/cache_quality.md`"
            f"\n\n{table}\n",
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()
