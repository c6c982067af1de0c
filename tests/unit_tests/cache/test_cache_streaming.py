from __future__ import annotations

from typing import Any

import pytest
from langchain_core.globals import get_llm_cache, set_llm_cache
from langchain_core.messages import AIMessageChunk, HumanMessage
from langchain_core.tools import tool
from langchain_core.utils.function_calling import convert_to_openai_tool

from langchain_finops.cache import CachedStreamingChatModel, SemanticFaissCache
from langchain_finops.testing import FakeUsageChatModel


@pytest.fixture
def cache(word_bag: Any) -> SemanticFaissCache:
    return SemanticFaissCache(embeddings=word_bag, similarity_threshold=0.8)


def collect(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    return total


def test_a_streamed_answer_is_stored_and_replayed_as_chunks(
    cache: SemanticFaissCache,
) -> None:
    inner = FakeUsageChatModel(responses=["Paris is the capital.", "NOT CALLED"])
    model = CachedStreamingChatModel(model=inner, llm_cache=cache)
    first = list(model.stream("capital of france"))
    assert [chunk.content for chunk in first] == [
        "Paris ",
        "is ",
        "the ",
        "capital.",
        "",
    ]
    assert len(cache) == 1
    second = list(model.stream("the capital of france"))
    assert [chunk.content for chunk in second] == [
        "Paris ",
        "is ",
        "the ",
        "capital.",
        "",
    ]
    merged = collect(second)
    assert merged.content == "Paris is the capital."
    # Three of four words shared: cosine 3 / sqrt(12), rounded to 6 places.
    assert merged.response_metadata["finops_cache"] == {
        "tier": "semantic",
        "similarity": 0.866025,
    }
    assert merged.usage_metadata is not None
    first_usage = collect(first).usage_metadata
    assert first_usage is not None
    assert merged.usage_metadata["output_tokens"] == first_usage["output_tokens"]
    assert merged.usage_metadata.get("total_cost") == 0


def test_invoke_and_stream_share_entries(cache: SemanticFaissCache) -> None:
    inner = FakeUsageChatModel(responses=["Forty-two.", "NOT CALLED"])
    model = CachedStreamingChatModel(model=inner, llm_cache=cache)
    assert model.invoke("meaning of life").content == "Forty-two."
    streamed = collect(list(model.stream("meaning of life")))
    assert streamed.content == "Forty-two."
    assert streamed.response_metadata["finops_cache"]["tier"] == "exact"
    # A plain model call with the same cache hits the same entry.
    inner.cache = cache
    assert inner.invoke("meaning of life").content == "Forty-two."


def test_an_abandoned_stream_is_not_stored(cache: SemanticFaissCache) -> None:
    model = CachedStreamingChatModel(
        model=FakeUsageChatModel(responses=["one two three four"]), llm_cache=cache
    )
    stream = model.stream("count please")
    next(stream)
    stream.close()
    assert len(cache) == 0


def test_the_global_cache_is_used_when_none_is_given(cache: SemanticFaissCache) -> None:
    previous = get_llm_cache()
    set_llm_cache(cache)
    try:
        model = CachedStreamingChatModel(
            model=FakeUsageChatModel(responses=["first", "second"])
        )
        assert collect(list(model.stream("hello there"))).content == "first"
        assert collect(list(model.stream("hello there"))).content == "first"
    finally:
        set_llm_cache(previous)


async def test_async_stream_matches_sync(cache: SemanticFaissCache) -> None:
    model = CachedStreamingChatModel(
        model=FakeUsageChatModel(responses=["Async answer here.", "NOT CALLED"]),
        llm_cache=cache,
    )
    first = [chunk async for chunk in model.astream("async question")]
    second = [chunk async for chunk in model.astream("the async question")]
    assert [c.content for c in first] == [c.content for c in second]
    assert collect(second).response_metadata["finops_cache"]["tier"] == "semantic"
    assert collect(list(model.stream("async question"))).content == "Async answer here."


def test_bound_tools_stay_behind_the_cache(cache: SemanticFaissCache) -> None:
    @tool
    def weather(city: str) -> str:
        """Weather in a city."""
        return city

    class ToolBindingModel(FakeUsageChatModel):
        def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
            return self.bind(tools=[convert_to_openai_tool(item) for item in tools])

    inner = ToolBindingModel(responses=["with tools", "without tools", "NOT CALLED"])
    model = CachedStreamingChatModel(model=inner, llm_cache=cache)
    bound = model.bind_tools([weather])
    assert bound.invoke([HumanMessage("weather in paris")]).content == "with tools"
    assert model.invoke([HumanMessage("weather in paris")]).content == "without tools"
    assert bound.invoke([HumanMessage("weather in paris")]).content == "with tools"
