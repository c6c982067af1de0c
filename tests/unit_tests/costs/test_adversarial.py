"""Adversarial tests of the cost ledger: a hostile production user's view.

Every expected amount is computed by hand from round overridden prices, or
taken from `genai_prices.calc_price` directly when the point is that the
ledger agrees with the price table it wraps.
"""

import asyncio
import base64
import copy
import gc
import logging
import pickle
import struct
import tracemalloc
import zlib
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import tiktoken
import tiktoken.registry
from genai_prices import calc_price
from langchain_core.caches import InMemoryCache
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, BaseLLM
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, ChatResult, Generation, LLMResult
from langchain_core.runnables import RunnableConfig, RunnableLambda

from langchain_finops.costs import (
    CostCallbackHandler,
    PriceTable,
    TokenUsage,
    _tiktoken_offline,
    count_tokens,
    prices,
    report_saving,
    tokens,
    track_costs,
)
from langchain_finops.costs.prices import _genai_usage
from langchain_finops.testing import FakeUsageChatModel
from tests.unit_tests.costs.costs_testkit import MILLION, PRICES, cheap, scripted


def raw_reply(text: str, usage: Any) -> AIMessage:
    """An AIMessage whose usage_metadata skips pydantic validation."""
    return AIMessage.model_construct(
        content=text,
        usage_metadata=usage,
        response_metadata={},
        additional_kwargs={},
        tool_calls=[],
        invalid_tool_calls=[],
        type="ai",
    )


# "Hi" as a chat: 3 framing + "user" + "Hi" + 3 reply priming = 8 tokens.
HI_TOKENS = 8


# ------------------------------------------------------------------ streams


def test_stream_abandoned_after_two_chunks_is_still_billed() -> None:
    # The provider bills the prompt of a stream the client walks away from;
    # LangChain reports it through on_llm_error with the partial generation.
    model = cheap(scripted("alpha beta gamma delta", 100, 10))
    with track_costs(price_overrides=PRICES) as costs:
        for index, _chunk in enumerate(model.stream("Hi")):
            if index == 1:
                break
    totals = costs.totals
    # Received "alpha beta " (3 tokens in o200k_base: "alpha", " beta", " ").
    assert (totals.calls, totals.estimated_calls) == (1, 1)
    assert (totals.input_tokens, totals.output_tokens) == (HI_TOKENS, 3)
    assert costs.total_cost == Decimal(HI_TOKENS + 2 * 3) / MILLION


async def test_async_stream_abandoned_is_still_billed() -> None:
    model = cheap(scripted("alpha beta gamma delta", 100, 10))
    with track_costs(price_overrides=PRICES) as costs:
        stream = model.astream("Hi")
        async for _chunk in stream:
            break
        await stream.aclose()  # type: ignore[attr-defined]
    totals = costs.totals
    assert (totals.calls, totals.estimated_calls) == (1, 1)
    # Received "alpha " (2 tokens: "alpha", " ").
    assert (totals.input_tokens, totals.output_tokens) == (HI_TOKENS, 2)


def test_call_that_fails_before_any_chunk_is_not_billed() -> None:
    model = cheap(
        scripted("never", 100, 10), fail_with=lambda _messages: RuntimeError("429")
    )
    with track_costs(price_overrides=PRICES) as costs:
        with pytest.raises(RuntimeError):
            model.invoke("Hi")
        with pytest.raises(RuntimeError):
            list(model.stream("Hi"))
    assert costs.totals.calls == 0
    assert costs.total_cost is None


async def test_async_stream_with_usage_is_counted_once_under_gather() -> None:
    model = cheap(scripted("a b c", 100, 10))

    async def consume() -> None:
        async for _ in model.astream("Hi"):
            pass

    with track_costs(price_overrides=PRICES) as costs:
        await asyncio.gather(*(consume() for _ in range(6)))
    assert (costs.totals.calls, costs.totals.input_tokens) == (6, 600)
    assert costs.total_cost == 6 * Decimal(120) / MILLION


# ---------------------------------------------------- double counting, nesting


def test_outer_handler_passed_explicitly_inside_a_nested_block_counts_once() -> None:
    model = cheap(scripted("x", 100, 10))
    with (
        track_costs(price_overrides=PRICES) as outer,
        track_costs(price_overrides=PRICES) as inner,
    ):
        model.invoke("q", config={"callbacks": [outer]})
    assert inner.totals.calls == 1
    assert outer.totals.calls == 1
    assert outer.total_cost == Decimal(120) / MILLION


