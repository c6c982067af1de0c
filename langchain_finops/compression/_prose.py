"""Edits applied to free prose: whitespace, filler phrases, low-information words.

The functions work on the text with every protected span replaced by one
`PLACEHOLDER` character, so that each rule runs once over the whole text and a
rule never sees a word boundary that is not there (a placeholder is a
non-space, non-word character glued to its neighbours). Two more private-use
characters mark removals while the rules run: `_CAPITAL` at the start of a
sentence (the next word gets a capital), `_HOLE` in the middle of one (a comma
left dangling before it goes).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from langchain_finops.compression._vocab import (
    EXTRA_WORDS,
    FILLER_PHRASES,
    LOW_INFORMATION_WORDS,
    REPLACEMENTS,
    START_ONLY,
)

__all__ = ["PLACEHOLDER", "SENTINELS", "normalize_space", "prune_prose"]

_GLUED = "\ue000"
PLACEHOLDER = _GLUED
_CAPITAL = "\ue001"
_HOLE = "\ue002"
SENTINELS = frozenset({_GLUED, _CAPITAL, _HOLE})

_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
_BREAK_TAG = re.compile(r"<br\s*/?>", re.I)
_INNER_SPACES = re.compile(r"(?<=\S)[ \t]{2,}")
_TRAILING_SPACES = re.compile(r"[ \t]+(?=\n)")
_BLANK_LINES = re.compile(r"\n{3,}")

_CLOSE = r"(?![\w'’" + _GLUED + r"])"
# Matched on a lowercased copy of the text (same length, same offsets): a
# case-insensitive alternation is several times slower in `re`.
_PHRASES = re.compile(r"\b(?:" + "|".join(FILLER_PHRASES) + r")" + _CLOSE + r"[ \t]*")
_REPLACEMENT_MAP = dict(REPLACEMENTS)
_REPLACE = re.compile(
    r"\b(?:" + "|".join(re.escape(k) for k, _ in REPLACEMENTS) + r")" + _CLOSE
)


def _word_rule(words: frozenset[str]) -> re.Pattern[str]:
    alternatives = "|".join(sorted(words, key=len, reverse=True))
    # A whole word between spaces (or a removal mark): never part of an
    # identifier, a contraction, or a word glued to protected text.
    return re.compile(
        r"(?<![^\s" + _CAPITAL + _HOLE + r"])(?:" + alternatives + r")[ \t]+(?=\S)"
    )


def _capital_rule(words: frozenset[str]) -> re.Pattern[str]:
    alternatives = "|".join(
        sorted((w.capitalize() for w in words), key=len, reverse=True)
    )
    return re.compile(
        r"(?<![^\s" + _CAPITAL + r"])(?:" + alternatives + r")[ \t]+(?=[a-z])"
    )


_LOW = _word_rule(LOW_INFORMATION_WORDS)
_LOW_CAPITAL = _capital_rule(LOW_INFORMATION_WORDS)
_EXTRA = _word_rule(EXTRA_WORDS)
_LIST_MARK = re.compile(r"(?:^|\n)[ \t]*(?:[-*•>#]+|\d+[.)])$")
_CAPITALISE = re.compile(_CAPITAL + r"[" + _CAPITAL + _HOLE + r" \t]*([a-z])")
_DANGLING = re.compile(r"[ \t]*,?[ \t]*" + _HOLE + r"+[ \t]*(?=[.!?;:,]|$)")
_NOT_BEFORE = frozenset("'’" + _GLUED)
_MARKS = re.compile("[" + _CAPITAL + _HOLE + "]")
_I_WORD = re.compile(r"\bI\b")


def normalize_space(text: str) -> str:
    """Collapse runs of spaces, strip line ends, keep at most one blank line.

    Leading indentation is kept: in Markdown and in code it carries meaning.
    """
    if "\u00a0" in text or "&nbsp;" in text:
        text = text.replace("\u00a0", " ").replace("&nbsp;", " ")
    text = _ZERO_WIDTH.sub("", text)
    if "<" in text:
        text = _BREAK_TAG.sub("\n", text)
    text = _INNER_SPACES.sub(" ", text)
    text = _TRAILING_SPACES.sub("", text)
    return _BLANK_LINES.sub("\n\n", text)


def _at_sentence_start(text: str, position: int) -> bool:
    # A bounded look back: enough for a list marker, never the whole text.
    before = text[max(0, position - 24) : position].rstrip(" \t")
    if not before and position > 24:
        return False
    if not before:
        return True
    last = before[-1]
    if last in ".!?:;\n" + _CAPITAL:
        return True
    return bool(_LIST_MARK.search(before))


def _phrase_removed(text: str, start: int, end: int) -> str:
    found = text[start:end]
    rest = _I_WORD.sub("i", found[1:])
    if any(character.isupper() for character in rest):
        # Capitals inside the phrase: emphasis or a name, not filler.
        return found
    at_start = _at_sentence_start(text, start)
    first = found.split(None, 1)[0].lower().rstrip(",.!")
    if first in START_ONLY and not at_start:
        return found
    if found[0].isupper() and not (at_start or found.startswith(("I ", "I'", "I’"))):
        return found
    return _CAPITAL if at_start else _HOLE


def _replaced(text: str, start: int, end: int) -> str:
    found = text[start:end]
    shorter = _REPLACEMENT_MAP[found.lower()]
    if found.islower():
        return shorter
    if found[0].isupper() and found[1:].islower() and _at_sentence_start(text, start):
        return shorter.capitalize()
    return found


def _capital_word_removed(match: re.Match[str]) -> str:
    if _at_sentence_start(match.string, match.start()):
        return _CAPITAL
    return match.group(0)


def _sub_lowered(
    rule: re.Pattern[str], text: str, edit: Callable[[str, int, int], str]
) -> str:
    lowered = text.lower()
    if len(lowered) != len(text):
        # A few characters change length when lowercased (İ): go slowly.
        lowered = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    pieces = []
    position = 0
    for match in rule.finditer(lowered):
        start, end = match.span()
        if start and text[start - 1] in _NOT_BEFORE:
            continue
        pieces.append(text[position:start])
        pieces.append(edit(text, start, end))
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def _apply(
    rule: re.Pattern[str], text: str, edit: str | Callable[[re.Match[str]], str]
) -> str:
    return rule.sub(edit, text)


def prune_prose(text: str, *, level: int) -> str:
    """Remove filler phrases (level 3), low-information words (4) and more (5).

    Args:
        text: Space-normalised text, protected spans replaced by `PLACEHOLDER`.
        level: How far to go, from 3 to 5.

    Returns:
        The edited text, with every placeholder still in place.
    """
    text = _sub_lowered(_PHRASES, text, _phrase_removed)
    text = _sub_lowered(_REPLACE, text, _replaced)
    if level >= 4:
        text = _apply(_LOW, text, _HOLE)
        text = _apply(_LOW_CAPITAL, text, _capital_word_removed)
    if level >= 5:
        text = _apply(_EXTRA, text, _HOLE)
    if _CAPITAL in text:
        text = _CAPITALISE.sub(lambda m: m.group(1).upper(), text)
    if _HOLE in text:
        text = _DANGLING.sub("", text)
    text = _MARKS.sub("", text)
    return _INNER_SPACES.sub(" ", text)
