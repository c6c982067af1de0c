"""Cache hit rate against false-hit rate on the shipped stream, by threshold.

What `langchain-finops simulate` reports for the cache, measured at several
thresholds on the same labelled traffic: the first prompts of the shipped
sample (real BANKING77 and CLINC150 queries; a hit served from a prompt with
another intent label, or from another out-of-scope query, is a false hit).

Only the cache is switched on, so that every prompt lands in one partition
and the figures are the cache's alone. Rows:

* the cache's default threshold, with its guard;
* the threshold `langchain-finops calibrate` fits (1% false hits allowed) on
  pairs drawn from the *later* half of the stream (no overlap with the
  replayed prompts), with the guard;
* the same threshold with the guard off: a plain cosine-threshold cache, the
  way GPTCache-style caches decide;
* a loose 0.80 threshold, with and without the guard.

Usage:
    uv run python benchmarks/simulate_false_hits.py [--prompts 1500]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import faiss

from langchain_finops.cache import SemanticFaissCache
from langchain_finops.simulate import PipelineOptions, Traffic, load_sample, simulate
from langchain_finops.simulate.calibration import labelled_pairs
from langchain_finops.simulate.pipeline import build_optimised

RESULTS = Path(__file__).resolve().parent / "results" / "simulate_false_hits.md"
CACHE_ONLY = PipelineOptions(routing=False, compression=False, memory=False)


def main() -> None:
    """Run the rows and write benchmarks/results/simulate_false_hits.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=1500)
    parser.add_argument("--pairs", type=int, default=2000)
    args = parser.parse_args()
    faiss.omp_set_num_threads(1)

    stream = [r for r in load_sample().records if r.prompt is not None]
    replayed = Traffic(source="shipped sample", records=stream[: args.prompts])
    later = stream[len(stream) // 2 :]

    fitted = SemanticFaissCache()
    report = fitted.calibrate(
        labelled_pairs(later, max_pairs=args.pairs, seed=0), max_false_hit_rate=0.01
    )
    default = SemanticFaissCache().similarity_threshold
    rows = [
        ("default threshold, guard on", default, True),
        ("calibrated (1% false hits on later pairs), guard on", report.threshold, True),
        ("calibrated, guard off (plain cosine threshold)", report.threshold, False),
        ("0.80, guard on", 0.80, True),
        ("0.80, guard off (plain cosine threshold)", 0.80, False),
    ]
    lines = [
        "| cache | threshold | hit rate | exact | semantic | false hits | "
        "false-hit rate | seconds |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, threshold, guard in rows:
        cache = SemanticFaissCache(similarity_threshold=threshold, guard=guard)
        pipeline = build_optimised(CACHE_ONLY, labelled_cache=cache)
        start = time.perf_counter()
        result = simulate(replayed, options=CACHE_ONLY, pipeline=pipeline)
        seconds = time.perf_counter() - start
        hits = result.cache_hits
        total = sum(hits.values())
        rate = result.false_hits / result.labelled_hits if result.labelled_hits else 0.0
        lines.append(
            f"| {name} | {threshold:.3f} | {100 * total / result.calls_done:.1f}% | "
            f"{hits.get('exact', 0):,} | {hits.get('semantic', 0):,} | "
            f"{result.false_hits:,} of {result.labelled_hits:,} | {100 * rate:.2f}% | "
            f"{seconds:.0f} |"
        )
        print(lines[-1], flush=True)
    command = "uv run python benchmarks/simulate_false_hits.py" + (
        f" --prompts {args.prompts}" if args.prompts != 1500 else ""
    )
    text = (
        "# Cache hits against false hits on the shipped stream\n\n"
        f"Command: `{command}`\n\n"
        f"The first {args.prompts:,} prompts of the shipped sample, replayed with "
        "only the cache switched on (one partition). A false hit is a hit served "
        "from a prompt with another intent label (each out-of-scope query has "
        f"its own). Calibration: {report.duplicates:,} same-label and "
        f"{report.non_duplicates:,} nearest other-label pairs from the later half "
        f"of the stream; on them the fitted threshold serves "
        f"{100 * report.hit_rate:.1f}% of same-label pairs and "
        f"{100 * report.false_hit_rate:.2f}% of the others.\n\n"
        + "\n".join(lines)
        + f"\n\nMachine: {os.cpu_count()} cores shared with other jobs (load average "
        f"{os.getloadavg()[0]:.1f}). Replies simulated; prompts and labels real.\n"
    )
    print(text)
    if args.prompts == 1500 and args.pairs == 2000:
        RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
