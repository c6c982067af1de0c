"""`RollingSummaryMiddleware` inside a real `create_agent` agent."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from langchain.agents import create_agent
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver

from langchain_finops.costs import count_tokens
from langchain_finops.costs.events import OVERHEAD_METADATA_KEY, SAVING_EVENT
from langchain_finops.memory import RollingSummaryMiddleware
from langchain_finops.testing import FakeUsageChatModel
from tests.unit_tests.memory.memory_testkit import (
    MODEL,
    Recorder,
    ToolCallingFake,
    words,
)

AGENT_MODEL = "gpt-4o"
SYSTEM_PROMPT = "You report the weather of the cities the user names."
BUDGET = 600


@tool
def weather(city: str) -> str:
    """The current weather of a city."""
    return f"Sunny in {city}, 21 degrees, light wind from the north-west."


def agent_replies(turns: int) -> list[AIMessage]:
    """Per turn: two parallel tool calls, then a final answer."""
    replies: list[AIMessage] = []
    for turn in range(turns):
        calls = [
            {
                "name": "weather",
                "args": {"city": f"{city}{turn}"},
                "id": f"{city}{turn}",
            }
            for city in ("Paris", "Rome")
        ]
        replies.append(AIMessage("", tool_calls=calls))
        replies.append(AIMessage(f"Paris and Rome are sunny today ({words(12)})."))
    return replies


class Events(BaseCallbackHandler):
    def __init__(self) -> None:
        self.savings: list[dict[str, Any]] = []
        self.summarizer_runs: list[tuple[dict[str, Any], list[str]]] = []

    def on_custom_event(self, name: str, data: Any, **kwargs: Any) -> None:
        if name == SAVING_EVENT:
            self.savings.append(data)

    def on_chat_model_start(
        self, serialized: Any, messages: Any, *, run_id: UUID, **kwargs: Any
    ) -> None:
        metadata = dict(kwargs.get("metadata") or {})
        if OVERHEAD_METADATA_KEY in metadata:
            self.summarizer_runs.append((metadata, list(kwargs.get("tags") or [])))


def build(summarizer: Any = None, turns: int = 8) -> tuple[Any, Recorder]:
    recorder = Recorder()
    model = ToolCallingFake(
        model_name=AGENT_MODEL, responses=agent_replies(turns), fail_with=recorder
    )
    llm = summarizer or FakeUsageChatModel(
        model_name=MODEL, responses=[words(8, "sum")]
    )
    middleware = RollingSummaryMiddleware(
        llm=llm, max_tokens=BUDGET, max_summary_tokens=60
    )
    agent = create_agent(
        model,
        tools=[weather],
        system_prompt=SYSTEM_PROMPT,
        middleware=[middleware],
        checkpointer=InMemorySaver(),
    )
    return agent, recorder


def question(turn: int) -> dict[str, Any]:
    return {
        "messages": [
            HumanMessage(f"Weather in Paris and Rome, take {turn}? {words(20)}")
        ]
    }


THREAD = {"configurable": {"thread_id": "t1"}}


def whole_units(messages: list[BaseMessage]) -> bool:
    if messages and isinstance(messages[0], ToolMessage):
        return False
    pending: set[str] = set()
    for message in messages:
        if isinstance(message, ToolMessage):
            if message.tool_call_id not in pending:
                return False
            pending.discard(message.tool_call_id)
        elif pending:
            return False
        if isinstance(message, AIMessage):
            pending = {str(c["id"]) for c in message.tool_calls}
    return True


def test_every_model_request_fits_the_budget_and_keeps_tool_calls_whole() -> None:
    agent, recorder = build()
    for turn in range(8):
        agent.invoke(question(turn), THREAD)

    assert len(recorder.requests) == 16
    for request in recorder.requests:
        assert count_tokens(request, model=AGENT_MODEL, tools=[weather]) <= BUDGET
        assert request[0] == SystemMessage(SYSTEM_PROMPT)
        rest = request[1:]
        if rest[0].text.startswith("Summary of the earlier conversation:"):
            rest = rest[1:]
        assert whole_units(rest)
    summarized = [r for r in recorder.requests if "Summary of the" in r[1].text]
    assert summarized
    assert isinstance(summarized[0][1], HumanMessage)


def test_folded_messages_leave_the_checkpointed_state() -> None:
    agent, _ = build()
    sent_total = 0
    for turn in range(8):
        agent.invoke(question(turn), THREAD)
        sent_total += 5  # a question, a call, two results, an answer

    values = agent.get_state(THREAD).values
    first, *kept = values["messages"]
    marker = first.additional_kwargs["finops_summary"]
    assert isinstance(first, HumanMessage)
    assert first.text == "Summary of the earlier conversation:\n" + words(8, "sum")
    assert marker["summarized_messages"] + len(kept) == sent_total
    assert marker["summarized_messages"] > 0
    assert not isinstance(kept[0], ToolMessage)
    assert (
        sum(isinstance(m.additional_kwargs.get("finops_summary"), dict) for m in kept)
        == 0
    )


def test_without_a_checkpointer_the_returned_messages_carry_the_summary() -> None:
    recorder = Recorder()
    summarizer = FakeUsageChatModel(
        model_name=MODEL, responses=["first sum", "second sum"], fail_with=recorder
    )
    model = ToolCallingFake(model_name=AGENT_MODEL, responses=agent_replies(12))
    middleware = RollingSummaryMiddleware(llm=summarizer, max_tokens=BUDGET)
    agent = create_agent(
        model, tools=[weather], system_prompt=SYSTEM_PROMPT, middleware=[middleware]
    )
    messages: list[Any] = []
    for turn in range(12):
        messages = [*messages, *question(turn)["messages"]]
        messages = agent.invoke({"messages": messages})["messages"]

    assert len(recorder.requests) >= 2
    assert recorder.requests[1][-1].text.startswith("Summary so far:\nfirst sum\n")
    assert messages[0].text == "Summary of the earlier conversation:\nsecond sum"


def test_savings_and_overhead_are_reported_inside_the_agent_run() -> None:
    agent, recorder = build()
    events = Events()
    for turn in range(8):
        agent.invoke(question(turn), {**THREAD, "callbacks": [events]})

    assert len(events.savings) == 16
    for saving, request in zip(events.savings, recorder.requests, strict=True):
        sent = count_tokens(request, model=AGENT_MODEL, tools=[weather])
        assert saving["technique"] == "memory"
        assert saving["model"] == AGENT_MODEL
        assert saving["detail"]["sent_tokens"] == sent
        assert saving["tokens_saved"] == saving["detail"]["full_tokens"] - sent
    assert events.savings[-1]["tokens_saved"] > 0
    calls = sum(s["detail"]["summarizer_calls"] for s in events.savings)
    assert len(events.summarizer_runs) == calls > 0
    metadata, tags = events.summarizer_runs[0]
    assert metadata[OVERHEAD_METADATA_KEY] == "memory"
    assert "nostream" in tags


async def test_async_agent_reaches_the_same_state_as_sync() -> None:
    sync_agent, sync_recorder = build()
    async_agent, async_recorder = build()
    for turn in range(8):
        sync_agent.invoke(question(turn), THREAD)
        await async_agent.ainvoke(question(turn), THREAD)

    sync_values = sync_agent.get_state(THREAD).values
    async_values = (await async_agent.aget_state(THREAD)).values

    def shape(messages: list[BaseMessage]) -> list[tuple[str, str]]:
        return [(m.type, m.text) for m in messages]

    assert shape(async_values["messages"]) == shape(sync_values["messages"])
    assert (
        async_values["messages"][0].additional_kwargs
        == sync_values["messages"][0].additional_kwargs
    )
    assert [shape(r) for r in async_recorder.requests] == [
        shape(r) for r in sync_recorder.requests
    ]


def test_a_failing_summariser_keeps_the_state_and_the_budget() -> None:
    failing = FakeUsageChatModel(
        model_name=MODEL, fail_with=lambda _messages: RuntimeError("down")
    )
    agent, recorder = build(summarizer=failing)
    for turn in range(8):
        agent.invoke(question(turn), THREAD)

    values = agent.get_state(THREAD).values
    assert not any("finops_summary" in m.additional_kwargs for m in values["messages"])
    assert len(values["messages"]) == 40
    for request in recorder.requests:
        assert count_tokens(request, model=AGENT_MODEL, tools=[weather]) <= BUDGET
        assert request[0] == SystemMessage(SYSTEM_PROMPT)
        assert whole_units(request[1:])


def test_a_system_role_summary_is_read_back_as_the_summary() -> None:
    recorder = Recorder()
    model = ToolCallingFake(
        model_name=AGENT_MODEL, responses=agent_replies(8), fail_with=recorder
    )
    summarizer = FakeUsageChatModel(model_name=MODEL, responses=[words(8, "sum")])
    middleware = RollingSummaryMiddleware(
        llm=summarizer, max_tokens=BUDGET, max_summary_tokens=60, summary_role="system"
    )
    agent = create_agent(
        model,
        tools=[weather],
        system_prompt=SYSTEM_PROMPT,
        middleware=[middleware],
        checkpointer=InMemorySaver(),
    )
    for turn in range(8):
        agent.invoke(question(turn), THREAD)

    summarized = [r for r in recorder.requests if "Summary of the" in r[1].text]
    assert summarized
    for request in summarized:
        # System prompt, then exactly one summary, then the conversation.
        assert isinstance(request[1], SystemMessage)
        assert sum("Summary of the" in m.text for m in request) == 1
        assert not isinstance(request[2], SystemMessage)
        assert count_tokens(request, model=AGENT_MODEL, tools=[weather]) <= BUDGET
    assert (
        agent.get_state(THREAD)
        .values["messages"][0]
        .additional_kwargs["finops_summary"]
    )
