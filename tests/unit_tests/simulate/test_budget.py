from decimal import Decimal

import pytest
from langchain_core.messages import HumanMessage

from langchain_finops.costs import PriceTable
from langchain_finops.simulate.budget import SpendCap, SpendCapReached
from langchain_finops.testing import FakeUsageChatModel


def test_stops_before_the_call_that_could_pass_the_cap() -> None:
    # gpt-4o lists at $2.50 per million input and $10 per million output.
    # A call of [Human("Hello")] is 8 input tokens (3 framing + role + 1 +
    # 3 priming); its reply "OK" is 1 token: it costs 8 * 2.5e-6 + 1e-5 =
    # $0.00003. Its worst case, with up to 100 output tokens, is
    # 8 * 2.5e-6 + 100 * 1e-5 = $0.00102. Under a $0.0025 cap the 50th call
    # starts at $0.00147 spent (0.00147 + 0.00102 = 0.00249 <= 0.0025) and
    # the 51st at $0.00150 (0.00252 > 0.0025) is refused.
    prices = PriceTable(overrides={"gpt-4o": {"input": 2.5, "output": 10}})
    cap = SpendCap(max_spend=Decimal("0.0025"), max_output_tokens=100, prices=prices)
    model = FakeUsageChatModel(model_name="gpt-4o", responses=["OK"])
    assert cap.worst_case("gpt-4o", 8) == Decimal("0.00102")
    for _ in range(50):
        model.invoke([HumanMessage("Hello")], config={"callbacks": [cap]})
    with pytest.raises(SpendCapReached, match="Stopped before a call to gpt-4o"):
        model.invoke([HumanMessage("Hello")], config={"callbacks": [cap]})
    assert cap.calls == 50
    assert cap.spent == Decimal("0.00150")
    assert cap.spent <= cap.max_spend


def test_unpriced_model_cannot_run_under_a_cap() -> None:
    cap = SpendCap(max_spend=Decimal(1), max_output_tokens=10)
    model = FakeUsageChatModel(model_name="my-private-model")
    with pytest.raises(SpendCapReached, match="has no price"):
        model.invoke("hi", config={"callbacks": [cap]})
    assert cap.spent == 0


def test_failed_calls_release_their_reservation() -> None:
    cap = SpendCap(max_spend=Decimal("0.01"), max_output_tokens=10)
    model = FakeUsageChatModel(
        model_name="gpt-4o", fail_with=lambda messages: TimeoutError("provider down")
    )
    with pytest.raises(TimeoutError):
        model.invoke("hi", config={"callbacks": [cap]})
    assert cap.spent == 0
    assert cap._reserved == {}


def test_cache_hits_cost_nothing() -> None:
    from langchain_core.caches import InMemoryCache

    cap = SpendCap(max_spend=Decimal(1), max_output_tokens=10)
    model = FakeUsageChatModel(
        model_name="gpt-4o", responses=["OK"], cache=InMemoryCache()
    )
    model.invoke("Hello", config={"callbacks": [cap]})
    spent_once = cap.spent
    model.invoke("Hello", config={"callbacks": [cap]})
    assert spent_once > 0
    assert cap.spent == spent_once


def test_invalid_caps_are_refused() -> None:
    with pytest.raises(ValueError, match="`max_spend` is -1"):
        SpendCap(max_spend=Decimal(-1), max_output_tokens=10)
    with pytest.raises(ValueError, match="`max_output_tokens` is 0"):
        SpendCap(max_spend=Decimal(1), max_output_tokens=0)
