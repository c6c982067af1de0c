"""The `langchain-finops` command: `simulate`, `demo` and `calibrate`.

`simulate` replays a traffic file (or the shipped sample) through the
baseline and the optimised pipeline and prints what each technique saved;
`demo` is `simulate` on the shipped sample; `calibrate` sets the cache's and
the router's thresholds from the user's labelled traffic.
"""

from __future__ import annotations

import json
import logging
import math
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

__all__ = ["app"]

app = typer.Typer(
    name="langchain-finops",
    help="See what the cache, router, compression and memory save on your traffic.",
    no_args_is_help=True,
    add_completion=False,
)

_console = Console()
_errors = Console(stderr=True)

DEMO_LIMIT = 400
"""Records the demo replays by default: enough for the cache to warm up and
for a few long chats, and done in well under a minute on two cores."""

MEMORY_MAX_TOKENS = 500
"""The memory's history budget: the shipped chats run to about 700 tokens
(median), so a smaller budget than a production one shows the memory at work."""

InputOption = Annotated[
    Path | None,
    typer.Option(
        "--input",
        "-i",
        help="Traffic file: .jsonl of prompts or chat sessions, or .csv with a "
        "text column (.gz allowed). Default: the shipped sample.",
    ),
]
StrongOption = Annotated[
    str, typer.Option(help="The strong model: the baseline's only model.")
]
CheapOption = Annotated[str, typer.Option(help="The cheap model the router may pick.")]
LiveOption = Annotated[
    bool,
    typer.Option(
        help="Call the real OpenAI models (needs OPENAI_API_KEY). Default: "
        "simulated replies, real prompts, token counts and prices."
    ),
]
MaxSpendOption = Annotated[
    str | None,
    typer.Option(
        help="Hard cap in USD on what both sides together may spend; the run "
        "stops before a call that could pass it. Default with --live: 1.00."
    ),
]
ReportOption = Annotated[
    Path | None,
    typer.Option(help="Write an HTML page with charts (and ledger.json) here."),
]
JsonOption = Annotated[
    Path | None, typer.Option("--json", help="Write the JSON ledger to this file.")
]
LimitOption = Annotated[
    int | None, typer.Option(min=1, help="Replay only the first N records.")
]
SeedOption = Annotated[int, typer.Option(help="Seed of the simulated replies.")]
TextColumnOption = Annotated[
    str | None,
    typer.Option(help="CSV: the column holding the prompt (default: prompt or text)."),
]
LabelColumnOption = Annotated[
    str | None, typer.Option(help="CSV: the column holding the label.")
]
UserColumnOption = Annotated[
    str | None, typer.Option(help="CSV: the column holding the user id.")
]
SessionColumnOption = Annotated[
    str | None, typer.Option(help="CSV: the column holding the session id.")
]
CacheThresholdOption = Annotated[
    float | None,
    typer.Option(
        min=0.0, max=1.0, help="Cache similarity threshold (default: the cache's own)."
    ),
]
RouterThresholdOption = Annotated[
    float | None,
    typer.Option(
        min=0.0, max=1.0, help="Router threshold (default: the router's own)."
    ),
]
PricesOption = Annotated[
    Path | None,
    typer.Option(
        help='JSON file of price overrides: {"model": {"input": 2.5, "output": 10}} '
        "in USD per million tokens."
    ),
]
CacheOption = Annotated[
    bool, typer.Option(help="Semantic cache in front of both models.")
]
RoutingOption = Annotated[
    bool, typer.Option(help="Route each call to the cheap or the strong model.")
]
CompressionOption = Annotated[bool, typer.Option(help="Compress each prompt.")]
MemoryOption = Annotated[
    bool, typer.Option(help="Rolling-summary memory for conversations.")
]
MemoryTokensOption = Annotated[
    int,
    typer.Option(min=1, help="History budget of the memory, in input tokens."),
]
CalibrationOption = Annotated[
    Path | None,
    typer.Option(
        help="JSON written by `langchain-finops calibrate --out`: its cache and "
        "router thresholds are used (explicit threshold flags win)."
    ),
]


