"""Replay 10,000 prompts offline through the full pipeline: time and peak memory.

The claim (issue 7): replaying 10,000 prompts offline with the default
embedder takes under a minute on a 2-core machine, in bounded memory. The
prompts are the first 10,000 single prompts of the shipped sample (real
BANKING77 and CLINC150 queries); every one goes to the baseline and to the
optimised pipeline (memory, compression, router, semantic cache with
`DefaultEmbeddings`), with simulated replies, exactly as
`langchain-finops simulate` does, FAISS on one thread as the command sets it.

The script prints a Markdown table: wall time, calls per second, CPU time,
peak resident memory, and the resident memory after each quarter of the
stream (flat growth = bounded). No peer replays traffic this way, so there is
no peer column; the same replay with every technique off is the floor (what
LangChain, the ledger and the simulated responder cost by themselves).
Peak memory is the process's, so the second row's includes the first's.

Usage:
    uv run python benchmarks/simulate_10k.py [--prompts 10000] [--input FILE]
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path

from langchain_finops.simulate import (
    PipelineOptions,
    Traffic,
    load_sample,
    load_traffic,
    simulate,
)
from langchain_finops.simulate import report as reports

RESULTS = Path(__file__).resolve().parent / "results" / "simulate_10k.md"


def rss_mb() -> float:
    """Resident memory of this process now, in MB (Linux /proc)."""
    with open("/proc/self/statm", encoding="ascii") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def peak_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def prompts_only(traffic: Traffic, count: int) -> Traffic:
    """The first `count` single-prompt records."""
    kept = Traffic(source=traffic.source)
    kept.records = [r for r in traffic.records if r.prompt is not None][:count]
    return kept


def run(traffic: Traffic, options: PipelineOptions) -> dict[str, float | str]:
    """Replay and measure."""
    planned = traffic.calls
    checkpoints = {planned * q // 4: 0.0 for q in (1, 2, 3, 4)}

    def on_call(done: int, _planned: int) -> None:
        if done in checkpoints:
            checkpoints[done] = rss_mb()

    cpu = time.process_time()
    start = time.perf_counter()
    result = simulate(traffic, options=options, on_call=on_call)
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu
    summary = reports.summary(result)
    return {
        "calls": float(result.calls_done),
        "wall": wall,
        "cpu": cpu,
        "peak": peak_mb(),
        "quarters": " / ".join(f"{checkpoints[k]:.0f}" for k in sorted(checkpoints)),
        "hit_rate": float(summary["cache_hit_rate"] or 0.0),
        "saved": float(summary["saved_share"] or 0.0),
    }


def main() -> None:
    """Run the benchmark and write benchmarks/results/simulate_10k.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=10_000)
    parser.add_argument("--input", type=Path, help="replay this file instead")
    parser.add_argument(
        "--faiss-threads",
        type=int,
        default=1,
        help="OpenMP threads for FAISS (the command sets 1); 0 keeps FAISS's default",
    )
    args = parser.parse_args()
    if args.faiss_threads:
        import faiss

        faiss.omp_set_num_threads(args.faiss_threads)

    source = load_traffic(args.input) if args.input else load_sample()
    traffic = prompts_only(source, args.prompts)
    start_rss = rss_mb()
    full = run(traffic, PipelineOptions())
    off = PipelineOptions(cache=False, routing=False, compression=False, memory=False)
    rows = [
        ("baseline + optimised (memory, compression, router, cache)", full),
        ("floor: baseline + optimised with every technique off", run(traffic, off)),
    ]
    header = (
        "| replay | calls | wall s | calls/s | CPU s | peak RSS MB | "
        "RSS after each quarter, MB | cache hit rate | saved |\n"
        "|---|---:|---:|---:|---:|---:|---|---:|---:|"
    )
    lines = [header]
    for name, m in rows:
        lines.append(
            f"| {name} | {m['calls']:,.0f} | {m['wall']:.1f} | "
            f"{float(m['calls']) / float(m['wall']):.0f} | {m['cpu']:.1f} | "
            f"{m['peak']:.0f} | {m['quarters']} | "
            f"{100 * float(m['hit_rate']):.1f}% | {100 * float(m['saved']):.1f}% |"
        )
    table = "\n".join(lines)
    command = "uv run python benchmarks/simulate_10k.py" + (
        f" --prompts {args.prompts}" if args.prompts != 10_000 else ""
    )
    load = os.getloadavg()
    text = (
        "# Replaying 10,000 prompts offline\n\n"
        f"Command: `{command}`\n\n"
        f"{table}\n\n"
        f"Machine: {os.cpu_count()} cores; load average at the end "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1 / 5 / 15 min; other "
        "jobs share the cores). Resident memory before the replay: "
        f"{start_rss:.0f} MB. Replies simulated; prompts, token counts and prices "
        "real.\n"
    )
    print(text)
    if args.prompts == 10_000 and not args.input:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
