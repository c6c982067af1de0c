"""Query-aware extraction: keep the chunks of a text most relevant to a question.

The text is cut into units (lines; long lines into sentences), never inside a
protected span. Consecutive units are packed into chunks of about
`chunk_tokens`. Chunks are scored with BM25 (`bm25s`) against the question,
each score spread over the neighbouring chunks with a decay (the passage that
answers a question usually runs over several chunks), and the best are kept within the
token budget, in their original order. Units holding hard-protected text are
always kept.

Long texts are scored one window of chunks at a time, and the running choice
is a heap bounded by the budget, so memory grows with the window and the
budget, not with the length of the text.
"""

from __future__ import annotations

import heapq
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from langchain_finops.compression._spans import HARD_KINDS, Span, split_spans
from langchain_finops.costs.tokens import count_tokens

__all__ = ["extract"]

_TERM = re.compile(r"[a-z0-9]+")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])[ \t]+(?=\S)")
# A short English stop list for ranking only (what the question and a chunk
# share in "the", "of" and "what" says nothing about relevance).
_RANK_STOPWORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "he",
        "her",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "she",
        "so",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "to",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "about",
        "also",
        "any",
        "all",
        "being",
    }
)
# How far a chunk's relevance spreads to its neighbours (see `_scores`).
REACH_TOKENS = 384
HALF_LIFE_TOKENS = 192
_SUFFIXES = ("ation", "ion", "ing", "ied", "ed", "ly")


@dataclass(frozen=True, slots=True)
class _Chunk:
    index: int
    start: int
    end: int
    tokens: int
    mandatory: bool


def _stem(word: str) -> str:
    """A light English stemmer: plural and common verb endings."""
    if len(word) <= 4:
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes", "zes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in _SUFFIXES:
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def terms(text: str) -> list[str]:
    """The ranking terms of `text`: lowercase, stop words out, suffixes cut."""
    return [
        _stem(word)
        for word in _TERM.findall(text.lower())
        if word not in _RANK_STOPWORDS and len(word) > 1
    ]


def _boundaries(text: str, spans: Sequence[Span], chunk_chars: int) -> list[int]:
    """Cut points between units, none inside a protected span."""
    protected = [(s.start, s.end) for s in spans if s.kind != "free"]
    cuts: list[int] = []
    position = 0
    while True:
        newline = text.find("\n", position)
        line_end = len(text) if newline < 0 else newline + 1
        if line_end - position > chunk_chars:
            for match in _SENTENCE_BREAK.finditer(text, position, line_end):
                cuts.append(match.end())
        if newline < 0:
            break
        cuts.append(line_end)
        position = line_end
    # Drop the cuts that fall strictly inside a protected span.
    kept: list[int] = []
    span_index = 0
    for cut in cuts:
        while span_index < len(protected) and protected[span_index][1] <= cut:
            span_index += 1
        if span_index < len(protected) and protected[span_index][0] < cut:
            continue
        kept.append(cut)
    return kept


def _chunks(
    text: str, spans: Sequence[Span], *, model: str, chunk_tokens: int
) -> Iterator[_Chunk]:
    hard = [(s.start, s.end) for s in spans if s.kind in HARD_KINDS]
    cuts = _boundaries(text, spans, chunk_chars=chunk_tokens * 4)
    starts = [0, *cuts]
    ends = [*cuts, len(text)]
    hard_index = 0
    index = 0
    chunk_start = 0
    chunk_tokens_so_far = 0
    for start, end in zip(starts, ends, strict=True):
        if start >= end:
            continue
        while hard_index < len(hard) and hard[hard_index][1] <= start:
            hard_index += 1
        mandatory = hard_index < len(hard) and hard[hard_index][0] < end
        tokens = int(count_tokens(text[start:end], model=model))
        if mandatory:
            if chunk_start < start:
                yield _Chunk(index, chunk_start, start, chunk_tokens_so_far, False)
                index += 1
            yield _Chunk(index, start, end, tokens, True)
            index += 1
            chunk_start, chunk_tokens_so_far = end, 0
            continue
        if chunk_tokens_so_far and chunk_tokens_so_far + tokens > chunk_tokens:
            yield _Chunk(index, chunk_start, start, chunk_tokens_so_far, False)
            index += 1
            chunk_start, chunk_tokens_so_far = start, 0
        chunk_tokens_so_far += tokens
    if chunk_start < len(text) and chunk_tokens_so_far:
        yield _Chunk(index, chunk_start, len(text), chunk_tokens_so_far, False)