def _fail(message: str) -> typer.Exit:
    # soft_wrap: a path or a value in the message stays on one line.
    _errors.print(f"[bold red]error:[/bold red] {message}", soft_wrap=True)
    return typer.Exit(code=2)


def _parse_money(value: str | None, *, live: bool) -> Decimal | None:
    if value is None:
        return Decimal("1.00") if live else None
    try:
        money = Decimal(value)
    except InvalidOperation:
        raise _fail(f"--max-spend is {value!r}; give dollars, e.g. 0.50.") from None
    if not money.is_finite() or money < 0:
        raise _fail(f"--max-spend is {value!r}; give $0 or more.")
    return money


def _read_prices(path: Path | None) -> dict[str, dict[str, object]] | None:
    if path is None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise _fail(f"cannot read --prices {str(path)!r}: {error}") from None
    if not isinstance(data, dict):
        raise _fail(
            f"--prices {str(path)!r} holds {type(data).__name__}; give an object "
            'such as {"my-model": {"input": 1.0, "output": 4.0}}.'
        )
    return data


def _one_search_thread() -> None:
    """Run FAISS searches on one thread for this process.

    The replay embeds and searches one prompt at a time, and OpenMP threads
    on a single-vector search only contend: on a busy 2-core machine a
    search of 500 vectors took 13.8 ms with FAISS's default threads and
    0.04 ms with one. A command line tool may set this for its process; the
    library leaves it to the application.
    """
    import faiss

    faiss.omp_set_num_threads(1)


def _read_calibration(path: Path) -> dict[str, float]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise _fail(f"cannot read --calibration {str(path)!r}: {error}") from None
    fitted: dict[str, float] = {}
    for key in ("cache_threshold", "router_threshold"):
        value = data.get(key) if isinstance(data, dict) else None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _fail(
                f"--calibration {str(path)!r} has no number `{key}`; write it with "
                "`langchain-finops calibrate --out FILE`."
            )
        fitted[key] = float(value)
    return fitted


