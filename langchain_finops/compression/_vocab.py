"""The word lists the heuristic compressor works from, written for this package.

Every list here names only words and phrases whose removal keeps a sentence's
meaning: none holds a negation, a modal verb, a quantifier or a preposition
that carries a relation. The tests check that property of each list.
"""

from __future__ import annotations

import re

__all__ = [
    "ENGLISH_MARKERS",
    "EXTRA_WORDS",
    "FILLER_PHRASES",
    "FUNCTION_WORDS",
    "LOW_INFORMATION_WORDS",
    "NEGATIONS",
    "REPLACEMENTS",
    "START_ONLY",
]

# Words that flip or cancel a statement. They are protected wherever they
# appear, and no phrase the compressor removes may contain one.
NEGATIONS: frozenset[str] = frozenset(
    {
        "not",
        "no",
        "nor",
        "never",
        "none",
        "nobody",
        "nothing",
        "nowhere",
        "neither",
        "without",
        "cannot",
        "unless",
        "except",
        "hardly",
        "barely",
        "scarcely",
    }
)

# Level "filler": courtesy and filler phrases, as regular expressions matched
# in lowercase (a leading capital is allowed at the start of a sentence only).
# Each absorbs the punctuation and space that would be left dangling.
FILLER_PHRASES: tuple[str, ...] = (
    # Greetings and sign-offs.
    r"(?:hi|hello|hey|greetings)(?: there)?(?: assistant| chatgpt| ai)?[,!.]*",
    r"good (?:morning|afternoon|evening)[,!.]*",
    r"i hope (?:this|my) (?:message|email|note|request) finds you well[.!,]*",
    r"i hope you(?: are|'re) (?:doing )?(?:well|great|fine)(?: today)?[.!,]*",
    r"i hope you(?: are|'re) having an? (?:good|great|nice|lovely) day[.!,]*",
    r"thank you(?: so| very)?(?: much)?(?: in advance)?(?: for (?:your|the) "
    r"(?:help|time|assistance|patience))?[.!,]*",
    r"thanks(?: so much| a lot| a bunch)?(?: in advance)?(?: for (?:your|the) "
    r"(?:help|time|assistance))?[.!,]*",
    r"many thanks[.!,]*",
    r"(?:any|your) help (?:would be|is|will be)(?: greatly| much| really)? "
    r"appreciated[.!,]*",
    r"(?:best|kind|warm) regards[,.!]*",
    r"best wishes[,.!]*",
    # Request padding: the verb after it stays.
    r"i(?: would|'d)(?: really| very much| greatly)? appreciate it if you "
    r"(?:could|would|can)(?: please)?(?: kindly)?",
    r"i(?: would| really| truly)* appreciate (?:it|your help|the help)[.!,]*",
    r"i(?: would|'d)(?: really| very much)? (?:like|love)(?: for)? you to(?: please)?",
    r"i(?: would|'d)(?: really)? (?:like|love) to ask you to(?: please)?",
    r"i was (?:wondering|hoping) (?:if|whether) you (?:could|would|can|might)"
    r"(?: please)?",
    r"(?:could|would|can|will) you(?: please| kindly| possibly)*"
    r"(?: be so kind as to| help me| go ahead and)?(?= [a-z])",
    r"i (?:want|need) you to(?: please)?",
    r"go ahead and",
    r"if you (?:could|would|can)(?=[,.!?]|$)",
    r"feel free to",
    # Discourse fillers and hedges that carry no content.
    r"(?:basically|essentially|actually|literally|honestly|frankly),",
    r"as(?: you)?(?: may| might| probably)? know,",
    r"needless to say,",
    r"it(?: is|'s) (?:important|worth|crucial) (?:to note|noting|mentioning|"
    r"to mention) that",
    r"it should be noted that",
    r"please note that",
    r"as a matter of fact,?",
    r"at the end of the day,?",
    r"for what it(?:'s| is) worth,?",
    r"to be (?:honest|frank),?",
    r"you know,",
    r"i mean,",
    r"(?:um+|uh+|uhm+|erm+|hmm+)(?:[ \t]*,)?",
    # Last, so that the longer phrases starting with it match first.
    r"(?:please|kindly),?",
)

