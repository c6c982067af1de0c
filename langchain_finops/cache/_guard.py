"""The near-miss guard: a semantic hit must agree on the words that decide it.

Embeddings place "capital of France" next to "capital of Germany" and
"400 mg" next to "800 mg". Before a semantic hit is served, the two texts must
agree on numbers and units, negation, opposite pairs, names, quoted strings
and identifiers; otherwise the hit is rejected and the call goes to the model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Signature", "conflict", "signature"]

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
_NUMBER = re.compile(r"(?<![\w.])(\d+(?:[.,]\d{3})*(?:[.,]\d+)?)\s*([^\W\d_]+|%)?")
_QUOTED = re.compile(
    r"\"([^\"]+)\"|“([^”]+)”|`([^`]+)`|(?:(?<=\s)|^)'([^']+)'(?=[\s.,;:?!)]|$)"
)
_CODE_TOKEN = re.compile(
    r"[\w$@-]*(?:[a-z][A-Z]|[A-Za-z]_\w|\w\.\w|::|->|\(\)|/\w|\w=|--\w)[\w$@./:()=-]*"
)
_CAPITALISED = re.compile(r"\b[A-Z][\w'’-]*")
_SENTENCE_START = re.compile(r"(?:^|[.!?]\s+|\n)\s*[\"'“(]*([A-Z][\w'’-]*)")

_NEGATIONS = frozenset(
    ["not", "no", "never", "none", "nobody", "nothing", "neither", "nor", "nowhere", "without", "cannot", "cant", "dont", "doesnt", "didnt", "isnt", "arent", "wasnt", "werent", "wont", "wouldnt", "shouldnt", "couldnt", "hasnt", "havent", "hadnt", "mustnt", "neednt", "aint"]
)
_NUMBER_WORDS = {
    word: str(value)
    for value, word in enumerate(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"]
    )
} | {
    "thirty": "30",
    "forty": "40",
    "fifty": "50",
    "hundred": "100",
    "thousand": "1000",
    "million": "1000000",
    "billion": "1000000000",
    "dozen": "12",
    "half": "0.5",
    "first": "1st",
    "second": "2nd",
    "third": "3rd",
    "fourth": "4th",
    "fifth": "5th",
}
# Pairs whose swap flips the answer while barely moving the embedding.
_OPPOSITES = (
    ("on", "off"),
    ("enable", "disable"),
    ("enabled", "disabled"),
    ("can", "cannot"),
    ("can", "cant"),
    ("increase", "decrease"),
    ("before", "after"),
    ("min", "max"),
    ("minimum", "maximum"),
    ("up", "down"),
    ("true", "false"),
    ("yes", "no"),
    ("open", "close"),
    ("start", "stop"),
    ("buy", "sell"),
    ("add", "remove"),
    ("include", "exclude"),
    ("allow", "deny"),
    ("accept", "reject"),
    ("import", "export"),
    ("upload", "download"),
    ("encrypt", "decrypt"),
    ("lock", "unlock"),
    ("show", "hide"),
    ("left", "right"),
    ("input", "output"),
    ("high", "low"),
    ("higher", "lower"),
    ("more", "less"),
    ("most", "least"),
    ("best", "worst"),
    ("better", "worse"),
    ("positive", "negative"),
    ("above", "below"),
    ("win", "lose"),
    ("male", "female"),
    ("men", "women"),
    ("first", "last"),
    ("push", "pull"),
    ("hot", "cold"),
    ("fast", "slow"),
    ("cheap", "expensive"),
    ("old", "new"),
    ("young", "old"),
    ("big", "small"),
    ("large", "small"),
    ("long", "short"),
    ("rich", "poor"),
    ("love", "hate"),
    ("good", "bad"),
    ("legal", "illegal"),
    ("possible", "impossible"),
    ("safe", "unsafe"),
    ("always", "never"),
    ("all", "none"),
    ("inside", "outside"),
    ("import", "export"),
    ("send", "receive"),
    ("north", "south"),
    ("east", "west"),
    ("asc", "desc"),
    ("ascending", "descending"),
    ("sync", "async"),
    ("synchronous", "asynchronous"),
    ("client", "server"),
    ("read", "write"),
    ("get", "set"),
    ("public", "private"),
    ("internal", "external"),
    ("前", "后"),
)
# Sentence openers that are capitalised by position only.
_COMMON_OPENERS = frozenset(
    ["a", "an", "the", "what", "which", "who", "whom", "whose", "why", "how", "when", "where", "is", "are", "was", "were", "do", "does", "did", "can", "could", "should", "would", "will", "shall", "may", "might", "must", "have", "has", "had", "i", "im", "i'm", "if", "in", "on", "at", "for", "to", "of", "from", "by", "with", "and", "or", "but", "so", "my", "your", "our", "their", "his", "her", "its", "this", "that", "these", "those", "there", "here", "it", "he", "she", "we", "you", "they", "please", "tell", "give", "show", "list", "explain", "describe", "write", "find", "make", "get", "let", "say", "name", "define", "compare", "any", "some", "all", "each", "every", "no", "not", "yes", "hi", "hello", "hey", "best", "good"]
)


@dataclass(frozen=True, slots=True)
class Signature:
    """The answer-deciding features of one text."""

    words: frozenset[str]
    numbers: frozenset[str]
    negated: bool
    names: frozenset[str]
    quoted: frozenset[str]
    identifiers: frozenset[str]
    folded: str


def _strip_possessive(word: str) -> str:
    for suffix in ("'s", "’s", "'", "’"):
        if word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _plain(word: str) -> str:
    return word.replace("'", "").replace("’", "")


def signature(text: str) -> Signature:
    """Extract the features the guard compares.

    Args:
        text: A normalised query text.

    Returns:
        Its signature.
    """
    tokens = [match.group(0) for match in _WORD.finditer(text)]
    folded_tokens = [_plain(token.casefold()) for token in tokens]
    words = frozenset(folded_tokens) | frozenset(
        _strip_possessive(token.casefold()) for token in tokens
    )

    numbers = set()
    for match in _NUMBER.finditer(text):
        value = match.group(1).replace(",", "")
        if "." in value:
            value = value.rstrip("0").rstrip(".")
        unit = (match.group(2) or "").casefold()
        numbers.add(f"{value}{unit}" if unit in _UNITS else value)
    numbers.update(
        _NUMBER_WORDS[word] for word in folded_tokens if word in _NUMBER_WORDS
    )
    # A unit named without a number: "how many pounds in a stone".
    numbers.update(
        f"#{word}"
        for word in _WORD.findall(_NUMBER.sub(" ", text).casefold())
        if word in _UNIT_WORDS
    )
    negated = any(word in _NEGATIONS for word in folded_tokens)

    openers = {match.start(1) for match in _SENTENCE_START.finditer(text)}
    names = set()
    for match in _CAPITALISED.finditer(text):
        word = match.group(0)
        folded = _strip_possessive(word.casefold())
        if match.start() in openers and folded in _COMMON_OPENERS:
            continue
        if folded in {"i", "i'm", "im"}:
            continue
        names.add(_plain(folded))

    quoted = set()
    for match in _QUOTED.finditer(text):
        content = next(group for group in match.groups() if group is not None)
        quoted.add(" ".join(content.casefold().split()))

    identifiers = frozenset(match.group(0) for match in _CODE_TOKEN.finditer(text))
    return Signature(
        words=words,
        numbers=frozenset(numbers),
        negated=negated,
        names=frozenset(names),
        quoted=frozenset(quoted),
        identifiers=identifiers,
        folded=" ".join(text.casefold().split()),
    )


_UNITS = frozenset(
    ["%", "mg", "g", "kg", "lb", "lbs", "oz", "t", "ton", "tons", "ml", "l", "km", "m", "cm", "mm", "mi", "ft", "in", "inch", "inches", "mph", "kmh", "kb", "mb", "gb", "tb", "pb", "kbps", "mbps", "gbps", "ghz", "mhz", "hz", "w", "kw", "kwh", "mw", "v", "mah", "ms", "s", "sec", "secs", "second", "seconds", "min", "mins", "minute", "minutes", "h", "hr", "hrs", "hour", "hours", "day", "days", "week", "weeks", "month", "months", "year", "years", "yr", "yrs", "usd", "eur", "gbp", "inr", "jpy", "dollars", "euros", "rupees", "pounds", "cents", "percent", "k", "px", "pt", "em", "rem", "dpi", "fps", "c", "f", "k"]
)
# Units named without a number ("how many pounds in a stone") decide too;
# only words that are units and nothing else, unlike "in" or "second".
_UNIT_WORDS = frozenset(
    ["kg", "kilogram", "kilograms", "gram", "grams", "lb", "lbs", "pounds", "ounces", "mg", "ml", "litre", "litres", "liter", "liters", "gallon", "gallons", "km", "kilometre", "kilometres", "kilometer", "kilometers", "mile", "miles", "celsius", "fahrenheit", "kelvin", "dollars", "euros", "rupees", "yen", "gb", "mb", "tb", "mph", "kwh"]
)


def _names_agree(a: Signature, b: Signature) -> bool:
    # A name on one side must appear, in any case, on the other: users type
    # "java" and "Java" for the same thing, but "France" and "Germany" differ.
    return all(
        all(part in b.words for part in _WORD.findall(name)) for name in a.names
    ) and all(all(part in a.words for part in _WORD.findall(name)) for name in b.names)


def _opposite(a: frozenset[str], b: frozenset[str]) -> tuple[str, str] | None:
    for left, right in _OPPOSITES:
        if left in a and right in b and right not in a and left not in b:
            return left, right
        if right in a and left in b and left not in a and right not in b:
            return right, left
    return None


def conflict(a: Signature, b: Signature) -> str | None:
    """Why two texts with close embeddings may still need different answers.

    Args:
        a: The query's signature.
        b: The cached prompt's signature.

    Returns:
        A short reason (`numbers`, `negation`, `opposites`, `names`, `quoted`,
        `identifiers`), or None when the texts agree.
    """
    if a.numbers != b.numbers:
        return "numbers"
    if a.negated != b.negated:
        return "negation"
    if _opposite(a.words, b.words) is not None:
        return "opposites"
    if not _names_agree(a, b):
        return "names"
    if any(item not in b.folded for item in a.quoted) or any(
        item not in a.folded for item in b.quoted
    ):
        return "quoted"
    if a.identifiers != b.identifiers:
        return "identifiers"
    return None
