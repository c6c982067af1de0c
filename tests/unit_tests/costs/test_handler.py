import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.caches import InMemoryCache
from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableConfig, RunnableLambda

from langchain_finops.costs import (
    CostCallbackHandler,
    overhead_config,
    report_saving,
    track_costs,
)
from langchain_finops.testing import FakeUsageChatModel
from tests.unit_tests.costs.costs_testkit import MILLION, PRICES, cheap, scripted


def test_gpt_4o_call_costs_what_openai_bills() -> None:
    model = FakeUsageChatModel(
        model_name="gpt-4o", responses=[scripted("ok", 2_000, 300, cached=1_500)]
    )
    handler = CostCallbackHandler()
    model.invoke("question", config={"callbacks": [handler]})
    # 500 x $2.50 + 1,500 x $1.25 + 300 x $10 per 1M tokens.
    assert handler.total_cost == Decimal("0.006125")
    totals = handler.totals
    assert (totals.calls, totals.input_tokens, totals.cached_input_tokens) == (
        1,
        2_000,
        1_500,
    )
    assert totals.output_tokens == 300


def test_gpt_4o_call_with_overridden_prices() -> None:
    model = FakeUsageChatModel(
        model_name="gpt-4o", responses=[scripted("ok", 2_000, 300, cached=1_500)]
    )
    overrides = {"gpt-4o": {"input": 5, "output": 15, "cache_read": 0.5}}
    with track_costs(price_overrides=overrides) as costs:
        model.invoke("question")
    assert costs.total_cost == Decimal("0.00775")


def test_streamed_call_uses_usage_from_the_final_chunk() -> None:
    model = FakeUsageChatModel(
        model_name="cheap-model", responses=["Hello there friend"]
    )
    with track_costs(price_overrides=PRICES) as costs:
        text = "".join(str(chunk.content) for chunk in model.stream("Hi"))
    assert text == "Hello there friend"
    totals = costs.totals
    # "Hi" as a chat: 3 framing + "user" + "Hi" + 3 reply priming = 8 tokens;
    # "Hello there friend" = 3 tokens. 8 x $1 + 3 x $2 per 1M.
    assert (totals.calls, totals.input_tokens, totals.output_tokens) == (1, 8, 3)
    assert totals.estimated_calls == 0
    assert costs.total_cost == Decimal(14) / MILLION


def test_streamed_call_without_usage_is_estimated_from_text() -> None:
    model = FakeUsageChatModel(
        model_name="cheap-model", responses=["Hello there friend"], stream_usage=False
    )
    with track_costs(price_overrides=PRICES) as costs:
        list(model.stream("Hi"))
    totals = costs.totals
    assert (totals.calls, totals.input_tokens, totals.output_tokens) == (1, 8, 3)
    assert totals.estimated_calls == 1
    assert costs.total_cost == Decimal(14) / MILLION


async def test_async_stream_is_counted_once() -> None:
    model = cheap(scripted("a b c", 100, 10))
    with track_costs(price_overrides=PRICES) as costs:
        async for _ in model.astream("Hi"):
            pass
    assert costs.totals.calls == 1
    assert costs.total_cost == Decimal(120) / MILLION


def test_batch_counts_each_call_once() -> None:
    model = cheap(
        scripted("a", 100, 10), scripted("b", 200, 20), scripted("c", 300, 30)
    )
    handler = CostCallbackHandler(price_overrides=PRICES)
    model.batch(["1", "2", "3"], config={"callbacks": [handler]})
    totals = handler.totals
    assert (totals.calls, totals.input_tokens, totals.output_tokens) == (3, 600, 60)
    # 600 x $1 + 60 x $2 per 1M.
    assert handler.total_cost == Decimal(720) / MILLION


async def test_abatch_and_gather_count_each_call_once() -> None:
    model = cheap(scripted("a", 100, 10))
    with track_costs(price_overrides=PRICES) as costs:
        await model.abatch(["1", "2", "3"])
        await asyncio.gather(*(model.ainvoke(str(i)) for i in range(5)))
    assert costs.totals.calls == 8
    assert costs.total_cost == 8 * Decimal(120) / MILLION


def test_nested_chain_carrying_the_same_handler_counts_once() -> None:
    handler = CostCallbackHandler(price_overrides=PRICES)
    model = cheap(scripted("answer", 100, 10))
    inner = (RunnableLambda(lambda text: text) | model).with_config(
        run_name="inner", callbacks=[handler]
    )
    outer = (RunnableLambda(lambda text: text) | inner).with_config(run_name="outer")
    assert outer.invoke("q", config={"callbacks": [handler]}).content == "answer"
    assert handler.totals.calls == 1
    assert handler.by_chain["outer"].calls == 1
    assert handler.by_chain["inner"].calls == 1
    assert handler.by_model["cheap-model"].cost == Decimal(120) / MILLION


