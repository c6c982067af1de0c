"""The plain-text table `str(CostCallbackHandler)` prints."""

from __future__ import annotations

from decimal import Decimal

from langchain_finops.costs.ledger import Ledger, UsageTotals


def _dollars(amount: Decimal | None) -> str:
    if amount is None:
        return "unpriced"
    # Six decimals: a single small call costs fractions of a cent.
    return f"${amount:,.6f}"


def _row(label: str, totals: UsageTotals) -> str:
    cost = _dollars(totals.cost)
    if totals.unpriced_calls and totals.cost is not None:
        cost += f" (+{totals.unpriced_calls} unpriced)"
    return (
        f"{label:<28} {totals.calls:>6} {totals.input_tokens:>10} "
        f"{totals.cached_input_tokens:>9} {totals.output_tokens:>9} "
        f"{totals.cache_hits:>6}  {cost}"
    )


def render_report(ledger: Ledger, total_saved: Decimal) -> str:
    """Spend by model and by chain, then savings by technique."""
    header = (
        f"{'':<28} {'calls':>6} {'input':>10} {'cached':>9} {'output':>9} "
        f"{'hits':>6}  cost"
    )
    lines = ["LLM spend", header, _row("total", ledger.totals)]
    lines += [_row(f"model {name}", t) for name, t in sorted(ledger.by_model.items())]
    lines += [_row(f"chain {name}", t) for name, t in sorted(ledger.by_chain.items())]
    flags = []
    if ledger.totals.estimated_calls:
        flags.append(f"{ledger.totals.estimated_calls} call(s) estimated (no usage)")
    if ledger.totals.invalid_calls:
        flags.append(f"{ledger.totals.invalid_calls} call(s) with invalid usage")
    if flags:
        lines.append("note: " + "; ".join(flags))
    lines += [
        "",
        "Savings",
        f"{'technique':<14} {'events':>7} {'tokens':>10}  "
        f"{'gross':>12}  {'own cost':>12}  {'net':>12}",
    ]
    for technique, saved in ledger.savings.items():
        lines.append(
            f"{technique:<14} {saved.events:>7} {saved.tokens_saved:>10}  "
            f"{_dollars(saved.gross_saved):>12}  {_dollars(saved.overhead_cost):>12}  "
            f"{_dollars(saved.net_saved):>12}"
        )
    lines.append(
        f"{'total':<14} {'':>7} {'':>10}  {'':>12}  {'':>12}  "
        f"{_dollars(total_saved):>12}"
    )
    return "\n".join(lines)
