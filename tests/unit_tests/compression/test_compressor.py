import asyncio
import threading
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.prompt_values import ChatPromptValue, StringPromptValue
from langchain_core.prompts import ChatPromptTemplate, PromptTemplate

from langchain_finops.compression import (
    NO_COMPRESS_KEY,
    QUERY_CONFIG_KEY,
    CompressionReport,
    PromptCompressor,
)
from langchain_finops.compression._text import compress_text
from langchain_finops.costs import SAVING_EVENT, CostCallbackHandler, count_tokens
from langchain_finops.testing import FakeUsageChatModel

VERBOSE = (
    "Hi there! I hope you are doing well. Could you please check the status of "
    "order ORD-1234 for me? I would really appreciate it if you could tell me when "
    "the package will actually arrive, because it is very important. Thank you so "
    "much in advance for your help!"
)
CONCISE = (
    "Check status of order ORD-1234 for me? Tell me when package will arrive, "
    "because it is important."
)
# gpt-4o-mini's list price for input: $0.15 per million tokens.
MINI_INPUT_PRICE = Decimal("0.15") / Decimal(1_000_000)


def tokens(value: Any) -> int:
    return int(count_tokens(value, model="gpt-4o-mini"))


class SavingEvents(BaseCallbackHandler):
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def on_custom_event(
        self, name: str, data: Any, *, run_id: UUID, **kwargs: Any
    ) -> None:
        if name == SAVING_EVENT:
            self.events.append(data)


# ------------------------------------------------------------------ LCEL


def test_string_prompt_in_lcel() -> None:
    model = FakeUsageChatModel(responses=["ok"])
    chain = PromptTemplate.from_template("{request}") | PromptCompressor() | model
    reply = chain.invoke({"request": VERBOSE})
    # The model saw the compressed text as one human message.
    assert reply.usage_metadata is not None
    assert reply.usage_metadata["input_tokens"] == tokens([HumanMessage(CONCISE)])


def test_chat_prompt_value_in_lcel_keeps_the_system_prompt() -> None:
    seen: list[list[BaseMessage]] = []
    system = "You are a very helpful assistant. Please answer in the  same language."

    def record(messages: list[BaseMessage]) -> None:
        seen.append(messages)

    model = FakeUsageChatModel(fail_with=lambda m: record(m))
    prompt = ChatPromptTemplate.from_messages([("system", system), ("human", "{q}")])
    compressor = PromptCompressor()
    (prompt | compressor | model).invoke({"q": VERBOSE})
    assert [m.content for m in seen[0]] == [system, CONCISE]
    assert isinstance(seen[0][0], SystemMessage)


def test_message_list_in_lcel() -> None:
    compressor = PromptCompressor()
    model = FakeUsageChatModel(responses=["done"])
    chain = compressor | model
    messages = [HumanMessage(VERBOSE, id="m1")]
    reply = chain.invoke(messages)
    assert reply.content == "done"
    assert reply.usage_metadata is not None
    assert reply.usage_metadata["input_tokens"] == tokens([HumanMessage(CONCISE)])
    # The caller's list is not modified in place.
    assert messages[0].content == VERBOSE


def test_returns_the_same_kind_it_was_given() -> None:
    compressor = PromptCompressor()
    assert compressor.invoke(VERBOSE) == CONCISE
    string_value = compressor.invoke(StringPromptValue(text=VERBOSE))
    assert string_value == StringPromptValue(text=CONCISE)
    chat_value = compressor.invoke(ChatPromptValue(messages=[HumanMessage(VERBOSE)]))
    assert isinstance(chat_value, ChatPromptValue)
    assert chat_value.messages[0].content == CONCISE
    out = compressor.invoke([HumanMessage(VERBOSE, id="x", name="bob")])
    assert isinstance(out, list)
    assert out[0].id == "x"
    assert out[0].name == "bob"


def test_tuples_and_dicts_become_messages() -> None:
    out = PromptCompressor().invoke([("human", VERBOSE)])
    assert out == [HumanMessage(CONCISE)]


# -------------------------------------------------------------- reporting


