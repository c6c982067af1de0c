"""The three forms of a replay's result: terminal tables, a JSON ledger, an HTML page.

Every form says, next to its figures, whether the replies were simulated: the
prompts, token counts and prices are always real, the reply lengths are drawn
from real answers only when the replay ran offline.
"""

from __future__ import annotations

import html
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from langchain_finops.costs.events import TECHNIQUES
from langchain_finops.costs.ledger import UsageTotals
from langchain_finops.simulate.replay import SimulationResult

__all__ = ["provenance", "render", "summary", "to_dict", "write_html", "write_json"]

_SIMULATED = (
    "replies simulated (lengths drawn from real answers); prompts, token counts "
    "and prices are real"
)
_LIVE = "replies from the live models; prompts, token counts and prices are real"


def provenance(result: SimulationResult) -> str:
    """The sentence that says what in the figures is real and what simulated."""
    return _SIMULATED if result.simulated else _LIVE


def _money(value: Decimal | None) -> str:
    return "unpriced" if value is None else f"${value:,.4f}"


def _share(part: Decimal, whole: Decimal) -> str:
    return "-" if whole == 0 else f"{100 * part / whole:.1f}%"


def _rate(part: int, whole: int) -> str:
    return "-" if whole == 0 else f"{100 * part / whole:.1f}%"


def _cost(totals: UsageTotals) -> Decimal:
    return totals.cost if totals.cost is not None else Decimal(0)


def summary(result: SimulationResult) -> dict[str, Any]:
    """The headline figures, JSON-ready (money as decimal strings)."""
    baseline, optimised = _cost(result.baseline), _cost(result.optimised)
    net = {name: result.savings[name].net_saved for name in TECHNIQUES}
    attributed = sum(net.values(), Decimal(0))
    hits = result.cache_hits
    total_hits = sum(hits.values())
    mean, median, p95 = result.added_latency_ms
    models = result.models
    return {
        "replies": "simulated" if result.simulated else "live",
        "provenance": provenance(result),
        "calls": result.calls_done,
        "calls_planned": result.calls_planned,
        "records": result.records,
        "skipped_lines": len(result.problems),
        "baseline_cost": str(baseline),
        "optimised_cost": str(optimised),
        "saved": str(baseline - optimised),
        "saved_share": None
        if baseline == 0
        else float((baseline - optimised) / baseline),
        "baseline_tokens": result.baseline.total_tokens,
        "optimised_tokens": result.optimised.total_tokens,
        "net_saved_by_technique": {name: str(value) for name, value in net.items()},
        "share_saved_by_technique": {
            name: None if baseline == 0 else float(value / baseline)
            for name, value in net.items()
        },
        "not_attributed": str(baseline - optimised - attributed),
        "cache_hit_rate": total_hits / result.calls_done if result.calls_done else None,
        "cache_hits_by_tier": dict(sorted(hits.items())),
        "labelled_cache_hits": result.labelled_hits,
        "false_hits": result.false_hits,
        "false_hit_rate": (
            result.false_hits / result.labelled_hits if result.labelled_hits else None
        ),
        "routing_shares": {
            model: count / result.calls_done for model, count in sorted(models.items())
        }
        if result.calls_done
        else {},
        "tokens_removed": {
            "compression": result.savings["compression"].tokens_saved,
            "memory": result.savings["memory"].tokens_saved,
        },
        "added_latency_ms": {"mean": mean, "median": median, "p95": p95},
        "stopped": result.stopped,
        "spent": None if result.spent is None else str(result.spent),
    }


def to_dict(result: SimulationResult) -> dict[str, Any]:
    """The whole result as the JSON ledger: summary, options, both ledgers, curve."""
    options = result.options
    return {
        "source": result.source,
        "summary": summary(result),
        "options": {
            "strong": options.strong,
            "cheap": options.cheap,
            "live": options.live,
            "seed": options.seed,
            "techniques": list(options.techniques),
            "max_output_tokens": options.max_output_tokens,
            "cache_threshold": options.cache_threshold,
            "router_threshold": options.router_threshold,
            "memory_max_tokens": options.memory_max_tokens,
        },
        "baseline_ledger": result.baseline_ledger,
        "optimised_ledger": result.optimised_ledger,
        "cumulative_cost": {
            "calls": result.series_calls,
            "baseline": [str(v) for v in result.series_baseline],
            "optimised": [str(v) for v in result.series_optimised],
        },
        "skipped": [{"line": p.line, "reason": p.reason} for p in result.problems],
    }