def _windows(chunks: Iterator[_Chunk], size: int) -> Iterator[list[_Chunk]]:
    window: list[_Chunk] = []
    for chunk in chunks:
        window.append(chunk)
        if len(window) >= size:
            yield window
            window = []
    if window:
        yield window


def _scores(
    text: str, window: Sequence[_Chunk], query_terms: list[str], chunk_tokens: int
) -> list[float]:
    corpus = [terms(text[c.start : c.end]) for c in window]
    if not query_terms or not any(corpus):
        return [0.0] * len(window)
    import bm25s  # scipy-backed; loaded only when a query is given

    retriever = bm25s.BM25()
    retriever.index(corpus, show_progress=False)
    raw = [
        float(s) if math.isfinite(s) else 0.0 for s in retriever.get_scores(query_terms)
    ]
    # Spread each score over the neighbouring chunks, halving every
    # HALF_LIFE_TOKENS and reaching REACH_TOKENS: the passage that answers a
    # question usually runs over several chunks, and its middle may not repeat
    # the question's words.
    reach = max(1, math.ceil(REACH_TOKENS / chunk_tokens))
    decay = 0.5 ** (chunk_tokens / HALF_LIFE_TOKENS)
    weights = [decay**distance for distance in range(reach + 1)]
    smoothed = []
    for index in range(len(raw)):
        low, high = max(0, index - reach), min(len(raw), index + reach + 1)
        smoothed.append(sum(raw[j] * weights[abs(index - j)] for j in range(low, high)))
    return smoothed


def extract(
    text: str,
    *,
    query: str,
    budget: int,
    model: str,
    patterns: Sequence[re.Pattern[str]] = (),
    chunk_tokens: int = 64,
    window_chunks: int = 2048,
) -> str:
    """Keep the chunks of `text` most relevant to `query`, within `budget` tokens.

    Args:
        text: The context to cut down.
        query: The question the context must still answer.
        budget: Token budget for what is kept (hard-protected text counts
            against it and is kept even beyond it).
        model: The model whose tokenizer counts tokens.
        patterns: The user's protected patterns.
        chunk_tokens: About how many tokens a chunk holds.
        window_chunks: How many chunks are scored together.

    Returns:
        The kept chunks, in their original order.
    """
    spans = split_spans(text, patterns=patterns)
    query_terms = terms(query)
    mandatory: list[_Chunk] = []
    # Min-heap of (score, -index, chunk): the weakest, latest chunk goes first.
    heap: list[tuple[float, int, _Chunk]] = []
    used = 0
    chunks = _chunks(text, spans, model=model, chunk_tokens=chunk_tokens)
    for window in _windows(chunks, window_chunks):
        scores = _scores(text, window, query_terms, chunk_tokens)
        for chunk, score in zip(window, scores, strict=True):
            if chunk.mandatory:
                mandatory.append(chunk)
                used += chunk.tokens
                continue
            heapq.heappush(heap, (score, -chunk.index, chunk))
            used += chunk.tokens
            while heap and used > budget:
                _, _, dropped = heapq.heappop(heap)
                used -= dropped.tokens
    kept = sorted([*mandatory, *(item[2] for item in heap)], key=lambda c: c.index)
    return "".join(text[c.start : c.end] for c in kept)