def test_report_counts_prices_and_times_the_call() -> None:
    compressor = PromptCompressor()
    result = compressor.compress(VERBOSE)
    report = result.report
    assert result.value == CONCISE
    assert report.original_tokens == tokens(VERBOSE)
    assert report.compressed_tokens == tokens(CONCISE)
    assert report.tokens_saved == tokens(VERBOSE) - tokens(CONCISE)
    assert report.ratio == pytest.approx(tokens(VERBOSE) / tokens(CONCISE))
    assert report.dollars_saved == report.tokens_saved * MINI_INPUT_PRICE
    assert report.elapsed_ms > 0
    assert report.level == "prune"
    assert report.skipped is None
    assert compressor.last_report == report


def test_ledger_event_carries_the_report() -> None:
    events = SavingEvents()
    compressor = PromptCompressor()
    compressor.invoke(VERBOSE, config={"callbacks": [events]})
    assert len(events.events) == 1
    event = events.events[0]
    saved = tokens(VERBOSE) - tokens(CONCISE)
    assert event["technique"] == "compression"
    assert event["tokens_saved"] == saved
    assert event["model"] == "gpt-4o-mini"
    assert event["detail"]["original_tokens"] == tokens(VERBOSE)
    assert event["detail"]["compressed_tokens"] == tokens(CONCISE)
    assert event["detail"]["dollars_saved"] == saved * MINI_INPUT_PRICE


def test_cost_handler_books_the_hand_computed_saving() -> None:
    handler = CostCallbackHandler()
    prompt = ChatPromptTemplate.from_messages([("human", "{q}")])
    chain = prompt | PromptCompressor() | FakeUsageChatModel()
    chain.invoke({"q": VERBOSE}, config={"callbacks": [handler]})
    saving = handler.savings["compression"]
    expected_tokens = tokens([HumanMessage(VERBOSE)]) - tokens([HumanMessage(CONCISE)])
    assert saving.events == 1
    assert saving.tokens_saved == expected_tokens
    assert saving.gross_saved == expected_tokens * MINI_INPUT_PRICE


def test_report_uses_the_target_models_tokenizer_and_price() -> None:
    report = PromptCompressor(model="gpt-4").compress(VERBOSE).report
    assert report.original_tokens == int(count_tokens(VERBOSE, model="gpt-4"))
    assert report.compressed_tokens == int(count_tokens(CONCISE, model="gpt-4"))
    # gpt-4 input: $30 per million tokens.
    assert report.dollars_saved == report.tokens_saved * Decimal(30) / 1_000_000


def test_unpriced_model_reports_none_dollars() -> None:
    report = PromptCompressor(model="my-local-model").compress(VERBOSE).report
    assert report.tokens_saved > 0
    assert report.dollars_saved is None


# ------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ([], "empty"),
        (None, "unsupported_input"),
        (42, "unsupported_input"),
        (
            [
                HumanMessage(
                    content=[
                        {"type": "image_url", "image_url": {"url": "http://x/a.png"}}
                    ]
                )
            ],
            "nothing_compressible",
        ),
        ([HumanMessage(content="")], "nothing_compressible"),
        ([{"role": "user", "content": None}], "nothing_compressible"),
        (ChatPromptValue(messages=[]), "empty"),
    ],
)
def test_bad_input_is_returned_unchanged(value: Any, reason: str) -> None:
    compressor = PromptCompressor()
    out = compressor.invoke(value)
    assert out == value
    report = compressor.last_report
    assert report is not None
    assert report.ratio == 1.0
    assert report.tokens_saved == 0
    assert report.skipped == reason


def test_short_prompt_is_skipped() -> None:
    compressor = PromptCompressor()
    assert (
        compressor.invoke("Could you please check it?") == "Could you please check it?"
    )
    assert compressor.last_report is not None
    assert compressor.last_report.skipped == "too_short"


def test_nothing_to_remove_is_reported_as_no_saving() -> None:
    text = (
        "Reset router R2 before 09:00 UTC; then verify VLAN 20 carries traffic again."
    )
    compressor = PromptCompressor(min_tokens=0)
    assert compressor.invoke(text) == text
    assert compressor.last_report is not None
    assert compressor.last_report.skipped == "no_saving"


# ------------------------------------------------------------- protection


def test_system_and_flagged_messages_are_never_changed() -> None:
    system = SystemMessage("You are a very  helpful assistant. Thank you!")
    flagged = HumanMessage(VERBOSE, additional_kwargs={NO_COMPRESS_KEY: True})
    free = HumanMessage(VERBOSE)
    out = PromptCompressor().invoke([system, flagged, free])
    assert out[0] is system
    assert out[1] is flagged
    assert out[2].content == CONCISE


