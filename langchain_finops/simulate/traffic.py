"""Read a traffic log: JSONL of prompts or chat sessions, or CSV with a text column.

Two JSONL shapes are accepted, one record a line, and may be mixed:

* a single prompt: `{"prompt": "...", "label": ..., "user": ..., "session": ...}`
  (all but `prompt` optional). Prompts that share a `session` are turns of one
  conversation, replayed in file order with the replies given so far;
* a chat session in OpenAI's message format:
  `{"messages": [{"role": "user", "content": "..."}, ...], "label": ...}`.
  Every user turn is one call, sent with the turns before it.

A CSV file needs a header; one column holds the prompt text and others may
hold the label, user and session. Files ending in `.gz` are read through gzip.

A malformed line is never dropped silently: it is skipped and reported with
its line number in `Traffic.problems`, and the rest of the file is read.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "SAMPLE_PATH",
    "ChatTurn",
    "Traffic",
    "TrafficProblem",
    "TrafficRecord",
    "load_sample",
    "load_traffic",
]

SAMPLE_PATH = Path(__file__).with_name("data") / "sample_traffic.jsonl.gz"
"""The shipped sample: real queries from BANKING77 and CLINC150 and chats from
the BYU chit-chat set, arranged as a stream (see `data/ATTRIBUTION.md`)."""

_ROLES = frozenset({"system", "user", "assistant", "developer"})
_TEXT_COLUMN_GUESSES = ("prompt", "text", "query", "question", "message")
_JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")


@dataclass(frozen=True, slots=True)
class ChatTurn:
    """One message of a chat session, in OpenAI's role vocabulary."""

    role: str
    content: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TrafficRecord:
    """One line of traffic: a single prompt, or a whole chat session.

    Exactly one of `prompt` and `messages` is set.
    """

    line: int
    """Line number in the input file (1-based), for messages about it."""
    prompt: str | None = None
    messages: tuple[ChatTurn, ...] | None = None
    label: str | None = None
    """What the user needed (an intent); two prompts with different labels
    must not be answered from each other."""
    user: str | None = None
    session: str | None = None
    timestamp: str | None = None

    @property
    def calls(self) -> int:
        """How many model calls replaying this record takes."""
        if self.messages is None:
            return 1
        return sum(1 for turn in self.messages if turn.role == "user")


@dataclass(frozen=True, slots=True)
class TrafficProblem:
    """A line that was skipped, and why."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(slots=True)
class Traffic:
    """The records read from a file and the lines that were skipped."""

    source: str
    records: list[TrafficRecord] = field(default_factory=list)
    problems: list[TrafficProblem] = field(default_factory=list)

    @property
    def calls(self) -> int:
        """How many model calls replaying every record takes."""
        return sum(record.calls for record in self.records)


def load_sample(*, limit: int | None = None) -> Traffic:
    """Read the traffic sample shipped with the package.

    Args:
        limit: Keep only the first `limit` records (the stream is in time
            order, so this is the start of the fortnight).

    Returns:
        The sample's records; it has no problems.
    """
    traffic = load_traffic(SAMPLE_PATH, limit=limit)
    traffic.source = "the shipped sample (BANKING77, CLINC150, BYU chit-chat)"
    return traffic


def load_traffic(
    path: str | Path,
    *,
    text_column: str | None = None,
    label_column: str | None = None,
    user_column: str | None = None,
    session_column: str | None = None,
    limit: int | None = None,
) -> Traffic:
    """Read a JSONL or CSV traffic file.

    Args:
        path: A `.jsonl` / `.ndjson` / `.json` (one object a line) or `.csv`
            file, optionally gzip-compressed with a further `.gz`.
        text_column: CSV only: the column holding the prompt. By default the
            first of `prompt`, `text`, `query`, `question`, `message` present.
        label_column: CSV only: the column holding the label (default `label`
            when present).
        user_column: CSV only: the user id column (default `user`).
        session_column: CSV only: the session id column (default `session`).
        limit: Stop after this many good records.

    Returns:
        The records, in file order, and the lines skipped with the reason.

    Raises:
        FileNotFoundError: If `path` does not exist.
        ValueError: If the file type is not known from its name, a CSV file
            has no header or lacks a named column, or `limit` is below 1.
    """
    path = Path(path)
    if limit is not None and limit < 1:
        msg = f"`limit` is {limit}; give a positive number of records, or None."
        raise ValueError(msg)
    if not path.is_file():
        msg = f"Traffic file {str(path)!r} does not exist."
        raise FileNotFoundError(msg)
    name = path.name.lower().removesuffix(".gz")
    traffic = Traffic(source=str(path))
    with _open_text(path) as f:
        if name.endswith(_JSONL_SUFFIXES):
            rows = _read_jsonl(f, traffic)
        elif name.endswith(".csv"):
            columns = _Columns(text_column, label_column, user_column, session_column)
            rows = _read_csv(f, columns, traffic, str(path))
        else:
            msg = (
                f"Cannot tell the format of {path.name!r}: name it *.jsonl (one JSON "
                "object a line) or *.csv (with a header), optionally with .gz."
            )
            raise ValueError(msg)
        for record in rows:
            traffic.records.append(record)
            if limit is not None and len(traffic.records) >= limit:
                break
    return traffic


def _open_text(path: Path) -> io.TextIOBase:
    if path.name.lower().endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _read_jsonl(f: io.TextIOBase, traffic: Traffic) -> Iterator[TrafficRecord]:
    for number, line in enumerate(f, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as error:
            traffic.problems.append(
                TrafficProblem(
                    number,
                    f"not valid JSON: {error.msg.removesuffix(' at')} "
                    f"(column {error.colno})",
                )
            )
            continue
        try:
            yield _record_from_json(number, data)
        except ValueError as error:
            traffic.problems.append(TrafficProblem(number, str(error)))


def _optional_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        msg = f"`{key}` is {value!r}; give a string or a number"
        raise ValueError(msg)
    return str(value)


def _record_from_json(number: int, data: Any) -> TrafficRecord:
    if not isinstance(data, dict):
        msg = f"expected a JSON object, got {type(data).__name__}"
        raise ValueError(msg)
    label = _optional_str(data, "label")
    user = _optional_str(data, "user")
    session = _optional_str(data, "session")
    timestamp = _optional_str(data, "timestamp")
    has_prompt, has_messages = "prompt" in data, "messages" in data
    if has_prompt == has_messages:
        msg = (
            "give either `prompt` (a string) or `messages` (a list of "
            '{"role", "content"} objects), not ' + ("both" if has_prompt else "neither")
        )
        raise ValueError(msg)
    if has_prompt:
        prompt = data["prompt"]
        if not isinstance(prompt, str) or not prompt.strip():
            msg = f"`prompt` is {prompt!r}; give non-empty text"
            raise ValueError(msg)
        return TrafficRecord(
            line=number,
            prompt=prompt,
            label=label,
            user=user,
            session=session,
            timestamp=timestamp,
        )
    return TrafficRecord(
        line=number,
        messages=_turns(data["messages"]),
        label=label,
        user=user,
        session=session,
        timestamp=timestamp,
    )


def _turns(messages: Any) -> tuple[ChatTurn, ...]:
    if not isinstance(messages, list) or not messages:
        msg = f"`messages` is {messages!r}; give a non-empty list of messages"
        raise ValueError(msg)
    turns = []
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            msg = f"messages[{index}] is {message!r}, not an object"
            raise ValueError(msg)
        role, content = message.get("role"), message.get("content")
        if role not in _ROLES:
            msg = f"messages[{index}] has role {role!r}; use one of " + ", ".join(
                sorted(_ROLES)
            )
            raise ValueError(msg)
        content = _message_text(index, content)
        turns.append(
            ChatTurn(role="system" if role == "developer" else role, content=content)
        )
    if not any(turn.role == "user" for turn in turns):
        msg = "`messages` has no user message, so there is no call to replay"
        raise ValueError(msg)
    return tuple(turns)


def _message_text(index: int, content: object) -> str:
    """The text of an OpenAI message's content: a string or a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, dict) and part.get("type") == "text":
                texts.append(str(part.get("text", "")))
            elif isinstance(part, str):
                texts.append(part)
            else:
                # Images and audio have no text to replay; the replay is of
                # text traffic, so such a part is refused, not silently dropped.
                msg = (
                    f"messages[{index}] has a content part {part!r}; only text "
                    "parts can be replayed"
                )
                raise ValueError(msg)
        return "\n".join(texts)
    msg = (
        f"messages[{index}] has content {content!r}; give text or a list of text parts"
    )
    raise ValueError(msg)


