"""Shared doubles for the cost-ledger tests: round prices and scripted usage."""

from decimal import Decimal
from typing import Any

from langchain_core.messages import AIMessage

from langchain_finops.testing import FakeUsageChatModel

MILLION = Decimal(1_000_000)
# Round prices make every expected cost easy to check by hand.
PRICES = {
    "cheap-model": {"input": 1, "output": 2},
    "strong-model": {"input": 10, "output": 30},
}


def scripted(
    text: str, input_tokens: int, output_tokens: int, cached: int = 0, **extra: Any
) -> AIMessage:
    """A reply that reports exactly this usage (`extra` adds usage keys)."""
    usage: dict[str, Any] = {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
        **extra,
    }
    if cached:
        usage["input_token_details"] = {"cache_read": cached}
    return AIMessage(content=text, usage_metadata=usage)  # type: ignore[arg-type]


def cheap(*replies: AIMessage, **kwargs: Any) -> FakeUsageChatModel:
    """The "cheap-model" fake, replying with `replies` in turn."""
    return FakeUsageChatModel(
        model_name="cheap-model", responses=list(replies), **kwargs
    )
