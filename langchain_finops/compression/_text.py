"""The model-free pipeline on one string, one level of aggressiveness at a time.

Levels, each including those before it:

1. `normalize`: whitespace and markup; `<keep>` markers dropped; JSON minified.
2. `dedup`: paragraphs and prose lines repeated verbatim are dropped.
3. `filler`: courtesy and filler phrases, wordy phrasings shortened.
4. `prune`: low-information words (articles, intensifiers) in English prose.
5. `prune_more`: a longer list of function words; only for a target.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from langchain_finops.compression._prose import (
    PLACEHOLDER,
    SENTINELS,
    normalize_space,
    prune_prose,
)
from langchain_finops.compression._spans import HARD_KINDS, Span, split_spans
from langchain_finops.compression._vocab import ENGLISH_MARKERS

__all__ = ["LEVEL_NAMES", "PreparedText", "compress_text", "minify_json"]

LEVEL_NAMES = ("normalize", "dedup", "filler", "prune", "prune_more")

_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[^\s"]+|\s+')
_LATIN_WORD = re.compile(r"[A-Za-z]+")
_ENGLISH_SHARE = 0.15
_MIN_DEDUP_WORDS = 5
_LANGUAGE_SAMPLE = 400


def minify_json(value: str) -> str:
    """Drop the whitespace between the tokens of valid JSON.

    Strings and numbers are kept exactly as written (a round trip through
    `json.loads` would rewrite escapes, number formats and duplicate keys).
    """
    return "".join(t for t in _JSON_TOKEN.findall(value) if not t[0].isspace())


def _looks_english(text: str, spans: Sequence[Span]) -> bool:
    # A sample of the free prose is enough to tell the language.
    words: list[str] = []
    for span in spans:
        if span.kind == "free":
            words.extend(
                w.lower() for w in _LATIN_WORD.findall(text, span.start, span.end)
            )
            if len(words) >= _LANGUAGE_SAMPLE:
                break
    if not words:
        return False
    markers = sum(1 for word in words if word in ENGLISH_MARKERS)
    return markers >= _ENGLISH_SHARE * len(words)


def _hard_intervals(spans: Sequence[Span]) -> list[tuple[int, int]]:
    return [
        (s.start, s.end) for s in spans if s.kind in HARD_KINDS or s.kind == "keep_tag"
    ]


def _touches(intervals: Sequence[tuple[int, int]], start: int, end: int) -> bool:
    return any(s < end and start < e for s, e in intervals)


def _dedup_candidate(line: str) -> bool:
    words = line.split()
    if len(words) < _MIN_DEDUP_WORDS or "|" in line or "\t" in line:
        return False
    # Rows of data (CSV and the like) repeat on purpose: two equal rows are two
    # records, not one said twice.
    return line.count(",") * 2 < len(words)


def _duplicate_ranges(text: str, spans: Sequence[Span]) -> list[tuple[int, int]]:
    hard = _hard_intervals(spans)
    lines: list[tuple[int, int]] = []
    position = 0
    while position < len(text):
        newline = text.find("\n", position)
        end = len(text) if newline < 0 else newline + 1
        lines.append((position, end))
        position = end

    drops: list[tuple[int, int]] = []
    seen_paragraphs: set[str] = set()
    seen_lines: set[str] = set()
    index = 0
    while index < len(lines):
        if not text[lines[index][0] : lines[index][1]].strip():
            index += 1
            continue
        first = index
        while index < len(lines) and text[lines[index][0] : lines[index][1]].strip():
            index += 1
        start, end = lines[first][0], lines[index - 1][1]
        while (
            index < len(lines) and not text[lines[index][0] : lines[index][1]].strip()
        ):
            index += 1
        paragraph = text[start:end].strip()
        if _touches(hard, start, end):
            continue
        if index - first > 1 and len(paragraph.split()) >= _MIN_DEDUP_WORDS:
            if paragraph in seen_paragraphs:
                drops.append((start, lines[index - 1][1] if index else end))
                continue
            seen_paragraphs.add(paragraph)
        for line_start, line_end in lines[first : first + (index - first)]:
            line = text[line_start:line_end].strip()
            if not line:
                continue
            if _dedup_candidate(line):
                if line in seen_lines:
                    drops.append((line_start, line_end))
                    continue
                seen_lines.add(line)
    return drops


def _outside(
    start: int, end: int, drops: Sequence[tuple[int, int]]
) -> list[tuple[int, int]]:
    """The parts of `[start, end)` outside the dropped ranges (sorted)."""
    parts = []
    for drop_start, drop_end in drops:
        if drop_end <= start:
            continue
        if drop_start >= end:
            break
        if drop_start > start:
            parts.append((start, drop_start))
        start = max(start, drop_end)
    if start < end:
        parts.append((start, end))
    return parts


def _rendered(text: str, span: Span, strip_markers: bool) -> str:
    piece = text[span.start : span.end]
    if span.kind == "keep_tag":
        return "" if strip_markers else piece
    if span.kind == "json":
        return minify_json(piece)
    return piece


class PreparedText:
    """A text cut into spans once, rendered at any level without cutting again."""

    def __init__(self, text: str, patterns: Sequence[re.Pattern[str]] = ()) -> None:
        self.text = text
        self.spans = split_spans(text, patterns=patterns) if text else []
        self._drops: list[tuple[int, int]] | None = None
        self._english: bool | None = None

    def render(self, level: int, *, strip_markers: bool = True) -> str:
        """The text compressed up to `level` (1 to 5); see `compress_text`."""
        text = self.text
        if not text or level <= 0:
            return text
        if level >= 2 and self._drops is None:
            self._drops = sorted(_duplicate_ranges(text, self.spans))
        drops = self._drops if level >= 2 and self._drops else []
        # Text that already holds our private-use marks is left as it is, but
        # for JSON and markers: the marks would be mistaken for our own.
        editable = not any(mark in text for mark in SENTINELS)

        masked: list[str] = []
        protected: list[str] = []
        for span in self.spans:
            parts = (
                _outside(span.start, span.end, drops)
                if drops
                else ((span.start, span.end),)
            )
            for start, end in parts:
                if span.kind == "free" and editable:
                    masked.append(text[start:end])
                else:
                    masked.append(PLACEHOLDER)
                    protected.append(_rendered(text, span, strip_markers))
        prose = "".join(masked)
        if editable:
            prose = normalize_space(prose)
            if level >= 3:
                if self._english is None:
                    self._english = _looks_english(text, self.spans)
                if self._english:
                    prose = prune_prose(prose, level=min(level, len(LEVEL_NAMES)))
            prose = prose.lstrip("\n").rstrip()
        pieces = prose.split(PLACEHOLDER)
        result = [pieces[0]]
        for piece, after in zip(protected, pieces[1:], strict=True):
            result.append(piece)
            result.append(after)
        return "".join(result)


def compress_text(
    text: str,
    *,
    level: int,
    patterns: Sequence[re.Pattern[str]] = (),
    strip_markers: bool = True,
) -> str:
    """Compress one string up to `level` (1 to 5).

    Args:
        text: The text.
        level: How many of the steps in `LEVEL_NAMES` to apply.
        patterns: The user's protected patterns.
        strip_markers: Drop `<keep>` markers (query-aware extraction keeps them
            until it has chosen what to keep).

    Returns:
        The compressed text; protected spans are copied byte for byte.
    """
    return PreparedText(text, patterns).render(level, strip_markers=strip_markers)
