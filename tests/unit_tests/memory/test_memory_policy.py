"""The pure policy: budget, watermarks, whole tool-call units, system prompt.

Token costs used throughout (gpt-4o-mini, o200k_base, checked in the first
test): a message of n "cat" words costs n + 4 tokens (3 of framing, 1 for the
role), a request adds 3 to prime the reply, and the summary message of an
n-word summary costs n + 10 (its prefix takes 6).
"""

from __future__ import annotations

import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.tools import tool

from langchain_finops.costs.tokens import count_tokens
from langchain_finops.memory import MemoryState, RollingSummaryPolicy
from langchain_finops.memory._policy import TokenCounter, group_units
from tests.unit_tests.memory.memory_testkit import MODEL, words

SYSTEM = SystemMessage(words(6, "sys"))  # 10 tokens


def chat(count: int, n: int = 16) -> tuple[BaseMessage, ...]:
    """`count` alternating human/AI messages of n + 4 tokens each."""
    out: list[BaseMessage] = []
    for i in range(count):
        cls = HumanMessage if i % 2 == 0 else AIMessage
        out.append(cls(words(n), id=f"m{i}"))
    return tuple(out)


def policy(**kwargs: object) -> RollingSummaryPolicy:
    settings_: dict[str, object] = {"max_tokens": 200, "max_summary_tokens": 40}
    settings_.update(kwargs)
    return RollingSummaryPolicy(**settings_)  # type: ignore[arg-type]


def test_token_costs_the_tests_rely_on() -> None:
    assert count_tokens([HumanMessage(words(16))], model=MODEL) == 3 + 20
    assert count_tokens([AIMessage(words(16))], model=MODEL) == 3 + 20
    assert count_tokens([SYSTEM], model=MODEL) == 3 + 10
    summary = HumanMessage("Summary of the earlier conversation:\n" + words(5, "sum"))
    assert count_tokens([summary], model=MODEL) == 3 + 15


def test_under_the_high_watermark_nothing_is_summarised() -> None:
    state = MemoryState(system=(SYSTEM,), messages=chat(9))
    counter = TokenCounter(MODEL)

    assert policy().plan(state, counter) is None
    sent = policy().assemble(state, counter)

    assert sent.messages == [SYSTEM, *chat(9)]
    assert sent.sent_tokens == 3 + 10 + 9 * 20 == 193
    assert sent.full_tokens == 193
    assert sent.dropped_messages == 0


def test_over_the_high_watermark_folds_down_to_the_low_one() -> None:
    state = MemoryState(system=(SYSTEM,), messages=chat(11))
    counter = TokenCounter(MODEL)

    plan = policy().plan(state, counter)

    # 3 + 10 + 220 = 233 > 200. Target for kept messages: 0.6 * 200 - 13
    # fixed - 40 summary cap = 67; folding 8 messages leaves 60.
    assert plan is not None
    assert plan.chunk == chat(11)[:8]
    assert plan.keep == chat(11)[8:]
    assert plan.chunk_tokens == 160
    assert plan.summary_cap == 40

    folded = policy().fold(state, plan, words(5, "sum"))
    sent = policy().assemble(folded, counter)
    assert folded.summarized_messages == 8
    assert folded.summarized_tokens == 160
    assert sent.sent_tokens == 3 + 10 + 15 + 60 == 88
    assert sent.full_tokens == 233
    assert sent.messages[0] is SYSTEM
    assert sent.messages[1] == HumanMessage(
        "Summary of the earlier conversation:\n" + words(5, "sum")
    )
    assert sent.messages[2:] == list(chat(11)[8:])


def test_kept_part_starts_on_a_user_turn() -> None:
    state = MemoryState(system=(SYSTEM,), messages=chat(12))
    plan = policy().plan(state, TokenCounter(MODEL))
    assert plan is not None
    # 253 tokens; folding 9 messages leaves 60 <= 67, but message 9 is an AI
    # turn, so it is folded too and the kept part opens on human message 10.
    assert [m.id for m in plan.keep] == ["m10", "m11"]
    assert isinstance(plan.keep[0], HumanMessage)


def test_default_summary_cap_is_a_quarter_but_at_most_half_the_room() -> None:
    assert RollingSummaryPolicy(max_tokens=200).summary_cap(13) == 50
    # A 150-token system prompt leaves 50 tokens: the summary gets 25.
    assert RollingSummaryPolicy(max_tokens=200).summary_cap(150) == 25


