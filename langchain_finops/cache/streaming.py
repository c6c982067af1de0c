"""`CachedStreamingChatModel`: a chat model wrapper whose `.stream()` is cached.

LangChain consults a `BaseCache` in `invoke` and `generate`, never in
`stream`. This wrapper does: a streamed call is answered from the cache as
chunks, and a streamed answer, once complete, is stored.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

from langchain_core.caches import BaseCache
from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
)
from langchain_core.globals import get_llm_cache
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.language_models.chat_models import generate_from_stream
from langchain_core.load import dumps
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import (
    ChatGeneration,
    ChatGenerationChunk,
    ChatResult,
    Generation,
)
from langchain_core.runnables import Runnable, RunnableBinding
from langchain_core.tools import BaseTool
from pydantic import ConfigDict
from typing_extensions import override

__all__ = ["CachedStreamingChatModel"]


def _as_chat_generations(generations: Sequence[Generation]) -> list[ChatGeneration]:
    out = []
    for generation in generations:
        if isinstance(generation, ChatGeneration):
            message = generation.message
        else:
            message = AIMessage(content=generation.text)
        # A hit costs nothing: the same mark LangChain puts on its own hits.
        usage = {**(getattr(message, "usage_metadata", None) or {}), "total_cost": 0}
        out.append(
            ChatGeneration(
                message=message.model_copy(update={"usage_metadata": usage}),
                generation_info=generation.generation_info,
            )
        )
    return out


def _replay(generation: ChatGeneration) -> Iterator[ChatGenerationChunk]:
    message = generation.message
    text = message.content if isinstance(message.content, str) else message.text
    words = text.split(" ") if text else []
    for index, word in enumerate(words):
        piece = word if index == len(words) - 1 else word + " "
        yield ChatGenerationChunk(message=AIMessageChunk(content=piece))
    tool_calls = message.tool_calls if isinstance(message, AIMessage) else []
    final = AIMessageChunk(
        content="",
        response_metadata=dict(message.response_metadata),
        tool_call_chunks=[
            {
                "name": call["name"],
                "args": dumps(call["args"]),
                "id": call.get("id"),
                "index": index,
                "type": "tool_call_chunk",
            }
            for index, call in enumerate(tool_calls)
        ],
        chunk_position="last",
    )
    usage = getattr(message, "usage_metadata", None)
    if usage is not None:
        final = final.model_copy(update={"usage_metadata": usage})
    yield ChatGenerationChunk(message=final, generation_info=generation.generation_info)


class CachedStreamingChatModel(BaseChatModel):
    """Wraps a chat model so that `invoke` and `stream` both use a cache.

    Keys are the wrapped model's own (its `llm_string` and LangChain's
    serialisation of the messages), so entries are shared with plain
    `model.invoke` calls through `set_llm_cache`. A streamed answer is stored
    only once the stream has finished; one abandoned half-way is not.

    Example:
        ```python
        from langchain_finops.cache import CachedStreamingChatModel, SemanticFaissCache
        from langchain_openai import ChatOpenAI

        model = CachedStreamingChatModel(
            model=ChatOpenAI(model="gpt-4o-mini"), llm_cache=SemanticFaissCache()
        )
        for chunk in model.stream("What is the capital of France?"):
            print(chunk.content, end="")
        ```

    Args:
        model: The chat model to call on a miss.
        llm_cache: The cache; the global one (`set_llm_cache`) when None.
    """

    model: BaseChatModel
    """The wrapped chat model."""
    llm_cache: BaseCache | None = None
    """The cache used; None means the global cache."""
    cache: BaseCache | bool | None = False
    """LangChain's own cache layer stays off: this wrapper does the caching."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    @property
    def _llm_type(self) -> str:
        return f"cached-{self.model._llm_type}"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return dict(self.model._identifying_params)

    @override
    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> Any:
        return self.model._get_ls_params(stop=stop, **kwargs)

    def _resolve_cache(self) -> BaseCache | None:
        return self.llm_cache if self.llm_cache is not None else get_llm_cache()

    def _keys(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: Any
    ) -> tuple[str, str]:
        normalized = [
            message.model_copy(update={"id": None}) if message.id else message
            for message in messages
        ]
        return dumps(normalized), self.model._get_llm_string(stop=stop, **kwargs)

    def _streams_natively(self) -> bool:
        return type(self.model)._stream is not BaseChatModel._stream

    @override
    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        cache = self._resolve_cache()
        if cache is None:
            return self.model._generate(
                messages, stop=stop, run_manager=run_manager, **kwargs
            )
        prompt, llm_string = self._keys(messages, stop, kwargs)
        hit = cache.lookup(prompt, llm_string)
        if hit:
            return ChatResult(generations=_as_chat_generations(hit))
        result = self.model._generate(
            messages, stop=stop, run_manager=run_manager, **kwargs
        )
        cache.update(prompt, llm_string, result.generations)
        return result

    @override
    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        cache = self._resolve_cache()
        if cache is None:
            return await self.model._agenerate(
                messages, stop=stop, run_manager=run_manager, **kwargs
            )
        prompt, llm_string = self._keys(messages, stop, kwargs)
        hit = await cache.alookup(prompt, llm_string)
        if hit:
            return ChatResult(generations=_as_chat_generations(hit))
        result = await self.model._agenerate(
            messages, stop=stop, run_manager=run_manager, **kwargs
        )
        await cache.aupdate(prompt, llm_string, result.generations)
        return result

    @override
    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        cache = self._resolve_cache()
        prompt, llm_string = self._keys(messages, stop, kwargs)
        hit = cache.lookup(prompt, llm_string) if cache is not None else None
        if hit:
            for chunk in _replay(_as_chat_generations(hit)[0]):
                if run_manager is not None:
                    run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                yield chunk
            return
        if not self._streams_natively():
            result = self._generate(
                messages, stop=stop, run_manager=run_manager, **kwargs
            )
            yield from _replay(result.generations[0])
            return
        chunks = []
        for chunk in self.model._stream(
            messages, stop=stop, run_manager=run_manager, **kwargs
        ):
            chunks.append(chunk)
            yield chunk
        if cache is not None and chunks:
            cache.update(
                prompt, llm_string, generate_from_stream(iter(chunks)).generations
            )

    @override
    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        cache = self._resolve_cache()
        prompt, llm_string = self._keys(messages, stop, kwargs)
        hit = await cache.alookup(prompt, llm_string) if cache is not None else None
        if hit:
            for chunk in _replay(_as_chat_generations(hit)[0]):
                if run_manager is not None:
                    await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                yield chunk
            return
        if not self._streams_natively() and (
            type(self.model)._astream is BaseChatModel._astream
        ):
            result = await self._agenerate(
                messages, stop=stop, run_manager=run_manager, **kwargs
            )
            for chunk in _replay(result.generations[0]):
                yield chunk
            return
        chunks = []
        async for chunk in self.model._astream(
            messages, stop=stop, run_manager=run_manager, **kwargs
        ):
            chunks.append(chunk)
            yield chunk
        if cache is not None and chunks:
            await cache.aupdate(
                prompt, llm_string, generate_from_stream(iter(chunks)).generations
            )

    @override
    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        # Let the wrapped model format the tools its own way, then bind the
        # result here so that calls keep going through the cache.
        bound = self.model.bind_tools(tools, **kwargs)
        if not isinstance(bound, RunnableBinding):
            msg = (
                f"{type(self.model).__name__}.bind_tools returned "
                f"{type(bound).__name__}; CachedStreamingChatModel can only wrap "
                "models whose bind_tools binds keyword arguments."
            )
            raise TypeError(msg)
        return self.bind(**bound.kwargs)
