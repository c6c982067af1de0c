"""The classic `save_context` / `load_memory_variables` shape.

With max_token_limit=200 and a 40-token summary cap, each exchange of two
16-word messages adds 40 tokens; the fifth makes 3 + 200 = 203 > 200, and
the oldest 8 messages are folded (kept target 0.6 * 200 - 3 - 40 = 77: 7
would leave 60 but message 7 is an AI turn, so the 8th goes too).
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from langchain_finops.costs import count_tokens
from langchain_finops.memory import (
    ConversationSummaryBufferMemory,
    RollingSummaryBufferMemory,
)
from langchain_finops.testing import FakeUsageChatModel
from tests.unit_tests.memory.memory_testkit import MODEL, CopyingHistory, words

SUMMARY = "Summary of the earlier conversation:\n" + words(5, "sum")


def make(**kwargs: Any) -> RollingSummaryBufferMemory:
    llm = FakeUsageChatModel(model_name=MODEL, responses=[words(5, "sum")])
    settings: dict[str, Any] = {"max_token_limit": 200, "max_summary_tokens": 40}
    settings.update(kwargs)
    return RollingSummaryBufferMemory(llm=llm, **settings)


def exchanges(memory: RollingSummaryBufferMemory, count: int) -> None:
    for _ in range(count):
        memory.save_context({"input": words(16, "dog")}, {"output": words(16, "cat")})


def test_the_old_name_is_the_same_class() -> None:
    assert ConversationSummaryBufferMemory is RollingSummaryBufferMemory
    memory = make()
    assert memory.memory_variables == ["history"]
    assert memory.max_token_limit == 200


def test_string_form_holds_the_summary_then_the_buffer() -> None:
    memory = make()
    exchanges(memory, 4)
    assert memory.moving_summary_buffer == ""
    assert memory.load_memory_variables({})["history"].count("\n") == 7

    exchanges(memory, 1)

    assert memory.moving_summary_buffer == words(5, "sum")
    human, ai = words(16, "dog"), words(16, "cat")
    assert memory.load_memory_variables({}) == {
        "history": f"System: {SUMMARY}\nHuman: {human}\nAI: {ai}"
    }


def test_message_form_fits_max_token_limit_with_the_summary() -> None:
    memory = make(return_messages=True)
    exchanges(memory, 5)
    messages = memory.load_memory_variables({})["history"]

    assert messages == [
        SystemMessage(SUMMARY),
        HumanMessage(words(16, "dog")),
        AIMessage(words(16, "cat")),
    ]
    assert count_tokens(messages, model=MODEL) == 3 + 15 + 40
    assert memory.buffer == messages


def test_pruning_is_written_to_a_history_whose_messages_are_a_copy() -> None:
    history = CopyingHistory()
    memory = make(chat_memory=history)
    exchanges(memory, 5)

    assert history.clears == 1
    assert len(history._rows) == 3
    assert history._rows[0].additional_kwargs["finops_summary"] == {
        "summarized_messages": 8,
        "summarized_tokens": 160,
    }
    # A new memory over the same history has the summary back.
    assert make(chat_memory=history).moving_summary_buffer == words(5, "sum")


async def test_async_methods_reach_the_same_state() -> None:
    sync_memory, async_memory = make(), make()
    for _ in range(9):
        inputs, outputs = {"input": words(16, "dog")}, {"output": words(16, "cat")}
        sync_memory.save_context(inputs, outputs)
        await async_memory.asave_context(inputs, outputs)
        assert await async_memory.aload_memory_variables(
            {}
        ) == sync_memory.load_memory_variables({})
    assert async_memory.chat_memory.messages == sync_memory.chat_memory.messages
    await async_memory.aclear()
    assert await async_memory.aload_memory_variables({}) == {"history": ""}


def test_a_starting_summary_comes_first() -> None:
    memory = make(moving_summary_buffer="Ada likes tea.", return_messages=True)
    memory.save_context({"q": "hi"}, {"a": "hello"})
    assert memory.load_memory_variables({})["history"] == [
        SystemMessage("Summary of the earlier conversation:\nAda likes tea."),
        HumanMessage("hi"),
        AIMessage("hello"),
    ]
    memory.clear()
    assert memory.load_memory_variables({})["history"] == []


def test_keys_are_inferred_as_the_classic_memory_did() -> None:
    memory = make(return_messages=True)
    memory.save_context(
        {"question": "hi", "history": "ignored", "stop": ["\n"]},
        {"output": "hello", "intermediate_steps": []},
    )
    assert [m.text for m in memory.load_memory_variables({})["history"]] == [
        "hi",
        "hello",
    ]

    with pytest.raises(ValueError, match="Pass `input_key=`"):
        memory.save_context({"a": "1", "b": "2"}, {"output": "x"})
    with pytest.raises(ValueError, match="Pass `output_key=`"):
        memory.save_context({"a": "1"}, {"x": "1", "y": "2"})

    explicit = make(input_key="b", output_key="y", return_messages=True)
    explicit.save_context({"a": "1", "b": "2"}, {"x": "3", "y": "4"})
    assert [m.text for m in explicit.load_memory_variables({})["history"]] == ["2", "4"]


def test_chat_memory_must_be_a_history() -> None:
    with pytest.raises(TypeError, match="BaseChatMessageHistory"):
        make(chat_memory=[])
