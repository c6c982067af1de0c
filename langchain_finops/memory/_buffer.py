"""`RollingSummaryBufferMemory`: the classic save_context / load_memory_variables shape.

It mirrors the interface of LangChain's deprecated
`ConversationSummaryBufferMemory` (`max_token_limit`, `return_messages`,
`moving_summary_buffer`, `memory_key`, `human_prefix`, `ai_prefix`,
`input_key`, `output_key`, `chat_memory`), so code that calls those methods
switches with an import. It is not a subclass of langchain-classic's
`BaseMemory` (langchain-classic is not a dependency), so it plugs into code
that calls the methods, such as an LCEL `RunnablePassthrough.assign`, not
into the legacy `LLMChain(memory=...)` validation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from langchain_core.chat_history import (
    BaseChatMessageHistory,
    InMemoryChatMessageHistory,
)
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    get_buffer_string,
)
from langchain_core.runnables import Runnable

from langchain_finops.costs.events import areport_saving, report_saving
from langchain_finops.memory._locks import SessionLocks
from langchain_finops.memory._policy import (
    RollingSummaryPolicy,
    SummaryRole,
    TokenCounter,
)
from langchain_finops.memory._state import MemoryState
from langchain_finops.memory._stores import (
    awrite_history,
    state_from_history,
    state_to_history,
    write_history,
)
from langchain_finops.memory._summarizer import Summarizer
from langchain_finops.memory._turn import MemoryEngine, Turn, as_runnable, model_name_of

__all__ = ["ConversationSummaryBufferMemory", "RollingSummaryBufferMemory"]

_SESSION = "buffer"


class RollingSummaryBufferMemory:
    """A summary-plus-buffer memory with the classic memory interface.

    `save_context` stores a human/AI exchange in `chat_memory` and, once the
    summary and buffer pass `high_watermark * max_token_limit`, folds the
    oldest messages into `moving_summary_buffer` down to `low_watermark *
    max_token_limit`. `load_memory_variables` returns the summary and the
    buffer, together within `max_token_limit` (the summary counts, unlike in
    `ConversationSummaryBufferMemory`). The summary is kept in `chat_memory`
    itself as a marked SystemMessage, and pruning rewrites `chat_memory`
    with `clear()` and `add_messages()`, so a database-backed history is
    really pruned and a restart loses nothing.

    Args:
        llm: The summariser; a cheap chat model is expected.
        max_token_limit: The most the summary and buffer may take together.
        model: The model the memory's content is sent to (its tokenizer
            counts); the summariser's model name by default.
        moving_summary_buffer: A summary to start from.
        memory_key: The variable `load_memory_variables` fills.
        return_messages: Return messages (True) or one string (False).
        human_prefix: Prefix of human lines in the string form.
        ai_prefix: Prefix of AI lines in the string form.
        input_key: The input to store; the only non-memory key by default.
        output_key: The output to store; the only key (or "output") by
            default.
        chat_memory: Where messages live; an in-memory history by default.
        low_watermark: Share of `max_token_limit` kept after summarising.
        high_watermark: Share of `max_token_limit` that starts summarising.
        max_summary_tokens: Cap of the summary; a longer one is condensed.
        summary_role: Role of the summary message in `return_messages` mode;
            "system", as in `ConversationSummaryBufferMemory`, by default.

    Example:
        ```python
        from langchain_finops.memory import (
            RollingSummaryBufferMemory as ConversationSummaryBufferMemory,
        )

        memory = ConversationSummaryBufferMemory(llm=cheap_model, max_token_limit=2000)
        memory.save_context({"input": "Hi, I'm Ada"}, {"output": "Hello Ada!"})
        memory.load_memory_variables({})["history"]
        ```
    """

    def __init__(
        self,
        *,
        llm: Runnable[Any, Any],
        max_token_limit: int = 2000,
        model: str | None = None,
        moving_summary_buffer: str = "",
        memory_key: str = "history",
        return_messages: bool = False,
        human_prefix: str = "Human",
        ai_prefix: str = "AI",
        input_key: str | None = None,
        output_key: str | None = None,
        chat_memory: BaseChatMessageHistory | None = None,
        low_watermark: float = 0.6,
        high_watermark: float = 1.0,
        max_summary_tokens: int | None = None,
        summary_role: SummaryRole = "system",
    ) -> None:
        self.llm = as_runnable(llm, type(self).__name__)
        self.policy = RollingSummaryPolicy(
            max_tokens=max_token_limit,
            low_watermark=low_watermark,
            high_watermark=high_watermark,
            max_summary_tokens=max_summary_tokens,
            summary_role=summary_role,
        )
        counting_model = model or model_name_of(llm)
        if counting_model is None:
            msg = (
                f"{type(self).__name__} needs a model name to count tokens with and "
                f"{type(llm).__name__} has none; pass `model='gpt-4o'`."
            )
            raise ValueError(msg)
        if chat_memory is not None and not isinstance(
            chat_memory, BaseChatMessageHistory
        ):
            msg = (
                "`chat_memory` must be a langchain_core BaseChatMessageHistory, not "
                f"{type(chat_memory).__name__}."
            )
            raise TypeError(msg)
        self.model = model
        self.counting_model = counting_model
        self.memory_key = memory_key
        self.return_messages = return_messages
        self.human_prefix = human_prefix
        self.ai_prefix = ai_prefix
        self.input_key = input_key
        self.output_key = output_key
        self.chat_memory = (
            chat_memory if chat_memory is not None else InMemoryChatMessageHistory()
        )
        self._engine = MemoryEngine(policy=self.policy, summarizer=Summarizer(self.llm))
        self._locks = SessionLocks()
        if moving_summary_buffer:
            self.moving_summary_buffer = moving_summary_buffer

    @property
    def max_token_limit(self) -> int:
        """The token budget of the summary and the buffer together."""
        return self.policy.max_tokens

    @property
    def memory_variables(self) -> list[str]:
        """The one variable this memory fills."""
        return [self.memory_key]

    @property
    def moving_summary_buffer(self) -> str:
        """The running summary of the folded messages ("" before the first)."""
        return state_from_history(self.chat_memory.messages).summary

    @moving_summary_buffer.setter
    def moving_summary_buffer(self, summary: str) -> None:
        with self._locks.hold(_SESSION):
            state = state_from_history(self.chat_memory.messages)
            write_history(
                self.chat_memory, state_to_history(replace(state, summary=summary))
            )

    @property
    def buffer(self) -> str | list[BaseMessage]:
        """What `load_memory_variables` returns under `memory_key`."""
        value: str | list[BaseMessage] = self.load_memory_variables({})[self.memory_key]
        return value

    # -- keys -----------------------------------------------------------------

    def _input_key(self, inputs: Mapping[str, Any]) -> str:
        if self.input_key is not None:
            return self.input_key
        candidates = [k for k in inputs if k not in (self.memory_key, "stop")]
        if len(candidates) != 1:
            msg = (
                f"Cannot tell which input to store: found keys {sorted(candidates)}. "
                "Pass `input_key=` to the memory."
            )
            raise ValueError(msg)
        return candidates[0]

    def _output_key(self, outputs: Mapping[str, Any]) -> str:
        if self.output_key is not None:
            return self.output_key
        if len(outputs) == 1:
            return next(iter(outputs))
        if "output" in outputs:
            return "output"
        msg = (
            f"Cannot tell which output to store: found keys {sorted(outputs)}. "
            "Pass `output_key=` to the memory."
        )
        raise ValueError(msg)

    def _exchange(
        self, inputs: Mapping[str, Any], outputs: Mapping[str, Any]
    ) -> list[BaseMessage]:
        human = inputs[self._input_key(inputs)]
        ai = outputs[self._output_key(outputs)]
        return [
            human
            if isinstance(human, BaseMessage)
            else HumanMessage(content=str(human)),
            ai if isinstance(ai, BaseMessage) else AIMessage(content=str(ai)),
        ]

    # -- the classic methods ----------------------------------------------------

    def _variables(self, turn: Turn) -> dict[str, Any]:
        if self.return_messages:
            return {self.memory_key: turn.sent.messages}
        text = get_buffer_string(
            turn.sent.messages, human_prefix=self.human_prefix, ai_prefix=self.ai_prefix
        )
        return {self.memory_key: text}

    def _assembled(self, state: MemoryState) -> Turn:
        sent = self.policy.assemble(state, TokenCounter(self.counting_model))
        return Turn(
            state=state,
            sent=sent,
            summarized_now=0,
            summarizer_calls=0,
            summarizer_failed=False,
        )

    def load_memory_variables(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The summary and the buffer, within `max_token_limit`.

        Args:
            inputs: The chain's inputs (unused; part of the interface).

        Returns:
            `{memory_key: messages or text}`.
        """
        turn = self._assembled(state_from_history(self.chat_memory.messages))
        report_saving(MemoryEngine.report(turn, self.model))
        return self._variables(turn)

    async def aload_memory_variables(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """Async twin of `load_memory_variables`."""
        state = state_from_history(await self.chat_memory.aget_messages())
        turn = await asyncio.to_thread(self._assembled, state)
        await areport_saving(MemoryEngine.report(turn, self.model))
        return self._variables(turn)

    def save_context(
        self, inputs: Mapping[str, Any], outputs: Mapping[str, Any]
    ) -> None:
        """Store one exchange, then summarise if the buffer passed its watermark.

        Raises:
            ValueError: If the input or output key cannot be told.
        """
        exchange = self._exchange(inputs, outputs)
        with self._locks.hold(_SESSION):
            self.chat_memory.add_messages(exchange)
            self._prune()

    async def asave_context(
        self, inputs: Mapping[str, Any], outputs: Mapping[str, Any]
    ) -> None:
        """Async twin of `save_context`."""
        exchange = self._exchange(inputs, outputs)
        async with self._locks.ahold(_SESSION):
            await self.chat_memory.aadd_messages(exchange)
            await self._aprune()

    def _prune(self) -> None:
        state = state_from_history(self.chat_memory.messages)
        turn = self._engine.run(
            state, model=self.counting_model, tools=None, config=None
        )
        if turn.changed:
            write_history(self.chat_memory, state_to_history(turn.state))

    async def _aprune(self) -> None:
        state = state_from_history(await self.chat_memory.aget_messages())
        turn = await self._engine.arun(
            state, model=self.counting_model, tools=None, config=None
        )
        if turn.changed:
            await awrite_history(self.chat_memory, state_to_history(turn.state))

    def prune(self) -> None:
        """Summarise now if the buffer is past the high watermark."""
        with self._locks.hold(_SESSION):
            self._prune()

    async def aprune(self) -> None:
        """Async twin of `prune`."""
        async with self._locks.ahold(_SESSION):
            await self._aprune()

    def clear(self) -> None:
        """Forget the summary and the buffer."""
        with self._locks.hold(_SESSION):
            self.chat_memory.clear()

    async def aclear(self) -> None:
        """Async twin of `clear`."""
        async with self._locks.ahold(_SESSION):
            await self.chat_memory.aclear()


ConversationSummaryBufferMemory = RollingSummaryBufferMemory
"""The same class under the deprecated LangChain name, for a one-line switch."""
