"""The async paths never block the event loop (blockbuster fails any blocking call)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from blockbuster import blockbuster_ctx
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from langchain_finops.memory import (
    ChatHistorySummaryStore,
    RollingSummaryBufferMemory,
    RollingSummaryMemory,
    SQLiteSummaryStore,
)
from langchain_finops.memory._stores import BaseSummaryStore
from langchain_finops.testing import FakeUsageChatModel
from tests.unit_tests.memory.memory_testkit import MODEL, CopyingHistory, words


def summarizer() -> FakeUsageChatModel:
    return FakeUsageChatModel(model_name=MODEL, responses=[words(5, "sum")])


def stores(tmp_path: Path) -> list[BaseSummaryStore | None]:
    history = CopyingHistory()
    return [
        None,
        SQLiteSummaryStore(tmp_path / "memory.db"),
        ChatHistorySummaryStore(lambda _sid: history),
    ]


async def test_the_lcel_step_does_not_block(tmp_path: Path) -> None:
    for store in stores(tmp_path):
        memory = RollingSummaryMemory(
            llm=summarizer(), max_tokens=200, max_summary_tokens=40, store=store
        )
        config: Any = {"configurable": {"session_id": "s"}}
        with blockbuster_ctx():
            await memory.ainvoke(
                [SystemMessage("Be brief."), HumanMessage(words(16))], config
            )
            for _ in range(8):
                out = await memory.ainvoke(
                    [AIMessage(words(16)), HumanMessage(words(16))], config
                )
            state = await memory.aget_state("s")
        assert state.summarized_messages > 0
        assert out[0] == SystemMessage("Be brief.")


async def test_the_classic_memory_does_not_block() -> None:
    memory = RollingSummaryBufferMemory(
        llm=summarizer(), max_token_limit=200, max_summary_tokens=40
    )
    with blockbuster_ctx():
        for _ in range(6):
            await memory.asave_context({"input": words(16)}, {"output": words(16)})
        variables = await memory.aload_memory_variables({})
    assert variables["history"].startswith(
        "System: Summary of the earlier conversation:"
    )


async def test_the_agent_middleware_does_not_block() -> None:
    from langchain.agents import create_agent

    from langchain_finops.memory import RollingSummaryMiddleware
    from tests.unit_tests.memory.memory_testkit import ToolCallingFake

    model = ToolCallingFake(model_name="gpt-4o", responses=[words(16)])
    middleware = RollingSummaryMiddleware(
        llm=summarizer(), max_tokens=200, max_summary_tokens=40
    )
    agent = create_agent(model, system_prompt="Be brief.", middleware=[middleware])
    messages: list[Any] = []
    with blockbuster_ctx():
        for _ in range(6):
            messages.append(HumanMessage(words(16)))
            result = await agent.ainvoke({"messages": messages})
            messages = result["messages"]
    marker = result["messages"][0].additional_kwargs["finops_summary"]
    assert marker["summarized_messages"] > 0
