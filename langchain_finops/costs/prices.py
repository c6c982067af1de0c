"""What a call costs: prices from `genai-prices`, with user overrides.

`genai-prices` is a maintained, dated, offline price table with cached-input,
cache-write and tiered prices; it is the default. A user may override a model
or add one of their own (a fine-tune, a private deployment) with a mapping of
model name to USD per million tokens. A model found in neither is *unpriced*:
its cost is `None`, never $0, and one WARNING names it.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["ModelPrice", "PriceTable", "TokenUsage"]

logger = logging.getLogger(__name__)

_MILLION = Decimal(1_000_000)
_WARNED_UNPRICED: set[str] = set()
_WARNED_LOCK = threading.Lock()
_OVERRIDE_KEYS = ("input", "output", "cache_read", "cache_write")
_REQUIRED_OVERRIDE_KEYS = ("input", "output")
# Prefixes that name a provider rather than a model ("openai:gpt-4o" is how
# `init_chat_model` spells it; gateways use "openai/gpt-4o").
_PROVIDER_SEPARATORS = (":", "/")


@dataclass(frozen=True, slots=True)
class TokenUsage:
    """The billable token counts of one call, in the shape providers bill them.

    `input_tokens` includes the cached and cache-write tokens, and
    `output_tokens` includes the reasoning tokens, as in LangChain's
    `usage_metadata`; each part is priced once, at its own rate.
    """

    input_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    input_audio_tokens: int = 0
    output_audio_tokens: int = 0

    @classmethod
    def from_usage_metadata(cls, usage: Mapping[str, Any]) -> TokenUsage:
        """Read LangChain's `usage_metadata` (`langchain_core.messages.ai`).

        Anthropic reports cache writes as `cache_creation`, and sometimes only
        in the `ephemeral_5m_input_tokens` / `ephemeral_1h_input_tokens`
        buckets; the cache-write total is the larger of the two readings.

        Raises:
            ValueError: If a count is missing, not an integer, or negative, if
                the usage or one of its details is not a mapping, or if more
                tokens are cached than were sent.
        """
        if not isinstance(usage, Mapping):
            msg = f"usage is {type(usage).__name__}, not a mapping"
            raise ValueError(msg)
        input_details = usage.get("input_token_details") or {}
        output_details = usage.get("output_token_details") or {}
        if not input_details and not output_details:
            # The common case, kept short: it runs once per model call.
            return cls(
                input_tokens=_count(usage, "input_tokens", required=True),
                output_tokens=_count(usage, "output_tokens", required=True),
            )
        if not isinstance(input_details, Mapping) or not isinstance(
            output_details, Mapping
        ):
            msg = "usage token details are not mappings"
            raise ValueError(msg)
        input_tokens = _count(usage, "input_tokens", required=True)
        cache_read = _count(input_details, "cache_read")
        written_5m = _count(input_details, "ephemeral_5m_input_tokens")
        written_1h = _count(input_details, "ephemeral_1h_input_tokens")
        written = max(_count(input_details, "cache_creation"), written_5m + written_1h)
        if cache_read + written > input_tokens:
            # `input_tokens` includes cached and cache-write tokens in
            # LangChain's usage_metadata; more cached than sent is corrupt.
            msg = (
                f"usage reports {cache_read + written} cached or cache-write "
                f"tokens but only {input_tokens} input tokens"
            )
            raise ValueError(msg)
        return cls(
            input_tokens=input_tokens,
            cache_read_tokens=cache_read,
            cache_write_tokens=written,
            cache_write_5m_tokens=written_5m,
            cache_write_1h_tokens=written_1h,
            output_tokens=_count(usage, "output_tokens", required=True),
            reasoning_tokens=_count(output_details, "reasoning"),
            input_audio_tokens=_count(input_details, "audio"),
            output_audio_tokens=_count(output_details, "audio"),
        )


def _count(mapping: Mapping[str, Any], key: str, *, required: bool = False) -> int:
    value = mapping.get(key)
    if type(value) is int and value >= 0:
        return value
    if value is None:
        if required:
            msg = f"usage has no `{key}`"
            raise ValueError(msg)
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"usage `{key}` is {value!r}, not a whole number"
        raise ValueError(msg)
    if value < 0:
        msg = f"usage `{key}` is negative ({value})"
        raise ValueError(msg)
    return value


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """A user-supplied price, in USD per million tokens.

    `cache_read` and `cache_write` default to the input price: with no
    discount stated, none is assumed.
    """

    input: Decimal
    output: Decimal
    cache_read: Decimal | None = None
    cache_write: Decimal | None = None

    def cost(self, usage: TokenUsage) -> Decimal:
        """The cost of `usage` at this price."""
        cache_read = self.input if self.cache_read is None else self.cache_read
        cache_write = self.input if self.cache_write is None else self.cache_write
        uncached = (
            usage.input_tokens - usage.cache_read_tokens - usage.cache_write_tokens
        )
        micro_dollars = (
            max(uncached, 0) * self.input
            + usage.cache_read_tokens * cache_read
            + usage.cache_write_tokens * cache_write
            + usage.output_tokens * self.output
        )
        return micro_dollars / _MILLION


def _to_decimal(model: str, key: str, value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        msg = (
            f"Price override for {model!r}: `{key}` is {value!r}; give USD per "
            "million tokens as a number or a decimal string, e.g. 2.5 or '2.50'."
        )
        raise TypeError(msg)
    try:
        # str() first so 0.1 becomes Decimal("0.1"), not its binary expansion.
        price = Decimal(str(value))
    except InvalidOperation:
        msg = f"Price override for {model!r}: `{key}` is {value!r}, not a number."
        raise ValueError(msg) from None
    if not price.is_finite() or price < 0:
        msg = f"Price override for {model!r}: `{key}` is {value!r}; it must be >= 0."
        raise ValueError(msg)
    return price


def _parse_overrides(
    overrides: Mapping[str, Mapping[str, object]] | None,
) -> dict[str, ModelPrice]:
    parsed: dict[str, ModelPrice] = {}
    for model, prices in (overrides or {}).items():
        if not isinstance(prices, Mapping):
            msg = (
                f"Price override for {model!r} is {prices!r}; give a mapping such "
                "as {'input': 2.5, 'output': 10} in USD per million tokens."
            )
            raise TypeError(msg)
        unknown = sorted(set(prices) - set(_OVERRIDE_KEYS))
        if unknown:
            msg = (
                f"Price override for {model!r} has unknown keys {unknown}; the keys "
                f"are {list(_OVERRIDE_KEYS)} (USD per million tokens)."
            )
            raise ValueError(msg)
        missing = [key for key in _REQUIRED_OVERRIDE_KEYS if key not in prices]
        if missing:
            msg = f"Price override for {model!r} lacks {missing}; both are required."
            raise ValueError(msg)
        values = {
            key: _to_decimal(model, key, prices[key])
            for key in prices
            # An optional price given as None is a price not given.
            if prices[key] is not None or key in _REQUIRED_OVERRIDE_KEYS
        }
        parsed[model] = ModelPrice(**values)
    return parsed


def _bare_model_name(model: str) -> str:
    for separator in _PROVIDER_SEPARATORS:
        if separator in model:
            return model.split(separator, 1)[1]
    return model


@functools.cache
def _known_provider_ids() -> frozenset[str]:
    from genai_prices import data_snapshot

    return frozenset(provider.id for provider in data_snapshot.get_snapshot().providers)


# genai-prices fields that a plain per-token formula prices exactly.
_SIMPLE_PRICE_FIELDS = {
    "input_mtok": "input",
    "output_mtok": "output",
    "cache_read_mtok": "cache_read",
    "cache_write_mtok": "cache_write",
}


def _genai_usage(usage: TokenUsage) -> Any:
    from genai_prices import Usage

    values = {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_read_tokens": usage.cache_read_tokens,
        "cache_write_tokens": usage.cache_write_tokens,
        "cache_write_5m_tokens": usage.cache_write_5m_tokens,
        "cache_write_1h_tokens": usage.cache_write_1h_tokens,
        "output_reasoning_tokens": usage.reasoning_tokens,
        "input_audio_tokens": usage.input_audio_tokens,
        "output_audio_tokens": usage.output_audio_tokens,
    }
    # Zero counts are left out: genai-prices treats a reported bucket as a
    # claim that the model has that kind of usage.
    return Usage(**{key: value for key, value in values.items() if value})


@functools.lru_cache(maxsize=4096)
def _resolve(
    model: str, provider: str | None, day: date
) -> tuple[str, str | None] | None:
    """The (name, provider id) under which genai-prices knows `model`, or None.

    Cached for the process (per day, since prices change on set dates):
    every handler shares the lookups.
    """
    from genai_prices import Usage, calc_price

    names = [model]
    bare = _bare_model_name(model)
    if bare != model:
        names.append(bare)
    providers: list[str | None] = [None]
    if provider in _known_provider_ids():
        providers.insert(0, provider)
    for name in names:
        for provider_id in providers:
            try:
                calc_price(Usage(input_tokens=1), name, provider_id=provider_id)
            except LookupError:
                continue
            return name, provider_id
    return None


@functools.lru_cache(maxsize=4096)
def _flat_price(name: str, provider_id: str | None, day: date) -> ModelPrice | None:
    """The model's price as a flat per-token `ModelPrice`, when it is one.

    Pricing a call through genai-prices takes ~100 µs; most models have flat
    per-token prices that the same formula gives in a few µs. Tiered, audio
    and other special prices return None and go through genai-prices.
    """
    from genai_prices import Usage, calc_price
    from genai_prices.types import TimeOfDateConstraint

    found = calc_price(Usage(input_tokens=1), name, provider_id=provider_id)
    conditional = found.model.prices
    if isinstance(conditional, list) and any(
        isinstance(option.constraint, TimeOfDateConstraint) for option in conditional
    ):
        # Off-peak prices change within the day: ask genai-prices every call.
        return None
    fields = {
        key: value
        for key, value in vars(found.model_price).items()
        if key.endswith("_mtok") and value is not None
    }
    if not set(fields) <= set(_SIMPLE_PRICE_FIELDS):
        return None
    if not all(isinstance(value, Decimal) for value in fields.values()):
        return None
    if "input_mtok" not in fields or "output_mtok" not in fields:
        return None
    flat = ModelPrice(
        **{_SIMPLE_PRICE_FIELDS[key]: value for key, value in fields.items()}
    )
    # Prices that are not per token (a fee per request, per search) sit in
    # fields the formula ignores: keep the shortcut only where it agrees
    # with genai-prices on a call that uses every priced kind of token.
    probe = TokenUsage(
        input_tokens=3_000_017,
        cache_read_tokens=1_000_003 if flat.cache_read is not None else 0,
        cache_write_tokens=500_009 if flat.cache_write is not None else 0,
        cache_write_5m_tokens=500_009 if flat.cache_write is not None else 0,
        output_tokens=700_001,
    )
    if flat.cost(probe) != _genai_calc(probe, name, provider_id):
        return None
    return flat


def _genai_calc(usage: TokenUsage, name: str, provider_id: str | None) -> Decimal:
    from genai_prices import calc_price

    return calc_price(_genai_usage(usage), name, provider_id=provider_id).total_price


def _fits_flat(price: ModelPrice, usage: TokenUsage) -> bool:
    if usage.cache_read_tokens and price.cache_read is None:
        return False
    if usage.cache_write_tokens and price.cache_write is None:
        return False
    special = usage.cache_write_1h_tokens + usage.input_audio_tokens
    return not (special or usage.output_audio_tokens)


class PriceTable:
    """Prices calls from `genai-prices`, with per-model overrides.

    Example:
        ```python
        from langchain_finops.costs.prices import PriceTable, TokenUsage

        table = PriceTable(overrides={"my-model": {"input": 1, "output": 2}})
        table.cost("gpt-4o", TokenUsage(input_tokens=1000, output_tokens=100))
        # Decimal('0.0035')
        ```

    Args:
        overrides: Model name to USD per million tokens, with the keys `input`,
            `output`, `cache_read` and `cache_write` (the last two optional).
            An override wins over `genai-prices` for that exact model name.

    Raises:
        TypeError: If an override is not a mapping of numbers.
        ValueError: If an override has unknown or missing keys, or a
            negative price.
    """

    def __init__(self, *, overrides: Mapping[str, Mapping[str, object]] | None = None):
        self._overrides = _parse_overrides(overrides)
        # An override written with a provider prefix ("openai:gpt-4o", as
        # `init_chat_model` spells it) also prices the bare name the provider
        # reports, unless two prefixes claim the same bare name.
        by_bare: dict[str, list[ModelPrice]] = {}
        for name, price in self._overrides.items():
            bare = _bare_model_name(name)
            if bare != name:
                by_bare.setdefault(bare, []).append(price)
        self._bare_overrides = {
            bare: found[0] for bare, found in by_bare.items() if len(found) == 1
        }
        self._lock = threading.Lock()
        self._resolved: dict[
            tuple[str, str | None],
            tuple[date, tuple[str, str | None] | None, ModelPrice | None],
        ] = {}

    @property
    def overrides(self) -> Mapping[str, ModelPrice]:
        """The parsed user overrides."""
        return dict(self._overrides)

    def cost(
        self,
        model: str | None,
        usage: TokenUsage,
        *,
        provider: str | None = None,
        requested: str | None = None,
    ) -> Decimal | None:
        """What `usage` costs on `model`, in USD, or None if it is unpriced.

        Args:
            model: The model name as the provider reports it.
            usage: The call's billable tokens.
            provider: A provider id (`openai`, `anthropic`, ...) that helps
                `genai-prices` pick among same-named models.
            requested: The model name the call asked for, when the provider
                answered under another one (`gpt-4o` answered as
                `gpt-4o-2024-08-06`, an Azure deployment name); an override
                of either name applies.

        Returns:
            The cost, or None when the model is priced nowhere (logged once
            per model at WARNING).
        """
        if not model:
            self._warn_unpriced("(no model name)")
            return None
        override = self._override(model)
        if override is None and requested and requested != model:
            override = self._override(requested)
        if override is not None:
            return override.cost(usage)
        price = self._genai_price(model, provider, usage)
        if price is None:
            self._warn_unpriced(model)
        return price

    def _override(self, model: str) -> ModelPrice | None:
        bare = _bare_model_name(model)
        return (
            self._overrides.get(model)
            or self._overrides.get(bare)
            or self._bare_overrides.get(bare)
        )

    def _genai_price(
        self, model: str, provider: str | None, usage: TokenUsage
    ) -> Decimal | None:
        # Prices change on dates genai-prices knows: resolve them once a day.
        today = date.today()
        memo = self._resolved.get((model, provider))
        if memo is None or memo[0] != today:
            resolved = _resolve(model, provider, today)
            flat = None if resolved is None else _flat_price(*resolved, today)
            memo = (today, resolved, flat)
            self._resolved[(model, provider)] = memo
        _, resolved, flat = memo
        if resolved is None:
            return None
        if flat is not None and _fits_flat(flat, usage):
            return flat.cost(usage)
        return _genai_calc(usage, *resolved)

    def input_cost(
        self,
        model: str | None,
        tokens: int,
        *,
        provider: str | None = None,
        requested: str | None = None,
    ) -> Decimal | None:
        """What `tokens` uncached input tokens cost on `model`, or None."""
        return self.cost(
            model,
            TokenUsage(input_tokens=tokens),
            provider=provider,
            requested=requested,
        )

    def is_priced(self, model: str) -> bool:
        """Whether `model` has a price (an override or a `genai-prices` entry)."""
        if self._override(model) is not None:
            return True
        return _resolve(model, None, date.today()) is not None

    def _warn_unpriced(self, model: str) -> None:
        # Once per process: a server that opens a `track_costs()` block per
        # request must not log the same model on every request.
        with _WARNED_LOCK:
            if model in _WARNED_UNPRICED:
                return
            _WARNED_UNPRICED.add(model)
        logger.warning(
            "No price for model %r: its calls are reported as unpriced (cost None), "
            "not $0. Add it with price_overrides={%r: {'input': ..., 'output': ...}} "
            "in USD per million tokens.",
            model,
            model,
        )
