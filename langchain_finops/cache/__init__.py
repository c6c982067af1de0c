"""The semantic LLM cache (FAISS and onnxruntime are imported on first use)."""

from langchain_finops.cache._stats import CacheStats
from langchain_finops.cache._store import EmbedderMismatchError
from langchain_finops.cache.semantic import CalibrationReport, SemanticFaissCache
from langchain_finops.cache.streaming import CachedStreamingChatModel

__all__ = (
    "CacheStats",
    "CachedStreamingChatModel",
    "CalibrationReport",
    "EmbedderMismatchError",
    "SemanticFaissCache",
)
