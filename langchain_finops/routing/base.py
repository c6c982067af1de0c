"""What every routing classifier answers, and the text it reads from a prompt."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage
    from langchain_core.runnables import RunnableConfig

__all__ = ["RoutingClassifier", "RoutingDecision", "prompt_text"]


@dataclass(frozen=True)
class RoutingDecision:
    """A classifier's verdict on one prompt.

    Attributes:
        score: The probability, in [0, 1], that the cheap tier falls short.
        label: The classifier's own label (a route name, "cheap" / "strong").
        fallback_reason: Why the classifier could not judge the prompt and
            sent it to the strong tier (an unknown label, no matching route),
            or None when it judged normally.

    Example:
        ```python
        RoutingDecision(score=1.0, label="no_route", fallback_reason="no match")
        ```
    """

    score: float
    label: str
    fallback_reason: str | None = None


def prompt_text(value: Any) -> str:
    """The text a classifier judges: the last human turn of a chat input.

    Earlier turns and the system prompt are left out on purpose: they repeat
    on every call of a conversation and would drown the new request.

    Args:
        value: A string, a `PromptValue`, a message, a list of messages (or
            of anything `convert_to_messages` takes).

    Returns:
        The text of the last human message, or of the last message when no
        message is a human one.

    Raises:
        TypeError: If `value` is none of the above.
    """
    if isinstance(value, str):
        return value
    # Imported here so that loading a classifier does not import LangChain's
    # message stack (most of a cold start); any caller passing messages has
    # it loaded already.
    from langchain_core.messages import BaseMessage, convert_to_messages
    from langchain_core.prompt_values import PromptValue

    if isinstance(value, PromptValue):
        messages: Sequence[BaseMessage] = value.to_messages()
    elif isinstance(value, BaseMessage):
        messages = [value]
    elif isinstance(value, Sequence):
        try:
            messages = convert_to_messages(value)
        except (TypeError, ValueError, NotImplementedError) as error:
            msg = f"Cannot read a prompt from this list of messages: {error}"
            raise TypeError(msg) from error
    else:
        msg = (
            "A router input must be a string, a PromptValue or a list of messages, "
            f"not {type(value).__name__}."
        )
        raise TypeError(msg)
    if not messages:
        return ""
    for message in reversed(messages):
        if message.type == "human":
            return message.text
    return messages[-1].text


class RoutingClassifier(ABC):
    """Scores how likely a prompt is to need the strong model.

    Subclasses implement `classify`; `score` and the async twins follow from
    it. `default_threshold` is the score at and above which a two-tier router
    goes to the strong tier when no threshold or target share is given.

    Example:
        ```python
        class LengthClassifier(RoutingClassifier):
            def classify(self, prompt, config=None):
                score = min(1.0, len(prompt) / 2000)
                return RoutingDecision(score=score, label="length")
        ```
    """

    default_threshold: float = 0.5

    @abstractmethod
    def classify(
        self, prompt: str, config: RunnableConfig | None = None
    ) -> RoutingDecision:
        """Judge one prompt.

        Args:
            prompt: The text to judge.
            config: The caller's run config (classifiers that call a model run
                under it so their cost counts against routing).

        Returns:
            The score, the label and any fallback reason.
        """

    async def aclassify(
        self, prompt: str, config: RunnableConfig | None = None
    ) -> RoutingDecision:
        """Async twin of `classify`; CPU-bound work runs off the event loop."""
        return await asyncio.to_thread(self.classify, prompt, config)

    def score(self, prompt: str) -> float:
        """The probability, in [0, 1], that the cheap tier falls short on `prompt`."""
        return self.classify(prompt).score

    def scores(self, prompts: Sequence[str]) -> list[float]:
        """`score` of many prompts (classifiers override it when batching helps)."""
        return [self.score(p) for p in prompts]
