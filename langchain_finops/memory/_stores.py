"""Where a rolling-summary memory keeps each session: memory, SQLite, any history.

A store writes two things: `append` adds new messages as they arrive (so a
crash mid-turn loses nothing), and `replace` writes the whole state after
messages were folded into the summary. Pruning is a real write through the
backend's own API, never a change to a copy that the backend then forgets.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from langchain_core.chat_history import BaseChatMessageHistory
from langchain_core.messages import BaseMessage, SystemMessage
from typing_extensions import override

from langchain_finops.memory._policy import SUMMARY_MARKER
from langchain_finops.memory._state import MemoryState, split_system

__all__ = [
    "BaseSummaryStore",
    "ChatHistorySummaryStore",
    "InMemorySummaryStore",
    "SQLiteSummaryStore",
    "state_from_history",
    "state_to_history",
]


class BaseSummaryStore(ABC):
    """Keeps one `MemoryState` per session id.

    Subclasses implement `load`, `append`, `replace` and `clear`; the async
    twins run them in a worker thread unless overridden. The memory holds a
    per-session lock around a whole turn, so a store needs no locking of its
    own beyond what its backend needs for concurrent sessions.
    """

    @abstractmethod
    def load(self, session_id: str) -> MemoryState:
        """The session's state (an empty state for an unknown session)."""

    @abstractmethod
    def append(self, session_id: str, messages: Sequence[BaseMessage]) -> None:
        """Add conversation messages (no system messages) after the stored ones."""

    @abstractmethod
    def replace(self, session_id: str, state: MemoryState) -> None:
        """Write `state` as the session's whole state."""

    @abstractmethod
    def clear(self, session_id: str) -> None:
        """Forget the session."""

    async def aload(self, session_id: str) -> MemoryState:
        """Async twin of `load`."""
        return await asyncio.to_thread(self.load, session_id)

    async def aappend(self, session_id: str, messages: Sequence[BaseMessage]) -> None:
        """Async twin of `append`."""
        await asyncio.to_thread(self.append, session_id, messages)

    async def areplace(self, session_id: str, state: MemoryState) -> None:
        """Async twin of `replace`."""
        await asyncio.to_thread(self.replace, session_id, state)

    async def aclear(self, session_id: str) -> None:
        """Async twin of `clear`."""
        await asyncio.to_thread(self.clear, session_id)


