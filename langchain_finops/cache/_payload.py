"""Stored answers as JSON, and the rules for what may be stored."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, message_to_dict, messages_from_dict
from langchain_core.outputs import ChatGeneration, Generation

from langchain_finops.costs.events import CACHE_METADATA_KEY

__all__ = ["dump_generations", "load_generations", "unstorable_reason"]

_TRUNCATED = frozenset({"length", "max_tokens", "max_output_tokens", "MAX_TOKENS"})


def _finish_reason(generation: Generation) -> Any:
    info = generation.generation_info or {}
    reason = info.get("finish_reason")
    if reason is None and isinstance(generation, ChatGeneration):
        metadata = generation.message.response_metadata
        reason = metadata.get("finish_reason") or metadata.get("stop_reason")
    return reason


def _is_empty(generation: Generation) -> bool:
    if isinstance(generation, ChatGeneration):
        message = generation.message
        if isinstance(message, AIMessage) and message.tool_calls:
            return False
        return not message.text.strip() and not message.additional_kwargs
    return not generation.text.strip()


def unstorable_reason(generations: Sequence[Generation], n: int) -> str | None:
    """Why an answer must not be cached, or None if it may.

    Args:
        generations: What the model returned.
        n: How many completions the call asked for.

    Returns:
        `"n>1"`, `"no generations"`, `"truncated"` or `"empty"`, or None.
    """
    if n > 1:
        return "n>1"
    if not generations:
        return "no generations"
    if any(_finish_reason(generation) in _TRUNCATED for generation in generations):
        return "truncated"
    if all(_is_empty(generation) for generation in generations):
        return "empty"
    return None


def dump_generations(generations: Sequence[Generation]) -> str:
    """Serialise generations for the store.

    Run ids and our own hit marker are dropped: they belong to one call.

    Raises:
        TypeError: If a generation holds a value JSON cannot represent.
    """
    items: list[dict[str, Any]] = []
    for generation in generations:
        item: dict[str, Any] = {"generation_info": generation.generation_info}
        if isinstance(generation, ChatGeneration):
            metadata = {
                key: value
                for key, value in generation.message.response_metadata.items()
                if key != CACHE_METADATA_KEY
            }
            message = generation.message.model_copy(
                update={"id": None, "response_metadata": metadata}
            )
            item["message"] = message_to_dict(message)
        else:
            item["text"] = generation.text
        items.append(item)
    return json.dumps(items, ensure_ascii=False)


def load_generations(payload: str) -> list[Generation]:
    """Rebuild generations written by `dump_generations`."""
    generations: list[Generation] = []
    for item in json.loads(payload):
        if "message" in item:
            (message,) = messages_from_dict([item["message"]])
            generations.append(
                ChatGeneration(message=message, generation_info=item["generation_info"])
            )
        else:
            generations.append(
                Generation(text=item["text"], generation_info=item["generation_info"])
            )
    return generations
