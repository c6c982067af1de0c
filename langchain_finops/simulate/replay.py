"""Replay traffic through the baseline and the optimised pipeline, side by side.

Each call of the traffic is sent twice, to the baseline (the strong model, full
history, nothing else) and to the optimised pipeline, each with its own
`CostCallbackHandler`. The handlers' ledgers give the dollars and tokens; the
replies tell which calls the cache answered, from which tier, and which model
the router chose. Where the traffic carries labels, a cache hit whose stored
answer was made for a prompt of another label is a *false hit*: a wrong
answer the cache served.
"""

from __future__ import annotations

import logging
import math
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
)
from langchain_core.runnables import RunnableConfig

from langchain_finops.costs import CostCallbackHandler, PriceTable
from langchain_finops.costs.events import CACHE_METADATA_KEY, TECHNIQUES
from langchain_finops.costs.ledger import SavingTotals, UsageTotals
from langchain_finops.simulate.budget import SpendCap, SpendCapReached
from langchain_finops.simulate.pipeline import (
    OptimisedPipeline,
    PipelineOptions,
    build_baseline,
    build_optimised,
)
from langchain_finops.simulate.responder import CALL_KEY_METADATA
from langchain_finops.simulate.traffic import (
    ChatTurn,
    Traffic,
    TrafficProblem,
    TrafficRecord,
)

__all__ = ["CallOutcome", "SimulationResult", "simulate"]

logger = logging.getLogger(__name__)

# At most this many points of the cumulative-cost curve are kept, so the
# result stays small however long the traffic is.
_SERIES_POINTS = 500


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """What happened to one replayed call on the optimised side."""

    cache_tier: str | None
    """"exact" or "semantic" when the cache answered, else None."""
    model: str | None
    """The model whose answer was returned (from the cache or fresh)."""
    false_hit: bool | None
    """A cache hit served from a prompt of another label; None when it was
    no hit or either label is unknown."""
    added_seconds: float
    """Optimised minus baseline wall time for this call."""


@dataclass(slots=True)
class _Series:
    """The cumulative-cost curve, thinned to at most `_SERIES_POINTS` points."""

    calls: list[int] = field(default_factory=list)
    baseline: list[Decimal] = field(default_factory=list)
    optimised: list[Decimal] = field(default_factory=list)
    step: int = 1

    def add(self, call: int, baseline: Decimal, optimised: Decimal) -> None:
        if call % self.step:
            return
        self.calls.append(call)
        self.baseline.append(baseline)
        self.optimised.append(optimised)
        if len(self.calls) > _SERIES_POINTS:
            # Keep every other point and sample half as often from now on.
            self.calls = self.calls[::2]
            self.baseline = self.baseline[::2]
            self.optimised = self.optimised[::2]
            self.step *= 2


@dataclass(kw_only=True)
class SimulationResult:
    """Everything a replay measured; render it with `simulate.report`."""

    source: str
    options: PipelineOptions
    records: int
    calls_planned: int
    calls_done: int
    problems: list[TrafficProblem]
    baseline: UsageTotals
    optimised: UsageTotals
    savings: dict[str, SavingTotals]
    outcomes: list[CallOutcome]
    series_calls: list[int]
    series_baseline: list[Decimal]
    series_optimised: list[Decimal]
    baseline_ledger: dict[str, Any]
    optimised_ledger: dict[str, Any]
    stopped: str | None = None
    spent: Decimal | None = None

    @property
    def simulated(self) -> bool:
        """Whether the replies came from the simulated responder."""
        return not self.options.live

    @property
    def cache_hits(self) -> Counter[str]:
        """Cache hits by tier."""
        return Counter(o.cache_tier for o in self.outcomes if o.cache_tier)

    @property
    def labelled_hits(self) -> int:
        """Cache hits whose prompt and stored answer both have a known label."""
        return sum(1 for o in self.outcomes if o.false_hit is not None)

    @property
    def false_hits(self) -> int:
        """Cache hits served from a prompt with another label."""
        return sum(1 for o in self.outcomes if o.false_hit)

    @property
    def models(self) -> Counter[str]:
        """Calls answered by each model (a hit counts for the model that answered)."""
        return Counter(o.model or "(unknown)" for o in self.outcomes)

    @property
    def added_latency_ms(self) -> tuple[float, float, float]:
        """Mean, median and 95th percentile of the latency added per call, in ms."""
        values = sorted(o.added_seconds * 1000 for o in self.outcomes)
        if not values:
            return (0.0, 0.0, 0.0)
        # Nearest-rank 95th percentile: never below the median, even for a
        # handful of calls.
        p95 = values[max(0, math.ceil(0.95 * len(values)) - 1)]
        return (statistics.fmean(values), statistics.median(values), p95)


