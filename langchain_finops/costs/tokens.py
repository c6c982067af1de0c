"""Token counting for strings, message lists and prompt values, per model.

OpenAI models are counted exactly with their own tiktoken encoding, including
the framing tokens chat formats add around each message. Models of other
providers have no public offline tokenizer here; they are counted with
`o200k_base` and the result is marked `estimated`, since their vocabularies
differ by a few percent on English text and more on code or other scripts.

Images are never tokenised as text: a base64 string of a 1 MB picture would
count as ~300k tokens when the provider bills a few hundred. They are counted
by the provider's published rule from the picture's size.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import math
import struct
from collections.abc import Mapping, Sequence
from typing import Any

import tiktoken
from langchain_core.messages import BaseMessage
from langchain_core.prompt_values import PromptValue
from langchain_core.utils.function_calling import convert_to_openai_tool

from langchain_finops.costs._tiktoken_offline import (
    private_tiktoken_cache,
    seed_encoding,
)

__all__ = ["TokenCount", "count_tokens", "encoding_name_for_model"]

# Chat framing used by OpenAI's chat formats: each message is wrapped in
# `<|start|>{role}\n{content}<|end|>` (3 tokens), a `name` adds one, and the
# reply is primed with `<|start|>assistant<|message|>` (3 tokens).
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
TOKENS_REPLY_PRIMING = 3

# OpenAI's published image rule (gpt-4o, gpt-4.1, gpt-4-turbo): a low-detail
# image is a flat 85 tokens; a high-detail one is scaled to fit 2048x2048, then
# its short side to 768, and costs 170 per 512-pixel tile plus 85.
IMAGE_BASE_TOKENS = 85
IMAGE_TILE_TOKENS = 170
# An image whose size cannot be read (a URL we do not fetch) is assumed to be
# 1024x1024 at high detail: 4 tiles, 765 tokens.
UNKNOWN_IMAGE_TOKENS = IMAGE_BASE_TOKENS + 4 * IMAGE_TILE_TOKENS
# Anthropic bills an image at width * height / 750 tokens, after scaling
# anything with a long edge over 1568 pixels or over about 1,600 tokens down.
ANTHROPIC_PIXELS_PER_TOKEN = 750
ANTHROPIC_MAX_EDGE = 1568
ANTHROPIC_MAX_IMAGE_TOKENS = 1600

# Fixed framing of the tool list in OpenAI's chat format (measured against
# reported usage by several open-source counters; documented as an estimate).
TOOLS_OVERHEAD_TOKENS = 12

_ESTIMATE_ENCODING = "o200k_base"

# LangChain message types as the role names OpenAI frames them with.
_OPENAI_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}


class TokenCount(int):
    """A token count that says how it was obtained.

    It is an `int`, so it adds and compares like one; `estimated` is True when
    the model's own tokenizer was not available and `encoding` names the one
    used instead.
    """

    estimated: bool
    encoding: str

    def __new__(cls, value: int, *, estimated: bool, encoding: str) -> TokenCount:  # noqa: D102
        count = super().__new__(cls, value)
        count.estimated = estimated
        count.encoding = encoding
        return count

    def __getnewargs_ex__(self) -> tuple[tuple[int], dict[str, Any]]:
        # copy, deepcopy and pickle rebuild the int through __new__.
        return (int(self),), {"estimated": self.estimated, "encoding": self.encoding}

    def __repr__(self) -> str:
        mark = ", estimated" if self.estimated else ""
        return f"TokenCount({int(self)}, encoding={self.encoding!r}{mark})"


def _strip_provider(model: str) -> str:
    # "openai:gpt-4o" (init_chat_model style) and "openai/gpt-4o" (gateways).
    for separator in (":", "/"):
        if separator in model:
            prefix, rest = model.split(separator, 1)
            if prefix in {"openai", "azure", "azure_openai"}:
                return rest
    return model


def _is_anthropic(model: str) -> bool:
    return "claude" in model.lower()


def encoding_name_for_model(model: str) -> tuple[str, bool]:
    """The tiktoken encoding for `model`, and whether counts with it are estimates.

    Args:
        model: A model name such as `gpt-4o-mini` or `claude-sonnet-4-5`.

    Returns:
        The encoding name and True when the model is not an OpenAI model that
        tiktoken knows, in which case `o200k_base` stands in.
    """
    name = _strip_provider(model.strip())
    try:
        return tiktoken.encoding_name_for_model(name), False
    except KeyError:
        pass
    # tiktoken's table lags new releases within known families.
    lowered = name.lower()
    if lowered.startswith(
        ("gpt-5", "gpt-4.1", "gpt-4o", "chatgpt-4o", "o1", "o3", "o4")
    ):
        return "o200k_base", False
    if lowered.startswith(("gpt-4", "gpt-3.5", "gpt-35")):
        return "cl100k_base", False
    return _ESTIMATE_ENCODING, True


@functools.cache
def _encoding(name: str) -> tiktoken.Encoding:
    if seed_encoding(name):
        return tiktoken.get_encoding(name)
    # tiktoken's cache is off or unwritable: load from a private cache seeded
    # with the shipped file instead of letting tiktoken try to download.
    with private_tiktoken_cache(name):
        return tiktoken.get_encoding(name)


def _count_text(text: str, encoding: tiktoken.Encoding) -> int:
    # disallowed_special=() so a prompt that mentions "<|endoftext|>" is
    # counted as the text it is instead of raising.
    return len(encoding.encode(text, disallowed_special=()))


# Base64 decoded to find an image's size: the first 64 KiB hold the header
# of every format we read, except a JPEG whose metadata segments (EXIF with a
# thumbnail, ICC profiles) come before its frame header.
_HEAD_BASE64 = 65536
_JPEG_SEARCH_BASE64 = 4 * 1024 * 1024


def _decode_base64(data: str) -> bytes | None:
    try:
        return base64.b64decode(data + "===", validate=False)
    except (binascii.Error, ValueError):
        return None


def _image_size_from_data_url(url: str) -> tuple[int, int] | None:
    if not url.startswith("data:") or "," not in url:
        return None
    header_and_data = url.split(",", 1)[1]
    head = _decode_base64(header_and_data[:_HEAD_BASE64])
    if head is None:
        return None
    size = _image_size(head)
    if (
        size is None
        and head.startswith(b"\xff\xd8")
        and len(header_and_data) > _HEAD_BASE64
    ):
        longer = _decode_base64(header_and_data[:_JPEG_SEARCH_BASE64])
        size = None if longer is None else _jpeg_size(longer)
    if size is None or size[0] <= 0 or size[1] <= 0:
        # A zero-sized picture is corrupt: count it as one of unknown size.
        return None
    return size


def _image_size(data: bytes) -> tuple[int, int] | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _webp_size(data)
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    kind = data[12:16]
    if kind == b"VP8 " and len(data) >= 30:
        width, height = struct.unpack("<HH", data[26:30])
        return int(width) & 0x3FFF, int(height) & 0x3FFF
    if kind == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        # Lossless: 14 bits of width - 1, then 14 bits of height - 1.
        (bits,) = struct.unpack("<I", data[21:25])
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if kind == b"VP8X" and len(data) >= 30:
        # Extended: the canvas size, 24 bits each, minus one.
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    index = 2
    while index + 9 < len(data):
        if data[index] != 0xFF:
            index += 1
            continue
        marker = data[index + 1]
        if marker == 0xFF:
            # Fill bytes may pad a marker; the marker is the last 0xFF's.
            index += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:
            # Standalone markers (TEM, RSTn, SOI) carry no length.
            index += 2
            continue
        # Start-of-frame markers carry the size; C4, C8 and CC are not frames.
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[index + 5 : index + 9])
            return int(width), int(height)
        (length,) = struct.unpack(">H", data[index + 2 : index + 4])
        index += 2 + int(length)
    return None


# OpenAI prices images per model family. Tile models pay a base plus a price
# per 512-pixel tile; patch models pay per 32-pixel patch (at most 1,536),
# times a multiplier. Figures from OpenAI's vision pricing guide.
_TILE_RULES: tuple[tuple[str, int, int], ...] = (
    ("gpt-4o-mini", 2833, 5667),
    ("o1", 75, 150),
    ("o3", 75, 150),
)
_PATCH_RULES: tuple[tuple[str, float], ...] = (
    ("gpt-4.1-mini", 1.62),
    ("gpt-4.1-nano", 2.46),
    ("o4-mini", 1.72),
)
_PATCH_PIXELS = 32
_MAX_PATCHES = 1536


def _patch_image_tokens(size: tuple[int, int] | None, multiplier: float) -> int:
    if size is None:
        return math.ceil(_MAX_PATCHES * multiplier)
    width, height = size
    patches = math.ceil(width / _PATCH_PIXELS) * math.ceil(height / _PATCH_PIXELS)
    if patches > _MAX_PATCHES:
        # Scaled down, keeping the aspect ratio, to fit the patch budget.
        shrink = math.sqrt(_PATCH_PIXELS**2 * _MAX_PATCHES / (width * height))
        columns = math.floor(width * shrink / _PATCH_PIXELS)
        rows = math.floor(height * shrink / _PATCH_PIXELS)
        patches = min(_MAX_PATCHES, max(columns, 1) * max(rows, 1))
    return math.ceil(patches * multiplier)


def _openai_image_tokens(size: tuple[int, int] | None, detail: str, model: str) -> int:
    name = _strip_provider(model.strip()).lower()
    for prefix, multiplier in _PATCH_RULES:
        if name.startswith(prefix):
            return _patch_image_tokens(size, multiplier)
    base, per_tile = IMAGE_BASE_TOKENS, IMAGE_TILE_TOKENS
    for prefix, rule_base, rule_tile in _TILE_RULES:
        if name.startswith(prefix):
            base, per_tile = rule_base, rule_tile
            break
    if detail == "low":
        return base
    if size is None:
        # Assumed 1024x1024 at high detail: 4 tiles.
        return base + 4 * per_tile
    fit = min(1.0, 2048 / max(size))
    width, height = size[0] * fit, size[1] * fit
    shrink = min(1.0, 768 / min(width, height))
    tiles = math.ceil(width * shrink / 512) * math.ceil(height * shrink / 512)
    return base + per_tile * tiles


def _image_tokens(block: Mapping[str, Any], model: str) -> int:
    url = ""
    detail = "auto"
    size: tuple[int, int] | None = None
    if block.get("type") == "image_url":
        image_url = block.get("image_url")
        if isinstance(image_url, Mapping):
            url = str(image_url.get("url", ""))
            detail = str(image_url.get("detail", "auto"))
        else:
            url = str(image_url or "")
        size = _image_size_from_data_url(url)
    else:
        # LangChain's standard block: {"type": "image", "base64": ..., "url": ...}
        # and Anthropic's {"type": "image", "source": {"data": ...}}.
        source = block.get("source")
        data = block.get("base64") or block.get("data")
        if isinstance(source, Mapping):
            data = data or source.get("data")
        if isinstance(data, str):
            size = _image_size_from_data_url("data:," + data)
        elif isinstance(block.get("url"), str):
            size = _image_size_from_data_url(str(block["url"]))
    if _is_anthropic(model):
        if size is None:
            # Anthropic resizes anything larger to about 1.15 megapixels.
            return ANTHROPIC_MAX_IMAGE_TOKENS
        shrink = min(1.0, ANTHROPIC_MAX_EDGE / max(size))
        pixels = size[0] * shrink * size[1] * shrink
        return min(
            math.ceil(pixels / ANTHROPIC_PIXELS_PER_TOKEN), ANTHROPIC_MAX_IMAGE_TOKENS
        )
    return _openai_image_tokens(size, detail, model)


def _content_tokens(content: Any, encoding: tiktoken.Encoding, model: str) -> int:
    if content is None:
        return 0
    if isinstance(content, str):
        return _count_text(content, encoding)
    if isinstance(content, Mapping):
        content = [content]
    total = 0
    for block in content:
        if isinstance(block, str):
            total += _count_text(block, encoding)
            continue
        if not isinstance(block, Mapping):
            total += _count_text(str(block), encoding)
            continue
        kind = block.get("type")
        if kind in ("image_url", "image"):
            total += _image_tokens(block, model)
        elif kind == "text" or "text" in block:
            total += _count_text(str(block.get("text", "")), encoding)
        else:
            # Audio, files and provider-specific blocks: count their textual
            # fields only, never raw payloads.
            text = block.get("transcript") or block.get("content") or ""
            total += _count_text(str(text), encoding)
    return total


def _message_tokens(
    message: BaseMessage, encoding: tiktoken.Encoding, model: str
) -> int:
    total = TOKENS_PER_MESSAGE
    total += _count_text(_OPENAI_ROLES.get(message.type, message.type), encoding)
    total += _content_tokens(message.content, encoding, model)
    if message.name:
        total += TOKENS_PER_NAME + _count_text(message.name, encoding)
    tool_calls = getattr(message, "tool_calls", None) or []
    for call in tool_calls:
        total += _count_text(str(call.get("name", "")), encoding)
        total += _count_text(
            # default=str: args built in code may hold dates, UUIDs, sets.
            json.dumps(call.get("args", {}), separators=(",", ":"), default=str),
            encoding,
        )
        total += TOKENS_PER_MESSAGE
    tool_call_id = getattr(message, "tool_call_id", None)
    if tool_call_id:
        total += _count_text(str(tool_call_id), encoding)
    return total


def _tools_tokens(tools: Sequence[Any], encoding: tiktoken.Encoding) -> int:
    if not tools:
        return 0
    total = TOOLS_OVERHEAD_TOKENS
    for tool in tools:
        schema = convert_to_openai_tool(tool)
        total += _count_text(json.dumps(schema, separators=(",", ":")), encoding)
    return total


def count_tokens(
    value: str | PromptValue | Sequence[BaseMessage],
    *,
    model: str,
    tools: Sequence[Any] | None = None,
) -> TokenCount:
    """Count the input tokens `value` costs when sent to `model`.

    Args:
        value: A plain string, a `PromptValue`, or a list of messages. A list
            of messages gets the chat framing of OpenAI's formats (3 tokens a
            message, 1 for a `name`, 3 to prime the reply).
        model: The model the text is sent to; it picks the tiktoken encoding
            (`o200k_base` for gpt-4o, gpt-4.1, gpt-5 and o-series models,
            `cl100k_base` for gpt-4 and gpt-3.5).
        tools: Tool definitions bound to the call (anything
            `convert_to_openai_tool` accepts); their JSON schemas are counted.

    Returns:
        The count, marked `estimated` for models that are not OpenAI's.

    Raises:
        TypeError: If `value` is not a string, a prompt value or a sequence of
            messages.

    Example:
        ```python
        from langchain_finops import count_tokens

        count_tokens("Hello world", model="gpt-4o")  # TokenCount(2, ...)
        ```
    """
    encoding_name, estimated = encoding_name_for_model(model)
    encoding = _encoding(encoding_name)
    if isinstance(value, str):
        total = _count_text(value, encoding)
    else:
        if isinstance(value, PromptValue):
            messages: Sequence[Any] = value.to_messages()
        elif isinstance(value, Sequence):
            messages = value
        else:
            msg = (
                f"count_tokens() takes a string, a PromptValue or a list of messages, "
                f"not {type(value).__name__}."
            )
            raise TypeError(msg)
        for message in messages:
            if not isinstance(message, BaseMessage):
                msg = (
                    "count_tokens() takes a list of langchain_core BaseMessage "
                    f"objects; found {type(message).__name__}. Convert dicts with "
                    "langchain_core.messages.convert_to_messages first."
                )
                raise TypeError(msg)
        total = sum(_message_tokens(m, encoding, model) for m in messages)
        total += TOKENS_REPLY_PRIMING if messages else 0
    total += _tools_tokens(tools or (), encoding)
    return TokenCount(total, estimated=estimated, encoding=encoding_name)
