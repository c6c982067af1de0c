"""The model router: one decision per call, one of several tiers answers."""

from __future__ import annotations

import bisect
import logging
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import (
    BaseMessage,
    BaseMessageChunk,
    HumanMessage,
    convert_to_messages,
)
from langchain_core.prompt_values import PromptValue
from langchain_core.runnables import (
    Runnable,
    RunnableBranch,
    RunnableConfig,
    RunnableLambda,
)
from langchain_core.runnables.config import (
    ensure_config,
    get_async_callback_manager_for_config,
    get_callback_manager_for_config,
    patch_config,
)
from typing_extensions import override

from langchain_finops.costs.events import (
    ROUTING_METADATA_KEY,
    SavingReport,
    areport_saving,
    report_saving,
)
from langchain_finops.costs.tokens import count_tokens
from langchain_finops.routing._calibration import thresholds_for_shares
from langchain_finops.routing.base import (
    RoutingClassifier,
    RoutingDecision,
    prompt_text,
)

__all__ = ["ModelRouter", "RouteChoice", "create_model_router"]

logger = logging.getLogger(__name__)

SESSION_KEY = "session_id"
# Sticky sessions are remembered in memory; the oldest are forgotten first so a
# long-running service does not grow without bound.
MAX_SESSIONS = 10_000


@dataclass(frozen=True)
class RouteChoice:
    """Where one call went and why; what the ledger and the reply carry.

    Attributes:
        tier: Index of the chosen tier, 0 the cheapest.
        model: The chosen tier's model name.
        score: The classifier's score.
        label: The classifier's label.
        reason: Why this tier: "score", "classifier fallback: ...",
            "context window: ..." or "sticky session: ...".
        escalations: Reasons the tier was raised above what the score chose.

    Example:
        ```python
        choice = router.decide("hi")
        choice.model, choice.score, choice.reason  # ("gpt-4o-mini", 0.12, "score")
        ```
    """

    tier: int
    model: str
    score: float
    label: str
    reason: str
    escalations: tuple[str, ...] = field(default=())

    def as_detail(self) -> dict[str, Any]:
        """The decision as the plain dict the ledger and metadata carry."""
        return {
            "tier": self.model,
            "tier_index": self.tier,
            "score": self.score,
            "label": self.label,
            "reason": self.reason,
        }


def _model_name(runnable: Runnable[Any, Any]) -> str | None:
    for attribute in ("model_name", "model", "model_id", "deployment_name"):
        value = getattr(runnable, attribute, None)
        if isinstance(value, str) and value:
            return value
    # Look through `model.bind(...)`, `with_config` and `prompt | model`.
    for inner in ("bound", "first", "last"):
        child = getattr(runnable, inner, None)
        if isinstance(child, Runnable):
            name = _model_name(child)
            if name:
                return name
    return None


def _profile_window(runnable: Runnable[Any, Any]) -> int | None:
    while not isinstance(runnable, BaseChatModel):
        bound = getattr(runnable, "bound", None)
        if not isinstance(bound, Runnable):
            return None
        runnable = bound
    profile = runnable.profile or {}
    window = profile.get("max_input_tokens")
    return int(window) if isinstance(window, int) else None


def _as_countable(value: Any) -> str | PromptValue | list[BaseMessage]:
    # A string reaches a chat model as one human message, framing included.
    if isinstance(value, str):
        return [HumanMessage(value)]
    if isinstance(value, PromptValue):
        return value
    if isinstance(value, BaseMessage):
        return [value]
    return list(convert_to_messages(value))


def _is_tier(index: int) -> Runnable[dict[str, Any], bool]:
    def condition(value: dict[str, Any]) -> bool:
        return bool(value["tier"] == index)

    return RunnableLambda(condition, name=f"is_tier_{index}")


def _prompt_of() -> Runnable[dict[str, Any], Any]:
    def prompt(value: dict[str, Any]) -> Any:
        return value["input"]

    return RunnableLambda(prompt, name="prompt")


