"""The router's classifiers in LangChain 1.x agents.

Two ways in: `RoutingDecisionModel` is a `BaseDecisionModel`, so it drives
LangChain's own (beta) `ModelRouterMiddleware`; `CostRouterMiddleware` is
this package's middleware, which adds what that one lacks: the cost ledger,
fallback to the next tier, context-window escalation and sticky sessions.
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NotRequired

from langchain.agents.middleware import AgentMiddleware, AgentState
from langchain.agents.middleware.types import ModelRequest, ModelResponse
from langchain_core.decisions import BaseDecisionModel
from langchain_core.decisions.types import (
    Choice,
    ChoiceAnswer,
    ClassifierResponse,
    Noul,
    NoulAnswer,
    Question,
    State,
)
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.runnables.config import ensure_config
from pydantic import ConfigDict, Field
from typing_extensions import override

from langchain_finops.costs.events import (
    ROUTING_METADATA_KEY,
    areport_saving,
    report_saving,
)
from langchain_finops.routing.base import (
    RoutingClassifier,
    RoutingDecision,
    prompt_text,
)
from langchain_finops.routing.router import (
    ModelRouter,
    RouteChoice,
    create_model_router,
)

__all__ = ["CostRouterMiddleware", "RoutingDecisionModel"]

logger = logging.getLogger(__name__)


def _state_text(state: State) -> str:
    if isinstance(state, str):
        return state
    if isinstance(state, BaseMessage):
        return state.text
    if isinstance(state, dict) and "messages" in state:
        return prompt_text(state["messages"])
    if isinstance(state, Sequence):
        return prompt_text(list(state))
    msg = f"RoutingDecisionModel cannot read a prompt from a {type(state).__name__}."
    raise TypeError(msg)


class RoutingDecisionModel(BaseDecisionModel):
    """A routing classifier as a LangChain decision model, offline.

    For `ModelRouterMiddleware`, list its `choices` cheapest first: a `Choice`
    question is answered by the tier the score reaches (`thresholds`, one per
    label above the cheapest; the classifier's default threshold for two).
    A `Noul` question is answered with the score itself. A classifier
    fallback (no route matched, unknown label) picks the last label.

    Example:
        ```python
        from langchain.agents.middleware import ModelChoice, ModelRouterMiddleware
        from langchain_finops.routing import RoutingDecisionModel

        router = ModelRouterMiddleware(
            choices={
                "fast": ModelChoice(model=mini, criteria="simple requests"),
                "powerful": ModelChoice(model=big, criteria="hard requests"),
            },
            instructions="Pick the cheapest model that can answer.",
            classifier=RoutingDecisionModel(),
        )
        ```

    Args:
        classifier: The routing classifier; `LearnedComplexityClassifier()`
            when None.
        thresholds: Score cutoffs for labels above the cheapest.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model: str = "langchain-finops-router"
    classifier: Any = Field(default=None, exclude=True)
    thresholds: tuple[float, ...] | None = None

    def model_post_init(self, context: Any, /) -> None:
        """Load the default classifier when none was given, and check its type."""
        if self.classifier is None:
            from langchain_finops.routing.learned import LearnedComplexityClassifier

            self.classifier = LearnedComplexityClassifier()
        if not isinstance(self.classifier, RoutingClassifier):
            msg = (
                "`classifier` must be a RoutingClassifier, got "
                f"{type(self.classifier).__name__}."
            )
            raise TypeError(msg)

    @property
    @override
    def _provider(self) -> str:
        return "langchain_finops"

    def _choice(self, decision: RoutingDecision, question: Choice) -> ChoiceAnswer:
        labels = list(question.criteria)
        if decision.fallback_reason is not None:
            index = len(labels) - 1
        else:
            cutoffs = self.thresholds
            if cutoffs is None:
                if len(labels) > 2:
                    msg = (
                        f"{len(labels)} choices need `thresholds` (one per choice "
                        "above the cheapest) on RoutingDecisionModel."
                    )
                    raise ValueError(msg)
                cutoffs = (self.classifier.default_threshold,)
            if len(cutoffs) != len(labels) - 1:
                msg = (
                    f"{len(labels)} choices need {len(labels) - 1} thresholds, "
                    f"got {cutoffs}."
                )
                raise ValueError(msg)
            index = min(bisect.bisect_right(cutoffs, decision.score), len(labels) - 1)
        if len(labels) == 2:
            probabilities = {labels[0]: 1.0 - decision.score, labels[1]: decision.score}
        else:
            # One score cannot spread mass over many labels; the chosen one
            # gets it all and `confidence` says how far the score is from 0.5.
            probabilities = {label: float(i == index) for i, label in enumerate(labels)}
        confidence = max(decision.score, 1.0 - decision.score)
        return ChoiceAnswer(
            type="choice",
            choice=labels[index],
            probabilities=probabilities,
            confidence=confidence,
        )

    def _answer(
        self, decision: RoutingDecision, questions: dict[str, Question]
    ) -> ClassifierResponse:
        answers: dict[str, Any] = {}
        for key, question in questions.items():
            if isinstance(question, Noul):
                answers[key] = NoulAnswer(type="noul", noul=decision.score)
            elif isinstance(question, Choice):
                answers[key] = self._choice(decision, question)
            else:
                msg = (
                    f"RoutingDecisionModel answers Choice and Noul questions; "
                    f"{key!r} is a {type(question).__name__}."
                )
                raise NotImplementedError(msg)
        return ClassifierResponse(model=self.model, answers=answers)

    @override
    def _classify(
        self, state: State, questions: dict[str, Question]
    ) -> ClassifierResponse:
        return self._answer(self.classifier.classify(_state_text(state)), questions)

    @override
    async def _aclassify(
        self, state: State, questions: dict[str, Question]
    ) -> ClassifierResponse:
        decision = await self.classifier.aclassify(_state_text(state))
        return self._answer(decision, questions)


class _RouteState(AgentState[Any]):
    finops_route: NotRequired[dict[str, Any]]


def _latest_human(messages: Sequence[BaseMessage]) -> str:
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            return message.text
    msg = "CostRouterMiddleware routes on a human message; the agent state has none."
    raise ValueError(msg)


class CostRouterMiddleware(AgentMiddleware[_RouteState]):
    """Routes an agent's model calls to tiers, and books the saving.

    The latest human message is classified once per agent run (before the
    first model call); every model call of the run then goes to the chosen
    tier, or higher when the conversation outgrows its context window. A
    failing tier hands over to the next one. Each call reports the routing
    saving against the strongest tier to the cost ledger, and the reply
    carries the decision in `response_metadata["finops_routing"]`. With
    `sticky_sessions`, a thread (`config["configurable"]["thread_id"]`) never
    goes below a tier it used.

    Example:
        ```python
        from langchain.agents import create_agent
        from langchain_finops.routing import CostRouterMiddleware

        agent = create_agent(
            mini, tools=[...], middleware=[CostRouterMiddleware(cheap=mini, strong=big)]
        )
        ```

    Args:
        tiers: Chat models, cheapest first (or `cheap` and `strong`).
        cheap: The cheap tier.
        strong: The strong tier.
        **router_options: Anything `create_model_router` takes (`classifier`,
            `threshold`, `context_windows`, `sticky_sessions`, ...).
    """

    state_schema = _RouteState

    def __init__(
        self,
        *,
        tiers: Sequence[BaseChatModel] | None = None,
        cheap: BaseChatModel | None = None,
        strong: BaseChatModel | None = None,
        **router_options: Any,
    ) -> None:
        self.router: ModelRouter = create_model_router(
            tiers, cheap=cheap, strong=strong, **router_options
        )
        self.classifier = self.router.classifier

    @staticmethod
    def _stored(state: Any) -> RoutingDecision:
        route = state.get("finops_route")
        if route is None:
            msg = "CostRouterMiddleware found no routing decision in the agent state."
            raise RuntimeError(msg)
        return RoutingDecision(
            score=route["score"],
            label=route["label"],
            fallback_reason=route.get("fallback_reason"),
        )

    @staticmethod
    def _as_state(decision: RoutingDecision) -> dict[str, Any]:
        return {
            "finops_route": {
                "score": decision.score,
                "label": decision.label,
                "fallback_reason": decision.fallback_reason,
            }
        }

    @override
    def before_agent(self, state: _RouteState, runtime: Any) -> dict[str, Any]:
        text = _latest_human(state["messages"])
        return self._as_state(self.classifier.classify(text, ensure_config()))

    @override
    async def abefore_agent(self, state: _RouteState, runtime: Any) -> dict[str, Any]:
        text = _latest_human(state["messages"])
        return self._as_state(await self.classifier.aclassify(text, ensure_config()))

    def _choice(self, request: ModelRequest[Any]) -> RouteChoice:
        config = ensure_config()
        thread = (config.get("configurable") or {}).get("thread_id")
        session = None if thread is None else str(thread)
        return self.router.finish(
            request.messages, self._stored(request.state), session
        )

    def _tag(self, response: ModelResponse[Any], detail: dict[str, Any]) -> None:
        for index, message in enumerate(response.result):
            if isinstance(message, AIMessage):
                metadata = {**message.response_metadata, ROUTING_METADATA_KEY: detail}
                response.result[index] = message.model_copy(
                    update={"response_metadata": metadata}
                )

    @override
    def wrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], ModelResponse[Any]],
    ) -> ModelResponse[Any]:
        choice = self._choice(request)
        report_saving(self.router.report(choice))
        last = len(self.router.tiers) - 1
        for tier in range(choice.tier, last + 1):
            model = self.router.tiers[tier]
            try:
                response = handler(request.override(model=model))  # type: ignore[arg-type]
            except self.router.fallback_exceptions as error:
                if tier == last:
                    raise
                self.router.fell_back(tier, error)
                continue
            self._tag(response, {**choice.as_detail(), "answered_by": tier})
            return response
        raise AssertionError("unreachable: the last tier returns or raises")

    @override
    async def awrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], Awaitable[ModelResponse[Any]]],
    ) -> ModelResponse[Any]:
        choice = self._choice(request)
        await areport_saving(self.router.report(choice))
        last = len(self.router.tiers) - 1
        for tier in range(choice.tier, last + 1):
            model = self.router.tiers[tier]
            try:
                response = await handler(request.override(model=model))  # type: ignore[arg-type]
            except self.router.fallback_exceptions as error:
                if tier == last:
                    raise
                self.router.fell_back(tier, error)
                continue
            self._tag(response, {**choice.as_detail(), "answered_by": tier})
            return response
        raise AssertionError("unreachable: the last tier returns or raises")
