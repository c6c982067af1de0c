import itertools
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from langchain_finops.compression._extract import extract
from langchain_finops.compression._spans import split_spans
from langchain_finops.compression._text import compress_text

PROSE_WORDS = [
    "the", "a", "an", "very", "really", "please", "could", "you", "thanks", "is",
    "are", "that", "which", "of", "in", "order", "to", "basically", "just", "um",
    "and", "we", "check", "report", "kindly", "hello", "would", "like", "also",
    "i", "it", "important", "note", "so", "much", "for", "help",
]  # fmt: skip
SEPARATORS = [" ", "  ", "\n", "\n\n", " \t ", ". ", "? ", ", ", "! "]

protected_pieces = st.one_of(
    st.builds(
        lambda n, u: f"{n} {u}",
        st.integers(0, 99999),
        st.sampled_from(["kg", "ms", "GB", "%", "USD", "km/h", "tokens"]),
    ),
    st.builds(lambda n: f"{n}%", st.integers(0, 100)),
    st.builds(
        lambda p, n: f"{p}-{n}",
        st.sampled_from(["ORD", "AB", "INV"]),
        st.integers(0, 10**6),
    ),
    st.sampled_from(
        [
            "user_id",
            "getUserName",
            "v2.1.3",
            "snake_case_name",
            "550e8400-e29b-41d4-a716-446655440000",
            "B-AB 1234",
        ]
    ),
    st.sampled_from(
        [
            "https://example.com/a?b=the&c=1",
            "www.example.org/x",
            "ops@example.com",
            "/etc/the/very/file.conf",
        ]
    ),
    st.builds(
        lambda w: f'"{w}"',
        st.sampled_from(["the very best", "please do it", "a  b", "thanks a lot"]),
    ),
    st.builds(
        lambda w: f"`{w}`", st.sampled_from(["the_fn()", "a  very  odd", "x = the + a"])
    ),
    st.sampled_from(
        [
            "not",
            "never",
            "no",
            "without",
            "cannot",
            "don't",
            "isn't",
            "nothing",
            "Never",
        ]
    ),
    st.sampled_from(["Alice", "Acme", "Berlin", "Zoe", "McDonald", "NASA"]),
)
keep_pieces = st.sampled_from(
    ["the very  exact words", "please  keep this", "um, the thing"]
)
fence_pieces = st.sampled_from(
    ["```\nthe  a   very\n```", '```json\n{"a":  1}\n```', "~~~\nplease  do\n~~~"]
)


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, list[str]]:
    parts: list[str] = []
    expected: list[str] = []
    for _ in range(draw(st.integers(1, 12))):
        parts.append(" ".join(draw(st.lists(st.sampled_from(PROSE_WORDS), max_size=6))))
        parts.append(draw(st.sampled_from(SEPARATORS)))
        kind = draw(st.integers(0, 5))
        if kind == 0:
            inner = draw(keep_pieces)
            parts.append(f"<keep>{inner}</keep>")
            expected.append(inner)
        elif kind == 1:
            fence = draw(fence_pieces)
            parts.append(f"\n{fence}\n")
            expected.append(fence)
        else:
            piece = draw(protected_pieces)
            parts.append(piece)
            expected.append(piece)
        parts.append(draw(st.sampled_from(SEPARATORS)))
    return "".join(parts), expected


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents(), st.integers(1, 5))
def test_every_protected_span_survives_byte_for_byte(
    document: tuple[str, list[str]], level: int
) -> None:
    text, expected = document
    result = compress_text(text, level=level)
    for piece in expected:
        assert piece in result, (piece, text, result)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_spans_cover_the_text_in_order(document: tuple[str, list[str]]) -> None:
    text, _ = document
    spans = split_spans(text)
    assert "".join(text[s.start : s.end] for s in spans) == text
    assert all(a.end == b.start for a, b in itertools.pairwise(spans))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents(), st.integers(0, 200))
def test_extraction_keeps_hard_spans_and_whole_soft_ones(
    document: tuple[str, list[str]], budget: int
) -> None:
    text, expected = document
    result = extract(text, query="check the report", budget=budget, model="gpt-4o-mini")
    for piece in expected:
        if "```" in piece or "~~~" in piece:
            assert piece in result
    kept_keeps = re.findall(r"<keep>(.*?)</keep>", text, re.S)
    for inner in kept_keeps:
        assert f"<keep>{inner}</keep>" in result
    # Extraction only ever deletes: what is kept is a subsequence of the text.
    remaining = iter(text)
    assert all(character in remaining for character in result)


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("Ship ORD-12345 now", {"ORD-12345": "identifier"}),
        ("Weighs 5  kg today", {"5  kg": "number"}),
        ("Costs $1,200.50 and 20%", {"$1,200.50": "number", "20%": "number"}),
        ("See https://a.b/c?d=1.", {"https://a.b/c?d=1": "url"}),
        ('He said "the  end" then', {'"the  end"': "quote"}),
        ("Call `the_fn()` first", {"`the_fn()`": "inline_code"}),
        ("We do not stop", {"not": "negation"}),
        ("It isn't done", {"isn't": "negation"}),
        ("Ask Alice today", {"Alice": "name"}),
        ("Plate B-AB 1234.", {"B-AB": "identifier", "1234": "number"}),
        (
            "Use snake_case and camelCase",
            {"snake_case": "identifier", "camelCase": "identifier"},
        ),
    ],
)
def test_span_kinds(text: str, kinds: dict[str, str]) -> None:
    spans = {text[s.start : s.end]: s.kind for s in split_spans(text)}
    for piece, kind in kinds.items():
        assert spans.get(piece) == kind, spans


def test_sentence_initial_function_word_is_free_but_a_name_is_not() -> None:
    text = "The plan works. Alice agrees."
    kinds = {text[s.start : s.end]: s.kind for s in split_spans(text)}
    assert "The" not in kinds
    assert kinds["Alice"] == "name"


def test_user_pattern_protects_its_matches() -> None:
    text = "Ticket the very urgent one: REF the a an"
    pattern = re.compile(r"REF the a an")
    assert compress_text(text, level=5, patterns=[pattern]) == (
        "Ticket urgent one: REF the a an"
    )
