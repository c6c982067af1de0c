import subprocess
import sys

import langchain_finops

PUBLIC = (
    "CachedStreamingChatModel",
    "CostCallbackHandler",
    "DefaultEmbeddings",
    "IntentClassifier",
    "LLMClassifier",
    "LearnedComplexityClassifier",
    "PriceTable",
    "PromptCompressor",
    "RollingSummaryMemory",
    "RollingSummaryMiddleware",
    "SemanticFaissCache",
    "TokenCount",
    "count_tokens",
    "create_model_router",
    "track_costs",
)


def test_public_names_are_pinned() -> None:
    assert langchain_finops.__all__ == PUBLIC


def test_every_public_name_resolves() -> None:
    for name in PUBLIC:
        assert getattr(langchain_finops, name) is not None


def test_import_loads_no_heavy_dependency() -> None:
    code = (
        "import sys, langchain_finops; "
        "print(sorted(m for m in ('faiss', 'onnxruntime', 'langgraph') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
