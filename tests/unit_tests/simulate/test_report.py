import json
import re
from pathlib import Path

import pytest
from rich.console import Console

from langchain_finops.simulate import report
from langchain_finops.simulate.pipeline import PipelineOptions
from langchain_finops.simulate.replay import SimulationResult, simulate
from langchain_finops.simulate.traffic import load_traffic

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


@pytest.fixture(scope="module")
def result() -> SimulationResult:
    traffic = load_traffic(EXAMPLES / "traffic.jsonl")
    options = PipelineOptions(routing=False, compression=False, memory=False)
    return simulate(traffic, options=options)


def test_every_table_says_the_replies_were_simulated(result: SimulationResult) -> None:
    console = Console(width=200, record=True)
    console.print(report.render(result))
    text = console.export_text()
    # The head line and the caption of each of the three tables.
    assert text.count("replies simulated") == 4
    assert "prompts, token counts and prices are real" in text
    assert "Saved by each technique, net of its own cost" in text
    assert "false hits (served from another label)" in text


def test_json_ledger_round_trips(result: SimulationResult, tmp_path: Path) -> None:
    path = report.write_json(result, tmp_path / "out" / "ledger.json")
    data = json.loads(path.read_text("utf-8"))
    summary = data["summary"]
    assert summary["replies"] == "simulated"
    assert summary["calls"] == 18
    assert summary["baseline_cost"] == str(result.baseline.cost)
    assert summary["optimised_cost"] == str(result.optimised.cost)
    hits = sum(result.cache_hits.values())
    assert summary["cache_hit_rate"] == hits / 18
    assert summary["cache_hits_by_tier"] == dict(result.cache_hits)
    assert set(summary["net_saved_by_technique"]) == {
        "cache",
        "routing",
        "compression",
        "memory",
    }
    assert data["options"]["techniques"] == ["cache"]
    assert data["baseline_ledger"]["totals"]["calls"] == 18
    assert data["cumulative_cost"]["calls"][-1] == 18


def test_html_page_is_self_contained(result: SimulationResult, tmp_path: Path) -> None:
    page = report.write_html(result, tmp_path / "report")
    assert page == tmp_path / "report" / "index.html"
    text = page.read_text("utf-8")
    # plotly.js is inlined (megabytes), and no script is fetched from anywhere.
    assert len(text) > 1_000_000
    assert not re.search(r"<script[^>]+src=", text)
    assert not re.search(r"<link[^>]+href=", text)
    assert "Cumulative cost over the stream" in text
    assert "Savings by technique" in text
    assert text.count('class="plotly-graph-div"') == 2
    assert "replies simulated" in text