def test_same_handler_twice_in_one_callback_list_counts_once() -> None:
    handler = CostCallbackHandler(price_overrides=PRICES)
    cheap(scripted("x", 100, 10)).invoke("q", config={"callbacks": [handler, handler]})
    assert handler.totals.calls == 1


async def test_cache_hits_under_abatch_are_saved_once_each() -> None:
    model = cheap(scripted("same", 1_000, 100), cache=InMemoryCache())
    with track_costs(price_overrides=PRICES) as costs:
        await model.ainvoke("q")
        await model.abatch(["q", "q", "q"])
    totals = costs.totals
    assert (totals.calls, totals.cache_hits) == (1, 3)
    assert costs.total_cost == Decimal(1_200) / MILLION
    assert costs.savings["cache"].gross_saved == 3 * Decimal(1_200) / MILLION


def _adding_agent() -> Any:
    """An agent whose model calls an `add` tool once, then answers "4"."""
    from langchain.agents import create_agent
    from langchain_core.tools import tool

    @tool
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    call = AIMessage(
        content="",
        tool_calls=[{"name": "add", "args": {"a": 2, "b": 2}, "id": "c1"}],
        usage_metadata={"input_tokens": 200, "output_tokens": 20, "total_tokens": 220},
    )
    model = cheap(call, scripted("4", 300, 5))
    return create_agent(model=model, tools=[add])


def test_agent_with_a_tool_call_counts_both_model_calls() -> None:
    agent = _adding_agent()
    with track_costs(price_overrides=PRICES) as costs:
        result = agent.invoke({"messages": [{"role": "user", "content": "2+2?"}]})
    assert result["messages"][-1].content == "4"
    assert costs.totals.calls == 2
    # 500 input x $1 + 25 output x $2 per 1M.
    assert costs.total_cost == Decimal(550) / MILLION


def test_streamed_agent_with_a_tool_call_counts_both_model_calls() -> None:
    agent = _adding_agent()
    with track_costs(price_overrides=PRICES) as costs:
        list(
            agent.stream(
                {"messages": [{"role": "user", "content": "2+2?"}]},
                stream_mode="messages",
            )
        )
    assert costs.totals.calls == 2


class _TwoChoices(BaseChatModel):
    """Like OpenAI with n=2: each choice carries the whole response's usage."""

    @property
    def _llm_type(self) -> str:
        return "two-choices"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        usage = {"input_tokens": 100, "output_tokens": 40, "total_tokens": 140}
        meta = {"model_name": "cheap-model"}
        return ChatResult(
            generations=[
                ChatGeneration(
                    message=AIMessage(
                        f"choice {i}", usage_metadata=usage, response_metadata=meta
                    )  # type: ignore[arg-type]
                )
                for i in range(2)
            ]
        )


def test_n_greater_than_one_is_one_call_billed_once() -> None:
    with track_costs(price_overrides=PRICES) as costs:
        _TwoChoices().invoke("q")
    assert (costs.totals.calls, costs.totals.output_tokens) == (1, 40)
    assert costs.total_cost == Decimal(180) / MILLION


class _LegacyBatchLLM(BaseLLM):
    """A completion model that bills a whole batch in one response, as OpenAI does."""

    @property
    def _llm_type(self) -> str:
        return "legacy-batch"

    def _generate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        return LLMResult(
            generations=[[Generation(text=f"answer {i}")] for i in range(len(prompts))],
            llm_output={
                "token_usage": {
                    "prompt_tokens": 10 * len(prompts),
                    "completion_tokens": 2 * len(prompts),
                    "total_tokens": 12 * len(prompts),
                },
                "model_name": "cheap-model",
            },
        )


def test_legacy_llm_batch_usage_is_not_topped_up_with_estimates() -> None:
    # LangChain gives the batch's whole token_usage to the first run and an
    # empty {} to the others "to avoid over-counting"; nothing is estimated.
    with track_costs(price_overrides=PRICES) as costs:
        _LegacyBatchLLM().batch(["one", "two", "three"])
    totals = costs.totals
    assert (totals.calls, totals.input_tokens, totals.output_tokens) == (3, 30, 6)
    assert totals.estimated_calls == 0
    assert costs.total_cost == Decimal(42) / MILLION


class _NoMessage(BaseChatModel):
    @property
    def _llm_type(self) -> str:
        return "no-message"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[])


def test_model_that_returns_no_message_is_estimated_not_a_handler_crash() -> None:
    handler = CostCallbackHandler(price_overrides=PRICES)
    with pytest.raises(IndexError):  # LangChain's own failure, not ours
        _NoMessage().invoke("Hi", config={"callbacks": [handler]})
    assert (handler.totals.calls, handler.totals.estimated_calls) == (1, 1)
    assert handler.totals.input_tokens == HI_TOKENS


