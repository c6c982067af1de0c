"""The running state of one conversation: system prompt, summary, recent messages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import (
    BaseMessage,
    SystemMessage,
    messages_from_dict,
    messages_to_dict,
)

__all__ = ["MemoryState", "split_system"]


@dataclass(frozen=True)
class MemoryState:
    """What a rolling-summary memory remembers of one conversation.

    Attributes:
        system: The system prompt(s); never summarised, never dropped.
        summary: The running summary of every message folded so far ("" when
            nothing has been summarised yet).
        messages: The recent messages, verbatim, that the summary does not cover.
        summarized_messages: How many messages the summary covers in all.
        summarized_tokens: What those messages would cost to send as they
            were (target model's tokenizer), so the saving against the full
            history can be reported after they are gone.
    """

    system: tuple[BaseMessage, ...] = ()
    summary: str = ""
    messages: tuple[BaseMessage, ...] = ()
    summarized_messages: int = 0
    summarized_tokens: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form of the state (messages in LangChain's dict format)."""
        return {
            "system": messages_to_dict(list(self.system)),
            "summary": self.summary,
            "messages": messages_to_dict(list(self.messages)),
            "summarized_messages": self.summarized_messages,
            "summarized_tokens": self.summarized_tokens,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MemoryState:
        """Rebuild a state written by `to_dict`.

        Args:
            data: The dict `to_dict` returned.

        Returns:
            The state.
        """
        return cls(
            system=tuple(messages_from_dict(data.get("system", []))),
            summary=str(data.get("summary", "")),
            messages=tuple(messages_from_dict(data.get("messages", []))),
            summarized_messages=int(data.get("summarized_messages", 0)),
            summarized_tokens=int(data.get("summarized_tokens", 0)),
        )


def split_system(
    messages: Sequence[BaseMessage],
) -> tuple[tuple[BaseMessage, ...], tuple[BaseMessage, ...]]:
    """Separate the system messages from the conversation, keeping each's order."""
    system = tuple(m for m in messages if isinstance(m, SystemMessage))
    rest = tuple(m for m in messages if not isinstance(m, SystemMessage))
    return system, rest
