"""Build the traffic sample shipped with `langchain-finops demo`.

Reads the shared public data sets (never the "measure only" ones) and writes,
deterministically for a seed:

* `langchain_finops/simulate/data/sample_traffic.jsonl.gz`: one JSON record a
  line, in time order. Single prompts from BANKING77 and CLINC150 carry their
  intent label; multi-turn chats from the BYU chit-chat set carry OpenAI-style
  `messages`.
* `langchain_finops/simulate/data/reply_lengths.json`: percentiles of the token
  length of real chat-model answers (MT-Bench answers of five commercial chat
  models; numbers only, no text), which the simulated responder draws from.

How the stream is arranged (the "realistic" part):

* Intents are popular in a Zipf-like way (exponent `ZIPF_EXPONENT`), over the
  77 BANKING77 and 150 CLINC150 intents in a seeded random order.
* A chosen intent is asked in a new wording (an utterance not used yet) with
  probability `NEW_WORDING`, else as an exact repeat of a wording already asked,
  a third of those repeats lower-cased or without the final punctuation, as
  people retype the same question.
* `OUT_OF_SCOPE_SHARE` of prompts are CLINC150 out-of-scope queries, each
  asked once and labelled with its own `clinc150/oos/<n>` label: none of them
  should be answered from another one.
* Users have Zipf-like activity; arrival times are spread over two weeks with
  a day-night rhythm.

Usage:
    uv run python scripts/build_sample.py [--data-dir ../shared/data] [--seed 7]
"""

from __future__ import annotations

import argparse
import bisect
import csv
import gzip
import io
import json
import math
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from langchain_finops.costs.tokens import count_tokens

REPO = Path(__file__).resolve().parents[1]
OUT_DIR = REPO / "langchain_finops" / "simulate" / "data"

PROMPTS = 12_000
SESSIONS = 150
SESSION_MIN_TURNS = 20
SESSION_MAX_TURNS = 40
USERS = 3_000
ZIPF_EXPONENT = 0.6
NEW_WORDING = 0.7
OUT_OF_SCOPE_SHARE = 0.05
START = datetime(2026, 1, 5, tzinfo=UTC)
DAYS = 14
# Models whose MT-Bench answers stand for "a commercial chat model's reply".
REPLY_MODELS = (
    "gpt-4",
    "gpt-3.5-turbo",
    "claude-v1",
    "claude-instant-v1",
    "palm-2-chat-bison-001",
)


def _zipf_picker(n: int, exponent: float, rng: random.Random) -> Any:
    weights = [1.0 / (rank + 1) ** exponent for rank in range(n)]
    cumulative: list[float] = []
    total = 0.0
    for weight in weights:
        total += weight
        cumulative.append(total)

    def pick() -> int:
        return bisect.bisect_left(cumulative, rng.random() * total)

    return pick


