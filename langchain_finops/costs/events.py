"""How the package's parts tell the cost ledger what they saved.

Parts never write to a global ledger. They speak through LangChain's own
callback system, so whatever handler the user attached (ours, or a tracer)
sees the same facts, scoped to the run they belong to:

* A **saving** is a custom callback event named `SAVING_EVENT`, dispatched
  from inside the part's run with `report_saving(...)`. It says how many input
  tokens were not sent (compression, memory) or which model the call would
  otherwise have gone to (routing). `CostCallbackHandler` prices it.
* The **cost of saving** (a summariser's or a classifier's own LLM call) is an
  ordinary LLM run whose metadata carries `OVERHEAD_METADATA_KEY` naming the
  technique; the handler bills it as spend and subtracts it from that
  technique's saving. `overhead_config(...)` builds that config.
* A **cache hit** needs no event: LangChain marks the returned message's
  usage with `total_cost: 0`, and `SemanticFaissCache` adds
  `response_metadata[CACHE_METADATA_KEY]` (tier, similarity).
"""

from __future__ import annotations

import logging
import uuid
from decimal import Decimal
from typing import Any, Literal, TypedDict

from langchain_core.callbacks.manager import (
    adispatch_custom_event,
    dispatch_custom_event,
)
from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import ensure_config

__all__ = [
    "CACHE_METADATA_KEY",
    "OVERHEAD_METADATA_KEY",
    "ROUTING_METADATA_KEY",
    "SAVING_EVENT",
    "SavingReport",
    "Technique",
    "areport_saving",
    "overhead_config",
    "report_saving",
]

logger = logging.getLogger(__name__)

SAVING_EVENT = "langchain_finops.saving"
OVERHEAD_METADATA_KEY = "finops_overhead_of"
CACHE_METADATA_KEY = "finops_cache"
ROUTING_METADATA_KEY = "finops_routing"

Technique = Literal["cache", "routing", "compression", "memory"]
TECHNIQUES: tuple[Technique, ...] = ("cache", "routing", "compression", "memory")


class SavingReport(TypedDict, total=False):
    """The payload of a `SAVING_EVENT`.

    Only `technique` is required; `report_saving` adds a unique `event_id`
    so that a handler attached twice books the saving once. A report carries
    either `tokens_saved` (input tokens that were not sent; priced at the
    input rate of `model`, or of the next model called in the same run when
    `model` is absent), or
    `baseline_model` (routing: the tier the call would otherwise have used;
    the saving is what the LLM calls below this run would have cost there,
    minus what they cost).
    """

    technique: Technique
    tokens_saved: int
    model: str | None
    baseline_model: str
    dollars_saved: Decimal
    detail: dict[str, Any]
    event_id: str


def _valid(report: SavingReport) -> bool:
    technique = report.get("technique")
    if technique not in TECHNIQUES:
        logger.warning(
            "Ignored a saving report with technique %r; expected one of %s.",
            technique,
            ", ".join(TECHNIQUES),
        )
        return False
    return True


def _payload(report: SavingReport) -> dict[str, Any]:
    return {**report, "event_id": uuid.uuid4().hex}


def report_saving(report: SavingReport, config: RunnableConfig | None = None) -> None:
    """Tell every attached callback handler about a saving.

    Must be called inside a runnable's run (LangChain needs a parent run to
    attach a custom event to). Outside one, the report is dropped with a DEBUG
    line: a part used bare, with no handler, has nobody to tell.

    Args:
        report: What was saved.
        config: The config of the run that saved it; taken from the context
            when omitted.
    """
    if not _valid(report):
        return
    try:
        dispatch_custom_event(
            SAVING_EVENT, _payload(report), config=ensure_config(config)
        )
    except RuntimeError:
        logger.debug("No parent run to attach a %s saving to.", report["technique"])


async def areport_saving(
    report: SavingReport, config: RunnableConfig | None = None
) -> None:
    """Async twin of `report_saving`."""
    if not _valid(report):
        return
    try:
        await adispatch_custom_event(
            SAVING_EVENT, _payload(report), config=ensure_config(config)
        )
    except RuntimeError:
        logger.debug("No parent run to attach a %s saving to.", report["technique"])


def overhead_config(
    technique: Technique, config: RunnableConfig | None = None
) -> RunnableConfig:
    """A child config under which an LLM call counts as `technique`'s own cost.

    Args:
        technique: The technique the call serves (a summariser: "memory").
        config: The parent config, so the call stays in the same run tree.

    Returns:
        A config whose metadata marks the call as overhead of `technique`.
    """
    base = ensure_config(config)
    metadata = {**base.get("metadata", {}), OVERHEAD_METADATA_KEY: technique}
    return {**base, "metadata": metadata}