def test_inner_call_given_a_fresh_callback_list_counts_once() -> None:
    handler = CostCallbackHandler(price_overrides=PRICES)
    model = cheap(scripted("answer", 100, 10))

    def inner_step(text: str, config: RunnableConfig) -> str:
        # Replacing the callbacks detaches the call from the outer run tree,
        # and the handler now sees it both ways.
        inner_config: RunnableConfig = {**config, "callbacks": [handler]}
        return str(model.invoke(text, config=inner_config).content)

    outer = RunnableLambda(inner_step).with_config(run_name="outer")
    with track_costs(price_overrides=PRICES) as costs:
        assert outer.invoke("q", config={"callbacks": [handler]}) == "answer"
    assert handler.totals.calls == 1
    assert costs.totals.calls == 1


def test_langchain_cache_hit_is_saved_not_billed() -> None:
    model = cheap(scripted("cached answer", 1_000, 100), cache=InMemoryCache())
    with track_costs(price_overrides=PRICES) as costs:
        first = model.invoke("same question")
        second = model.invoke("same question")
    assert first.content == second.content == "cached answer"
    totals = costs.totals
    assert (totals.calls, totals.cache_hits, totals.input_tokens) == (1, 1, 1_000)
    # The hit would have cost 1,000 x $1 + 100 x $2 per 1M.
    assert costs.total_cost == Decimal(1_200) / MILLION
    cache = costs.savings["cache"]
    assert (cache.events, cache.tokens_saved) == (1, 1_100)
    assert cache.gross_saved == Decimal(1_200) / MILLION


def test_unknown_model_is_unpriced_never_zero(caplog: pytest.LogCaptureFixture) -> None:
    model = FakeUsageChatModel(
        model_name="acme-llm-handler", responses=[scripted("x", 10, 1)]
    )
    with caplog.at_level(logging.WARNING), track_costs() as costs:
        model.invoke("a")
        model.invoke("b")
    assert costs.total_cost is None
    assert costs.totals.unpriced_calls == 2
    assert costs.by_model["acme-llm-handler"].cost is None
    assert sum("acme-llm-handler" in r.getMessage() for r in caplog.records) == 1


