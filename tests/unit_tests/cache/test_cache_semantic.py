from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.load import dumps
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, Generation

from langchain_finops.cache import SemanticFaissCache
from langchain_finops.cache import semantic as semantic_module
from langchain_finops.embeddings import DefaultEmbeddings
from langchain_finops.testing import FakeUsageChatModel

LLM = "[('_type', 'fake'), ('model_name', 'gpt-4o-mini'), ('stop', None)]"


def model(*replies: str, **kwargs: object) -> FakeUsageChatModel:
    return FakeUsageChatModel(responses=list(replies), **kwargs)


def answer(text: str) -> list[Generation]:
    return [
        ChatGeneration(
            message=AIMessage(
                text,
                usage_metadata={
                    "input_tokens": 1000,
                    "output_tokens": 100,
                    "total_tokens": 1100,
                },
                response_metadata={
                    "model_name": "gpt-4o-mini",
                    "finish_reason": "stop",
                },
            )
        )
    ]


def ask(text: str, system: str = "You are a helpful assistant.") -> str:
    return dumps([SystemMessage(system), HumanMessage(text)])


@pytest.fixture
def real_cache(real_embeddings: DefaultEmbeddings) -> SemanticFaissCache:
    return SemanticFaissCache(embeddings=real_embeddings)


# --- end to end through LangChain --------------------------------------


def test_paraphrase_is_served_with_usage_and_marker(
    real_cache: SemanticFaissCache,
) -> None:
    chat = model("Paris.", "SHOULD NOT BE CALLED", cache=real_cache)
    first = chat.invoke(
        [SystemMessage("Be brief."), HumanMessage("What is the capital of France?")]
    )
    second = chat.invoke(
        [
            SystemMessage("Be brief."),
            HumanMessage("What's the capital of France?"),
        ]
    )
    third = chat.invoke(
        [SystemMessage("Be brief."), HumanMessage("What is the capital of France?")]
    )
    assert first.content == second.content == third.content == "Paris."
    assert "finops_cache" not in first.response_metadata
    semantic = second.response_metadata["finops_cache"]
    assert semantic["tier"] == "semantic"
    assert 0.99 < semantic["similarity"] < 0.995  # measured: 0.9935
    assert third.response_metadata["finops_cache"] == {
        "tier": "exact",
        "similarity": 1.0,
    }
    assert first.usage_metadata is not None
    assert second.usage_metadata is not None
    assert second.usage_metadata["input_tokens"] == first.usage_metadata["input_tokens"]
    assert (
        second.usage_metadata["output_tokens"] == first.usage_metadata["output_tokens"]
    )
    assert second.usage_metadata.get("total_cost") == 0
    stats = real_cache.stats()
    assert (stats.exact_hits, stats.semantic_hits, stats.misses) == (1, 1, 1)


def _two_calls(chat: BaseChatModel, first: list, second: list) -> tuple[str, str]:
    return str(chat.invoke(first).content), str(chat.invoke(second).content)


def test_two_system_prompts_do_not_share_answers(
    real_cache: SemanticFaissCache,
) -> None:
    chat = model("terse", "verbose", cache=real_cache)
    question = HumanMessage("What is the capital of France?")
    assert _two_calls(
        chat,
        [SystemMessage("Answer in one word."), question],
        [SystemMessage("Answer in French, at length."), question],
    ) == ("terse", "verbose")


def test_two_models_do_not_share_answers(real_cache: SemanticFaissCache) -> None:
    small = model("from mini", model_name="gpt-4o-mini", cache=real_cache)
    large = model("from 4o", model_name="gpt-4o", cache=real_cache)
    question = [HumanMessage("What is the capital of France?")]
    assert small.invoke(question).content == "from mini"
    assert large.invoke(question).content == "from 4o"
    assert small.invoke(question).content == "from mini"


def test_two_temperatures_do_not_share_answers(real_cache: SemanticFaissCache) -> None:
    chat = model("cold", "hot", cache=real_cache)
    question = [HumanMessage("Write a haiku about rain.")]
    assert chat.invoke(question, temperature=0.0).content == "cold"
    assert chat.invoke(question, temperature=1.0).content == "hot"
    assert chat.invoke(question, temperature=0.0).content == "cold"


