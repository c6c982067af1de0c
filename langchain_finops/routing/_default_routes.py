"""The example routes `IntentClassifier` ships with.

The utterances were written for this package (none is taken from a data set):
short chat openers and one-line facts go to the cheap tier; multi-step
reasoning and legal analysis go to the strong one.
"""

from __future__ import annotations

GREETING = (
    "hi",
    "hello there",
    "hey, how are you?",
    "good morning!",
    "thanks a lot",
    "thank you, that helps",
    "bye for now",
    "nice to meet you",
    "what's up?",
    "see you tomorrow",
)

SIMPLE_FACT = (
    "what is the capital of France?",
    "how many days are in a leap year?",
    "who wrote Pride and Prejudice?",
    "what time zone is Tokyo in?",
    "how tall is Mount Everest?",
    "what does HTML stand for?",
    "when did World War II end?",
    "what is the boiling point of water in Fahrenheit?",
    "convert 10 miles to kilometres",
    "what's the plural of cactus?",
)

COMPLEX_REASONING = (
    "prove that the square root of two is irrational",
    "design a distributed rate limiter and explain its failure modes",
    "compare three strategies for this scheduling problem and justify the best",
    "work out step by step how long the two trains take to meet",
    "find the bug in this concurrent code and explain the race condition",
    "derive the gradient of the softmax cross-entropy loss",
    "plan a migration of our monolith to services with a rollback strategy",
    "analyse the trade-offs between these two database schemas",
    "solve this optimisation problem and show the reasoning",
    "critique the argument in this essay and identify its hidden assumptions",
)

LEGAL_ANALYSIS = (
    "does this non-compete clause hold up under California law?",
    "analyse the liability risks in this software licence agreement",
    "what are the grounds to appeal this court decision?",
    "review this lease and flag clauses unfavourable to the tenant",
    "is this use of copyrighted material covered by fair use?",
    "explain how GDPR applies to our data processing in this contract",
    "draft arguments for the defence in this breach of contract case",
    "compare the indemnification terms of these two agreements",
    "what legal remedies does the buyer have for this defective product?",
    "assess whether this termination could be considered wrongful dismissal",
)
