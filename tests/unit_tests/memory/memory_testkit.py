"""Shared helpers of the memory tests: messages of known token cost, fakes."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from langchain_core.chat_history import BaseChatMessageHistory
from langchain_core.messages import BaseMessage

from langchain_finops.testing import FakeUsageChatModel

MODEL = "gpt-4o-mini"


def words(n: int, word: str = "cat") -> str:
    """n words that o200k_base counts as n tokens ("cat cat cat ...")."""
    return " ".join([word] * n)


class ToolCallingFake(FakeUsageChatModel):
    """FakeUsageChatModel that `create_agent` can bind tools to."""

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Any:
        return self


class Recorder:
    """A `fail_with` hook that records every request and can fail some."""

    def __init__(self, fail_calls: Sequence[int] = ()) -> None:
        self.requests: list[list[BaseMessage]] = []
        self.fail_calls = set(fail_calls)

    def __call__(self, messages: list[BaseMessage]) -> Exception | None:
        self.requests.append(list(messages))
        if len(self.requests) in self.fail_calls:
            return RuntimeError("provider down; prompt was: secret-words")
        return None


class CopyingHistory(BaseChatMessageHistory):
    """A history whose `messages` returns a fresh copy, as database ones do."""

    def __init__(self) -> None:
        self._rows: list[BaseMessage] = []
        self.clears = 0

    @property
    def messages(self) -> list[BaseMessage]:  # type: ignore[override]
        return copy.deepcopy(self._rows)

    def add_messages(self, messages: Sequence[BaseMessage]) -> None:
        self._rows.extend(copy.deepcopy(list(messages)))

    def clear(self) -> None:
        self.clears += 1
        self._rows = []
