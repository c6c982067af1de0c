"""`SemanticFaissCache`: a LangChain LLM cache that matches paraphrases safely."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import math
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from langchain_core.caches import RETURN_VAL_TYPE, BaseCache
from langchain_core.embeddings import Embeddings
from langchain_core.outputs import ChatGeneration, Generation
from typing_extensions import override

from langchain_finops.cache._calibration import pair_scores, threshold_at
from langchain_finops.cache._guard import conflict, signature
from langchain_finops.cache._index import AdaptiveIndex, VectorIndex
from langchain_finops.cache._payload import (
    dump_generations,
    load_generations,
    unstorable_reason,
)
from langchain_finops.cache._prompt import (
    CanonicalPrompt,
    canonical_prompt,
    normalize_text,
)
from langchain_finops.cache._stats import HISTOGRAM_BINS, CacheStats
from langchain_finops.cache._store import (
    EmbedderMismatchError,
    EntryStore,
    MemoryStore,
    NewEntry,
    SqliteStore,
    StoredEntry,
)
from langchain_finops.costs.events import CACHE_METADATA_KEY

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from langchain_finops.costs.prices import PriceTable

__all__ = [
    "DEFAULT_SIMILARITY_THRESHOLD",
    "CalibrationReport",
    "EmbedderMismatchError",
    "SemanticFaissCache",
]

logger = logging.getLogger(__name__)

DEFAULT_SIMILARITY_THRESHOLD = 0.96
"""Calibrated for `DefaultEmbeddings` with the guard on: the lowest cosine at
which at most 1% of non-duplicate QQP pairs were served on the calibration
half (see benchmarks/results/cache_quality.md)."""

_CANDIDATES = 4
_MEMO_SIZE = 1024
_PURGE_EVERY = 256


def _seconds(value: float | timedelta | None, name: str) -> float | None:
    if value is None:
        return None
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        msg = f"`{name}` must be seconds or a timedelta, got {value!r}."
        raise TypeError(msg)
    if not math.isfinite(seconds) or seconds <= 0:
        msg = f"`{name}` must be a positive duration, got {value!r}."
        raise ValueError(msg)
    return float(seconds)


def _threshold(value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = (
            f"`similarity_threshold` must be a number in [0, 1], "
            f"got {type(value).__name__} {value!r}."
        )
        raise TypeError(msg)
    if not 0.0 <= value <= 1.0:
        msg = (
            f"`similarity_threshold` must be a cosine similarity in [0, 1], got "
            f"{value!r}; 1.0 serves only near-identical texts, lower values "
            "serve looser paraphrases."
        )
        raise ValueError(msg)
    return float(value)


def _embedder_id(embeddings: Embeddings) -> str:
    declared = getattr(embeddings, "embedder_id", None)
    if isinstance(declared, str) and declared:
        return declared
    kind = type(embeddings)
    name = f"{kind.__module__}.{kind.__qualname__}"
    for attribute in ("model", "model_name", "model_id", "deployment"):
        model = getattr(embeddings, attribute, None)
        if isinstance(model, str) and model:
            return f"{name}:{model}"
    return name


@dataclass(frozen=True, slots=True)
class CalibrationReport:
    """What `calibrate` chose, and what it measured on the pairs given."""

    threshold: float
    """The similarity threshold now in use."""
    hit_rate: float
    """Share of duplicate pairs that would be served."""
    false_hit_rate: float
    """Share of non-duplicate pairs that would be served."""
    duplicates: int
    non_duplicates: int


@dataclass(slots=True)
class _Scope:
    namespace: str | None
    ttl: float | None


class _Mirror:
    """What the in-memory side keeps of a stored entry (no vector, no answer)."""

    __slots__ = ("exact_key", "expires_at", "namespace", "partition", "query")

    def __init__(self, entry: StoredEntry) -> None:
        self.namespace = entry.namespace
        self.partition = entry.partition
        self.exact_key = entry.exact_key
        self.query = entry.query
        self.expires_at = entry.expires_at


class SemanticFaissCache(BaseCache):
    """An LLM cache that answers repeated and paraphrased prompts locally.

    A lookup first tries an exact match on the whole normalised prompt, then a
    FAISS search over entries of the same partition: same namespace, model and
    sampling parameters, system prompt, tools and earlier turns. Only the last
    user turn is embedded. A semantic candidate is served when its cosine
    similarity reaches `similarity_threshold` and the guard finds no
    difference in numbers, negation, opposites, names, quoted strings or
    identifiers. Hits carry `response_metadata["finops_cache"]` with their
    tier and similarity; LangChain marks their usage `total_cost: 0`, which is
    how `CostCallbackHandler` books the saving.

    Answers cut off by the length limit, empty answers and calls with `n > 1`
    are not stored.

    Example:
        ```python
        from langchain_core.globals import set_llm_cache
        from langchain_finops.cache import SemanticFaissCache

        set_llm_cache(SemanticFaissCache())
        # or, tuned:
        cache = SemanticFaissCache(namespace="tenant-a", max_entries=50_000, ttl=3600)
        with cache.scope(namespace="user-42"):
            ...  # calls here read and write user-42's entries only
        ```

    Args:
        embeddings: Any LangChain `Embeddings`; `DefaultEmbeddings` (local,
            offline) when omitted.
        similarity_threshold: Lowest cosine similarity, in [0, 1], of a
            semantic hit. Defaults to `DEFAULT_SIMILARITY_THRESHOLD`, calibrated
            for the default embedder; use `calibrate` for another.
        namespace: The partition (tenant, user) read and written when no
            `scope` says otherwise. Namespaces never see each other's entries.
        persist_dir: A directory for a SQLite store that survives restarts
            and can be shared by several processes.
        max_entries: Keep at most this many entries, evicting the least
            recently used.
        ttl: Default time to live of an entry (seconds or a timedelta).
        guard: Reject semantic hits whose deciding words differ. Turning it off
            makes the cache a plain cosine-threshold cache.
        price_table: Prices for `stats().dollars_saved`; the package's
            default `PriceTable` when omitted.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If `similarity_threshold` is outside [0, 1], `max_entries`
            is below 1, `ttl` is not positive or `namespace` is empty.
        EmbedderMismatchError: If `persist_dir` holds vectors of another
            embedder or dimension.
    """

    def __init__(
        self,
        *,
        embeddings: Embeddings | None = None,
        similarity_threshold: float | None = None,
        namespace: str = "default",
        persist_dir: str | Path | None = None,
        max_entries: int | None = None,
        ttl: float | timedelta | None = None,
        guard: bool = True,
        price_table: PriceTable | None = None,
    ) -> None:
        if embeddings is not None and not isinstance(embeddings, Embeddings):
            msg = (
                "`embeddings` must be a langchain_core Embeddings, got "
                f"{type(embeddings).__name__}."
            )
            raise TypeError(msg)
        from langchain_finops.embeddings import DefaultEmbeddings

        if embeddings is None:
            embeddings = DefaultEmbeddings()
        elif similarity_threshold is None and not isinstance(
            embeddings, DefaultEmbeddings
        ):
            logger.warning(
                "SemanticFaissCache uses the default similarity threshold %.2f, "
                "calibrated for DefaultEmbeddings, with %s; call calibrate() with "
                "labelled pairs to fit it to this embedder.",
                DEFAULT_SIMILARITY_THRESHOLD,
                type(embeddings).__name__,
            )
        self._threshold = _threshold(
            DEFAULT_SIMILARITY_THRESHOLD
            if similarity_threshold is None
            else similarity_threshold
        )
        self._namespace = self._check_namespace(namespace)
        if max_entries is not None and (
            isinstance(max_entries, bool)
            or not isinstance(max_entries, int)
            or max_entries < 1
        ):
            msg = (
                "`max_entries` must be a positive integer or None, got "
                f"{max_entries!r}."
            )
            raise ValueError(msg)
        self.max_entries = max_entries
        self.ttl = _seconds(ttl, "ttl")
        self.guard = bool(guard)
        self.embeddings = embeddings
        self.embedder_id = _embedder_id(embeddings)
        self._price_table = price_table
        self._price_warned = False
        self._scope: contextvars.ContextVar[_Scope | None] = contextvars.ContextVar(
            f"finops_cache_scope_{id(self)}", default=None
        )

        self._lock = threading.RLock()
        self._memo: OrderedDict[str, NDArray[np.float32]] = OrderedDict()
        self._memo_lock = threading.Lock()
        self._entries: dict[int, _Mirror] = {}
        self._exact: dict[tuple[str, str], int] = {}
        self._indexes: dict[tuple[str, str], VectorIndex] = {}
        self._dimension: int | None = getattr(embeddings, "dimension", None)
        self._counts: Counter[str] = Counter()
        self._guard_reasons: Counter[str] = Counter()
        self._skipped: Counter[str] = Counter()
        self._histogram = [0] * HISTOGRAM_BINS
        self._saved = Decimal(0)
        self._writes = 0

        self.persist_dir = Path(persist_dir) if persist_dir is not None else None
        self._store: EntryStore
        if self.persist_dir is None:
            self._store = MemoryStore()
        else:
            if self._dimension is None:
                self._dimension = len(self._embed("dimension probe"))
            self._store = SqliteStore(self.persist_dir)
            try:
                self._store.bind_embedder(self.embedder_id, self._dimension)
            except EmbedderMismatchError:
                self._store.close()
                raise
        with self._lock:
            self._sync()

    # --- configuration -------------------------------------------------

    @staticmethod
    def _check_namespace(namespace: object) -> str:
        if not isinstance(namespace, str) or not namespace.strip():
            msg = f"`namespace` must be a non-empty string, got {namespace!r}."
            raise ValueError(msg)
        return namespace

    @property
    def similarity_threshold(self) -> float:
        """Lowest cosine similarity of a semantic hit."""
        return self._threshold

    @similarity_threshold.setter
    def similarity_threshold(self, value: float) -> None:
        self._threshold = _threshold(value)

    @property
    def namespace(self) -> str:
        """The namespace in effect here (the innermost `scope`, else the default)."""
        scope = self._scope.get()
        if scope is not None and scope.namespace is not None:
            return scope.namespace
        return self._namespace

    @contextlib.contextmanager
    def scope(
        self, *, namespace: str | None = None, ttl: float | timedelta | None = None
    ) -> Iterator[SemanticFaissCache]:
        """Read and write another namespace, or store with another TTL, inside.

        The scope follows the context (threads started inside do not inherit
        it; asyncio tasks do), so concurrent requests of different users stay
        apart.

        Args:
            namespace: The namespace for calls inside the block.
            ttl: Time to live of entries stored inside the block.

        Yields:
            This cache.

        Raises:
            ValueError: If `namespace` is empty or `ttl` is not positive.
        """
        if namespace is not None:
            self._check_namespace(namespace)
        outer = self._scope.get()
        inner = _Scope(
            namespace=namespace if namespace is not None else None,
            ttl=_seconds(ttl, "ttl"),
        )
        if outer is not None:
            inner.namespace = inner.namespace or outer.namespace
            inner.ttl = inner.ttl if inner.ttl is not None else outer.ttl
        token = self._scope.set(inner)
        try:
            yield self
        finally:
            self._scope.reset(token)

    # --- embedding -----------------------------------------------------

    def _embed(self, text: str) -> NDArray[np.float32]:
        embed_array = getattr(self.embeddings, "embed_array", None)
        if callable(embed_array):
            vector = np.asarray(embed_array([text])[0], dtype=np.float32)
        else:
            vector = np.asarray(self.embeddings.embed_query(text), dtype=np.float32)
        if vector.ndim != 1 or vector.size == 0:
            msg = (
                f"{type(self.embeddings).__name__}.embed_query returned shape "
                f"{vector.shape}; expected one flat vector."
            )
            raise ValueError(msg)
        if self._dimension is not None and vector.size != self._dimension:
            msg = (
                f"{type(self.embeddings).__name__} returned a vector of "
                f"{vector.size} dimensions; this cache holds {self._dimension}."
            )
            raise ValueError(msg)
        norm = float(np.linalg.norm(vector))
        # Inner product is cosine only on unit vectors; not every embedder
        # normalises.
        return vector / norm if norm > 0 else vector

    def _query_vector(self, text: str, *, keep: bool) -> NDArray[np.float32]:
        with self._memo_lock:
            vector = self._memo.get(text)
            if vector is not None:
                if keep:
                    self._memo.move_to_end(text)
                else:
                    del self._memo[text]
                return vector
        vector = self._embed(text)
        if self._dimension is None:
            self._dimension = int(vector.size)
        if keep:
            # The update after a miss embeds the same text: keep it for that.
            with self._memo_lock:
                self._memo[text] = vector
                while len(self._memo) > _MEMO_SIZE:
                    self._memo.popitem(last=False)
        return vector

    # --- mirror --------------------------------------------------------

    def _sync(self) -> None:
        added, deleted = self._store.changes()
        removals: dict[tuple[str, str], list[int]] = {}
        for entry_id in deleted:
            mirror = self._entries.pop(entry_id, None)
            if mirror is None:
                continue
            key = (mirror.namespace, mirror.exact_key)
            if self._exact.get(key) == entry_id:
                del self._exact[key]
            removals.setdefault((mirror.namespace, mirror.partition), []).append(
                entry_id
            )
        for index_key, ids in removals.items():
            index = self._indexes.get(index_key)
            if index is not None:
                index.remove(np.asarray(ids, dtype=np.int64))
                if len(index) == 0:
                    del self._indexes[index_key]
        additions: dict[tuple[str, str], tuple[list[int], list[bytes]]] = {}
        for entry in added:
            self._entries[entry.id] = _Mirror(entry)
            self._exact[(entry.namespace, entry.exact_key)] = entry.id
            if entry.vector is not None:
                ids, vectors = additions.setdefault(
                    (entry.namespace, entry.partition), ([], [])
                )
                ids.append(entry.id)
                vectors.append(entry.vector)
        for index_key, (ids, vectors) in additions.items():
            matrix = np.frombuffer(b"".join(vectors), dtype=np.float32)
            dimension = matrix.size // len(ids)
            index = self._indexes.get(index_key)
            if index is None:
                index = AdaptiveIndex(dimension)
                self._indexes[index_key] = index
            index.add(np.asarray(ids, dtype=np.int64), matrix.reshape(len(ids), -1))

    def _expired(self, mirror: _Mirror, now: float) -> bool:
        return mirror.expires_at is not None and mirror.expires_at <= now

    # --- lookup --------------------------------------------------------

    def _fetch(self, entry_id: int, now: float) -> str | None:
        payload = self._store.payload(entry_id)
        if payload is not None:
            self._store.touch(entry_id, now)
        return payload

    def _drop_expired(self, entry_id: int) -> None:
        self._store.delete([entry_id])
        self._sync()

    def _serve(
        self, payload: str, tier: str, similarity: float, canonical: CanonicalPrompt
    ) -> list[Generation]:
        generations = load_generations(payload)
        marker = {"tier": tier, "similarity": round(similarity, 6)}
        saved = Decimal(0)
        unpriced = 0
        for generation in generations:
            if not isinstance(generation, ChatGeneration):
                continue
            message = generation.message
            message.response_metadata = {
                **message.response_metadata,
                CACHE_METADATA_KEY: marker,
            }
            usage = getattr(message, "usage_metadata", None)
            if usage:
                model = (
                    message.response_metadata.get("model_name") or canonical.llm.model
                )
                cost = self._price(model, dict(usage))
                if cost is None:
                    unpriced += 1
                else:
                    saved += cost
        with self._lock:
            self._counts[f"{tier}_hits"] += 1
            self._counts["unpriced_hits"] += unpriced
            self._saved += saved
        return generations

    def _price(self, model: str | None, usage: dict[str, Any]) -> Decimal | None:
        # A saving that cannot be priced must not break the cache.
        try:
            from langchain_finops.costs.prices import PriceTable, TokenUsage

            if self._price_table is None:
                self._price_table = PriceTable()
            return self._price_table.cost(model, TokenUsage.from_usage_metadata(usage))
        except Exception:
            # Once per cache: a broken price table would fail on every hit.
            if not self._price_warned:
                self._price_warned = True
                logger.warning(
                    "Could not price a cache hit for model %r; dollars saved leave "
                    "unpriced hits out.",
                    model,
                    exc_info=True,
                )
            return None

    def _record_best(self, best: float | None) -> None:
        if best is None:
            return
        bin_index = min(int(max(best, 0.0) * HISTOGRAM_BINS), HISTOGRAM_BINS - 1)
        self._histogram[bin_index] += 1

    @override
    def lookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        """Look up a prompt: exactly first, then by meaning within its partition."""
        canonical = canonical_prompt(prompt, llm_string)
        namespace = self.namespace
        now = time.time()
        with self._lock:
            self._sync()
            entry_id = self._exact.get((namespace, canonical.exact_key))
            payload = None
            if entry_id is not None:
                mirror = self._entries[entry_id]
                if self._expired(mirror, now):
                    self._drop_expired(entry_id)
                else:
                    payload = self._fetch(entry_id, now)
            can_search = bool(canonical.query) and (
                (namespace, canonical.partition) in self._indexes
            )
        if payload is not None:
            return self._serve(payload, "exact", 1.0, canonical)
        if not can_search:
            with self._lock:
                self._counts["misses"] += 1
            return None

        vector = self._query_vector(canonical.query, keep=True)
        query_signature = signature(canonical.query) if self.guard else None
        with self._lock:
            self._sync()
            index = self._indexes.get((namespace, canonical.partition))
            candidates = index.search(vector, _CANDIDATES) if index is not None else []
            self._record_best(candidates[0][1] if candidates else None)
            rejection: str | None = None
            for candidate_id, score in candidates:
                if score < self._threshold:
                    break
                candidate = self._entries.get(candidate_id)
                if candidate is None:
                    continue
                if self._expired(candidate, now):
                    self._drop_expired(candidate_id)
                    continue
                if query_signature is not None:
                    reason = conflict(query_signature, signature(candidate.query))
                    if reason is not None:
                        rejection = rejection or reason
                        continue
                payload = self._fetch(candidate_id, now)
                if payload is not None:
                    break
            if payload is None:
                self._counts["misses"] += 1
                if rejection is not None:
                    self._counts["guard_rejections"] += 1
                    self._guard_reasons[rejection] += 1
                return None
        return self._serve(payload, "semantic", min(score, 1.0), canonical)

    # --- update --------------------------------------------------------

    @override
    def update(
        self,
        prompt: str,
        llm_string: str,
        return_val: RETURN_VAL_TYPE,
        *,
        ttl: float | timedelta | None = None,
    ) -> None:
        """Store an answer, unless it is truncated, empty or one of n > 1.

        Args:
            prompt: As LangChain passes it.
            llm_string: As LangChain passes it.
            return_val: The generations to store.
            ttl: This entry's time to live, over the scope's and the cache's.
        """
        canonical = canonical_prompt(prompt, llm_string)
        reason = unstorable_reason(list(return_val), canonical.llm.n)
        if reason is not None:
            with self._lock:
                self._skipped[reason] += 1
            logger.debug("Not caching an answer: %s.", reason)
            return
        try:
            payload = dump_generations(list(return_val))
        except (TypeError, ValueError):
            with self._lock:
                self._skipped["unserialisable"] += 1
            logger.warning(
                "Not caching an answer whose metadata JSON cannot represent.",
                exc_info=True,
            )
            return
        vector = (
            self._query_vector(canonical.query, keep=False) if canonical.query else None
        )
        scope = self._scope.get()
        lifetime = _seconds(ttl, "ttl") if ttl is not None else None
        if lifetime is None and scope is not None:
            lifetime = scope.ttl
        if lifetime is None:
            lifetime = self.ttl
        now = time.time()
        entry = NewEntry(
            namespace=self.namespace,
            partition=canonical.partition,
            exact_key=canonical.exact_key,
            query=canonical.query,
            vector=None if vector is None else vector.astype(np.float32).tobytes(),
            expires_at=None if lifetime is None else now + lifetime,
        )
        with self._lock:
            self._store.put(entry, payload, now, self.max_entries)
            self._writes += 1
            if self._writes % _PURGE_EVERY == 0:
                self._store.purge_expired(now)
            self._sync()

    # --- removal -------------------------------------------------------

    @override
    def clear(self, **kwargs: Any) -> None:
        """Remove every entry, or only a namespace's with `namespace=...`.

        Raises:
            TypeError: If given an argument other than `namespace`.
        """
        unknown = set(kwargs) - {"namespace"}
        if unknown:
            msg = f"clear() takes only `namespace`, got {sorted(unknown)}."
            raise TypeError(msg)
        namespace = kwargs.get("namespace")
        if namespace is not None:
            self._check_namespace(namespace)
        with self._lock:
            self._store.delete_namespace(namespace)
            self._sync()
        with self._memo_lock:
            self._memo.clear()

    def invalidate(
        self,
        prompt: str | None = None,
        llm_string: str | None = None,
        *,
        similar: bool = False,
        namespace: str | None = None,
    ) -> int:
        """Remove entries by prompt, by similarity to a prompt, or by namespace.

        Args:
            prompt: Remove the entry stored for this prompt (as LangChain
                passes it, with its `llm_string`).
            llm_string: The prompt's `llm_string`; required with `prompt`.
            similar: Also remove every entry this prompt would be served from
                semantically (above the threshold and passing the guard).
            namespace: With a prompt, where to look (default: the current
                namespace). Alone, remove the whole namespace.

        Returns:
            How many entries were removed.

        Raises:
            ValueError: If neither a prompt nor a namespace is given, or a
                prompt comes without its `llm_string`.
        """
        if namespace is not None:
            self._check_namespace(namespace)
        if prompt is None:
            if namespace is None:
                msg = (
                    "invalidate() needs a `prompt` (with `llm_string`) or a "
                    "`namespace`."
                )
                raise ValueError(msg)
            with self._lock:
                removed = self._store.delete_namespace(namespace)
                self._sync()
            return removed
        if llm_string is None:
            msg = "invalidate(prompt=...) also needs the prompt's `llm_string`."
            raise ValueError(msg)
        canonical = canonical_prompt(prompt, llm_string)
        space = namespace if namespace is not None else self.namespace
        vector = (
            self._query_vector(canonical.query, keep=False)
            if similar and canonical.query
            else None
        )
        with self._lock:
            self._sync()
            doomed = []
            exact = self._exact.get((space, canonical.exact_key))
            if exact is not None:
                doomed.append(exact)
            index = self._indexes.get((space, canonical.partition))
            if vector is not None and index is not None:
                query_signature = signature(canonical.query)
                for entry_id, score in index.search(vector, len(index)):
                    if score < self._threshold:
                        break
                    mirror = self._entries.get(entry_id)
                    if mirror is not None and (
                        not self.guard
                        or conflict(query_signature, signature(mirror.query)) is None
                    ):
                        doomed.append(entry_id)
            removed = self._store.delete(sorted(set(doomed)))
            self._sync()
        return removed

    # --- async ---------------------------------------------------------

    @override
    async def alookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        """Async twin of `lookup`, run off the event loop."""
        # to_thread copies the context, so a `scope` set by the caller holds.
        return await asyncio.to_thread(self.lookup, prompt, llm_string)

    @override
    async def aupdate(
        self,
        prompt: str,
        llm_string: str,
        return_val: RETURN_VAL_TYPE,
        *,
        ttl: float | timedelta | None = None,
    ) -> None:
        """Async twin of `update`, run off the event loop."""
        await asyncio.to_thread(self.update, prompt, llm_string, return_val, ttl=ttl)

    @override
    async def aclear(self, **kwargs: Any) -> None:
        """Async twin of `clear`, run off the event loop."""
        await asyncio.to_thread(self.clear, **kwargs)

    async def ainvalidate(
        self,
        prompt: str | None = None,
        llm_string: str | None = None,
        *,
        similar: bool = False,
        namespace: str | None = None,
    ) -> int:
        """Async twin of `invalidate`, run off the event loop."""
        return await asyncio.to_thread(
            self.invalidate, prompt, llm_string, similar=similar, namespace=namespace
        )

    # --- reporting and tuning -----------------------------------------

    def __len__(self) -> int:
        with self._lock:
            self._sync()
            return len(self._entries)

    def stats(self) -> CacheStats:
        """Counts of hits by tier, misses, guard rejections and dollars saved."""
        with self._lock:
            self._sync()
            return CacheStats(
                exact_hits=self._counts["exact_hits"],
                semantic_hits=self._counts["semantic_hits"],
                misses=self._counts["misses"],
                guard_rejections=self._counts["guard_rejections"],
                guard_reasons=dict(self._guard_reasons),
                skipped_updates=dict(self._skipped),
                similarity_histogram=tuple(self._histogram),
                dollars_saved=self._saved,
                unpriced_hits=self._counts["unpriced_hits"],
                entries=len(self._entries),
            )

    def similarity(self, text_a: str, text_b: str) -> tuple[float, str | None]:
        """The cosine similarity of two texts and the guard's objection, if any.

        Args:
            text_a: A user turn.
            text_b: Another user turn.

        Returns:
            The similarity and the guard's reason to refuse (None: no
            objection, or the guard is off).
        """
        first = self._embed(normalize_text(text_a))
        second = self._embed(normalize_text(text_b))
        reason = (
            conflict(
                signature(normalize_text(text_a)), signature(normalize_text(text_b))
            )
            if self.guard
            else None
        )
        return float(np.dot(first, second)), reason

    def calibrate(
        self,
        labelled_pairs: Iterable[tuple[str, str, bool]],
        max_false_hit_rate: float = 0.01,
    ) -> CalibrationReport:
        """Set the threshold from labelled pairs of user turns.

        The threshold becomes the lowest similarity at which at most
        `max_false_hit_rate` of the non-duplicate pairs would be served (after
        the guard, when it is on).

        Args:
            labelled_pairs: `(text_a, text_b, is_duplicate)` triples, with
                both kinds present.
            max_false_hit_rate: Share of non-duplicates allowed to hit, in
                [0, 1).

        Returns:
            The threshold chosen and the rates it gives on these pairs.

        Raises:
            ValueError: If the rate is outside [0, 1) or a kind of pair is
                missing.
        """
        if isinstance(max_false_hit_rate, bool) or not (
            isinstance(max_false_hit_rate, int | float)
            and 0.0 <= max_false_hit_rate < 1.0
        ):
            msg = (
                "`max_false_hit_rate` must be a share in [0, 1), got "
                f"{max_false_hit_rate!r}."
            )
            raise ValueError(msg)
        pairs = [(str(a), str(b), bool(label)) for a, b, label in labelled_pairs]
        positives = sum(label for _, _, label in pairs)
        negatives = len(pairs) - positives
        if positives == 0 or negatives == 0:
            msg = (
                f"calibrate() needs duplicate and non-duplicate pairs; got "
                f"{positives} duplicates and {negatives} non-duplicates."
            )
            raise ValueError(msg)
        scores = pair_scores(self.embeddings, pairs, guard=self.guard)
        labels = np.array([label for _, _, label in pairs])
        threshold, hit_rate, false_rate = threshold_at(
            scores, labels, max_false_hit_rate
        )
        self.similarity_threshold = threshold
        return CalibrationReport(
            threshold=threshold,
            hit_rate=hit_rate,
            false_hit_rate=false_rate,
            duplicates=positives,
            non_duplicates=negatives,
        )

    def close(self) -> None:
        """Close the store (a persisted cache releases its file)."""
        with self._lock:
            self._store.close()
