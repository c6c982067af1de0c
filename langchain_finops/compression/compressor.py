"""`PromptCompressor`: fewer input tokens for the same meaning, as an LCEL step.

It takes what a prompt template produces (a string, a prompt value or a list
of messages) and returns the same kind, so it slots in as
`prompt | PromptCompressor() | model`.

What it changes and what it never changes is decided span by span (see
`_spans.py`): only free prose is edited. The system prompt, messages flagged
with `additional_kwargs[NO_COMPRESS_KEY] = True`, the provider-cached prefix
and every non-text block pass through as they came.

Every call measures what it saved with the target model's tokenizer and
reports it twice: as a `CompressionReport` (returned by `compress()`, and kept
as `last_report`), and as a saving event for the cost ledger
(`report_saving`), which `CostCallbackHandler` prices.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, Literal, TypeVar, cast

from langchain_core.callbacks import (
    AsyncCallbackManagerForChainRun,
    CallbackManagerForChainRun,
)
from langchain_core.messages import BaseMessage, SystemMessage, convert_to_messages
from langchain_core.prompt_values import (
    ChatPromptValue,
    PromptValue,
    StringPromptValue,
)
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.runnables.config import ensure_config
from typing_extensions import override

from langchain_finops.compression._extract import extract
from langchain_finops.compression._neural import (
    DEFAULT_LLMLINGUA2_MODEL,
    LLMLingua2,
    require_llmlingua,
)
from langchain_finops.compression._spans import split_spans
from langchain_finops.compression._text import (
    LEVEL_NAMES,
    PreparedText,
    compress_text,
)
from langchain_finops.costs.events import SavingReport, areport_saving, report_saving
from langchain_finops.costs.prices import PriceTable
from langchain_finops.costs.tokens import count_tokens

__all__ = [
    "NO_COMPRESS_KEY",
    "QUERY_CONFIG_KEY",
    "CompressionReport",
    "CompressionResult",
    "PromptCompressor",
    "PromptInput",
]

logger = logging.getLogger(__name__)

PromptInput = str | PromptValue | Sequence[BaseMessage]
"""What the compressor takes and gives back."""

NO_COMPRESS_KEY = "finops_no_compress"
"""Set `additional_kwargs[NO_COMPRESS_KEY] = True` on a message to leave it as is."""

QUERY_CONFIG_KEY = "compression_query"
"""`config["configurable"][QUERY_CONFIG_KEY]`: the question, given per call."""

Backend = Literal["heuristic", "llmlingua2"]
_T = TypeVar("_T")

_FULL_LEVEL = 4  # the default, with no target: up to low-information words
_DEDUP_LEVEL = 2


@dataclass(frozen=True, slots=True)
class CompressionReport:
    """What one call did, measured with the target model's tokenizer.

    Attributes:
        original_tokens: Input tokens before compression (the whole prompt,
            chat framing included).
        compressed_tokens: Input tokens after.
        ratio: `original_tokens / compressed_tokens` (1.0 when nothing changed).
        elapsed_ms: Wall time the call took, in milliseconds.
        dollars_saved: The saved tokens at the model's input price, or None
            when the model has no price.
        model: The model the tokens were counted for and priced at.
        level: The last step applied (`"normalize"`, `"dedup"`, `"filler"`,
            `"prune"`, `"prune_more"`, `"extract"`, `"llmlingua2"`), or None.
        skipped: Why the prompt was returned unchanged, or None.
        target_met: Whether the target ratio or budget was reached; None
            without a target.
    """

    original_tokens: int
    compressed_tokens: int
    ratio: float
    elapsed_ms: float
    dollars_saved: Decimal | None
    model: str
    level: str | None = None
    skipped: str | None = None
    target_met: bool | None = None

    @property
    def tokens_saved(self) -> int:
        """Input tokens not sent."""
        return self.original_tokens - self.compressed_tokens

    def to_detail(self) -> dict[str, Any]:
        """The report as the `detail` of a ledger saving event."""
        return {
            "original_tokens": self.original_tokens,
            "compressed_tokens": self.compressed_tokens,
            "ratio": self.ratio,
            "elapsed_ms": self.elapsed_ms,
            "dollars_saved": self.dollars_saved,
            "level": self.level,
            "skipped": self.skipped,
            "target_met": self.target_met,
        }


@dataclass(frozen=True, slots=True)
class CompressionResult(Generic[_T]):
    """A compressed prompt and the report of how it was compressed."""

    value: _T
    report: CompressionReport


@dataclass(slots=True)
class _Piece:
    """One compressible text inside the prompt."""

    text: str
    message: int | None = None
    block: int | None = None


def _message_pieces(message: BaseMessage, index: int) -> list[_Piece]:
    content = message.content
    if isinstance(content, str):
        return [_Piece(content, index)] if content else []
    pieces = []
    for block_index, block in enumerate(content):
        if isinstance(block, str) and block:
            pieces.append(_Piece(block, index, block_index))
        elif (
            isinstance(block, dict)
            and block.get("type") == "text"
            and isinstance(block.get("text"), str)
            and block["text"]
        ):
            pieces.append(_Piece(block["text"], index, block_index))
    return pieces


def _has_cache_breakpoint(message: BaseMessage) -> bool:
    if "cache_control" in message.additional_kwargs:
        return True
    content = message.content
    return isinstance(content, list) and any(
        isinstance(block, dict) and "cache_control" in block for block in content
    )


def _with_texts(
    messages: Sequence[BaseMessage], pieces: Sequence[_Piece], texts: Sequence[str]
) -> list[BaseMessage]:
    by_message: dict[int, list[tuple[_Piece, str]]] = {}
    for piece, text in zip(pieces, texts, strict=True):
        if piece.message is not None:
            by_message.setdefault(piece.message, []).append((piece, text))
    result = list(messages)
    for index, edits in by_message.items():
        message = messages[index]
        if isinstance(message.content, str):
            content: str | list[Any] = edits[0][1]
        else:
            blocks = list(message.content)
            for piece, text in edits:
                assert piece.block is not None
                block = blocks[piece.block]
                blocks[piece.block] = (
                    text if isinstance(block, str) else {**block, "text": text}
                )
            content = blocks
        result[index] = message.model_copy(update={"content": content})
    return result


class PromptCompressor(Runnable[PromptInput, PromptInput]):
    """Compress prompts before they reach the model, and report what it saved.

    By default, with no model and no download, it normalises whitespace and
    markup, minifies JSON, drops repeated paragraphs and lines, removes
    courtesy and filler phrases and prunes low-information words in English
    prose. A `target_ratio` or `max_tokens` makes it go step by step, stopping
    as soon as the target is met; with a `query` it then keeps only the
    chunks most relevant to the question.

    It never alters code (fenced, inline or unfenced), URLs, paths, e-mail
    addresses, numbers with their units, identifiers, quoted strings,
    capitalised names, negations, text between `<keep>` and `</keep>` (the
    markers themselves are removed), matches of `protect`, the system prompt,
    messages flagged with `NO_COMPRESS_KEY`, the cached prefix, non-text
    content blocks and lines in scripts written without spaces.

    Example:
        ```python
        from langchain_core.prompts import ChatPromptTemplate
        from langchain_finops.compression import PromptCompressor
        from langchain_finops.testing import FakeUsageChatModel

        prompt = ChatPromptTemplate.from_messages([("human", "{request}")])
        chain = prompt | PromptCompressor(model="gpt-4o-mini") | FakeUsageChatModel()
        chain.invoke({"request": "Could you please check order ORD-1234?"})
        ```
    """

    def __init__(
        self,
        *,
        model: str = "gpt-4o-mini",
        target_ratio: float | None = None,
        max_tokens: int | None = None,
        query: str | None = None,
        protect: Sequence[str | re.Pattern[str]] = (),
        preserve_prefix_tokens: int = 0,
        min_tokens: int = 16,
        chunk_tokens: int = 64,
        backend: Backend = "heuristic",
        llmlingua_model: str = DEFAULT_LLMLINGUA2_MODEL,
        prices: PriceTable | None = None,
        report_to_ledger: bool = True,
    ) -> None:
        """Configure the compressor.

        Args:
            model: The model the prompt goes to: its tokenizer counts tokens
                and its input price values the saving.
            target_ratio: Stop once the prompt has at most
                `original / target_ratio` tokens (above 1). None: apply the
                default steps fully.
            max_tokens: Stop once the prompt has at most this many tokens.
            query: The question a long context must still answer; enables
                query-aware extraction (needs `target_ratio` or `max_tokens`).
                Also settable per call as
                `config["configurable"]["compression_query"]`.
            protect: Regular expressions whose matches are never changed.
            preserve_prefix_tokens: Leave the first this-many tokens of the
                prompt untouched (whole messages), so a provider's prompt
                cache still matches. Messages up to the last one carrying an
                Anthropic `cache_control` breakpoint are also left untouched.
            min_tokens: Prompts with fewer compressible tokens are returned
                unchanged (the saving would not pay for the risk).
            chunk_tokens: About how many tokens a chunk holds in
                query-aware extraction.
            backend: `"heuristic"` (default, no model) or `"llmlingua2"`
                (the optional `llmlingua` package and a local model).
            llmlingua_model: Name (Hugging Face cache) or local path of the
                LLMLingua-2 model.
            prices: Price table for `dollars_saved`; a default one otherwise.
            report_to_ledger: Send each saving to the callback handlers.

        Raises:
            ValueError: If a number is out of range or `query` is given
                without a target.
            ImportError: If `backend="llmlingua2"` and `llmlingua` is missing.
        """
        if target_ratio is not None and not target_ratio > 1:
            msg = (
                "`target_ratio` must be above 1 (2.0 halves the prompt), "
                f"got {target_ratio!r}."
            )
            raise ValueError(msg)
        if max_tokens is not None and max_tokens < 1:
            msg = f"`max_tokens` must be a positive token budget, got {max_tokens!r}."
            raise ValueError(msg)
        for name, value in (
            ("preserve_prefix_tokens", preserve_prefix_tokens),
            ("min_tokens", min_tokens),
        ):
            if value < 0:
                msg = f"`{name}` must be 0 or more, got {value!r}."
                raise ValueError(msg)
        if chunk_tokens < 8:
            msg = f"`chunk_tokens` must be at least 8, got {chunk_tokens!r}."
            raise ValueError(msg)
        if query is not None and target_ratio is None and max_tokens is None:
            msg = (
                "A `query` needs a target: set `target_ratio` (e.g. 2.0) or "
                "`max_tokens`, so the extraction knows how much to keep."
            )
            raise ValueError(msg)
        if backend not in ("heuristic", "llmlingua2"):
            msg = f"`backend` must be 'heuristic' or 'llmlingua2', got {backend!r}."
            raise ValueError(msg)
        if backend == "llmlingua2":
            require_llmlingua()
        self.model = model
        self.target_ratio = target_ratio
        self.max_tokens = max_tokens
        self.query = query
        self.patterns: tuple[re.Pattern[str], ...] = tuple(
            re.compile(p) if isinstance(p, str) else p for p in protect
        )
        self.preserve_prefix_tokens = preserve_prefix_tokens
        self.min_tokens = min_tokens
        self.chunk_tokens = chunk_tokens
        self.backend: Backend = backend
        self.report_to_ledger = report_to_ledger
        self._prices = prices
        self._neural = LLMLingua2(llmlingua_model) if backend == "llmlingua2" else None
        self._last_report: CompressionReport | None = None

    @property
    def last_report(self) -> CompressionReport | None:
        """The report of the latest call that finished (any thread).

        Under concurrent calls, use `compress()` or the ledger event instead.
        """
        return self._last_report

    @property
    @override
    def InputType(self) -> type[PromptInput]:
        return cast("type[PromptInput]", PromptInput)

    @property
    @override
    def OutputType(self) -> type[PromptInput]:
        return cast("type[PromptInput]", PromptInput)

    # ----------------------------------------------------------------- public

    def compress(self, value: _T, *, query: str | None = None) -> CompressionResult[_T]:
        """Compress `value` and return it with its report (no ledger event).

        Args:
            value: A string, a prompt value or a list of messages.
            query: The question, for query-aware extraction (overrides the
                constructor's).

        Returns:
            The compressed value, of the same kind, and its report.
        """
        output, report = self._compress_value(
            value, query if query is not None else self.query
        )
        self._last_report = report
        return CompressionResult(cast("_T", output), report)

    async def acompress(
        self, value: _T, *, query: str | None = None
    ) -> CompressionResult[_T]:
        """Async twin of `compress`: the work runs in a worker thread."""
        return await asyncio.to_thread(self.compress, value, query=query)

    @override
    def invoke(
        self, input: PromptInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> PromptInput:
        """Compress `input` and send the saving to the run's callback handlers.

        Raises:
            ValueError: If the config gives a query and there is no target.
        """
        return self._call_with_config(self._invoke, input, config, run_type="prompt")

    @override
    async def ainvoke(
        self, input: PromptInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> PromptInput:
        """Async twin of `invoke`: the work runs in a worker thread."""
        return await self._acall_with_config(
            self._ainvoke, input, config, run_type="prompt"
        )

    # --------------------------------------------------------------- plumbing

    def _query_for(self, config: RunnableConfig) -> str | None:
        configurable = config.get("configurable") or {}
        query = configurable.get(QUERY_CONFIG_KEY)
        return str(query) if query else self.query

    def _saving(self, report: CompressionReport) -> SavingReport:
        return {
            "technique": "compression",
            "tokens_saved": report.tokens_saved,
            "model": self.model,
            "detail": report.to_detail(),
        }

    def _invoke(
        self,
        value: PromptInput,
        run_manager: CallbackManagerForChainRun,
        config: RunnableConfig,
    ) -> PromptInput:
        output, report = self._compress_value(
            value, self._query_for(ensure_config(config))
        )
        self._last_report = report
        if self.report_to_ledger:
            report_saving(self._saving(report), config)
        return cast("PromptInput", output)

    async def _ainvoke(
        self,
        value: PromptInput,
        run_manager: AsyncCallbackManagerForChainRun,
        config: RunnableConfig,
    ) -> PromptInput:
        query = self._query_for(ensure_config(config))
        output, report = await asyncio.to_thread(self._compress_value, value, query)
        self._last_report = report
        if self.report_to_ledger:
            await areport_saving(self._saving(report), config)
        return cast("PromptInput", output)

    def _count(self, value: Any) -> int:
        return int(count_tokens(value, model=self.model))

    def _dollars(self, tokens: int) -> Decimal | None:
        if tokens == 0:
            return Decimal(0)
        if self._prices is None:
            self._prices = PriceTable()
        return self._prices.input_cost(self.model, tokens)

    def _report(
        self,
        started: float,
        original: int,
        compressed: int,
        *,
        level: str | None = None,
        skipped: str | None = None,
        target_met: bool | None = None,
    ) -> CompressionReport:
        return CompressionReport(
            original_tokens=original,
            compressed_tokens=compressed,
            ratio=original / compressed if compressed else 1.0,
            elapsed_ms=(time.perf_counter() - started) * 1000,
            dollars_saved=self._dollars(original - compressed),
            model=self.model,
            level=level,
            skipped=skipped,
            target_met=target_met,
        )

    # ------------------------------------------------------------ the policy

    def _compress_value(
        self, value: Any, query: str | None
    ) -> tuple[Any, CompressionReport]:
        started = time.perf_counter()
        if isinstance(value, str):
            return self._compress_string(value, query, started, lambda t: t, value)
        if isinstance(value, StringPromptValue):
            return self._compress_string(
                value.text, query, started, lambda t: StringPromptValue(text=t), value
            )
        if isinstance(value, ChatPromptValue):
            return self._compress_messages(
                list(value.messages),
                query,
                started,
                lambda m: ChatPromptValue(messages=m),
                value,
            )
        if isinstance(value, Sequence) and not isinstance(value, PromptValue):
            try:
                messages = convert_to_messages(value)
            except (ValueError, TypeError, NotImplementedError):
                return value, self._report(started, 0, 0, skipped="unsupported_input")
            return self._compress_messages(messages, query, started, lambda m: m, value)
        # None, an image prompt value, anything else: returned as it came.
        tokens = self._count(value) if isinstance(value, PromptValue) else 0
        return value, self._report(started, tokens, tokens, skipped="unsupported_input")

    def _prefix_chars(self, text: str) -> int:
        """Chars of `text` that hold its first `preserve_prefix_tokens` tokens."""
        wanted = self.preserve_prefix_tokens
        if wanted == 0:
            return 0
        if self._count(text) <= wanted:
            return len(text)
        low, high = 0, min(len(text), wanted * 16)
        while low < high:
            middle = (low + high) // 2
            if self._count(text[:middle]) >= wanted:
                high = middle
            else:
                low = middle + 1
        # Extend to the end of the word, so that no token is cut in two.
        while low < len(text) and not text[low].isspace():
            low += 1
        return low

    def _compress_string(
        self, text: str, query: str | None, started: float, wrap: Any, value: Any
    ) -> tuple[Any, CompressionReport]:
        original = self._count(text)
        if not text.strip():
            return value, self._report(started, original, original, skipped="empty")
        head_end = self._prefix_chars(text)
        head, tail = text[:head_end], text[head_end:]
        if not tail.strip():
            return value, self._report(
                started, original, original, skipped="cached_prefix"
            )
        pieces = [_Piece(tail)]

        def build(texts: Sequence[str]) -> str:
            return head + texts[0]

        return self._run(pieces, build, original, query, started, wrap, value)

    def _compress_messages(
        self,
        messages: list[BaseMessage],
        query: str | None,
        started: float,
        wrap: Any,
        value: Any,
    ) -> tuple[Any, CompressionReport]:
        original = self._count(messages)
        if not messages:
            return value, self._report(started, original, original, skipped="empty")
        fixed_until = -1
        for index, message in enumerate(messages):
            if _has_cache_breakpoint(message):
                fixed_until = index
        if self.preserve_prefix_tokens:
            position = 0
            for index, message in enumerate(messages):
                if position >= self.preserve_prefix_tokens:
                    break
                fixed_until = max(fixed_until, index)
                position += self._count([message]) - 3  # the reply priming
        pieces: list[_Piece] = []
        in_prefix = False
        for index, message in enumerate(messages):
            if isinstance(message, SystemMessage) or message.additional_kwargs.get(
                NO_COMPRESS_KEY
            ):
                continue
            if index <= fixed_until:
                in_prefix = True
                continue
            pieces.extend(_message_pieces(message, index))
        if not pieces:
            reason = "cached_prefix" if in_prefix else "nothing_compressible"
            return value, self._report(started, original, original, skipped=reason)

        def build(texts: Sequence[str]) -> list[BaseMessage]:
            return _with_texts(messages, pieces, texts)

        return self._run(pieces, build, original, query, started, wrap, value)

    def _too_short(self, pieces: Sequence[_Piece], original: int) -> bool:
        if original < self.min_tokens:
            return True
        # A token holds at most a few dozen characters: past that length the
        # text is surely long enough, and counting it again would cost time.
        if sum(len(p.text) for p in pieces) > 32 * self.min_tokens:
            return False
        return sum(self._count(p.text) for p in pieces) < self.min_tokens

    def _target(self, original: int) -> int | None:
        targets = []
        if self.target_ratio is not None:
            targets.append(math.floor(original / self.target_ratio))
        if self.max_tokens is not None:
            targets.append(self.max_tokens)
        return min(targets) if targets else None

    def _run(
        self,
        pieces: Sequence[_Piece],
        build: Any,
        original: int,
        query: str | None,
        started: float,
        wrap: Any,
        untouched: Any,
    ) -> tuple[Any, CompressionReport]:
        if self._too_short(pieces, original):
            return untouched, self._report(
                started, original, original, skipped="too_short"
            )
        target = self._target(original)
        if query is not None and target is None:
            msg = (
                "A query was given for this call but the compressor has no target: "
                "set `target_ratio` or `max_tokens` on the PromptCompressor."
            )
            raise ValueError(msg)

        prepared = [PreparedText(p.text, self.patterns) for p in pieces]
        texts = [p.text for p in pieces]
        built: Any = untouched
        compressed = original
        level_name: str | None = None
        if target is None and self.backend == "heuristic":
            texts = [p.render(_FULL_LEVEL) for p in prepared]
            built = build(texts)
            compressed = self._count(built)
            level_name = LEVEL_NAMES[_FULL_LEVEL - 1]
        else:
            last_level = (
                _DEDUP_LEVEL
                if query or self.backend != "heuristic"
                else len(LEVEL_NAMES)
            )
            for level in range(1, last_level + 1):
                texts = [p.render(level) for p in prepared]
                built = build(texts)
                compressed = self._count(built)
                level_name = LEVEL_NAMES[level - 1]
                if target is not None and compressed <= target:
                    break
            if target is None or compressed > target:
                if query:
                    texts = self._extract(
                        prepared, texts, compressed, target or compressed, query
                    )
                    level_name = "extract"
                elif self.backend == "llmlingua2":
                    texts = self._neural_pass(texts, original, target)
                    level_name = "llmlingua2"
                built = build(texts)
                compressed = self._count(built)

        if compressed >= original:
            return untouched, self._report(
                started, original, original, skipped="no_saving"
            )
        met = None if target is None else compressed <= target
        report = self._report(
            started, original, compressed, level=level_name, target_met=met
        )
        return wrap(built), report

    def _extract(
        self,
        prepared: Sequence[PreparedText],
        texts: list[str],
        compressed: int,
        target: int,
        query: str,
    ) -> list[str]:
        # Keep the markers through the selection, so marked text stays in.
        marked = [p.render(_DEDUP_LEVEL, strip_markers=False) for p in prepared]
        sizes = [self._count(t) for t in texts]
        fixed = compressed - sum(sizes)
        room = max(0, target - fixed)
        total = sum(sizes) or 1
        # The question itself, when it appears in the context, is never cut.
        patterns = (*self.patterns, re.compile(re.escape(query)))
        result = []
        for text, size in zip(marked, sizes, strict=True):
            budget = math.floor(room * size / total)
            kept = extract(
                text,
                query=query,
                budget=budget,
                model=self.model,
                patterns=patterns,
                chunk_tokens=self.chunk_tokens,
            )
            result.append(compress_text(kept, level=1, patterns=patterns))
        return result

    def _neural_pass(
        self, texts: list[str], original: int, target: int | None
    ) -> list[str]:
        assert self._neural is not None
        rate = 0.5 if target is None else max(0.05, min(1.0, target / max(1, original)))
        return [self._neural_text(text, rate) for text in texts]

    def _neural_text(self, text: str, rate: float) -> str:
        """LLMLingua-2 on the prose runs of `text`; protected spans copied as is."""
        neural = self._neural
        assert neural is not None
        spans = split_spans(text, patterns=self.patterns)
        pieces: list[str] = []
        run: list[tuple[str, str]] = []

        def flush() -> None:
            if not run:
                return
            prose = "".join(piece for _, piece in run)
            words = [piece for kind, piece in run if kind != "free"]
            out = (
                neural.compress(prose, rate=rate, keep=words)
                if prose.strip()
                else prose
            )
            if _keeps_in_order(out, words):
                pieces.append(out)
            else:
                logger.warning(
                    "LLMLingua-2 changed a protected word; kept that passage as it was."
                )
                pieces.append(prose)
            run.clear()

        for span in spans:
            piece = text[span.start : span.end]
            if span.kind in ("free", "name", "identifier", "negation"):
                run.append((span.kind, piece))
                continue
            flush()
            if span.kind != "keep_tag":
                pieces.append(piece)
        flush()
        return "".join(pieces)


def _keeps_in_order(text: str, words: Sequence[str]) -> bool:
    position = 0
    for word in words:
        found = text.find(word, position)
        if found < 0:
            return False
        position = found + len(word)
    return True
