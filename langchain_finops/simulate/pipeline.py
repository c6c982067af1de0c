"""The two ways of calling a model that a replay compares, built from public parts.

* The **baseline** is what an application does without this package: every
  call to the strong model, with the full history, no cache, no compression.
* The **optimised** pipeline runs each call through the package's own public
  parts, in the order an application would wire them: the rolling-summary
  memory shortens a conversation's history, the prompt compressor shortens
  what is left, and the model router picks the cheap or the strong model,
  both of which answer from the semantic cache when they can.

This is the only module of `simulate/` that touches the other parts, and it
uses only their public names, so the replay measures exactly what a user who
wires the same parts gets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.caches import BaseCache
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda

from langchain_finops.simulate.responder import SimulatedChatModel

__all__ = [
    "OptimisedPipeline",
    "PipelineOptions",
    "build_baseline",
    "build_optimised",
    "chat_model",
]

OPTIMISED_RUN_NAME = "finops_optimised"
BASELINE_RUN_NAME = "finops_baseline"


@dataclass(frozen=True, kw_only=True)
class PipelineOptions:
    """How to build the models and which techniques the optimised side uses.

    Attributes:
        strong: The strong model (the baseline's only model).
        cheap: The cheap model the router may pick, and the summariser's.
        live: Call the real OpenAI models (needs `OPENAI_API_KEY`) instead of
            the simulated responder.
        seed: Seed of the simulated replies.
        max_output_tokens: `max_tokens` of every model, so that a call's worst
            case cost is bounded (the spend cap relies on it).
        cache, routing, compression, memory: Which techniques to use.
        cache_threshold: The cache's similarity threshold (None: its default).
        router_threshold: The router's threshold (None: its default).
        memory_max_tokens: The history budget of the rolling-summary memory.
        cache_dir: Where the cache persists (None: in memory only).
    """

    strong: str = "gpt-4o"
    cheap: str = "gpt-4o-mini"
    live: bool = False
    seed: int = 0
    max_output_tokens: int = 1024
    cache: bool = True
    routing: bool = True
    compression: bool = True
    memory: bool = True
    cache_threshold: float | None = None
    router_threshold: float | None = None
    memory_max_tokens: int = 500
    cache_dir: Path | None = None

    def __post_init__(self) -> None:
        if self.max_output_tokens < 1:
            msg = f"`max_output_tokens` is {self.max_output_tokens}; give 1 or more."
            raise ValueError(msg)
        if self.memory_max_tokens < 1:
            msg = f"`memory_max_tokens` is {self.memory_max_tokens}; give 1 or more."
            raise ValueError(msg)

    @property
    def techniques(self) -> tuple[str, ...]:
        """The techniques switched on, in pipeline order."""
        switched = (
            ("memory", self.memory),
            ("compression", self.compression),
            ("routing", self.routing),
            ("cache", self.cache),
        )
        return tuple(name for name, on in switched if on)


def chat_model(
    name: str,
    *,
    options: PipelineOptions,
    cache: BaseCache | bool = False,
    max_tokens: int | None = None,
) -> BaseChatModel:
    """A chat model named `name`: real OpenAI when `options.live`, else simulated.

    Args:
        name: The model name (prices and tokenizer follow it).
        options: Live or simulated, seed, output cap.
        cache: The LLM cache this model answers from; False for none (a
            global cache the caller set must not leak into the baseline).
        max_tokens: The reply cap, when not `options.max_output_tokens`.

    Returns:
        The model.

    Raises:
        ValueError: If `options.live` is set without `OPENAI_API_KEY`.
    """
    cap = options.max_output_tokens if max_tokens is None else max_tokens
    if options.live:
        import os

        if not os.environ.get("OPENAI_API_KEY"):
            msg = (
                "--live calls OpenAI and needs the OPENAI_API_KEY environment "
                "variable; set it, or drop --live to replay offline."
            )
            raise ValueError(msg)
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(
            model=name,
            max_completion_tokens=cap,
            stream_usage=True,
            cache=cache,
        )
    return SimulatedChatModel(
        model_name=name,
        seed=options.seed,
        max_tokens=cap,
        cache=cache,
    )


def build_baseline(options: PipelineOptions) -> Runnable[Any, AIMessage]:
    """Every call to the strong model, full history, no cache.

    Args:
        options: The models to build.

    Returns:
        A runnable from a message list to the reply.
    """
    model = chat_model(options.strong, options=options, cache=False)
    return model.with_config(run_name=BASELINE_RUN_NAME)


@dataclass(kw_only=True)
class OptimisedPipeline:
    """The optimised side and the parts it is made of (None: switched off)."""

    runnable: Runnable[Sequence[BaseMessage], AIMessage]
    cache: Any = None
    router: Any = None
    memory: Any = None
    compressor: Any = None


def build_optimised(
    options: PipelineOptions,
    *,
    labelled_cache: BaseCache | None = None,
) -> OptimisedPipeline:
    """Wire memory, compression, routing and the cache, from their public names.

    Args:
        options: Models, techniques and thresholds.
        labelled_cache: A ready cache to use instead of a new
            `SemanticFaissCache` (a calibrated one, say).

    Returns:
        The pipeline: call `runnable.invoke(messages, config)` with
        `config["configurable"]["session_id"]` set for a conversation.
    """
    cache: BaseCache | None = None
    if options.cache:
        if labelled_cache is not None:
            cache = labelled_cache
        else:
            from langchain_finops.cache import SemanticFaissCache

            cache_kwargs: dict[str, Any] = {"namespace": "finops-simulate"}
            if options.cache_threshold is not None:
                cache_kwargs["similarity_threshold"] = options.cache_threshold
            if options.cache_dir is not None:
                cache_kwargs["persist_dir"] = options.cache_dir
            cache = SemanticFaissCache(**cache_kwargs)
    model_cache: BaseCache | bool = cache if cache is not None else False
    strong = chat_model(options.strong, options=options, cache=model_cache)

    router: Runnable[Any, AIMessage] | None = None
    target: Runnable[Any, AIMessage] = strong
    if options.routing:
        from langchain_finops.routing import create_model_router

        cheap = chat_model(options.cheap, options=options, cache=model_cache)
        router_kwargs: dict[str, Any] = {"cheap": cheap, "strong": strong}
        if options.router_threshold is not None:
            router_kwargs["threshold"] = options.router_threshold
        router = create_model_router(**router_kwargs)
        target = router

    memory: Any = None
    if options.memory:
        from langchain_finops.memory import RollingSummaryMemory

        # A summariser is given a reply cap below the summary's own cap (a
        # fifth of the budget against the memory's quarter), as one would
        # configure it, so a summary rarely needs condensing.
        summariser = chat_model(
            options.cheap,
            options=options,
            cache=False,
            max_tokens=max(16, options.memory_max_tokens // 5),
        )
        memory = RollingSummaryMemory(
            llm=summariser, max_tokens=options.memory_max_tokens, model=options.strong
        )

    compressor: Any = None
    if options.compression:
        from langchain_finops.compression import PromptCompressor

        # The compressor prices what it removed at one model's input rate.
        # Behind a router the model is not known yet; the cheap one gives the
        # conservative figure.
        compressor = PromptCompressor(
            model=options.cheap if options.routing else options.strong
        )

    def optimised(messages: Sequence[BaseMessage], config: RunnableConfig) -> AIMessage:
        to_send: Any = list(messages)
        session = (config.get("configurable") or {}).get("session_id")
        # A lone prompt has no history to summarise. In a conversation the
        # memory keeps the history and is given only the turn's new messages.
        if memory is not None and session is not None:
            to_send = memory.invoke(to_send, config)
        if compressor is not None:
            to_send = compressor.invoke(to_send, config)
        return target.invoke(to_send, config)

    runnable = RunnableLambda(optimised, name=OPTIMISED_RUN_NAME)
    return OptimisedPipeline(
        runnable=runnable,
        cache=cache,
        router=router,
        memory=memory,
        compressor=compressor,
    )