def _to_message(role: str, content: str) -> BaseMessage:
    if role == "system":
        return SystemMessage(content=content)
    if role == "assistant":
        return AIMessage(content=content)
    return HumanMessage(content=content)


@dataclass(frozen=True, slots=True)
class _Call:
    key: str
    label: str | None
    session: str | None
    baseline_messages: list[BaseMessage]
    """The whole conversation so far: what the baseline sends."""
    optimised_messages: list[BaseMessage]
    """The whole conversation as the optimised side saw it (its own replies)."""
    new_messages: list[BaseMessage]
    """Only what is new since the session's previous call: what a memory that
    keeps the session's history is given."""
    prompt: str | None
    """The prompt of a session turn built from single prompts; its reply is
    appended to the session's history once known."""

    def optimised_input(self, *, memory: bool) -> list[BaseMessage]:
        if memory and self.session is not None:
            return self.new_messages
        return self.optimised_messages


class _Calls:
    """Expands records into calls and keeps each side's conversation history."""

    def __init__(self) -> None:
        self.baseline_history: dict[str, list[BaseMessage]] = {}
        self.optimised_history: dict[str, list[BaseMessage]] = {}

    def expand(self, index: int, record: TrafficRecord) -> Iterator[_Call]:
        if record.messages is not None:
            yield from self._expand_chat(index, record, record.messages)
            return
        prompt = record.prompt or ""
        human = HumanMessage(content=prompt)
        if record.session is None:
            yield _Call(
                key=f"{index}:0",
                label=record.label,
                session=None,
                baseline_messages=[human],
                optimised_messages=[human],
                new_messages=[human],
                prompt=None,
            )
            return
        baseline = self.baseline_history.setdefault(record.session, [])
        optimised = self.optimised_history.setdefault(record.session, [])
        yield _Call(
            key=f"{index}:0",
            label=record.label,
            session=record.session,
            baseline_messages=[*baseline, human],
            optimised_messages=[*optimised, human],
            new_messages=[*optimised[-1:], human],
            prompt=prompt,
        )

    def _expand_chat(
        self, index: int, record: TrafficRecord, turns: tuple[ChatTurn, ...]
    ) -> Iterator[_Call]:
        session = record.session or f"line-{record.line}"
        history = [_to_message(turn.role, turn.content) for turn in turns]
        turn, since = 0, 0
        for position, message in enumerate(history):
            if not isinstance(message, HumanMessage):
                continue
            sent = history[: position + 1]
            yield _Call(
                key=f"{index}:{turn}",
                label=record.label,
                session=session,
                baseline_messages=sent,
                optimised_messages=sent,
                new_messages=history[since : position + 1],
                prompt=None,
            )
            turn, since = turn + 1, position + 1

    def answered(self, call: _Call, baseline: AIMessage, optimised: AIMessage) -> None:
        if call.prompt is None or call.session is None:
            return
        human = HumanMessage(content=call.prompt)
        self.baseline_history[call.session] += [human, AIMessage(content=baseline.text)]
        self.optimised_history[call.session] += [
            human,
            AIMessage(content=optimised.text),
        ]


def _cost(totals: UsageTotals) -> Decimal:
    return totals.cost if totals.cost is not None else Decimal(0)


