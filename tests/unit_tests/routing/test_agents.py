from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain.agents.middleware import ModelChoice, ModelRouterMiddleware
from langchain_core.decisions import Choice, Noul
from langchain_core.messages import AIMessage, HumanMessage

from langchain_finops.costs.handler import CostCallbackHandler
from langchain_finops.routing import CostRouterMiddleware, RoutingDecisionModel
from langchain_finops.testing import FakeUsageChatModel
from tests.unit_tests.routing.conftest import KeywordClassifier

# LangChain's ModelRouterMiddleware is beta and says so on construction.
pytestmark = pytest.mark.filterwarnings(
    "ignore::langchain_core._api.beta_decorator.LangChainBetaWarning"
)

PRICES = {
    "gpt-4o-mini": {"input": 1.0, "output": 2.0},
    "gpt-4o": {"input": 10.0, "output": 30.0},
}


def _models() -> tuple[FakeUsageChatModel, FakeUsageChatModel]:
    return (
        FakeUsageChatModel(model_name="gpt-4o-mini", responses=["cheap reply"]),
        FakeUsageChatModel(model_name="gpt-4o", responses=["strong reply"]),
    )


def _classifier() -> KeywordClassifier:
    return KeywordClassifier({"prove": 0.9, "hi": 0.1}, fallback_words=("weird",))


def _last_ai(result: dict[str, Any]) -> AIMessage:
    message = result["messages"][-1]
    assert isinstance(message, AIMessage)
    return message


# ----- as a BaseDecisionModel for LangChain's ModelRouterMiddleware ---------


def _langchain_agent() -> Any:
    cheap, strong = _models()
    middleware = ModelRouterMiddleware(
        choices={
            "fast": ModelChoice(model=cheap, criteria="simple requests"),
            "powerful": ModelChoice(model=strong, criteria="hard requests"),
        },
        instructions="Pick the cheapest model that can answer.",
        classifier=RoutingDecisionModel(classifier=_classifier(), thresholds=(0.5,)),
    )
    return create_agent(cheap, middleware=[middleware])


def test_decision_model_drives_model_router_middleware() -> None:
    agent = _langchain_agent()
    easy = agent.invoke({"messages": [HumanMessage("hi")]})
    assert _last_ai(easy).content == "cheap reply"
    assert easy["model_route"].choice == "fast"
    assert easy["model_route"].probabilities == {
        "fast": pytest.approx(0.9),
        "powerful": pytest.approx(0.1),
    }
    hard = agent.invoke({"messages": [HumanMessage("prove it")]})
    assert _last_ai(hard).content == "strong reply"
    assert hard["model_route"].choice == "powerful"
    assert hard["model_route"].confidence == pytest.approx(0.9)


async def test_decision_model_async_agent_matches_sync() -> None:
    agent = _langchain_agent()
    for prompt in ["hi", "prove it", "weird"]:
        sync = agent.invoke({"messages": [HumanMessage(prompt)]})
        other = await agent.ainvoke({"messages": [HumanMessage(prompt)]})
        assert _last_ai(sync).content == _last_ai(other).content
        assert sync["model_route"] == other["model_route"]


def test_decision_model_answers_nouls_and_falls_back_to_the_last_choice() -> None:
    model = RoutingDecisionModel(classifier=_classifier())
    questions = {
        "hard": Noul(instructions="Does this need the strong model?"),
        "route": Choice(instructions="Which?", criteria={"a": "cheap", "b": "strong"}),
    }
    response = model.invoke({"state": "prove it", "questions": questions})
    assert response.nouls["hard"].noul == pytest.approx(0.9)
    assert response.choices["route"].choice == "b"
    fallback = model.invoke({"state": [HumanMessage("weird")], "questions": questions})
    assert fallback.choices["route"].choice == "b"
    three = Choice(instructions="Which?", criteria={"a": 1, "b": 2, "c": 3})
    with pytest.raises(ValueError, match="3 choices need `thresholds`"):
        model.invoke({"state": "hi", "questions": {"q": three}})


# ----- as this package's CostRouterMiddleware -------------------------------


def _cost_agent(**kwargs: Any) -> Any:
    cheap, strong = _models()
    middleware = CostRouterMiddleware(
        cheap=cheap, strong=strong, classifier=_classifier(), threshold=0.5, **kwargs
    )
    return create_agent(cheap, middleware=[middleware])


def test_cost_router_middleware_routes_and_books_the_saving() -> None:
    agent = _cost_agent()
    handler = CostCallbackHandler(price_overrides=PRICES)
    easy = agent.invoke({"messages": [HumanMessage("hi")]}, {"callbacks": [handler]})
    reply = _last_ai(easy)
    assert reply.content == "cheap reply"
    assert reply.response_metadata["finops_routing"]["tier"] == "gpt-4o-mini"
    assert easy["finops_route"] == {
        "score": 0.1,
        "label": "cheap",
        "fallback_reason": None,
    }
    usage = reply.usage_metadata
    assert usage is not None
    saving = (
        Decimal(9) * usage["input_tokens"] + Decimal(28) * usage["output_tokens"]
    ) / Decimal(1_000_000)
    assert handler.savings["routing"].gross_saved == saving
    assert handler.savings["routing"].events == 1
    hard = agent.invoke(
        {"messages": [HumanMessage("prove it")]}, {"callbacks": [handler]}
    )
    assert _last_ai(hard).content == "strong reply"
    assert handler.savings["routing"].gross_saved == saving  # strong saved nothing


async def test_cost_router_middleware_async_matches_sync() -> None:
    agent = _cost_agent()
    for prompt in ["hi", "prove it", "weird"]:
        sync = agent.invoke({"messages": [HumanMessage(prompt)]})
        other = await agent.ainvoke({"messages": [HumanMessage(prompt)]})
        assert _last_ai(sync).content == _last_ai(other).content
        assert (
            _last_ai(sync).response_metadata["finops_routing"]
            == _last_ai(other).response_metadata["finops_routing"]
        )


def test_cost_router_middleware_falls_back_to_the_next_tier() -> None:
    cheap = FakeUsageChatModel(
        model_name="gpt-4o-mini", fail_with=lambda m: ConnectionError("reset")
    )
    strong = FakeUsageChatModel(model_name="gpt-4o", responses=["strong reply"])
    middleware = CostRouterMiddleware(
        cheap=cheap, strong=strong, classifier=_classifier(), threshold=0.5
    )
    agent = create_agent(cheap, middleware=[middleware])
    reply = _last_ai(agent.invoke({"messages": [HumanMessage("hi")]}))
    assert reply.content == "strong reply"
    assert reply.response_metadata["finops_routing"]["answered_by"] == 1


def test_cost_router_middleware_sticky_by_thread() -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    cheap, strong = _models()
    middleware = CostRouterMiddleware(
        cheap=cheap,
        strong=strong,
        classifier=_classifier(),
        threshold=0.5,
        sticky_sessions=True,
    )
    agent = create_agent(cheap, middleware=[middleware], checkpointer=InMemorySaver())
    one = {"configurable": {"thread_id": "t1"}}
    two = {"configurable": {"thread_id": "t2"}}
    assert _last_ai(
        agent.invoke({"messages": [HumanMessage("prove it")]}, one)
    ).content == ("strong reply")
    follow_up = _last_ai(agent.invoke({"messages": [HumanMessage("hi")]}, one))
    assert follow_up.content == "strong reply"
    assert follow_up.response_metadata["finops_routing"]["reason"].startswith(
        "sticky session: 't1'"
    )
    assert _last_ai(agent.invoke({"messages": [HumanMessage("hi")]}, two)).content == (
        "cheap reply"
    )
