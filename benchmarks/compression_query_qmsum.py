"""Query-aware extraction on QMSum: does the reference span survive compression?

QMSum (MIT; `../shared/data/qmsum/val.jsonl`) gives, for each specific query on
a meeting, the turns of the transcript that answer it
(`specific_query_list[i].relevant_text_span`, inclusive `[start, end]` turn
index ranges). The transcript is rendered one turn a line, `Speaker: content`,
and compressed with the query to 2x and 4x fewer tokens (o200k_base).

A turn is *kept* when its line appears verbatim in the compressed text.
For each query we measure the share of the reference span's tokens that were
kept (its token recall), and count the query as:

- **half kept**: at least 50% of the span's tokens kept (the headline figure);
- **touched**: at least one turn of the span kept;
- **whole**: every turn of the span kept.

Baselines at the same token budget: the first lines that fit (truncation), and
random lines (seed 0). Run: `uv run python benchmarks/compression_query_qmsum.py`.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from langchain_finops.compression import PromptCompressor
from langchain_finops.costs.tokens import count_tokens

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data"
MODEL = "gpt-4o-mini"


def tokens(text: str) -> int:
    return int(count_tokens(text, model=MODEL))


def truncate(lines: list[str], sizes: list[int], budget: int) -> set[int]:
    kept, used = set(), 0
    for index, size in enumerate(sizes):
        if used + size > budget:
            break
        kept.add(index)
        used += size
    return kept


def random_lines(lines: list[str], sizes: list[int], budget: int) -> set[int]:
    order = list(range(len(lines)))
    random.Random(0).shuffle(order)
    kept, used = set(), 0
    for index in order:
        if used + sizes[index] <= budget:
            kept.add(index)
            used += sizes[index]
    return kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--chunk-tokens", type=int, nargs="+", default=[64, 256])
    args = parser.parse_args()

    rows = [
        json.loads(line)
        for line in (args.data_dir / "qmsum" / "val.jsonl").read_text().splitlines()
    ]
    meetings = []
    for row in rows:
        lines = [f"{t['speaker']}: {t['content']}" for t in row["meeting_transcripts"]]
        sizes = [tokens(line + "\n") for line in lines]
        queries = [
            (
                q["query"],
                sorted(
                    {
                        i
                        for start, end in q["relevant_text_span"]
                        for i in range(int(start), int(end) + 1)
                        if i < len(lines)
                    }
                ),
            )
            for q in row["specific_query_list"]
        ]
        meetings.append((lines, sizes, "\n".join(lines), queries))
    total_queries = sum(len(m[3]) for m in meetings)

    print(
        f"QMSum val: {len(meetings)} meetings, {total_queries} specific queries, "
        f"{sum(tokens(m[2]) for m in meetings)} transcript tokens.\n"
    )
    print(
        "| method | target | achieved ratio | half kept | touched | whole | "
        "mean token recall | ms / query |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for ratio in (2.0, 4.0):
        methods: dict[str, Callable[..., set[int] | str]] = {}
        for chunk in args.chunk_tokens:
            compressor = PromptCompressor(
                model=MODEL,
                target_ratio=ratio,
                min_tokens=0,
                chunk_tokens=chunk,
                report_to_ledger=False,
            )

            def ours(
                lines: list[str],
                sizes: list[int],
                text: str,
                query: str,
                compressor: PromptCompressor = compressor,
            ) -> str:
                return str(compressor.compress(text, query=query).value)

            methods[f"PromptCompressor query-aware, chunk_tokens={chunk}"] = ours
        methods["truncation (first lines)"] = (
            lambda lines, sizes, text, query, r=ratio: truncate(
                lines, sizes, int(tokens(text) / r)
            )
        )
        methods["random lines (seed 0)"] = lambda lines, sizes, text, query, r=ratio: (
            random_lines(lines, sizes, int(tokens(text) / r))
        )
        for name, method in methods.items():
            recalls, ratios, elapsed = [], [], 0.0
            for lines, sizes, text, queries in meetings:
                original = tokens(text)
                for query, span in queries:
                    started = time.perf_counter()
                    result = method(lines, sizes, text, query)
                    elapsed += time.perf_counter() - started
                    if isinstance(result, str):
                        kept_text = set(result.split("\n"))
                        kept = {i for i, line in enumerate(lines) if line in kept_text}
                        ratios.append(original / max(1, tokens(result)))
                    else:
                        kept = result
                        ratios.append(
                            original
                            / max(1, tokens("\n".join(lines[i] for i in sorted(kept))))
                        )
                    span_tokens = sum(sizes[i] for i in span)
                    kept_tokens = sum(sizes[i] for i in span if i in kept)
                    recalls.append(kept_tokens / span_tokens if span_tokens else 1.0)
            n = len(recalls)
            half = sum(r >= 0.5 for r in recalls) / n
            touched = sum(r > 0 for r in recalls) / n
            whole = sum(r >= 0.999999 for r in recalls) / n
            print(
                f"| {name} | {ratio:.0f}x | {statistics.mean(ratios):.2f}x | "
                f"{half:.1%} | {touched:.1%} | {whole:.1%} | "
                f"{statistics.mean(recalls):.1%} | "
                f"{elapsed / n * 1000:.0f} |"
            )


if __name__ == "__main__":
    main()
