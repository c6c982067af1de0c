"""The rolling-summary policy: what to summarise, what to keep, what to send.

Pure functions of a `MemoryState`, the target model's tokenizer and the tools
bound to the call; no LLM call and no storage happen here, so the LCEL step,
the agent middleware and the classic memory all share one set of rules:

* Everything sent (system prompt, tool schemas, summary, recent messages) fits
  in `max_tokens`, counted with `count_tokens` for the target model.
* Messages move into the summary in whole *units*: a human or plain AI
  message alone, or an AI message with tool calls together with the tool
  results that answer it, so a cut never separates a call from its result
  and the kept part never begins with a tool result.
* Summarising starts when the conversation passes the high watermark and
  folds the oldest units until it would sit under the low one, so the
  summariser runs once every several turns.
* System messages are never summarised and never dropped.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from langchain_finops.costs.tokens import TOKENS_REPLY_PRIMING, count_tokens
from langchain_finops.memory._state import MemoryState

__all__ = [
    "SUMMARY_MARKER",
    "SUMMARY_PREFIX",
    "Plan",
    "RollingSummaryPolicy",
    "Sent",
    "TokenCounter",
    "cut_text",
    "group_units",
]

logger = logging.getLogger(__name__)

SummaryRole = Literal["human", "system"]

SUMMARY_PREFIX = "Summary of the earlier conversation:\n"
"""Opens the summary message, so the model reads it as context, not a turn."""
SUMMARY_MARKER = "finops_summary"
"""`additional_kwargs` key that marks a stored summary message."""
CUT_MARK = "\n[…cut to fit the token budget]"


class TokenCounter:
    """Counts messages for one model and one tool list, caching per message.

    A message's count excludes the 3 tokens that prime the reply, which are
    paid once per request; `request` adds them back.
    """

    def __init__(self, model: str, tools: Sequence[Any] | None = None) -> None:
        self.model = model
        self.tools_tokens = int(count_tokens("", model=model, tools=tools or ()))
        self._cache: dict[int, tuple[BaseMessage, int]] = {}

    def message(self, message: BaseMessage) -> int:
        """Tokens `message` adds to a request."""
        cached = self._cache.get(id(message))
        # The message is kept next to its count so its id cannot be reused.
        if cached is not None and cached[0] is message:
            return cached[1]
        tokens = int(count_tokens([message], model=self.model)) - TOKENS_REPLY_PRIMING
        self._cache[id(message)] = (message, tokens)
        return tokens

    def messages(self, messages: Sequence[BaseMessage]) -> int:
        """Tokens the messages add to a request, reply priming excluded."""
        return sum(self.message(m) for m in messages)

    def text(self, text: str) -> int:
        """Tokens of a bare string."""
        return int(count_tokens(text, model=self.model))

    def request(self, messages: Sequence[BaseMessage]) -> int:
        """What a request of these messages and the tools costs in input tokens."""
        priming = TOKENS_REPLY_PRIMING if messages else 0
        return priming + self.messages(messages) + self.tools_tokens


def group_units(messages: Sequence[BaseMessage]) -> list[list[BaseMessage]]:
    """Split a conversation (system messages removed) into indivisible units.

    Args:
        messages: The conversation, oldest first.

    Returns:
        The units, oldest first: each is one message, or an AI message with
        tool calls followed by the tool results that answer those calls.

    Raises:
        ValueError: If a tool result answers no tool call of the AI message
            before it; a provider rejects such a request too.
    """
    units: list[list[BaseMessage]] = []
    open_calls: set[str] = set()
    for index, message in enumerate(messages):
        if isinstance(message, ToolMessage):
            if units and message.tool_call_id in open_calls:
                units[-1].append(message)
                continue
            msg = (
                f"Message {index} is a tool result (tool_call_id="
                f"{message.tool_call_id!r}) that answers no tool call of the AI "
                "message before it. Keep each ToolMessage right after the "
                "AIMessage whose tool_calls include its id, or remove it."
            )
            raise ValueError(msg)
        units.append([message])
        open_calls = set()
        if isinstance(message, AIMessage):
            open_calls = {str(call.get("id")) for call in message.tool_calls}
    return units


def _text_of(message: BaseMessage) -> str:
    if isinstance(message.content, str):
        return message.content
    return message.text


def cut_text(text: str, max_tokens: int, counter: TokenCounter) -> str:
    """The longest head of `text` that, with a cut mark, fits in `max_tokens`.

    Args:
        text: The text to shorten.
        max_tokens: Tokens the result may take.
        counter: Counts with the target model's tokenizer.

    Returns:
        `text` itself when it fits, else its head followed by a mark saying it
        was cut ("" when not even the mark fits).
    """
    if counter.text(text) <= max_tokens:
        return text
    if counter.text(CUT_MARK) > max_tokens:
        return ""
    low, high = 0, len(text)
    # Binary search on characters. A longer head costs as many tokens or more,
    # but for merges across the cut, so the head found may be a character or
    # two short of the longest; it always fits, as only checked heads are kept.
    while low < high:
        middle = (low + high + 1) // 2
        if counter.text(text[:middle] + CUT_MARK) <= max_tokens:
            low = middle
        else:
            high = middle - 1
    return text[:low] + CUT_MARK


def _with_text(message: BaseMessage, text: str) -> BaseMessage:
    if isinstance(message.content, str):
        return message.model_copy(update={"content": text})
    # Multimodal content: keep the non-text blocks, put the cut text first.
    blocks: list[Any] = [
        block
        for block in message.content
        if not (isinstance(block, str) or (isinstance(block, dict) and "text" in block))
    ]
    return message.model_copy(
        update={"content": [{"type": "text", "text": text}, *blocks]}
    )


def _cut_unit(
    unit: list[BaseMessage], room: int, counter: TokenCounter
) -> list[BaseMessage]:
    """Shorten the texts of `unit` until it fits in `room` tokens."""
    result = list(unit)
    by_size = sorted(
        range(len(result)),
        key=lambda i: counter.text(_text_of(result[i])),
        reverse=True,
    )
    for index in by_size:
        excess = counter.messages(result) - room
        if excess <= 0:
            break
        message = result[index]
        text = _text_of(message)
        text_tokens = counter.text(text)
        if text_tokens == 0:
            continue
        # Text tokens add to a message's count one for one, so cutting the
        # text by the excess makes the unit fit, or empties this text.
        result[index] = _with_text(
            message, cut_text(text, text_tokens - excess, counter)
        )
    needed = counter.messages(result)
    if needed > room:
        floor = counter.messages([_with_text(m, "") for m in unit])
        msg = (
            f"The newest message needs at least {floor} tokens (its framing and tool "
            f"calls, text removed) but only {room} tokens of max_tokens are left "
            "after the system prompt, the tool schemas and the summary. Raise "
            "`max_tokens`, lower `max_summary_tokens`, or send fewer tool calls."
        )
        raise ValueError(msg)
    logger.warning(
        "A message of %d tokens does not fit in the %d tokens left by the budget; "
        "its text was cut for this call (the stored message is unchanged).",
        counter.messages(unit),
        room,
    )
    return result


@dataclass(frozen=True)
class Plan:
    """Units to fold into the summary now, and the messages that stay verbatim."""

    chunk: tuple[BaseMessage, ...]
    keep: tuple[BaseMessage, ...]
    chunk_tokens: int
    summary_cap: int
    """Tokens the new summary message may take."""


@dataclass(frozen=True)
class Sent:
    """What goes to the model, and how it compares with the full history."""

    messages: list[BaseMessage]
    sent_tokens: int
    full_tokens: int
    kept_messages: int
    dropped_messages: int
    """Stored messages not sent this time: older than what fits, while the
    summariser could not fold them (it is retried on a later call)."""
    cut_messages: int


@dataclass(frozen=True)
class RollingSummaryPolicy:
    """The budget rules one rolling-summary memory follows.

    Attributes:
        max_tokens: The most a request may cost in input tokens: system
            prompt, tool schemas, summary and recent messages together.
        low_watermark: After summarising, the request is at most this share
            of `max_tokens` (the new summary counted at its cap).
        high_watermark: Summarising starts when the request would pass this
            share of `max_tokens`.
        max_summary_tokens: The cap of the summary message; a longer summary
            is condensed. None: a quarter of `max_tokens`.
        summary_role: The summary goes out as a HumanMessage ("human") or a
            SystemMessage ("system").
    """

    max_tokens: int
    low_watermark: float = 0.6
    high_watermark: float = 1.0
    max_summary_tokens: int | None = None
    summary_role: SummaryRole = "human"

    def __post_init__(self) -> None:
        if isinstance(self.max_tokens, bool) or not isinstance(self.max_tokens, int):
            msg = f"`max_tokens` must be an int, not {type(self.max_tokens).__name__}."
            raise TypeError(msg)
        if self.max_tokens < 64:
            msg = (
                f"`max_tokens` is {self.max_tokens}; a request needs room for a "
                "system prompt, a summary and a message. Use at least 64."
            )
            raise ValueError(msg)
        if not 0 < self.low_watermark < self.high_watermark <= 1:
            msg = (
                f"Watermarks must satisfy 0 < low_watermark < high_watermark <= 1; "
                f"got low_watermark={self.low_watermark}, high_watermark="
                f"{self.high_watermark}. Try 0.6 and 1.0."
            )
            raise ValueError(msg)
        cap = self.max_summary_tokens
        if cap is not None and not 16 <= cap < self.max_tokens * self.low_watermark:
            msg = (
                f"`max_summary_tokens` is {cap}; it must be at least 16 and below "
                f"low_watermark * max_tokens = {self.max_tokens * self.low_watermark:g}"
                ", or the summary alone would fill what is left after summarising."
            )
            raise ValueError(msg)
        if self.summary_role not in ("human", "system"):
            role = self.summary_role
            msg = f"`summary_role` must be 'human' or 'system', not {role!r}."
            raise ValueError(msg)

    # -- pieces of a request ------------------------------------------------

    def summary_message(self, summary: str) -> BaseMessage | None:
        """The message that carries `summary` to the model, or None without one."""
        if not summary:
            return None
        cls = HumanMessage if self.summary_role == "human" else SystemMessage
        return cls(content=SUMMARY_PREFIX + summary)

    def fixed_tokens(self, state: MemoryState, counter: TokenCounter) -> int:
        """Tokens every request pays before any summary or message.

        Raises:
            ValueError: If the system prompt and the tool schemas alone do not
                fit in `max_tokens`.
        """
        system = counter.messages(state.system)
        fixed = TOKENS_REPLY_PRIMING + system + counter.tools_tokens
        if fixed >= self.max_tokens:
            msg = (
                f"The system prompt ({system} tokens) and the tool schemas "
                f"({counter.tools_tokens} tokens) take {fixed} tokens with the reply "
                f"priming, which leaves nothing of max_tokens={self.max_tokens} for "
                f"the conversation ({counter.model} tokenizer). Raise `max_tokens` "
                "above that, or shorten the system prompt or bind fewer tools."
            )
            raise ValueError(msg)
        return fixed

    def summary_cap(self, fixed: int) -> int:
        """Tokens the summary message may take, given what the request fixes."""
        cap = self.max_summary_tokens or self.max_tokens // 4
        # Never more than half of what the system prompt and tools leave, so
        # the newest messages always have room next to the summary.
        return max(0, min(cap, (self.max_tokens - fixed) // 2))

    # -- the two decisions ----------------------------------------------------

    def plan(self, state: MemoryState, counter: TokenCounter) -> Plan | None:
        """Decide whether to summarise now, and which oldest units to fold.

        Args:
            state: The conversation as remembered.
            counter: Counts for the target model and its tools.

        Returns:
            The units to fold, or None while the request stays under the high
            watermark (or nothing but the newest unit is left).

        Raises:
            ValueError: As `fixed_tokens`, or on a misplaced tool result.
        """
        fixed = self.fixed_tokens(state, counter)
        units = group_units(state.messages)
        summary = self.summary_message(state.summary)
        summary_tokens = counter.message(summary) if summary is not None else 0
        unit_tokens = [counter.messages(unit) for unit in units]
        if (
            fixed + summary_tokens + sum(unit_tokens)
            <= self.high_watermark * self.max_tokens
        ):
            return None

        cap = self.summary_cap(fixed)
        target = math.floor(self.low_watermark * self.max_tokens) - fixed - cap
        remaining = sum(unit_tokens)
        folded = chunk_tokens = 0
        # The newest unit is never folded: it is what the model answers. One
        # call folds at most about `max_tokens` of messages, so a backlog left
        # by a failing summariser never outgrows the summariser's own context:
        # it is caught up over the next calls instead.
        while folded < len(units) - 1 and remaining > target:
            if folded and chunk_tokens + unit_tokens[folded] > self.max_tokens:
                break
            remaining -= unit_tokens[folded]
            chunk_tokens += unit_tokens[folded]
            folded += 1
        # Start the kept part on a user turn where one is left: some providers
        # reject a conversation whose first turn is the assistant's.
        while folded < len(units) - 1 and not isinstance(
            units[folded][0], HumanMessage
        ):
            folded += 1
        if folded == 0:
            return None
        chunk = tuple(m for unit in units[:folded] for m in unit)
        keep = tuple(m for unit in units[folded:] for m in unit)
        return Plan(
            chunk=chunk,
            keep=keep,
            chunk_tokens=sum(unit_tokens[:folded]),
            summary_cap=cap,
        )

    def fold(self, state: MemoryState, plan: Plan, summary: str) -> MemoryState:
        """The state once `plan.chunk` lives in `summary`."""
        return replace(
            state,
            summary=summary,
            messages=plan.keep,
            summarized_messages=state.summarized_messages + len(plan.chunk),
            summarized_tokens=state.summarized_tokens + plan.chunk_tokens,
        )

    def assemble(self, state: MemoryState, counter: TokenCounter) -> Sent:
        """Build what is sent: system prompt, summary, then recent messages.

        Recent messages are taken newest first, in whole units, while they
        fit; the newest unit is always sent, cut if it alone is too large.

        Args:
            state: The conversation as remembered.
            counter: Counts for the target model and its tools.

        Returns:
            The messages and their token accounting.

        Raises:
            ValueError: As `fixed_tokens`, or when the newest unit cannot be
                cut small enough (its tool calls alone are too large).
        """
        fixed = self.fixed_tokens(state, counter)
        units = group_units(state.messages)
        summary = self.summary_message(state.summary)
        room = self.max_tokens - fixed
        cut = 0
        if summary is not None:
            cap = self.summary_cap(fixed)
            if counter.message(summary) > cap:
                # A summary stored under a larger budget: cut for this call.
                frame = counter.message(summary.model_copy(update={"content": ""}))
                text = cut_text(_text_of(summary), max(0, cap - frame), counter)
                summary = summary.model_copy(update={"content": text})
                cut += 1
            room -= counter.message(summary)

        kept: list[list[BaseMessage]] = []
        for position, unit in enumerate(reversed(units)):
            tokens = counter.messages(unit)
            if position == 0 and tokens > room:
                unit = _cut_unit(unit, room, counter)
                tokens = counter.messages(unit)
                cut += 1
            elif tokens > room:
                break
            kept.append(unit)
            room -= tokens
        kept.reverse()
        recent = [m for unit in kept for m in unit]
        dropped = len(state.messages) - len(recent)
        if dropped:
            logger.warning(
                "%d older messages do not fit in max_tokens=%d and are not sent this "
                "time; they stay stored and are summarised on a later call.",
                dropped,
                self.max_tokens,
            )

        messages = [*state.system, *([summary] if summary else []), *recent]
        full = (
            TOKENS_REPLY_PRIMING
            + counter.messages(state.system)
            + counter.tools_tokens
            + state.summarized_tokens
            + counter.messages(state.messages)
        )
        return Sent(
            messages=messages,
            sent_tokens=counter.request(messages),
            full_tokens=full,
            kept_messages=len(recent),
            dropped_messages=dropped,
            cut_messages=cut,
        )