@pytest.mark.parametrize(
    "usage",
    [
        {"input_tokens": -3, "output_tokens": 2, "total_tokens": -1},
        {"input_tokens": None, "output_tokens": 2, "total_tokens": 2},
        {"output_tokens": 2, "total_tokens": 2},
    ],
)
def test_bad_usage_is_marked_invalid_and_estimated(
    usage: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    reply = AIMessage.model_construct(
        content="Hello there friend",
        usage_metadata=usage,
        response_metadata={},
        additional_kwargs={},
        tool_calls=[],
        invalid_tool_calls=[],
        type="ai",
    )
    model = cheap(reply)
    with caplog.at_level(logging.WARNING), track_costs(price_overrides=PRICES) as costs:
        assert model.invoke("Hi").content == "Hello there friend"
    totals = costs.totals
    assert (totals.calls, totals.invalid_calls, totals.estimated_calls) == (1, 1, 1)
    assert (totals.input_tokens, totals.output_tokens) == (8, 3)
    assert sum("unusable usage" in r.getMessage() for r in caplog.records) == 1


def test_a_failing_handler_never_breaks_the_chain(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handler = CostCallbackHandler(price_overrides=PRICES)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise KeyError("boom")

    monkeypatch.setattr(handler, "_record", broken)
    result = cheap(scripted("fine", 5, 1)).invoke("x", config={"callbacks": [handler]})
    assert result.content == "fine"
    assert handler.totals.invalid_calls == 1


def test_compression_saving_is_priced_at_the_next_calls_model() -> None:
    model = cheap(scripted("ok", 100, 10))

    def compress(text: str, config: RunnableConfig) -> str:
        report_saving({"technique": "compression", "tokens_saved": 1_000}, config)
        return text

    chain = RunnableLambda(compress) | model
    with track_costs(price_overrides=PRICES) as costs:
        chain.invoke("long prompt")
    saved = costs.savings["compression"]
    # 1,000 input tokens not sent, at cheap-model's $1 per 1M.
    assert (saved.events, saved.tokens_saved) == (1, 1_000)
    assert saved.gross_saved == Decimal(1_000) / MILLION
    assert costs.total_saved == Decimal(1_000) / MILLION


def test_saving_with_a_named_model_and_no_following_call() -> None:
    def compress(text: str, config: RunnableConfig) -> str:
        report_saving(
            {"technique": "compression", "tokens_saved": 500, "model": "strong-model"},
            config,
        )
        return text

    with track_costs(price_overrides=PRICES) as costs:
        RunnableLambda(compress).invoke("x")
    assert costs.savings["compression"].gross_saved == Decimal(5_000) / MILLION


def test_routing_saving_is_the_price_difference_against_the_baseline() -> None:
    model = cheap(scripted("ok", 1_000, 100))

    def route(text: str, config: RunnableConfig) -> AIMessage:
        report_saving(
            {
                "technique": "routing",
                "baseline_model": "strong-model",
                "detail": {"tier": "cheap-model", "score": 0.1},
            },
            config,
        )
        return model.invoke(text, config=config)

    with track_costs(price_overrides=PRICES) as costs:
        RunnableLambda(route).invoke("hello")
    # Strong: 1,000 x $10 + 100 x $30 = $13,000 per 1M; cheap: $1,200 per 1M.
    routing = costs.savings["routing"]
    assert routing.events == 1
    assert routing.gross_saved == Decimal(11_800) / MILLION
    assert costs.total_cost == Decimal(1_200) / MILLION


def test_memory_saving_is_net_of_the_summarisers_own_calls() -> None:
    summariser = cheap(scripted("summary", 400, 50))
    model = FakeUsageChatModel(
        model_name="strong-model", responses=[scripted("ok", 300, 20)]
    )

    def remember(text: str, config: RunnableConfig) -> str:
        summariser.invoke("summarise: ...", config=overhead_config("memory", config))
        report_saving({"technique": "memory", "tokens_saved": 2_000}, config)
        return text

    with track_costs(price_overrides=PRICES) as costs:
        (RunnableLambda(remember) | model).invoke("next turn")
    memory = costs.savings["memory"]
    # Gross: 2,000 tokens at strong-model's $10 = $20,000 per 1M.
    # Own cost: 400 x $1 + 50 x $2 = $500 per 1M.
    assert memory.gross_saved == Decimal(20_000) / MILLION
    assert memory.overhead_cost == Decimal(500) / MILLION
    assert memory.net_saved == Decimal(19_500) / MILLION
    assert memory.overhead_calls == 1
    # Both calls are real spend: $500 + 300 x $10 + 20 x $30 = $4,100 per 1M.
    assert costs.total_cost == Decimal(4_100) / MILLION


async def test_concurrent_track_costs_blocks_see_only_their_own_calls() -> None:
    async def task(n_calls: int) -> CostCallbackHandler:
        model = cheap(scripted("x", 10, 1))
        with track_costs(price_overrides=PRICES) as costs:
            for _ in range(n_calls):
                await model.ainvoke("q")
                await asyncio.sleep(0)
        return costs

    first, second = await asyncio.gather(task(3), task(5))
    assert (first.totals.calls, second.totals.calls) == (3, 5)


def test_nested_track_costs_blocks_report_to_the_outer_one() -> None:
    model = cheap(scripted("x", 10, 1))
    with track_costs(price_overrides=PRICES) as outer:
        model.invoke("a")
        with track_costs(price_overrides=PRICES) as inner:
            model.invoke("b")
    assert (outer.totals.calls, inner.totals.calls) == (2, 1)


def test_agent_calls_are_counted_once() -> None:
    from langchain.agents import create_agent

    model = cheap(scripted("The answer is 4.", 50, 5))
    agent = create_agent(model=model, tools=[])
    with track_costs(price_overrides=PRICES) as costs:
        result = agent.invoke({"messages": [{"role": "user", "content": "2+2?"}]})
    assert result["messages"][-1].content == "The answer is 4."
    assert costs.totals.calls == 1
    assert costs.total_cost == Decimal(60) / MILLION


def test_report_and_json_export() -> None:
    with track_costs(price_overrides=PRICES) as costs:
        cheap(scripted("x", 1_000, 100)).invoke("a")
    data = costs.to_dict()
    assert data["totals"]["cost"] == "0.0012"
    assert data["by_model"]["cheap-model"]["input_tokens"] == 1_000
    assert data["savings"]["cache"]["net_saved"] == "0"
    text = str(costs)
    assert "cheap-model" in text
    assert "$0.001200" in text
    assert '"calls": 1' in costs.to_json()


usage_lists = st.lists(
    st.tuples(st.integers(0, 50_000), st.integers(0, 5_000)), min_size=1, max_size=24
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(usages=usage_lists, threads=st.integers(1, 8))
def test_concurrent_chains_total_what_the_models_returned(
    usages: list[tuple[int, int]], threads: int
) -> None:
    replies = [scripted(f"r{i}", i_t, o_t) for i, (i_t, o_t) in enumerate(usages)]
    model = cheap(*replies)
    chain = (RunnableLambda(lambda x: x) | model).with_config(run_name="chain")
    handler = CostCallbackHandler(price_overrides=PRICES)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = list(
            pool.map(
                lambda i: chain.invoke(str(i), config={"callbacks": [handler]}),
                range(len(usages)),
            )
        )

    async def run_async() -> list[AIMessage]:
        return await asyncio.gather(
            *(
                chain.ainvoke(str(i), config={"callbacks": [handler]})
                for i in range(len(usages))
            )
        )

    results += asyncio.run(run_async())
    returned_in = sum(
        r.usage_metadata["input_tokens"] for r in results if r.usage_metadata
    )
    returned_out = sum(
        r.usage_metadata["output_tokens"] for r in results if r.usage_metadata
    )
    totals = handler.totals
    assert totals.calls == 2 * len(usages)
    assert (totals.input_tokens, totals.output_tokens) == (returned_in, returned_out)
    assert handler.total_cost == Decimal(returned_in + 2 * returned_out) / MILLION
    assert handler.by_chain["chain"].calls == 2 * len(usages)
