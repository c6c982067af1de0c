import json

import pytest

from langchain_finops.compression._text import compress_text, minify_json
from langchain_finops.compression._vocab import (
    EXTRA_WORDS,
    FILLER_PHRASES,
    LOW_INFORMATION_WORDS,
    NEGATIONS,
    REPLACEMENTS,
    phrase_words,
)


@pytest.mark.parametrize(
    ("text", "level", "expected"),
    [
        # Courtesy around a request: the request stays, with a capital.
        (
            "Hi there! Could you please summarize the report for me? Thank you so much!",
            3,
            "Summarize the report for me?",
        ),
        (
            "Hi there! Could you please summarize the report for me? Thank you so much!",
            4,
            "Summarize report for me?",
        ),
        (
            "I would really appreciate it if you could check the logs. "
            "It is very important.",
            4,
            "Check logs. It is important.",
        ),
        ("Um , so we basically need the data.", 4, "So we need data."),
        (
            "In order to fix the bug, we need it prior to Monday.",
            3,
            "To fix the bug, we need it before Monday.",
        ),
        (
            "The meeting is at 10:30 and the budget is $5,000 or 20% of 3.5 GB.",
            5,
            "Meeting at 10:30 and budget $5,000 or 20% of 3.5 GB.",
        ),
        # Negations survive every level.
        (
            "Please do not delete the file. We never ship without tests.",
            5,
            "Do not delete file. We never ship without tests.",
        ),
        # Capitalised words mid-sentence are names, even when they spell a
        # function word.
        (
            "Ask Will to call May about the Acme deal. The results are very good.",
            4,
            "Ask Will to call May about Acme deal. Results are good.",
        ),
    ],
)
def test_levels_give_the_expected_prose(text: str, level: int, expected: str) -> None:
    assert compress_text(text, level=level) == expected


def test_level_one_only_normalises_whitespace_and_markup() -> None:
    text = "Check  this\u00a0now.   \n\n\n\nThe\u200b end.&nbsp;Yes<br>ok  "
    assert compress_text(text, level=1) == "Check this now.\n\nThe end. Yes\nok"


def test_level_one_keeps_leading_indentation() -> None:
    text = "Steps:\n  - open  the  door\n  - walk in"
    assert compress_text(text, level=1) == "Steps:\n  - open the door\n  - walk in"


def test_non_english_latin_prose_is_not_pruned() -> None:
    text = "Le chat a mangé la souris et le chien a dormi dans la maison."
    assert compress_text(text, level=5) == text


def test_cjk_lines_pass_through_unchanged() -> None:
    text = "これは日本語の  文章です。 Please check the very long text.\n请  不要 删除"
    assert compress_text(text, level=5) == text


def test_thai_line_passes_through_unchanged() -> None:
    text = "กรุณา  ตรวจสอบ the very important order"
    assert compress_text(text, level=5) == text


def test_json_is_minified_with_strings_and_numbers_as_written() -> None:
    text = 'Data:\n{\n  "name": "the  very  long",\n  "n": 1.50e3,\n  "u": "\\u00e9"\n}'
    result = compress_text(text, level=4)
    assert result == 'Data:\n{"name":"the  very  long","n":1.50e3,"u":"\\u00e9"}'
    assert json.loads(result.split("\n", 1)[1]) == {
        "name": "the  very  long",
        "n": 1500.0,
        "u": "é",
    }


def test_minify_json_keeps_escaped_quotes() -> None:
    assert minify_json('[ "a \\" b" ,  2 ]') == '["a \\" b",2]'


def test_repeated_lines_and_paragraphs_are_dropped_once_seen() -> None:
    paragraph = "The customer reported that the parcel arrived damaged."
    text = (
        f"{paragraph}\nShe wants a refund for the broken item.\n\n"
        f"{paragraph}\nShe wants a refund for the broken item.\n\n"
        f"Short line\nShort line\n\n{paragraph}"
    )
    assert (
        compress_text(text, level=2)
        == (
            f"{paragraph}\nShe wants a refund for the broken item.\n\n"
            "Short line\nShort line\n\n"
        ).rstrip()
    )


def test_repeated_data_rows_are_kept() -> None:
    text = "2024-01-01, 5, ok, shipped, paid\n2024-01-01, 5, ok, shipped, paid"
    assert compress_text(text, level=2) == text


def test_keep_markers_are_dropped_and_their_text_kept() -> None:
    text = "Use <keep>the   very exact wording</keep> in the reply."
    assert compress_text(text, level=4) == "Use the   very exact wording in reply."


def test_unclosed_keep_marker_protects_to_the_end() -> None:
    text = "Say <keep>the very  same thing"
    assert compress_text(text, level=4) == "Say the very  same thing"


def test_unfenced_code_is_left_alone() -> None:
    code = (
        "def total(items):\n"
        "    # the  sum of the prices\n"
        "    return sum(item.price for item in items)\n"
        "\n"
        "\n"
        "class Cart:\n"
        "    pass"
    )
    text = f"Please review the very short function below.\n\n{code}"
    assert compress_text(text, level=5) == f"Review short function below.\n\n{code}"


def test_fenced_code_is_left_alone() -> None:
    fence = "```python\nx  =  the_value  # a very  odd comment\n```"
    text = f"Could you please explain the code?\n{fence}\nThanks!"
    assert compress_text(text, level=5) == f"Explain code?\n{fence}"


def test_no_word_list_holds_a_negation() -> None:
    words = set(LOW_INFORMATION_WORDS) | set(EXTRA_WORDS)
    for pattern in FILLER_PHRASES:
        words |= phrase_words(pattern)
    for long, short in REPLACEMENTS:
        words |= set(long.split()) | set(short.split())
    assert not words & NEGATIONS
    assert not any(word.endswith(("n't", "n’t")) for word in words)


def test_empty_and_blank_text() -> None:
    assert compress_text("", level=5) == ""
    assert compress_text("   \n  ", level=1) == ""
