"""`RollingSummaryMemory`: the rolling summary as an LCEL step."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, TypedDict, cast

from langchain_core.callbacks import (
    AsyncCallbackManagerForChainRun,
    CallbackManagerForChainRun,
)
from langchain_core.messages import BaseMessage, convert_to_messages
from langchain_core.prompt_values import PromptValue
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.runnables.config import ensure_config
from typing_extensions import override

from langchain_finops.costs.events import areport_saving, report_saving
from langchain_finops.memory._locks import SessionLocks
from langchain_finops.memory._policy import RollingSummaryPolicy, SummaryRole
from langchain_finops.memory._state import MemoryState, split_system
from langchain_finops.memory._stores import BaseSummaryStore, InMemorySummaryStore
from langchain_finops.memory._summarizer import Summarizer
from langchain_finops.memory._turn import MemoryEngine, Turn, as_runnable, model_name_of

__all__ = ["MemoryInput", "RollingSummaryMemory"]


class _RunArguments(TypedDict):
    model: str
    tools: Sequence[Any] | None
    config: RunnableConfig | None


MemoryInput = PromptValue | str | Sequence[Any]
"""A prompt value, a string (one human message) or a list of message-likes."""


def _to_messages(value: MemoryInput) -> list[BaseMessage]:
    if isinstance(value, PromptValue):
        return value.to_messages()
    if isinstance(value, str):
        return convert_to_messages([value])
    if isinstance(value, Sequence):
        return convert_to_messages(value)
    msg = (
        "RollingSummaryMemory takes a list of messages, a PromptValue or a string, "
        f"not {type(value).__name__}."
    )
    raise TypeError(msg)


def _session_id(config: RunnableConfig) -> str | None:
    value = config.get("configurable", {}).get("session_id")
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        msg = (
            "config['configurable']['session_id'] must be a non-empty string, "
            f"not {value!r}."
        )
        raise ValueError(msg)
    return value


class RollingSummaryMemory(Runnable[MemoryInput, list[BaseMessage]]):
    """Send a long conversation at a bounded cost: a summary plus recent turns.

    As an LCEL step, `invoke` takes a conversation and returns what to send:
    the system prompt(s), then the running summary (one message), then the
    most recent messages verbatim. Everything returned, with the tool schemas
    passed as `tools`, fits in `max_tokens` counted with the target model's
    tokenizer.

    Without a session id the input is the whole conversation and nothing is
    remembered: what does not fit is summarised on every call. With
    `config={"configurable": {"session_id": ...}}` the input is the *new*
    messages of the turn (the previous reply and the new question, say); they
    are appended to the session's stored history, and the running summary is
    kept in `store` between calls. System messages in the input replace the
    session's stored system prompt; without any, the stored one is sent.

    Summarising happens in chunks: once a request would pass
    `high_watermark * max_tokens`, the oldest messages are folded into the
    summary until it would sit under `low_watermark * max_tokens` (the new
    summary counted at its cap), so the summariser runs once every several
    turns. An AI message with tool calls and its tool results move together.
    If the summariser fails, every message stays stored, no error text
    enters the summary, and the next call tries again; meanwhile the oldest
    messages that do not fit are left out of the request (logged at WARNING).

    The summary is sent as a HumanMessage by default: it holds what users
    said, so it is kept out of the system role, and a human-role context
    message is accepted by every provider. Pass `summary_role="system"` to
    send it as a second SystemMessage right after the system prompt.

    After each call the saving against sending the full history is reported
    to the cost ledger (`report_saving`, technique "memory"); the
    summariser's own calls are marked as memory overhead, so the ledger
    shows the net saving.

    Args:
        llm: The summariser; a cheap chat model is expected (gpt-4o-mini,
            claude-haiku): it only rewrites text it is given.
        max_tokens: The most one request may take in input tokens (system
            prompt, tool schemas, summary and messages).
        model: The model the returned messages are sent to; its tokenizer
            counts the budget. Defaults to the summariser's model name.
        tools: Tools bound to that model; their schemas count in the budget.
        low_watermark: Share of `max_tokens` a request shrinks to after
            summarising.
        high_watermark: Share of `max_tokens` a request may reach before
            summarising starts.
        max_summary_tokens: Cap of the summary message; a longer summary is
            condensed. Defaults to a quarter of `max_tokens`.
        summary_role: "human" or "system", the role the summary is sent in.
        store: Where sessions live; an `InMemorySummaryStore` by default,
            `SQLiteSummaryStore` to persist, `ChatHistorySummaryStore` for any
            LangChain chat message history.

    Raises:
        TypeError: If `llm` is not a LangChain runnable or `store` not a store.
        ValueError: If the budget settings contradict each other, or no model
            name is known to count tokens with.

    Example:
        ```python
        from langchain_openai import ChatOpenAI
        from langchain_finops.memory import RollingSummaryMemory

        model = ChatOpenAI(model="gpt-4o")
        memory = RollingSummaryMemory(
            llm=ChatOpenAI(model="gpt-4o-mini"), model="gpt-4o", max_tokens=3000
        )
        chain = memory | model
        config = {"configurable": {"session_id": "alice"}}
        reply = chain.invoke([("system", "Be brief."), ("human", "Hi!")], config)
        reply = chain.invoke([reply, ("human", "And then?")], config)
        ```
    """

    def __init__(
        self,
        *,
        llm: Runnable[Any, Any],
        max_tokens: int,
        model: str | None = None,
        tools: Sequence[Any] | None = None,
        low_watermark: float = 0.6,
        high_watermark: float = 1.0,
        max_summary_tokens: int | None = None,
        summary_role: SummaryRole = "human",
        store: BaseSummaryStore | None = None,
    ) -> None:
        self.llm = as_runnable(llm, type(self).__name__)
        self.policy = RollingSummaryPolicy(
            max_tokens=max_tokens,
            low_watermark=low_watermark,
            high_watermark=high_watermark,
            max_summary_tokens=max_summary_tokens,
            summary_role=summary_role,
        )
        self.model = model
        counting_model = model or model_name_of(llm)
        if counting_model is None:
            msg = (
                f"{type(self).__name__} needs a model name to count tokens with and "
                f"{type(llm).__name__} has none; pass `model='gpt-4o'` (the model "
                "the messages are sent to)."
            )
            raise ValueError(msg)
        self.counting_model = counting_model
        self.tools = list(tools or ())
        if store is not None and not isinstance(store, BaseSummaryStore):
            msg = (
                "`store` must be a BaseSummaryStore (InMemorySummaryStore, "
                "SQLiteSummaryStore, ChatHistorySummaryStore), not "
                f"{type(store).__name__}."
            )
            raise TypeError(msg)
        self.store = store if store is not None else InMemorySummaryStore()
        self._engine = MemoryEngine(policy=self.policy, summarizer=Summarizer(self.llm))
        self._locks = SessionLocks()

    @property
    @override
    def InputType(self) -> type[MemoryInput]:
        return cast("type[MemoryInput]", MemoryInput)

    @property
    @override
    def OutputType(self) -> type[list[BaseMessage]]:
        return list[BaseMessage]

    # -- sessions -------------------------------------------------------------

    def get_state(self, session_id: str) -> MemoryState:
        """The stored state of a session (empty for an unknown one)."""
        return self.store.load(session_id)

    async def aget_state(self, session_id: str) -> MemoryState:
        """Async twin of `get_state`."""
        return await self.store.aload(session_id)

    def add_messages(self, session_id: str, messages: MemoryInput) -> None:
        """Record messages in a session without building a request.

        Use it to store the model's reply right away instead of passing it
        with the next turn's input.

        Args:
            session_id: The session.
            messages: Conversation messages (system messages replace the
                stored system prompt).
        """
        with self._locks.hold(session_id):
            state = self.store.load(session_id)
            self._store_new(session_id, state, _to_messages(messages))

    async def aadd_messages(self, session_id: str, messages: MemoryInput) -> None:
        """Async twin of `add_messages`."""
        async with self._locks.ahold(session_id):
            state = await self.store.aload(session_id)
            await self._astore_new(session_id, state, _to_messages(messages))

    def clear(self, session_id: str) -> None:
        """Forget a session: its summary and its messages."""
        with self._locks.hold(session_id):
            self.store.clear(session_id)

    async def aclear(self, session_id: str) -> None:
        """Async twin of `clear`."""
        async with self._locks.ahold(session_id):
            await self.store.aclear(session_id)

    @staticmethod
    def _merged(state: MemoryState, new: list[BaseMessage]) -> MemoryState:
        system, conversation = split_system(new)
        return replace(
            state,
            system=system or state.system,
            messages=(*state.messages, *conversation),
        )

    def _store_new(
        self, session_id: str, state: MemoryState, new: list[BaseMessage]
    ) -> MemoryState:
        merged = self._merged(state, new)
        if merged.system != state.system:
            self.store.replace(session_id, merged)
        elif len(merged.messages) > len(state.messages):
            self.store.append(session_id, merged.messages[len(state.messages) :])
        return merged

    async def _astore_new(
        self, session_id: str, state: MemoryState, new: list[BaseMessage]
    ) -> MemoryState:
        merged = self._merged(state, new)
        if merged.system != state.system:
            await self.store.areplace(session_id, merged)
        elif len(merged.messages) > len(state.messages):
            await self.store.aappend(session_id, merged.messages[len(state.messages) :])
        return merged

    # -- the step -------------------------------------------------------------

    def _stateless(self, messages: list[BaseMessage]) -> MemoryState:
        system, conversation = split_system(messages)
        return MemoryState(system=system, messages=conversation)

    def _run_arguments(self, config: RunnableConfig) -> _RunArguments:
        return {"model": self.counting_model, "tools": self.tools, "config": config}

    def _invoke(
        self,
        value: MemoryInput,
        run_manager: CallbackManagerForChainRun,
        config: RunnableConfig,
    ) -> list[BaseMessage]:
        messages = _to_messages(value)
        session_id = _session_id(config)
        if session_id is None:
            turn = self._engine.run(
                self._stateless(messages), **self._run_arguments(config)
            )
        else:
            with self._locks.hold(session_id):
                stored = self.store.load(session_id)
                state = self._store_new(session_id, stored, messages)
                turn = self._engine.run(state, **self._run_arguments(config))
                if turn.changed:
                    self.store.replace(session_id, turn.state)
        report_saving(MemoryEngine.report(turn, self.model), config)
        return turn.sent.messages

    async def _ainvoke(
        self,
        value: MemoryInput,
        run_manager: AsyncCallbackManagerForChainRun,
        config: RunnableConfig,
    ) -> list[BaseMessage]:
        messages = _to_messages(value)
        session_id = _session_id(config)
        turn: Turn
        if session_id is None:
            turn = await self._engine.arun(
                self._stateless(messages), **self._run_arguments(config)
            )
        else:
            async with self._locks.ahold(session_id):
                stored = await self.store.aload(session_id)
                state = await self._astore_new(session_id, stored, messages)
                turn = await self._engine.arun(state, **self._run_arguments(config))
                if turn.changed:
                    await self.store.areplace(session_id, turn.state)
        await areport_saving(MemoryEngine.report(turn, self.model), config)
        return turn.sent.messages

    @override
    def invoke(
        self, input: MemoryInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> list[BaseMessage]:
        """Return what to send for this turn (see the class docstring).

        Raises:
            ValueError: If the system prompt and tools alone exceed
                `max_tokens`, a tool result is out of place, or the session
                id is not a string.
        """
        return self._call_with_config(
            self._invoke, input, ensure_config(config), run_type="chain", **kwargs
        )

    @override
    async def ainvoke(
        self, input: MemoryInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> list[BaseMessage]:
        """Async twin of `invoke`."""
        return await self._acall_with_config(
            self._ainvoke, input, ensure_config(config), run_type="chain", **kwargs
        )