def _run(
    *,
    input_path: Path | None,
    strong: str,
    cheap: str,
    live: bool,
    max_spend: str | None,
    report: Path | None,
    json_path: Path | None,
    limit: int | None,
    seed: int,
    columns: dict[str, str | None],
    techniques: dict[str, bool],
    cache_threshold: float | None,
    router_threshold: float | None,
    memory_max_tokens: int,
    prices: Path | None,
) -> None:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from langchain_finops.simulate import report as reports
    from langchain_finops.simulate.pipeline import PipelineOptions
    from langchain_finops.simulate.replay import simulate
    from langchain_finops.simulate.traffic import load_sample, load_traffic

    cap = _parse_money(max_spend, live=live)
    overrides = _read_prices(prices)
    try:
        if input_path is None:
            traffic = load_sample(limit=limit)
        else:
            traffic = load_traffic(input_path, limit=limit, **columns)
        options = PipelineOptions(
            strong=strong,
            cheap=cheap,
            live=live,
            seed=seed,
            cache_threshold=cache_threshold,
            router_threshold=router_threshold,
            memory_max_tokens=memory_max_tokens,
            cache=techniques["cache"],
            routing=techniques["routing"],
            compression=techniques["compression"],
            memory=techniques["memory"],
        )
    except (OSError, ValueError) as error:
        raise _fail(str(error)) from None
    for problem in traffic.problems:
        _errors.print(
            f"[yellow]skipped[/yellow] {traffic.source} {problem}", soft_wrap=True
        )
    if not traffic.records:
        raise _fail(f"{traffic.source} has no record to replay.")
    if live and cap is not None:
        _console.print(f"Live run, capped at ${cap} (--max-spend).")

    if options.cache:
        _one_search_thread()
    with Progress(
        TextColumn("replaying"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("calls"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=_errors,
        transient=True,
    ) as progress:
        task = progress.add_task("replay", total=traffic.calls)

        def advance(done: int, planned: int) -> None:
            progress.update(task, completed=done, total=planned)

        try:
            result = simulate(
                traffic,
                options=options,
                max_spend=cap,
                price_overrides=overrides,
                on_call=advance,
            )
        except ValueError as error:
            raise _fail(str(error)) from None

    _console.print(reports.render(result))
    if json_path is not None:
        _console.print(f"JSON ledger: {reports.write_json(result, json_path)}")
    if report is not None:
        page = reports.write_html(result, report)
        reports.write_json(result, report / "ledger.json")
        _console.print(f"HTML report: {page}")


@app.command()
def simulate(
    input_path: InputOption = None,
    strong: StrongOption = "gpt-4o",
    cheap: CheapOption = "gpt-4o-mini",
    live: LiveOption = False,
    max_spend: MaxSpendOption = None,
    report: ReportOption = None,
    json_path: JsonOption = None,
    limit: LimitOption = None,
    seed: SeedOption = 0,
    text_column: TextColumnOption = None,
    label_column: LabelColumnOption = None,
    user_column: UserColumnOption = None,
    session_column: SessionColumnOption = None,
    cache: CacheOption = True,
    routing: RoutingOption = True,
    compression: CompressionOption = True,
    memory: MemoryOption = True,
    memory_max_tokens: MemoryTokensOption = MEMORY_MAX_TOKENS,
    cache_threshold: CacheThresholdOption = None,
    router_threshold: RouterThresholdOption = None,
    prices: PricesOption = None,
    calibration: CalibrationOption = None,
) -> None:
    """Replay traffic through the baseline and the optimised pipeline."""
    if calibration is not None:
        fitted = _read_calibration(calibration)
        if cache_threshold is None:
            cache_threshold = fitted["cache_threshold"]
        if router_threshold is None:
            router_threshold = fitted["router_threshold"]
    _run(
        input_path=input_path,
        strong=strong,
        cheap=cheap,
        live=live,
        max_spend=max_spend,
        report=report,
        json_path=json_path,
        limit=limit,
        seed=seed,
        columns={
            "text_column": text_column,
            "label_column": label_column,
            "user_column": user_column,
            "session_column": session_column,
        },
        techniques={
            "cache": cache,
            "routing": routing,
            "compression": compression,
            "memory": memory,
        },
        cache_threshold=cache_threshold,
        router_threshold=router_threshold,
        memory_max_tokens=memory_max_tokens,
        prices=prices,
    )


@app.command()
def demo(
    limit: Annotated[
        int, typer.Option(min=1, help="Records of the shipped sample to replay.")
    ] = DEMO_LIMIT,
    report: ReportOption = None,
    json_path: JsonOption = None,
    seed: SeedOption = 0,
    strong: StrongOption = "gpt-4o",
    cheap: CheapOption = "gpt-4o-mini",
) -> None:
    """Replay the shipped sample of real public traffic, offline."""
    _run(
        input_path=None,
        strong=strong,
        cheap=cheap,
        live=False,
        max_spend=None,
        report=report,
        json_path=json_path,
        limit=limit,
        seed=seed,
        columns={},
        techniques={
            "cache": True,
            "routing": True,
            "compression": True,
            "memory": True,
        },
        cache_threshold=None,
        router_threshold=None,
        memory_max_tokens=MEMORY_MAX_TOKENS,
        prices=None,
    )


@app.command()
def calibrate(
    input_path: Annotated[
        Path,
        typer.Option(
            "--input",
            "-i",
            help="Labelled traffic: .jsonl with a `label` field, or .csv with "
            "--label-column.",
        ),
    ],
    max_false_hit_rate: Annotated[
        float,
        typer.Option(
            min=0.0, max=0.5, help="Share of different-label pairs the cache may serve."
        ),
    ] = 0.01,
    strong_share: Annotated[
        float,
        typer.Option(
            min=0.01, max=0.99, help="Share of prompts to send to the strong model."
        ),
    ] = 0.25,
    pairs: Annotated[
        int, typer.Option(min=2, help="Prompt pairs to fit the cache threshold on.")
    ] = 4000,
    out: Annotated[
        Path | None,
        typer.Option(help="Write the thresholds here, for `simulate --calibration`."),
    ] = None,
    strong: StrongOption = "gpt-4o",
    cheap: CheapOption = "gpt-4o-mini",
    limit: LimitOption = None,
    text_column: TextColumnOption = None,
    label_column: LabelColumnOption = None,
    seed: SeedOption = 0,
) -> None:
    """Fit the cache and router thresholds to your labelled traffic."""
    from rich.table import Table

    from langchain_finops.simulate.calibration import calibrate_traffic
    from langchain_finops.simulate.pipeline import PipelineOptions
    from langchain_finops.simulate.traffic import load_traffic

    try:
        traffic = load_traffic(
            input_path, limit=limit, text_column=text_column, label_column=label_column
        )
        for problem in traffic.problems:
            _errors.print(
                f"[yellow]skipped[/yellow] {traffic.source} {problem}", soft_wrap=True
            )
        with _errors.status("embedding prompt pairs"):
            result = calibrate_traffic(
                traffic,
                options=PipelineOptions(strong=strong, cheap=cheap),
                max_false_hit_rate=max_false_hit_rate,
                strong_share=strong_share,
                max_pairs=pairs,
                seed=seed,
            )
    except (OSError, ValueError) as error:
        raise _fail(str(error)) from None

    table = Table(title=f"Calibrated on {traffic.source}", title_justify="left")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("labelled prompts", f"{result.prompts:,} ({result.labels:,} labels)")
    table.add_row(
        "pairs", f"{result.duplicates:,} same label, {result.non_duplicates:,} not"
    )
    table.add_row("cache similarity threshold", f"{result.cache_threshold:.4f}")
    table.add_row("  same-label pairs served", f"{100 * result.cache_hit_rate:.1f}%")
    table.add_row(
        "  different-label pairs served (false hits)",
        f"{100 * result.cache_false_hit_rate:.2f}%",
    )
    table.add_row(
        f"  as a stream ({result.stream_prompts:,} prompts): hits",
        f"{100 * result.stream_hit_rate:.1f}%",
    )
    table.add_row(
        "  false-hit rate of those hits (guard off)",
        f"{100 * result.stream_false_hit_rate:.2f}%",
    )
    table.add_row("router threshold", f"{result.router_threshold:.4f}")
    table.add_row(
        "  prompts sent to the strong model", f"{100 * result.strong_share:.1f}%"
    )
    _console.print(table)
    # A false-hit rate of r is only measurable with many more than 1 / r
    # different-label pairs; with fewer, the fitted threshold is loose.
    needed = math.ceil(10 / max_false_hit_rate)
    if result.non_duplicates < needed:
        _errors.print(
            f"warning: only {result.non_duplicates:,} different-label pairs: too few "
            f"to hold a {100 * max_false_hit_rate:g}% false-hit rate (about "
            f"{needed:,} are needed), so this threshold is loose. Label more "
            "traffic, or keep the cache's default threshold."
        )
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result.to_dict(), indent=2) + "\n", encoding="utf-8")
        _console.print(
            f"Wrote {out}; replay with: langchain-finops simulate --input "
            f"{input_path} --calibration {out}"
        )
    else:
        _console.print(
            "Replay with: langchain-finops simulate --input "
            f"{input_path} --cache-threshold {result.cache_threshold:.4f} "
            f"--router-threshold {result.router_threshold:.4f}"
        )


def main(argv: list[str] | None = None) -> Any:
    """Run the command line (for `python -m langchain_finops.cli`)."""
    logging.basicConfig(
        level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    return app(args=argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
