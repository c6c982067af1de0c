"""Model routing: send each prompt to the cheapest model that can answer it.

Names load on first use, so that `LearnedComplexityClassifier` starts without
importing LangChain's runnable and agent stacks.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langchain_finops.routing.agents import (
        CostRouterMiddleware,
        RoutingDecisionModel,
    )
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

_EXPORTS = {
    "CostRouterMiddleware": "agents",
    "RoutingDecisionModel": "agents",
    "RoutingClassifier": "base",
    "RoutingDecision": "base",
    "prompt_text": "base",
    "DEFAULT_ROUTES": "intent",
    "NO_ROUTE": "intent",
    "IntentClassifier": "intent",
    "IntentRoute": "intent",
    "LearnedComplexityClassifier": "learned",
    "LLMClassifier": "llm",
    "parse_label": "llm",
    "ModelRouter": "router",
    "RouteChoice": "router",
    "create_model_router": "router",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