def test_number_swap_is_refused_by_the_guard(real_cache: SemanticFaissCache) -> None:
    first, second = "Is 400 mg of ibuprofen safe?", "Is 800 mg of ibuprofen safe?"
    similarity, reason = real_cache.similarity(first, second)
    assert similarity >= real_cache.similarity_threshold  # the guard does the work
    assert reason == "numbers"
    real_cache.update(ask(first), LLM, answer("Yes, 400 mg is a usual dose."))
    assert real_cache.lookup(ask(second), LLM) is None
    stats = real_cache.stats()
    assert stats.guard_rejections == 1
    assert stats.guard_reasons == {"numbers": 1}


def test_negation_is_refused_by_the_guard(real_cache: SemanticFaissCache) -> None:
    first = "Should I take ibuprofen with food?"
    second = "Should I not take ibuprofen with food?"
    similarity, reason = real_cache.similarity(first, second)
    assert similarity >= real_cache.similarity_threshold
    assert reason == "negation"
    real_cache.update(ask(first), LLM, answer("Yes."))
    assert real_cache.lookup(ask(second), LLM) is None
    assert real_cache.stats().guard_reasons == {"negation": 1}


def test_without_the_guard_the_number_swap_is_a_false_hit(
    real_embeddings: DefaultEmbeddings,
) -> None:
    plain = SemanticFaissCache(embeddings=real_embeddings, guard=False)
    plain.update(ask("Is 400 mg of ibuprofen safe?"), LLM, answer("Yes."))
    assert plain.lookup(ask("Is 800 mg of ibuprofen safe?"), LLM) is not None


def test_follow_up_hits_only_under_the_same_conversation(
    real_cache: SemanticFaissCache,
) -> None:
    def follow_up(company: str, question: str) -> str:
        return dumps(
            [
                HumanMessage(f"Who is the CEO of {company}?"),
                AIMessage("Their CEO."),
                HumanMessage(question),
            ]
        )

    # A threshold loose enough that the follow-ups match (cosine 0.875): only
    # the conversation before them may keep them apart.
    real_cache.similarity_threshold = 0.85
    real_cache.update(follow_up("OpenAI", "How old is he?"), LLM, answer("40."))
    assert real_cache.lookup(follow_up("Apple", "How old is he?"), LLM) is None
    hit = real_cache.lookup(follow_up("OpenAI", "How old is he now?"), LLM)
    assert hit is not None
    assert hit[0].message.response_metadata["finops_cache"]["tier"] == "semantic"  # type: ignore[attr-defined]


def test_unrelated_chat_questions_do_not_hit(real_cache: SemanticFaissCache) -> None:
    real_cache.update(ask("How do I reset my router?"), LLM, answer("Hold reset."))
    for question in (
        "What is the best pizza in Naples?",
        "Who wrote Hamlet?",
        "How many legs does a spider have?",
    ):
        assert real_cache.lookup(ask(question), LLM) is None
    assert sum(real_cache.stats().similarity_histogram[10:]) == 0  # all below 0.5


# --- namespaces -----------------------------------------------------------


def test_two_namespaces_never_see_each_other(word_bag: Any) -> None:
    tenant_a = SemanticFaissCache(embeddings=word_bag, similarity_threshold=0.5)
    tenant_a.update(ask("my account balance"), LLM, answer("$10"))
    with tenant_a.scope(namespace="user-b"):
        assert tenant_a.lookup(ask("my account balance"), LLM) is None
        assert tenant_a.lookup(ask("the account balance my"), LLM) is None
        tenant_a.update(ask("my account balance"), LLM, answer("$99"))
        hit = tenant_a.lookup(ask("my account balance"), LLM)
        assert hit is not None
        assert hit[0].text == "$99"
    hit = tenant_a.lookup(ask("my account balance"), LLM)
    assert hit is not None
    assert hit[0].text == "$10"
    assert len(tenant_a) == 2


def test_namespace_scope_follows_async_tasks(word_bag: Any) -> None:
    cache = SemanticFaissCache(embeddings=word_bag, similarity_threshold=0.5)

    async def as_user(user: str, reply: str) -> str | None:
        with cache.scope(namespace=user):
            await cache.aupdate(ask("what is my plan"), LLM, answer(reply))
            await asyncio.sleep(0)
            hit = await cache.alookup(ask("what is my plan"), LLM)
            return None if hit is None else hit[0].text

    async def both() -> list[str | None]:
        return list(await asyncio.gather(as_user("u1", "gold"), as_user("u2", "free")))

    assert asyncio.run(both()) == ["gold", "free"]


