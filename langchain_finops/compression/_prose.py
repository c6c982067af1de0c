"""Edits applied to free prose: whitespace, filler phrases, low-information words.

Each function takes one free gap of the text (the prose between two protected
spans) and returns its edited form. Sentinel characters stand for the
neighbouring protected text, so that a rule never sees a word boundary that is
not there: `_GLUED` marks a non-space neighbour, `_CAPITAL` a removal at the
start of a sentence (the next word gets a capital), `_HOLE` a removal in the
middle of one (a comma left dangling before it goes).
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

__all__ = ["SENTINELS", "normalize_space", "prune_gap"]

_GLUED = "\ue000"
_CAPITAL = "\ue001"
_HOLE = "\ue002"
SENTINELS = frozenset({_GLUED, _CAPITAL, _HOLE})

_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
_BREAK_TAG = re.compile(r"<br\s*/?>", re.I)
_INNER_SPACES = re.compile(r"(?<=\S)[ \t]{2,}")
_OPENING_SPACES = re.compile(r"^[ \t]{2,}")
_TRAILING_SPACES = re.compile(r"[ \t]+(?=\n)")
_BLANK_LINES = re.compile(r"\n{3,}")

_OPEN = r"(?<![\w'’" + _GLUED + r"])"
_CLOSE = r"(?![\w'’" + _GLUED + r"])"
_PHRASES = re.compile(
    _OPEN + r"(?:" + "|".join(FILLER_PHRASES) + r")" + _CLOSE + r"[ \t]*", re.I
)
_REPLACEMENT_MAP = dict(REPLACEMENTS)
_REPLACE = re.compile(
    _OPEN + r"(?:" + "|".join(re.escape(k) for k, _ in REPLACEMENTS) + r")" + _CLOSE,
    re.I,
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
_SENTINEL = re.compile("[" + _GLUED + _CAPITAL + _HOLE + "]")
_I_WORD = re.compile(r"\bI\b")


def normalize_space(gap: str, *, glued_before: bool = False) -> str:
    """Collapse runs of spaces, strip line ends, keep at most one blank line.

    Leading indentation is kept: in Markdown and in code it carries meaning.

    Args:
        gap: Free prose.
        glued_before: The text before the gap ends in a non-space, so a run of
            spaces opening the gap is inside a line, not an indentation.

    Returns:
        The normalised prose.
    """
    if "\u00a0" in gap or "&nbsp;" in gap:
        gap = gap.replace("\u00a0", " ").replace("&nbsp;", " ")
    gap = _ZERO_WIDTH.sub("", gap)
    if "<" in gap:
        gap = _BREAK_TAG.sub("\n", gap)
    gap = _INNER_SPACES.sub(" ", gap)
    if glued_before:
        gap = _OPENING_SPACES.sub(" ", gap)
    gap = _TRAILING_SPACES.sub("", gap)
    return _BLANK_LINES.sub("\n\n", gap)


def _at_sentence_start(text: str, position: int) -> bool:
    before = text[:position].rstrip(" \t")
    if not before:
        return True
    last = before[-1]
    if last in ".!?:;\n" + _CAPITAL:
        return True
    return bool(_LIST_MARK.search(before))


def _phrase_removed(match: re.Match[str]) -> str:
    found = match.group(0)
    text = match.string
    rest = _I_WORD.sub("i", found[1:])
    if any(character.isupper() for character in rest):
        # Capitals inside the phrase: emphasis or a name, not filler.
        return found
    at_start = _at_sentence_start(text, match.start())
    first = found.split(None, 1)[0].lower().rstrip(",.!")
    if first in START_ONLY and not at_start:
        return found
    if found[0].isupper() and not (at_start or found.startswith(("I ", "I'", "I’"))):
        return found
    return _CAPITAL if at_start else _HOLE


def _replaced(match: re.Match[str]) -> str:
    found = match.group(0)
    shorter = _REPLACEMENT_MAP[found.lower()]
    if found.islower():
        return shorter
    if (
        found[0].isupper()
        and found[1:].islower()
        and _at_sentence_start(match.string, match.start())
    ):
        return shorter.capitalize()
    return found


def _capital_word_removed(match: re.Match[str]) -> str:
    if _at_sentence_start(match.string, match.start()):
        return _CAPITAL
    return match.group(0)


def _apply(
    rule: re.Pattern[str], text: str, edit: str | Callable[[re.Match[str]], str]
) -> str:
    return rule.sub(edit, text)


def prune_gap(gap: str, *, glued_before: bool, glued_after: bool, level: int) -> str:
    """Remove filler phrases (level 3), low-information words (4) and more (5).

    Args:
        gap: Free prose, already space-normalised.
        glued_before: The protected text before the gap ends in a non-space.
        glued_after: The protected text after the gap starts with a non-space.
        level: How far to go, from 3 to 5.

    Returns:
        The edited prose.
    """
    if any(character in SENTINELS for character in gap):
        return gap
    text = (_GLUED if glued_before else "") + gap + (_GLUED if glued_after else "")
    text = _apply(_PHRASES, text, _phrase_removed)
    text = _apply(_REPLACE, text, _replaced)
    if level >= 4:
        text = _apply(_LOW, text, _HOLE)
        text = _apply(_LOW_CAPITAL, text, _capital_word_removed)
    if level >= 5:
        text = _apply(_EXTRA, text, _HOLE)
    if _CAPITAL in text:
        text = _CAPITALISE.sub(lambda m: m.group(1).upper(), text)
    if _HOLE in text:
        text = _DANGLING.sub("", text)
    text = _SENTINEL.sub("", text)
    return _INNER_SPACES.sub(" ", text)
