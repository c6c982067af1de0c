"""Rolling summary memory: a long conversation at a bounded cost per turn.

One policy in three forms: `RollingSummaryMemory` (an LCEL step),
`RollingSummaryMiddleware` (for `create_agent`) and
`RollingSummaryBufferMemory` (the classic `save_context` /
`load_memory_variables` shape, also importable as
`ConversationSummaryBufferMemory`).
"""

from langchain_finops.memory._buffer import (
    ConversationSummaryBufferMemory,
    RollingSummaryBufferMemory,
)
from langchain_finops.memory._middleware import RollingSummaryMiddleware
from langchain_finops.memory._policy import RollingSummaryPolicy
from langchain_finops.memory._runnable import RollingSummaryMemory
from langchain_finops.memory._state import MemoryState
from langchain_finops.memory._stores import (
    BaseSummaryStore,
    ChatHistorySummaryStore,
    InMemorySummaryStore,
    SQLiteSummaryStore,
)

__all__ = (
    "BaseSummaryStore",
    "ChatHistorySummaryStore",
    "ConversationSummaryBufferMemory",
    "InMemorySummaryStore",
    "MemoryState",
    "RollingSummaryBufferMemory",
    "RollingSummaryMemory",
    "RollingSummaryMiddleware",
    "RollingSummaryPolicy",
    "SQLiteSummaryStore",
)
