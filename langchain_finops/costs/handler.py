"""`CostCallbackHandler`: tokens and dollars per run, per chain, per model.

The handler counts every LLM run exactly once, keyed by its run id, however it
reaches the handler: `invoke`, `batch` and `abatch`, threads,
`asyncio.gather`, streaming, nested chains that carry the same handler again,
agents. It never raises into the user's chain: anything unexpected in a
callback is logged at WARNING and the call is marked invalid.

The callback path only records what it saw; pricing happens when the totals
are read (see `langchain_finops.costs.ledger`).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGenerationChunk, GenerationChunk, LLMResult
from langchain_core.tracers.context import register_configure_hook
from typing_extensions import override

from langchain_finops.costs.events import (
    CACHE_METADATA_KEY,
    OVERHEAD_METADATA_KEY,
    SAVING_EVENT,
    TECHNIQUES,
    Technique,
)
from langchain_finops.costs.ledger import (
    CallRecord,
    Ledger,
    SavingRecord,
    SavingTotals,
    UsageTotals,
)
from langchain_finops.costs.prices import PriceTable, TokenUsage
from langchain_finops.costs.tokens import count_tokens

__all__ = ["CostCallbackHandler", "track_costs"]

logger = logging.getLogger(__name__)

# Model used to estimate tokens when a run names no model at all.
_ESTIMATE_MODEL = "gpt-4o"
# How many saving events are remembered to drop one delivered twice.
_RECENT_EVENTS = 1_000
# Raw results kept before they are folded into the totals, bounding memory
# for a handler that is never read.
_FOLD_EVERY = 2_000
# How many recorded run ids are remembered to drop a result that reaches a
# handler twice (directly and forwarded from a nested `track_costs()` block).
_RECENT_RUNS = 4_096


@dataclass(slots=True)
class _OpenRun:
    """A chain or tool run that has started and not yet ended."""

    parent_id: UUID | None
    name: str


@dataclass(slots=True)
class _OpenCall:
    """An LLM run that has started and not yet ended."""

    model: str | None
    provider: str | None
    chains: tuple[str, ...]
    root_id: UUID | None
    prompt: Sequence[BaseMessage] | str | None
    overhead_of: Technique | None
    routing_baseline: str | None
    token_savings: list[SavingRecord] = field(default_factory=list)
    # Tool schemas bound to the call: billed input, estimated with the prompt.
    tools: Sequence[Any] | None = None
    # The same handler attached twice gets each event twice: count the
    # starts, record the first end, forget the run after the last.
    starts: int = 1
    recorded: bool = False


@dataclass(frozen=True, slots=True)
class _Result:
    """What a finished LLM run reported, kept until the ledger is read.

    The usage is read when the run ends: LangChain's cache later rewrites
    the same message object, in place, when it serves it as a hit. The
    prompt and the generation are kept only when the usage is unusable and
    the tokens must be estimated from the text, so a handler that is read
    rarely does not hold every prompt it saw.
    """

    run_id: UUID
    call: _OpenCall | None
    usage: TokenUsage | None
    usage_error: str | None
    cache_hit: bool
    model: str | None
    cache_detail: Any
    legacy_usage: Any
    prompt: Sequence[BaseMessage] | str | None
    tools: Sequence[Any] | None
    generation: Any


def _result(
    run_id: UUID, call: _OpenCall | None, generation: Any, llm_output: Any
) -> _Result:
    message = getattr(generation, "message", None)
    usage_metadata = getattr(message, "usage_metadata", None)
    response_metadata = getattr(message, "response_metadata", None) or {}
    if not isinstance(response_metadata, Mapping):
        response_metadata = {}
    llm_output = llm_output if isinstance(llm_output, Mapping) else {}
    model = (
        response_metadata.get("model_name")
        or response_metadata.get("model")
        or llm_output.get("model_name")
        or (call.model if call else None)
    )
    usage: TokenUsage | None = None
    usage_error: str | None = None
    legacy_usage = llm_output.get("token_usage")
    if usage_metadata is not None:
        try:
            usage = TokenUsage.from_usage_metadata(usage_metadata)
        except Exception as error:  # any bad usage is invalid
            usage_error = str(error) or type(error).__name__
    elif isinstance(legacy_usage, Mapping):
        usage = _legacy_usage(legacy_usage, completion=message is None)
    cache_hit = (
        isinstance(usage_metadata, Mapping) and usage_metadata.get("total_cost") == 0
    )
    needs_text = usage is None
    prompt = call.prompt if call is not None and needs_text else None
    tools = call.tools if call is not None and needs_text else None
    if call is not None:
        # The run is over; keep the prompt only if it must be estimated.
        call.prompt = None
        call.tools = None
    return _Result(
        run_id=run_id,
        call=call,
        usage=usage,
        usage_error=usage_error,
        cache_hit=cache_hit,
        model=str(model) if model else None,
        cache_detail=response_metadata.get(CACHE_METADATA_KEY),
        legacy_usage=legacy_usage,
        prompt=prompt,
        tools=tools,
        generation=generation if needs_text else None,
    )


def _first_generation(response: LLMResult) -> Any:
    generations = response.generations
    return generations[0][0] if generations and generations[0] else None


def _partial_generation(response: Any) -> Any:
    """The text a stream delivered before it failed or was abandoned, if any.

    LangChain passes it to `on_llm_error` as the first generation, a chunk
    (even an empty one: the provider had accepted, and billed, the prompt);
    a call that failed before streaming anything has none.
    """
    if not isinstance(response, LLMResult):
        return None
    generation = _first_generation(response)
    if isinstance(generation, (ChatGenerationChunk, GenerationChunk)):
        return generation
    return None


class CostCallbackHandler(BaseCallbackHandler):
    """Tallies tokens and dollars per chain and per model, and what was saved.

    Pass it in a config (`chain.invoke(x, config={"callbacks": [handler]})`)
    or get one from `track_costs()`. Read it at any time: `total_cost`,
    `totals`, `by_model`, `by_chain`, `savings`, `to_dict()`, `str(handler)`.

    Example:
        ```python
        from langchain_finops import CostCallbackHandler

        handler = CostCallbackHandler(
            price_overrides={"my-model": {"input": 1.0, "output": 4.0}}
        )
        chain.invoke("Hello", config={"callbacks": [handler]})
        print(handler)
        ```

    Args:
        price_overrides: Model name to USD per million tokens (`input`,
            `output`, optional `cache_read`, `cache_write`).
        prices: A ready `PriceTable`, instead of `price_overrides`.

    Raises:
        ValueError: If both `price_overrides` and `prices` are given, or an
            override is malformed (see `PriceTable`).
    """

    # Called on the event loop's thread in async code: the work is a few dict
    # operations, and running inline keeps start/end events in order.
    run_inline = True
    raise_error = False

    def __init__(
        self,
        *,
        price_overrides: Mapping[str, Mapping[str, object]] | None = None,
        prices: PriceTable | None = None,
    ) -> None:
        if prices is not None and price_overrides is not None:
            msg = "Give `price_overrides` or `prices`, not both."
            raise ValueError(msg)
        super().__init__()
        self.prices = prices or PriceTable(overrides=price_overrides)
        self._lock = threading.RLock()
        self._open_runs: dict[UUID, _OpenRun] = {}
        self._open_calls: dict[UUID, _OpenCall] = {}
        self._routing_baselines: dict[UUID, str] = {}
        self._unassigned: dict[UUID, list[SavingRecord]] = {}
        self._recent_events: deque[str] = deque(maxlen=_RECENT_EVENTS)
        self._pending_results: list[_Result] = []
        # Runs whose end this handler recorded itself (not forwarded).
        self._recorded_directly: dict[UUID, None] = {}
        self._pending_calls: list[CallRecord] = []
        self._pending_savings: list[SavingRecord] = []
        self._ledger = Ledger(prices=self.prices)
        self._forward_to: CostCallbackHandler | None = None

    # ----------------------------------------------------------------- reading

    def _folded(self) -> Ledger:
        with self._lock:
            results, self._pending_results = self._pending_results, []
            calls = [self._safe_record(result) for result in results]
            calls += self._pending_calls
            self._pending_calls = []
            savings, self._pending_savings = self._pending_savings, []
            self._ledger.fold(calls, savings)
            return self._ledger

    @property
    def totals(self) -> UsageTotals:
        """Every call this handler saw."""
        return replace(self._folded().totals)

    @property
    def by_model(self) -> dict[str, UsageTotals]:
        """Totals by model name as the provider reported it."""
        return {name: replace(t) for name, t in self._folded().by_model.items()}

    @property
    def by_chain(self) -> dict[str, UsageTotals]:
        """Totals by run name of every enclosing chain (a call counts in each)."""
        return {name: replace(t) for name, t in self._folded().by_chain.items()}

    @property
    def savings(self) -> dict[Technique, SavingTotals]:
        """What cache, routing, compression and memory saved, net of their cost."""
        return {name: replace(s) for name, s in self._folded().savings.items()}

    @property
    def total_cost(self) -> Decimal | None:
        """Dollars spent on priced calls; None if every call was unpriced."""
        return self._folded().totals.cost

    @property
    def total_saved(self) -> Decimal:
        """Net dollars saved by all techniques together."""
        return sum((s.net_saved for s in self._folded().savings.values()), Decimal(0))

    def to_dict(self) -> dict[str, Any]:
        """The ledger as JSON-ready data, money as decimal strings."""
        data = self._folded().to_dict()
        data["total_saved"] = str(self.total_saved)
        return data

    def to_json(self, **kwargs: Any) -> str:
        """The ledger as a JSON document (keyword arguments go to `json.dumps`)."""
        import json

        return json.dumps(self.to_dict(), **kwargs)

    def __str__(self) -> str:
        from langchain_finops.costs._report import render_report

        return render_report(self._folded(), self.total_saved)

    # --------------------------------------------------------------- run tree

    def _ancestry(
        self, parent_id: UUID | None
    ) -> tuple[tuple[str, ...], UUID | None, str | None]:
        names: list[str] = []
        root: UUID | None = parent_id
        baseline: str | None = None
        current = parent_id
        # A run tree is shallow, but a cycle in malformed ids must not hang us.
        for _ in range(256):
            if current is None:
                break
            node = self._open_runs.get(current)
            if node is None:
                root = current
                break
            if baseline is None:
                baseline = self._routing_baselines.get(current)
            if node.name not in names:
                names.append(node.name)
            root = current
            current = node.parent_id
        return tuple(names), root, baseline

    def _open_run(
        self,
        serialized: Mapping[str, Any] | None,
        run_id: UUID,
        parent_run_id: UUID | None,
        kwargs: Mapping[str, Any],
    ) -> None:
        name = kwargs.get("name") or _serialized_name(serialized) or "chain"
        with self._lock:
            self._open_runs[run_id] = _OpenRun(parent_id=parent_run_id, name=str(name))

    def _close_run(self, run_id: UUID) -> None:
        with self._lock:
            self._open_runs.pop(run_id, None)
            self._routing_baselines.pop(run_id, None)
            leftovers = self._unassigned.pop(run_id, None)
            if leftovers:
                # No model call followed these savings: keep their tokens,
                # priced at the model they named (or unpriced).
                self._add_savings(leftovers)

    def _add_result(self, result: _Result, *, forwarded: bool = False) -> None:
        # A run can reach this handler twice: directly, and forwarded from a
        # nested `track_costs()` handler that also saw it. Record it once.
        if forwarded:
            if result.run_id in self._recorded_directly:
                return
            call = self._open_calls.get(result.run_id)
            if call is not None:
                if call.recorded:
                    return
                call.recorded = True
        else:
            self._recorded_directly[result.run_id] = None
            if len(self._recorded_directly) > _RECENT_RUNS:
                del self._recorded_directly[next(iter(self._recorded_directly))]
        self._pending_results.append(result)
        if self._forward_to is not None:
            with self._forward_to._lock:
                self._forward_to._add_result(result, forwarded=True)
        if len(self._pending_results) >= _FOLD_EVERY:
            self._folded()

    def _add_savings(self, savings: Sequence[SavingRecord]) -> None:
        self._pending_savings.extend(savings)
        if self._forward_to is not None:
            with self._forward_to._lock:
                self._forward_to._receive_savings(savings)

    def _receive_savings(self, savings: Sequence[SavingRecord]) -> None:
        # Forwarded from a nested block: drop what this handler already got
        # straight from the event (it was attached to the run as well).
        fresh = []
        for saving in savings:
            if saving.event_id is not None:
                if saving.event_id in self._recent_events:
                    continue
                self._recent_events.append(saving.event_id)
            fresh.append(saving)
        if fresh:
            self._add_savings(fresh)

    # ------------------------------------------------------------- callbacks

    @override
    def on_chain_start(
        self,
        serialized: dict[str, Any],
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        self._open_run(serialized, run_id, parent_run_id, kwargs)

    @override
    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._close_run(run_id)

    @override
    def on_chain_error(
        self, error: BaseException, *, run_id: UUID, **kwargs: Any
    ) -> None:
        self._close_run(run_id)

    @override
    def on_tool_start(
        self,
        serialized: dict[str, Any],
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        self._open_run(serialized, run_id, parent_run_id, kwargs)

    @override
    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._close_run(run_id)

    @override
    def on_tool_error(
        self, error: BaseException, *, run_id: UUID, **kwargs: Any
    ) -> None:
        self._close_run(run_id)

    @override
    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._open_call(
            run_id, parent_run_id, metadata, kwargs, messages[0] if messages else None
        )

    @override
    def on_llm_start(
        self,
        serialized: dict[str, Any],
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._open_call(
            run_id, parent_run_id, metadata, kwargs, prompts[0] if prompts else None
        )

    def _open_call(
        self,
        run_id: UUID,
        parent_run_id: UUID | None,
        metadata: Mapping[str, Any] | None,
        kwargs: Mapping[str, Any],
        prompt: Sequence[BaseMessage] | str | None,
    ) -> None:
        metadata = metadata or {}
        params = kwargs.get("invocation_params") or {}
        model = (
            metadata.get("ls_model_name")
            or params.get("model")
            or params.get("model_name")
        )
        provider = metadata.get("ls_provider")
        overhead = metadata.get(OVERHEAD_METADATA_KEY)
        overhead_of: Technique | None = overhead if overhead in TECHNIQUES else None
        with self._lock:
            already_open = self._open_calls.get(run_id)
            if already_open is not None:
                already_open.starts += 1
                return
            # A run id the caller reuses (config["run_id"]) is a new run.
            self._recorded_directly.pop(run_id, None)
            chains, root, baseline = self._ancestry(parent_run_id)
            call = _OpenCall(
                model=str(model) if model else None,
                provider=str(provider) if provider else None,
                chains=chains,
                root_id=root,
                prompt=prompt,
                overhead_of=overhead_of,
                routing_baseline=baseline,
            )
            tools = params.get("tools") if isinstance(params, Mapping) else None
            if isinstance(tools, Sequence) and not isinstance(tools, str) and tools:
                call.tools = tools
            if overhead_of is None and root is not None:
                call.token_savings = self._unassigned.pop(root, [])
            self._open_calls[run_id] = call

    @override
    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        with self._lock:
            call = self._open_calls.get(run_id)
            if call is not None:
                call.starts -= 1
                if call.starts <= 0:
                    del self._open_calls[run_id]
                if call.recorded:
                    return
                call.recorded = True
            self._add_result(
                _result(run_id, call, _first_generation(response), response.llm_output)
            )

    @override
    def on_llm_error(
        self, error: BaseException, *, run_id: UUID, **kwargs: Any
    ) -> None:
        # A stream that failed or that its consumer abandoned after some
        # chunks was billed by the provider: count it, estimated.
        partial = _partial_generation(kwargs.get("response"))
        with self._lock:
            call = self._open_calls.get(run_id)
            if call is not None:
                call.starts -= 1
                finished = call.starts <= 0
                if finished:
                    del self._open_calls[run_id]
                if call.recorded or (partial is None and not finished):
                    return
                call.recorded = partial is not None
            if partial is not None:
                self._add_result(_result(run_id, call, partial, None))
                return
            if call is not None and call.token_savings and call.root_id is not None:
                # The call failed, so the saving belongs to the retry, if any.
                self._unassigned.setdefault(call.root_id, []).extend(call.token_savings)

    @override
    def on_custom_event(
        self, name: str, data: Any, *, run_id: UUID, **kwargs: Any
    ) -> None:
        if name != SAVING_EVENT:
            return
        with self._lock:
            # A handler attached twice is handed each event twice.
            raw_id = data.get("event_id") if isinstance(data, Mapping) else None
            event_id = None if raw_id is None else str(raw_id)
            if event_id is not None:
                if event_id in self._recent_events:
                    return
                self._recent_events.append(event_id)
            saving = _parse_saving(data)
            if saving is None:
                return
            if saving.technique == "routing":
                baseline = data.get("baseline_model")
                if isinstance(baseline, str) and baseline:
                    self._routing_baselines[run_id] = baseline
                self._add_savings([saving])
                return
            if (
                saving.model is None
                and saving.dollars_saved is None
                and saving.tokens_saved
            ):
                _, root, _ = self._ancestry(run_id)
                self._unassigned.setdefault(root or run_id, []).append(saving)
                return
            self._add_savings([saving])

    # --------------------------------------------------------------- helpers

    def _safe_record(self, result: _Result) -> CallRecord:
        call = result.call
        try:
            return self._record(result)
        except Exception:  # the user's chain must never fail because of us
            logger.warning(
                "Could not read the result of LLM run %s; counted as invalid.",
                result.run_id,
                exc_info=True,
            )
            return CallRecord(
                run_id=result.run_id,
                model=call.model if call else None,
                provider=call.provider if call else None,
                usage=None,
                invalid=True,
                chains=call.chains if call else (),
            )

    def _record(self, result: _Result) -> CallRecord:
        call = result.call
        usage = result.usage
        invalid = result.usage_error is not None
        if invalid:
            logger.warning(
                "LLM run %s reported unusable usage (%s); its tokens are "
                "estimated from the text and the call is marked invalid.",
                result.run_id,
                result.usage_error,
            )
        estimated = usage is None
        if usage is None:
            usage = self._estimate(
                result.model, result.prompt, result.tools, result.generation
            )
        cache_hit = result.cache_hit
        cache_detail = result.cache_detail
        return CallRecord(
            run_id=result.run_id,
            model=result.model,
            provider=call.provider if call else None,
            usage=usage,
            chains=call.chains if call else (),
            estimated=estimated,
            invalid=invalid,
            cache_hit=cache_hit,
            cache_detail=cache_detail if isinstance(cache_detail, Mapping) else None,
            overhead_of=call.overhead_of if call else None,
            routing_baseline=call.routing_baseline if call else None,
            token_savings=tuple(call.token_savings) if call else (),
            requested_model=call.model if call else None,
        )

    def _estimate(
        self,
        model: str | None,
        prompt: Sequence[BaseMessage] | str | None,
        tools: Sequence[Any] | None,
        generation: Any,
    ) -> TokenUsage | None:
        counting_model = model or _ESTIMATE_MODEL
        output_text = getattr(generation, "text", "") or ""
        if prompt is None and not output_text:
            return None
        input_tokens = int(count_tokens(prompt, model=counting_model)) if prompt else 0
        if tools:
            try:
                input_tokens += int(count_tokens("", model=counting_model, tools=tools))
            except Exception:  # a schema we cannot read: count the text only
                logger.debug("Could not count the tool schemas.", exc_info=True)
        output_tokens = int(count_tokens(output_text, model=counting_model))
        return TokenUsage(input_tokens=input_tokens, output_tokens=output_tokens)


def _serialized_name(serialized: Mapping[str, Any] | None) -> str | None:
    if not serialized:
        return None
    name = serialized.get("name")
    if name:
        return str(name)
    identifier = serialized.get("id")
    if isinstance(identifier, list) and identifier:
        return str(identifier[-1])
    return None


def _legacy_usage(
    token_usage: Mapping[str, Any], *, completion: bool
) -> TokenUsage | None:
    if not token_usage and completion:
        # A completion model's batch: `LLMResult.flatten()` gives the whole
        # usage to the first run and `{}` to the others, so that the batch
        # is counted once.
        return TokenUsage()
    try:
        return TokenUsage.from_usage_metadata(
            {
                "input_tokens": token_usage.get("prompt_tokens"),
                "output_tokens": token_usage.get("completion_tokens"),
            }
        )
    except ValueError:
        return None


def _parse_saving(data: Any) -> SavingRecord | None:
    if not isinstance(data, Mapping) or data.get("technique") not in TECHNIQUES:
        logger.warning(
            "Ignored a malformed saving event (technique %r).",
            data.get("technique") if isinstance(data, Mapping) else type(data).__name__,
        )
        return None
    tokens = data.get("tokens_saved", 0)
    if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 0:
        logger.warning(
            "Ignored a %s saving event with tokens_saved=%r; expected a whole "
            "number >= 0.",
            data["technique"],
            tokens,
        )
        return None
    dollars = data.get("dollars_saved")
    if dollars is not None and (
        not isinstance(dollars, Decimal) or not dollars.is_finite()
    ):
        logger.warning(
            "Ignored a %s saving event whose dollars_saved is %r, not a finite "
            "Decimal.",
            data["technique"],
            dollars,
        )
        return None
    model = data.get("model")
    detail = data.get("detail")
    event_id = data.get("event_id")
    return SavingRecord(
        technique=data["technique"],
        tokens_saved=tokens,
        model=str(model) if model else None,
        dollars_saved=dollars,
        detail=dict(detail) if isinstance(detail, Mapping) else {},
        event_id=str(event_id) if event_id is not None else None,
    )


_current_handler: ContextVar[CostCallbackHandler | None] = ContextVar(
    "langchain_finops_cost_handler", default=None
)
register_configure_hook(_current_handler, inheritable=True)


@contextmanager
def track_costs(
    *, price_overrides: Mapping[str, Mapping[str, object]] | None = None
) -> Iterator[CostCallbackHandler]:
    """Count the cost of every LangChain call made inside the block.

    Like `get_openai_callback`, but priced for every provider `genai-prices`
    knows, with savings. Blocks in concurrent tasks or threads see only their
    own calls; a block inside another one also reports to the outer one.

    Example:
        ```python
        from langchain_finops import track_costs

        with track_costs() as costs:
            chain.invoke({"question": "What is FAISS?"})
        print(costs.total_cost)
        ```

    Args:
        price_overrides: Model name to USD per million tokens, as for
            `CostCallbackHandler`.

    Yields:
        The handler collecting the block's calls.
    """
    handler = CostCallbackHandler(price_overrides=price_overrides)
    handler._forward_to = _current_handler.get()
    token = _current_handler.set(handler)
    try:
        yield handler
    finally:
        _current_handler.reset(token)