def _load_intents(data_dir: Path) -> tuple[dict[str, list[str]], list[str]]:
    by_label: dict[str, list[str]] = {}
    for split in ("train.csv", "test.csv"):
        with (data_dir / "banking77" / split).open(newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                label = f"banking77/{row['category']}"
                by_label.setdefault(label, []).append(row["text"].strip())
    clinc = json.loads((data_dir / "clinc150" / "data_full.json").read_text("utf-8"))
    for split in ("train", "val", "test"):
        for text, intent in clinc[split]:
            by_label.setdefault(f"clinc150/{intent}", []).append(text.strip())
    out_of_scope = [
        text.strip()
        for split in ("oos_train", "oos_val", "oos_test")
        for text, _ in clinc[split]
    ]
    for label in by_label:
        # Drop duplicate wordings so that "new wording" really is new.
        by_label[label] = sorted(set(by_label[label]))
    return by_label, sorted(set(out_of_scope))


def _retype(text: str, rng: random.Random) -> str:
    roll = rng.random()
    if roll < 1 / 6:
        return text.lower()
    if roll < 1 / 3:
        return text.rstrip("?.! ")
    return text


def _prompts(data_dir: Path, rng: random.Random) -> list[dict[str, Any]]:
    by_label, out_of_scope = _load_intents(data_dir)
    labels = sorted(by_label)
    rng.shuffle(labels)
    pools = {
        label: rng.sample(by_label[label], len(by_label[label])) for label in labels
    }
    asked: dict[str, list[str]] = {label: [] for label in labels}
    pick_intent = _zipf_picker(len(labels), ZIPF_EXPONENT, rng)
    rng.shuffle(out_of_scope)
    oos_iter = iter(enumerate(out_of_scope))

    records: list[dict[str, Any]] = []
    for _ in range(PROMPTS):
        if rng.random() < OUT_OF_SCOPE_SHARE:
            index, text = next(oos_iter)
            records.append(
                {"prompt": text, "label": f"clinc150/oos/{index}", "source": "clinc150"}
            )
            continue
        label = labels[pick_intent()]
        new = pools[label] and (not asked[label] or rng.random() < NEW_WORDING)
        if new:
            text = pools[label].pop()
            asked[label].append(text)
        else:
            text = _retype(rng.choice(asked[label]), rng)
        records.append(
            {"prompt": text, "label": label, "source": label.split("/", 1)[0]}
        )
    return records


def _sessions(data_dir: Path, rng: random.Random) -> list[dict[str, Any]]:
    candidates: list[dict[str, Any]] = []
    path = data_dir / "chitchat" / "conversations.jsonl"
    with path.open(encoding="utf-8") as f:
        for line in f:
            conversation = json.loads(line)
            if len(conversation["turns"]) >= SESSION_MIN_TURNS:
                candidates.append(conversation)
    candidates.sort(key=lambda c: c["id"])
    chosen = rng.sample(candidates, SESSIONS)
    sessions = []
    for conversation in chosen:
        turns = conversation["turns"][:SESSION_MAX_TURNS]
        messages = [
            {
                "role": "user" if turn["speaker"] == "A" else "assistant",
                "content": turn["text"],
            }
            for turn in turns
        ]
        sessions.append(
            {
                "messages": messages,
                "source": "chitchat",
                "conversation": conversation["id"],
            }
        )
    return sessions


def _timestamps(n: int, rng: random.Random) -> list[datetime]:
    times = []
    while len(times) < n:
        offset = rng.random() * DAYS * 86_400
        hour = (offset / 3600) % 24
        # Busy by day, quiet at night: accept with a raised cosine of the hour.
        if (
            rng.random()
            < 0.15 + 0.85 * (1 - math.cos(2 * math.pi * (hour - 3) / 24)) / 2
        ):
            times.append(START + timedelta(seconds=round(offset)))
    return sorted(times)


def _reply_lengths(data_dir: Path) -> dict[str, Any]:
    lengths: list[int] = []
    for model in REPLY_MODELS:
        path = data_dir / "mt_bench" / "model_answer" / f"{model}.jsonl"
        for line in path.read_text("utf-8").splitlines():
            for turn in json.loads(line)["choices"][0]["turns"]:
                lengths.append(int(count_tokens(turn, model="gpt-4o")))
    lengths.sort()
    percentiles = [
        lengths[min(len(lengths) - 1, round(p / 100 * (len(lengths) - 1)))]
        for p in range(101)
    ]
    return {
        "description": (
            "Percentiles 0..100 of the o200k_base token length of MT-Bench answers "
            "(both turns) by " + ", ".join(REPLY_MODELS) + ". Numbers only."
        ),
        "answers": len(lengths),
        "percentiles": percentiles,
    }


def build(data_dir: Path, seed: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Return the stream records and the reply-length table."""
    rng = random.Random(seed)
    records = _prompts(data_dir, rng) + _sessions(data_dir, rng)
    rng.shuffle(records)
    pick_user = _zipf_picker(USERS, 1.0, rng)
    user_names = [f"u{index:04d}" for index in range(USERS)]
    rng.shuffle(user_names)
    for index, (record, when) in enumerate(
        zip(records, _timestamps(len(records), rng), strict=True)
    ):
        record["id"] = f"r{index:05d}"
        record["user"] = user_names[pick_user()]
        record["timestamp"] = when.isoformat().replace("+00:00", "Z")
        if "messages" in record:
            record["session"] = f"chat-{index:05d}"
    return records, _reply_lengths(data_dir)


def main() -> None:
    """Build the sample and the reply-length table into the package."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=REPO.parent / "shared" / "data",
        help="folder holding banking77/, clinc150/, chitchat/ and mt_bench/",
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    records, reply_lengths = build(args.data_dir, args.seed)

    order = ("id", "timestamp", "user", "session", "source", "label", "prompt")
    buffer = io.BytesIO()
    # mtime=0 keeps the gzip bytes identical from run to run.
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as f:
        for record in records:
            ordered = {key: record[key] for key in order if key in record}
            ordered.update({k: v for k, v in record.items() if k not in ordered})
            f.write((json.dumps(ordered, ensure_ascii=False) + "\n").encode("utf-8"))
    (OUT_DIR / "sample_traffic.jsonl.gz").write_bytes(buffer.getvalue())
    (OUT_DIR / "reply_lengths.json").write_text(
        json.dumps(reply_lengths, indent=1) + "\n", encoding="utf-8"
    )
    sessions = sum(1 for r in records if "messages" in r)
    print(
        f"wrote {len(records)} records ({len(records) - sessions} prompts, "
        f"{sessions} chat sessions), {len(buffer.getvalue()) / 1e6:.2f} MB gzip"
    )


if __name__ == "__main__":
    main()
