from __future__ import annotations

import subprocess
import sys

import langchain_finops.routing as routing


def test_public_names_are_pinned() -> None:
    assert routing.__all__ == (
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
    for name in routing.__all__:
        assert getattr(routing, name) is not None


def test_importing_routing_loads_neither_onnxruntime_nor_the_agent_stack() -> None:
    code = (
        "import sys, langchain_finops.routing; "
        "print('onnxruntime' in sys.modules, 'langgraph' in sys.modules, "
        "'sklearn' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["False", "False", "False"]