def test_non_text_blocks_pass_through() -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    audio = {"type": "input_audio", "input_audio": {"data": "UklGR", "format": "wav"}}
    message = HumanMessage(content=[image, {"type": "text", "text": VERBOSE}, audio])
    out = PromptCompressor().invoke([message])
    assert out[0].content == [image, {"type": "text", "text": CONCISE}, audio]


def test_tool_calls_are_untouched_and_tool_json_is_minified() -> None:
    from langchain_core.messages import ToolMessage

    call = {"name": "lookup", "args": {"q": "the very  thing"}, "id": "c1"}
    ai = AIMessage(content="", tool_calls=[call])
    tool = ToolMessage(
        content='{\n  "status":  "the very  late",\n  "eta": "2 days"\n}',
        tool_call_id="c1",
    )
    human = HumanMessage(VERBOSE)
    out = PromptCompressor().invoke([human, ai, tool])
    assert out[1].tool_calls == ai.tool_calls
    assert out[2].content == '{"status":"the very  late","eta":"2 days"}'


def test_user_regex_and_keep_marker_protect_text() -> None:
    text = (
        "Please note that the answer must quote the clause CL-7 exactly: <keep>the "
        "supplier shall  actually deliver</keep>, and the refund rule REFUND the a "
        "very rule, which is really important for the customer."
    )
    out = PromptCompressor(protect=[r"REFUND the a very rule"]).invoke(text)
    assert out == (
        "Answer must quote clause CL-7 exactly: the supplier shall  actually deliver, "
        "and refund rule REFUND the a very rule, which is important for customer."
    )


def test_preserve_prefix_tokens_keeps_whole_leading_messages() -> None:
    first = HumanMessage(VERBOSE)
    second = HumanMessage(VERBOSE)
    compressor = PromptCompressor(preserve_prefix_tokens=10)
    out = compressor.invoke([first, second])
    assert out[0] is first
    assert out[1].content == CONCISE


def test_prefix_covering_everything_skips() -> None:
    compressor = PromptCompressor(preserve_prefix_tokens=10_000)
    assert compressor.invoke([HumanMessage(VERBOSE)])[0].content == VERBOSE
    assert compressor.last_report is not None
    assert compressor.last_report.skipped == "cached_prefix"
    assert compressor.invoke(VERBOSE) == VERBOSE
    assert compressor.last_report.skipped == "cached_prefix"


def test_string_prefix_is_kept_byte_for_byte() -> None:
    head = "Hi there! I hope you are doing well."
    text = f"{head} Could you please check the status of order ORD-1234 for me?"
    prefix = int(count_tokens(head, model="gpt-4o-mini"))
    out = PromptCompressor(preserve_prefix_tokens=prefix, min_tokens=0).invoke(text)
    assert out == f"{head} Check status of order ORD-1234 for me?"


def test_anthropic_cache_breakpoint_freezes_messages_up_to_it() -> None:
    cached = HumanMessage(
        content=[
            {"type": "text", "text": VERBOSE, "cache_control": {"type": "ephemeral"}}
        ]
    )
    later = HumanMessage(VERBOSE)
    out = PromptCompressor().invoke([cached, later])
    assert out[0] is cached
    assert out[1].content == CONCISE


# --------------------------------------------------------------- targets


LONG = (
    "The warehouse team is very busy this week. The new scanner is really fast. "
    "It is important to note that the invoice INV-77 was paid on Monday. "
    "The courier said that the parcel is at the depot in Leeds. "
    "The manager is also quite happy with the results of the audit."
)


def test_target_ratio_stops_at_the_first_level_that_meets_it() -> None:
    light = PromptCompressor(target_ratio=1.05).compress(LONG).report
    assert light.level == "filler"
    assert light.target_met is True
    full = PromptCompressor(target_ratio=1.3).compress(LONG).report
    assert full.level == "prune"
    assert full.compressed_tokens <= full.original_tokens / 1.3
    # The step before was not enough.
    assert tokens(compress_text(LONG, level=3)) > full.original_tokens / 1.3


def test_unreachable_target_is_reported() -> None:
    report = PromptCompressor(target_ratio=10).compress(LONG).report
    assert report.target_met is False
    assert report.level == "prune_more"


def test_max_tokens_budget() -> None:
    report = PromptCompressor(max_tokens=45).compress(LONG).report
    assert report.compressed_tokens <= 45
    assert report.target_met is True


