"""Turn what LangChain hands a cache into a query text and exact keys.

For a chat model LangChain passes `dumps(messages)`; embedding that JSON makes
every chat prompt look alike. Here the JSON is parsed: only the last user
turn's text is embedded, and everything else that changes the answer (model
and sampling parameters, system prompt, tools, earlier turns) becomes an exact
partition key that is matched before any similarity search.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

__all__ = ["CanonicalPrompt", "LLMParams", "canonical_prompt", "normalize_text"]

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"))
_SPACES = re.compile(r"\s+")
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_HAS_WORD = re.compile(r"\w")
_REPR = re.compile(r"<[^<>]*>")
_AST_LOCK = threading.Lock()

# Parameters that never change the answer, only how the client is wired;
# some carry object reprs that differ per process.
_UNSTABLE_KEYS = frozenset(
    {
        "async_client",
        "cache",
        "callback_manager",
        "callbacks",
        "client",
        "http_async_client",
        "http_client",
        "metadata",
        "rate_limiter",
        "root_async_client",
        "root_client",
        "run_manager",
        "stream_usage",
        "tags",
        "verbose",
    }
)
_MODEL_KEYS = ("model_name", "model", "model_id", "deployment_name", "azure_deployment")
_MESSAGE_TYPES = frozenset(
    {"human", "ai", "system", "tool", "function", "chat", "developer"}
)
_VOLATILE_MESSAGE_KEYS = frozenset(
    {"id", "response_metadata", "usage_metadata", "type"}
)


def normalize_text(text: str) -> str:
    """Unicode-normalise `text`, drop zero-width characters, squeeze spaces."""
    text = unicodedata.normalize("NFKC", text).translate(_ZERO_WIDTH)
    return _SPACES.sub(" ", text).strip()


def _digest(*parts: str) -> str:
    hasher = hashlib.blake2b(digest_size=16)
    for part in parts:
        hasher.update(part.encode("utf-8", "surrogatepass"))
        hasher.update(b"\x00")
    return hasher.hexdigest()


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            str(key): _stable(item)
            for key, item in value.items()
            if key not in _UNSTABLE_KEYS
        }
    if isinstance(value, list | tuple):
        return [_stable(item) for item in value]
    if isinstance(value, str):
        return _ADDRESS.sub("", value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return _ADDRESS.sub("", repr(value))


def _parse_params(text: str) -> dict[str, Any] | None:
    # Object reprs ("<Client object at 0x...>") are not literals: quote them.
    text = _REPR.sub(lambda match: repr(_ADDRESS.sub("", match.group(0))), text)
    try:
        # CPython 3.11's AST builder is not safe to enter from two threads.
        with _AST_LOCK:
            parsed = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    if isinstance(parsed, list) and all(
        isinstance(item, tuple) and len(item) == 2 for item in parsed
    ):
        return {str(key): value for key, value in parsed}
    return None


@dataclass(frozen=True, slots=True)
class LLMParams:
    """What a normalised `llm_string` says."""

    key: str
    """Stable JSON of the model and its call parameters."""
    model: str | None
    """The model name, when the string names one."""
    n: int
    """How many completions the call asked for."""


def _find_model(params: dict[str, Any]) -> str | None:
    for key in _MODEL_KEYS:
        value = params.get(key)
        if isinstance(value, str) and value:
            return value
    return None


@lru_cache(maxsize=512)
def parse_llm_string(llm_string: str) -> LLMParams:
    """Normalise `llm_string` so that equal configurations give equal keys.

    Args:
        llm_string: LangChain's description of the model and call parameters.

    Returns:
        The normalised parameters.
    """
    serialized: Any = None
    rest = llm_string
    # A serialisable model gives `<json>---<params>`; the JSON may itself
    # contain "---", so split at the first place where the prefix parses.
    start = 0
    while (cut := llm_string.find("---", start)) != -1:
        try:
            serialized = json.loads(llm_string[:cut])
        except ValueError:
            start = cut + 1
            continue
        rest = llm_string[cut + 3 :]
        break
    params = _parse_params(rest)
    model_params: dict[str, Any] = {}
    if isinstance(serialized, dict):
        kwargs = serialized.get("kwargs")
        if isinstance(kwargs, dict):
            model_params.update(kwargs)
    if params is not None:
        model_params.update(params)
    stable = {
        "model": _stable(serialized),
        "call": _stable(params) if params is not None else _stable(rest),
    }
    n_value = model_params.get("n")
    n = n_value if isinstance(n_value, int) and not isinstance(n_value, bool) else 1
    return LLMParams(
        key=json.dumps(stable, sort_keys=True, default=repr),
        model=_find_model(model_params),
        n=n,
    )


@dataclass(frozen=True, slots=True)
class CanonicalPrompt:
    """A prompt split into the text to embed and the keys to match exactly."""

    query: str
    """Text to embed; empty when the prompt may only match exactly."""
    partition: str
    """Digest of everything but the query: only equal partitions compare."""
    exact_key: str
    """Digest of the whole normalised prompt."""
    llm: LLMParams
    """The normalised model parameters."""


def _as_messages(prompt: str) -> list[dict[str, Any]] | None:
    if not prompt.startswith("[{"):
        return None
    try:
        parsed = json.loads(prompt)
    except ValueError:
        return None
    if not isinstance(parsed, list) or not parsed:
        return None
    messages = []
    for item in parsed:
        if not (
            isinstance(item, dict)
            and item.get("lc") == 1
            and item.get("type") == "constructor"
            and isinstance(item.get("kwargs"), dict)
        ):
            return None
        kwargs = item["kwargs"]
        kind = kwargs.get("type")
        if kind not in _MESSAGE_TYPES:
            return None
        messages.append(kwargs)
    return messages


def _split_content(content: Any) -> tuple[str, list[Any]]:
    """The text of a message's content, and its non-text blocks."""
    if isinstance(content, str):
        return content, []
    texts: list[str] = []
    others: list[Any] = []
    if isinstance(content, list):
        for block in content:
            if isinstance(block, str):
                texts.append(block)
            elif isinstance(block, dict) and block.get("type") == "text":
                texts.append(str(block.get("text", "")))
            else:
                others.append(block)
    else:
        others.append(content)
    return "\n".join(texts), others


