"""Offline stand-ins for chat models, for tests, the cookbook and the simulator.

`FakeUsageChatModel` behaves like a provider's chat model as far as billing is
concerned: it has a real model name (so prices apply), it reports
`usage_metadata` counted with the model's own tokenizer, and when streamed it
sends the usage on the final chunk, as OpenAI does with
`stream_usage=True`. Replies come from a list, in order, cycling.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field, PrivateAttr
from typing_extensions import override

from langchain_finops.costs.tokens import count_tokens

__all__ = ["FakeUsageChatModel"]


class FakeUsageChatModel(BaseChatModel):
    """A deterministic chat model that reports realistic token usage.

    Example:
        ```python
        from langchain_finops.testing import FakeUsageChatModel

        model = FakeUsageChatModel(model_name="gpt-4o-mini", responses=["Hi!"])
        model.invoke("Hello").usage_metadata["input_tokens"]
        ```
    """

    model_name: str = "gpt-4o-mini"
    """The model this stands in for; prices and tokenizer follow it."""
    responses: Sequence[str | AIMessage] = ("OK",)
    """Replies, returned in order and then from the start again. An `AIMessage`
    that carries `usage_metadata` reports that usage instead of a counted one."""
    cached_input_tokens: int = 0
    """Input tokens to report as read from the provider's prompt cache."""
    stream_usage: bool = True
    """Send usage on the final streamed chunk (False: send none, as some
    OpenAI-compatible servers do)."""
    fail_with: Callable[[list[BaseMessage]], Exception | None] | None = Field(
        default=None, exclude=True
    )
    """Called with the messages; a returned exception is raised (tests of
    fallbacks)."""

    _cycle: Iterator[str | AIMessage] = PrivateAttr()
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @override
    def model_post_init(self, context: Any, /) -> None:
        self._cycle = itertools.cycle(list(self.responses) or ["OK"])

    @property
    def _llm_type(self) -> str:
        return "fake-usage-chat-model"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name}

    def _next_reply(self, messages: list[BaseMessage]) -> AIMessage:
        if self.fail_with is not None:
            error = self.fail_with(messages)
            if error is not None:
                raise error
        with self._lock:
            reply = next(self._cycle)
        if isinstance(reply, str):
            return AIMessage(content=reply)
        return reply.model_copy()

    def _usage(self, messages: list[BaseMessage], reply: AIMessage) -> UsageMetadata:
        if reply.usage_metadata is not None:
            return reply.usage_metadata
        input_tokens = int(count_tokens(messages, model=self.model_name))
        output_tokens = int(count_tokens(reply.text, model=self.model_name))
        usage: UsageMetadata = {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "total_tokens": input_tokens + output_tokens,
        }
        cached = min(self.cached_input_tokens, input_tokens)
        if cached:
            usage["input_token_details"] = {"cache_read": cached}
        return usage

    @override
    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> FakeUsageChatModel:
        """Accept tools, as agents require; replies still come from `responses`.

        Give `AIMessage` replies with `tool_calls` to script tool use.
        """
        return self

    @override
    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        reply = self._next_reply(messages)
        message = reply.model_copy(
            update={
                "usage_metadata": self._usage(messages, reply),
                "response_metadata": {
                    **reply.response_metadata,
                    "model_name": self.model_name,
                    "finish_reason": "stop",
                },
            }
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    @override
    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        reply = self._next_reply(messages)
        words = reply.text.split(" ")
        for index, word in enumerate(words):
            piece = word if index == len(words) - 1 else word + " "
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
            if run_manager is not None:
                run_manager.on_llm_new_token(piece, chunk=chunk)
            yield chunk
        if reply.tool_calls:
            # Tool calls stream as chunks too, so agents streamed in
            # "messages" mode see and run them.
            calls = [
                {
                    "name": call["name"],
                    "args": json.dumps(call["args"]),
                    "id": call.get("id"),
                    "index": index,
                    "type": "tool_call_chunk",
                }
                for index, call in enumerate(reply.tool_calls)
            ]
            yield ChatGenerationChunk(
                message=AIMessageChunk(content="", tool_call_chunks=calls)  # type: ignore[arg-type]
            )
        final = AIMessageChunk(
            content="",
            response_metadata={"model_name": self.model_name, "finish_reason": "stop"},
            usage_metadata=self._usage(messages, reply) if self.stream_usage else None,
            chunk_position="last",
        )
        yield ChatGenerationChunk(message=final)