# --------------------------------------------------------------- bad usage


@pytest.mark.parametrize(
    "usage",
    [
        ["not", "a", "mapping"],
        "12 tokens",
        {"input_tokens": 5, "output_tokens": 1, "input_token_details": "junk"},
        {"input_tokens": 5, "output_tokens": 1, "output_token_details": [1, 2]},
        {"input_tokens": "5", "output_tokens": 1},
        {"input_tokens": 5.0, "output_tokens": 1},
        {"input_tokens": True, "output_tokens": 1},
        {
            "input_tokens": 5,
            "output_tokens": 1,
            "input_token_details": {"cache_read": -1},
        },
        # More cached than sent: no provider reports that.
        {
            "input_tokens": 5,
            "output_tokens": 1,
            "input_token_details": {"cache_read": 50},
        },
    ],
)
def test_unusable_usage_is_invalid_and_estimated_from_text(
    usage: Any, caplog: pytest.LogCaptureFixture
) -> None:
    model = cheap(raw_reply("Hello there friend", usage))
    with caplog.at_level(logging.WARNING), track_costs(price_overrides=PRICES) as costs:
        assert model.invoke("Hi").content == "Hello there friend"
    totals = costs.totals
    assert (totals.calls, totals.invalid_calls, totals.estimated_calls) == (1, 1, 1)
    # "Hello there friend" is 3 tokens.
    assert (totals.input_tokens, totals.output_tokens) == (HI_TOKENS, 3)
    assert costs.total_cost == Decimal(HI_TOKENS + 2 * 3) / MILLION


def test_more_cached_than_input_on_a_tiered_model_does_not_break_reading() -> None:
    # gemini-2.5-pro has tiered prices, so genai-prices prices it, and
    # genai-prices raises on cache_read > input_tokens.
    bad = raw_reply(
        "x",
        {
            "input_tokens": 100,
            "output_tokens": 10,
            "total_tokens": 110,
            "input_token_details": {"cache_read": 500},
        },
    )
    good = scripted("y", 1_000, 100)
    model = FakeUsageChatModel(model_name="gemini-2.5-pro", responses=[bad, good])
    with track_costs() as costs:
        model.invoke("Hi")
        model.invoke("Hi")
    expected_good = calc_price(
        _genai_usage(TokenUsage(input_tokens=1_000, output_tokens=100)),
        "gemini-2.5-pro",
    ).total_price
    # "x" is one token; the bad call is estimated as 8 in, 1 out.
    expected_bad = calc_price(
        _genai_usage(TokenUsage(input_tokens=HI_TOKENS, output_tokens=1)),
        "gemini-2.5-pro",
    ).total_price
    assert costs.totals.calls == 2
    assert costs.totals.invalid_calls == 1
    assert costs.total_cost == expected_good + expected_bad


def test_a_pricing_error_loses_no_other_call(monkeypatch: pytest.MonkeyPatch) -> None:
    handler = CostCallbackHandler(price_overrides=PRICES)
    original = handler.prices.cost

    def flaky(model: str | None, usage: TokenUsage, **kwargs: Any) -> Decimal | None:
        if model == "strong-model":
            raise ArithmeticError("boom")
        return original(model, usage, **kwargs)

    monkeypatch.setattr(handler.prices, "cost", flaky)
    config: RunnableConfig = {"callbacks": [handler]}
    cheap(scripted("a", 100, 10)).invoke("q", config=config)
    FakeUsageChatModel(
        model_name="strong-model", responses=[scripted("b", 1, 1)]
    ).invoke("q", config=config)
    cheap(scripted("c", 100, 10)).invoke("q", config=config)
    assert handler.totals.calls == 3
    assert handler.total_cost == Decimal(240) / MILLION
    assert handler.totals.unpriced_calls == 1


# ------------------------------------------------------------------ savings