CONTEXT = "\n".join(
    [
        "Alice: We reviewed the quarterly budget and the travel costs went up.",
        "Bob: The marketing plan for spring needs two more designers.",
        "Carol: Server outages hit the payment service twice in March.",
        "Dan: The payment service outage was caused by an expired certificate.",
        "Alice: Lunch options for the offsite are pizza or salad.",
        "Bob: The office plants need watering on Fridays.",
        "Carol: We renewed the certificate and added an expiry alert.",
        "Dan: The parking lot will be repainted next month.",
    ]
)


def test_query_aware_extraction_keeps_relevant_lines_in_order() -> None:
    compressor = PromptCompressor(
        target_ratio=2.5, query="What caused the payment outages?", chunk_tokens=8
    )
    result = compressor.compress(CONTEXT)
    lines = result.value.splitlines()
    assert lines == [
        "Carol: Server outages hit the payment service twice in March.",
        "Dan: The payment service outage was caused by an expired certificate.",
        # No query word, but next to the best line: passages run on.
        "Alice: Lunch options for the offsite are pizza or salad.",
    ]
    assert result.report.level == "extract"
    assert result.report.target_met is True


def test_query_from_config_and_marked_text_survives() -> None:
    context = CONTEXT + "\n<keep>Eve: Offsite is on 12 June.</keep>"
    compressor = PromptCompressor(target_ratio=2.5, chunk_tokens=8)
    out = compressor.invoke(
        context, config={"configurable": {QUERY_CONFIG_KEY: "payment service outage"}}
    )
    assert "Eve: Offsite is on 12 June." in out
    assert "<keep>" not in out
    assert (
        "Dan: The payment service outage was caused by an expired certificate." in out
    )
    assert "Bob: The office plants need watering on Fridays." not in out


def test_query_without_target_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="target_ratio"):
        PromptCompressor(query="why?")
    compressor = PromptCompressor()
    with pytest.raises(ValueError, match="target_ratio"):
        compressor.invoke(CONTEXT, config={"configurable": {QUERY_CONFIG_KEY: "why?"}})


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"target_ratio": 1.0}, "above 1"),
        ({"target_ratio": 0.5}, "above 1"),
        ({"max_tokens": 0}, "positive"),
        ({"preserve_prefix_tokens": -1}, "0 or more"),
        ({"min_tokens": -5}, "0 or more"),
        ({"chunk_tokens": 2}, "at least 8"),
        ({"backend": "gpt"}, "heuristic"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        PromptCompressor(**kwargs)


# ----------------------------------------------------------------- async


async def test_async_matches_sync_and_reports() -> None:
    events = SavingEvents()
    compressor = PromptCompressor()
    inputs: list[Any] = [VERBOSE, [HumanMessage(VERBOSE)], LONG, ""]
    for value in inputs:
        sync_out = compressor.invoke(value)
        sync_report = compressor.last_report
        async_out = await compressor.ainvoke(value, config={"callbacks": [events]})
        assert async_out == sync_out
        assert compressor.last_report is not None
        assert sync_report is not None
        assert compressor.last_report.compressed_tokens == sync_report.compressed_tokens
    assert [e["tokens_saved"] for e in events.events] == [
        tokens(VERBOSE) - tokens(CONCISE),
        tokens([HumanMessage(VERBOSE)]) - tokens([HumanMessage(CONCISE)]),
        compressor.compress(LONG).report.tokens_saved,
        0,
    ]
    result = await compressor.acompress(VERBOSE)
    assert result.value == CONCISE


async def test_ainvoke_runs_off_the_event_loop() -> None:
    loop_thread = threading.get_ident()
    threads: list[int] = []
    compressor = PromptCompressor()
    original = compressor._compress_value

    def spy(value: Any, query: str | None) -> tuple[Any, CompressionReport]:
        threads.append(threading.get_ident())
        return original(value, query)

    compressor._compress_value = spy  # type: ignore[method-assign]
    await asyncio.gather(compressor.ainvoke(VERBOSE), compressor.ainvoke(LONG))
    assert len(threads) == 2
    assert loop_thread not in threads


def test_batch_compresses_each_input() -> None:
    outs = PromptCompressor().batch([VERBOSE, LONG])
    assert outs[0] == CONCISE
    assert outs[1] == PromptCompressor().invoke(LONG)