def test_bad_namespace_is_refused(word_bag: Any) -> None:
    with pytest.raises(ValueError, match="`namespace` must be a non-empty string"):
        SemanticFaissCache(embeddings=word_bag, namespace="  ")


# --- empty turns ----------------------------------------------------------


@pytest.mark.parametrize("empty", ["   ", "\u200b\u200b", "\n\t"])
def test_an_empty_turn_matches_only_exactly(word_bag: Any, empty: str) -> None:
    cache = SemanticFaissCache(embeddings=word_bag, similarity_threshold=0.0)
    cache.update(ask(empty), LLM, answer("You sent nothing."))
    cache.update(ask("something real"), LLM, answer("Real."))
    word_bag.calls.clear()
    hit = cache.lookup(ask(empty), LLM)
    assert hit is not None
    assert hit[0].message.response_metadata["finops_cache"]["tier"] == "exact"  # type: ignore[attr-defined]
    assert word_bag.calls == []


def test_a_tool_result_turn_matches_only_exactly(word_bag: Any) -> None:
    cache = SemanticFaissCache(embeddings=word_bag, similarity_threshold=0.0)

    def tool_turn(result: str) -> str:
        return dumps(
            [
                HumanMessage("Weather in Paris?"),
                AIMessage("", tool_calls=[{"name": "w", "args": {}, "id": "c1"}]),
                ToolMessage(result, tool_call_id="c1"),
            ]
        )

    cache.update(tool_turn("18C and sunny"), LLM, answer("It is 18C."))
    word_bag.calls.clear()
    assert cache.lookup(tool_turn("18C and sunny"), LLM) is not None
    assert cache.lookup(tool_turn("25C and sunny"), LLM) is None
    assert word_bag.calls == []


# --- threshold and calibration -------------------------------------------


@pytest.mark.parametrize("value", [-0.01, 1.01, float("nan")])
def test_threshold_outside_the_range_is_refused(word_bag: Any, value: float) -> None:
    with pytest.raises(ValueError, match=r"`similarity_threshold`.*\[0, 1\]"):
        SemanticFaissCache(embeddings=word_bag, similarity_threshold=value)


def test_threshold_of_the_wrong_type_is_refused(word_bag: Any) -> None:
    with pytest.raises(TypeError, match="`similarity_threshold` must be a number"):
        SemanticFaissCache(embeddings=word_bag, similarity_threshold="0.9")  # type: ignore[arg-type]


def test_calibrate_sets_the_threshold_from_labelled_pairs(
    table_embeddings: Callable[[dict[str, list[float]]], Any],
) -> None:
    # Unit vectors in the plane: cos(q, x) is the first coordinate of x.
    def at(cos: float) -> list[float]:
        return [cos, (1 - cos * cos) ** 0.5]

    table = {
        "q": [1.0, 0.0],
        "dup high": at(0.97),
        "dup mid": at(0.90),
        "dup low": at(0.80),
        "other high": at(0.93),
        "other mid": at(0.85),
        "other low": at(0.20),
    }
    cache = SemanticFaissCache(
        embeddings=table_embeddings(table), similarity_threshold=0.5, guard=False
    )
    pairs = [
        ("q", "dup high", True),
        ("q", "dup mid", True),
        ("q", "dup low", True),
        ("q", "other high", False),
        ("q", "other mid", False),
        ("q", "other low", False),
    ]
    strict = cache.calibrate(pairs, max_false_hit_rate=0.0)
    # No non-duplicate may pass: just above 0.93, so only 0.97 is served.
    assert strict.threshold == pytest.approx(0.93, abs=1e-6)
    assert strict.threshold > 0.93 - 1e-7
    assert (strict.hit_rate, strict.false_hit_rate) == (pytest.approx(1 / 3), 0.0)
    assert cache.similarity_threshold == strict.threshold
    loose = cache.calibrate(pairs, max_false_hit_rate=0.34)
    # One of three non-duplicates may pass: just above 0.85.
    assert loose.threshold == pytest.approx(0.85, abs=1e-6)
    assert loose.hit_rate == pytest.approx(2 / 3)
    assert loose.false_hit_rate == pytest.approx(1 / 3)


