"""One turn of the memory: decide, summarise if due, build what is sent.

The three public forms (LCEL step, agent middleware, classic memory) differ
only in where the state lives and how the result is used; each runs a turn
through `MemoryEngine`, sync or async, and reports the saving it returns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.runnables import Runnable, RunnableConfig

from langchain_finops.costs.events import SavingReport
from langchain_finops.memory._policy import (
    SUMMARY_PREFIX,
    Plan,
    RollingSummaryPolicy,
    Sent,
    TokenCounter,
)
from langchain_finops.memory._state import MemoryState
from langchain_finops.memory._summarizer import Summarizer, SummarizerOutcome

__all__ = ["MemoryEngine", "Turn", "as_runnable", "model_name_of"]


def model_name_of(model: Any) -> str | None:
    """The model name a chat model or LLM object carries, if any."""
    for attribute in ("model_name", "model", "model_id", "deployment_name"):
        value = getattr(model, attribute, None)
        if isinstance(value, str) and value:
            return value
    return None


@dataclass(frozen=True)
class Turn:
    """What one turn did."""

    state: MemoryState
    """The state after the turn (with the new summary when one was made)."""
    sent: Sent
    summarized_now: int
    """Messages folded into the summary during this turn."""
    summarizer_calls: int
    summarizer_failed: bool

    @property
    def changed(self) -> bool:
        """True when the turn folded messages into the summary."""
        return self.summarized_now > 0


class MemoryEngine:
    """Runs the policy and the summariser for one conversation state.

    Args:
        policy: The budget rules.
        summarizer: The summariser calls.
    """

    def __init__(self, *, policy: RollingSummaryPolicy, summarizer: Summarizer) -> None:
        self.policy = policy
        self.summarizer = summarizer

    def _measure(self, counter: TokenCounter) -> Callable[[str], int]:
        role = HumanMessage if self.policy.summary_role == "human" else SystemMessage

        def measure(text: str) -> int:
            return counter.message(role(content=SUMMARY_PREFIX + text))

        return measure

    def _apply(
        self, state: MemoryState, plan: Plan | None, outcome: SummarizerOutcome | None
    ) -> tuple[MemoryState, int, bool]:
        if plan is None or outcome is None:
            return state, 0, False
        if not outcome.summary:
            return state, 0, True
        return self.policy.fold(state, plan, outcome.summary), len(plan.chunk), False

    def _arguments(self, plan: Plan, counter: TokenCounter) -> dict[str, Any]:
        return {
            "cap_tokens": plan.summary_cap,
            "measure": self._measure(counter),
            "counter": counter,
            "message_limit": self.policy.max_tokens,
        }

    def run(
        self,
        state: MemoryState,
        *,
        model: str,
        tools: Sequence[Any] | None,
        config: RunnableConfig | None,
    ) -> Turn:
        """Run one turn.

        Args:
            state: The conversation, the newest message last.
            model: The target model's name (its tokenizer counts).
            tools: Tools bound to the target model's call.
            config: The run's config; summariser calls run under it.

        Returns:
            The turn.

        Raises:
            ValueError: If the budget cannot be met (see the policy).
        """
        counter = TokenCounter(model, tools)
        plan = self.policy.plan(state, counter)
        outcome = None
        if plan is not None:
            outcome = self.summarizer.summarize(
                state.summary,
                plan.chunk,
                config=config,
                **self._arguments(plan, counter),
            )
        new_state, folded, failed = self._apply(state, plan, outcome)
        sent = self.policy.assemble(new_state, counter)
        return Turn(
            state=new_state,
            sent=sent,
            summarized_now=folded,
            summarizer_calls=outcome.calls if outcome else 0,
            summarizer_failed=failed,
        )

    async def arun(
        self,
        state: MemoryState,
        *,
        model: str,
        tools: Sequence[Any] | None,
        config: RunnableConfig | None,
    ) -> Turn:
        """Async twin of `run`; token counting runs off the event loop."""
        # Building the counter may load the tokenizer's files: not on the loop.
        counter = await asyncio.to_thread(TokenCounter, model, tools)
        plan = await asyncio.to_thread(self.policy.plan, state, counter)
        outcome = None
        if plan is not None:
            outcome = await self.summarizer.asummarize(
                state.summary,
                plan.chunk,
                config=config,
                **self._arguments(plan, counter),
            )
        new_state, folded, failed = self._apply(state, plan, outcome)
        sent = await asyncio.to_thread(self.policy.assemble, new_state, counter)
        return Turn(
            state=new_state,
            sent=sent,
            summarized_now=folded,
            summarizer_calls=outcome.calls if outcome else 0,
            summarizer_failed=failed,
        )

    @staticmethod
    def report(turn: Turn, model: str | None) -> SavingReport:
        """The ledger's saving report for `turn` (see docs/architecture.md)."""
        sent = turn.sent
        return {
            "technique": "memory",
            "tokens_saved": sent.full_tokens - sent.sent_tokens,
            "model": model,
            "detail": {
                "full_tokens": sent.full_tokens,
                "sent_tokens": sent.sent_tokens,
                "kept_messages": sent.kept_messages,
                "summarized_messages": turn.state.summarized_messages,
                "summarized_now": turn.summarized_now,
                "summarizer_calls": turn.summarizer_calls,
                "summarizer_failed": turn.summarizer_failed,
                "dropped_messages": sent.dropped_messages,
                "cut_messages": sent.cut_messages,
            },
        }


def as_runnable(llm: Any, owner: str) -> Runnable[Any, Any]:
    """Check that `llm` can be called as a summariser.

    Raises:
        TypeError: If it is not a LangChain runnable (a chat model or LLM).
    """
    if not isinstance(llm, Runnable):
        msg = (
            f"{owner}(llm=...) takes a LangChain chat model or LLM as the summariser, "
            f"not {type(llm).__name__}. Pass e.g. ChatOpenAI(model='gpt-4o-mini')."
        )
        raise TypeError(msg)
    return llm