class InMemorySummaryStore(BaseSummaryStore):
    """Sessions in a dict of this process; the default store.

    Example:
        ```python
        from langchain_finops.memory import InMemorySummaryStore

        store = InMemorySummaryStore()
        store.load("alice").messages  # ()
        ```
    """

    def __init__(self) -> None:
        self._states: dict[str, MemoryState] = {}
        self._lock = threading.Lock()

    @override
    def load(self, session_id: str) -> MemoryState:
        with self._lock:
            return self._states.get(session_id, MemoryState())

    @override
    def append(self, session_id: str, messages: Sequence[BaseMessage]) -> None:
        with self._lock:
            state = self._states.get(session_id, MemoryState())
            self._states[session_id] = replace(
                state, messages=(*state.messages, *messages)
            )

    @override
    def replace(self, session_id: str, state: MemoryState) -> None:
        with self._lock:
            self._states[session_id] = state

    @override
    def clear(self, session_id: str) -> None:
        with self._lock:
            self._states.pop(session_id, None)

    # A dict operation never blocks the loop long enough to need a thread.
    @override
    async def aload(self, session_id: str) -> MemoryState:
        return self.load(session_id)

    @override
    async def aappend(self, session_id: str, messages: Sequence[BaseMessage]) -> None:
        self.append(session_id, messages)

    @override
    async def areplace(self, session_id: str, state: MemoryState) -> None:
        self.replace(session_id, state)

    @override
    async def aclear(self, session_id: str) -> None:
        self.clear(session_id)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS finops_memory_sessions (
    session_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    updated_at TEXT NOT NULL
)
"""


class SQLiteSummaryStore(BaseSummaryStore):
    """Sessions in a SQLite file (standard-library `sqlite3`), one row each.

    Every write is one transaction, so a session is either in its old state
    or its new one, never half-written. A row holds the state as JSON
    (messages in LangChain's dict format); its size stays bounded because
    folded messages leave it.

    Args:
        path: The database file; created with its table when missing.
        timeout: Seconds to wait for another connection's write lock.

    Example:
        ```python
        from langchain_finops.memory import RollingSummaryMemory, SQLiteSummaryStore

        memory = RollingSummaryMemory(
            llm=cheap_model, max_tokens=4000, store=SQLiteSummaryStore("chats.db")
        )
        ```
    """

    def __init__(self, path: str | Path, *, timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.timeout = timeout
        with self._connect() as connection:
            connection.execute(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        # One connection per operation: sqlite3 connections must not cross
        # threads, and the async twins run in worker threads.
        return sqlite3.connect(self.path, timeout=self.timeout)

    @staticmethod
    def _read(connection: sqlite3.Connection, session_id: str) -> MemoryState:
        row = connection.execute(
            "SELECT state FROM finops_memory_sessions WHERE session_id = ?",
            (session_id,),
        ).fetchone()
        return MemoryState.from_dict(json.loads(row[0])) if row else MemoryState()

    @staticmethod
    def _write(
        connection: sqlite3.Connection, session_id: str, state: MemoryState
    ) -> None:
        connection.execute(
            "INSERT INTO finops_memory_sessions (session_id, state, updated_at) "
            "VALUES (?, ?, ?) ON CONFLICT(session_id) DO UPDATE SET "
            "state = excluded.state, updated_at = excluded.updated_at",
            (session_id, json.dumps(state.to_dict()), datetime.now(UTC).isoformat()),
        )

    @override
    def load(self, session_id: str) -> MemoryState:
        connection = self._connect()
        try:
            return self._read(connection, session_id)
        finally:
            connection.close()

    @override
    def append(self, session_id: str, messages: Sequence[BaseMessage]) -> None:
        connection = self._connect()
        try:
            with connection:
                # BEGIN IMMEDIATE takes the write lock before the read, so two
                # processes appending at once cannot lose each other's rows.
                connection.execute("BEGIN IMMEDIATE")
                state = self._read(connection, session_id)
                state = replace(state, messages=(*state.messages, *messages))
                self._write(connection, session_id, state)
        finally:
            connection.close()

    @override
    def replace(self, session_id: str, state: MemoryState) -> None:
        connection = self._connect()
        try:
            with connection:
                self._write(connection, session_id, state)
        finally:
            connection.close()

    @override
    def clear(self, session_id: str) -> None:
        connection = self._connect()
        try:
            with connection:
                connection.execute(
                    "DELETE FROM finops_memory_sessions WHERE session_id = ?",
                    (session_id,),
                )
        finally:
            connection.close()


def state_to_history(state: MemoryState) -> list[BaseMessage]:
    """Lay a state out as plain messages: system, marked summary, recent.

    The summary is a SystemMessage whose `additional_kwargs` carry
    `SUMMARY_MARKER` with the counts the ledger needs, so any chat message
    history that keeps `additional_kwargs` round-trips the whole state.
    """
    laid_out: list[BaseMessage] = list(state.system)
    if state.summary or state.summarized_messages:
        marker = {
            "summarized_messages": state.summarized_messages,
            "summarized_tokens": state.summarized_tokens,
        }
        laid_out.append(
            SystemMessage(
                content=state.summary, additional_kwargs={SUMMARY_MARKER: marker}
            )
        )
    laid_out.extend(state.messages)
    return laid_out


def state_from_history(messages: Sequence[BaseMessage]) -> MemoryState:
    """Read back a state laid out by `state_to_history` (or a plain history)."""
    summary = ""
    marker: dict[str, Any] = {}
    rest: list[BaseMessage] = []
    for message in messages:
        found = message.additional_kwargs.get(SUMMARY_MARKER)
        if isinstance(message, SystemMessage) and isinstance(found, dict):
            summary = message.text
            marker = found
        else:
            rest.append(message)
    system, conversation = split_system(rest)
    return MemoryState(
        system=system,
        summary=summary,
        messages=conversation,
        summarized_messages=int(marker.get("summarized_messages", 0)),
        summarized_tokens=int(marker.get("summarized_tokens", 0)),
    )


def write_history(history: BaseChatMessageHistory, messages: list[BaseMessage]) -> None:
    """Replace a history's content through its own API, restoring it on failure.

    `history.messages` may be a fresh copy (database-backed histories build
    it on every read), so the only way to prune is `clear()` and
    `add_messages()`. Should the second fail, the previous content is put
    back before the error is raised, so no message is lost.
    """
    previous = list(history.messages)
    history.clear()
    try:
        history.add_messages(messages)
    except Exception:
        history.clear()
        history.add_messages(previous)
        raise


async def awrite_history(
    history: BaseChatMessageHistory, messages: list[BaseMessage]
) -> None:
    """Async twin of `write_history`."""
    previous = list(await history.aget_messages())
    await history.aclear()
    try:
        await history.aadd_messages(messages)
    except Exception:
        await history.aclear()
        await history.aadd_messages(previous)
        raise


class ChatHistorySummaryStore(BaseSummaryStore):
    """Sessions in any LangChain `BaseChatMessageHistory`.

    The history holds the system prompt, the summary (a marked
    SystemMessage) and the recent messages, so it stays readable by other
    tools. Appends use `add_messages`; pruning rewrites the history with
    `clear()` then `add_messages()`, so it is stored even when `messages`
    returns a copy. The summary is found again by the mark in its
    `additional_kwargs`, so the history must keep them, as every history
    that stores LangChain's message dicts does.

    Args:
        get_history: Returns the history of a session id (the same factory
            `RunnableWithMessageHistory` takes).

    Example:
        ```python
        from langchain_community.chat_message_histories import SQLChatMessageHistory
        from langchain_finops.memory import ChatHistorySummaryStore

        store = ChatHistorySummaryStore(
            lambda sid: SQLChatMessageHistory(sid, connection="sqlite:///chats.db")
        )
        ```
    """

    def __init__(self, get_history: Callable[[str], BaseChatMessageHistory]) -> None:
        if not callable(get_history):
            msg = (
                "ChatHistorySummaryStore takes a function from session id to "
                f"BaseChatMessageHistory, not {type(get_history).__name__}."
            )
            raise TypeError(msg)
        self.get_history = get_history

    def _history(self, session_id: str) -> BaseChatMessageHistory:
        history = self.get_history(session_id)
        if not isinstance(history, BaseChatMessageHistory):
            msg = (
                f"get_history({session_id!r}) returned {type(history).__name__}; it "
                "must return a langchain_core BaseChatMessageHistory."
            )
            raise TypeError(msg)
        return history

    @override
    def load(self, session_id: str) -> MemoryState:
        return state_from_history(self._history(session_id).messages)

    @override
    def append(self, session_id: str, messages: Sequence[BaseMessage]) -> None:
        self._history(session_id).add_messages(list(messages))

    @override
    def replace(self, session_id: str, state: MemoryState) -> None:
        write_history(self._history(session_id), state_to_history(state))

    @override
    def clear(self, session_id: str) -> None:
        self._history(session_id).clear()

    @override
    async def aload(self, session_id: str) -> MemoryState:
        history = self._history(session_id)
        return state_from_history(await history.aget_messages())

    @override
    async def aappend(self, session_id: str, messages: Sequence[BaseMessage]) -> None:
        await self._history(session_id).aadd_messages(list(messages))

    @override
    async def areplace(self, session_id: str, state: MemoryState) -> None:
        await awrite_history(self._history(session_id), state_to_history(state))

    @override
    async def aclear(self, session_id: str) -> None:
        await self._history(session_id).aclear()
