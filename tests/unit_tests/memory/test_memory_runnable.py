"""`RollingSummaryMemory` as an LCEL step: sessions, stores, failures, ledger.

Costs as in test_memory_policy: a 16-word message is 20 tokens, the system
prompt 10, the 5-word summary message 15, a request adds 3. With
max_tokens=200, max_summary_tokens=40 and the default watermarks (0.6, 1.0),
a session that adds 20 tokens on its first turn and 40 on each later one
(the previous reply and a new question) sends, turn by turn:
33, 73, 113, 153, 193, then 233 > 200 summarises 8 messages down to 88, then
128, 168, and at 208 summarises again (6 messages) down to 88: the
summariser runs on turns 6, 9, 12, 15 and 18.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.chat_history import InMemoryChatMessageHistory
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.runnables import RunnableLambda

from langchain_finops.costs import CostCallbackHandler, count_tokens
from langchain_finops.costs.events import OVERHEAD_METADATA_KEY, SAVING_EVENT
from langchain_finops.memory import (
    ChatHistorySummaryStore,
    InMemorySummaryStore,
    RollingSummaryMemory,
    SQLiteSummaryStore,
)
from langchain_finops.memory._stores import write_history
from langchain_finops.testing import FakeUsageChatModel
from tests.unit_tests.memory.memory_testkit import (
    MODEL,
    CopyingHistory,
    Recorder,
    words,
)

SYSTEM = SystemMessage(words(6, "sys"))
SUMMARY = "Summary of the earlier conversation:\n" + words(5, "sum")
EXPECTED_SENT = [33, 73, 113, 153, 193, 88, 128, 168] + [88, 128, 168] * 4


def turn_input(turn: int) -> list[BaseMessage]:
    """What a chat loop passes on turn `turn` (1-based): reply, then question."""
    question = HumanMessage(words(16), id=f"h{turn}")
    if turn == 1:
        return [SYSTEM, question]
    return [AIMessage(words(16), id=f"a{turn - 1}"), question]


def make_memory(summarizer: Any = None, **kwargs: Any) -> RollingSummaryMemory:
    llm = summarizer or FakeUsageChatModel(
        model_name=MODEL, responses=[words(5, "sum")]
    )
    settings: dict[str, Any] = {"max_tokens": 200, "max_summary_tokens": 40}
    settings.update(kwargs)
    return RollingSummaryMemory(llm=llm, **settings)


def config(session: str = "alice", **extra: Any) -> dict[str, Any]:
    return {"configurable": {"session_id": session}, **extra}


class Events(BaseCallbackHandler):
    """Collects saving reports and the metadata of chat-model runs."""

    def __init__(self) -> None:
        self.savings: list[dict[str, Any]] = []
        self.model_metadata: list[dict[str, Any]] = []

    def on_custom_event(self, name: str, data: Any, **kwargs: Any) -> None:
        if name == SAVING_EVENT:
            self.savings.append(data)

    def on_chat_model_start(
        self, serialized: Any, messages: Any, *, run_id: UUID, **kwargs: Any
    ) -> None:
        self.model_metadata.append(dict(kwargs.get("metadata") or {}))


def test_a_session_summarises_every_few_turns_at_a_flat_cost() -> None:
    recorder = Recorder()
    summarizer = FakeUsageChatModel(
        model_name=MODEL, responses=[words(5, "sum")], fail_with=recorder
    )
    memory = make_memory(summarizer)

    sent = [
        count_tokens(memory.invoke(turn_input(t), config()), model=MODEL)
        for t in range(1, 21)
    ]

    assert sent == EXPECTED_SENT
    assert len(recorder.requests) == 5
    state = memory.get_state("alice")
    assert state.system == (SYSTEM,)
    assert state.summary == words(5, "sum")
    assert state.summarized_messages == 8 + 4 * 6 == 32
    assert [m.id for m in state.messages] == [
        "h17",
        "a17",
        "h18",
        "a18",
        "h19",
        "a19",
        "h20",
    ]
    assert len(state.messages) == 39 - 32


def test_sent_messages_are_system_then_summary_then_recent() -> None:
    memory = make_memory()
    for turn in range(1, 6):
        memory.invoke(turn_input(turn), config())
    out = memory.invoke(turn_input(6), config())

    assert out[0] == SYSTEM
    assert out[1] == HumanMessage(SUMMARY)
    assert [m.id for m in out[2:]] == ["h5", "a5", "h6"]


async def test_async_gives_the_same_state_and_output_as_sync() -> None:
    sync_memory, async_memory = make_memory(), make_memory()
    for turn in range(1, 21):
        expected = sync_memory.invoke(turn_input(turn), config())
        got = await async_memory.ainvoke(turn_input(turn), config())
        assert got == expected
    assert (await async_memory.aget_state("alice")) == sync_memory.get_state("alice")


def test_savings_are_reported_against_the_full_history() -> None:
    events = Events()
    memory = make_memory()
    for turn in range(1, 21):
        memory.invoke(turn_input(turn), config(callbacks=[events]))

    assert len(events.savings) == 20
    first, sixth, last = events.savings[0], events.savings[5], events.savings[19]
    assert first["tokens_saved"] == 0
    assert sixth["technique"] == "memory"
    assert sixth["tokens_saved"] == 233 - 88
    assert sixth["detail"]["summarizer_calls"] == 1
    assert sixth["detail"]["summarized_now"] == 8
    # Turn 20: 39 messages of 20 tokens and the system prompt, against 168.
    assert last["detail"]["full_tokens"] == 3 + 10 + 39 * 20
    assert last["tokens_saved"] == 793 - 168
    assert last["model"] is None


def test_summariser_calls_are_marked_as_memory_overhead() -> None:
    events = Events()
    memory = make_memory()
    for turn in range(1, 7):
        memory.invoke(turn_input(turn), config(callbacks=[events]))
    assert len(events.model_metadata) == 1
    assert events.model_metadata[0][OVERHEAD_METADATA_KEY] == "memory"


def test_the_cost_handler_books_the_saving_net_of_the_summariser() -> None:
    recorder = Recorder()
    summarizer = FakeUsageChatModel(
        model_name=MODEL, responses=[words(5, "sum")], fail_with=recorder
    )
    memory = make_memory(summarizer, model=MODEL)
    handler = CostCallbackHandler()
    for turn in range(1, 7):
        memory.invoke(turn_input(turn), config(callbacks=[handler]))

    saving = handler.savings["memory"]
    # gpt-4o-mini: $0.15 per million input tokens, $0.60 per million output.
    input_price, output_price = Decimal("0.15") / 10**6, Decimal("0.60") / 10**6
    summarizer_input = count_tokens(recorder.requests[0], model=MODEL)
    overhead = summarizer_input * input_price + 5 * output_price
    assert saving.tokens_saved == 145
    assert saving.gross_saved == 145 * input_price
    assert saving.overhead_calls == 1
    assert saving.overhead_cost == overhead
    assert saving.net_saved == 145 * input_price - overhead


def test_without_a_session_nothing_is_remembered() -> None:
    recorder = Recorder()
    summarizer = FakeUsageChatModel(
        model_name=MODEL, responses=[words(5, "sum")], fail_with=recorder
    )
    memory = make_memory(summarizer)
    conversation = [SYSTEM] + [
        (HumanMessage if i % 2 == 0 else AIMessage)(words(16), id=f"m{i}")
        for i in range(11)
    ]

    out = memory.invoke(conversation)
    again = memory.invoke(conversation)

    assert out == again
    assert [m.id for m in out[2:]] == ["m8", "m9", "m10"]
    assert count_tokens(out, model=MODEL) == 88
    assert len(recorder.requests) == 2


def test_a_prompt_value_and_a_string_are_accepted() -> None:
    from langchain_core.prompts import ChatPromptTemplate

    prompt = ChatPromptTemplate.from_messages(
        [("system", "Be brief."), ("human", "{q}")]
    )
    memory = make_memory()
    out = (prompt | memory).invoke({"q": "hello"})
    assert [m.type for m in out] == ["system", "human"]
    assert memory.invoke("hello") == [HumanMessage("hello")]


def test_the_stored_system_prompt_is_sent_until_a_new_one_replaces_it() -> None:
    memory = make_memory()
    memory.invoke([SYSTEM, HumanMessage("hi")], config())
    out = memory.invoke([AIMessage("hello"), HumanMessage("again")], config())
    assert out[0] == SYSTEM

    new_system = SystemMessage("Answer in French.")
    out = memory.invoke([new_system, AIMessage("ok"), HumanMessage("encore")], config())
    assert out[0] == new_system
    assert memory.get_state("alice").system == (new_system,)
    assert [m.text for m in memory.get_state("alice").messages] == [
        "hi",
        "hello",
        "again",
        "ok",
        "encore",
    ]


def test_a_system_prompt_over_the_budget_raises_before_any_call() -> None:
    memory = make_memory()
    with pytest.raises(ValueError, match="max_tokens=200"):
        memory.invoke([SystemMessage(words(300, "sys")), HumanMessage("hi")])


def test_a_failing_summariser_loses_nothing_and_is_retried(
    caplog: pytest.LogCaptureFixture,
) -> None:
    recorder = Recorder(fail_calls=[1])
    summarizer = FakeUsageChatModel(
        model_name=MODEL, responses=[words(5, "sum")], fail_with=recorder
    )
    memory = make_memory(summarizer)
    for turn in range(1, 6):
        memory.invoke(turn_input(turn), config())

    with caplog.at_level(logging.WARNING, logger="langchain_finops.memory"):
        out = memory.invoke(turn_input(6), config())

    state = memory.get_state("alice")
    assert state.summary == ""
    assert len(state.messages) == 11  # every message stays
    # 187 tokens are left after the system prompt: the last 9 messages.
    assert out[1].id == "h2"
    assert count_tokens(out, model=MODEL) == 3 + 10 + 9 * 20
    assert "RuntimeError" in caplog.text
    assert "secret-words" not in caplog.text
    assert "cat" not in caplog.text

    # Next turn: 13 messages, 273 tokens; the retry folds 10, keeps 3.
    out = memory.invoke(turn_input(7), config())
    state = memory.get_state("alice")
    assert len(recorder.requests) == 2
    assert state.summary == words(5, "sum")
    assert state.summarized_messages == 10
    assert count_tokens(out, model=MODEL) == 88


def test_after_failures_the_backlog_is_folded_in_bounded_chunks() -> None:
    recorder = Recorder(fail_calls=[1, 2, 3, 4, 5])
    summarizer = FakeUsageChatModel(
        model_name=MODEL, responses=[words(5, "sum")], fail_with=recorder
    )
    memory = make_memory(summarizer)
    for turn in range(1, 11):
        memory.invoke(turn_input(turn), config())
    assert len(recorder.requests) == 5
    assert len(memory.get_state("alice").messages) == 19

    # Turn 11: 21 messages (420 tokens). One call folds at most max_tokens of
    # messages: 10 (200 tokens). Of the 11 left, the newest 8 fit next to the
    # summary (200 - 13 - 15 = 172 tokens of room).
    out = memory.invoke(turn_input(11), config())
    state = memory.get_state("alice")
    assert state.summarized_messages == 10
    assert len(state.messages) == 11
    assert count_tokens(out, model=MODEL) == 3 + 10 + 15 + 8 * 20

    # Turn 12 catches up: 13 messages, 10 folded, 3 kept, back to 88 tokens.
    out = memory.invoke(turn_input(12), config())
    assert memory.get_state("alice").summarized_messages == 20
    assert count_tokens(out, model=MODEL) == 88


def test_an_empty_summary_is_a_failure_not_a_summary(
    caplog: pytest.LogCaptureFixture,
) -> None:
    memory = make_memory(FakeUsageChatModel(model_name=MODEL, responses=["  "]))
    with caplog.at_level(logging.WARNING, logger="langchain_finops.memory"):
        for turn in range(1, 7):
            memory.invoke(turn_input(turn), config())
    assert memory.get_state("alice").summary == ""
    assert len(memory.get_state("alice").messages) == 11
    assert "an empty reply" in caplog.text


def test_a_summary_over_its_cap_is_condensed() -> None:
    recorder = Recorder()
    summarizer = FakeUsageChatModel(
        model_name=MODEL,
        responses=[words(50, "sum"), words(5, "sum")],
        fail_with=recorder,
    )
    memory = make_memory(summarizer)
    for turn in range(1, 7):
        memory.invoke(turn_input(turn), config())

    assert len(recorder.requests) == 2
    assert "too long" in recorder.requests[1][-1].text
    assert words(50, "sum") in recorder.requests[1][-1].text
    assert memory.get_state("alice").summary == words(5, "sum")


def test_a_summary_still_over_its_cap_after_condensing_is_cut(
    caplog: pytest.LogCaptureFixture,
) -> None:
    summarizer = FakeUsageChatModel(
        model_name=MODEL, responses=[words(50, "sum"), words(45, "sum")]
    )
    memory = make_memory(summarizer)
    with caplog.at_level(logging.WARNING, logger="langchain_finops.memory"):
        for turn in range(1, 6):
            memory.invoke(turn_input(turn), config())
        out = memory.invoke(turn_input(6), config())
    assert count_tokens([out[1]], model=MODEL) - 3 == 40
    assert "after condensing" in caplog.text


def test_the_new_summary_extends_the_old_one() -> None:
    recorder = Recorder()
    summarizer = FakeUsageChatModel(
        model_name=MODEL, responses=["first sum", "second sum"], fail_with=recorder
    )
    memory = make_memory(summarizer)
    for turn in range(1, 10):
        memory.invoke(turn_input(turn), config())

    second_request = recorder.requests[1][-1].text
    assert second_request.startswith("Summary so far:\nfirst sum\n")
    assert memory.get_state("alice").summary == "second sum"


def test_tool_results_are_part_of_what_is_summarised() -> None:
    recorder = Recorder()
    summarizer = FakeUsageChatModel(
        model_name=MODEL, responses=["s"], fail_with=recorder
    )
    memory = make_memory(summarizer)
    call = {"name": "lookup", "args": {"q": "Oslo"}, "id": "c1", "type": "tool_call"}
    conversation = [
        HumanMessage(words(16)),
        AIMessage("", tool_calls=[call]),
        ToolMessage("Oslo has 709,037 inhabitants", tool_call_id="c1", name="lookup"),
        *[(AIMessage if i % 2 else HumanMessage)(words(16)) for i in range(10)],
    ]
    memory.invoke(conversation)

    request = recorder.requests[0][-1].text
    assert 'Assistant called lookup({"q": "Oslo"})' in request
    assert "Tool result (lookup): Oslo has 709,037 inhabitants" in request


def test_history_store_prunes_a_history_whose_messages_are_a_copy() -> None:
    history = CopyingHistory()
    memory = make_memory(store=ChatHistorySummaryStore(lambda _sid: history))
    for turn in range(1, 7):
        memory.invoke(turn_input(turn), config())

    rows = history._rows
    # Rewritten twice: for the system prompt (turn 1), for the pruning (turn 6).
    assert history.clears == 2
    assert rows[0] == SYSTEM
    assert isinstance(rows[1], SystemMessage)
    assert rows[1].text == words(5, "sum")
    assert rows[1].additional_kwargs["finops_summary"] == {
        "summarized_messages": 8,
        "summarized_tokens": 160,
    }
    assert [m.id for m in rows[2:]] == ["h5", "a5", "h6"]
    # A fresh memory over the same history picks up where this one stopped.
    again = make_memory(store=ChatHistorySummaryStore(lambda _sid: history))
    assert again.get_state("alice") == memory.get_state("alice")
    assert (
        count_tokens(again.invoke([AIMessage(words(16))], config()), model=MODEL) == 108
    )


async def test_history_store_async_matches_sync() -> None:
    sync_history, async_history = CopyingHistory(), CopyingHistory()
    sync_memory = make_memory(store=ChatHistorySummaryStore(lambda _s: sync_history))
    async_memory = make_memory(store=ChatHistorySummaryStore(lambda _s: async_history))
    for turn in range(1, 12):
        sync_memory.invoke(turn_input(turn), config())
        await async_memory.ainvoke(turn_input(turn), config())
    assert async_history._rows == sync_history._rows
    assert async_history.clears == sync_history.clears == 3  # turns 1, 6, 9


def test_sqlite_store_persists_across_instances(tmp_path: Any) -> None:
    path = tmp_path / "memory.db"
    memory = make_memory(store=SQLiteSummaryStore(path))
    for turn in range(1, 8):
        memory.invoke(turn_input(turn), config())
    memory.invoke(turn_input(1), config("bob"))

    reopened = make_memory(store=SQLiteSummaryStore(path))
    state = reopened.get_state("alice")
    assert state == memory.get_state("alice")
    assert state.summary == words(5, "sum")
    assert state.summarized_messages == 8
    assert [m.id for m in state.messages] == ["h5", "a5", "h6", "a6", "h7"]
    assert len(reopened.get_state("bob").messages) == 1
    reopened.clear("alice")
    assert make_memory(store=SQLiteSummaryStore(path)).get_state("alice").messages == ()


async def test_sqlite_store_async_matches_sync(tmp_path: Any) -> None:
    sync_memory = make_memory(store=SQLiteSummaryStore(tmp_path / "a.db"))
    async_memory = make_memory(store=SQLiteSummaryStore(tmp_path / "b.db"))
    for turn in range(1, 12):
        sync_memory.invoke(turn_input(turn), config())
        await async_memory.ainvoke(turn_input(turn), config())
    assert await async_memory.aget_state("alice") == sync_memory.get_state("alice")


def test_a_failed_rewrite_restores_the_history() -> None:
    class Flaky(InMemoryChatMessageHistory):
        fail_next: bool = False

        def add_messages(self, messages: Any) -> None:
            if self.fail_next:
                self.fail_next = False
                msg = "disk full"
                raise OSError(msg)
            super().add_messages(messages)

    history = Flaky()
    history.add_messages([HumanMessage("a"), AIMessage("b")])
    history.fail_next = True
    with pytest.raises(OSError, match="disk full"):
        write_history(history, [HumanMessage("c")])
    assert [m.text for m in history.messages] == ["a", "b"]


def test_turns_of_one_session_from_many_threads_lose_nothing() -> None:
    memory = make_memory()
    errors: list[BaseException] = []

    def chat(worker: int) -> None:
        try:
            for j in range(5):
                memory.invoke([HumanMessage(words(16), id=f"w{worker}-{j}")], config())
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=chat, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    state = memory.get_state("alice")
    assert errors == []
    assert state.summarized_messages + len(state.messages) == 40
    assert state.summarized_messages > 0


async def test_concurrent_async_turns_of_one_session_lose_nothing() -> None:
    memory = make_memory()

    async def chat(worker: int) -> None:
        for j in range(5):
            await memory.ainvoke(
                [HumanMessage(words(16), id=f"w{worker}-{j}")], config()
            )

    await asyncio.gather(*(chat(w) for w in range(8)))
    state = await memory.aget_state("alice")
    assert state.summarized_messages + len(state.messages) == 40


def test_add_messages_records_a_reply_without_a_request() -> None:
    memory = make_memory()
    memory.invoke([SYSTEM, HumanMessage("hi")], config())
    memory.add_messages("alice", [AIMessage("hello")])
    out = memory.invoke([HumanMessage("how are you?")], config())
    assert [m.text for m in out[1:]] == ["hi", "hello", "how are you?"]


def test_memory_is_a_step_of_an_lcel_chain() -> None:
    seen: list[list[BaseMessage]] = []
    chain = make_memory() | RunnableLambda(
        lambda messages: seen.append(messages) or "ok"
    )
    assert chain.invoke(turn_input(1), config()) == "ok"
    assert seen == [turn_input(1)]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"llm": "gpt-4o-mini"}, TypeError, "takes a LangChain chat model"),
        ({"store": {}}, TypeError, "must be a BaseSummaryStore"),
        (
            {"llm": RunnableLambda(lambda x: x)},
            ValueError,
            "pass `model='gpt-4o'`",
        ),
    ],
)
def test_bad_settings_say_how_to_fix_them(
    kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    settings: dict[str, Any] = {
        "llm": FakeUsageChatModel(model_name=MODEL),
        "max_tokens": 200,
    }
    settings.update(kwargs)
    with pytest.raises(error, match=match):
        RollingSummaryMemory(**settings)


def test_bad_input_and_session_ids_are_refused() -> None:
    memory = make_memory()
    with pytest.raises(ValueError, match="session_id"):
        memory.invoke("hi", {"configurable": {"session_id": 7}})
    with pytest.raises(TypeError, match="takes a list of messages"):
        memory.invoke(42)  # type: ignore[arg-type]


def test_default_store_is_in_memory() -> None:
    assert isinstance(make_memory().store, InMemorySummaryStore)
