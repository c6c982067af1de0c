from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    HumanMessage,
    SystemMessage,
)
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda

from langchain_finops.costs.handler import CostCallbackHandler
from langchain_finops.costs.tokens import count_tokens
from langchain_finops.routing import (
    LearnedComplexityClassifier,
    ModelRouter,
    RoutingClassifier,
    RoutingDecision,
    create_model_router,
)
from langchain_finops.testing import FakeUsageChatModel
from tests.unit_tests.routing.conftest import KeywordClassifier

PRICES = {
    "gpt-4o-mini": {"input": 1.0, "output": 2.0},
    "gpt-4o": {"input": 10.0, "output": 30.0},
    "gpt-4.1": {"input": 100.0, "output": 300.0},
}


def _models() -> tuple[FakeUsageChatModel, FakeUsageChatModel]:
    cheap = FakeUsageChatModel(model_name="gpt-4o-mini", responses=["cheap reply"])
    strong = FakeUsageChatModel(model_name="gpt-4o", responses=["strong reply here"])
    return cheap, strong


def _router(**kwargs: Any) -> ModelRouter:
    cheap, strong = _models()
    classifier = KeywordClassifier({"prove": 0.9, "explain": 0.5, "hi": 0.1})
    return create_model_router(
        cheap=cheap, strong=strong, classifier=classifier, **kwargs
    )


def _prompt_value() -> Any:
    return ChatPromptTemplate.from_messages([("human", "{q}")]).invoke(
        {"q": "prove it"}
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("hi", "cheap reply"),
        ("prove it", "strong reply here"),
        ([HumanMessage("hi")], "cheap reply"),
        ([SystemMessage("prove everything"), HumanMessage("hi")], "cheap reply"),
        ([("human", "prove it")], "strong reply here"),
        (_prompt_value(), "strong reply here"),
    ],
)
def test_routes_strings_messages_and_prompt_values(value: Any, expected: str) -> None:
    router = _router(threshold=0.5)
    reply = router.invoke(value)
    assert isinstance(reply, AIMessage)
    assert reply.content == expected


def test_decision_is_in_the_reply_metadata() -> None:
    router = _router(threshold=0.5)
    reply = router.invoke("hi")
    assert reply.response_metadata["finops_routing"] == {
        "tier": "gpt-4o-mini",
        "tier_index": 0,
        "score": 0.1,
        "label": "cheap",
        "reason": "score",
    }
    assert reply.response_metadata["model_name"] == "gpt-4o-mini"
    # A score equal to the threshold goes up.
    assert router.invoke("explain").content == "strong reply here"
    assert router.classifier is router.classifier  # exposed
    assert isinstance(router.classifier, KeywordClassifier)


def test_classifier_runs_once_per_call() -> None:
    router = _router(threshold=0.5)
    router.invoke("hi")
    assert router.classifier.seen == ["hi"]  # type: ignore[attr-defined]


def test_three_tiers_with_thresholds() -> None:
    tiers = [
        FakeUsageChatModel(model_name="gpt-4o-mini", responses=["t0"]),
        FakeUsageChatModel(model_name="gpt-4o", responses=["t1"]),
        FakeUsageChatModel(model_name="gpt-4.1", responses=["t2"]),
    ]
    router = create_model_router(
        tiers,
        classifier=KeywordClassifier({"hi": 0.1, "explain": 0.5, "prove": 0.9}),
        thresholds=[0.4, 0.8],
    )
    assert [router.invoke(p).content for p in ["hi", "explain", "prove"]] == [
        "t0",
        "t1",
        "t2",
    ]
    thresholds = router.calibrate(
        ["hi", "explain", "prove", "hi"], tier_shares=[0.25, 0.25]
    )
    # top 25% -> 0.9 alone (cut between 0.9 and 0.5); next 25% -> 0.5 (cut 0.3)
    assert thresholds == (pytest.approx(0.3), pytest.approx(0.7))


