from __future__ import annotations

from decimal import Decimal

from langchain_finops.cache import CachedStreamingChatModel, SemanticFaissCache
from langchain_finops.costs import track_costs
from langchain_finops.embeddings import DefaultEmbeddings
from langchain_finops.testing import FakeUsageChatModel


def test_a_semantic_hit_is_booked_as_a_cache_saving(
    real_embeddings: DefaultEmbeddings,
) -> None:
    cache = SemanticFaissCache(embeddings=real_embeddings)
    model = FakeUsageChatModel(
        model_name="gpt-4o-mini", responses=["Paris."], cache=cache
    )
    with track_costs() as ledger:
        first = model.invoke("What is the capital of France?")
        model.invoke("What's the capital of France?")
    assert first.usage_metadata is not None
    assert (
        first.usage_metadata["input_tokens"],
        first.usage_metadata["output_tokens"],
    ) == (14, 2)
    # gpt-4o-mini: 14 * $0.15/M + 2 * $0.60/M = $0.0000033, paid once, saved once.
    assert ledger.total_cost == Decimal("0.0000033")
    assert ledger.savings["cache"].events == 1
    assert ledger.savings["cache"].gross_saved == Decimal("0.0000033")
    assert cache.stats().dollars_saved == Decimal("0.0000033")


def test_a_streamed_hit_is_booked_as_a_cache_saving(
    real_embeddings: DefaultEmbeddings,
) -> None:
    cache = SemanticFaissCache(embeddings=real_embeddings)
    model = CachedStreamingChatModel(
        model=FakeUsageChatModel(model_name="gpt-4o-mini", responses=["Paris."]),
        llm_cache=cache,
    )
    with track_costs() as ledger:
        list(model.stream("What is the capital of France?"))
        list(model.stream("What's the capital of France?"))
    assert ledger.total_cost == Decimal("0.0000033")
    assert ledger.savings["cache"].events == 1
    assert ledger.savings["cache"].gross_saved == Decimal("0.0000033")