def test_calibrate_counts_guard_refusals_as_misses(
    real_embeddings: DefaultEmbeddings,
) -> None:
    cache = SemanticFaissCache(embeddings=real_embeddings)
    report = cache.calibrate(
        [
            (
                "What is the capital of France?",
                "Which city is the capital of France?",
                True,
            ),
            ("Is 400 mg of ibuprofen safe?", "Is 800 mg of ibuprofen safe?", False),
            ("How do I bake bread?", "What is the capital of France?", False),
        ],
        max_false_hit_rate=0.0,
    )
    # The number swap never hits, so the threshold sits above the unrelated
    # pair only, and the paraphrase is served.
    assert report.hit_rate == 1.0
    assert report.false_hit_rate == 0.0
    assert report.threshold < 0.5


def test_calibrate_needs_both_kinds(word_bag: Any) -> None:
    cache = SemanticFaissCache(embeddings=word_bag, similarity_threshold=0.5)
    with pytest.raises(ValueError, match="1 duplicates and 0 non-duplicates"):
        cache.calibrate([("a", "b", True)])
    with pytest.raises(ValueError, match="`max_false_hit_rate`"):
        cache.calibrate([("a", "b", True), ("a", "c", False)], max_false_hit_rate=1.0)


# --- what is not stored ----------------------------------------------------


def test_truncated_empty_and_n_above_one_are_not_stored(
    word_bag: Any,
) -> None:
    cache = SemanticFaissCache(embeddings=word_bag, similarity_threshold=0.5)
    truncated = [
        ChatGeneration(
            message=AIMessage(
                "The answer is", response_metadata={"finish_reason": "length"}
            )
        )
    ]
    cache.update(ask("long question"), LLM, truncated)
    cache.update(ask("empty answer"), LLM, [ChatGeneration(message=AIMessage(""))])
    cache.update(
        ask("many answers"),
        LLM.replace("('stop', None)", "('n', 2), ('stop', None)"),
        answer("x"),
    )
    assert len(cache) == 0
    assert cache.stats().skipped_updates == {"truncated": 1, "empty": 1, "n>1": 1}


def test_tool_call_answer_with_empty_text_is_stored(word_bag: Any) -> None:
    cache = SemanticFaissCache(embeddings=word_bag, similarity_threshold=0.5)
    call = AIMessage(
        "", tool_calls=[{"name": "weather", "args": {"city": "Paris"}, "id": "c1"}]
    )
    cache.update(ask("weather paris"), LLM, [ChatGeneration(message=call)])
    hit = cache.lookup(ask("weather paris"), LLM)
    assert hit is not None
    assert hit[0].message.tool_calls[0]["args"] == {"city": "Paris"}  # type: ignore[attr-defined]


# --- operations --------------------------------------------------------------


