import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from langchain_finops.simulate.pipeline import PipelineOptions
from langchain_finops.simulate.replay import _Calls, simulate
from langchain_finops.simulate.responder import SimulatedChatModel
from langchain_finops.simulate.traffic import Traffic, load_traffic

OFF = {"cache": False, "routing": False, "compression": False, "memory": False}


def traffic_of(tmp_path: Path, lines: list[dict[str, object]]) -> Traffic:
    path = tmp_path / "t.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), "utf-8")
    return load_traffic(path)


def test_with_every_technique_off_both_sides_cost_the_same(tmp_path: Path) -> None:
    traffic = traffic_of(
        tmp_path, [{"prompt": "Hi"}, {"prompt": "Hi"}, {"prompt": "Bye"}]
    )
    result = simulate(traffic, options=PipelineOptions(**OFF))
    # [Human("Hi")] is 3 framing + 1 role + 1 content + 3 priming = 8 tokens,
    # and so is [Human("Bye")].
    assert result.baseline.input_tokens == 24
    assert result.optimised.input_tokens == 24
    assert result.baseline.output_tokens == result.optimised.output_tokens
    assert result.baseline.cost == result.optimised.cost
    assert result.calls_done == result.calls_planned == 3
    assert sum(result.cache_hits.values()) == 0
    assert result.models == {"gpt-4o": 3}
    assert result.series_calls[-1] == 3
    assert result.series_baseline[-1] == result.baseline.cost


def test_chat_sessions_send_full_history_to_baseline_and_new_turns_to_memory() -> None:
    traffic = Traffic(source="x")
    from langchain_finops.simulate.traffic import ChatTurn, TrafficRecord

    record = TrafficRecord(
        line=1,
        messages=(
            ChatTurn("system", "S"),
            ChatTurn("user", "u1"),
            ChatTurn("assistant", "a1"),
            ChatTurn("user", "u2"),
        ),
    )
    traffic.records.append(record)
    calls = list(_Calls().expand(0, record))
    assert [c.key for c in calls] == ["0:0", "0:1"]
    assert calls[1].baseline_messages == [
        SystemMessage("S"),
        HumanMessage("u1"),
        AIMessage("a1"),
        HumanMessage("u2"),
    ]
    assert calls[0].new_messages == [SystemMessage("S"), HumanMessage("u1")]
    assert calls[1].new_messages == [AIMessage("a1"), HumanMessage("u2")]
    assert calls[1].optimised_input(memory=True) == calls[1].new_messages
    assert calls[1].optimised_input(memory=False) == calls[1].baseline_messages
    assert all(c.session == "line-1" for c in calls)


def test_prompts_of_one_session_carry_each_sides_replies(tmp_path: Path) -> None:
    traffic = traffic_of(
        tmp_path,
        [{"prompt": "first", "session": "s"}, {"prompt": "second", "session": "s"}],
    )
    result = simulate(traffic, options=PipelineOptions(**OFF))
    reply = SimulatedChatModel(model_name="gpt-4o", seed=0).reply_length(("0:0", None))
    # Call 1: [Human("first")] = 3 + 1 + 1 + 3 priming = 8 tokens.
    # Call 2: [Human("first"), AI(reply 1), Human("second")]
    #       = (3 + 1 + 1) + (3 + 1 + reply) + (3 + 1 + 1) + 3 = 17 + reply.
    assert result.baseline.input_tokens == 8 + 17 + reply
    assert result.optimised.input_tokens == result.baseline.input_tokens


