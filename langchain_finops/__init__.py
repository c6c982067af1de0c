"""langchain-finops: cut what LangChain applications pay for LLM APIs.

Five techniques, each usable alone and all composable in one chain or agent:
`SemanticFaissCache`, `create_model_router`, `RollingSummaryMemory`,
`PromptCompressor`, and the cost ledger `CostCallbackHandler` / `track_costs`
that every part reports into. Each name is imported on first use, so
`import langchain_finops` stays light and FAISS or onnxruntime load only for
the parts that need them.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langchain_finops.cache import (
        CachedStreamingChatModel,
        SemanticFaissCache,
    )
    from langchain_finops.compression import (
        PromptCompressor,
    )
    from langchain_finops.costs import (
        CostCallbackHandler,
        PriceTable,
        TokenCount,
        count_tokens,
        track_costs,
    )
    from langchain_finops.embeddings import (
        DefaultEmbeddings,
    )
    from langchain_finops.memory import (
        RollingSummaryMemory,
        RollingSummaryMiddleware,
    )
    from langchain_finops.routing import (
        IntentClassifier,
        LearnedComplexityClassifier,
        LLMClassifier,
        create_model_router,
    )

__all__ = (
    "CachedStreamingChatModel",
    "CostCallbackHandler",
    "DefaultEmbeddings",
    "IntentClassifier",
    "LLMClassifier",
    "LearnedComplexityClassifier",
    "PriceTable",
    "PromptCompressor",
    "RollingSummaryMemory",
    "RollingSummaryMiddleware",
    "SemanticFaissCache",
    "TokenCount",
    "count_tokens",
    "create_model_router",
    "track_costs",
)

# Public name -> the module that defines it.
_EXPORTS = {
    "CachedStreamingChatModel": "langchain_finops.cache",
    "CostCallbackHandler": "langchain_finops.costs",
    "DefaultEmbeddings": "langchain_finops.embeddings",
    "IntentClassifier": "langchain_finops.routing",
    "LLMClassifier": "langchain_finops.routing",
    "LearnedComplexityClassifier": "langchain_finops.routing",
    "PriceTable": "langchain_finops.costs",
    "PromptCompressor": "langchain_finops.compression",
    "RollingSummaryMemory": "langchain_finops.memory",
    "RollingSummaryMiddleware": "langchain_finops.memory",
    "SemanticFaissCache": "langchain_finops.cache",
    "TokenCount": "langchain_finops.costs",
    "count_tokens": "langchain_finops.costs",
    "create_model_router": "langchain_finops.routing",
    "track_costs": "langchain_finops.costs",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        msg = f"module 'langchain_finops' has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
