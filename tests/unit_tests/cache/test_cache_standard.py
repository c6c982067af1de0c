from __future__ import annotations

from typing import Any

import pytest
from langchain_core.caches import BaseCache
from langchain_tests.integration_tests.cache import (
    AsyncCacheTestSuite,
    SyncCacheTestSuite,
)

from langchain_finops.cache import SemanticFaissCache


class TestSemanticFaissCacheSync(SyncCacheTestSuite):
    @pytest.fixture
    def cache(self, word_bag: Any) -> BaseCache:
        return SemanticFaissCache(embeddings=word_bag, similarity_threshold=0.9)


class TestSemanticFaissCacheAsync(AsyncCacheTestSuite):
    @pytest.fixture
    async def cache(self, word_bag: Any) -> BaseCache:
        return SemanticFaissCache(embeddings=word_bag, similarity_threshold=0.9)


class TestPersistedSemanticFaissCacheSync(SyncCacheTestSuite):
    @pytest.fixture
    def cache(self, word_bag: Any, tmp_path: Any) -> BaseCache:
        return SemanticFaissCache(
            embeddings=word_bag, similarity_threshold=0.9, persist_dir=tmp_path
        )
