"""The cost ledger: what was spent, by model and by chain, and what was saved.

The callback handler appends one `CallRecord` per finished LLM run and one
`SavingRecord` per saving event; nothing is priced on the callback path,
because pricing a call takes far longer than the callback that observes it.
`Ledger.fold` prices pending records and folds them into the totals when the
totals are read, so a handler that is never read costs almost nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from uuid import UUID

from langchain_finops.costs.events import TECHNIQUES, Technique
from langchain_finops.costs.prices import PriceTable, TokenUsage

__all__ = ["CallRecord", "Ledger", "SavingRecord", "SavingTotals", "UsageTotals"]

logger = logging.getLogger(__name__)

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class SavingRecord:
    """A saving that a part reported through a callback event."""

    technique: Technique
    tokens_saved: int = 0
    model: str | None = None
    provider: str | None = None
    dollars_saved: Decimal | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One finished LLM run, as the handler saw it.

    Attributes:
        usage: Billable tokens; None when the provider's usage was unusable
            and nothing could be estimated.
        chains: Names of every enclosing chain, each once.
        cache_hit: LangChain answered from its LLM cache: nothing billed.
        overhead_of: The technique whose own cost this call is.
        routing_baseline: The model a router would otherwise have used.
        requested_model: The model name the call asked for, when the
            provider answered under another (a dated snapshot, or an Azure
            deployment's model); a price override for it applies.
        token_savings: Savings reported without a model, priced at this
            call's model (the next call in the same run).
    """

    run_id: UUID
    model: str | None
    provider: str | None
    usage: TokenUsage | None
    chains: tuple[str, ...] = ()
    estimated: bool = False
    invalid: bool = False
    cache_hit: bool = False
    cache_detail: Mapping[str, Any] | None = None
    overhead_of: Technique | None = None
    routing_baseline: str | None = None
    token_savings: tuple[SavingRecord, ...] = ()
    requested_model: str | None = None


@dataclass(slots=True)
class UsageTotals:
    """Billed tokens and dollars over a set of calls.

    `cost` sums the priced calls; it is None only when every call was
    unpriced. `unpriced_calls` says how many calls it leaves out.
    """

    calls: int = 0
    input_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cost: Decimal | None = None
    unpriced_calls: int = 0
    estimated_calls: int = 0
    invalid_calls: int = 0
    cache_hits: int = 0

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens billed."""
        return self.input_tokens + self.output_tokens

    def add_call(self, record: CallRecord, cost: Decimal | None) -> None:
        """Count one billed call."""
        self.calls += 1
        self.estimated_calls += record.estimated
        self.invalid_calls += record.invalid
        usage = record.usage
        if usage is not None:
            self.input_tokens += usage.input_tokens
            self.cached_input_tokens += usage.cache_read_tokens
            self.cache_write_tokens += usage.cache_write_tokens
            self.output_tokens += usage.output_tokens
            self.reasoning_tokens += usage.reasoning_tokens
        if cost is None:
            self.unpriced_calls += 1
        else:
            self.cost = cost if self.cost is None else self.cost + cost

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; money as decimal strings."""
        return {
            "calls": self.calls,
            "input_tokens": self.input_tokens,
            "cached_input_tokens": self.cached_input_tokens,
            "cache_write_tokens": self.cache_write_tokens,
            "output_tokens": self.output_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "total_tokens": self.total_tokens,
            "cost": None if self.cost is None else str(self.cost),
            "unpriced_calls": self.unpriced_calls,
            "estimated_calls": self.estimated_calls,
            "invalid_calls": self.invalid_calls,
            "cache_hits": self.cache_hits,
        }


