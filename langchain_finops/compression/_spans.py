"""Split a text into the spans that must survive byte for byte and free prose.

The compressor edits free prose only. Everything else is found first, in a
fixed order of precedence, so that a later rule can never cut into an earlier
span:

1. *Hard* spans, which no step of the compressor alters or drops: text inside
   `<keep>...</keep>`, matches of the user's own patterns, fenced code blocks,
   unfenced code paragraphs, JSON values (only ever minified, which keeps every
   string and number as written) and lines in scripts written without spaces
   (Chinese, Japanese, Korean, Thai, Lao, Khmer, Myanmar, Tibetan).
2. *Soft* spans, which are never altered but may be left out whole when a
   query-aware extraction drops the sentence they are in: inline code, URLs,
   e-mail addresses, file paths, quoted strings and numbers with their units.
3. Word-level spans: identifiers (anything mixing digits, underscores, inner
   capitals, dots), capitalised names and negations.
"""

from __future__ import annotations

import bisect
import heapq
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final

from langchain_finops.compression._vocab import (
    ENGLISH_MARKERS,
    FUNCTION_WORDS,
    NEGATIONS,
)

__all__ = [
    "HARD_KINDS",
    "KEEP_CLOSE",
    "KEEP_OPEN",
    "Span",
    "split_spans",
]

KEEP_OPEN: Final = "<keep>"
KEEP_CLOSE: Final = "</keep>"

# Kinds whose text is never dropped, even by query-aware extraction.
HARD_KINDS: Final = frozenset({"keep", "pattern", "fence", "code", "json", "script"})


@dataclass(frozen=True, slots=True)
class Span:
    """A slice `[start, end)` of the text and what it holds."""

    start: int
    end: int
    kind: str


_KEEP = re.compile(
    re.escape(KEEP_OPEN) + r"(.*?)(?:" + re.escape(KEEP_CLOSE) + r"|\Z)", re.S
)
_FENCE = re.compile(
    r"^[ \t]*(`{3,}|~{3,})[^\n]*\n.*?(?:^[ \t]*\1[ \t]*$|\Z)", re.M | re.S
)
_UNSPACED_SCRIPT = re.compile(
    r"[\u0e00-\u0eff\u0f00-\u0fff\u1000-\u109f\u1780-\u17ff\u2e80-\u9fff"
    r"\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]"
)
_JSON_START = re.compile(r"^[ \t]*[\[{]", re.M)
_DECODER = json.JSONDecoder()