def test_false_hits_are_cache_hits_served_from_another_label(tmp_path: Path) -> None:
    traffic = traffic_of(
        tmp_path,
        [
            {"prompt": "What is my balance?", "label": "balance"},
            {"prompt": "What is my balance?", "label": "balance"},
            {"prompt": "What is my balance?", "label": "card_limit"},
            {"prompt": "How do I close my account?"},
            {"prompt": "How do I close my account?", "label": "close"},
        ],
    )
    options = PipelineOptions(
        cache=True, routing=False, compression=False, memory=False
    )
    result = simulate(traffic, options=options)
    assert result.cache_hits == {"exact": 3}
    # Hit 1 came from a prompt of its own label, hit 2 from another label;
    # hit 3 came from an unlabelled prompt, so it cannot be checked.
    assert result.labelled_hits == 2
    assert result.false_hits == 1
    # Each hit saves the whole call it stands for: the baseline pays five
    # calls, the optimised side two.
    assert result.baseline.calls == 5
    assert result.optimised.calls == 2
    assert result.savings["cache"].events == 3
    assert result.savings["cache"].gross_saved > 0
    # Calls 1 and 4 are the same on both sides (same prompt, same reply
    # length); the cache books each hit at the cost of the answer it served.
    cumulative = result.series_baseline
    call_1, call_4 = cumulative[0], cumulative[3] - cumulative[2]
    assert result.optimised.cost == call_1 + call_4
    assert result.savings["cache"].gross_saved == 2 * call_1 + call_4


def test_spend_cap_stops_the_replay_and_reports(tmp_path: Path) -> None:
    traffic = traffic_of(tmp_path, [{"prompt": f"question {i}"} for i in range(40)])
    # A call here is at most 9 input tokens and 1024 output tokens on
    # gpt-4o: 9 * 2.5e-6 + 1024 * 1e-5 = $0.0102625. A $0.05 cap cannot
    # hold 40 calls on each side.
    result = simulate(
        traffic, options=PipelineOptions(**OFF), max_spend=Decimal("0.05")
    )
    assert result.stopped is not None
    assert "Stopped before a call" in result.stopped
    assert 0 < result.calls_done < 40
    assert result.spent is not None
    assert result.spent <= Decimal("0.05")
    # What the cap counted is what both ledgers billed.
    billed = Decimal(result.baseline_ledger["totals"]["cost"]) + Decimal(
        result.optimised_ledger["totals"]["cost"]
    )
    assert result.spent == billed
    # The comparison covers only calls done on both sides.
    assert result.baseline.calls == result.calls_done


def test_a_failing_call_ends_the_replay_with_what_was_measured(tmp_path: Path) -> None:
    from langchain_finops.simulate.pipeline import OptimisedPipeline
    from langchain_finops.testing import FakeUsageChatModel

    def fail_on_third(messages: list[Any]) -> Exception | None:
        return ConnectionError("provider down") if messages[-1].text == "q2" else None

    broken = OptimisedPipeline(
        runnable=FakeUsageChatModel(model_name="gpt-4o-mini", fail_with=fail_on_third)
    )
    traffic = traffic_of(tmp_path, [{"prompt": f"q{i}"} for i in range(5)])
    result = simulate(traffic, options=PipelineOptions(**OFF), pipeline=broken)
    assert result.stopped == (
        "Stopped by an error at call 3: ConnectionError: provider down"
    )
    assert result.calls_done == 2
    assert result.baseline.calls == 2
    assert result.optimised.calls == 2
    assert result.models == {"gpt-4o-mini": 2}


def test_an_interrupted_replay_reports_what_it_did(tmp_path: Path) -> None:
    from langchain_finops.simulate.pipeline import OptimisedPipeline

    class Interrupting:
        """A pipeline step standing for a user's Ctrl-C at the fourth call."""

        def __init__(self) -> None:
            self.calls = 0

        def invoke(self, messages: Any, config: Any) -> Any:
            self.calls += 1
            if self.calls == 4:
                raise KeyboardInterrupt
            return SimulatedChatModel(model_name="gpt-4o").invoke(messages, config)

    traffic = traffic_of(tmp_path, [{"prompt": f"q{i}"} for i in range(6)])
    pipeline = OptimisedPipeline(runnable=Interrupting())  # type: ignore[arg-type]
    result = simulate(traffic, options=PipelineOptions(**OFF), pipeline=pipeline)
    assert result.stopped == "Interrupted at call 4."
    assert result.calls_done == 3
    assert result.baseline.calls == 3