class _ToolIds:
    """Renames provider tool-call ids by order of appearance.

    Providers mint a fresh id for every tool call, so the same conversation
    replayed would otherwise never match.
    """

    def __init__(self) -> None:
        self._names: dict[str, str] = {}

    def __call__(self, value: Any) -> Any:
        if not isinstance(value, str) or not value:
            return value
        return self._names.setdefault(value, f"call_{len(self._names)}")


def _canonical_message(message: dict[str, Any], tool_ids: _ToolIds) -> dict[str, Any]:
    text, others = _split_content(message.get("content", ""))
    out: dict[str, Any] = {"type": message.get("type"), "text": normalize_text(text)}
    if others:
        out["blocks"] = _stable(others)
    for key, value in message.items():
        if key in _VOLATILE_MESSAGE_KEYS or key == "content":
            continue
        if key == "tool_calls" and isinstance(value, list):
            value = [
                {**call, "id": tool_ids(call.get("id"))}
                if isinstance(call, dict)
                else call
                for call in value
            ]
        elif key == "tool_call_id":
            value = tool_ids(value)
        elif key in {"additional_kwargs", "invalid_tool_calls"} and not value:
            continue
        out[key] = _stable(value)
    return out


def _embeddable(text: str) -> str:
    normalized = normalize_text(text)
    return normalized if _HAS_WORD.search(normalized) else ""


def canonical_prompt(prompt: str, llm_string: str) -> CanonicalPrompt:
    """Split a cache prompt into what to embed and what to match exactly.

    Args:
        prompt: The prompt LangChain passed to the cache: plain text for
            completion models, `dumps(messages)` for chat models.
        llm_string: LangChain's description of the model and parameters.

    Returns:
        The canonical prompt.
    """
    llm = parse_llm_string(llm_string)
    messages = _as_messages(prompt)
    if messages is None:
        partition = _digest("text", llm.key)
        query = _embeddable(prompt)
        return CanonicalPrompt(
            query=query,
            partition=partition,
            exact_key=_digest(partition, normalize_text(prompt)),
            llm=llm,
        )

    tool_ids = _ToolIds()
    canonical = [_canonical_message(message, tool_ids) for message in messages]
    last = canonical[-1]
    system = [
        item for item in canonical[:-1] if item["type"] in {"system", "developer"}
    ]
    earlier = [
        item for item in canonical[:-1] if item["type"] not in {"system", "developer"}
    ]
    query = ""
    if last["type"] == "human" and "blocks" not in last:
        query = _embeddable(last["text"])
    # The last turn minus its text: its name, its non-text blocks (an image
    # changes the answer), or a whole tool result when it is not a user turn.
    last_rest = {key: value for key, value in last.items() if key != "text"}
    if not query:
        last_rest = last
    context = json.dumps(
        {"system": system, "earlier": earlier, "last": last_rest},
        sort_keys=True,
        default=repr,
    )
    partition = _digest("chat", llm.key, context)
    return CanonicalPrompt(
        query=query,
        partition=partition,
        exact_key=_digest(partition, last["text"]),
        llm=llm,
    )
