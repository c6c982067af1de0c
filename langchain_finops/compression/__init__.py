"""Prompt compression: fewer input tokens for the same meaning."""

from langchain_finops.compression.compressor import (
    NO_COMPRESS_KEY,
    QUERY_CONFIG_KEY,
    CompressionReport,
    CompressionResult,
    PromptCompressor,
    PromptInput,
)

__all__ = (
    "NO_COMPRESS_KEY",
    "QUERY_CONFIG_KEY",
    "CompressionReport",
    "CompressionResult",
    "PromptCompressor",
    "PromptInput",
)
