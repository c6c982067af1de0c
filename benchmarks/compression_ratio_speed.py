"""Compression ratio, speed and protected-span safety, side by side with peers.

Samples (all offline):
- verbose prose: five padded requests written for this benchmark
  (`benchmarks/data/compression_verbose_prose.txt`);
- code: this package's own Python source files;
- JSON: QMSum query records (MIT), pretty-printed with indent=2;
- meeting transcripts: the first five QMSum validation meetings (MIT).

Peers: every compressor on PyPI that needs neither PyTorch nor a model download
and runs offline, when installed (`uv run --with ...`, see the results file).
A peer that is not installed is listed as such.

Ratio = input tokens / output tokens (o200k_base, as for gpt-4o-mini).
Speed = milliseconds per 1,000 input tokens, best of `--repeat` runs.
"Protected intact" = share of protected spans (code, URLs, numbers with units,
identifiers, quoted strings, names, negations, as our splitter finds them in
the input) found byte for byte in the output; JSON counts as intact when the
output parses to the same value.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

from langchain_finops.compression import PromptCompressor
from langchain_finops.compression._spans import split_spans
from langchain_finops.costs.tokens import count_tokens

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data"
MODEL = "gpt-4o-mini"
SLOW_MS_PER_1K = 100.0
SLOW_PEER_TOKENS = 30_000


def tokens(text: str) -> int:
    return int(count_tokens(text, model=MODEL))


def load_samples(data_dir: Path) -> dict[str, list[str]]:
    prose_file = ROOT / "benchmarks" / "data" / "compression_verbose_prose.txt"
    prose = [p.strip() for p in prose_file.read_text().split("\n---\n")]
    code_files = ["costs/tokens.py", "costs/handler.py", "costs/prices.py"]
    code = [(ROOT / "langchain_finops" / f).read_text() for f in code_files]
    rows = [
        json.loads(line)
        for line in (data_dir / "qmsum" / "val.jsonl").read_text().splitlines()
    ]
    records = [
        json.dumps(
            {k: v for k, v in row.items() if k != "meeting_transcripts"}, indent=2
        )
        for row in rows[:5]
    ]
    transcripts = [
        "\n".join(f"{t['speaker']}: {t['content']}" for t in row["meeting_transcripts"])
        for row in rows[:5]
    ]
    return {
        "verbose prose": prose,
        "code": code,
        "JSON": records,
        "meeting transcripts": transcripts,
    }


def protected_pieces(text: str) -> tuple[list[str], list[str]]:
    pieces, json_pieces = [], []
    for span in split_spans(text):
        piece = text[span.start : span.end]
        if span.kind in ("free", "keep_tag"):
            continue
        (json_pieces if span.kind == "json" else pieces).append(piece)
    return pieces, json_pieces


def intact(original: str, output: str) -> tuple[int, int]:
    pieces, json_pieces = protected_pieces(original)
    found = sum(1 for p in pieces if p in output)
    for piece in json_pieces:
        try:
            found += int(json.loads(output) == json.loads(piece))
        except ValueError:
            stripped = "".join(piece.split())
            found += int(stripped in "".join(output.split()))
    return found, len(pieces) + len(json_pieces)


def peers() -> dict[str, Callable[[str], str] | str]:
    found: dict[str, Callable[[str], str] | str] = {}
    try:
        from compression_prompt import Compressor, CompressorConfig

        compressor = Compressor(CompressorConfig(min_input_tokens=0, min_input_bytes=0))
        found["compression-prompt 0.1.2"] = lambda t: compressor.compress(t).compressed
    except ImportError:
        found["compression-prompt"] = "not installed"
    try:
        from prompt_compressor import compress as pc_compress

        found["prompt-compressor 0.1.0 (medium)"] = lambda t: (
            pc_compress(t, level="medium").output
        )
    except ImportError:
        found["prompt-compressor"] = "not installed"
    try:
        from shrinkprompt import compress as shrink_compress

        found["shrink-prompt 1.0.0"] = shrink_compress
    except ImportError:
        found["shrink-prompt"] = "not installed"
    try:
        from promptzip import compress as zip_compress

        found["promptzip 0.1.0"] = lambda t: zip_compress(t)["compressed"]
    except ImportError:
        found["promptzip"] = "not installed"
    return found


def measure(
    run: Callable[[str], str], texts: list[str], repeat: int
) -> tuple[float, float, tuple[int, int]]:
    original = sum(tokens(t) for t in texts)
    started = time.perf_counter()
    outputs = [run(t) for t in texts]
    best = time.perf_counter() - started
    # Slow compressors (seconds a sample) are timed once.
    for _ in range(repeat if best < 2 else 0):
        started = time.perf_counter()
        for text in texts:
            run(text)
        best = min(best, time.perf_counter() - started)
    compressed = sum(tokens(o) for o in outputs)
    found = total = 0
    for text, output in zip(texts, outputs, strict=True):
        f, n = intact(text, output)
        found += f
        total += n
    return original / max(1, compressed), best * 1000 / original * 1000, (found, total)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    tokens("warm up the tokenizer")  # also seeds tiktoken's cache for the peers
    samples = load_samples(args.data_dir)
    ours = PromptCompressor(model=MODEL, min_tokens=0, report_to_ledger=False)
    ours_more = PromptCompressor(
        model=MODEL, min_tokens=0, target_ratio=1.6, report_to_ledger=False
    )
    runners: dict[str, Callable[[str], str] | str] = {
        "PromptCompressor (default)": lambda t: str(ours.invoke(t)),
        "PromptCompressor (target_ratio=1.6)": lambda t: str(ours_more.invoke(t)),
        **peers(),
    }

    print(
        "| sample | tokens | compressor | ratio | ms / 1k tokens | protected intact |"
    )
    print("|---|---:|---|---:|---:|---:|")
    slow: set[str] = set()
    for name, texts in samples.items():
        size = sum(tokens(t) for t in texts)
        for label, run in runners.items():
            if isinstance(run, str):
                print(f"| {name} | {size} | {label} | {run} | | |")
                continue
            subset = texts
            if label in slow and size > SLOW_PEER_TOKENS:
                # Seconds per 1k tokens: measured on the first text only.
                subset = texts[:1]
                label = f"{label} (first text only, {tokens(subset[0])} tokens)"
            try:
                ratio, speed, (found, total) = measure(run, subset, args.repeat)
                if speed > SLOW_MS_PER_1K:
                    slow.add(label)
            except Exception as error:  # a peer that crashes is reported, not fatal
                print(
                    f"| {name} | {size} | {label} | error: {type(error).__name__} | | |"
                )
                continue
            share = f"{found}/{total} ({found / total:.1%})" if total else "-"
            print(
                f"| {name} | {size} | {label} | {ratio:.2f}x | {speed:.2f} | {share} |"
            )


if __name__ == "__main__":
    main()
