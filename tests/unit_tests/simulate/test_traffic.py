import gzip
import json
from pathlib import Path

import pytest

from langchain_finops.simulate.traffic import (
    SAMPLE_PATH,
    ChatTurn,
    load_sample,
    load_traffic,
)

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_jsonl_prompts_and_sessions(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "t.jsonl",
        '{"prompt": "Hi", "label": "greet", "user": "u1", "session": 7}\n'
        "\n"
        '{"messages": [{"role": "system", "content": "Be brief."},'
        ' {"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},'
        ' {"role": "user", "content": "c"}], "label": "chat"}\n',
    )
    traffic = load_traffic(path)
    assert traffic.problems == []
    first, second = traffic.records
    assert (first.line, first.prompt, first.label, first.user, first.session) == (
        1,
        "Hi",
        "greet",
        "u1",
        "7",
    )
    assert second.line == 3
    assert second.messages == (
        ChatTurn("system", "Be brief."),
        ChatTurn("user", "a"),
        ChatTurn("assistant", "b"),
        ChatTurn("user", "c"),
    )
    # One call for the prompt, one per user turn of the chat.
    assert traffic.calls == 3


def test_malformed_jsonl_lines_are_reported_with_their_numbers(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "t.jsonl",
        "\n".join(
            [
                '{"prompt": "fine"}',
                "{not json",
                '["a list"]',
                '{"prompt": ""}',
                '{"prompt": "x", "messages": []}',
                '{"messages": [{"role": "robot", "content": "x"}]}',
                '{"messages": [{"role": "assistant", "content": "only me"}]}',
                '{"prompt": "also fine", "label": ["not", "text"]}',
                '{"prompt": "last"}',
            ]
        )
        + "\n",
    )
    traffic = load_traffic(path)
    assert [r.prompt for r in traffic.records] == ["fine", "last"]
    assert [p.line for p in traffic.problems] == [2, 3, 4, 5, 6, 7, 8]
    reasons = [p.reason for p in traffic.problems]
    assert reasons[0].startswith("not valid JSON")
    assert reasons[1] == "expected a JSON object, got list"
    assert "non-empty text" in reasons[2]
    assert "not both" in reasons[3]
    assert "role 'robot'" in reasons[4]
    assert "no user message" in reasons[5]
    assert "`label`" in reasons[6]
    assert str(traffic.problems[0]).startswith("line 2: ")


def test_csv_default_and_named_columns(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "t.csv",
        'text,intent,who\n"Hello, there",greet,ann\nbye,leave,bob\n',
    )
    traffic = load_traffic(path, label_column="intent", user_column="who")
    assert [(r.line, r.prompt, r.label, r.user) for r in traffic.records] == [
        (2, "Hello, there", "greet", "ann"),
        (3, "bye", "leave", "bob"),
    ]
    named = load_traffic(path, text_column="intent")
    assert [r.prompt for r in named.records] == ["greet", "leave"]
    assert [r.label for r in named.records] == [None, None]


def test_csv_bad_rows_are_reported(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "t.csv",
        'prompt,label\nok,a\ntoo,many,fields\n,b\n"multi\nline",c\nlast,d\n',
    )
    traffic = load_traffic(path)
    assert [(r.line, r.prompt) for r in traffic.records] == [
        (2, "ok"),
        (5, "multi\nline"),
        (7, "last"),
    ]
    assert [(p.line, p.reason) for p in traffic.problems] == [
        (3, "has 3 fields where the header has 2"),
        (4, "column 'prompt' is empty"),
    ]


def test_csv_column_errors_name_the_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "t.csv", "body,label\nhi,a\n")
    with pytest.raises(ValueError, match=r"no prompt column.*'body'.*--text-column"):
        load_traffic(path)
    with pytest.raises(
        ValueError, match="no column 'missing' \\(for --label-column\\)"
    ):
        load_traffic(path, text_column="body", label_column="missing")


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_traffic(tmp_path / "nope.jsonl")
    with pytest.raises(ValueError, match="Cannot tell the format"):
        load_traffic(write(tmp_path, "t.txt", "hi\n"))
    with pytest.raises(ValueError, match="`limit` is 0"):
        load_traffic(write(tmp_path, "t.jsonl", '{"prompt": "a"}\n'), limit=0)


def test_gzip_and_limit(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for index in range(5):
            f.write(json.dumps({"prompt": f"q{index}"}) + "\n")
    traffic = load_traffic(path, limit=3)
    assert [r.prompt for r in traffic.records] == ["q0", "q1", "q2"]


def test_shipped_examples_parse_cleanly() -> None:
    jsonl = load_traffic(EXAMPLES / "traffic.jsonl")
    assert jsonl.problems == []
    assert len(jsonl.records) == 16
    # 15 single prompts and one chat with three user turns.
    assert jsonl.calls == 18
    csv_traffic = load_traffic(EXAMPLES / "traffic.csv")
    assert csv_traffic.problems == []
    assert len(csv_traffic.records) == 12
    assert all(r.label for r in csv_traffic.records)


def test_shipped_sample_is_a_labelled_stream() -> None:
    with gzip.open(SAMPLE_PATH, "rt", encoding="utf-8") as f:
        raw = [json.loads(line) for line in f]
    traffic = load_sample()
    assert traffic.problems == []
    assert len(traffic.records) == len(raw) == 12_150
    prompts = [r for r in traffic.records if r.prompt is not None]
    chats = [r for r in traffic.records if r.messages is not None]
    assert (len(prompts), len(chats)) == (12_000, 150)
    assert all(r.label for r in prompts)
    assert all(r.user for r in traffic.records)
    timestamps = [r.timestamp or "" for r in traffic.records]
    assert timestamps == sorted(timestamps)
    # Paraphrases and repeats: far fewer distinct texts than prompts, and
    # labels shared by many different wordings.
    assert len({r.prompt for r in prompts}) < 0.8 * len(prompts)
    by_label: dict[str, set[str]] = {}
    for record in prompts:
        by_label.setdefault(record.label or "", set()).add(record.prompt or "")
    assert max(len(wordings) for wordings in by_label.values()) >= 50
    # Out-of-scope queries each carry their own label.
    oos = [r for r in prompts if (r.label or "").startswith("clinc150/oos/")]
    assert len(oos) == len({r.label for r in oos}) > 0
    assert load_sample(limit=10).records == traffic.records[:10]


def test_openai_content_parts_are_read_as_text(tmp_path: Path) -> None:
    path = tmp_path / "parts.jsonl"
    record = {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Where is"},
                    {"type": "text", "text": "my parcel?"},
                ],
            }
        ]
    }
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    traffic = load_traffic(path)
    assert traffic.problems == []
    assert traffic.records[0].messages[0].content == "Where is\nmy parcel?"


def test_an_image_part_is_reported_not_dropped(tmp_path: Path) -> None:
    path = tmp_path / "image.jsonl"
    part = {"type": "image_url", "image_url": {"url": "https://x.test/a.png"}}
    record = {"messages": [{"role": "user", "content": [part]}]}
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    traffic = load_traffic(path)
    assert traffic.records == []
    assert "only text parts" in traffic.problems[0].reason