@pytest.mark.parametrize(
    "dollars",
    [Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"), Decimal("-Infinity")],
)
def test_non_finite_dollars_saved_is_ignored(dollars: Decimal) -> None:
    def save(text: str, config: RunnableConfig) -> str:
        report_saving({"technique": "memory", "dollars_saved": dollars}, config)
        report_saving({"technique": "memory", "dollars_saved": Decimal("0.25")}, config)
        return text

    with track_costs(price_overrides=PRICES) as costs:
        RunnableLambda(save).invoke("x")
    assert costs.savings["memory"].gross_saved == Decimal("0.25")
    assert costs.total_saved == Decimal("0.25")
    assert "0.25" in str(costs)


@pytest.mark.parametrize(
    "report",
    [
        {"technique": "compression", "tokens_saved": -5},
        {"technique": "compression", "tokens_saved": 2.5},
        {"technique": "compression", "tokens_saved": "100"},
        {"technique": "compression", "tokens_saved": True},
        {"technique": "compression", "dollars_saved": 0.5},
        {"technique": "telepathy", "tokens_saved": 5},
    ],
)
def test_malformed_saving_events_are_dropped(report: dict[str, Any]) -> None:
    def save(text: str, config: RunnableConfig) -> str:
        report_saving(report, config)  # type: ignore[arg-type]
        return text

    with track_costs(price_overrides=PRICES) as costs:
        (RunnableLambda(save) | cheap(scripted("ok", 100, 10))).invoke("x")
    assert costs.total_saved == 0
    assert costs.total_cost == Decimal(120) / MILLION


# ------------------------------------------------------------------- prices


def test_per_request_fee_is_billed_like_genai_prices_bills_it() -> None:
    # Perplexity sonar: $1 in, $1 out per 1M tokens and $12 per 1,000 requests.
    usage = TokenUsage(input_tokens=1_000, output_tokens=100)
    expected = calc_price(_genai_usage(usage), "sonar", provider_id="perplexity")
    assert expected.total_price == Decimal("0.0131")
    assert PriceTable().cost("sonar", usage, provider="perplexity") == Decimal("0.0131")


def test_time_of_day_prices_follow_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    import genai_prices.data_snapshot as snapshot_module

    clock = {"now": datetime(2026, 3, 2, 10, 0, tzinfo=UTC)}

    class FrozenDatetime(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> "FrozenDatetime":
            return clock["now"]  # type: ignore[return-value]

    monkeypatch.setattr(snapshot_module, "datetime", FrozenDatetime)
    prices._resolve.cache_clear()
    prices._flat_price.cache_clear()
    table = PriceTable()
    usage = TokenUsage(input_tokens=1_000, output_tokens=100)
    # deepseek-chat: $0.27 in / $1.10 out from 00:30 to 16:30 UTC, half after.
    assert table.cost("deepseek-chat", usage, provider="deepseek") == Decimal("0.00038")
    clock["now"] = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
    assert table.cost("deepseek-chat", usage, provider="deepseek") == Decimal("0.00019")
    prices._resolve.cache_clear()
    prices._flat_price.cache_clear()


def test_mixed_anthropic_cache_write_buckets() -> None:
    usage = TokenUsage.from_usage_metadata(
        {
            "input_tokens": 10_000,
            "output_tokens": 100,
            "total_tokens": 10_100,
            "input_token_details": {
                "cache_read": 1_000,
                "cache_creation": 3_000,
                "ephemeral_5m_input_tokens": 1_000,
                "ephemeral_1h_input_tokens": 2_000,
            },
        }
    )
    # 6,000 x $3 + 1,000 x $0.30 + 1,000 x $3.75 + 2,000 x $6 + 100 x $15 per 1M.
    cost = PriceTable().cost("claude-sonnet-4-5", usage, provider="anthropic")
    assert cost == Decimal("0.03555")


@pytest.mark.parametrize(
    "override",
    [
        {"input": float("nan"), "output": 1},
        {"input": float("inf"), "output": 1},
        {"input": Decimal("sNaN"), "output": 1},
        {"input": "1,5", "output": 1},
        {"input": True, "output": 1},
        {"input": [1], "output": 1},
    ],
)
def test_bad_override_values_are_rejected(override: dict[str, Any]) -> None:
    with pytest.raises((TypeError, ValueError)):
        PriceTable(overrides={"m": override})


def test_override_prices_with_decimal_strings_are_exact() -> None:
    table = PriceTable(
        overrides={"m": {"input": "0.15", "output": 0.6, "cache_read": "0.075"}}
    )
    usage = TokenUsage(input_tokens=1_001, cache_read_tokens=333, output_tokens=7)
    # 668 x 0.15 + 333 x 0.075 + 7 x 0.6 = 100.2 + 24.975 + 4.2 = 129.375 per 1M.
    assert table.cost("m", usage) == Decimal("0.000129375")


def test_unknown_model_streamed_and_cached_is_never_zero() -> None:
    model = FakeUsageChatModel(
        model_name="acme-llm-9000",
        responses=[scripted("x y", 10, 2)],
        cache=InMemoryCache(),
    )
    with track_costs() as costs:
        list(model.stream("a"))
        model.invoke("b")
        model.invoke("b")
    assert costs.total_cost is None
    assert costs.totals.unpriced_calls == 2
    assert costs.savings["cache"].unpriced_events == 1
    assert costs.savings["cache"].gross_saved == 0


# ----------------------------------------------------------------- memory


def test_long_lived_handler_does_not_keep_every_prompt() -> None:
    handler = CostCallbackHandler(price_overrides=PRICES)
    model = cheap(scripted("ok", 5, 1))
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(60):
            model.invoke("x" * 200_000 + str(i), config={"callbacks": [handler]})
        gc.collect()
        retained = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # 60 prompts of 200 kB would be 12 MB; the ledger needs a few hundred bytes
    # a call.
    assert retained < 2_000_000
    assert handler.totals.calls == 60


# ---------------------------------------------------------- token counting


def test_token_count_survives_copy_and_pickle() -> None:
    count = count_tokens("hello world", model="claude-sonnet-4-5")
    for clone in (
        copy.copy(count),
        copy.deepcopy(count),
        pickle.loads(pickle.dumps(count)),
    ):
        assert clone == 2
        assert clone.estimated
        assert clone.encoding == "o200k_base"


def _png(width: int, height: int) -> str:
    header = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR"
    header += struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return base64.b64encode(
        header + b"\x00" * 4 + zlib.compress(b"\x00" * 1_000)
    ).decode()


def _jpeg(width: int, height: int, app_padding: int = 0) -> str:
    # SOI, APP0 (JFIF), an optional large APP1, DQT, SOF0, EOI.
    data = b"\xff\xd8"
    data += (
        b"\xff\xe0"
        + struct.pack(">H", 16)
        + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    )
    if app_padding:
        data += b"\xff\xe1" + struct.pack(">H", app_padding + 2) + b"\x00" * app_padding
    data += b"\xff\xdb" + struct.pack(">H", 67) + b"\x00" * 65
    data += b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + b"\x00" * 9
    return base64.b64encode(data + b"\xff\xd9").decode()


def _image_message(data: str, mime: str = "png") -> HumanMessage:
    url = f"data:image/{mime};base64,{data}"
    return HumanMessage(content=[{"type": "image_url", "image_url": {"url": url}}])


def _image_tokens(message: HumanMessage, model: str) -> int:
    return int(count_tokens([message], model=model)) - int(
        count_tokens([HumanMessage("")], model=model)
    )


@pytest.mark.parametrize(("width", "height"), [(0, 0), (0, 300), (300, 0)])
def test_zero_sized_image_is_counted_as_unknown_not_a_crash(
    width: int, height: int
) -> None:
    message = _image_message(_png(width, height))
    assert _image_tokens(message, "gpt-4o") == 765
    assert _image_tokens(message, "claude-sonnet-4-5") == 1600


def test_jpeg_size_is_read_from_its_frame_header() -> None:
    # 2048x4096 -> fits 1024x2048 -> short side 768: 768x1536 -> 2x3 tiles = 1105.
    assert _image_tokens(_image_message(_jpeg(2048, 4096), "jpeg"), "gpt-4o") == 1105


def test_jpeg_with_a_large_exif_segment_is_still_measured() -> None:
    # A camera JPEG's APP1 (EXIF + thumbnail) can fill most of its 64 KiB.
    data = _jpeg(2048, 4096, app_padding=60_000)
    assert _image_tokens(_image_message(data, "jpeg"), "gpt-4o") == 1105


@pytest.mark.parametrize(
    ("width", "height", "expected"),
    [
        (200, 200, 54),  # 40,000 / 750 = 53.3
        (1092, 1092, 1590),  # Anthropic's own table: the 1:1 maximum
        (4000, 3000, 1600),  # resized by Anthropic to ~1.15 MP first
        (8000, 200, 82),  # long edge to 1568: 1568 x 39.2 / 750 = 81.95
    ],
)
def test_anthropic_images_are_resized_before_counting(
    width: int, height: int, expected: int
) -> None:
    message = HumanMessage(
        content=[
            {"type": "image", "source_type": "base64", "base64": _png(width, height)}
        ]
    )
    assert _image_tokens(message, "claude-sonnet-4-5") == expected


def test_gpt_4o_mini_image_rule() -> None:
    # 1024x1024 high detail: 4 tiles.
    assert (
        _image_tokens(_image_message(_png(1024, 1024)), "gpt-4o-mini")
        == 2833 + 4 * 5667
    )


def test_empty_inputs() -> None:
    assert count_tokens([], model="gpt-4o") == 0
    assert count_tokens([], model="gpt-4o", tools=[]) == 0
    assert count_tokens([HumanMessage(content=[])], model="gpt-4o") == 3 + 1 + 3


def _fresh_tiktoken(monkeypatch: pytest.MonkeyPatch, cache_dir: str) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", cache_dir)
    monkeypatch.setattr(_tiktoken_offline, "_seeded", set())
    for name in ("o200k_base", "o200k_harmony", "cl100k_base"):
        monkeypatch.delitem(tiktoken.registry.ENCODINGS, name, raising=False)
    tokens._encoding.cache_clear()


def test_gpt_oss_counts_offline_from_the_shipped_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # tiktoken maps gpt-oss to o200k_harmony, which loads o200k_base's file.
    _fresh_tiktoken(monkeypatch, str(tmp_path))
    try:
        assert count_tokens("hello world", model="gpt-oss-120b") == 2
    finally:
        tokens._encoding.cache_clear()


@pytest.mark.parametrize("read_only", [False, True])
def test_counting_offline_without_a_writable_cache(
    read_only: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache_dir = ""
    if read_only:
        # Unwritable even for root: a regular file stands where a directory
        # of the cache path should be.
        (tmp_path / "not-a-dir").write_bytes(b"")
        cache_dir = str(tmp_path / "not-a-dir" / "cache")
    _fresh_tiktoken(monkeypatch, cache_dir)
    try:
        assert count_tokens("hello world", model="gpt-4o") == 2
    finally:
        tokens._encoding.cache_clear()


def test_saving_seen_directly_and_forwarded_is_booked_once() -> None:
    def compress(text: str, config: RunnableConfig) -> str:
        report_saving(
            {"technique": "compression", "tokens_saved": 500, "model": "strong-model"},
            config,
        )
        return text

    with (
        track_costs(price_overrides=PRICES) as outer,
        track_costs(price_overrides=PRICES) as inner,
    ):
        RunnableLambda(compress).invoke("x", config={"callbacks": [outer]})
    # 500 tokens at strong-model's $10 per 1M.
    assert inner.savings["compression"].gross_saved == Decimal(5_000) / MILLION
    assert outer.savings["compression"].gross_saved == Decimal(5_000) / MILLION
    assert outer.savings["compression"].events == 1


class _DatedSnapshot(BaseChatModel):
    """Asked for `model_name`, answers as a dated snapshot, like OpenAI."""

    model_name: str = "gpt-4o"
    served_as: str = "gpt-4o-2024-08-06"

    @property
    def _llm_type(self) -> str:
        return "dated-snapshot"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        usage = {"input_tokens": 1_000, "output_tokens": 100, "total_tokens": 1_100}
        message = AIMessage(
            "ok",
            usage_metadata=usage,  # type: ignore[arg-type]
            response_metadata={"model_name": self.served_as},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])


def test_override_of_the_requested_model_applies_to_its_dated_snapshot() -> None:
    # The user negotiated $1 / $2 for "gpt-4o"; OpenAI answers as
    # "gpt-4o-2024-08-06". 1,000 x $1 + 100 x $2 per 1M.
    with track_costs(price_overrides={"gpt-4o": {"input": 1, "output": 2}}) as costs:
        _DatedSnapshot().invoke("q")
    assert costs.total_cost == Decimal(1_200) / MILLION


def test_override_of_an_azure_deployment_name_applies() -> None:
    with track_costs(price_overrides={"my-deploy": {"input": 1, "output": 2}}) as costs:
        _DatedSnapshot(model_name="my-deploy", served_as="gpt-4o-2024-11-20").invoke(
            "q"
        )
    assert costs.total_cost == Decimal(1_200) / MILLION


def test_streamed_call_without_usage_estimates_the_bound_tool_schemas() -> None:
    schema = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Look up today's weather for a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
    model = cheap(scripted("Hello there friend", 1, 1), stream_usage=False)
    with track_costs(price_overrides=PRICES) as costs:
        list(model.bind(tools=[schema]).stream("Hi"))
    tools_tokens = int(count_tokens("", model="cheap-model", tools=[schema]))
    assert tools_tokens > 20
    assert costs.totals.estimated_calls == 1
    assert costs.totals.input_tokens == HI_TOKENS + tools_tokens


def _webp_lossless(width: int, height: int) -> str:
    bits = (width - 1) | ((height - 1) << 14)
    chunk = b"VP8L" + struct.pack("<I", 5) + b"\x2f" + struct.pack("<I", bits)
    data = b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk
    return base64.b64encode(data + b"\x00" * 16).decode()


def _webp_extended(width: int, height: int) -> str:
    body = b"\x10\x00\x00\x00" + (width - 1).to_bytes(3, "little")
    body += (height - 1).to_bytes(3, "little")
    chunk = b"VP8X" + struct.pack("<I", len(body)) + body
    data = b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk
    return base64.b64encode(data + b"\x00" * 16).decode()


@pytest.mark.parametrize("make", [_webp_lossless, _webp_extended])
def test_lossless_and_extended_webp_sizes_are_read(make: Any) -> None:
    # 2048x4096 high detail: 2x3 tiles = 1105 (an unread size would be 765).
    assert _image_tokens(_image_message(make(2048, 4096), "webp"), "gpt-4o") == 1105


def test_jpeg_fill_bytes_and_standalone_markers_are_skipped() -> None:
    data = b"\xff\xd8" + b"\xff\xff\xff"  # fill bytes before a marker
    data += b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00" + b"\x00" * 9
    data += b"\xff\xd0"  # a standalone (length-less) marker
    data += b"\xff\xc2" + struct.pack(">HBHHB", 17, 8, 4096, 2048, 3) + b"\x00" * 9
    encoded = base64.b64encode(data + b"\xff\xd9").decode()
    assert _image_tokens(_image_message(encoded, "jpeg"), "gpt-4o") == 1105


class _EmptyTokenUsageChat(BaseChatModel):
    """An OpenAI-compatible server that sends `usage: {}` and nothing else."""

    @property
    def _llm_type(self) -> str:
        return "empty-token-usage"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        message = AIMessage(
            "Hello there friend", response_metadata={"model_name": "cheap-model"}
        )
        return ChatResult(
            generations=[ChatGeneration(message=message)],
            llm_output={"token_usage": {}, "model_name": "cheap-model"},
        )


def test_chat_model_with_empty_token_usage_is_estimated_not_free() -> None:
    with track_costs(price_overrides=PRICES) as costs:
        _EmptyTokenUsageChat().invoke("Hi")
    totals = costs.totals
    assert (totals.calls, totals.estimated_calls) == (1, 1)
    assert (totals.input_tokens, totals.output_tokens) == (HI_TOKENS, 3)


async def test_nested_blocks_under_gather_forward_exactly_once() -> None:
    model = cheap(scripted("x", 10, 1))

    async def task(n_calls: int) -> CostCallbackHandler:
        with track_costs(price_overrides=PRICES) as inner:
            await asyncio.gather(*(model.ainvoke(str(i)) for i in range(n_calls)))
            await model.abatch(["a", "b"])
        return inner

    with track_costs(price_overrides=PRICES) as outer:
        inners = await asyncio.gather(*(task(n) for n in (1, 3, 5)))
        await model.ainvoke("outer only")
    assert [inner.totals.calls for inner in inners] == [3, 5, 7]
    assert outer.totals.calls == 3 + 5 + 7 + 1
    # Each call: 10 x $1 + 1 x $2 per 1M.
    assert outer.total_cost == 16 * Decimal(12) / MILLION


def test_threads_each_in_their_own_block_forward_to_a_shared_outer() -> None:
    from concurrent.futures import ThreadPoolExecutor
    from contextvars import copy_context

    model = cheap(scripted("x", 10, 1))

    def work(n_calls: int) -> int:
        with track_costs(price_overrides=PRICES) as inner:
            model.batch([str(i) for i in range(n_calls)])
        return inner.totals.calls

    with track_costs(price_overrides=PRICES) as outer, ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(copy_context().run, work, n) for n in range(1, 9)]
        counts = [future.result() for future in futures]
    assert counts == list(range(1, 9))
    assert outer.totals.calls == sum(range(1, 9))


def test_tool_call_args_that_are_not_json_are_counted_not_a_crash() -> None:
    from datetime import date

    call = AIMessage(
        "",
        tool_calls=[{"name": "book", "args": {"day": date(2026, 1, 2)}, "id": "c1"}],
    )
    same_as_text = AIMessage(
        "", tool_calls=[{"name": "book", "args": {"day": "2026-01-02"}, "id": "c1"}]
    )
    assert count_tokens([call], model="gpt-4o") == count_tokens(
        [same_as_text], model="gpt-4o"
    )


def test_override_written_with_a_provider_prefix_prices_the_reported_name() -> None:
    model = FakeUsageChatModel(
        model_name="gpt-4o", responses=[scripted("ok", 1_000, 100)]
    )
    with track_costs(
        price_overrides={"openai:gpt-4o": {"input": 1, "output": 2}}
    ) as costs:
        model.invoke("q")
    # 1,000 x $1 + 100 x $2 per 1M, not genai-prices' $2.50 / $10.
    assert costs.total_cost == Decimal(1_200) / MILLION


def test_ambiguous_prefixed_overrides_do_not_guess() -> None:
    table = PriceTable(
        overrides={
            "openai/gpt-4o": {"input": 1, "output": 2},
            "azure/gpt-4o": {"input": 3, "output": 4},
        }
    )
    usage = TokenUsage(input_tokens=1_000, output_tokens=100)
    assert table.cost("azure/gpt-4o", usage) == Decimal(3_400) / MILLION
    # The bare name falls back to genai-prices: $2.50 / $10 per 1M.
    assert table.cost("gpt-4o", usage, provider="openai") == Decimal("0.0035")


def test_a_run_served_entirely_from_cache_cost_zero_not_unpriced() -> None:
    model = cheap(scripted("same", 1_000, 100), cache=InMemoryCache())
    model.invoke("q")  # warm the cache, untracked
    with track_costs(price_overrides=PRICES) as costs:
        model.invoke("q")
    assert costs.totals.cache_hits == 1
    assert costs.total_cost == 0
    assert costs.by_model["cheap-model"].cost == 0
    assert "unpriced" not in str(costs)
    assert costs.savings["cache"].gross_saved == Decimal(1_200) / MILLION


def test_optional_override_price_given_as_none_is_not_given() -> None:
    table = PriceTable(
        overrides={
            "m": {"input": 2, "output": 4, "cache_read": None, "cache_write": None}
        }
    )
    usage = TokenUsage(input_tokens=2_000, cache_read_tokens=1_500, output_tokens=300)
    # No discount stated: 2,000 x $2 + 300 x $4 = $5,200 per 1M.
    assert table.cost("m", usage) == Decimal("0.0052")
    with pytest.raises(TypeError, match="'m'"):
        PriceTable(overrides={"m": {"input": None, "output": 4}})


def _real_png(width: int, height: int) -> str:
    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey
    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
    data += chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    return base64.b64encode(data).decode()


def test_a_complete_png_is_measured_by_the_tile_rule() -> None:
    # 3000x1000 -> fits 2048x682.7; short side under 768 is not enlarged:
    # 4 x 2 tiles -> 85 + 8 x 170 = 1445.
    assert _image_tokens(_image_message(_real_png(3000, 1000)), "gpt-4o") == 1445
    # detail "low" is a flat 85 whatever the size.
    low = HumanMessage(
        content=[
            {
                "type": "image_url",
                "image_url": {
                    "url": "data:image/png;base64," + _real_png(3000, 1000),
                    "detail": "low",
                },
            }
        ]
    )
    assert _image_tokens(low, "gpt-4o") == 85


def test_unknown_model_warns_once_across_track_costs_blocks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    model = FakeUsageChatModel(
        model_name="acme-adversarial-9001", responses=[scripted("x", 10, 1)]
    )
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            with track_costs() as costs:
                model.invoke("q")
            assert costs.total_cost is None
    assert sum("acme-adversarial-9001" in r.getMessage() for r in caplog.records) == 1


def test_a_run_id_reused_by_the_caller_is_counted_each_time() -> None:
    from uuid import uuid4

    run_id = uuid4()
    model = cheap(scripted("x", 100, 10))
    handler = CostCallbackHandler(price_overrides=PRICES)
    with track_costs(price_overrides=PRICES) as outer:
        for _ in range(2):
            with track_costs(price_overrides=PRICES):
                model.invoke("q", config={"callbacks": [handler], "run_id": run_id})
    assert handler.totals.calls == 2
    assert outer.totals.calls == 2


class _DropsAfterFirstChunk(BaseChatModel):
    """Sends OpenAI's empty role-only first chunk, then the connection drops."""

    @property
    def _llm_type(self) -> str:
        return "drops"

    def _generate(self, *args: Any, **kwargs: Any) -> ChatResult:
        raise NotImplementedError

    def _stream(self, *args: Any, **kwargs: Any) -> Any:
        from langchain_core.messages import AIMessageChunk
        from langchain_core.outputs import ChatGenerationChunk

        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="", response_metadata={"model_name": "cheap-model"}
            )
        )
        raise ConnectionError("reset by peer")


def test_stream_dropped_after_an_empty_first_chunk_bills_the_prompt() -> None:
    with (
        track_costs(price_overrides=PRICES) as costs,
        pytest.raises(ConnectionError),
    ):
        list(_DropsAfterFirstChunk().stream("Hi"))
    totals = costs.totals
    assert (totals.calls, totals.estimated_calls) == (1, 1)
    assert (totals.input_tokens, totals.output_tokens) == (HI_TOKENS, 0)
    assert costs.total_cost == Decimal(HI_TOKENS) / MILLION
