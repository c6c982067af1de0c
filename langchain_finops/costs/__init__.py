"""Token counting, prices, and the cost ledger every other part reports into."""

from langchain_finops.costs.events import (
    SAVING_EVENT,
    SavingReport,
    areport_saving,
    overhead_config,
    report_saving,
)
from langchain_finops.costs.handler import CostCallbackHandler, track_costs
from langchain_finops.costs.ledger import SavingTotals, UsageTotals
from langchain_finops.costs.prices import ModelPrice, PriceTable, TokenUsage
from langchain_finops.costs.tokens import TokenCount, count_tokens

__all__ = (
    "SAVING_EVENT",
    "CostCallbackHandler",
    "ModelPrice",
    "PriceTable",
    "SavingReport",
    "SavingTotals",
    "TokenCount",
    "TokenUsage",
    "UsageTotals",
    "areport_saving",
    "count_tokens",
    "overhead_config",
    "report_saving",
    "track_costs",
)
