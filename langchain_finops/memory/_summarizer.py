"""Calls to the summariser model: extend the running summary, condense it.

The summariser is whatever chat model the user passes; a cheap one is
expected (gpt-4o-mini, claude-haiku, gemini-flash), since it only rewrites
text it is given. Its calls run under `overhead_config("memory", ...)`, so
the cost ledger bills them against the memory's saving. A failed call never
reaches the state: the caller keeps every message and tries again later.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.runnables import Runnable, RunnableConfig

from langchain_finops.costs.events import overhead_config
from langchain_finops.memory._policy import TokenCounter, cut_text

__all__ = ["Summarizer", "SummarizerOutcome"]

logger = logging.getLogger(__name__)

# Roughly 0.75 English words per token; the word limit asked for sits a bit
# under the cap so that most summaries need no condensing pass.
_WORDS_PER_TOKEN = 0.7

_INSTRUCTIONS = (
    "You keep a running summary of a conversation between a user and an "
    "assistant. Keep every name, number, date, decision, preference, tool "
    "result and open question; leave out greetings and small talk. Write "
    "plain prose in the third person. Do not answer the user and do not add "
    "anything the conversation does not say."
)


@dataclass(frozen=True)
class SummarizerOutcome:
    """The new summary text (None when the summariser failed) and its calls."""

    summary: str | None
    calls: int


def _render(message: BaseMessage, counter: TokenCounter, limit: int) -> str:
    text = message.content if isinstance(message.content, str) else message.text
    text = cut_text(text, limit, counter)
    if isinstance(message, ToolMessage):
        return f"Tool result ({message.name or message.tool_call_id}): {text}"
    if isinstance(message, AIMessage):
        lines = [f"Assistant: {text}"] if text else []
        for call in message.tool_calls:
            args = json.dumps(call.get("args", {}), ensure_ascii=False)
            lines.append(f"Assistant called {call.get('name')}({args})")
        return "\n".join(lines)
    if isinstance(message, HumanMessage):
        return f"User: {text}"
    return f"{message.type}: {text}"


def _words(cap_tokens: int) -> int:
    return max(10, int(cap_tokens * _WORDS_PER_TOKEN))


class Summarizer:
    """Builds the summariser's prompts and runs them, sync or async.

    Args:
        llm: The summariser: a chat model (or any runnable taking messages and
            returning a message or a string).
        tags: Tags added to every summariser run (the middleware marks them
            so agent streams do not show the summariser's tokens).
    """

    def __init__(self, llm: Runnable[Any, Any], *, tags: Sequence[str] = ()) -> None:
        self.llm = llm
        self.tags = list(tags)

    def extend_prompt(
        self,
        summary: str,
        chunk: Sequence[BaseMessage],
        cap_tokens: int,
        counter: TokenCounter,
        message_limit: int,
    ) -> list[BaseMessage]:
        """The request that folds `chunk` into `summary`."""
        transcript = "\n".join(
            line for m in chunk if (line := _render(m, counter, message_limit))
        )
        request = (
            f"Summary so far:\n{summary or '(none yet)'}\n\n"
            f"New messages:\n{transcript}\n\n"
            "Write the updated summary: the summary so far, extended with what "
            f"the new messages add, in at most {_words(cap_tokens)} words."
        )
        return [SystemMessage(content=_INSTRUCTIONS), HumanMessage(content=request)]

    def condense_prompt(self, summary: str, cap_tokens: int) -> list[BaseMessage]:
        """The request that shortens a summary that came out over its cap."""
        request = (
            f"This summary is too long. Rewrite it in at most {_words(cap_tokens)} "
            "words, keeping every name, number, date and decision:\n\n"
            f"{summary}"
        )
        return [SystemMessage(content=_INSTRUCTIONS), HumanMessage(content=request)]

    def _config(self, config: RunnableConfig | None) -> RunnableConfig:
        child = overhead_config("memory", config)
        tags = [*child.get("tags", []), *self.tags]
        return {**child, "tags": tags, "run_name": "rolling_summary"}

    @staticmethod
    def _text(output: Any) -> str:
        if isinstance(output, BaseMessage):
            return output.text.strip()
        return str(output).strip()

    def _failed(self, error: BaseException | None, chunk: int) -> None:
        # The exception's text may quote the conversation: log its type only.
        reason = type(error).__name__ if error else "an empty reply"
        logger.warning(
            "The summariser (%s) failed with %s; all %d messages it was given stay "
            "as they are and summarising is retried on a later call.",
            type(self.llm).__name__,
            reason,
            chunk,
        )

    @staticmethod
    def _finish(
        text: str, cap_tokens: int, counter: TokenCounter, measure: Callable[[str], int]
    ) -> str:
        if measure(text) <= cap_tokens:
            return text
        logger.warning(
            "The summary is still over its cap of %d tokens after condensing; "
            "its end was cut.",
            cap_tokens,
        )
        budget = cap_tokens - measure("")
        cut = cut_text(text, budget, counter)
        # Tokens may merge across the summary's prefix: trim until it fits.
        while cut and measure(cut) > cap_tokens:
            budget -= 1
            cut = cut_text(text, budget, counter)
        return cut

    def summarize(
        self,
        summary: str,
        chunk: Sequence[BaseMessage],
        *,
        cap_tokens: int,
        measure: Callable[[str], int],
        counter: TokenCounter,
        message_limit: int,
        config: RunnableConfig | None,
    ) -> SummarizerOutcome:
        """Fold `chunk` into `summary`; condense once if over `cap_tokens`.

        Args:
            summary: The summary so far.
            chunk: The messages to fold, whole units.
            cap_tokens: The most the summary message may take.
            measure: Tokens of the summary message carrying a given text.
            counter: Counts for the target model.
            message_limit: The most tokens of one message shown to the
                summariser.
            config: The run's config; the calls are marked as memory overhead.

        Returns:
            The new summary, or None (with the calls made) if a call failed or
            returned nothing.
        """
        text_cap = cap_tokens - measure("")
        prompt = self.extend_prompt(summary, chunk, text_cap, counter, message_limit)
        calls = 1
        try:
            text = self._text(self.llm.invoke(prompt, config=self._config(config)))
            if text and measure(text) > cap_tokens:
                calls += 1
                condense = self.condense_prompt(text, text_cap)
                text = self._text(
                    self.llm.invoke(condense, config=self._config(config))
                )
        except Exception as error:
            self._failed(error, len(chunk))
            return SummarizerOutcome(summary=None, calls=calls)
        if not text:
            self._failed(None, len(chunk))
            return SummarizerOutcome(summary=None, calls=calls)
        return SummarizerOutcome(
            summary=self._finish(text, cap_tokens, counter, measure), calls=calls
        )

    async def asummarize(
        self,
        summary: str,
        chunk: Sequence[BaseMessage],
        *,
        cap_tokens: int,
        measure: Callable[[str], int],
        counter: TokenCounter,
        message_limit: int,
        config: RunnableConfig | None,
    ) -> SummarizerOutcome:
        """Async twin of `summarize`."""
        text_cap = cap_tokens - measure("")
        prompt = self.extend_prompt(summary, chunk, text_cap, counter, message_limit)
        calls = 1
        try:
            output = await self.llm.ainvoke(prompt, config=self._config(config))
            text = self._text(output)
            if text and measure(text) > cap_tokens:
                calls += 1
                condense = self.condense_prompt(text, text_cap)
                output = await self.llm.ainvoke(condense, config=self._config(config))
                text = self._text(output)
        except Exception as error:
            self._failed(error, len(chunk))
            return SummarizerOutcome(summary=None, calls=calls)
        if not text:
            self._failed(None, len(chunk))
            return SummarizerOutcome(summary=None, calls=calls)
        return SummarizerOutcome(
            summary=self._finish(text, cap_tokens, counter, measure), calls=calls
        )
