"""Route by meaning: example utterances per route, matched by embedding."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from langchain_core.embeddings import Embeddings
from langchain_core.runnables import RunnableConfig
from typing_extensions import override

from langchain_finops.routing import _default_routes
from langchain_finops.routing.base import RoutingClassifier, RoutingDecision

__all__ = ["DEFAULT_ROUTES", "NO_ROUTE", "IntentClassifier", "IntentRoute"]

NO_ROUTE = "no_route"
"""The label of a prompt that matched no route; it goes to the strong tier."""


@dataclass(frozen=True)
class IntentRoute:
    """A named route, the utterances that define it, and its tier.

    Attributes:
        name: The label a match reports.
        utterances: Example prompts of this route (ten are plenty).
        needs_strong: True when prompts of this route go to the strong tier.

    Example:
        ```python
        IntentRoute("refunds", ("I want my money back",), needs_strong=True)
        ```
    """

    name: str
    utterances: tuple[str, ...]
    needs_strong: bool

    def __post_init__(self) -> None:
        if not self.name:
            msg = "An IntentRoute needs a non-empty `name`."
            raise ValueError(msg)
        if isinstance(self.utterances, str) or not self.utterances:
            msg = (
                f"Route {self.name!r} needs a tuple of example utterances, "
                f"got {self.utterances!r}."
            )
            raise ValueError(msg)


DEFAULT_ROUTES: tuple[IntentRoute, ...] = (
    IntentRoute("greeting", _default_routes.GREETING, needs_strong=False),
    IntentRoute("simple_fact", _default_routes.SIMPLE_FACT, needs_strong=False),
    IntentRoute(
        "complex_reasoning", _default_routes.COMPLEX_REASONING, needs_strong=True
    ),
    IntentRoute("legal_analysis", _default_routes.LEGAL_ANALYSIS, needs_strong=True),
)


def _unit(rows: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    norms = np.linalg.norm(rows, axis=-1, keepdims=True)
    norms[norms == 0] = 1.0
    out: npt.NDArray[np.float64] = rows / norms
    return out


class IntentClassifier(RoutingClassifier):
    """Scores a prompt by which route's example utterances it is closest to.

    A route's similarity is the mean cosine of its `top_k` closest utterances.
    The best route names the label; the score is the softmax weight (at
    `temperature`) of the strong routes. A prompt whose best similarity is
    below `min_similarity` matched nothing: it gets the label `NO_ROUTE`,
    score 1.0 and a fallback reason, so an unfamiliar request is never sent
    to the cheap tier by default.

    Example:
        ```python
        from langchain_finops.routing import IntentClassifier, IntentRoute

        classifier = IntentClassifier(
            routes=[
                IntentRoute("faq", ("opening hours?", "where are you?"), False),
                IntentRoute("claims", ("my parcel arrived broken",), True),
            ]
        )
        classifier.classify("when do you open?").label  # "faq"
        ```

    Args:
        routes: The routes; the shipped greeting / simple fact (cheap) and
            complex reasoning / legal analysis (strong) routes when None.
        embeddings: Any LangChain `Embeddings`; `DefaultEmbeddings()` (local
            MiniLM) when None.
        min_similarity: Below this best similarity a prompt matches no route.
            Depends on the embedder; 0.5 suits MiniLM (chosen on CLINC150).
        top_k: Utterances averaged per route.
        temperature: Softmax temperature turning similarities into a score.

    Raises:
        ValueError: If route names repeat, or a parameter is out of range.
    """

    def __init__(
        self,
        *,
        routes: Sequence[IntentRoute] | None = None,
        embeddings: Embeddings | None = None,
        min_similarity: float = 0.5,
        top_k: int = 1,
        temperature: float = 0.05,
    ) -> None:
        routes = tuple(DEFAULT_ROUTES if routes is None else routes)
        if not routes:
            msg = "IntentClassifier needs at least one route."
            raise ValueError(msg)
        names = [r.name for r in routes]
        if len(set(names)) != len(names) or NO_ROUTE in names:
            msg = f"Route names must be unique and not {NO_ROUTE!r}; got {names}."
            raise ValueError(msg)
        if not -1.0 <= min_similarity <= 1.0:
            msg = f"`min_similarity` is a cosine in [-1, 1], got {min_similarity!r}."
            raise ValueError(msg)
        if top_k < 1:
            msg = f"`top_k` must be at least 1, got {top_k!r}."
            raise ValueError(msg)
        if temperature <= 0:
            msg = f"`temperature` must be positive, got {temperature!r}."
            raise ValueError(msg)
        if embeddings is None:
            from langchain_finops.embeddings import DefaultEmbeddings

            embeddings = DefaultEmbeddings()
        self.routes = routes
        self.embeddings = embeddings
        self.min_similarity = min_similarity
        self.top_k = top_k
        self.temperature = temperature
        self._strong = np.array([r.needs_strong for r in routes])
        # Utterances are stored route by route; each route's block starts here.
        sizes = [len(r.utterances) for r in routes]
        self._starts = np.cumsum([0, *sizes[:-1]]).astype(np.int64)
        total = sum(sizes)
        self._grid = np.full((len(routes), max(sizes)), total, dtype=np.int64)
        for route, (start, size) in enumerate(zip(self._starts, sizes, strict=True)):
            self._grid[route, :size] = np.arange(start, start + size)
        self._k = np.minimum(top_k, np.asarray(sizes)).astype(np.int64)
        self._utterances: npt.NDArray[np.float64] | None = None
        self._lock = threading.Lock()

    def _texts(self) -> list[str]:
        return [u for r in self.routes for u in r.utterances]

    def _index(self) -> npt.NDArray[np.float64]:
        # Utterances are embedded once, on first use, not in the constructor,
        # so building a router costs nothing until it routes.
        with self._lock:
            if self._utterances is None:
                vectors = self.embeddings.embed_documents(self._texts())
                self._utterances = _unit(np.asarray(vectors, dtype=np.float64))
            return self._utterances

    async def _aindex(self) -> npt.NDArray[np.float64]:
        if self._utterances is None:
            vectors = await self.embeddings.aembed_documents(self._texts())
            with self._lock:
                if self._utterances is None:
                    self._utterances = _unit(np.asarray(vectors, dtype=np.float64))
        return self._utterances

    def route_similarities(
        self, query: npt.NDArray[np.float64], index: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.float64]:
        """Each route's similarity to one embedded query (mean of its top k)."""
        cosines = index @ _unit(query)
        if self.top_k == 1:
            out: npt.NDArray[np.float64] = np.maximum.reduceat(cosines, self._starts)
            return out
        # One row per route, padded with -inf: a descending sort then puts
        # each route's own cosines first, and a running sum up to its k-th
        # gives the mean of its top k in one vectorised step.
        padded = np.append(cosines, -np.inf)[self._grid]
        ordered = -np.sort(-padded, axis=1)
        ordered[np.isinf(ordered)] = 0.0
        sums = np.take_along_axis(
            np.cumsum(ordered, axis=1), (self._k - 1)[:, None], axis=1
        )[:, 0]
        out = sums / self._k
        return out

    def _decide(self, similarities: npt.NDArray[np.float64]) -> RoutingDecision:
        best = int(np.argmax(similarities))
        if similarities[best] < self.min_similarity:
            reason = (
                f"no route matched: the closest, {self.routes[best].name!r}, has "
                f"similarity {similarities[best]:.3f} < {self.min_similarity}"
            )
            return RoutingDecision(score=1.0, label=NO_ROUTE, fallback_reason=reason)
        logits = (similarities - similarities[best]) / self.temperature
        weights = np.exp(logits)
        score = float(weights[self._strong].sum() / weights.sum())
        return RoutingDecision(score=score, label=self.routes[best].name)

    @override
    def classify(
        self, prompt: str, config: RunnableConfig | None = None
    ) -> RoutingDecision:
        index = self._index()
        query = np.asarray(self.embeddings.embed_query(prompt), dtype=np.float64)
        return self._decide(self.route_similarities(query, index))

    @override
    async def aclassify(
        self, prompt: str, config: RunnableConfig | None = None
    ) -> RoutingDecision:
        index = await self._aindex()
        vector = await self.embeddings.aembed_query(prompt)
        query = np.asarray(vector, dtype=np.float64)
        return self._decide(self.route_similarities(query, index))

    def classify_many(self, prompts: Sequence[str]) -> list[RoutingDecision]:
        """`classify` of many prompts, embedded in one batch."""
        index = self._index()
        queries = np.asarray(self.embeddings.embed_documents(list(prompts)))
        return [self._decide(self.route_similarities(q, index)) for q in queries]

    @override
    def scores(self, prompts: Sequence[str]) -> list[float]:
        return [d.score for d in self.classify_many(prompts)]
