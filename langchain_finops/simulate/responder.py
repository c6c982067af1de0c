"""A stand-in for a provider's chat model when the replay runs offline.

`SimulatedChatModel` bills like the model it is named after: its input usage
is the real token count of the messages (tiktoken, the model's own encoding)
and its reply has a real token count too. Only the reply *text* is invented:
its length is drawn from the lengths of real chat-model answers
(`data/reply_lengths.json`, percentiles of 800 MT-Bench answers), and the
words are filler. The draw is a pure function of the seed and the call, so a
replay gives the same figures every time, and the baseline and the optimised
pipeline get the same reply length for the same call.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field
from typing_extensions import override

from langchain_finops.costs.events import OVERHEAD_METADATA_KEY
from langchain_finops.costs.tokens import count_tokens

__all__ = ["CALL_KEY_METADATA", "SimulatedChatModel", "reply_length_percentiles"]

CALL_KEY_METADATA = "finops_simulate_call"
"""Run metadata naming the call being replayed; the reply length is drawn from
it, so that the baseline and the optimised pipeline get the same length even
when the optimised one sent a shorter prompt."""

_REPLY_LENGTHS = Path(__file__).with_name("data") / "reply_lengths.json"
# Each of these words is one token with its leading space in both o200k_base
# and cl100k_base, so a reply of n words is n tokens long.
_FILLER_TEXT = (
    "the answer is that you can do this in the app by going to your account "
    "settings and then choosing the option you need which will take a few "
    "minutes to complete please note fees may apply and we will send you a "
    "message when it is done if you have any other questions let us know"
)
_FILLER = tuple(_FILLER_TEXT.split(" "))


@lru_cache(maxsize=1)
def reply_length_percentiles() -> tuple[int, ...]:
    """The shipped percentiles 0..100 of real answer lengths, in tokens."""
    data = json.loads(_REPLY_LENGTHS.read_text(encoding="utf-8"))
    return tuple(int(value) for value in data["percentiles"])


def _draw(percentiles: Sequence[int], unit: float) -> int:
    """Inverse-CDF draw: `unit` in [0, 1) read off the percentile table."""
    position = unit * (len(percentiles) - 1)
    low = int(position)
    high = min(low + 1, len(percentiles) - 1)
    fraction = position - low
    return max(
        1, round(percentiles[low] + fraction * (percentiles[high] - percentiles[low]))
    )


def _unit(*parts: object) -> float:
    digest = hashlib.blake2b(repr(parts).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


class SimulatedChatModel(BaseChatModel):
    """An offline chat model with real prompt usage and simulated replies.

    Example:
        ```python
        from langchain_finops.simulate import SimulatedChatModel

        model = SimulatedChatModel(model_name="gpt-4o", seed=7)
        reply = model.invoke("How do I top up by cheque?")
        reply.usage_metadata  # real input tokens, simulated output length
        ```
    """

    model_name: str = "gpt-4o"
    """The model this stands in for; its tokenizer and price apply."""
    seed: int = 0
    """Same seed, same reply lengths."""
    max_tokens: int | None = None
    """Cap on a reply's length, as a provider's `max_tokens`."""
    percentiles: tuple[int, ...] = Field(default_factory=reply_length_percentiles)
    """The reply-length distribution, as percentiles 0..100 in tokens."""

    @property
    def _llm_type(self) -> str:
        return "finops-simulated-chat-model"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "max_tokens": self.max_tokens}

    def reply_length(self, key: object) -> int:
        """The number of tokens the reply to call `key` has."""
        length = _draw(self.percentiles, _unit(self.seed, key))
        return length if self.max_tokens is None else min(length, self.max_tokens)

    @override
    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        metadata = run_manager.metadata if run_manager is not None else {}
        key: object = metadata.get(CALL_KEY_METADATA)
        if key is None:
            key = tuple((m.type, m.text) for m in messages)
        # A summariser's call under the same replayed call needs a draw of its
        # own, not the answer's length.
        key = (key, metadata.get(OVERHEAD_METADATA_KEY))
        length = self.reply_length(key)
        cap = kwargs.get("max_tokens")
        if isinstance(cap, int) and cap > 0:
            length = min(length, cap)
        words = [_FILLER[index % len(_FILLER)] for index in range(length)]
        text = " ".join(words)
        input_tokens = int(count_tokens(messages, model=self.model_name))
        output_tokens = int(count_tokens(text, model=self.model_name))
        usage: UsageMetadata = {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "total_tokens": input_tokens + output_tokens,
        }
        message = AIMessage(
            content=text,
            usage_metadata=usage,
            response_metadata={
                "model_name": self.model_name,
                "finish_reason": "stop",
                # A provider's response id, as OpenAI's replies carry one.
                "id": f"sim-{run_manager.run_id}" if run_manager else None,
                "simulated": True,
            },
        )
        return ChatResult(generations=[ChatGeneration(message=message)])
