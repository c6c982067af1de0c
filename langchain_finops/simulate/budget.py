"""A hard cap on what a live replay may spend.

`SpendCap` is a callback handler that sees every chat-model call the replay
makes, the baseline's and the optimised pipeline's, summarisers and
classifiers included. Before a call starts it prices the worst case, the real
input tokens plus the most output the call may produce, and refuses the call
(raises `SpendCapReached`, which LangChain lets through because the handler
sets `raise_error`) when what was spent plus that worst case would pass the
cap. So the replay stops *before* exceeding the cap, never after.
"""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGeneration, LLMResult

from langchain_finops.costs.prices import PriceTable, TokenUsage
from langchain_finops.costs.tokens import count_tokens

__all__ = ["SpendCap", "SpendCapReached"]


class SpendCapReached(RuntimeError):
    """Raised before a call whose worst-case cost would pass the spend cap."""


def _model_name(serialized: dict[str, Any], params: dict[str, Any]) -> str | None:
    for key in ("model_name", "model", "model_id"):
        value = params.get(key)
        if isinstance(value, str) and value:
            return value
    kwargs = serialized.get("kwargs") or {}
    for key in ("model_name", "model"):
        value = kwargs.get(key)
        if isinstance(value, str) and value:
            return value
    return None


class SpendCap(BaseCallbackHandler):
    """Stops a replay before its spend passes `max_spend` dollars.

    Example:
        ```python
        from decimal import Decimal
        from langchain_finops.simulate.budget import SpendCap

        cap = SpendCap(max_spend=Decimal("0.50"), max_output_tokens=1024)
        model.invoke("Hi", config={"callbacks": [cap]})  # raises once over
        cap.spent  # Decimal dollars billed so far
        ```

    Args:
        max_spend: The cap, in USD.
        max_output_tokens: The most tokens a reply may have; the live models
            are built with this `max_tokens`, so the worst case is a bound.
        prices: The price table (with the user's overrides).

    Raises:
        ValueError: If `max_spend` is negative or `max_output_tokens` below 1.
    """

    raise_error = True
    run_inline = True

    def __init__(
        self,
        *,
        max_spend: Decimal,
        max_output_tokens: int,
        prices: PriceTable | None = None,
    ) -> None:
        if max_spend < 0:
            msg = f"`max_spend` is {max_spend}; give a cap of $0 or more."
            raise ValueError(msg)
        if max_output_tokens < 1:
            msg = f"`max_output_tokens` is {max_output_tokens}; give 1 or more."
            raise ValueError(msg)
        self.max_spend = max_spend
        self.max_output_tokens = max_output_tokens
        self.prices = prices or PriceTable()
        self.spent = Decimal(0)
        self.calls = 0
        self._reserved: dict[UUID, Decimal] = {}
        self._models: dict[UUID, str | None] = {}
        self._lock = threading.Lock()

    def worst_case(self, model: str | None, input_tokens: int) -> Decimal:
        """The most a call of `input_tokens` on `model` can cost.

        Raises:
            SpendCapReached: If `model` has no price: a cap cannot be kept on
                calls whose cost is unknown.
        """
        cost = self.prices.cost(
            model,
            TokenUsage(input_tokens=input_tokens, output_tokens=self.max_output_tokens),
        )
        if cost is None:
            msg = (
                f"Model {model!r} has no price, so the spend cap cannot be kept; "
                "add it with a price override (USD per million tokens)."
            )
            raise SpendCapReached(msg)
        return cost

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Reserve the call's worst case, or refuse the call."""
        model = _model_name(serialized, kwargs.get("invocation_params") or {})
        tokens = sum(
            int(count_tokens(batch, model=model or "gpt-4o")) for batch in messages
        )
        worst = self.worst_case(model, tokens)
        with self._lock:
            committed = self.spent + sum(self._reserved.values(), Decimal(0))
            if committed + worst > self.max_spend:
                msg = (
                    f"Stopped before a call to {model} that could cost up to "
                    f"${worst:.6f}: ${committed:.6f} spent or committed of the "
                    f"${self.max_spend} cap."
                )
                raise SpendCapReached(msg)
            self._reserved[run_id] = worst
            self._models[run_id] = model

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        """Replace the reservation with what the call really cost."""
        with self._lock:
            model = self._models.pop(run_id, None)
            reserved = self._reserved.pop(run_id, Decimal(0))
        cost = Decimal(0)
        for generations in response.generations:
            for generation in generations:
                if not isinstance(generation, ChatGeneration):
                    continue
                usage = getattr(generation.message, "usage_metadata", None)
                if not usage or usage.get("total_cost") == 0:
                    # A cache hit is served locally and costs nothing.
                    continue
                priced = self.prices.cost(model, TokenUsage.from_usage_metadata(usage))
                # An unpriced reply cannot happen (refused at start); keep the
                # reservation as its cost rather than booking $0.
                cost += reserved if priced is None else priced
        with self._lock:
            self.spent += cost
            self.calls += 1

    def on_llm_error(
        self, error: BaseException, *, run_id: UUID, **kwargs: Any
    ) -> None:
        """A failed call bills nothing; release its reservation."""
        with self._lock:
            self._reserved.pop(run_id, None)
            self._models.pop(run_id, None)
