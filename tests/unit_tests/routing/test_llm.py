from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from langchain_core.messages import AIMessage
from langchain_core.runnables import Runnable, RunnableLambda

from langchain_finops.costs.handler import CostCallbackHandler
from langchain_finops.routing import LLMClassifier, create_model_router, parse_label
from langchain_finops.routing.llm import RouteLabel
from langchain_finops.testing import FakeUsageChatModel

LABELS = {"cheap": 0.0, "strong": 1.0}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("strong", "strong"),
        ("Strong", "strong"),
        ("  CHEAP \n", "cheap"),
        ("`strong`", "strong"),
        ('"cheap"', "cheap"),
        ("strong.", "strong"),
        ('{"label": "Strong"}', "strong"),
        ('{"route": " cheap "}', "cheap"),
        ('```json\n{"label": "cheap"}\n```', "cheap"),
        ("```\nstrong\n```", "strong"),
        ('["strong"]', "strong"),
        ("medium", None),
        ("", None),
        ("I think strong", None),
        ('{"label": 3}', None),
        ("{not json", None),
    ],
)
def test_parse_label_is_lenient_about_wrapping_only(
    raw: str, expected: str | None
) -> None:
    assert parse_label(raw, LABELS) == expected


def _classifier(reply: str, **kwargs: Any) -> LLMClassifier:
    model = FakeUsageChatModel(model_name="gpt-4o-mini", responses=[reply])
    return LLMClassifier(model=model, **kwargs)


def test_known_labels_map_to_their_scores() -> None:
    assert _classifier('{"label": "STRONG"}').classify("x").score == 1.0
    decision = _classifier("cheap").classify("x")
    assert (decision.score, decision.label, decision.fallback_reason) == (
        0.0,
        "cheap",
        None,
    )


def test_unknown_label_goes_strong_quoting_the_reply() -> None:
    decision = _classifier("medium, probably").classify("x")
    assert decision.score == 1.0
    assert decision.label == "unknown"
    assert (
        decision.fallback_reason
        == "unknown label in classifier reply 'medium, probably'"
    )


def test_strict_raises_quoting_the_reply() -> None:
    with pytest.raises(ValueError, match=r"replied 'medium, probably'"):
        _classifier("medium, probably", strict=True).classify("x")


def test_custom_labels_and_the_prompt_sent() -> None:
    seen: list[Any] = []

    def remember(messages: Any) -> None:
        seen.append(messages)

    model = FakeUsageChatModel(
        model_name="gpt-4o-mini", responses=["Hard"], fail_with=lambda m: remember(m)
    )
    classifier = LLMClassifier(model=model, labels={"easy": 0.0, "hard": 0.8})
    assert classifier.classify("prove it").score == 0.8
    system, human = seen[0]
    assert '{"label": "<one of: easy, hard>"}' in system.content
    assert human.content == "prove it"


class StructuredFake(FakeUsageChatModel):
    parsed_label: str = "STRONG"

    def with_structured_output(self, schema: Any, **kwargs: Any) -> Runnable[Any, Any]:
        assert schema is RouteLabel
        assert kwargs == {"include_raw": True}

        def reply(messages: Any) -> dict[str, Any]:
            raw = self.invoke(messages)
            return {
                "raw": raw,
                "parsed": RouteLabel(label=self.parsed_label),
                "parsing_error": None,
            }

        return RunnableLambda(reply)


def test_structured_output_is_used_when_the_model_has_it() -> None:
    model = StructuredFake(model_name="gpt-4o-mini", responses=["ignored text"])
    decision = LLMClassifier(model=model).classify("x")
    assert (decision.label, decision.score) == ("strong", 1.0)


def test_structured_output_with_an_unknown_label_falls_back_to_the_raw_text() -> None:
    model = StructuredFake(
        model_name="gpt-4o-mini", responses=["cheap"], parsed_label="??"
    )
    assert LLMClassifier(model=model).classify("x").label == "cheap"


async def test_async_matches_sync() -> None:
    classifier = _classifier('```json\n{"label": "cheap"}\n```')
    assert await classifier.aclassify("x") == classifier.classify("x")


def test_its_calls_count_against_routing_in_the_ledger() -> None:
    prices = {
        "gpt-4o-mini": {"input": 1.0, "output": 2.0},
        "gpt-4o": {"input": 10.0, "output": 30.0},
        "gpt-4.1-nano": {"input": 0.5, "output": 1.0},
    }
    judge = FakeUsageChatModel(model_name="gpt-4.1-nano", responses=["cheap"])
    router = create_model_router(
        cheap=FakeUsageChatModel(model_name="gpt-4o-mini", responses=["cheap reply"]),
        strong=FakeUsageChatModel(model_name="gpt-4o", responses=["strong"]),
        classifier=LLMClassifier(model=judge),
        threshold=0.5,
    )
    handler = CostCallbackHandler(price_overrides=prices)
    reply = router.invoke("hi", {"callbacks": [handler]})
    assert reply.content == "cheap reply"
    judge_usage = handler.by_model["gpt-4.1-nano"]
    overhead = (
        Decimal("0.5") * judge_usage.input_tokens
        + Decimal(1) * judge_usage.output_tokens
    ) / Decimal(1_000_000)
    routing = handler.savings["routing"]
    assert routing.overhead_calls == 1
    assert routing.overhead_cost == overhead
    # 8 input and 2 output tokens on the cheap tier instead of the strong one:
    assert routing.gross_saved == (Decimal(9) * 8 + Decimal(28) * 2) / Decimal(
        1_000_000
    )
    assert routing.net_saved == routing.gross_saved - overhead


def test_label_scores_are_validated() -> None:
    with pytest.raises(ValueError, match="scores lie in"):
        _classifier("x", labels={"cheap": -1.0})
    with pytest.raises(ValueError, match="at least one label"):
        _classifier("x", labels={})


def test_reply_messages_are_read_as_text() -> None:
    model = FakeUsageChatModel(
        model_name="gpt-4o-mini",
        responses=[AIMessage(content=[{"type": "text", "text": "strong"}])],
    )
    assert LLMClassifier(model=model).classify("x").label == "strong"