def test_in_an_lcel_chain() -> None:
    prompt = ChatPromptTemplate.from_messages(
        [("system", "Be brief."), ("human", "{q}")]
    )
    chain = prompt | _router(threshold=0.5) | StrOutputParser()
    assert chain.invoke({"q": "hi"}) == "cheap reply"
    assert chain.invoke({"q": "prove it"}) == "strong reply here"
    assert list(chain.stream({"q": "prove it"})) == ["strong ", "reply ", "here", ""]


def test_stream_yields_the_chosen_models_chunks() -> None:
    router = _router(threshold=0.5)
    chunks = list(router.stream("prove it"))
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    assert "".join(str(c.content) for c in chunks) == "strong reply here"
    assert len(chunks) == 4  # three words and the usage chunk
    assert chunks[0].response_metadata["finops_routing"]["tier"] == "gpt-4o"
    total = chunks[0]
    for chunk in chunks[1:]:
        total += chunk
    assert total.usage_metadata is not None
    assert total.response_metadata["model_name"] == "gpt-4o"


async def test_astream_and_ainvoke_match_sync() -> None:
    router = _router(threshold=0.5)
    for prompt in ["hi", "prove it"]:
        sync_chunks = [c.content for c in router.stream(prompt)]
        async_chunks = [c.content async for c in router.astream(prompt)]
        assert sync_chunks == async_chunks
        sync_reply = router.invoke(prompt)
        async_reply = await router.ainvoke(prompt)
        assert sync_reply.content == async_reply.content
        assert (
            sync_reply.response_metadata["finops_routing"]
            == async_reply.response_metadata["finops_routing"]
        )


def test_batch() -> None:
    router = _router(threshold=0.5)
    assert [r.content for r in router.batch(["hi", "prove it"])] == [
        "cheap reply",
        "strong reply here",
    ]


# ----- safety nets -----------------------------------------------------------


def _failing_cheap(**kwargs: Any) -> ModelRouter:
    cheap = FakeUsageChatModel(
        model_name="gpt-4o-mini",
        responses=["never"],
        fail_with=lambda messages: TimeoutError("upstream timed out"),
    )
    strong = FakeUsageChatModel(model_name="gpt-4o", responses=["strong reply here"])
    return create_model_router(
        cheap=cheap,
        strong=strong,
        classifier=KeywordClassifier({"hi": 0.1}),
        threshold=0.5,
        **kwargs,
    )


def test_next_tier_answers_when_the_chosen_one_fails(
    caplog: pytest.LogCaptureFixture,
) -> None:
    router = _failing_cheap()
    reply = router.invoke("hi")
    assert reply.content == "strong reply here"
    routing = reply.response_metadata["finops_routing"]
    assert routing["tier"] == "gpt-4o-mini"
    assert routing["failed_tiers"] == ["gpt-4o-mini"]
    assert routing["answered_by"] == 1
    assert "gpt-4o-mini failed (TimeoutError)" in caplog.text
    assert "upstream timed out" not in caplog.text  # no payloads in logs


async def test_next_tier_answers_when_streaming_fails() -> None:
    router = _failing_cheap()
    assert "".join(str(c.content) for c in router.stream("hi")) == "strong reply here"
    text = "".join([str(c.content) async for c in router.astream("hi")])
    assert text == "strong reply here"
    assert (await router.ainvoke("hi")).content == "strong reply here"


def test_the_last_tiers_error_propagates() -> None:
    strong = FakeUsageChatModel(
        model_name="gpt-4o", fail_with=lambda m: RuntimeError("down")
    )
    cheap = FakeUsageChatModel(
        model_name="gpt-4o-mini", fail_with=lambda m: RuntimeError("down")
    )
    router = create_model_router(
        cheap=cheap, strong=strong, classifier=KeywordClassifier({})
    )
    with pytest.raises(RuntimeError, match="down"):
        router.invoke("hi")


def test_errors_outside_fallback_exceptions_are_not_swallowed() -> None:
    router = _failing_cheap(fallback_exceptions=(ConnectionError,))
    with pytest.raises(TimeoutError):
        router.invoke("hi")


