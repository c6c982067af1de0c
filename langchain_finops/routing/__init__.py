"""Model routing: send each prompt to the cheapest model that can answer it."""

from typing import TYPE_CHECKING

from langchain_finops.routing.base import (
    RoutingClassifier,
    RoutingDecision,
    prompt_text,
)
from langchain_finops.routing.intent import (
    DEFAULT_ROUTES,
    NO_ROUTE,
    IntentClassifier,
    IntentRoute,
)
from langchain_finops.routing.learned import LearnedComplexityClassifier
from langchain_finops.routing.llm import LLMClassifier, parse_label
from langchain_finops.routing.router import (
    ModelRouter,
    RouteChoice,
    create_model_router,
)

if TYPE_CHECKING:
    from langchain_finops.routing.agents import (
        CostRouterMiddleware,
        RoutingDecisionModel,
    )

__all__ = (
    "DEFAULT_ROUTES",
    "NO_ROUTE",
    "CostRouterMiddleware",
    "IntentClassifier",
    "IntentRoute",
    "LLMClassifier",
    "LearnedComplexityClassifier",
    "ModelRouter",
    "RouteChoice",
    "RoutingClassifier",
    "RoutingDecision",
    "RoutingDecisionModel",
    "create_model_router",
    "parse_label",
    "prompt_text",
)


def __getattr__(name: str) -> object:
    # The agent adapters import langchain's agent stack (langgraph); load it
    # only for those who use it.
    if name in ("CostRouterMiddleware", "RoutingDecisionModel"):
        from langchain_finops.routing import agents

        return getattr(agents, name)
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
