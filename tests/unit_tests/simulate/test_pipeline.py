import pytest

from langchain_finops.cache import SemanticFaissCache
from langchain_finops.compression import PromptCompressor
from langchain_finops.memory import RollingSummaryMemory
from langchain_finops.routing import ModelRouter
from langchain_finops.simulate.pipeline import (
    PipelineOptions,
    build_baseline,
    build_optimised,
    chat_model,
)
from langchain_finops.simulate.responder import SimulatedChatModel


def test_the_optimised_side_is_built_from_the_public_parts() -> None:
    pipeline = build_optimised(PipelineOptions(cache_threshold=0.9))
    assert isinstance(pipeline.cache, SemanticFaissCache)
    assert pipeline.cache.similarity_threshold == 0.9
    assert isinstance(pipeline.router, ModelRouter)
    assert isinstance(pipeline.memory, RollingSummaryMemory)
    assert isinstance(pipeline.compressor, PromptCompressor)
    assert PipelineOptions().techniques == ("memory", "compression", "routing", "cache")


def test_switched_off_parts_are_not_built() -> None:
    options = PipelineOptions(
        cache=False, routing=False, compression=False, memory=False
    )
    pipeline = build_optimised(options)
    assert (pipeline.cache, pipeline.router, pipeline.memory, pipeline.compressor) == (
        None,
        None,
        None,
        None,
    )
    assert options.techniques == ()


def test_the_baseline_never_reads_a_cache() -> None:
    baseline = build_baseline(PipelineOptions(strong="gpt-4.1"))
    model = baseline.bound  # the model under its run-name config
    assert isinstance(model, SimulatedChatModel)
    assert model.model_name == "gpt-4.1"
    assert model.cache is False


# Building ChatOpenAI makes socket objects to probe which socket options the
# platform supports (langchain_openai's client utils, urllib3's IPv6 check);
# nothing connects, and pytest-socket's refusal of them is harmless.
@pytest.mark.filterwarnings("ignore:A test tried to use socket.socket")
def test_live_models_need_a_key_and_cap_their_replies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from langchain_openai import ChatOpenAI

    options = PipelineOptions(live=True, max_output_tokens=256)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ValueError, match="needs the OPENAI_API_KEY"):
        chat_model("gpt-4o", options=options)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-used")
    model = chat_model("gpt-4o", options=options)  # built, never called
    assert isinstance(model, ChatOpenAI)
    assert model.max_tokens == 256
    assert model.model_name == "gpt-4o"


def test_invalid_options_are_refused() -> None:
    with pytest.raises(ValueError, match="`max_output_tokens` is 0"):
        PipelineOptions(max_output_tokens=0)
    with pytest.raises(ValueError, match="`memory_max_tokens` is -5"):
        PipelineOptions(memory_max_tokens=-5)