# A line that reads as source code rather than prose, tested in three cheap
# parts: how it starts, what operators it holds, how it ends. Four spaces or
# a tab of indentation is Markdown's own rule for a code block.
_CODE_START = re.compile(
    r"""
    (?:def|class|import|from\s+\S+\s+import|return|elif|else\s*:|try\s*:
      |except|finally\s*:|async\s+def|await|raise|yield|lambda|const|let|var
      |function|public|private|protected|static|\#include|\#define|package
      |func|fn|pub|impl|struct|enum|interface|SELECT|INSERT|UPDATE|DELETE
      |CREATE|ALTER|DROP)\b
    | (?:if|for|while|with)\b.*:$
    | @\w | // | /\* | \*/ | \#! | <\? | \$\s
    | [\w.\[\]]+\s*=\s*\S
    """,
    re.X,
)
_CODE_OPERATOR = re.compile(r"=>|->|::|==|!=|\+=|-=|&&|\|\||\w\(\)")
_CALL_AT_END = re.compile(r"\w\([^()]*\)\s*[:;{]?$")
_INLINE_CODE = re.compile(r"(`+)[^`\n][^\n]*?\1")
# A URL's closing punctuation belongs to the sentence, not to the address.
_URL = re.compile(
    r"(?:\b(?:https?|ftp|file|s3|gs|wss?)://|\bwww\.)[^\s<>\"'`]*[^\s<>\"'`.,;:!?)]"
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Checked for a word character before it in Python: a leading look-behind
# would make `re` try every position of the text.
_PATH = re.compile(r"(?:~|\.{1,2})?/(?:[\w.@-]+/)*[\w.@-]+/?")
_WINDOWS_PATH = re.compile(r"\b[A-Za-z]:\\\S*")

_QUOTE = re.compile(
    r"\"[^\"\n]{1,1000}\"|“[^”\n]{1,1000}”|‘[^’\n]{1,1000}’|«[^»\n]{1,1000}»"
    r"|(?<![\w'’])'[^'\n]{1,500}'(?![\w'’])"
)
_NUMBER = re.compile(
    r"(?<![\w.])(?<![A-Za-z0-9]-)[$€£¥₹]?[-+]?\d(?:[\d,._:/-]*\d)?"
    r"(?P<unit>[ \t]*(?:%|‰|°[CF]?|[A-Za-zµ]+(?:/[A-Za-z]+)?\b))?"
)
# What separates words: spaces, zero-width characters, `&nbsp;` and `<br>`
# (the whitespace step turns the last ones into spaces and newlines).
_SEPARATOR = re.compile(r"&nbsp;|<br\s*/?>|[\s\u200b\u200c\u200d\u2060\ufeff]+", re.I)
_SLOW_SEPARATORS = re.compile(r"&nbsp;|<br|[\u200b\u200c\u200d\u2060\ufeff]", re.I)
# A character that makes its word worth a look (a capital, a digit, a symbol,
# a letter outside ASCII), and the lowercase negations: every other word is
# plain lowercase prose and is skipped without a Python step.
_SPECIAL = re.compile(r"[^\sa-z'’\-.,;:!?()\[\]{}\"“”‘«»<>*]")
_LOWER_NEGATION = re.compile(
    r"\b(?:" + "|".join(sorted(NEGATIONS, key=len, reverse=True)) + r")\b"
    r"|\b[a-z]+n['’]t\b"
)
_TOKEN_REST = re.compile(r"\S*")
_LEADING = "([{\"'“‘«<*_"
_TRAILING = ".,;:!?)]}\"'”’»>*_"
_LOWER_WORD = re.compile(r"[a-z][a-z'’-]*")
_TITLE_WORD = re.compile(r"[A-Z][a-z'’-]*")
_NOT_CONTRACTION = re.compile(r"[a-z]+n['’]t", re.I)
_PRONOUN_I = frozenset(
    {"I", "I'd", "I'm", "I've", "I'll", "I’d", "I’m", "I’ve", "I’ll"}
)
_SENTENCE_END = frozenset(".!?:;\n")
_BULLETS = frozenset("-*•>#")


class _Claims:
    """Non-overlapping spans, kept sorted by start."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.spans: list[Span] = []

    def free(self, start: int, end: int) -> bool:
        index = bisect.bisect_right(self.starts, start)
        if index and self.spans[index - 1].end > start:
            return False
        return not (index < len(self.spans) and self.spans[index].start < end)

    def add(self, start: int, end: int, kind: str) -> bool:
        if end <= start or not self.free(start, end):
            return False
        index = bisect.bisect_right(self.starts, start)
        self.starts.insert(index, start)
        self.spans.insert(index, Span(start, end, kind))
        return True


def _claim_keep(text: str, claims: _Claims) -> None:
    if KEEP_OPEN not in text:
        return
    for match in _KEEP.finditer(text):
        start, end = match.span()
        inner_start, inner_end = match.span(1)
        claims.add(start, inner_start, "keep_tag")
        claims.add(inner_start, inner_end, "keep")
        claims.add(inner_end, end, "keep_tag")


_CODE_HINTS = (
    "    ", "\t", "{", "}", ";", "=", "()", "->", "::", "@", "#", "$ ", "def ",
    "import ", "class ", "return", "func", "SELECT", "INSERT", "UPDATE", "DELETE",
    "CREATE", "ALTER", "DROP", "const ", "let ", "var ", "pub ", "fn ",
)  # fmt: skip


def _may_hold_code(text: str) -> bool:
    # Every line rule of `_CODE_LINE` needs one of these substrings.
    return any(hint in text for hint in _CODE_HINTS)


def _is_code_line(line: str) -> bool:
    # Code quoted inside prose ("call `run()` first") does not make it code.
    if "`" in line:
        line = _INLINE_CODE.sub("x", line)
    stripped = line.strip()
    if not stripped:
        return False
    if line.startswith(("    ", "\t")):
        return True
    if stripped[-1] in "{};" or stripped[0] in "}])":
        return True
    return bool(
        _CODE_START.match(stripped)
        or _CODE_OPERATOR.search(stripped)
        or (stripped[-1] in "):;{" and _CALL_AT_END.search(stripped))
    )


def _code_paragraphs(text: str) -> list[tuple[int, int]]:
    """Runs of code-like paragraphs, blank lines between them included."""
    runs: list[tuple[int, int]] = []
    paragraph: list[tuple[int, int]] = []

    def close() -> None:
        if not paragraph:
            return
        code = sum(1 for s, e in paragraph if _is_code_line(text[s:e]))
        if code * 2 >= len(paragraph):
            start, end = paragraph[0][0], paragraph[-1][1]
            if runs and not text[runs[-1][1] : start].strip():
                runs[-1] = (runs[-1][0], end)
            else:
                runs.append((start, end))
        paragraph.clear()

    position = 0
    length = len(text)
    while position <= length:
        newline = text.find("\n", position)
        end = length if newline < 0 else newline
        if text[position:end].strip():
            paragraph.append((position, end))
        else:
            close()
        if newline < 0:
            break
        position = newline + 1
    close()
    return runs


def _claim_hard(
    text: str, claims: _Claims, patterns: Sequence[re.Pattern[str]]
) -> None:
    _claim_keep(text, claims)
    for pattern in patterns:
        for match in pattern.finditer(text):
            claims.add(match.start(), match.end(), "pattern")
    if "```" in text or "~~~" in text:
        for match in _FENCE.finditer(text):
            claims.add(match.start(), match.end(), "fence")
    position = 0
    while found := _UNSPACED_SCRIPT.search(text, position):
        line_start = text.rfind("\n", 0, found.start()) + 1
        line_end = text.find("\n", found.end())
        line_end = len(text) if line_end < 0 else line_end
        claims.add(line_start, line_end, "script")
        position = line_end
    for match in _JSON_START.finditer(text) if "{" in text or "[" in text else ():
        start = match.end() - 1
        if not claims.free(start, start + 1):
            continue
        try:
            _, end = _DECODER.raw_decode(text, start)
        except ValueError:
            continue
        claims.add(start, end, "json")
    for start, end in _code_paragraphs(text) if _may_hold_code(text) else ():
        if claims.free(start, end):
            claims.add(start, end, "code")
        else:
            # A code paragraph around a fence: protect its lines one by one.
            line_start = start
            for line in text[start:end].split("\n"):
                claims.add(line_start, line_start + len(line), "code")
                line_start += len(line) + 1


def _unit_is_word(unit: str) -> bool:
    lowered = unit.strip().lower()
    return (
        lowered in FUNCTION_WORDS or lowered in NEGATIONS or lowered in ENGLISH_MARKERS
    )


def _claim_soft(text: str, claims: _Claims) -> None:
    if "`" in text:
        for match in _INLINE_CODE.finditer(text):
            claims.add(match.start(), match.end(), "inline_code")
    # Cheap substring tests first: most prose holds no address at all.
    rules = []
    if "://" in text or "www." in text:
        rules.append(_URL)
    if "@" in text:
        rules.append(_EMAIL)
    if "/" in text:
        rules.append(_PATH)
    if ":\\" in text:
        rules.append(_WINDOWS_PATH)
    for regex in rules:
        for match in regex.finditer(text):
            start = match.start()
            if (
                regex is _PATH
                and start
                and (text[start - 1].isalnum() or text[start - 1] in "_/")
            ):
                continue
            claims.add(start, match.end(), "url")
    for match in _QUOTE.finditer(text):
        claims.add(match.start(), match.end(), "quote")
    for match in _NUMBER.finditer(text):
        end = match.end()
        unit = match.group("unit")
        if unit and _unit_is_word(unit):
            end = match.start("unit")
        claims.add(match.start(), end, "number")


def _sentence_start(text: str, start: int) -> bool:
    index = start - 1
    while index >= 0 and text[index] in " \t":
        index -= 1
    if index < 0 or text[index] in _SENTENCE_END:
        return True
    if text[index] in _BULLETS:
        line_start = text.rfind("\n", 0, index) + 1
        return not text[line_start:index].strip()
    if text[index] in ".)" and index > 0 and text[index - 1].isdigit():
        line_start = text.rfind("\n", 0, index) + 1
        return text[line_start:index].strip().isdigit()
    return False


def _word_kind(text: str, start: int, core: str) -> str | None:
    if _LOWER_WORD.fullmatch(core):
        if core in NEGATIONS or _NOT_CONTRACTION.fullmatch(core):
            return "negation"
        return None
    if core in _PRONOUN_I:
        return None
    if _TITLE_WORD.fullmatch(core):
        if core.lower() in NEGATIONS or _NOT_CONTRACTION.fullmatch(core):
            return "negation"
        if core.lower() in FUNCTION_WORDS and _sentence_start(text, start):
            return None
        return "name"
    if core.isalpha() and core.islower():
        return None
    if not any(character.isalnum() for character in core):
        return None
    return "identifier"


def _words(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    position = start
    for separator in _SEPARATOR.finditer(text, start, end):
        if separator.start() > position:
            yield position, separator.start()
        position = separator.end()
    if end > position:
        yield position, end


def _candidate_words(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """The words that may need protection; plain lowercase words are skipped."""
    if _SLOW_SEPARATORS.search(text, start, end):
        yield from _words(text, start, end)
        return
    hits = heapq.merge(
        (m.start() for m in _SPECIAL.finditer(text, start, end)),
        (m.start() for m in _LOWER_NEGATION.finditer(text, start, end)),
    )
    last_end = start - 1
    for hit in hits:
        if hit < last_end:
            continue
        word_start = hit
        while word_start > start and not text[word_start - 1].isspace():
            word_start -= 1
        rest = _TOKEN_REST.match(text, hit, end)
        word_end = rest.end() if rest else hit + 1
        if word_start < last_end:
            continue
        last_end = word_end
        yield word_start, word_end


def _word_spans(text: str, start: int, end: int, out: list[Span]) -> None:
    """Append the protected words of `text[start:end]` and the free gaps between."""
    position = start
    for word_start, word_end in _candidate_words(text, start, end):
        while word_start < word_end and text[word_start] in _LEADING:
            word_start += 1
        while word_end > word_start and text[word_end - 1] in _TRAILING:
            word_end -= 1
        if word_start == word_end:
            continue
        kind = _word_kind(text, word_start, text[word_start:word_end])
        if kind is None:
            continue
        if word_start > position:
            out.append(Span(position, word_start, "free"))
        out.append(Span(word_start, word_end, kind))
        position = word_end
    if end > position:
        out.append(Span(position, end, "free"))


def split_spans(text: str, *, patterns: Sequence[re.Pattern[str]] = ()) -> list[Span]:
    """Cut `text` into consecutive spans covering all of it.

    Args:
        text: The text to cut.
        patterns: The user's own protected patterns.

    Returns:
        Spans in order; the prose between protected spans has kind `"free"`.
    """
    claims = _Claims()
    _claim_hard(text, claims, patterns)
    _claim_soft(text, claims)

    spans: list[Span] = []
    position = 0
    for span in claims.spans:
        if span.start > position:
            _word_spans(text, position, span.start, spans)
        spans.append(span)
        position = span.end
    if position < len(text):
        _word_spans(text, position, len(text), spans)
    return spans
