"""What a long chat costs in input tokens and dollars: full, trimmed, rolling summary.

Replays real conversations through three ways of building each request and
counts what every request would send, with the model's own tokenizer:

* full history: the system prompt and every earlier message;
* `langchain_core.messages.trim_messages`: the last messages that fit in the
  same token budget (strategy "last", system prompt kept, starting on a
  human turn);
* `RollingSummaryMemory`: a running summary plus the recent messages, within
  the same budget, with the summariser's own calls (input and output) added
  to its bill.

Data: `chitchat/` conversations of at least 40 turns (speaker A is the user,
speaker B the assistant; a *turn* is one request: A's message with all that
came before), and the two-turn sessions of `mt_bench/` (question 1, the
model's answer, question 2), answered by every model in `model_answer/`.

The summariser is a deterministic extractive fake (no network, no key): it
keeps the old summary and, per new message, who spoke and its first words,
within the word limit the memory asks for, and reports usage like a real
model. How many names and numbers a real summariser keeps needs an API key
and is not measured here.

Run: uv run python benchmarks/memory_cost.py
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from genai_prices import Usage, calc_price
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    trim_messages,
)

from langchain_finops.costs.tokens import count_tokens
from langchain_finops.memory import RollingSummaryMemory
from langchain_finops.testing import FakeUsageChatModel

DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SYSTEM_PROMPT = (
    "You are a friendly conversation partner. Keep your replies short and "
    "natural, and remember what the user told you earlier."
)
CHECKPOINTS = (10, 25, 50)
# Chat model and summariser priced; both count with o200k_base, so one replay
# serves both. The first is the intended set-up (a cheap summariser).
PRICINGS = (("gpt-4o", "gpt-4o-mini"), ("gpt-4o-mini", "gpt-4o-mini"))
COUNTING_MODEL = "gpt-4o"
STRATEGIES = ("full history", "trim_messages", "rolling summary")


class ExtractiveSummarizer(FakeUsageChatModel):
    """A deterministic summariser: old summary + first words of each message.

    It reads the request the memory sends ("Summary so far", "New messages",
    "at most N words") and answers within N words, so its output stays
    bounded like a real summariser's; usage is counted as for a real call.
    """

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0

    def _next_reply(self, messages: list[BaseMessage]) -> AIMessage:
        request = messages[-1].text
        limit_match = re.search(r"at most (\d+) words", request)
        limit = int(limit_match.group(1)) if limit_match else 100
        if "New messages:" in request:
            head, _, rest = request.partition("\n\nNew messages:\n")
            old = head.removeprefix("Summary so far:\n")
            new = rest.rsplit("\n\nWrite the", 1)[0]
            kept = [] if old == "(none yet)" else [old]
            for line in new.splitlines():
                speaker, _, text = line.partition(": ")
                first = re.findall(r"[\w'-]+", text)[:8]
                if first:
                    kept.append(f"{speaker.lower()} {' '.join(first)};")
            summary = " ".join(kept)
        else:
            summary = request.split("\n\n", 1)[1]
        words = summary.split()
        # Over the limit, the oldest facts give way to the newest.
        reply = AIMessage(" ".join(words[-limit:]))
        self.calls += 1
        self.input_tokens += int(count_tokens(messages, model=self.model_name))
        self.output_tokens += int(count_tokens(reply.text, model=self.model_name))
        return reply

    def usage(self) -> tuple[int, int, int]:
        """Calls, input tokens and output tokens so far."""
        return self.calls, self.input_tokens, self.output_tokens


def load_chitchat(data_dir: Path, min_turns: int) -> list[list[tuple[str, str]]]:
    conversations = []
    with (data_dir / "chitchat" / "conversations.jsonl").open() as handle:
        for line in handle:
            row = json.loads(line)
            turns = [(t["speaker"], t["text"]) for t in row["turns"]]
            if len(turns) >= min_turns:
                conversations.append(turns)
    return conversations


def chitchat_exchanges(turns: list[tuple[str, str]]) -> list[tuple[str, str | None]]:
    """Pairs (user message, assistant reply); A is the user, B the assistant."""
    # Consecutive turns of one speaker were already joined by the data's
    # preparation; a conversation B opened starts with B's greeting as a reply
    # to an empty request, which is skipped.
    if turns and turns[0][0] != "A":
        turns = turns[1:]
    pairs: list[tuple[str, str | None]] = []
    for index in range(0, len(turns), 2):
        user = turns[index][1]
        reply = turns[index + 1][1] if index + 1 < len(turns) else None
        pairs.append((user, reply))
    return pairs


def load_mt_bench(data_dir: Path) -> list[list[tuple[str, str | None]]]:
    questions = {}
    with (data_dir / "mt_bench" / "question.jsonl").open() as handle:
        for line in handle:
            row = json.loads(line)
            questions[row["question_id"]] = row["turns"]
    sessions = []
    for path in sorted((data_dir / "mt_bench" / "model_answer").glob("*.jsonl")):
        with path.open() as handle:
            for line in handle:
                row = json.loads(line)
                turns = questions.get(row["question_id"])
                answers = row["choices"][0]["turns"]
                if turns and len(turns) == 2 and len(answers) >= 2:
                    sessions.append([(turns[0], answers[0]), (turns[1], answers[1])])
    return sessions


class CachedCounter:
    """count_tokens for message lists, with per-message counts cached."""

    def __init__(self, model: str) -> None:
        self.model = model
        self._cache: dict[int, tuple[BaseMessage, int]] = {}

    def message(self, message: BaseMessage) -> int:
        hit = self._cache.get(id(message))
        if hit is not None and hit[0] is message:
            return hit[1]
        tokens = int(count_tokens([message], model=self.model)) - 3
        self._cache[id(message)] = (message, tokens)
        return tokens

    def __call__(self, messages: Sequence[BaseMessage]) -> int:
        return (3 if messages else 0) + sum(self.message(m) for m in messages)


def replay(
    exchanges: list[tuple[str, str | None]],
    *,
    memory: RollingSummaryMemory,
    summarizer: ExtractiveSummarizer,
    counter: CachedCounter,
    budget: int,
    turns: int,
    session: str,
) -> tuple[dict[str, list[int]], list[tuple[int, int, int]]]:
    """Input tokens per turn for each strategy, and summariser use per turn."""
    system = SystemMessage(SYSTEM_PROMPT)
    history: list[BaseMessage] = [system]
    pending: list[BaseMessage] = [system]
    config: Any = {"configurable": {"session_id": session}}
    per_turn: dict[str, list[int]] = {name: [] for name in STRATEGIES}
    steps: list[tuple[int, int, int]] = []
    for user, reply in exchanges[:turns]:
        question = HumanMessage(user)
        history.append(question)
        pending.append(question)
        per_turn["full history"].append(counter(history))
        kept = trim_messages(
            history,
            max_tokens=budget,
            token_counter=counter,
            strategy="last",
            include_system=True,
            start_on="human",
        )
        per_turn["trim_messages"].append(counter(kept))
        before = summarizer.usage()
        sent = memory.invoke(pending, config)
        after = summarizer.usage()
        per_turn["rolling summary"].append(counter(sent))
        steps.append((after[0] - before[0], after[1] - before[1], after[2] - before[2]))
        # The dataset's reply stands in for the model's answer.
        answer = AIMessage(reply or "")
        history.append(answer)
        pending = [answer]
    return per_turn, steps


def dollars(model: str, input_tokens: int, output_tokens: int = 0) -> Decimal:
    usage = Usage(input_tokens=input_tokens, output_tokens=output_tokens)
    return Decimal(calc_price(usage, model_ref=model, provider_id="openai").total_price)


@dataclass
class Aggregate:
    """Sums over conversations, per turn (only conversations that reach it)."""

    turns: int
    per_turn_sum: list[int] = field(default_factory=list)
    reached: list[int] = field(default_factory=list)
    cumulative_sum: list[int] = field(default_factory=list)
    summarizer_calls_at: list[int] = field(default_factory=list)
    summarizer_input_at: list[int] = field(default_factory=list)
    summarizer_output_at: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        for name in (
            "per_turn_sum",
            "reached",
            "cumulative_sum",
            "summarizer_calls_at",
            "summarizer_input_at",
            "summarizer_output_at",
        ):
            setattr(self, name, [0] * self.turns)


def add(
    aggregate: Aggregate, per_turn: list[int], summarizer: list[tuple[int, int, int]]
) -> None:
    """Add one conversation; the *_at lists hold running totals up to each turn."""
    running = calls = inp = out = 0
    for index, tokens in enumerate(per_turn):
        running += tokens
        calls += summarizer[index][0]
        inp += summarizer[index][1]
        out += summarizer[index][2]
        aggregate.per_turn_sum[index] += tokens
        aggregate.reached[index] += 1
        aggregate.cumulative_sum[index] += running
        aggregate.summarizer_calls_at[index] += calls
        aggregate.summarizer_input_at[index] += inp
        aggregate.summarizer_output_at[index] += out


def run_corpus(
    name: str,
    conversations: Iterator[list[tuple[str, str | None]]],
    *,
    model: str,
    summarizer_model: str,
    budget: int,
    turns: int,
    memory_settings: dict[str, Any],
) -> tuple[dict[str, Aggregate], int]:
    """Aggregates per strategy, and the largest rolling-summary request seen."""
    counter = CachedCounter(model)
    aggregates = {name: Aggregate(turns) for name in STRATEGIES}
    peak = 0
    for number, exchanges in enumerate(conversations):
        summarizer = ExtractiveSummarizer(model_name=summarizer_model)
        memory = RollingSummaryMemory(
            llm=summarizer, model=model, max_tokens=budget, **memory_settings
        )
        per_turn, steps = replay(
            exchanges,
            memory=memory,
            summarizer=summarizer,
            counter=counter,
            budget=budget,
            turns=turns,
            session=f"{name}-{number}",
        )
        none = [(0, 0, 0)] * len(steps)
        add(aggregates["full history"], per_turn["full history"], none)
        add(aggregates["trim_messages"], per_turn["trim_messages"], none)
        add(aggregates["rolling summary"], per_turn["rolling summary"], steps)
        peak = max(peak, *per_turn["rolling summary"])
    return aggregates, peak


def mean(total: int, count: int) -> float:
    return total / count if count else float("nan")


def cost_at(
    aggregate: Aggregate, index: int, model: str, summarizer_model: str
) -> tuple[Decimal, float]:
    """Mean cumulative input dollars and summariser calls up to turn index + 1.

    Means are over the conversations that reach that turn; the dollars
    include the summariser's input and output.
    """
    reached = aggregate.reached[index]
    total = dollars(model, aggregate.cumulative_sum[index])
    summarizer_in = aggregate.summarizer_input_at[index]
    summarizer_out = aggregate.summarizer_output_at[index]
    if summarizer_in or summarizer_out:
        total += dollars(summarizer_model, summarizer_in, summarizer_out)
    return total / reached, aggregate.summarizer_calls_at[index] / reached


def token_table(aggregates: dict[str, Aggregate], checkpoints: Sequence[int]) -> str:
    head = (
        [f"input tokens, turn {t}" for t in checkpoints]
        + [f"cumulative input tokens, turn {t}" for t in checkpoints]
        + [f"summariser calls by turn {t}" for t in checkpoints]
    )
    lines = [
        "| strategy | " + " | ".join(head) + " |",
        "|---|" + "---:|" * len(head),
    ]
    for name, aggregate in aggregates.items():
        cells = []
        for t in checkpoints:
            i = t - 1
            cells.append(
                f"{mean(aggregate.per_turn_sum[i], aggregate.reached[i]):,.0f}"
            )
        for t in checkpoints:
            i = t - 1
            cells.append(
                f"{mean(aggregate.cumulative_sum[i], aggregate.reached[i]):,.0f}"
            )
        for t in checkpoints:
            i = t - 1
            cells.append(
                f"{mean(aggregate.summarizer_calls_at[i], aggregate.reached[i]):.1f}"
            )
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def dollar_table(aggregates: dict[str, Aggregate], checkpoints: Sequence[int]) -> str:
    head = ["chat model / summariser"]
    head += [f"cumulative $ per 1,000 chats, turn {t}" for t in checkpoints]
    head += [f"vs full history, turn {checkpoints[-1]}"]
    lines = [
        "| strategy | " + " | ".join(head) + " |",
        "|---|---|" + "---:|" * (len(head) - 1),
    ]
    last = checkpoints[-1] - 1
    for model, summarizer_model in PRICINGS:
        full = cost_at(aggregates["full history"], last, model, summarizer_model)[0]
        for name, aggregate in aggregates.items():
            cells = [f"{model} / {summarizer_model}"]
            for t in checkpoints:
                cost = cost_at(aggregate, t - 1, model, summarizer_model)[0]
                cells.append(f"{cost * 1000:,.4f}")
            cost = cost_at(aggregate, last, model, summarizer_model)[0]
            cells.append(f"{(cost / full - 1) * 100:+.1f}%")
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0] if __doc__ else ""
    )
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument(
        "--budget", type=int, default=600, help="max_tokens of trim and memory"
    )
    parser.add_argument("--min-turns", type=int, default=40)
    parser.add_argument("--turns", type=int, default=50)
    parser.add_argument(
        "--limit", type=int, default=0, help="at most this many conversations (0: all)"
    )
    parser.add_argument("--low-watermark", type=float, default=None)
    parser.add_argument("--max-summary-tokens", type=int, default=None)
    args = parser.parse_args(argv)
    memory_settings: dict[str, Any] = {}
    if args.low_watermark is not None:
        memory_settings["low_watermark"] = args.low_watermark
    if args.max_summary_tokens is not None:
        memory_settings["max_summary_tokens"] = args.max_summary_tokens

    started = time.perf_counter()
    chats = load_chitchat(args.data_dir, args.min_turns)
    if args.limit:
        chats = chats[: args.limit]
    chitchat, peak = run_corpus(
        "chitchat",
        (chitchat_exchanges(c) for c in chats),
        model=COUNTING_MODEL,
        summarizer_model="gpt-4o-mini",
        budget=args.budget,
        turns=args.turns,
        memory_settings=memory_settings,
    )
    sessions = load_mt_bench(args.data_dir)
    if args.limit:
        sessions = sessions[: args.limit]
    mt_bench, _ = run_corpus(
        "mt_bench",
        iter(sessions),
        model=COUNTING_MODEL,
        summarizer_model="gpt-4o-mini",
        budget=args.budget,
        turns=2,
        memory_settings=memory_settings,
    )
    elapsed = time.perf_counter() - started

    reached = chitchat["full history"].reached
    print(
        f"Budget (max_tokens of trim_messages and of the memory): {args.budget} "
        "tokens, counted with o200k_base; memory settings: "
        f"{memory_settings or 'defaults'}."
    )
    print(
        f"chitchat: {len(chats)} conversations of >= {args.min_turns} turns; "
        + ", ".join(f"{reached[t - 1]} reach turn {t}" for t in CHECKPOINTS)
        + f". mt_bench: {len(sessions)} two-turn sessions. {elapsed:.0f} s."
    )
    print()
    print("**chitchat, tokens** (means over the conversations that reach the turn)")
    print()
    print(token_table(chitchat, CHECKPOINTS))
    print()
    print("**chitchat, input dollars** (summariser input and output included)")
    print()
    print(dollar_table(chitchat, CHECKPOINTS))
    print()
    print("**mt_bench two-turn sessions**")
    print()
    print(token_table(mt_bench, (1, 2)))
    print()
    print(dollar_table(mt_bench, (1, 2)))
    print()
    per_turn = chitchat["rolling summary"].per_turn_sum
    late = [
        mean(per_turn[i], chitchat["rolling summary"].reached[i])
        for i in range(19, args.turns)
        if chitchat["rolling summary"].reached[i]
    ]
    if late:
        print(
            f"Rolling summary, turns 20-{args.turns}: mean input tokens per turn "
            f"{statistics.mean(late):,.0f} "
            f"(min {min(late):,.0f}, max {max(late):,.0f}); "
            f"largest single request {peak} tokens (budget {args.budget})."
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
