"""langchain-finops: cut what LangChain applications pay for LLM APIs.

Five techniques, each usable alone and all composable in one chain or agent:
`SemanticFaissCache`, `create_model_router`, `RollingSummaryMemory`,
`PromptCompressor`, and the cost ledger `CostCallbackHandler` / `track_costs`
that every part reports into. Heavy dependencies (FAISS, onnxruntime) load
only when the part that needs them is first used.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langchain_finops.costs import (
        CostCallbackHandler,
        PriceTable,
        TokenCount,
        count_tokens,
        track_costs,
    )

__all__ = (
    "CostCallbackHandler",
    "PriceTable",
    "TokenCount",
    "count_tokens",
    "track_costs",
)

# Public name -> the module that defines it.
_EXPORTS = {
    "CostCallbackHandler": "langchain_finops.costs",
    "PriceTable": "langchain_finops.costs",
    "TokenCount": "langchain_finops.costs",
    "count_tokens": "langchain_finops.costs",
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