# Wordy phrases and the shorter wording that means the same.
REPLACEMENTS: tuple[tuple[str, str], ...] = (
    ("in order to", "to"),
    ("due to the fact that", "because"),
    ("owing to the fact that", "because"),
    ("in spite of the fact that", "although"),
    ("despite the fact that", "although"),
    ("at this point in time", "now"),
    ("at the present time", "now"),
    ("at this moment in time", "now"),
    ("for the purpose of", "for"),
    ("in the event that", "if"),
    ("with regard to", "about"),
    ("with respect to", "about"),
    ("in relation to", "about"),
    ("a large number of", "many"),
    ("a great number of", "many"),
    ("the majority of", "most"),
    ("is able to", "can"),
    ("are able to", "can"),
    ("prior to", "before"),
    ("subsequent to", "after"),
    ("in the near future", "soon"),
    ("each and every", "every"),
    ("first and foremost", "first"),
    ("in close proximity to", "near"),
    ("on a daily basis", "daily"),
    ("on a regular basis", "regularly"),
    ("as well as", "and"),
)

# Level "prune": words that add little to English prose. Removed only as
# whole lowercase words between spaces (an identifier such as `a_b`, a
# capitalised name or a unit such as "5 in" is never a match).
LOW_INFORMATION_WORDS: frozenset[str] = frozenset(
    {
        "the",
        "a",
        "an",
        "really",
        "very",
        "quite",
        "basically",
        "actually",
        "literally",
        "totally",
        "simply",
        "somewhat",
        "truly",
        "extremely",
        "definitely",
        "certainly",
        "honestly",
        "essentially",
    }
)

# Level "prune_more": removed only when a target ratio or budget asks for it.
EXTRA_WORDS: frozenset[str] = frozenset(
    {"that", "which", "is", "are", "was", "were", "be", "been", "being", "am", "also"}
)

# Phrases starting with these words are filler only at the start of a
# sentence ("Could you check" against "what could you check").
START_ONLY: frozenset[str] = frozenset(
    {"could", "would", "can", "will", "hi", "hello", "hey", "greetings", "good", "feel"}
)

# Words that, capitalised at the start of a sentence, are not names.
FUNCTION_WORDS: frozenset[str] = frozenset(
    LOW_INFORMATION_WORDS
    | EXTRA_WORDS
    | {
        "i",
        "hi",
        "hello",
        "hey",
        "greetings",
        "good",
        "thank",
        "thanks",
        "many",
        "any",
        "your",
        "best",
        "kind",
        "warm",
        "could",
        "would",
        "can",
        "will",
        "please",
        "kindly",
        "if",
        "feel",
        "as",
        "needless",
        "it",
        "at",
        "for",
        "to",
        "you",
        "in",
        "due",
        "owing",
        "despite",
        "with",
        "on",
        "prior",
        "subsequent",
        "each",
        "first",
        "frankly",
        "um",
        "uh",
        "uhm",
        "erm",
        "hmm",
        "umm",
        "uhh",
    }
)

# Frequent English words; their share of a text's words says whether it is
# English prose that the lists above apply to.
ENGLISH_MARKERS: frozenset[str] = frozenset(
    {
        "the",
        "and",
        "of",
        "to",
        "is",
        "that",
        "with",
        "for",
        "this",
        "are",
        "was",
        "you",
        "it",
        "be",
        "have",
        "we",
        "they",
        "what",
        "can",
        "please",
        "would",
        "could",
        "my",
        "our",
        "your",
        "but",
        "if",
    }
)

_WORD = re.compile(r"[a-z']+")


def phrase_words(pattern: str) -> set[str]:
    """The literal lowercase words a phrase pattern can match (for the tests)."""
    return set(_WORD.findall(re.sub(r"\\[a-z]", " ", pattern)))
