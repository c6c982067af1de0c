from __future__ import annotations

import json

from langchain_core.load import dumps
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from langchain_finops.cache._prompt import canonical_prompt, parse_llm_string

LLM = "[('_type', 'fake'), ('model_name', 'gpt-4o-mini'), ('stop', None)]"


def openai_llm_string(
    model: str = "gpt-4o-mini", *, temperature: float = 0.0, **params: object
) -> str:
    """The llm_string ChatOpenAI (langchain-openai 1.x) gives, built offline."""
    kwargs = {"model_name": model, "temperature": temperature}
    kwargs.update({k: v for k, v in params.items() if k != "tools"})
    serialized = {
        "id": ["langchain", "chat_models", "openai", "ChatOpenAI"],
        "kwargs": {
            **kwargs,
            "openai_api_key": {"id": ["OPENAI_API_KEY"], "lc": 1, "type": "secret"},
        },
        "lc": 1,
        "name": "ChatOpenAI",
        "type": "constructor",
    }
    call = {"stop": None}
    if "tools" in params:
        call["tools"] = params["tools"]
    return json.dumps(serialized, sort_keys=True) + "---" + str(sorted(call.items()))


def chat(*messages: object) -> str:
    return dumps(list(messages))


def test_plain_prompt_is_embedded_as_it_is() -> None:
    canonical = canonical_prompt("  What is\u200b the capital of France? ", LLM)
    assert canonical.query == "What is the capital of France?"


def test_chat_prompt_embeds_only_the_last_user_turn() -> None:
    canonical = canonical_prompt(
        chat(SystemMessage("You are terse."), HumanMessage("Capital of France?")), LLM
    )
    assert canonical.query == "Capital of France?"


def test_two_system_prompts_give_two_partitions_with_the_same_query() -> None:
    first = canonical_prompt(chat(SystemMessage("A"), HumanMessage("Hi there")), LLM)
    second = canonical_prompt(chat(SystemMessage("B"), HumanMessage("Hi there")), LLM)
    assert first.query == second.query == "Hi there"
    assert first.partition != second.partition
    assert first.exact_key != second.exact_key


def test_two_models_and_two_temperatures_give_distinct_partitions() -> None:
    prompt = chat(HumanMessage("Hi there"))
    strings = [
        openai_llm_string(model, temperature=temperature)
        for model, temperature in (
            ("gpt-4o-mini", 0.0),
            ("gpt-4o", 0.0),
            ("gpt-4o-mini", 0.7),
        )
    ]
    partitions = {canonical_prompt(prompt, item).partition for item in strings}
    assert len(partitions) == 3


def test_object_addresses_in_llm_string_are_ignored() -> None:
    one = "[('client', <Client object at 0x7f00aa>), ('model', 'm'), ('stop', None)]"
    two = "[('client', <Client object at 0x7f99bb>), ('model', 'm'), ('stop', None)]"
    assert parse_llm_string(one).key == parse_llm_string(two).key
    assert parse_llm_string(one).model == "m"


def test_llm_string_gives_model_and_n() -> None:
    llm_string = openai_llm_string(n=3)
    params = parse_llm_string(llm_string)
    assert params.model == "gpt-4o-mini"
    assert params.n == 3


def test_bound_tools_are_part_of_the_partition() -> None:
    prompt = chat(HumanMessage("Weather in Paris?"))
    tool = {"type": "function", "function": {"name": "weather", "parameters": {}}}
    plain = canonical_prompt(prompt, openai_llm_string())
    with_tool = canonical_prompt(prompt, openai_llm_string(tools=[tool]))
    assert plain.partition != with_tool.partition


def test_earlier_turns_are_part_of_the_partition() -> None:
    def follow_up(person: str) -> str:
        return chat(
            HumanMessage(f"Who is the CEO of {person}?"),
            AIMessage("Someone."),
            HumanMessage("How old is he?"),
        )

    openai, apple = (
        canonical_prompt(follow_up(name), LLM) for name in ("OpenAI", "Apple")
    )
    assert openai.query == apple.query == "How old is he?"
    assert openai.partition != apple.partition


def test_provider_tool_call_ids_do_not_split_the_same_conversation() -> None:
    def conversation(call_id: str) -> str:
        return chat(
            HumanMessage("Weather in Paris?"),
            AIMessage("", tool_calls=[{"name": "w", "args": {}, "id": call_id}]),
            ToolMessage("18C", tool_call_id=call_id),
            HumanMessage("And tomorrow?"),
        )

    assert (
        canonical_prompt(conversation("call_abc"), LLM).partition
        == canonical_prompt(conversation("call_xyz"), LLM).partition
    )


def test_a_tool_result_turn_is_never_embedded() -> None:
    canonical = canonical_prompt(
        chat(
            HumanMessage("Weather?"),
            AIMessage("", tool_calls=[{"name": "w", "args": {}, "id": "c1"}]),
            ToolMessage("18C", tool_call_id="c1"),
        ),
        LLM,
    )
    assert canonical.query == ""


def test_whitespace_and_zero_width_turns_are_not_embedded() -> None:
    for text in ("   ", "\u200b\u200d", "?!", "\ufeff \n\t"):
        assert canonical_prompt(chat(HumanMessage(text)), LLM).query == ""
        assert canonical_prompt(text, LLM).query == ""


def test_image_blocks_go_into_the_partition() -> None:
    def with_image(url: str) -> str:
        return chat(
            HumanMessage(
                content=[
                    {"type": "text", "text": "What is in this picture?"},
                    {"type": "image_url", "image_url": {"url": url}},
                ]
            )
        )

    cat, dog = (canonical_prompt(with_image(u), LLM) for u in ("cat.png", "dog.png"))
    assert cat.partition != dog.partition
    assert cat.query == ""
