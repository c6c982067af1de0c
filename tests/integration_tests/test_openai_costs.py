"""Real OpenAI calls, run only when OPENAI_API_KEY is set.

They check that what the handler bills matches the usage OpenAI itself
reported, for a plain call and a streamed one.
"""

import os
from decimal import Decimal

import pytest

from langchain_finops.costs import PriceTable, TokenUsage, track_costs

pytestmark = [
    pytest.mark.enable_socket,
    pytest.mark.skipif(
        not os.environ.get("OPENAI_API_KEY"), reason="needs OPENAI_API_KEY"
    ),
]


def test_real_call_is_billed_at_its_reported_usage() -> None:
    from langchain_openai import ChatOpenAI

    model = ChatOpenAI(model="gpt-4o-mini", max_tokens=20)
    with track_costs() as costs:
        reply = model.invoke("Say hello in one word.")
    assert reply.usage_metadata is not None
    expected = PriceTable().cost(
        "gpt-4o-mini", TokenUsage.from_usage_metadata(reply.usage_metadata)
    )
    assert costs.total_cost == expected
    assert isinstance(expected, Decimal)


def test_real_stream_reports_usage_once() -> None:
    from langchain_openai import ChatOpenAI

    model = ChatOpenAI(model="gpt-4o-mini", max_tokens=20, stream_usage=True)
    with track_costs() as costs:
        chunks = list(model.stream("Count to three."))
    assert chunks
    assert costs.totals.calls == 1
    assert costs.totals.estimated_calls == 0