def test_context_window_overflow_goes_up() -> None:
    long_prompt = "hi " + "word " * 200
    tokens = int(count_tokens([HumanMessage(long_prompt)], model="gpt-4o-mini"))
    router = _router(threshold=0.5, context_windows={"gpt-4o-mini": 100})
    reply = router.invoke(long_prompt)
    assert reply.content == "strong reply here"
    assert reply.response_metadata["finops_routing"]["reason"] == (
        f"context window: {tokens} tokens exceed gpt-4o-mini's 100"
    )
    assert router.invoke("hi").content == "cheap reply"


def test_context_window_from_the_model_profile() -> None:
    cheap = FakeUsageChatModel(
        model_name="gpt-4o-mini", responses=["cheap"], profile={"max_input_tokens": 20}
    )
    strong = FakeUsageChatModel(
        model_name="gpt-4o", responses=["strong"], profile={"max_input_tokens": 60}
    )
    router = create_model_router(
        cheap=cheap, strong=strong, classifier=KeywordClassifier({}), threshold=0.5
    )
    assert router.context_windows == (20, 60)
    assert router.invoke("hi").content == "cheap"
    assert router.invoke("hi " * 30).content == "strong"
    with pytest.raises(ValueError, match="fits the context window of no tier"):
        router.invoke("hi " * 100)


def test_unknown_label_goes_strong_with_the_reason() -> None:
    cheap, strong = _models()
    classifier = KeywordClassifier({}, fallback_words=("weird",), threshold=0.5)
    router = create_model_router(cheap=cheap, strong=strong, classifier=classifier)
    reply = router.invoke("weird one")
    assert reply.content == "strong reply here"
    assert reply.response_metadata["finops_routing"]["reason"] == (
        "classifier fallback: unknown label 'x'"
    )


@pytest.mark.parametrize("falsy", ["", 0, False, [], None])
def test_falsy_answers_are_real_answers(falsy: Any) -> None:
    calls: list[str] = []

    def cheap(_: Any) -> Any:
        calls.append("cheap")
        return falsy

    def strong(_: Any) -> Any:
        calls.append("strong")
        return "strong"

    router = create_model_router(
        cheap=RunnableLambda(cheap),
        strong=RunnableLambda(strong),
        tier_names=["gpt-4o-mini", "gpt-4o"],
        classifier=KeywordClassifier({}),
        threshold=0.5,
    )
    assert router.invoke("hi") == falsy
    assert type(router.invoke("hi")) is type(falsy)
    assert list(router.stream("hi")) == [falsy]
    assert calls == ["cheap", "cheap", "cheap"]


def test_sticky_sessions_never_go_down() -> None:
    router = _router(threshold=0.5, sticky_sessions=True)
    a = {"configurable": {"session_id": "a"}}
    b = {"configurable": {"session_id": "b"}}
    assert router.invoke("hi", a).content == "cheap reply"
    assert router.invoke("prove it", a).content == "strong reply here"
    reply = router.invoke("hi", a)
    assert reply.content == "strong reply here"
    assert reply.response_metadata["finops_routing"]["reason"] == (
        "sticky session: 'a' already used gpt-4o"
    )
    assert router.invoke("hi", b).content == "cheap reply"
    assert router.invoke("hi").content == "cheap reply"  # no session id


def test_without_sticky_sessions_each_call_is_judged_alone() -> None:
    router = _router(threshold=0.5)
    a = {"configurable": {"session_id": "a"}}
    router.invoke("prove it", a)
    assert router.invoke("hi", a).content == "cheap reply"


# ----- calibration -----------------------------------------------------------

_EASY = ["hi", "thanks", "what time is it", "good morning", "where is the station"]
_HARD = [
    "prove that the sum of two odd numbers is even",
    "analyse the liability clause of this contract",
    "derive the expected value of the estimator",
    "solve the system of equations 3x + 2y = 7 and x - y = 4",
    "explain why the algorithm runs in n log n time",
]
_TAILS = ["please", "", "in detail", "for my exam", "thank you", "quickly", "now"]