def _decision_config(config: RunnableConfig, choice: RouteChoice) -> RunnableConfig:
    # The decision also rides in the run metadata of the tier's runs, so a
    # tracer shows it on the model call itself.
    metadata = {
        **(config.get("metadata") or {}),
        ROUTING_METADATA_KEY: choice.as_detail(),
    }
    return {**config, "metadata": metadata}


def _with_routing_metadata(output: Any, detail: dict[str, Any]) -> Any:
    if isinstance(output, BaseMessage):
        metadata = {**output.response_metadata, ROUTING_METADATA_KEY: detail}
        return output.model_copy(update={"response_metadata": metadata})
    return output


class ModelRouter(Runnable[LanguageModelInput, Any]):
    """Sends each call to the cheapest tier its classifier judges good enough.

    Build it with `create_model_router`. It takes what a chat model takes and
    returns what the chosen tier returns, streamed when streamed. The decision
    is made once per call, reported to the cost ledger against the strongest
    tier, and written into the reply's `response_metadata["finops_routing"]`.

    Example:
        ```python
        router = create_model_router(cheap=mini, strong=big)
        router.calibrate(last_weeks_prompts, strong_share=0.25)
        router.invoke("What is the capital of France?")
        ```
    """

    def __init__(
        self,
        *,
        tiers: Sequence[Runnable[Any, Any]],
        tier_names: Sequence[str],
        classifier: RoutingClassifier,
        thresholds: Sequence[float],
        context_windows: Sequence[int | None],
        sticky_sessions: bool,
        fallback_exceptions: tuple[type[BaseException], ...],
        name: str | None = None,
    ) -> None:
        self.tiers = tuple(tiers)
        self.tier_names = tuple(tier_names)
        self.classifier = classifier
        self.context_windows = tuple(context_windows)
        self.sticky_sessions = sticky_sessions
        self.fallback_exceptions = fallback_exceptions
        self.name = name or "ModelRouter"
        self._set_thresholds(thresholds)
        self._sessions: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()
        # The branch receives {"tier": i, "input": ...}: the decision is taken
        # (and reported) once, above it, instead of in each condition.
        branches: list[Any] = [
            (_is_tier(index), _prompt_of() | tier)
            for index, tier in enumerate(self.tiers[:-1])
        ]
        default = _prompt_of() | self.tiers[-1]
        self.branch: RunnableBranch[Any, Any] = RunnableBranch(*branches, default)

    # ----- configuration -------------------------------------------------

    def _set_thresholds(self, thresholds: Sequence[float]) -> None:
        values = [float(t) for t in thresholds]
        if len(values) != len(self.tiers) - 1:
            msg = (
                f"{len(self.tiers)} tiers need {len(self.tiers) - 1} thresholds, "
                f"got {len(values)}: {values}."
            )
            raise ValueError(msg)
        for value in values:
            if not 0.0 <= value <= 1.0:
                msg = f"A threshold must be between 0 and 1, got {value!r}."
                raise ValueError(msg)
        if values != sorted(values):
            msg = f"Thresholds must ascend from the cheapest tier up, got {values}."
            raise ValueError(msg)
        self.thresholds = tuple(values)

    @property
    def threshold(self) -> float:
        """The strong tier's score threshold (routers of two tiers)."""
        if len(self.thresholds) != 1:
            msg = f"This router has {len(self.tiers)} tiers; read `thresholds`."
            raise AttributeError(msg)
        return self.thresholds[0]

    def strong_share_for_cost(
        self,
        cost_share: float,
        sample_prompts: Sequence[Any],
        *,
        output_tokens: int = 250,
        price_overrides: Mapping[str, Mapping[str, object]] | None = None,
    ) -> float:
        """The strong share at which a call costs `cost_share` of always-strong.

        With cheap and strong prices c and s for a typical call of the sample
        (its mean input tokens, `output_tokens` out), a strong share x costs
        (1 - x) c + x s; solving for `cost_share * s` gives x. At gpt-4o-mini
        / gpt-4o list prices (c / s = 0.06), a 70% cut (`cost_share=0.3`)
        allows 25.5%.

        Args:
            cost_share: Target cost per call as a share of the strongest tier's.
            sample_prompts: Traffic like the router's, for the input size.
            output_tokens: Expected reply length, in tokens.
            price_overrides: USD per million tokens by model, as for
                `CostCallbackHandler`; `genai-prices` otherwise.

        Returns:
            The share of calls the strong tier may take, in [0, 1].

        Raises:
            ValueError: If the router has more than two tiers, a tier is
                unpriced, or the target is below the all-cheap cost.
        """
        from langchain_finops.costs.prices import PriceTable, TokenUsage

        if len(self.tiers) != 2:
            msg = "`cost_share` calibrates two tiers; use `tier_shares` for more."
            raise ValueError(msg)
        if not sample_prompts:
            msg = "calibrate() needs at least one sample prompt."
            raise ValueError(msg)
        table = PriceTable(overrides=price_overrides)
        costs = []
        for name in self.tier_names:
            tokens = [
                int(count_tokens(_as_countable(p), model=name)) for p in sample_prompts
            ]
            usage = TokenUsage(
                input_tokens=round(sum(tokens) / len(tokens)),
                output_tokens=output_tokens,
            )
            cost = table.cost(name, usage)
            if cost is None:
                msg = (
                    f"Cannot price {name!r} to turn a cost share into a strong "
                    "share; pass `price_overrides={name: {'input': ..., "
                    "'output': ...}}` (USD per million tokens)."
                )
                raise ValueError(msg)
            costs.append(float(cost))
        if costs[1] == 0:
            msg = f"{self.tier_names[1]!r} is priced at $0; a cost share of it is 0."
            raise ValueError(msg)
        ratio = costs[0] / costs[1]
        if cost_share < ratio:
            msg = (
                f"A cost share of {cost_share} is below what sending every call "
                f"to {self.tier_names[0]} costs ({ratio:.3f} of "
                f"{self.tier_names[1]}); no strong share reaches it."
            )
            raise ValueError(msg)
        if ratio >= 1.0:
            return 1.0
        return min(1.0, (cost_share - ratio) / (1.0 - ratio))

    def calibrate(
        self,
        sample_prompts: Sequence[Any],
        strong_share: float | None = 0.25,
        *,
        tier_shares: Sequence[float] | None = None,
        cost_share: float | None = None,
        price_overrides: Mapping[str, Mapping[str, object]] | None = None,
    ) -> tuple[float, ...]:
        """Set the thresholds so that a share of similar traffic goes up.

        The cutoff is a quantile of the classifier's scores on the sample, so
        the realised share on traffic like the sample lands near the target
        whatever the classifier's own calibration.

        Args:
            sample_prompts: Prompts like the ones the router will see
                (strings, messages or prompt values); a few hundred suffice.
            strong_share: Share of calls for the strongest tier (two tiers).
            tier_shares: For three or more tiers, the share of each tier above
                the cheapest, cheapest first.
            cost_share: A budget instead of a share (two tiers): the average
                cost per call as a share of always using the strong tier
                (0.3 for a 70% cut); see `strong_share_for_cost`.
            price_overrides: Prices for `cost_share`, USD per million tokens.

        Returns:
            The new thresholds.

        Raises:
            ValueError: If the sample is empty or the shares are invalid.
        """
        if cost_share is not None:
            strong_share = self.strong_share_for_cost(
                cost_share, sample_prompts, price_overrides=price_overrides
            )
        if tier_shares is None:
            if len(self.tiers) != 2 or strong_share is None:
                msg = (
                    f"A router of {len(self.tiers)} tiers is calibrated with "
                    f"`tier_shares` (one share per tier above the cheapest)."
                )
                raise ValueError(msg)
            tier_shares = [strong_share]
        if len(tier_shares) != len(self.tiers) - 1:
            msg = (
                f"`tier_shares` needs {len(self.tiers) - 1} values, "
                f"got {list(tier_shares)}."
            )
            raise ValueError(msg)
        texts = [prompt_text(p) for p in sample_prompts]
        scores = self.classifier.scores(texts)
        self._set_thresholds(thresholds_for_shares(scores, list(tier_shares)))
        return self.thresholds

    # ----- the decision --------------------------------------------------

    def _session(self, config: RunnableConfig) -> str | None:
        if not self.sticky_sessions:
            return None
        configurable = config.get("configurable") or {}
        metadata = config.get("metadata") or {}
        session = configurable.get(SESSION_KEY, metadata.get(SESSION_KEY))
        return None if session is None else str(session)

    def finish(
        self, value: Any, decision: RoutingDecision, session: str | None = None
    ) -> RouteChoice:
        """Turn a classifier's verdict into a tier, applying the safety nets.

        A fallback reason sends the call to the strongest tier; a prompt too
        long for the chosen tier's context window goes up; with sticky
        sessions, `session` never goes below the tier it already used.

        Args:
            value: The router input (counted against context windows).
            decision: The classifier's verdict.
            session: The session id, for sticky sessions.

        Returns:
            The decision.

        Raises:
            ValueError: If the prompt fits no tier's context window.
        """
        escalations: list[str] = []
        if decision.fallback_reason is not None:
            tier = len(self.tiers) - 1
            reason = f"classifier fallback: {decision.fallback_reason}"
        else:
            tier = bisect.bisect_right(self.thresholds, decision.score)
            reason = "score"
        tier = self._fit_context(value, tier, escalations)
        if session is not None and self.sticky_sessions:
            with self._lock:
                earlier = self._sessions.pop(session, 0)
                if earlier > tier:
                    escalations.append(
                        f"sticky session: {session!r} already used "
                        f"{self.tier_names[earlier]}"
                    )
                    tier = earlier
                self._sessions[session] = tier
                while len(self._sessions) > MAX_SESSIONS:
                    self._sessions.popitem(last=False)
        if escalations:
            reason = escalations[-1]
        return RouteChoice(
            tier=tier,
            model=self.tier_names[tier],
            score=decision.score,
            label=decision.label,
            reason=reason,
            escalations=tuple(escalations),
        )

    def _fit_context(self, value: Any, tier: int, escalations: list[str]) -> int:
        windows = self.context_windows
        if all(w is None for w in windows[tier:]):
            return tier
        countable = _as_countable(value)
        start = tier
        first_count = 0
        while tier < len(self.tiers):
            window = windows[tier]
            # A tier of unknown window is assumed to fit.
            tokens = (
                0
                if window is None
                else int(count_tokens(countable, model=self.tier_names[tier]))
            )
            if tier == start:
                first_count = tokens
            if window is None or tokens <= window:
                if tier != start:
                    escalations.append(
                        f"context window: {first_count} tokens exceed "
                        f"{self.tier_names[start]}'s {windows[start]}"
                    )
                return tier
            tier += 1
        msg = (
            f"The prompt ({tokens} tokens for {self.tier_names[-1]}) fits the context "
            f"window of no tier (largest: {max(w or 0 for w in windows)} tokens). "
            "Shorten it or add a tier with a larger window."
        )
        raise ValueError(msg)

    def decide(self, value: Any, config: RunnableConfig | None = None) -> RouteChoice:
        """The tier a call would go to, without calling any tier.

        Args:
            value: A router input.
            config: The run config (its session id for sticky sessions).

        Returns:
            The decision.
        """
        config = ensure_config(config)
        decision = self.classifier.classify(prompt_text(value), config)
        return self.finish(value, decision, self._session(config))

    async def adecide(
        self, value: Any, config: RunnableConfig | None = None
    ) -> RouteChoice:
        """Async twin of `decide`."""
        config = ensure_config(config)
        decision = await self.classifier.aclassify(prompt_text(value), config)
        return self.finish(value, decision, self._session(config))

    def report(self, choice: RouteChoice) -> SavingReport:
        """The ledger's saving report for a decision (baseline: strongest tier)."""
        return {
            "technique": "routing",
            "baseline_model": self.tier_names[-1],
            "detail": choice.as_detail(),
        }

    def fell_back(self, tier: int, error: BaseException) -> None:
        """Log that `tier` failed and the next one answers."""
        logger.warning(
            "Tier %s failed (%s); the next tier, %s, answers instead.",
            self.tier_names[tier],
            type(error).__name__,
            self.tier_names[tier + 1],
        )

    @staticmethod
    def _answer_detail(
        choice: RouteChoice, tier: int, failed: list[str]
    ) -> dict[str, Any]:
        detail = choice.as_detail()
        if failed:
            detail["failed_tiers"] = list(failed)
            detail["answered_by"] = tier
        return detail

    # ----- running -------------------------------------------------------

    def _run(
        self, value: LanguageModelInput, config: RunnableConfig, **kwargs: Any
    ) -> Any:
        choice = self.decide(value, config)
        report_saving(self.report(choice), config)
        config = _decision_config(config, choice)
        failed: list[str] = []
        for tier in range(choice.tier, len(self.tiers)):
            try:
                output = self.branch.invoke({"tier": tier, "input": value}, config)
            except self.fallback_exceptions as error:
                if tier == len(self.tiers) - 1:
                    raise
                self.fell_back(tier, error)
                failed.append(self.tier_names[tier])
                continue
            return _with_routing_metadata(
                output, self._answer_detail(choice, tier, failed)
            )
        raise AssertionError("unreachable: the last tier returns or raises")

    async def _arun(
        self, value: LanguageModelInput, config: RunnableConfig, **kwargs: Any
    ) -> Any:
        choice = await self.adecide(value, config)
        await areport_saving(self.report(choice), config)
        config = _decision_config(config, choice)
        failed: list[str] = []
        for tier in range(choice.tier, len(self.tiers)):
            try:
                output = await self.branch.ainvoke(
                    {"tier": tier, "input": value}, config
                )
            except self.fallback_exceptions as error:
                if tier == len(self.tiers) - 1:
                    raise
                self.fell_back(tier, error)
                failed.append(self.tier_names[tier])
                continue
            return _with_routing_metadata(
                output, self._answer_detail(choice, tier, failed)
            )
        raise AssertionError("unreachable: the last tier returns or raises")

    @override
    def invoke(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        **kwargs: Any,
    ) -> Any:
        return self._call_with_config(
            lambda value, config: self._run(value, config),
            input,
            config,
            run_type="chain",
        )

    @override
    async def ainvoke(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        **kwargs: Any,
    ) -> Any:
        return await self._acall_with_config(
            lambda value, config: self._arun(value, config),
            input,
            config,
            run_type="chain",
        )

    @override
    def stream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        **kwargs: Any,
    ) -> Iterator[Any]:
        config = ensure_config(config)
        manager = get_callback_manager_for_config(config)
        run = manager.on_chain_start(
            None, {"input": input}, name=config.get("run_name") or self.get_name()
        )
        child = patch_config(config, callbacks=run.get_child())
        final: Any = None
        try:
            choice = self.decide(input, child)
            report_saving(self.report(choice), child)
            child = _decision_config(child, choice)
            failed: list[str] = []
            for tier in range(choice.tier, len(self.tiers)):
                chunks = self.branch.stream({"tier": tier, "input": input}, child)
                try:
                    first = next(chunks)
                except StopIteration:
                    break
                except self.fallback_exceptions as error:
                    if tier == len(self.tiers) - 1:
                        raise
                    self.fell_back(tier, error)
                    failed.append(self.tier_names[tier])
                    continue
                detail = self._answer_detail(choice, tier, failed)
                first = _with_routing_metadata(first, detail)
                final = first
                yield first
                for chunk in chunks:
                    final = _add(final, chunk)
                    yield chunk
                break
        except BaseException as error:
            run.on_chain_error(error)
            raise
        run.on_chain_end(final)

    @override
    async def astream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[Any]:
        config = ensure_config(config)
        manager = get_async_callback_manager_for_config(config)
        run = await manager.on_chain_start(
            None, {"input": input}, name=config.get("run_name") or self.get_name()
        )
        child = patch_config(config, callbacks=run.get_child())
        final: Any = None
        try:
            choice = await self.adecide(input, child)
            await areport_saving(self.report(choice), child)
            child = _decision_config(child, choice)
            failed: list[str] = []
            for tier in range(choice.tier, len(self.tiers)):
                chunks = self.branch.astream({"tier": tier, "input": input}, child)
                try:
                    first = await anext(chunks)
                except StopAsyncIteration:
                    break
                except self.fallback_exceptions as error:
                    if tier == len(self.tiers) - 1:
                        raise
                    self.fell_back(tier, error)
                    failed.append(self.tier_names[tier])
                    continue
                detail = self._answer_detail(choice, tier, failed)
                first = _with_routing_metadata(first, detail)
                final = first
                yield first
                async for chunk in chunks:
                    final = _add(final, chunk)
                    yield chunk
                break
        except BaseException as error:
            await run.on_chain_error(error)
            raise
        await run.on_chain_end(final)


