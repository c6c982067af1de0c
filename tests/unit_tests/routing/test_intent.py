from __future__ import annotations

import math

import pytest

from langchain_finops.routing import (
    DEFAULT_ROUTES,
    NO_ROUTE,
    IntentClassifier,
    IntentRoute,
    create_model_router,
)
from langchain_finops.testing import FakeUsageChatModel
from tests.unit_tests.routing.conftest import BagOfWordsEmbeddings, TableEmbeddings


def test_score_is_the_softmax_weight_of_strong_routes() -> None:
    table = {"a": [1.0, 0.0], "b": [0.0, 1.0], "q": [0.6, 0.8]}
    routes = [
        IntentRoute("chat", ("a",), needs_strong=False),
        IntentRoute("law", ("b",), needs_strong=True),
    ]
    classifier = IntentClassifier(
        routes=routes, embeddings=TableEmbeddings(table), min_similarity=0.5
    )
    decision = classifier.classify("q")
    # cosines 0.6 (chat) and 0.8 (law); softmax at temperature 0.05:
    # law weight = 1 / (1 + exp((0.6 - 0.8) / 0.05)) = 1 / (1 + e^-4)
    assert decision.label == "law"
    assert decision.score == pytest.approx(1 / (1 + math.exp(-4)), rel=1e-12)
    assert decision.fallback_reason is None


def test_below_min_similarity_no_route_matches_and_goes_strong() -> None:
    table = {"a": [1.0, 0.0, 0.0], "b": [0.0, 1.0, 0.0], "q": [0.3, 0.4, 0.866]}
    routes = [IntentRoute("chat", ("a",), False), IntentRoute("law", ("b",), True)]
    classifier = IntentClassifier(
        routes=routes, embeddings=TableEmbeddings(table), min_similarity=0.5
    )
    decision = classifier.classify("q")
    assert decision.label == NO_ROUTE
    assert decision.score == 1.0
    assert decision.fallback_reason is not None
    assert "'law'" in decision.fallback_reason
    assert "0.400 < 0.5" in decision.fallback_reason


def test_top_k_averages_each_routes_closest_utterances() -> None:
    table = {
        "a1": [1.0, 0.0],
        "a2": [0.0, 1.0],
        "b1": [0.8, 0.6],
        "q": [1.0, 0.0],
    }
    routes = [IntentRoute("a", ("a1", "a2"), False), IntentRoute("b", ("b1",), True)]
    one = IntentClassifier(routes=routes, embeddings=TableEmbeddings(table), top_k=1)
    two = IntentClassifier(routes=routes, embeddings=TableEmbeddings(table), top_k=2)
    assert one.classify("q").label == "a"  # max: a 1.0 vs b 0.8
    assert two.classify("q").label == "b"  # mean of 2: a 0.5 vs b 0.8


VOCAB = [
    "hello",
    "hi",
    "thanks",
    "capital",
    "france",
    "contract",
    "clause",
    "law",
    "prove",
]


def _lexical() -> IntentClassifier:
    routes = [
        IntentRoute("greeting", ("hello", "hi there", "thanks"), needs_strong=False),
        IntentRoute("legal", ("contract clause", "law of contract"), needs_strong=True),
    ]
    return IntentClassifier(
        routes=routes, embeddings=BagOfWordsEmbeddings(VOCAB), min_similarity=0.3
    )


def test_utterances_are_embedded_once() -> None:
    classifier = _lexical()
    embeddings = classifier.embeddings
    assert isinstance(embeddings, BagOfWordsEmbeddings)
    assert embeddings.calls == 0  # lazily, on first use
    classifier.classify("hello")
    classifier.classify("hi")
    assert embeddings.calls == 3  # one batch of utterances, two queries


async def test_async_matches_sync() -> None:
    classifier = _lexical()
    for prompt in ["hello friend", "is this contract clause legal", "prove it"]:
        assert await classifier.aclassify(prompt) == classifier.classify(prompt)
    assert classifier.scores(["hello", "prove"]) == [
        classifier.score("hello"),
        classifier.score("prove"),
    ]


def test_routes_a_router_in_a_few_lines() -> None:
    cheap = FakeUsageChatModel(model_name="gpt-4o-mini", responses=["cheap"])
    strong = FakeUsageChatModel(model_name="gpt-4o", responses=["strong"])
    router = create_model_router(cheap=cheap, strong=strong, classifier=_lexical())
    assert router.invoke("hello").content == "cheap"
    assert router.invoke("review this contract clause").content == "strong"
    unmatched = router.invoke("prove it")
    assert unmatched.content == "strong"
    assert unmatched.response_metadata["finops_routing"]["label"] == NO_ROUTE


def test_default_routes_ship_cheap_and_strong_examples() -> None:
    names = {r.name: r.needs_strong for r in DEFAULT_ROUTES}
    assert names == {
        "greeting": False,
        "simple_fact": False,
        "complex_reasoning": True,
        "legal_analysis": True,
    }
    assert all(len(r.utterances) == 10 for r in DEFAULT_ROUTES)


def test_default_embedder_routes_the_default_examples() -> None:
    classifier = IntentClassifier()  # local MiniLM, no network
    assert classifier.classify("hello, good to see you").label == "greeting"
    assert classifier.classify("what is the capital of Italy?").label == "simple_fact"
    legal = classifier.classify("review this licence agreement for liability risks")
    assert legal.label == "legal_analysis"
    assert legal.score > 0.5


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"routes": []}, "at least one route"),
        (
            {
                "routes": [
                    IntentRoute("a", ("x",), False),
                    IntentRoute("a", ("y",), True),
                ]
            },
            "unique",
        ),
        ({"min_similarity": 2.0}, "cosine"),
        ({"top_k": 0}, "at least 1"),
        ({"temperature": 0.0}, "positive"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        IntentClassifier(embeddings=BagOfWordsEmbeddings(VOCAB), **kwargs)  # type: ignore[arg-type]


def test_a_route_needs_utterances() -> None:
    with pytest.raises(ValueError, match="tuple of example utterances"):
        IntentRoute("a", "hello", False)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="tuple of example utterances"):
        IntentRoute("a", (), False)