def write_json(result: SimulationResult, path: str | Path) -> Path:
    """Write the JSON ledger to `path` and return it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_dict(result), indent=2) + "\n", encoding="utf-8")
    return path


def _caption(result: SimulationResult) -> str:
    return f"{provenance(result)}."


def _cost_table(result: SimulationResult) -> Table:
    options = result.options
    table = Table(
        title=(
            f"Cost: baseline = every call to {options.strong}, full history; "
            f"optimised = {' + '.join(options.techniques) or 'nothing'}"
        ),
        title_justify="left",
        caption=_caption(result),
        caption_justify="left",
    )
    for column in ("", "LLM calls", "input tok", "output tok", "total tok", "cost"):
        table.add_column(column, justify="left" if not column else "right")
    for name, totals in (
        ("baseline", result.baseline),
        ("optimised", result.optimised),
    ):
        table.add_row(
            name,
            f"{totals.calls:,}",
            f"{totals.input_tokens:,}",
            f"{totals.output_tokens:,}",
            f"{totals.total_tokens:,}",
            _money(totals.cost),
        )
    saved = _cost(result.baseline) - _cost(result.optimised)
    table.add_row(
        "saved",
        "",
        f"{result.baseline.input_tokens - result.optimised.input_tokens:,}",
        f"{result.baseline.output_tokens - result.optimised.output_tokens:,}",
        f"{result.baseline.total_tokens - result.optimised.total_tokens:,}",
        f"{_money(saved)} ({_share(saved, _cost(result.baseline))})",
        style="bold",
    )
    return table


def _savings_table(result: SimulationResult) -> Table:
    baseline = _cost(result.baseline)
    table = Table(
        title="Saved by each technique, net of its own cost",
        title_justify="left",
        caption=_caption(result),
        caption_justify="left",
    )
    for column in (
        "technique",
        "events",
        "tokens",
        "gross",
        "own cost",
        "net",
        "share",
    ):
        table.add_column(column, justify="left" if column == "technique" else "right")
    attributed = Decimal(0)
    for name in TECHNIQUES:
        saving = result.savings[name]
        attributed += saving.net_saved
        table.add_row(
            name,
            f"{saving.events:,}",
            f"{saving.tokens_saved:,}",
            _money(saving.gross_saved),
            _money(saving.overhead_cost),
            _money(saving.net_saved),
            _share(saving.net_saved, baseline),
        )
    rest = baseline - _cost(result.optimised) - attributed
    table.add_row(
        "interplay",
        "",
        "",
        "",
        "",
        _money(rest),
        _share(rest, baseline),
        style="dim",
    )
    return table


def _behaviour_table(result: SimulationResult) -> Table:
    table = Table(
        title="What the techniques did",
        title_justify="left",
        caption=_caption(result),
        caption_justify="left",
    )
    table.add_column("measure")
    table.add_column("value", justify="right")
    calls = result.calls_done
    hits = result.cache_hits
    total_hits = sum(hits.values())
    table.add_row("cache hit rate", f"{_rate(total_hits, calls)} ({total_hits:,})")
    for tier in sorted(hits):
        table.add_row(f"  {tier} tier", f"{_rate(hits[tier], calls)} ({hits[tier]:,})")
    if result.labelled_hits:
        table.add_row(
            "false hits (served from another label)",
            f"{_rate(result.false_hits, result.labelled_hits)} "
            f"({result.false_hits:,} of {result.labelled_hits:,} labelled hits)",
        )
    else:
        table.add_row("false-hit rate", "no labels to check")
    for model, count in sorted(result.models.items()):
        table.add_row(f"answered by {model}", _rate(count, calls))
    table.add_row(
        "tokens removed by compression",
        f"{result.savings['compression'].tokens_saved:,}",
    )
    table.add_row(
        "tokens removed by memory", f"{result.savings['memory'].tokens_saved:,}"
    )
    mean, median, p95 = result.added_latency_ms
    table.add_row(
        "latency added per call, mean / median / p95",
        f"{mean:.1f} / {median:.1f} / {p95:.1f} ms",
    )
    return table


def render(result: SimulationResult) -> RenderableType:
    """The terminal report: three tables under a line saying what is simulated."""
    head = Text.assemble(
        ("langchain-finops simulate", "bold"),
        f": {result.calls_done:,} calls from {result.records:,} records of "
        f"{result.source}\n",
        (provenance(result), "italic yellow" if result.simulated else "italic"),
    )
    parts: list[RenderableType] = [
        head,
        _cost_table(result),
        _savings_table(result),
        _behaviour_table(result),
    ]
    if result.problems:
        lines = "\n".join(f"  {problem}" for problem in result.problems[:10])
        more = len(result.problems) - 10
        tail = f"\n  ... and {more} more (all in the JSON ledger)" if more > 0 else ""
        parts.append(
            Text(
                f"Skipped {len(result.problems)} malformed line(s):\n{lines}{tail}",
                style="red",
            )
        )
    if result.stopped:
        spent = "" if result.spent is None else f" (spent ${result.spent})"
        parts.append(
            Text(
                f"{result.stopped}\nReported: the {result.calls_done:,} of "
                f"{result.calls_planned:,} calls done on both sides{spent}.",
                style="bold red",
            )
        )
    return Group(*parts)


def _figures(result: SimulationResult) -> tuple[str, str]:
    import plotly.graph_objects as go

    calls = result.series_calls
    cumulative = go.Figure()
    cumulative.add_trace(
        go.Scatter(
            x=calls,
            y=[float(v) for v in result.series_baseline],
            name=f"baseline (all {result.options.strong})",
            mode="lines",
        )
    )
    cumulative.add_trace(
        go.Scatter(
            x=calls,
            y=[float(v) for v in result.series_optimised],
            name="optimised",
            mode="lines",
        )
    )
    cumulative.update_layout(
        title="Cumulative cost over the stream",
        xaxis_title="calls replayed",
        yaxis_title="USD",
        yaxis_tickprefix="$",
        template="plotly_white",
        height=420,
    )
    names = list(TECHNIQUES)
    by_technique = go.Figure()
    by_technique.add_trace(
        go.Bar(
            x=names,
            y=[float(result.savings[n].gross_saved) for n in names],
            name="gross saving",
        )
    )
    by_technique.add_trace(
        go.Bar(
            x=names,
            y=[-float(result.savings[n].overhead_cost) for n in names],
            name="own cost",
        )
    )
    by_technique.add_trace(
        go.Scatter(
            x=names,
            y=[float(result.savings[n].net_saved) for n in names],
            name="net saving",
            mode="markers",
            marker={"size": 14, "symbol": "diamond"},
        )
    )
    by_technique.update_layout(
        title="Savings by technique",
        yaxis_title="USD",
        yaxis_tickprefix="$",
        barmode="relative",
        template="plotly_white",
        height=420,
    )
    return (
        cumulative.to_html(full_html=False, include_plotlyjs=False),
        by_technique.to_html(full_html=False, include_plotlyjs=False),
    )


def _html_rows(rows: list[tuple[str, str]]) -> str:
    return "\n".join(
        f"<tr><th>{html.escape(name)}</th><td>{html.escape(value)}</td></tr>"
        for name, value in rows
    )


def write_html(result: SimulationResult, directory: str | Path) -> Path:
    """Write `index.html` (charts, plotly inlined: it opens offline) into `directory`.

    Args:
        result: The replay to report.
        directory: Created if missing.

    Returns:
        The path of the page.
    """
    from plotly.offline import get_plotlyjs

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    data = summary(result)
    baseline, optimised = _cost(result.baseline), _cost(result.optimised)
    rows = [
        ("replies", provenance(result)),
        (
            "traffic",
            f"{result.source}: {result.records:,} records, {result.calls_done:,} calls",
        ),
        (
            "baseline",
            f"{_money(baseline)}, {result.baseline.total_tokens:,} tokens "
            f"(every call to {result.options.strong}, full history)",
        ),
        (
            "optimised",
            f"{_money(optimised)}, {result.optimised.total_tokens:,} tokens "
            f"({' + '.join(result.options.techniques)})",
        ),
        (
            "saved",
            f"{_money(baseline - optimised)} "
            f"({_share(baseline - optimised, baseline)})",
        ),
    ]
    for name in TECHNIQUES:
        net = result.savings[name].net_saved
        rows.append((f"net saving: {name}", f"{_money(net)} ({_share(net, baseline)})"))
    hit_rate = data["cache_hit_rate"]
    rows.append(
        ("cache hit rate", "-" if hit_rate is None else f"{100 * hit_rate:.1f}%")
    )
    for tier, count in data["cache_hits_by_tier"].items():
        rows.append((f"  {tier} tier", f"{count:,} hit{'' if count == 1 else 's'}"))
    rate = data["false_hit_rate"]
    rows.append(
        (
            "false-hit rate",
            "no labels to check"
            if rate is None
            else f"{100 * rate:.1f}% of {result.labelled_hits:,} labelled hits",
        )
    )
    for model, share in data["routing_shares"].items():
        rows.append((f"answered by {model}", f"{100 * share:.1f}%"))
    latency = data["added_latency_ms"]
    rows.append(
        (
            "latency added per call",
            f"{latency['mean']:.1f} ms mean, {latency['p95']:.1f} ms p95",
        )
    )
    if result.problems:
        rows.append(("skipped lines", f"{len(result.problems):,} malformed"))
    if result.stopped:
        rows.append(("stopped", result.stopped))
    cumulative, by_technique = _figures(result)
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>langchain-finops: savings report</title>
<script type="text/javascript">{get_plotlyjs()}</script>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1000px;
       color: #222; }}
.note {{ background: #fff6d5; padding: .6rem 1rem; border-radius: 4px; }}
table {{ border-collapse: collapse; margin: 1rem 0; }}
th, td {{ text-align: left; padding: .25rem 1rem .25rem 0;
          border-bottom: 1px solid #eee; }}
</style>
</head>
<body>
<h1>What langchain-finops saves on this traffic</h1>
<p class="note">{html.escape(provenance(result))}.</p>
<table>
{_html_rows(rows)}
</table>
{cumulative}
{by_technique}
</body>
</html>
"""
    path = directory / "index.html"
    path.write_text(page, encoding="utf-8")
    return path
