"""Ask a small chat model which tier a prompt needs."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import Runnable, RunnableConfig
from pydantic import BaseModel, Field
from typing_extensions import override

from langchain_finops.costs.events import overhead_config
from langchain_finops.routing.base import RoutingClassifier, RoutingDecision

__all__ = ["DEFAULT_LABELS", "LLMClassifier", "RouteLabel", "parse_label"]

logger = logging.getLogger(__name__)

DEFAULT_LABELS: Mapping[str, float] = {"cheap": 0.0, "strong": 1.0}
_DEFAULT_INSTRUCTIONS = (
    "You decide which model should answer a user's request. Reply `cheap` when "
    "a small, fast model answers it well: greetings, chit-chat, simple facts, "
    "short rewrites. Reply `strong` when it needs careful multi-step reasoning, "
    "maths, code, legal, medical or financial analysis, or long documents. "
    'Answer with JSON only: {{"label": "<one of: {labels}>"}}.'
)
_WRAPPERS = re.compile(r"^[`'\"\s]*(?:json)?[`'\"\s]*|[`'\"\s.!]*$", re.IGNORECASE)


class RouteLabel(BaseModel):
    """The structured reply asked of the classifier model."""

    label: str = Field(description="The route label.")


def parse_label(raw: str, labels: Mapping[str, float]) -> str | None:
    """The label in a model's reply, or None when there is none.

    Case, surrounding spaces, quotes, backticks, a code fence and a JSON
    wrapper (`{"label": "strong"}`) are all understood.

    Args:
        raw: The model's reply text.
        labels: The allowed labels.

    Returns:
        The allowed label, spelled as in `labels`, or None.
    """
    by_key = {k.strip().lower(): k for k in labels}
    text = raw.strip()
    fenced = re.fullmatch(
        r"```(?:json)?\s*(.*?)\s*```", text, re.DOTALL | re.IGNORECASE
    )
    if fenced:
        text = fenced.group(1)
    candidate: Any = text
    if text.startswith(("{", "[")):
        try:
            candidate = json.loads(text)
        except json.JSONDecodeError:
            candidate = text
    if isinstance(candidate, list) and len(candidate) == 1:
        candidate = candidate[0]
    if isinstance(candidate, dict):
        values = [
            candidate[k] for k in candidate if str(k).lower() in ("label", "route")
        ]
        candidate = values[0] if values else next(iter(candidate.values()), "")
    cleaned = _WRAPPERS.sub("", str(candidate)).strip().lower()
    return by_key.get(cleaned)


def _text(message: Any) -> str:
    if isinstance(message, BaseMessage):
        return message.text
    return str(message)


class LLMClassifier(RoutingClassifier):
    """Asks a small chat model for a route label.

    The model is asked for structured output (`{"label": ...}`) where it
    supports it, and for JSON in plain text where it does not; either way the
    reply is parsed leniently (`parse_label`). Its calls run under
    `overhead_config("routing", ...)`, so the cost ledger charges them to
    routing. A reply naming no known label goes to the strong tier with the
    raw reply in the fallback reason, or raises with `strict=True`.

    Example:
        ```python
        from langchain_openai import ChatOpenAI
        from langchain_finops.routing import LLMClassifier

        classifier = LLMClassifier(model=ChatOpenAI(model="gpt-4o-mini"))
        classifier.classify("hi!").label  # "cheap"
        ```

    Args:
        model: The chat model that judges (a small, cheap one).
        labels: Each label with the score it stands for (0.0 cheap, 1.0 strong).
        instructions: The system prompt; `{labels}` is replaced by the labels.
        strict: Raise `ValueError` on an unknown label instead of falling back.
        structured_output: Use the model's `with_structured_output` if it has one.

    Raises:
        ValueError: If `labels` is empty or a score is outside [0, 1].
    """

    def __init__(
        self,
        *,
        model: BaseChatModel,
        labels: Mapping[str, float] | None = None,
        instructions: str | None = None,
        strict: bool = False,
        structured_output: bool = True,
    ) -> None:
        labels = dict(DEFAULT_LABELS if labels is None else labels)
        if not labels:
            msg = "LLMClassifier needs at least one label."
            raise ValueError(msg)
        for label, score in labels.items():
            if not 0.0 <= score <= 1.0:
                msg = f"Label {label!r} has score {score!r}; scores lie in [0, 1]."
                raise ValueError(msg)
        self.model = model
        self.labels = labels
        self.strict = strict
        template = _DEFAULT_INSTRUCTIONS if instructions is None else instructions
        self.instructions = (
            template.replace("{{", "{")
            .replace("}}", "}")
            .replace("{labels}", ", ".join(labels))
        )
        self._structured: Runnable[Any, Any] | None = None
        if structured_output:
            try:
                self._structured = model.with_structured_output(
                    RouteLabel, include_raw=True
                )
            except NotImplementedError:
                # Models without tool calling or JSON mode: plain text, parsed.
                self._structured = None

    def _messages(self, prompt: str) -> list[BaseMessage]:
        return [SystemMessage(self.instructions), HumanMessage(prompt)]

    def _raw_reply(self, result: Any) -> tuple[str | None, str]:
        """The label the model gave (if structured) and its raw text."""
        if isinstance(result, dict) and "raw" in result:
            parsed = result.get("parsed")
            raw = _text(result["raw"])
            label = parsed.label if isinstance(parsed, RouteLabel) else None
            return label, raw
        return None, _text(result)

    def _decision(self, result: Any) -> RoutingDecision:
        given, raw = self._raw_reply(result)
        label = parse_label(given, self.labels) if given is not None else None
        if label is None:
            label = parse_label(raw, self.labels)
        if label is not None:
            return RoutingDecision(score=self.labels[label], label=label)
        if self.strict:
            msg = (
                f"The classifier model replied {raw!r}, which names none of the "
                f"labels {list(self.labels)}. Adjust `instructions`, or pass "
                "strict=False to send such prompts to the strong tier."
            )
            raise ValueError(msg)
        logger.warning(
            "Classifier reply named no known label; routing to the strong tier."
        )
        return RoutingDecision(
            score=1.0,
            label="unknown",
            fallback_reason=f"unknown label in classifier reply {raw[:200]!r}",
        )

    def _runnable(self) -> Runnable[Any, Any]:
        return self._structured if self._structured is not None else self.model

    @override
    def classify(
        self, prompt: str, config: RunnableConfig | None = None
    ) -> RoutingDecision:
        result = self._runnable().invoke(
            self._messages(prompt), overhead_config("routing", config)
        )
        return self._decision(result)

    @override
    async def aclassify(
        self, prompt: str, config: RunnableConfig | None = None
    ) -> RoutingDecision:
        result = await self._runnable().ainvoke(
            self._messages(prompt), overhead_config("routing", config)
        )
        return self._decision(result)