def _traffic(seed: int, n: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        core = rng.choice(_HARD if rng.random() < 0.4 else _EASY)
        out.append(f"{rng.choice(_TAILS)} {core} {rng.choice(_TAILS)}".strip())
    return out


@pytest.mark.parametrize("share", [0.1, 0.25, 0.5])
def test_calibrated_share_holds_on_held_out_traffic(share: float) -> None:
    cheap, strong = _models()
    router = create_model_router(
        cheap=cheap,
        strong=strong,
        classifier=LearnedComplexityClassifier(),
        strong_share=share,
        calibration_prompts=_traffic(0, 1000),
    )
    held_out = _traffic(1, 3000)
    realised = sum(router.decide(p).tier == 1 for p in held_out) / len(held_out)
    assert abs(realised - share) <= 0.03


def test_calibrate_sets_the_quantile_by_hand() -> None:
    router = _router()
    threshold = router.calibrate(["hi", "hi", "explain", "prove"], strong_share=0.25)
    assert threshold == (pytest.approx(0.7),)
    assert router.threshold == pytest.approx(0.7)


# ----- the ledger ------------------------------------------------------------


def _usage(reply: AIMessage) -> tuple[int, int]:
    usage = reply.usage_metadata
    assert usage is not None
    return usage["input_tokens"], usage["output_tokens"]


def _price(model: str, tokens: tuple[int, int]) -> Decimal:
    rates = PRICES[model]
    return (
        Decimal(str(rates["input"])) * tokens[0]
        + Decimal(str(rates["output"])) * tokens[1]
    ) / Decimal(1_000_000)


def test_ledger_books_the_saving_against_the_strongest_tier() -> None:
    handler = CostCallbackHandler(price_overrides=PRICES)
    router = _router(threshold=0.5)
    cheap_reply = router.invoke("hi", {"callbacks": [handler]})
    strong_reply = router.invoke("prove it", {"callbacks": [handler]})
    cheap_tokens = _usage(cheap_reply)
    strong_tokens = _usage(strong_reply)
    # hand check of the counts: "hi" is 1 token + 3 framing + 1 role + 3 priming
    assert cheap_tokens == (8, 2)
    expected = _price("gpt-4o", cheap_tokens) - _price("gpt-4o-mini", cheap_tokens)
    # (10 - 1) $/M x 8 input + (30 - 2) $/M x 2 output = 72 + 56 = 128 micro-dollars
    assert expected == Decimal("0.000128")
    routing = handler.savings["routing"]
    assert routing.gross_saved == expected
    assert routing.events == 2
    # The strong call saved nothing; both calls are billed.
    assert handler.total_cost == _price("gpt-4o-mini", cheap_tokens) + _price(
        "gpt-4o", strong_tokens
    )


async def test_ledger_books_the_same_saving_in_async_and_streaming() -> None:
    handler = CostCallbackHandler(price_overrides=PRICES)
    router = _router(threshold=0.5)
    await router.ainvoke("hi", {"callbacks": [handler]})
    list(router.stream("hi", {"callbacks": [handler]}))
    _ = [c async for c in router.astream("hi", {"callbacks": [handler]})]
    assert handler.savings["routing"].gross_saved == 3 * Decimal("0.000128")
    assert handler.savings["routing"].events == 3


def test_a_fallback_to_the_strongest_tier_saves_nothing() -> None:
    handler = CostCallbackHandler(price_overrides=PRICES)
    router = _failing_cheap()
    router.invoke("hi", {"callbacks": [handler]})
    assert handler.savings["routing"].gross_saved == Decimal(0)


# ----- construction errors ---------------------------------------------------


def test_construction_errors_say_what_to_do() -> None:
    cheap, strong = _models()
    with pytest.raises(ValueError, match="at least two tiers"):
        create_model_router([cheap])
    with pytest.raises(ValueError, match="not both"):
        create_model_router([cheap, strong], cheap=cheap)
    with pytest.raises(ValueError, match="both `cheap=` and `strong=`"):
        create_model_router(cheap=cheap)
    with pytest.raises(TypeError, match="Tier 1 is a str"):
        create_model_router([cheap, "gpt-4o"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="between 0 and 1"):
        create_model_router(cheap=cheap, strong=strong, threshold=1.5)
    with pytest.raises(ValueError, match="ascend"):
        create_model_router([cheap, strong, strong], thresholds=[0.8, 0.2])
    with pytest.raises(ValueError, match="need 2 thresholds"):
        create_model_router([cheap, strong, strong], thresholds=[0.5])
    with pytest.raises(ValueError, match="needs `thresholds`"):
        create_model_router([cheap, strong, strong])
    with pytest.raises(ValueError, match="calibration_prompts"):
        create_model_router(cheap=cheap, strong=strong, strong_share=0.25)
    with pytest.raises(ValueError, match="at most one"):
        create_model_router(cheap=cheap, strong=strong, threshold=0.2, strong_share=0.2)
    with pytest.raises(ValueError, match="tier_names"):
        create_model_router(cheap=RunnableLambda(lambda x: x), strong=strong)
    with pytest.raises(ValueError, match="not tiers"):
        create_model_router(cheap=cheap, strong=strong, context_windows={"gpt-5": 10})
    with pytest.raises(TypeError, match="not int"):
        _router().invoke(42)  # type: ignore[arg-type]


class _Metadata(BaseCallbackHandler):
    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    def on_chat_model_start(self, *args: Any, **kwargs: Any) -> None:
        self.seen.append(kwargs.get("metadata") or {})


def test_the_decision_is_in_the_model_runs_metadata() -> None:
    spy = _Metadata()
    _router(threshold=0.5).invoke("prove it", {"callbacks": [spy]})
    list(_router(threshold=0.5).stream("hi", {"callbacks": [spy]}))
    assert [m["finops_routing"]["tier"] for m in spy.seen] == ["gpt-4o", "gpt-4o-mini"]
    assert spy.seen[0]["finops_routing"]["score"] == 0.9


class _Ranked(RoutingClassifier):
    """Prompt "p{i}" scores i / 1000: every score distinct and known."""

    def classify(self, prompt: str, config: Any = None) -> RoutingDecision:
        return RoutingDecision(int(prompt[1:]) / 1000, "ranked")


def test_calibrate_to_a_budget_by_hand() -> None:
    cheap, strong = _models()
    router = create_model_router(cheap=cheap, strong=strong, classifier=_Ranked())
    prices = {
        "gpt-4o-mini": {"input": 0.15, "output": 0.6},
        "gpt-4o": {"input": 2.5, "output": 10.0},
    }
    sample = [f"p{i}" for i in range(1000)]
    share = router.strong_share_for_cost(0.3, sample, price_overrides=prices)
    # Price ratio 0.06 on input and output alike: (0.3 - 0.06) / (1 - 0.06).
    assert share == pytest.approx(0.24 / 0.94, rel=1e-12)
    (threshold,) = router.calibrate(sample, cost_share=0.3, price_overrides=prices)
    # round(0.2553 * 1000) = 255 prompts go up: cut between 0.745 and 0.744.
    assert threshold == pytest.approx(0.7445)
    with pytest.raises(ValueError, match="below what sending every call"):
        router.calibrate(sample, cost_share=0.05, price_overrides=prices)
    # A free cheap tier (a local model) is fine: the share is the cost share.
    free = {**prices, "gpt-4o-mini": {"input": 0, "output": 0}}
    assert router.strong_share_for_cost(0.3, sample, price_overrides=free) == 0.3
    local = create_model_router(
        cheap=FakeUsageChatModel(model_name="my-local-model"),
        strong=strong,
        classifier=_Ranked(),
    )
    with pytest.raises(ValueError, match="Cannot price 'my-local-model'"):
        local.calibrate(sample, cost_share=0.3)
