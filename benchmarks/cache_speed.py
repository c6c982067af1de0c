"""Cache lookup speed and memory: SemanticFaissCache, GPTCache, InMemoryCache.

At each size N the cache holds N entries in one partition (one model, one
system prompt: the worst case, as every entry is a candidate). Stored vectors
are random unit vectors (a flat index costs the same whatever the vectors);
queries are real QQP questions embedded with `DefaultEmbeddings`.

- search alone: one top-4 inner-product search over N vectors, FAISS on one
  thread; GPTCache's own FAISS store (`IDMap,Flat`, L2) top-1 beside it;
- end to end: `SemanticFaissCache.lookup` of a chat prompt never seen, from
  the JSON LangChain passes to the moment it returns (parse, exact tier,
  local embedding on one thread, search, guard);
- exact tier: `lookup` of a stored prompt; LangChain `InMemoryCache.lookup`
  (a dict) beside it;
- memory: bytes per entry without the answer: Python objects held after
  loading (tracemalloc, minus the stored answer string) plus FAISS's own
  storage (vector, id, id-map entry);
- reopen: building the cache from a persisted SQLite store of N entries.

Run: uv run python benchmarks/cache_speed.py [--sizes 1000,10000,100000]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import sqlite3
import tempfile
import time
import tracemalloc
from pathlib import Path

import faiss
import numpy as np
from langchain_core.caches import InMemoryCache
from langchain_core.load import dumps
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGeneration

from langchain_finops.cache import SemanticFaissCache
from langchain_finops.cache._payload import dump_generations
from langchain_finops.cache._prompt import canonical_prompt
from langchain_finops.cache._store import NewEntry
from langchain_finops.embeddings import DefaultEmbeddings

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
LLM = "[('_type', 'openai-chat'), ('model_name', 'gpt-4o-mini'), ('stop', None)]"
SYSTEM = SystemMessage("You are a helpful assistant.")
DIM = 384


def pct(samples: list[float]) -> tuple[float, float]:
    values = np.array(samples) * 1000
    return float(np.percentile(values, 50)), float(np.percentile(values, 99))


def random_units(count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty((count, DIM), dtype=np.float32)
    for start in range(0, count, 100_000):
        block = rng.standard_normal((min(100_000, count - start), DIM)).astype(
            np.float32
        )
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[start : start + len(block)] = block
    return out


def chat_prompt(text: str) -> str:
    return dumps([SYSTEM, HumanMessage(text)])


def fill(cache: SemanticFaissCache, vectors: np.ndarray, payload: str) -> None:
    partition = canonical_prompt(chat_prompt("x"), LLM).partition
    store = cache._store
    now = time.time()
    for index, vector in enumerate(vectors):
        store.put(
            NewEntry(
                namespace="default",
                partition=partition,
                exact_key=f"{index:032x}",
                query=f"stored question {index}",
                vector=vector.tobytes(),
                expires_at=None,
            ),
            payload,
            now,
        )
    with cache._lock:
        cache._sync()


def persisted(directory: Path, vectors: np.ndarray, payload: str) -> None:
    cache = SemanticFaissCache(embeddings=DefaultEmbeddings(), persist_dir=directory)
    cache.close()
    partition = canonical_prompt(chat_prompt("x"), LLM).partition
    with sqlite3.connect(directory / "cache.sqlite3") as conn:
        conn.executemany(
            "INSERT INTO entries (namespace, partition_key, exact_key, query, vector, "
            "expires_at, last_used, payload) VALUES (?, ?, ?, ?, ?, NULL, 0, ?)",
            (
                (
                    "default",
                    partition,
                    f"{i:032x}",
                    f"stored question {i}",
                    v.tobytes(),
                    payload,
                )
                for i, v in enumerate(vectors)
            ),
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    sizes = [int(item) for item in args.sizes.split(",")]
    faiss.omp_set_num_threads(1)
    from gptcache.manager.vector_data.base import VectorData
    from gptcache.manager.vector_data.faiss import Faiss as GPTCacheFaiss

    questions = []
    with (args.data_dir / "qqp" / "pairs_dev.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            questions.append(json.loads(line)["text_a"])
            if len(questions) >= 5000:
                break
    random.Random(0).shuffle(questions)
    queries = questions[: args.queries]
    embeddings = DefaultEmbeddings(threads=1)
    query_vectors = embeddings.embed_array(queries)
    payload = dump_generations([ChatGeneration(message=AIMessage("ok"))])

    rows = []
    for size in sizes:
        vectors = random_units(size, seed=size)
        # Python-side bytes still held once loading is done (tracemalloc), plus
        # what FAISS keeps per entry: the float32 vector and its int64 id in
        # the flat store, and the id map's reverse entry (IndexIDMap2).
        gc.collect()
        tracemalloc.start()
        cache = SemanticFaissCache(embeddings=embeddings)
        fill(cache, vectors, payload)
        gc.collect()
        python_bytes = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        payload_bytes = len(payload) + 49  # the stored answer: excluded
        memory = python_bytes / size - payload_bytes + DIM * 4 + 8 + 8 + 32
        index = next(iter(cache._indexes.values()))

        search = []
        for vector in query_vectors:
            start = time.perf_counter()
            index.search(vector, 4)
            search.append(time.perf_counter() - start)

        gpt = GPTCacheFaiss(str(Path(tempfile.mkdtemp()) / "faiss.index"), DIM, 1)
        gpt.mul_add([VectorData(id=i, data=v) for i, v in enumerate(vectors)])
        gpt_search = []
        for vector in query_vectors:
            start = time.perf_counter()
            gpt.search(vector)
            gpt_search.append(time.perf_counter() - start)
        del gpt

        end_to_end = []
        for text in queries:
            prompt = chat_prompt(text)
            start = time.perf_counter()
            cache.lookup(prompt, LLM)
            end_to_end.append(time.perf_counter() - start)

        stored = [chat_prompt(f"stored exact {i}") for i in range(args.queries)]
        for prompt in stored:
            cache.update(prompt, LLM, [ChatGeneration(message=AIMessage("ok"))])
        exact = []
        for prompt in stored:
            start = time.perf_counter()
            cache.lookup(prompt, LLM)
            exact.append(time.perf_counter() - start)

        in_memory = InMemoryCache()
        generation = [ChatGeneration(message=AIMessage("ok"))]
        for i in range(size):
            in_memory.update(chat_prompt(f"stored question {i}"), LLM, generation)
        lc_prompts = [chat_prompt(f"stored question {i}") for i in range(args.queries)]
        lc_hit = []
        for prompt in lc_prompts:
            start = time.perf_counter()
            in_memory.lookup(prompt, LLM)
            lc_hit.append(time.perf_counter() - start)
        del in_memory

        del cache, index
        with tempfile.TemporaryDirectory() as directory:
            persisted(Path(directory), vectors, payload)
            start = time.perf_counter()
            reopened = SemanticFaissCache(embeddings=embeddings, persist_dir=directory)
            reopen = time.perf_counter() - start
            assert len(reopened) == size
            reopened.close()

        rows.append(
            (
                size,
                pct(search),
                pct(gpt_search),
                pct(end_to_end),
                pct(exact),
                pct(lc_hit),
                memory,
                reopen,
            )
        )
        print(f"done {size}", flush=True)

    lines = [
        "| entries | search p50 / p99 (ms) | GPTCache FAISS search p50 / p99 (ms) "
        "| end-to-end semantic lookup p50 / p99 (ms) "
        "| exact-tier lookup p50 / p99 (ms) | InMemoryCache lookup p50 / p99 (ms) "
        "| memory per entry (B) | reopen from SQLite (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for size, search, gpt, e2e, exact, lc, memory, reopen in rows:
        lines.append(
            f"| {size:,} | {search[0]:.3f} / {search[1]:.3f} "
            f"| {gpt[0]:.3f} / {gpt[1]:.3f} "
            f"| {e2e[0]:.2f} / {e2e[1]:.2f} | {exact[0]:.3f} / {exact[1]:.3f} "
            f"| {lc[0]:.4f} / {lc[1]:.4f} | {memory:,.0f} | {reopen:.2f} |"
        )
    lines.append("")
    lines.append(
        f"{args.queries} queries per size; FAISS and onnxruntime on one thread; "
        f"load average at the end {os.getloadavg()[0]:.1f} on 2 shared cores."
    )
    table = "\n".join(lines)
    print(table)
    if args.out is not None:
        args.out.write_text(
            "# Cache speed and memory\n\nCommand: `uv run python "
            f"benchmarks/cache_speed.py --sizes {args.sizes} --out {args.out}`"
            f"\n\n{table}\n",
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()