def test_system_prompt_larger_than_the_budget_is_a_clear_error() -> None:
    state = MemoryState(system=(SystemMessage(words(300, "sys")),), messages=chat(1))
    with pytest.raises(ValueError, match="take 307 tokens") as error:
        policy().assemble(state, TokenCounter(MODEL))
    assert "max_tokens=200" in str(error.value)
    assert "Raise `max_tokens`" in str(error.value)


@tool
def lookup_order(order_id: str, include_history: bool = False) -> str:
    """Look up an order in the shop database by its identifier, with its history."""
    return order_id


def test_tool_schemas_count_in_the_budget() -> None:
    tools_tokens = int(count_tokens("", model=MODEL, tools=[lookup_order]))
    assert tools_tokens > 12
    counter = TokenCounter(MODEL, [lookup_order])
    state = MemoryState(system=(SYSTEM,), messages=chat(3))

    sent = policy().assemble(state, counter)

    assert sent.sent_tokens == 3 + 10 + 60 + tools_tokens
    assert sent.sent_tokens == count_tokens(
        sent.messages, model=MODEL, tools=[lookup_order]
    )
    too_small = RollingSummaryPolicy(max_tokens=64)
    big_system = MemoryState(system=(SystemMessage(words(60 - tools_tokens, "s")),))
    with pytest.raises(ValueError, match=f"tool schemas \\({tools_tokens} tokens\\)"):
        too_small.assemble(big_system, counter)


def test_a_message_larger_than_the_budget_is_cut_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    huge = HumanMessage(words(500))
    state = MemoryState(system=(SYSTEM,), messages=(huge,))

    with caplog.at_level(logging.WARNING, logger="langchain_finops.memory"):
        sent = policy().assemble(state, TokenCounter(MODEL))

    assert sent.sent_tokens == 200
    assert sent.cut_messages == 1
    assert sent.messages[1].text.endswith("[…cut to fit the token budget]")
    assert state.messages[0].text == words(500)  # the state is untouched
    assert "504 tokens" in caplog.text
    assert "cat cat" not in caplog.text


def test_a_newest_unit_whose_tool_calls_alone_exceed_the_budget_is_an_error() -> None:
    calls = [
        {"name": "f", "args": {"q": words(120)}, "id": f"c{i}", "type": "tool_call"}
        for i in range(2)
    ]
    unit = (
        AIMessage("", tool_calls=calls),
        ToolMessage("ok", tool_call_id="c0"),
        ToolMessage("ok", tool_call_id="c1"),
    )
    state = MemoryState(system=(SYSTEM,), messages=unit)
    with pytest.raises(ValueError, match="newest message needs at least"):
        policy().assemble(state, TokenCounter(MODEL))


def test_a_stored_summary_over_the_cap_is_cut_for_sending() -> None:
    state = MemoryState(system=(SYSTEM,), summary=words(100, "sum"), messages=chat(1))
    sent = policy().assemble(state, TokenCounter(MODEL))
    assert count_tokens([sent.messages[1]], model=MODEL) - 3 == 40
    assert sent.cut_messages == 1


def test_summary_can_be_sent_as_a_system_message() -> None:
    state = MemoryState(system=(SYSTEM,), summary="sum", messages=chat(1))
    sent = policy(summary_role="system").assemble(state, TokenCounter(MODEL))
    assert isinstance(sent.messages[1], SystemMessage)
    assert sent.messages[1].text == "Summary of the earlier conversation:\nsum"


def parallel_round(tag: str, results: int, n: int = 20) -> list[BaseMessage]:
    calls = [
        {
            "name": "lookup",
            "args": {"q": f"{tag}{i}"},
            "id": f"{tag}-{i}",
            "type": "tool_call",
        }
        for i in range(results)
    ]
    out: list[BaseMessage] = [AIMessage("", tool_calls=calls, id=f"{tag}-call")]
    out += [
        ToolMessage(words(n, "res"), tool_call_id=f"{tag}-{i}", id=f"{tag}-r{i}")
        for i in range(results)
    ]
    return out


def test_units_keep_parallel_tool_calls_with_their_results() -> None:
    messages = [HumanMessage("hi"), *parallel_round("a", 3), AIMessage("done")]
    units = group_units(messages)
    assert [[m.id for m in u] for u in units[1:2]] == [
        ["a-call", "a-r0", "a-r1", "a-r2"]
    ]
    assert len(units) == 3