@dataclass(slots=True)
class SavingTotals:
    """What one technique saved, and what saving it cost."""

    events: int = 0
    tokens_saved: int = 0
    gross_saved: Decimal = _ZERO
    overhead_cost: Decimal = _ZERO
    overhead_calls: int = 0
    unpriced_events: int = 0

    @property
    def net_saved(self) -> Decimal:
        """Dollars saved minus the technique's own LLM spend."""
        return self.gross_saved - self.overhead_cost

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; money as decimal strings."""
        return {
            "events": self.events,
            "tokens_saved": self.tokens_saved,
            "gross_saved": str(self.gross_saved),
            "overhead_cost": str(self.overhead_cost),
            "overhead_calls": self.overhead_calls,
            "net_saved": str(self.net_saved),
            "unpriced_events": self.unpriced_events,
        }


@dataclass(slots=True)
class Ledger:
    """Running totals, folded from records by `fold`."""

    prices: PriceTable
    totals: UsageTotals = field(default_factory=UsageTotals)
    by_model: dict[str, UsageTotals] = field(default_factory=dict)
    by_chain: dict[str, UsageTotals] = field(default_factory=dict)
    savings: dict[Technique, SavingTotals] = field(
        default_factory=lambda: {technique: SavingTotals() for technique in TECHNIQUES}
    )

    def fold(
        self, calls: Iterable[CallRecord], savings: Iterable[SavingRecord]
    ) -> None:
        """Price `calls` and `savings` and add them to the totals."""
        for record in calls:
            self._fold_call(record)
        for saving in savings:
            self._fold_saving(saving, model=saving.model, provider=saving.provider)

    def _fold_call(self, record: CallRecord) -> None:
        for saving in record.token_savings:
            self._fold_saving(
                saving,
                model=record.model,
                provider=record.provider,
                requested=record.requested_model,
            )
        cost = None if record.usage is None else self._price(record)
        if record.cache_hit:
            self._fold_cache_hit(record, cost)
            return

        model_key = record.model or "(unknown model)"
        buckets = [self.totals, self.by_model.setdefault(model_key, UsageTotals())]
        buckets += [
            self.by_chain.setdefault(name, UsageTotals()) for name in record.chains
        ]
        for bucket in buckets:
            bucket.add_call(record, cost)

        if record.overhead_of is not None:
            overhead = self.savings[record.overhead_of]
            overhead.overhead_calls += 1
            overhead.overhead_cost += cost or _ZERO
        if record.routing_baseline is not None and record.overhead_of is None:
            self._fold_routing(record, cost)

    def _price(self, record: CallRecord) -> Decimal | None:
        assert record.usage is not None
        try:
            return self.prices.cost(
                record.model,
                record.usage,
                provider=record.provider,
                requested=record.requested_model,
            )
        except Exception:  # one bad call must not lose the others
            logger.warning(
                "Could not price LLM run %s on %r; counted as unpriced.",
                record.run_id,
                record.model,
                exc_info=True,
            )
            return None

    def _fold_cache_hit(self, record: CallRecord, cost: Decimal | None) -> None:
        model_key = record.model or "(unknown model)"
        buckets = [self.totals, self.by_model.setdefault(model_key, UsageTotals())]
        buckets += [
            self.by_chain.setdefault(name, UsageTotals()) for name in record.chains
        ]
        for bucket in buckets:
            bucket.cache_hits += 1
            if cost is not None and bucket.cost is None and not bucket.unpriced_calls:
                # Served from cache at a known price: spent $0, not unpriced.
                bucket.cost = _ZERO
        cache = self.savings["cache"]
        cache.events += 1
        if record.usage is not None:
            cache.tokens_saved += record.usage.input_tokens + record.usage.output_tokens
        if cost is None:
            cache.unpriced_events += 1
        else:
            cache.gross_saved += cost

    def _fold_routing(self, record: CallRecord, cost: Decimal | None) -> None:
        routing = self.savings["routing"]
        if record.usage is None or record.routing_baseline is None:
            routing.unpriced_events += 1
            return
        try:
            baseline_cost = self.prices.cost(record.routing_baseline, record.usage)
        except Exception:
            logger.warning(
                "Could not price routing baseline %r.",
                record.routing_baseline,
                exc_info=True,
            )
            baseline_cost = None
        if baseline_cost is None or cost is None:
            routing.unpriced_events += 1
            return
        routing.gross_saved += baseline_cost - cost

    def _fold_saving(
        self,
        saving: SavingRecord,
        *,
        model: str | None,
        provider: str | None,
        requested: str | None = None,
    ) -> None:
        totals = self.savings[saving.technique]
        if saving.technique == "routing":
            # Routing events only mark a baseline; the saving is booked per
            # call, in `_fold_routing`.
            totals.events += 1
            return
        totals.events += 1
        totals.tokens_saved += saving.tokens_saved
        if saving.dollars_saved is not None:
            totals.gross_saved += saving.dollars_saved
            return
        try:
            dollars = (
                self.prices.input_cost(
                    model, saving.tokens_saved, provider=provider, requested=requested
                )
                if model and saving.tokens_saved
                else (_ZERO if saving.tokens_saved == 0 else None)
            )
        except Exception:
            logger.warning(
                "Could not price a %s saving on %r.",
                saving.technique,
                model,
                exc_info=True,
            )
            dollars = None
        if dollars is None:
            totals.unpriced_events += 1
        else:
            totals.gross_saved += dollars

    def to_dict(self) -> dict[str, Any]:
        """The whole ledger, JSON-ready."""
        return {
            "totals": self.totals.to_dict(),
            "by_model": {
                name: t.to_dict() for name, t in sorted(self.by_model.items())
            },
            "by_chain": {
                name: t.to_dict() for name, t in sorted(self.by_chain.items())
            },
            "savings": {name: s.to_dict() for name, s in self.savings.items()},
        }

    def to_json(self, **kwargs: Any) -> str:
        """The ledger as a JSON document (keyword arguments go to `json.dumps`)."""
        return json.dumps(self.to_dict(), **kwargs)
