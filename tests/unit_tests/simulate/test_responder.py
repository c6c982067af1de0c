import statistics

from langchain_core.messages import HumanMessage, SystemMessage

from langchain_finops.costs import count_tokens
from langchain_finops.simulate.responder import (
    CALL_KEY_METADATA,
    SimulatedChatModel,
    _draw,
    reply_length_percentiles,
)


def test_draw_reads_the_percentile_table_linearly() -> None:
    table = (0, 10, 20)
    assert _draw(table, 0.0) == 1  # a reply has at least one token
    assert _draw(table, 0.25) == 5
    assert _draw(table, 0.5) == 10
    assert _draw(table, 0.75) == 15
    assert _draw(table, 0.999) == 20


def test_shipped_lengths_are_percentiles_of_real_answers() -> None:
    table = reply_length_percentiles()
    assert len(table) == 101
    assert list(table) == sorted(table)
    assert table[0] >= 1
    # MT-Bench answers of commercial chat models run to a few hundred tokens.
    assert 100 <= table[50] <= 400


def test_usage_is_real_and_the_reply_as_long_as_drawn() -> None:
    model = SimulatedChatModel(model_name="gpt-4o", seed=3)
    messages = [SystemMessage("Be brief."), HumanMessage("How do I top up by cheque?")]
    reply = model.invoke(messages, config={"metadata": {CALL_KEY_METADATA: "k1"}})
    usage = reply.usage_metadata
    assert usage is not None
    assert usage["input_tokens"] == count_tokens(messages, model="gpt-4o")
    expected = model.reply_length(("k1", None))
    assert (
        usage["output_tokens"] == expected == count_tokens(reply.text, model="gpt-4o")
    )
    assert usage["total_tokens"] == usage["input_tokens"] + expected
    assert reply.response_metadata["model_name"] == "gpt-4o"
    assert reply.response_metadata["simulated"] is True


def test_same_seed_same_lengths_and_call_key_beats_text() -> None:
    one = SimulatedChatModel(model_name="gpt-4o", seed=1)
    two = SimulatedChatModel(model_name="gpt-4o-mini", seed=1)
    other = SimulatedChatModel(model_name="gpt-4o", seed=2)
    config = {"metadata": {CALL_KEY_METADATA: "call-9"}}
    a = one.invoke("long question", config=config).usage_metadata
    b = two.invoke("short", config=config).usage_metadata
    assert a is not None
    assert b is not None
    # The baseline and the optimised side get the same reply length for a
    # call, whatever model answers and however the prompt was shortened.
    assert a["output_tokens"] == b["output_tokens"]
    lengths = [one.reply_length(key) for key in range(50)]
    assert lengths == [one.reply_length(key) for key in range(50)]
    assert lengths != [other.reply_length(key) for key in range(50)]


def test_lengths_follow_the_real_distribution() -> None:
    model = SimulatedChatModel(model_name="gpt-4o", seed=0)
    table = reply_length_percentiles()
    lengths = [model.reply_length(key) for key in range(4000)]
    median = statistics.median(lengths)
    assert table[45] <= median <= table[55]
    assert min(lengths) >= table[0]
    assert max(lengths) <= table[100]


def test_max_tokens_caps_the_reply() -> None:
    capped = SimulatedChatModel(model_name="gpt-4o", seed=0, max_tokens=30)
    free = SimulatedChatModel(model_name="gpt-4o", seed=0)
    outputs = []
    for key in range(20):
        config = {"metadata": {CALL_KEY_METADATA: key}}
        usage = capped.invoke("Tell me everything", config=config).usage_metadata
        assert usage is not None
        outputs.append(usage["output_tokens"])
    assert outputs == [min(free.reply_length((key, None)), 30) for key in range(20)]
    assert 30 in outputs  # some replies were cut
    config = {"metadata": {CALL_KEY_METADATA: outputs.index(30)}}
    bound = free.bind(max_tokens=3).invoke("Tell me everything", config=config)
    assert bound.usage_metadata is not None
    assert bound.usage_metadata["output_tokens"] == 3