def test_parallel_tool_calls_across_the_cut_move_as_one() -> None:
    # Costs: h0 20, the call 34, its 3 results 37 each, then 4 x 20: 245,
    # 258 with the system prompt, over 0.8 * 300. The kept target is
    # 0.6 * 300 - 13 - 40 = 127: folding message by message would stop after
    # the second result (117 left), between a call and its results; by unit,
    # the whole group goes (80 left), then a1 so that the kept part opens on
    # a user turn.
    messages = (
        HumanMessage(words(16), id="h0"),
        *parallel_round("a", 3, n=30),
        AIMessage(words(16), id="a1"),
        HumanMessage(words(16), id="h2"),
        AIMessage(words(16), id="a3"),
        HumanMessage(words(16), id="h4"),
    )
    state = MemoryState(system=(SYSTEM,), messages=messages)
    plan = policy(max_tokens=300, high_watermark=0.8).plan(state, TokenCounter(MODEL))

    assert plan is not None
    assert [m.id for m in plan.chunk] == ["h0", "a-call", "a-r0", "a-r1", "a-r2", "a1"]
    assert [m.id for m in plan.keep] == ["h2", "a3", "h4"]


def test_a_tool_result_without_its_call_is_refused() -> None:
    with pytest.raises(ValueError, match="Message 1 is a tool result"):
        group_units([HumanMessage("hi"), ToolMessage("x", tool_call_id="zz")])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_tokens": 10}, "Use at least 64"),
        ({"max_tokens": 200, "low_watermark": 0.9, "high_watermark": 0.8}, "0 < low"),
        ({"max_tokens": 200, "max_summary_tokens": 150}, "max_summary_tokens"),
        ({"max_tokens": 200, "summary_role": "ai"}, "summary_role"),
    ],
)
def test_contradictory_settings_are_refused(
    kwargs: dict[str, object], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        RollingSummaryPolicy(**kwargs)  # type: ignore[arg-type]


def test_max_tokens_must_be_an_int() -> None:
    with pytest.raises(TypeError, match="must be an int"):
        RollingSummaryPolicy(max_tokens=2000.0)  # type: ignore[arg-type]


@st.composite
def conversations(draw: st.DrawFn) -> list[BaseMessage]:
    out: list[BaseMessage] = []
    for turn in range(draw(st.integers(1, 14))):
        out.append(HumanMessage(words(draw(st.integers(1, 60))), id=f"h{turn}"))
        for round_ in range(draw(st.integers(0, 2))):
            results = draw(st.integers(1, 3))
            size = draw(st.integers(1, 40))
            out += parallel_round(f"t{turn}r{round_}", results, n=size)
        out.append(AIMessage(words(draw(st.integers(1, 60))), id=f"a{turn}"))
    if draw(st.booleans()):
        out.append(HumanMessage(words(draw(st.integers(1, 400))), id="last"))
    return out


def _whole_units(messages: list[BaseMessage]) -> bool:
    if messages and isinstance(messages[0], ToolMessage):
        return False
    answered: dict[str, bool] = {}
    for message in messages:
        if isinstance(message, AIMessage):
            answered.update({str(c["id"]): False for c in message.tool_calls})
        if isinstance(message, ToolMessage):
            if message.tool_call_id not in answered:
                return False
            answered[message.tool_call_id] = True
    return all(answered.values())


@settings(max_examples=150, deadline=None)
@given(
    conversation=conversations(), budget=st.integers(250, 1200), summary=st.booleans()
)
def test_property_budget_and_tool_integrity(
    conversation: list[BaseMessage], budget: int, summary: bool
) -> None:
    rules = RollingSummaryPolicy(max_tokens=budget)
    counter = TokenCounter(MODEL, [lookup_order])
    state = MemoryState(system=(SYSTEM,), messages=tuple(conversation))
    plan = rules.plan(state, counter)
    if plan is not None and summary:
        assert _whole_units(list(plan.keep))
        assert plan.chunk + plan.keep == state.messages
        state = rules.fold(state, plan, words(plan.summary_cap - 10, "sum"))
    sent = rules.assemble(state, counter)

    assert count_tokens(sent.messages, model=MODEL, tools=[lookup_order]) <= budget
    assert sent.sent_tokens == count_tokens(
        sent.messages, model=MODEL, tools=[lookup_order]
    )
    assert sent.messages[0] is SYSTEM
    recent = [m for m in sent.messages[1:] if not m.text.startswith("Summary of")]
    assert _whole_units(recent)