@dataclass(frozen=True, slots=True)
class _Columns:
    text: str | None
    label: str | None
    user: str | None
    session: str | None


def _pick_column(
    header: list[str], given: str | None, default: str, flag: str, source: str
) -> str | None:
    if given is None:
        return default if default in header else None
    if given not in header:
        msg = (
            f"{source} has no column {given!r} (for {flag}); its columns are "
            + ", ".join(repr(column) for column in header)
        )
        raise ValueError(msg)
    return given


def _read_csv(
    f: io.TextIOBase, columns: _Columns, traffic: Traffic, source: str
) -> Iterator[TrafficRecord]:
    reader = csv.reader(f)
    header = next(reader, None)
    if not header:
        msg = f"{source} is empty; a CSV traffic file needs a header row."
        raise ValueError(msg)
    header = [column.strip() for column in header]
    if columns.text is None:
        text = next((c for c in _TEXT_COLUMN_GUESSES if c in header), None)
        if text is None:
            msg = (
                f"{source} has no prompt column: none of "
                + ", ".join(_TEXT_COLUMN_GUESSES)
                + " among "
                + ", ".join(repr(column) for column in header)
                + ". Name it with --text-column."
            )
            raise ValueError(msg)
    elif columns.text not in header:
        msg = (
            f"{source} has no column {columns.text!r} (for --text-column); its "
            "columns are " + ", ".join(repr(column) for column in header)
        )
        raise ValueError(msg)
    else:
        text = columns.text
    label = _pick_column(header, columns.label, "label", "--label-column", source)
    user = _pick_column(header, columns.user, "user", "--user-column", source)
    session = _pick_column(
        header, columns.session, "session", "--session-column", source
    )
    index = {column: position for position, column in enumerate(header)}

    start = reader.line_num + 1
    for row in reader:
        number, start = start, reader.line_num + 1
        if not row or not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            traffic.problems.append(
                TrafficProblem(
                    number,
                    f"has {len(row)} fields where the header has {len(header)}",
                )
            )
            continue
        prompt = row[index[text]]
        if not prompt.strip():
            traffic.problems.append(TrafficProblem(number, f"column {text!r} is empty"))
            continue
        yield TrafficRecord(
            line=number,
            prompt=prompt,
            label=(row[index[label]] or None) if label else None,
            user=(row[index[user]] or None) if user else None,
            session=(row[index[session]] or None) if session else None,
        )
