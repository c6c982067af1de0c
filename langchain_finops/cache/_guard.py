"""The near-miss guard: a semantic hit must agree on the words that decide it.

Embeddings place "capital of France" next to "capital of Germany", "400 mg"
next to "800 mg" and "are cats afraid of tigers" next to "are tigers afraid
of cats". Before a semantic hit is served, the two texts must agree on
numbers and units, negation, opposite pairs, names, quoted strings,
identifiers, and on which content words they use in which order; otherwise
the hit is refused and the call goes to the model.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

__all__ = ["Signature", "conflict", "signature"]


def _word_list(text: str) -> list[str]:
    return text.split()


def _words(text: str) -> frozenset[str]:
    return frozenset(_word_list(text))


_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
_NUMBER = re.compile(r"(?<![\w.])(\d+(?:[.,]\d{3})*(?:[.,]\d+)?)\s*([^\W\d_]+|%)?")
_QUOTED = re.compile(
    r"\"([^\"]+)\"|“([^”]+)”|`([^`]+)`|(?:(?<=\s)|^)'([^']+)'(?=[\s.,;:?!)]|$)"
)
# Code-like tokens: snake_case, dotted.names, calls(), a::b, a->b, x=1,
# --flags, /paths and camelCase with a lower-case head (not "iPhone").
_CODE_TOKEN = re.compile(
    r"[\w$@.-]*(?:[A-Za-z0-9]_\w|[a-z_]\w*\.[a-z_]\w+|\w\(\)|::|->|\w=\S|"
    r"(?<!\w)--?[a-z]\w+|(?<![\w/])\.{0,2}/\w+/?\w*|\b[a-z]{2,}[A-Z]\w*)[\w$@./:()=+-]*"
)
# Words that mix letters and digits: order numbers, plates, models
# ("order742", "AB12CDE", "gpt4"). Their digits decide the answer, but the
# number rule above only sees digits that stand alone.
_MIXED_TOKEN = re.compile(r"\b(?=[^\W_]*\d)(?=[^\W_]*[^\W\d_])[^\W_]+\b")
_MAX_QUOTED_WORDS = 6
_CAPITALISED = re.compile(r"\b[A-Z][\w'’-]*")
_SENTENCE_START = re.compile(r"(?:^|[.!?:]\s+|\n)\s*[\"'“(]*([A-Z][\w'’-]*)")
# "Is it real or not?" asks the same as "Is it real?".
_NEUTRAL_NEGATION = re.compile(r"\b(?:or not|why not|if not|or no)\b", re.IGNORECASE)

_NEGATIONS = _words(
    "not no never none nobody nothing neither nor nowhere without cannot cant "
    "dont doesnt didnt isnt arent wasnt werent wont wouldnt shouldnt couldnt "
    "hasnt havent hadnt mustnt neednt aint"
)
_NUMBER_WORDS = {
    word: str(value)
    for value, word in enumerate(
        _word_list(
            "zero _ two three four five six seven eight nine ten eleven twelve "
            "thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty"
        )
    )
    if word != "_"
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
}
# Pairs whose swap flips the answer while barely moving the embedding.
_OPPOSITES = tuple(
    tuple(pair.split("/"))
    for pair in _word_list(
        "on/off enable/disable enabled/disabled can/cannot can/cant "
        "increase/decrease before/after min/max minimum/maximum up/down "
        "true/false yes/no open/close start/stop buy/sell buyer/seller add/remove "
        "include/exclude allow/deny accept/reject import/export upload/download "
        "encrypt/decrypt lock/unlock show/hide left/right input/output high/low "
        "higher/lower more/less most/least best/worst better/worse "
        "positive/negative above/below win/lose male/female man/woman men/women "
        "boy/girl boys/girls husband/wife father/mother brother/sister "
        "son/daughter boyfriend/girlfriend first/last push/pull hot/cold "
        "fast/slow cheap/expensive old/new young/old big/small large/small "
        "long/short rich/poor love/hate good/bad legal/illegal "
        "possible/impossible safe/unsafe always/never all/none inside/outside "
        "send/receive give/receive given/received gave/received north/south "
        "east/west asc/desc ascending/descending sync/async "
        "synchronous/asynchronous client/server read/write get/set "
        "public/private internal/external employer/employee teacher/student "
        "parent/child past/future"
    )
)
# Sentence openers that are capitalised by position only.
_COMMON_OPENERS = _words(
    "a an the what which who whom whose why how when where is are was were do does "
    "did can could should would will shall may might must have has had i im i'm "
    "if in on at for to of from by with and or but so my your our their his her "
    "its this that these those there here it he she we you they please tell give "
    "show list explain describe write find make get let say name define compare "
    "any some all each every no not yes hi hello hey best good recommend suggest "
    "also whats what's hows how's whos who's is it's after before during as since "
    "other others most many much one two three"
)
# Function words: left out when comparing the content words of two texts.
_STOPWORDS = _words(
    "a an the of to in on at for by with from into about as and or but if so than "
    "then is are was were be been being am do does did doing have has had having "
    "i me my mine myself you your yours we us our they them their he him his she "
    "her it its this that these those there here what which who whom whose why "
    "how when where can could should would will shall may might must one ones "
    "some any all each every other another such very really just also too more "
    "most much many lot lots get got make made thing things way ways s t im "
    "whats hows whos ive id youre dont doesnt didnt isnt arent cant wont"
)
# Units named after a number or alone ("how many pounds in a stone").
_UNITS = _words(
    "% mg g kg lb lbs oz t ton tons ml l km m cm mm mi ft in inch inches mph kmh "
    "kb mb gb tb pb kbps mbps gbps ghz mhz hz w kw kwh mw v mah ms s sec secs "
    "second seconds min mins minute minutes h hr hrs hour hours day days week "
    "weeks month months year years yr yrs usd eur gbp inr jpy dollars euros "
    "rupees pounds cents percent k px pt em rem dpi fps c f"
)
_UNIT_WORDS = _words(
    "kg kilogram kilograms gram grams lb lbs pounds ounces mg ml litre litres liter "
    "liters gallon gallons km kilometre kilometres kilometer kilometers mile miles "
    "celsius fahrenheit kelvin dollars euros rupees yen gb mb tb mph kwh"
)


@dataclass(frozen=True, slots=True)
class Signature:
    """The answer-deciding features of one text."""

    words: frozenset[str]
    numbers: frozenset[str]
    negations: int
    names: frozenset[str]
    quoted: frozenset[str]
    identifiers: frozenset[str]
    content: tuple[str, ...]
    folded: str


def _strip_possessive(word: str) -> str:
    for suffix in ("'s", "’s", "'", "’"):
        if word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _plain(word: str) -> str:
    return word.replace("'", "").replace("’", "")


def _stem(word: str) -> str:
    # Enough to match "gift"/"gifts" and "works"/"work"; not a lemmatiser.
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _is_quantity(token: str) -> bool:
    """A number glued to its unit ("5mg", "10kg"): the number rule reads it."""
    match = re.fullmatch(r"\d+([^\W\d_]+)", token)
    return match is not None and match.group(1).casefold() in _UNITS


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
        _plain(_strip_possessive(token.casefold())) for token in tokens
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
    numbers.update(
        f"#{word}"
        for word in _WORD.findall(_NUMBER.sub(" ", text).casefold())
        if word in _UNIT_WORDS
    )

    # A count, not a flag: "is there no X" and "is there not no X" differ.
    negations = sum(
        _plain(word.casefold()) in _NEGATIONS
        for word in _WORD.findall(_NEUTRAL_NEGATION.sub(" ", text))
    )

    openers = {match.start(1) for match in _SENTENCE_START.finditer(text)}
    names = set()
    for match in _CAPITALISED.finditer(text):
        folded = _plain(_strip_possessive(match.group(0).casefold()))
        if match.start() in openers and folded in _COMMON_OPENERS:
            continue
        if folded in {"i", "im", "id", "ive"}:
            continue
        names.add(folded)

    quoted = set()
    for match in _QUOTED.finditer(text):
        content_text = next(group for group in match.groups() if group is not None)
        # A short quote names a key ("what does 'foo' mean"); a long one is
        # reported speech, which a paraphrase may well put in other words.
        if len(content_text.split()) <= _MAX_QUOTED_WORDS:
            quoted.add(" ".join(content_text.casefold().split()))

    identifiers = frozenset(
        match.group(0).casefold().rstrip(".") for match in _CODE_TOKEN.finditer(text)
    ) | frozenset(
        match.group(0).casefold()
        for match in _MIXED_TOKEN.finditer(text)
        if not _is_quantity(match.group(0))
    )
    content = tuple(
        _stem(_plain(_strip_possessive(token.casefold())))
        for token in tokens
        if _plain(token.casefold()) not in _STOPWORDS
    )
    return Signature(
        words=words,
        numbers=frozenset(numbers),
        negations=negations,
        names=frozenset(names),
        quoted=frozenset(quoted),
        identifiers=identifiers,
        content=content,
        folded=" ".join(text.casefold().split()),
    )


def _missing_names(a: Signature, b: Signature) -> bool:
    # A name on one side must appear, in any case, on the other: users type
    # "java" and "Java" for the same thing, but "France" and "Germany" differ.
    return any(
        not all(part in b.words for part in _WORD.findall(name)) for name in a.names
    )


def _opposite(a: frozenset[str], b: frozenset[str]) -> bool:
    for left, right in _OPPOSITES:
        if left in a and right in b and right not in a and left not in b:
            return True
        if right in a and left in b and left not in a and right not in b:
            return True
    return False


def _related(first: str, second: str) -> bool:
    # Word forms of one root ("bank"/"banking", "learn"/"learning").
    size = min(len(first), len(second))
    return size >= 4 and first[:4] == second[:4]


def _one_word_swapped(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Whether the texts differ by one content word replaced by an unrelated one."""
    changes = [
        op
        for op in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes()
        if op[0] != "equal"
    ]
    if len(changes) != 1:
        return False
    tag, a_start, a_end, b_start, b_end = changes[0]
    return (
        tag == "replace"
        and a_end - a_start == 1
        and b_end - b_start == 1
        and not _related(a[a_start], b[b_start])
    )


def conflict(a: Signature, b: Signature) -> str | None:
    """Why two texts with close embeddings may still need different answers.

    Args:
        a: The query's signature.
        b: The cached prompt's signature.

    Returns:
        A short reason (`numbers`, `negation`, `opposites`, `names`, `quoted`,
        `identifiers`, `word order`, `swapped word`), or None when the texts
        agree.
    """
    if a.numbers != b.numbers:
        return "numbers"
    if a.negations != b.negations:
        return "negation"
    if _opposite(a.words, b.words):
        return "opposites"
    if _missing_names(a, b) and _missing_names(b, a):
        return "names"
    if any(item not in b.folded for item in a.quoted) or any(
        item not in a.folded for item in b.quoted
    ):
        return "quoted"
    if any(item not in b.folded for item in a.identifiers) or any(
        item not in a.folded for item in b.identifiers
    ):
        return "identifiers"
    if a.content != b.content and sorted(a.content) == sorted(b.content):
        return "word order"
    if _one_word_swapped(a.content, b.content):
        return "swapped word"
    return None
