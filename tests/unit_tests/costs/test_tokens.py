import base64
import hashlib
import struct
import zlib
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.prompt_values import ChatPromptValue
from langchain_core.tools import tool

from langchain_finops.costs import _tiktoken_offline
from langchain_finops.costs.tokens import count_tokens, encoding_name_for_model


@pytest.mark.parametrize(
    ("model", "encoding"),
    [
        ("gpt-4o", "o200k_base"),
        ("gpt-4o-mini-2024-07-18", "o200k_base"),
        ("gpt-4.1-nano", "o200k_base"),
        ("gpt-5-mini", "o200k_base"),
        ("o3-mini", "o200k_base"),
        ("o1", "o200k_base"),
        ("gpt-4", "cl100k_base"),
        ("gpt-4-turbo", "cl100k_base"),
        ("gpt-3.5-turbo-0125", "cl100k_base"),
        ("openai:gpt-4o", "o200k_base"),
    ],
)
def test_openai_models_get_their_own_encoding(model: str, encoding: str) -> None:
    assert encoding_name_for_model(model) == (encoding, False)


def test_other_providers_are_marked_estimated() -> None:
    count = count_tokens("Hello world", model="claude-sonnet-4-5")
    assert count == 2
    assert count.estimated
    assert not count_tokens("Hello world", model="gpt-4o").estimated


def test_plain_text_counts() -> None:
    # "Hello world" is two tokens in both encodings; the same sentence in
    # cl100k_base is "The", " quick", " brown", " fox", ".".
    assert count_tokens("Hello world", model="gpt-4o") == 2
    assert count_tokens("The quick brown fox.", model="gpt-4") == 5
    assert count_tokens("", model="gpt-4o") == 0


def test_special_token_text_is_counted_not_rejected() -> None:
    assert count_tokens("<|endoftext|>", model="gpt-4") > 1


def test_chat_framing_per_openai_rules() -> None:
    messages = [SystemMessage("You are helpful"), HumanMessage("hi")]
    # system: 3 framing + "system"(1) + "You are helpful"(3) = 7
    # user:   3 framing + "user"(1) + "hi"(1) = 5; reply priming 3. Total 15.
    assert count_tokens(messages, model="gpt-4") == 15
    assert count_tokens(ChatPromptValue(messages=messages), model="gpt-4") == 15


def test_name_adds_a_token() -> None:
    plain = count_tokens([HumanMessage("hi")], model="gpt-4o")
    named = count_tokens([HumanMessage("hi", name="bob")], model="gpt-4o")
    assert named - plain == 2  # the name's framing token and "bob"


def test_tool_schemas_are_counted() -> None:
    @tool
    def get_weather(city: str) -> str:
        """Look up today's weather for a city."""
        return "sunny"

    bare = count_tokens([HumanMessage("weather in Paris?")], model="gpt-4o")
    with_tool = count_tokens(
        [HumanMessage("weather in Paris?")], model="gpt-4o", tools=[get_weather]
    )
    assert with_tool - bare > 20


def _png(width: int, height: int) -> str:
    header = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR"
    header += struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    # Pad with a compressed blank body so the base64 string is long.
    body = zlib.compress(b"\x00" * 200_000)
    return base64.b64encode(header + b"\x00" * 4 + body).decode()


def test_images_are_counted_by_openai_tile_rule_not_as_base64() -> None:
    data = _png(1024, 1024)
    message = HumanMessage(
        content=[
            {"type": "text", "text": "What is this?"},
            {
                "type": "image_url",
                "image_url": {"url": f"data:image/png;base64,{data}"},
            },
        ]
    )
    text_only = count_tokens([HumanMessage("What is this?")], model="gpt-4o")
    # 1024x1024 -> short side 768 -> 768x768 -> 2x2 tiles -> 85 + 4 x 170 = 765.
    assert count_tokens([message], model="gpt-4o") - text_only == 765


def test_low_detail_image_is_85_tokens() -> None:
    message = HumanMessage(
        content=[
            {
                "type": "image_url",
                "image_url": {"url": "https://x.test/a.png", "detail": "low"},
            }
        ]
    )
    assert (
        count_tokens([message], model="gpt-4o")
        - count_tokens([HumanMessage("")], model="gpt-4o")
        == 85
    )


def test_anthropic_image_rule() -> None:
    data = _png(750, 100)
    message = HumanMessage(
        content=[{"type": "image", "source_type": "base64", "base64": data}]
    )
    empty = count_tokens([HumanMessage("")], model="claude-sonnet-4-5")
    # width x height / 750 = 100 tokens.
    assert count_tokens([message], model="claude-sonnet-4-5") - empty == 100


def test_ai_tool_calls_are_counted() -> None:
    call = AIMessage(
        "", tool_calls=[{"name": "get_weather", "args": {"city": "Paris"}, "id": "c1"}]
    )
    assert count_tokens([call], model="gpt-4o") > count_tokens(
        [AIMessage("")], model="gpt-4o"
    )


def test_wrong_type_is_a_clear_error() -> None:
    with pytest.raises(TypeError, match="not int"):
        count_tokens(42, model="gpt-4o")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="convert_to_messages"):
        count_tokens([{"role": "user", "content": "hi"}], model="gpt-4o")  # type: ignore[list-item]


def test_offline_seed_writes_verified_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(_tiktoken_offline, "_seeded", set())
    assert _tiktoken_offline.seed_encoding("o200k_base")
    url = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
    cached = tmp_path / hashlib.sha1(url.encode()).hexdigest()
    digest = hashlib.sha256(cached.read_bytes()).hexdigest()
    assert digest == _tiktoken_offline.EXPECTED_SHA256["o200k_base"]


def test_offline_seed_replaces_a_corrupt_cached_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(_tiktoken_offline, "_seeded", set())
    url = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
    cached = tmp_path / hashlib.sha1(url.encode()).hexdigest()
    cached.write_bytes(b"truncated")
    assert _tiktoken_offline.seed_encoding("cl100k_base")
    digest = hashlib.sha256(cached.read_bytes()).hexdigest()
    assert digest == _tiktoken_offline.EXPECTED_SHA256["cl100k_base"]


def test_unknown_encoding_is_left_to_tiktoken() -> None:
    assert not _tiktoken_offline.seed_encoding("p50k_base")