def test_max_entries_evicts_the_least_recently_used(
    word_bag: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = iter(range(100, 200))
    monkeypatch.setattr(semantic_module.time, "time", lambda: float(next(clock)))
    cache = SemanticFaissCache(
        embeddings=word_bag, similarity_threshold=0.99, max_entries=2
    )
    cache.update("alpha", LLM, answer("A"))
    cache.update("bravo", LLM, answer("B"))
    assert cache.lookup("alpha", LLM) is not None  # alpha is now the most recent
    cache.update("charlie", LLM, answer("C"))
    assert len(cache) == 2
    assert cache.lookup("bravo", LLM) is None
    assert cache.lookup("alpha", LLM) is not None
    assert cache.lookup("charlie", LLM) is not None


def test_ttl_global_scoped_and_per_entry(
    word_bag: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1000.0]
    monkeypatch.setattr(semantic_module.time, "time", lambda: now[0])
    cache = SemanticFaissCache(embeddings=word_bag, similarity_threshold=0.99, ttl=60)
    cache.update("global", LLM, answer("g"))
    cache.update("own", LLM, answer("o"), ttl=10)
    with cache.scope(ttl=30):
        cache.update("scoped", LLM, answer("s"))
    now[0] = 1009.0
    assert [cache.lookup(p, LLM) is not None for p in ("global", "own", "scoped")] == [
        True,
        True,
        True,
    ]
    now[0] = 1010.0
    assert [cache.lookup(p, LLM) is not None for p in ("global", "own", "scoped")] == [
        True,
        False,
        True,
    ]
    now[0] = 1030.0
    assert [cache.lookup(p, LLM) is not None for p in ("global", "scoped")] == [
        True,
        False,
    ]
    now[0] = 1060.0
    assert cache.lookup("global", LLM) is None
    assert len(cache) == 0


def test_bad_ttl_is_refused(word_bag: Any) -> None:
    with pytest.raises(ValueError, match="`ttl` must be a positive duration"):
        SemanticFaissCache(embeddings=word_bag, ttl=0)
    with pytest.raises(ValueError, match="`max_entries` must be a positive integer"):
        SemanticFaissCache(embeddings=word_bag, max_entries=0)


def test_invalidate_by_prompt_by_similarity_and_by_namespace(
    word_bag: Any,
) -> None:
    cache = SemanticFaissCache(embeddings=word_bag, similarity_threshold=0.7)
    cache.update(ask("reset my router password"), LLM, answer("1"))
    cache.update(ask("please reset my router password"), LLM, answer("2"))
    cache.update(ask("reset my router password now please"), LLM, answer("3"))
    cache.update(ask("bake sourdough bread"), LLM, answer("4"))
    with cache.scope(namespace="other"):
        cache.update(ask("bake sourdough bread"), LLM, answer("5"))
    assert cache.invalidate(ask("reset my router password"), LLM) == 1
    assert len(cache) == 4
    assert cache.invalidate(ask("reset my router password"), LLM, similar=True) == 2
    assert len(cache) == 2
    assert cache.invalidate(namespace="other") == 1
    assert len(cache) == 1
    with pytest.raises(ValueError, match="needs the prompt's `llm_string`"):
        cache.invalidate(ask("x"))
    with pytest.raises(ValueError, match="needs a `prompt`"):
        cache.invalidate()


def test_clear_one_namespace_or_all(word_bag: Any) -> None:
    cache = SemanticFaissCache(embeddings=word_bag, similarity_threshold=0.9)
    cache.update("a", LLM, answer("a"))
    with cache.scope(namespace="n2"):
        cache.update("a", LLM, answer("b"))
    cache.clear(namespace="n2")
    assert len(cache) == 1
    cache.clear()
    assert len(cache) == 0
    with pytest.raises(TypeError, match="takes only `namespace`"):
        cache.clear(llm_string="x")


def test_stats_count_dollars_saved_at_the_model_price(
    word_bag: Any,
) -> None:
    cache = SemanticFaissCache(embeddings=word_bag, similarity_threshold=0.8)
    cache.update(ask("capital of france"), LLM, answer("Paris"))
    cache.lookup(ask("capital of france"), LLM)
    cache.lookup(ask("the capital of france"), LLM)
    cache.lookup(ask("completely different words"), LLM)
    stats = cache.stats()
    assert (stats.exact_hits, stats.semantic_hits, stats.misses) == (1, 1, 1)
    # gpt-4o-mini: $0.15 per million input tokens, $0.60 per million output.
    # 1000 * 0.15e-6 + 100 * 0.60e-6 = $0.00021 per hit, two hits.
    assert stats.dollars_saved == Decimal("0.00042")
    assert stats.hit_rate == pytest.approx(2 / 3)
    assert sum(stats.similarity_histogram) == 2
    # "the capital of france" shares 3 of its 4 words: cosine 3 / sqrt(12).
    assert stats.similarity_histogram[17] == 1


def test_a_failing_price_table_does_not_break_hits(word_bag: Any) -> None:
    class Broken:
        def cost(self, *args: object, **kwargs: object) -> Decimal:
            raise RuntimeError("price service down")

    cache = SemanticFaissCache(
        embeddings=word_bag,
        similarity_threshold=0.8,
        price_table=Broken(),  # type: ignore[arg-type]
    )
    cache.update("q", LLM, answer("a"))
    assert cache.lookup("q", LLM) is not None
    assert cache.stats().dollars_saved == Decimal(0)


def test_query_embedding_is_reused_between_lookup_and_update(
    word_bag: Any,
) -> None:
    cache = SemanticFaissCache(embeddings=word_bag, similarity_threshold=0.9)
    cache.update(ask("seed entry"), LLM, answer("seed"))
    word_bag.calls.clear()
    chat = model("new answer", cache=cache)
    chat.invoke(
        [
            SystemMessage("You are a helpful assistant."),
            HumanMessage("brand new question"),
        ]
    )
    assert word_bag.calls == ["brand new question"]


# --- concurrency -------------------------------------------------------------


def test_sixteen_threads_of_mixed_operations(word_bag: Any) -> None:
    cache = SemanticFaissCache(
        embeddings=word_bag, similarity_threshold=0.9, max_entries=150
    )
    errors: list[BaseException] = []
    barrier = threading.Barrier(16)

    def work(worker: int) -> None:
        try:
            barrier.wait()
            for step in range(60):
                own = f"worker {worker} question {step}"
                cache.update(own, LLM, answer(own))
                hit = cache.lookup(own, LLM)
                # Evictions by other threads may remove it, but never swap it.
                assert hit is None or hit[0].text == own
                cache.update("the one shared question", LLM, answer("shared"))
                shared = cache.lookup("the one shared question", LLM)
                assert shared is None or shared[0].text == "shared"
                if step % 20 == 0:
                    cache.invalidate(f"worker {worker} question {step}", LLM)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(index,)) for index in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(cache) <= 150
    stats = cache.stats()
    assert stats.entries == len(cache)


