import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from langchain_finops.cli import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
# The optimised pipeline without compression, so that these tests exercise
# the command itself; the full pipeline runs in the simulate tests.
LIGHT = ["--no-compression", "--no-routing", "--no-memory"]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_simulate_a_user_file_prints_the_report_and_writes_the_ledger(
    runner: CliRunner, tmp_path: Path
) -> None:
    ledger = tmp_path / "ledger.json"
    result = runner.invoke(
        app,
        [
            "simulate",
            "--input",
            str(EXAMPLES / "traffic.jsonl"),
            "--json",
            str(ledger),
            *LIGHT,
        ],
    )
    assert result.exit_code == 0, result.output
    assert "18 calls from 16 records" in result.output
    assert "replies simulated" in result.output
    assert "Saved by each technique" in result.output
    data = json.loads(ledger.read_text("utf-8"))
    assert data["summary"]["calls"] == 18
    assert data["options"]["strong"] == "gpt-4o"


def test_simulate_csv_with_named_columns(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("question,intent\nhi there,greet\nhi there,greet\n", "utf-8")
    result = runner.invoke(
        app,
        [
            "simulate",
            "-i",
            str(path),
            "--text-column",
            "question",
            "--label-column",
            "intent",
            "--json",
            str(tmp_path / "l.json"),
            *LIGHT,
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "l.json").read_text("utf-8"))["summary"]
    assert summary["calls"] == 2
    assert summary["cache_hits_by_tier"] == {"exact": 1}
    assert summary["false_hits"] == 0
    assert summary["labelled_cache_hits"] == 1


def test_malformed_lines_are_reported_and_the_run_finishes(
    runner: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text('{"prompt": "one"}\n{oops\n{"prompt": "two"}\n', "utf-8")
    result = runner.invoke(app, ["simulate", "-i", str(path), *LIGHT])
    assert result.exit_code == 0, result.output
    assert "line 2: not valid JSON" in result.output
    assert "2 calls from 2 records" in result.output
    assert "Skipped 1 malformed line(s)" in result.output


def test_bad_arguments_get_a_clear_error(runner: CliRunner, tmp_path: Path) -> None:
    missing = runner.invoke(app, ["simulate", "-i", str(tmp_path / "none.jsonl")])
    assert missing.exit_code == 2
    assert "does not exist" in missing.output
    money = runner.invoke(app, ["simulate", "--max-spend", "lots", "--limit", "1"])
    assert money.exit_code == 2
    assert "--max-spend is 'lots'" in money.output
    empty = tmp_path / "e.jsonl"
    empty.write_text("{bad\n", "utf-8")
    nothing = runner.invoke(app, ["simulate", "-i", str(empty), *LIGHT])
    assert nothing.exit_code == 2
    assert "line 1" in nothing.output
    assert "no record to replay" in nothing.output


def test_live_needs_a_key(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    result = runner.invoke(app, ["simulate", "--live", "--limit", "1", *LIGHT])
    assert result.exit_code == 2
    assert "OPENAI_API_KEY" in result.output


def test_simulate_max_spend_stops_offline_too(
    runner: CliRunner, tmp_path: Path
) -> None:
    result = runner.invoke(
        app,
        [
            "simulate",
            "--limit",
            "30",
            "--max-spend",
            "0.02",
            "--json",
            str(tmp_path / "l.json"),
            *LIGHT,
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Stopped by --max-spend" in result.output
    summary = json.loads((tmp_path / "l.json").read_text("utf-8"))["summary"]
    assert summary["calls"] < 30
    assert float(summary["spent"]) <= 0.02


def test_demo_and_report(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--limit", "25", "--report", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "the shipped sample" in result.output
    assert (tmp_path / "index.html").stat().st_size > 1_000_000
    ledger = json.loads((tmp_path / "ledger.json").read_text("utf-8"))
    assert ledger["summary"]["records"] == 25
    assert ledger["options"]["techniques"] == [
        "memory",
        "compression",
        "routing",
        "cache",
    ]


def test_calibrate_then_simulate_with_the_thresholds(
    runner: CliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "calibration.json"
    result = runner.invoke(
        app, ["calibrate", "-i", str(EXAMPLES / "traffic.jsonl"), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "cache similarity threshold" in result.output
    assert "router threshold" in result.output
    fitted = json.loads(out.read_text("utf-8"))
    ledger = tmp_path / "l.json"
    replay = runner.invoke(
        app,
        [
            "simulate",
            "-i",
            str(EXAMPLES / "traffic.jsonl"),
            "--calibration",
            str(out),
            "--no-compression",
            "--memory-max-tokens",
            "200",
            "--json",
            str(ledger),
        ],
    )
    assert replay.exit_code == 0, replay.output
    options = json.loads(ledger.read_text("utf-8"))["options"]
    assert options["cache_threshold"] == fitted["cache_threshold"]
    assert options["router_threshold"] == fitted["router_threshold"]
    assert options["memory_max_tokens"] == 200


def test_calibrate_without_labels_fails_clearly(
    runner: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text('{"prompt": "a"}\n{"prompt": "b"}\n', "utf-8")
    result = runner.invoke(app, ["calibrate", "-i", str(path)])
    assert result.exit_code == 2
    assert "Calibration needs labelled prompts" in result.output
