from __future__ import annotations

import pytest

from langchain_finops.cache._guard import conflict, signature


@pytest.mark.parametrize(
    ("first", "second", "reason"),
    [
        ("Is 400 mg of ibuprofen safe?", "Is 800 mg of ibuprofen safe?", "numbers"),
        ("Convert 5 km to miles", "Convert 5 kg to pounds", "numbers"),
        (
            "What happened in two thousand?",
            "What happened in three thousand?",
            "numbers",
        ),
        ("Is it safe to eat raw eggs?", "Is it not safe to eat raw eggs?", "negation"),
        ("Why can't I sleep at night?", "Why can I sleep at night?", "negation"),
        ("How do I enable dark mode?", "How do I disable dark mode?", "opposites"),
        ("Turn the lights on", "Turn the lights off", "opposites"),
        ("What is the capital of France?", "What is the capital of Germany?", "names"),
        ("Who founded Apple?", "Who founded Microsoft?", "names"),
        ("Are cats afraid of tigers?", "Are tigers afraid of cats?", "word order"),
        ("How do I bake bread?", "How do I bake cake?", "swapped word"),
        ("What gift have you given?", "What gift have you received?", "opposites"),
        ('What does "hello" mean?', 'What does "goodbye" mean?', "quoted"),
        ("How do I use os.path.join?", "How do I use os.path.split?", "identifiers"),
        ("What does getUserName return?", "What does getUserId return?", "identifiers"),
    ],
)
def test_deciding_differences_are_refused(first: str, second: str, reason: str) -> None:
    assert conflict(signature(first), signature(second)) == reason
    assert conflict(signature(second), signature(first)) == reason


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("What is the capital of France?", "Which city is France's capital?"),
        ("what is the best way to learn java", "What is the best way to learn Java?"),
        ("How can I lose weight fast?", "What is the quickest way to lose weight?"),
        ("Is 5 mg a lot?", "is 5mg a lot"),
        ("Explain `os.path.join`", "explain os.path.join please"),
        ("Are tachyons real?", "Are tachyons real or not?"),
        ("What are the features of mongodb?", "What is the features of MongoDB?"),
        ("How can one make a career in sports?", "How can I make a career in sports?"),
        (
            "How many times are bank exams held?",
            "How many times are banking exams held?",
        ),
    ],
)
def test_paraphrases_pass(first: str, second: str) -> None:
    assert conflict(signature(first), signature(second)) is None


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("order742 status?", "order585 status"),
        ("what is an mp3", "what is an mp4"),
        ("is flight ba117 late", "is flight ba171 late"),
    ],
)
def test_ids_that_mix_letters_and_digits_must_match(first: str, second: str) -> None:
    assert conflict(signature(first), signature(second)) == "identifiers"


def test_a_number_glued_to_its_unit_is_still_a_quantity() -> None:
    assert conflict(signature("is 5mg a lot"), signature("Is 5 mg a lot?")) is None