def test_concurrent_first_writes_of_one_prompt_leave_one_entry(
    word_bag: Any,
) -> None:
    cache = SemanticFaissCache(embeddings=word_bag, similarity_threshold=0.9)
    barrier = threading.Barrier(16)

    def write(index: int) -> None:
        barrier.wait()
        cache.update(ask("same prompt"), LLM, answer(f"answer {index}"))

    threads = [threading.Thread(target=write, args=(index,)) for index in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(cache) == 1
    hit = cache.lookup(ask("same prompt"), LLM)
    assert hit is not None
    assert hit[0].text.startswith("answer ")


async def test_async_matches_sync_and_does_not_block_the_loop(
    word_bag: Any, word_bag_factory: Callable[[], Any]
) -> None:
    sync_cache = SemanticFaissCache(
        embeddings=word_bag_factory(), similarity_threshold=0.8
    )
    async_cache = SemanticFaissCache(embeddings=word_bag, similarity_threshold=0.8)
    prompts = [
        ask("capital of france"),
        ask("the capital of france"),
        ask("something else"),
    ]
    sync_cache.update(prompts[0], LLM, answer("Paris"))
    await async_cache.aupdate(prompts[0], LLM, answer("Paris"))
    loop_thread = threading.get_ident()
    for prompt in prompts:
        expected = sync_cache.lookup(prompt, LLM)
        got = await async_cache.alookup(prompt, LLM)
        assert got == expected
    assert loop_thread not in word_bag.threads
    assert sync_cache.stats().semantic_hits == async_cache.stats().semantic_hits == 1
    await async_cache.aclear()
    assert len(async_cache) == 0


def test_default_construction_needs_no_argument() -> None:
    cache = SemanticFaissCache()
    assert isinstance(cache.embeddings, DefaultEmbeddings)
    assert cache.similarity_threshold == semantic_module.DEFAULT_SIMILARITY_THRESHOLD


def test_a_partition_past_the_threshold_is_searched_approximately(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import functools
    import hashlib

    import numpy as np
    from langchain_core.embeddings import Embeddings

    from langchain_finops.cache._index import AdaptiveIndex

    class PunctuationBlindEmbeddings(Embeddings):
        """A random unit vector per text, the same with or without a "?"."""

        def embed_query(self, text: str) -> list[float]:
            seed = hashlib.sha256(text.rstrip("?").encode()).digest()
            vector = np.random.default_rng(list(seed)).normal(size=64)
            return [float(x) for x in vector / np.linalg.norm(vector)]

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return [self.embed_query(text) for text in texts]

    monkeypatch.setattr(
        semantic_module,
        "AdaptiveIndex",
        functools.partial(AdaptiveIndex, threshold=1_000),
    )
    cache = SemanticFaissCache(
        embeddings=PunctuationBlindEmbeddings(), similarity_threshold=0.9
    )
    for number in range(1_100):
        cache.update(ask(f"order{number} status"), LLM, answer(f"status of {number}"))
    (index,) = cache._indexes.values()
    assert isinstance(index, AdaptiveIndex)
    assert index.approximate
    # Punctuation changes the exact key, not the words: a semantic hit.
    hit = cache.lookup(ask("order742 status?"), LLM)
    assert hit is not None
    assert hit[0].text == "status of 742"
    assert hit[0].message.response_metadata["finops_cache"]["tier"] == "semantic"