def _add(total: Any, chunk: Any) -> Any:
    # Chunks that add (message chunks, strings) are joined for the run's
    # recorded output; anything else is recorded as its last chunk.
    if isinstance(total, str) and isinstance(chunk, str):
        return total + chunk
    if isinstance(total, BaseMessageChunk) and isinstance(chunk, BaseMessageChunk):
        return total + chunk
    return chunk


def _windows(
    context_windows: Mapping[str, int] | Sequence[int | None] | None,
    tiers: Sequence[Runnable[Any, Any]],
    names: Sequence[str],
) -> list[int | None]:
    if context_windows is None:
        return [_profile_window(t) for t in tiers]
    if isinstance(context_windows, Mapping):
        unknown = set(context_windows) - set(names)
        if unknown:
            msg = (
                f"`context_windows` names {sorted(unknown)}, which are not tiers; "
                f"the tiers are {list(names)}."
            )
            raise ValueError(msg)
        return [
            context_windows.get(n, _profile_window(t))
            for n, t in zip(names, tiers, strict=True)
        ]
    windows = list(context_windows)
    if len(windows) != len(tiers):
        msg = f"`context_windows` has {len(windows)} values for {len(tiers)} tiers."
        raise ValueError(msg)
    return windows


def create_model_router(
    tiers: Sequence[Runnable[Any, Any]] | None = None,
    *,
    cheap: Runnable[Any, Any] | None = None,
    strong: Runnable[Any, Any] | None = None,
    classifier: RoutingClassifier | None = None,
    threshold: float | None = None,
    thresholds: Sequence[float] | None = None,
    strong_share: float | None = None,
    calibration_prompts: Sequence[Any] | None = None,
    tier_names: Sequence[str] | None = None,
    context_windows: Mapping[str, int] | Sequence[int | None] | None = None,
    sticky_sessions: bool = False,
    fallback_exceptions: tuple[type[BaseException], ...] = (Exception,),
    name: str | None = None,
) -> ModelRouter:
    """Build a router that sends each call to the cheapest good-enough tier.

    Args:
        tiers: Two or more chat models (or runnables ending in one), cheapest
            first. Or give `cheap` and `strong` instead.
        cheap: The cheap tier of a two-tier router.
        strong: The strong tier of a two-tier router.
        classifier: Scores each prompt; `LearnedComplexityClassifier()` when None.
        threshold: Score at and above which a two-tier router goes strong.
        thresholds: One ascending cutoff per tier above the cheapest.
        strong_share: Target share of calls for the strong tier; needs
            `calibration_prompts` to set the threshold from.
        calibration_prompts: Sample traffic for `strong_share`.
        tier_names: Model names for the ledger, when they cannot be read from
            the tiers.
        context_windows: Input-token limits per tier (by name or in order);
            read from each model's `profile` when not given. A prompt that
            does not fit a tier goes to the next one.
        sticky_sessions: Never send a session to a lower tier than it already
            used; the session is `config["configurable"]["session_id"]`.
        fallback_exceptions: Errors of a tier after which the next tier answers.
        name: The run name shown in traces.

    Returns:
        The router, a `Runnable`; its classifier is `router.classifier`.

    Raises:
        ValueError: If fewer than two tiers are given, both `tiers` and
            `cheap` / `strong` are given, a model name cannot be read, or the
            thresholds or shares are invalid.
        TypeError: If a tier is not a `Runnable`.
    """
    if tiers is not None and (cheap is not None or strong is not None):
        msg = "Pass either `tiers` or `cheap=` and `strong=`, not both."
        raise ValueError(msg)
    if tiers is None:
        if cheap is None or strong is None:
            msg = (
                "create_model_router() needs `tiers=[...]` or both `cheap=` "
                "and `strong=`."
            )
            raise ValueError(msg)
        tiers = [cheap, strong]
    tiers = list(tiers)
    if len(tiers) < 2:
        msg = f"A router needs at least two tiers, got {len(tiers)}."
        raise ValueError(msg)
    for index, tier in enumerate(tiers):
        if not isinstance(tier, Runnable):
            msg = f"Tier {index} is a {type(tier).__name__}, not a LangChain Runnable."
            raise TypeError(msg)
    if tier_names is None:
        found = [_model_name(t) for t in tiers]
        missing = [i for i, n in enumerate(found) if n is None]
        if missing:
            msg = (
                f"Cannot read the model name of tier(s) {missing}; pass "
                "`tier_names=[...]` so the ledger can price each tier."
            )
            raise ValueError(msg)
        tier_names = [n for n in found if n is not None]
    elif len(tier_names) != len(tiers):
        msg = f"`tier_names` has {len(tier_names)} names for {len(tiers)} tiers."
        raise ValueError(msg)
    if classifier is None:
        from langchain_finops.routing.learned import LearnedComplexityClassifier

        classifier = LearnedComplexityClassifier()
    given = [x is not None for x in (threshold, thresholds, strong_share)]
    if sum(given) > 1:
        msg = "Pass at most one of `threshold`, `thresholds` and `strong_share`."
        raise ValueError(msg)
    if threshold is not None:
        cutoffs: Sequence[float] = [threshold]
    elif thresholds is not None:
        cutoffs = thresholds
    elif len(tiers) == 2:
        cutoffs = [classifier.default_threshold]
    elif strong_share is None:
        msg = (
            f"A router of {len(tiers)} tiers needs `thresholds` (one per tier above "
            "the cheapest), or calibrate it with "
            "router.calibrate(..., tier_shares=...)."
        )
        raise ValueError(msg)
    else:
        cutoffs = [1.0] * (len(tiers) - 1)
    router = ModelRouter(
        tiers=tiers,
        tier_names=tier_names,
        classifier=classifier,
        thresholds=cutoffs,
        context_windows=_windows(context_windows, tiers, tier_names),
        sticky_sessions=sticky_sessions,
        fallback_exceptions=fallback_exceptions,
        name=name,
    )
    if strong_share is not None:
        if not calibration_prompts:
            msg = (
                "`strong_share` sets the threshold from sample traffic: pass "
                "`calibration_prompts=[...]`, or call router.calibrate(...) later."
            )
            raise ValueError(msg)
        if len(tiers) != 2:
            msg = (
                "`strong_share` is for two tiers; "
                "use router.calibrate(tier_shares=...)."
            )
            raise ValueError(msg)
        router.calibrate(calibration_prompts, strong_share)
    return router