def simulate(
    traffic: Traffic,
    *,
    options: PipelineOptions | None = None,
    max_spend: Decimal | None = None,
    price_overrides: dict[str, dict[str, object]] | None = None,
    pipeline: OptimisedPipeline | None = None,
    on_call: Callable[[int, int], None] | None = None,
) -> SimulationResult:
    """Replay `traffic` through the baseline and the optimised pipeline.

    Args:
        traffic: The records to replay (from `load_traffic` or `load_sample`).
        options: Models and techniques; the defaults replay offline with
            gpt-4o as the strong model and gpt-4o-mini as the cheap one.
        max_spend: A hard cap in USD on what both sides together may spend;
            the replay stops before a call that could pass it.
        price_overrides: Model name to USD per million tokens.
        pipeline: A ready optimised pipeline (a calibrated one); built from
            `options` when omitted.
        on_call: Called after each call with (calls done, calls planned),
            for a progress bar.

    Returns:
        The figures of the replay.

    Raises:
        ValueError: If `max_spend` is negative, or the options are invalid.
    """
    options = options or PipelineOptions()
    prices = PriceTable(overrides=price_overrides)
    baseline_handler = CostCallbackHandler(prices=prices)
    optimised_handler = CostCallbackHandler(prices=prices)
    callbacks: list[Any] = []
    cap: SpendCap | None = None
    if max_spend is not None:
        cap = SpendCap(
            max_spend=max_spend,
            max_output_tokens=options.max_output_tokens,
            prices=prices,
        )
        callbacks.append(cap)

    baseline = build_baseline(options)
    optimised = pipeline or build_optimised(options)
    planned = traffic.calls
    outcomes: list[CallOutcome] = []
    origin_label: dict[str, str | None] = {}
    series = _Series()
    calls = _Calls()
    completed_baseline = UsageTotals()
    stopped: str | None = None

    try:
        for index, record in enumerate(traffic.records):
            for call in calls.expand(index, record):
                metadata = {CALL_KEY_METADATA: call.key}
                configurable = {"session_id": call.session} if call.session else {}
                base_config: RunnableConfig = {
                    "callbacks": [baseline_handler, *callbacks],
                    "metadata": metadata,
                }
                opt_config: RunnableConfig = {
                    "callbacks": [optimised_handler, *callbacks],
                    "metadata": metadata,
                    "configurable": configurable,
                }
                started = time.perf_counter()
                base_reply = baseline.invoke(call.baseline_messages, base_config)
                middle = time.perf_counter()
                opt_reply = optimised.runnable.invoke(
                    call.optimised_input(memory=optimised.memory is not None),
                    opt_config,
                )
                ended = time.perf_counter()

                completed_baseline = baseline_handler.totals
                added = (ended - middle) - (middle - started)
                outcomes.append(_outcome(opt_reply, call.label, origin_label, added))
                calls.answered(call, base_reply, opt_reply)
                series.add(
                    len(outcomes),
                    _cost(completed_baseline),
                    _cost(optimised_handler.totals),
                )
                if on_call is not None:
                    on_call(len(outcomes), planned)
    except SpendCapReached as error:
        stopped = f"Stopped by --max-spend: {error}"
    except KeyboardInterrupt:
        # Ctrl-C on a long replay still gets the report of what was done.
        stopped = f"Interrupted at call {len(outcomes) + 1}."
    except Exception as error:
        # A provider error (or a part's bug) ends the replay, but what was
        # measured so far is still reported, with the reason.
        logger.warning(
            "The replay stopped at call %d.", len(outcomes) + 1, exc_info=True
        )
        stopped = (
            f"Stopped by an error at call {len(outcomes) + 1}: "
            f"{type(error).__name__}: {error}"
        )

    if not series.calls or series.calls[-1] != len(outcomes):
        series.calls.append(len(outcomes))
        series.baseline.append(_cost(completed_baseline))
        series.optimised.append(_cost(optimised_handler.totals))
    return SimulationResult(
        source=traffic.source,
        options=options,
        records=len(traffic.records),
        calls_planned=planned,
        calls_done=len(outcomes),
        problems=list(traffic.problems),
        baseline=completed_baseline,
        optimised=optimised_handler.totals,
        savings={name: optimised_handler.savings[name] for name in TECHNIQUES},
        outcomes=outcomes,
        series_calls=series.calls,
        series_baseline=series.baseline,
        series_optimised=series.optimised,
        baseline_ledger=baseline_handler.to_dict(),
        optimised_ledger=optimised_handler.to_dict(),
        stopped=stopped,
        spent=cap.spent if cap is not None else None,
    )


def _outcome(
    reply: AIMessage,
    label: str | None,
    origin_label: dict[str, str | None],
    added_seconds: float,
) -> CallOutcome:
    usage: dict[str, Any] = dict(reply.usage_metadata or {})
    model = reply.response_metadata.get("model_name")
    hit = usage.get("total_cost") == 0
    # The provider's response id survives in the cache (LangChain's message id
    # does not), so it tells which earlier call a cached answer came from.
    response_id = reply.response_metadata.get("id")
    if not hit:
        if isinstance(response_id, str):
            origin_label[response_id] = label
        return CallOutcome(
            cache_tier=None, model=model, false_hit=None, added_seconds=added_seconds
        )
    detail = reply.response_metadata.get(CACHE_METADATA_KEY) or {}
    tier = str(detail.get("tier", "unknown"))
    origin = origin_label.get(response_id) if isinstance(response_id, str) else None
    false_hit = None if origin is None or label is None else origin != label
    return CallOutcome(
        cache_tier=tier, model=model, false_hit=false_hit, added_seconds=added_seconds
    )
