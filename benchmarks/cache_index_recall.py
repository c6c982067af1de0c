"""Exact versus approximate vector search: recall at 1 and search time.

For each size N, N unit vectors of 384 dimensions are drawn around N/20 random
topic centres (cached prompts come in topics, which is what an IVF index
exploits), and each query is a stored vector plus noise (a paraphrase of a
cached prompt). Both indexes answer the same 500 queries one at a time, FAISS
on one thread. Recall at 1 is the share of queries whose approximate top id is
the exact top id. A second table times exact search alone over a range of
sizes, to place `APPROXIMATE_THRESHOLD` where it crosses about 1 ms.

The peer, GPTCache, searches a flat FAISS index at every size, so its search
time is the exact column (benchmarks/results/cache_speed.md measures both).

Run:
    uv run python benchmarks/cache_index_recall.py
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from langchain_finops.cache._index import FlatIndex, IVFIndex

DIM = 384
QUERIES = 500


def clustered_units(count: int, seed: int) -> np.ndarray:
    """Unit vectors around `count // 20` random centres."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(1, count // 20), DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    out = np.empty((count, DIM), dtype=np.float32)
    for start in range(0, count, 100_000):
        stop = min(count, start + 100_000)
        topic = rng.integers(0, len(centres), stop - start)
        block = centres[topic] + 0.06 * rng.standard_normal((stop - start, DIM)).astype(
            np.float32
        )
        out[start:stop] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def timed_search(
    index: FlatIndex | IVFIndex, queries: np.ndarray
) -> tuple[list[int], list[float]]:
    tops: list[int] = []
    times: list[float] = []
    for query in queries:
        start = time.perf_counter()
        hits = index.search(query, 4)
        times.append((time.perf_counter() - start) * 1000)
        tops.append(hits[0][0])
    return tops, times


def pct(samples: list[float]) -> str:
    p50, p99 = np.percentile(samples, [50, 99])
    return f"{p50:.3f} / {p99:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--flat-sizes", default="5000,10000,15000,17500,20000,40000")
    parser.add_argument(
        "--nprobes", default="auto,64,128", help="groups scanned; auto: the default"
    )
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    lines = [
        "| entries | nlist / nprobe | build (s) | recall@1"
        " | exact search p50 / p99 (ms) | approximate search p50 / p99 (ms) |",
        "|---|---|---|---|---|---|",
    ]
    for size in [int(s) for s in args.sizes.split(",")]:
        vectors = clustered_units(size, seed=size)
        ids = np.arange(size, dtype=np.int64)
        picks = rng.integers(0, size, QUERIES)
        queries = vectors[picks] + 0.03 * rng.standard_normal((QUERIES, DIM)).astype(
            np.float32
        )
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        flat = FlatIndex(DIM)
        flat.add(ids, vectors)
        start = time.perf_counter()
        ivf = IVFIndex(ids=ids, vectors=vectors)
        build = time.perf_counter() - start
        exact_tops, exact_times = timed_search(flat, queries)
        seen: set[int] = set()
        for token in args.nprobes.split(","):
            ivf.nprobe = None if token == "auto" else int(token)
            if ivf.nprobe in seen:
                continue
            seen.add(ivf.nprobe)
            approx_tops, approx_times = timed_search(ivf, queries)
            recall = np.mean(np.array(exact_tops) == np.array(approx_tops))
            label = f"{ivf.nprobe} (default)" if token == "auto" else str(ivf.nprobe)
            lines.append(
                f"| {size:,} | {ivf.nlist} / {label} | {build:.1f} | {recall:.3f} "
                f"| {pct(exact_times)} | {pct(approx_times)} |"
            )
            print(lines[-1], flush=True)
        del flat, ivf, vectors
    flat_lines = ["| entries | exact search p50 / p99 (ms) |", "|---|---|"]
    for size in [int(s) for s in args.flat_sizes.split(",")]:
        flat = FlatIndex(DIM)
        flat.add(np.arange(size, dtype=np.int64), clustered_units(size, seed=size))
        queries = clustered_units(QUERIES, seed=size + 1)
        _, times = timed_search(flat, queries)
        flat_lines.append(f"| {size:,} | {pct(times)} |")
        print(flat_lines[-1], flush=True)
    load = Path("/proc/loadavg").read_text().split()[0]
    text = "\n".join(
        [
            "# Exact versus approximate vector search",
            "",
            f"Command: `uv run python benchmarks/cache_index_recall.py "
            f"{' '.join(sys.argv[1:])}`",
            "",
            "Clustered synthetic 384-d unit vectors (N/20 topics); each query is a "
            "stored vector plus noise. Recall@1: share of queries whose approximate "
            "top id is the exact top id.",
            "",
            *lines,
            "",
            *flat_lines,
            "",
            f"{QUERIES} queries per size, top-4 search, FAISS on one thread; "
            f"load average at the end {load} on 2 shared cores.",
        ]
    )
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
