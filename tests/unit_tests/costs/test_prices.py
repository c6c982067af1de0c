import logging
from decimal import Decimal

import pytest

from langchain_finops.costs.prices import PriceTable, TokenUsage

# gpt-4o list prices as genai-prices ships them: $2.50 input, $1.25 cached
# input, $10 output, per million tokens.
GPT_4O_CALL = TokenUsage(input_tokens=2_000, cache_read_tokens=1_500, output_tokens=300)


def test_gpt_4o_call_costs_what_openai_bills() -> None:
    # 500 uncached x $2.50 + 1,500 cached x $1.25 + 300 output x $10, per 1M.
    expected = (
        Decimal(500) * Decimal("2.50")
        + Decimal(1_500) * Decimal("1.25")
        + Decimal(300) * Decimal(10)
    ) / Decimal(1_000_000)
    assert expected == Decimal("0.006125")
    assert PriceTable().cost("gpt-4o", GPT_4O_CALL) == expected


def test_gpt_4o_call_with_overridden_prices() -> None:
    table = PriceTable(
        overrides={"gpt-4o": {"input": 5, "output": "15", "cache_read": 0.5}}
    )
    # 500 x $5 + 1,500 x $0.50 + 300 x $15 = $7,750 per 1M calls = $0.00775.
    assert table.cost("gpt-4o", GPT_4O_CALL) == Decimal("0.00775")


def test_override_without_cache_price_bills_cached_tokens_at_input_rate() -> None:
    table = PriceTable(overrides={"in-house": {"input": 2, "output": 4}})
    # No cache discount stated: 2,000 x $2 + 300 x $4 = $5,200 per 1M.
    assert table.cost("in-house", GPT_4O_CALL) == Decimal("0.0052")


def test_provider_prefixed_name_finds_the_model() -> None:
    assert PriceTable().cost("openai:gpt-4o", GPT_4O_CALL) == Decimal("0.006125")


def test_anthropic_cache_writes_in_the_1h_bucket_only_are_priced_as_writes() -> None:
    usage = TokenUsage.from_usage_metadata(
        {
            "input_tokens": 10_000,
            "output_tokens": 100,
            "total_tokens": 10_100,
            "input_token_details": {
                "cache_creation": 0,
                "ephemeral_1h_input_tokens": 2_000,
            },
        }
    )
    assert usage.cache_write_tokens == 2_000
    # claude-sonnet-4-5: $3 input, $6 1-hour cache write, $15 output per 1M.
    # 8,000 x $3 + 2,000 x $6 + 100 x $15 = $37,500 per 1M.
    cost = PriceTable().cost("claude-sonnet-4-5", usage, provider="anthropic")
    assert cost == Decimal("0.0375")


def test_anthropic_5m_cache_writes_use_the_5m_rate() -> None:
    usage = TokenUsage.from_usage_metadata(
        {
            "input_tokens": 10_000,
            "output_tokens": 100,
            "total_tokens": 10_100,
            "input_token_details": {"ephemeral_5m_input_tokens": 2_000},
        }
    )
    # 8,000 x $3 + 2,000 x $3.75 + 100 x $15 = $33,000 per 1M.
    cost = PriceTable().cost("claude-sonnet-4-5", usage, provider="anthropic")
    assert cost == Decimal("0.033")


def test_unknown_model_is_unpriced_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    table = PriceTable()
    with caplog.at_level(logging.WARNING, logger="langchain_finops.costs.prices"):
        assert table.cost("acme-llm-prices", GPT_4O_CALL) is None
        assert table.cost("acme-llm-prices", GPT_4O_CALL) is None
    warnings = [r for r in caplog.records if "acme-llm-prices" in r.getMessage()]
    assert len(warnings) == 1
    assert "price_overrides" in warnings[0].getMessage()


@pytest.mark.parametrize(
    ("overrides", "error", "fragment"),
    [
        ({"m": {"input": 1}}, ValueError, "lacks ['output']"),
        ({"m": {"input": 1, "output": 2, "prompt": 3}}, ValueError, "unknown keys"),
        ({"m": {"input": -1, "output": 2}}, ValueError, "must be >= 0"),
        ({"m": {"input": "cheap", "output": 2}}, ValueError, "not a number"),
        ({"m": {"input": None, "output": 2}}, TypeError, "USD per million"),
        ({"m": 2.5}, TypeError, "give a mapping"),
    ],
)
def test_bad_overrides_say_what_is_wrong(
    overrides: dict[str, object], error: type[Exception], fragment: str
) -> None:
    with pytest.raises(error, match="'m'") as raised:
        PriceTable(overrides=overrides)  # type: ignore[arg-type]
    assert fragment in str(raised.value)


@pytest.mark.parametrize(
    ("usage", "fragment"),
    [
        ({"output_tokens": 3}, "no `input_tokens`"),
        ({"input_tokens": None, "output_tokens": 3}, "no `input_tokens`"),
        ({"input_tokens": -5, "output_tokens": 3}, "negative"),
        ({"input_tokens": 2.5, "output_tokens": 3}, "not a whole number"),
    ],
)
def test_bad_usage_metadata_is_rejected(
    usage: dict[str, object], fragment: str
) -> None:
    with pytest.raises(ValueError, match=fragment):
        TokenUsage.from_usage_metadata(usage)


@pytest.mark.parametrize("model", ["gpt-4o", "gpt-4o-mini", "o3-mini", "gpt-4.1"])
@pytest.mark.parametrize(
    "usage",
    [
        TokenUsage(input_tokens=1, output_tokens=0),
        TokenUsage(input_tokens=123_457, cache_read_tokens=99_999, output_tokens=7),
        TokenUsage(input_tokens=10, output_tokens=5_000, reasoning_tokens=4_000),
    ],
)
def test_flat_price_shortcut_agrees_with_genai_prices(
    model: str, usage: TokenUsage
) -> None:
    from genai_prices import calc_price

    from langchain_finops.costs.prices import _genai_usage

    expected = calc_price(_genai_usage(usage), model, provider_id="openai").total_price
    assert PriceTable().cost(model, usage, provider="openai") == expected
