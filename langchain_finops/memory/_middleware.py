"""`RollingSummaryMiddleware`: the rolling summary for LangChain 1.x agents."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, NotRequired, cast

from langchain.agents.middleware import (
    AgentMiddleware,
    AgentState,
    ExtendedModelResponse,
    ModelRequest,
    ModelResponse,
)
from langchain.agents.middleware.types import PrivateStateAttr
from langchain_core.messages import AnyMessage, BaseMessage, RemoveMessage
from langchain_core.runnables import Runnable
from langgraph.constants import TAG_NOSTREAM
from langgraph.types import Command
from typing_extensions import override

from langchain_finops.costs.events import areport_saving, report_saving
from langchain_finops.memory._policy import RollingSummaryPolicy, SummaryRole
from langchain_finops.memory._state import MemoryState, split_system
from langchain_finops.memory._summarizer import Summarizer
from langchain_finops.memory._turn import MemoryEngine, Turn, as_runnable, model_name_of

__all__ = ["RollingSummaryMiddleware", "RollingSummaryState"]

STATE_KEY = "rolling_summary"


class RollingSummaryState(AgentState[Any]):
    """Agent state with the running summary kept in a private field."""

    rolling_summary: NotRequired[Annotated[dict[str, Any], PrivateStateAttr]]


class RollingSummaryMiddleware(AgentMiddleware[RollingSummaryState, Any, Any]):
    """Keep an agent's model calls within a token budget with a rolling summary.

    It works around each model call (`wrap_model_call`), where the real
    request is known: the system prompt, the bound tools and the model,
    whose tokenizer counts the budget. When the request would pass
    `high_watermark * max_tokens`, the oldest messages are folded into a
    running summary, down to `low_watermark * max_tokens`; the request then
    carries the system prompt, the summary and the recent messages, within
    `max_tokens`. The folded messages are removed from the agent state
    (`RemoveMessage` by id) and the summary is kept in the private state
    field `rolling_summary`, so a checkpointer stores the pruned state.

    An AI message with tool calls (parallel ones included) and its tool
    results are folded or kept together. System messages are never folded.
    If the summariser fails, the state is left as it was, the oldest
    messages that do not fit are left out of this call only, and the next
    model call tries again.

    The name differs from LangChain's own `SummarizationMiddleware`, which
    can be used alongside.

    Args:
        llm: The summariser; a cheap chat model is expected.
        max_tokens: The most one model request may take in input tokens.
        model: Name of the model whose tokenizer counts; by default the
            agent's model's own name, else the summariser's.
        low_watermark: Share of `max_tokens` a request shrinks to after
            summarising.
        high_watermark: Share of `max_tokens` that starts summarising.
        max_summary_tokens: Cap of the summary message (a quarter of
            `max_tokens` by default); a longer summary is condensed.
        summary_role: "human" (default) or "system", the summary's role.

    Example:
        ```python
        from langchain.agents import create_agent
        from langchain_finops.memory import RollingSummaryMiddleware

        agent = create_agent(
            "openai:gpt-4o",
            tools=[search],
            middleware=[
                RollingSummaryMiddleware(llm=cheap_model, max_tokens=8000)
            ],
        )
        ```
    """

    state_schema = RollingSummaryState

    def __init__(
        self,
        *,
        llm: Runnable[Any, Any],
        max_tokens: int,
        model: str | None = None,
        low_watermark: float = 0.6,
        high_watermark: float = 1.0,
        max_summary_tokens: int | None = None,
        summary_role: SummaryRole = "human",
    ) -> None:
        super().__init__()
        self.llm = as_runnable(llm, type(self).__name__)
        self.policy = RollingSummaryPolicy(
            max_tokens=max_tokens,
            low_watermark=low_watermark,
            high_watermark=high_watermark,
            max_summary_tokens=max_summary_tokens,
            summary_role=summary_role,
        )
        self.model = model
        self._engine = MemoryEngine(
            policy=self.policy, summarizer=Summarizer(self.llm, tags=[TAG_NOSTREAM])
        )

    def _model_name(self, request: ModelRequest[Any]) -> str:
        name = self.model or model_name_of(request.model) or model_name_of(self.llm)
        if name is None:
            msg = (
                f"{type(self).__name__} cannot tell which tokenizer to count with: "
                "neither the agent's model nor the summariser names a model. Pass "
                "`model='gpt-4o'` (the agent's model name)."
            )
            raise ValueError(msg)
        return name

    @staticmethod
    def _state(request: ModelRequest[Any]) -> MemoryState:
        stored = cast("dict[str, Any]", request.state.get(STATE_KEY) or {})
        system, conversation = split_system(request.messages)
        if request.system_message is not None:
            system = (request.system_message, *system)
        return MemoryState(
            system=system,
            summary=str(stored.get("summary", "")),
            messages=conversation,
            summarized_messages=int(stored.get("summarized_messages", 0)),
            summarized_tokens=int(stored.get("summarized_tokens", 0)),
        )

    @staticmethod
    def _request(request: ModelRequest[Any], turn: Turn) -> ModelRequest[Any]:
        messages = turn.sent.messages
        if request.system_message is not None:
            messages = messages[1:]
        return request.override(messages=cast("list[AnyMessage]", messages))

    @staticmethod
    def _result(
        response: ModelResponse[Any], state: MemoryState, turn: Turn
    ) -> ModelResponse[Any] | ExtendedModelResponse[Any]:
        if not turn.changed:
            return response
        folded: list[BaseMessage] = list(state.messages[: turn.summarized_now])
        update = {
            "messages": [RemoveMessage(id=m.id) for m in folded if m.id],
            STATE_KEY: {
                "summary": turn.state.summary,
                "summarized_messages": turn.state.summarized_messages,
                "summarized_tokens": turn.state.summarized_tokens,
            },
        }
        return ExtendedModelResponse(
            model_response=response, command=Command(update=update)
        )

    @override
    def wrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], ModelResponse[Any]],
    ) -> ModelResponse[Any] | ExtendedModelResponse[Any]:
        """Summarise if due, then call the model with the bounded request."""
        model = self._model_name(request)
        state = self._state(request)
        turn = self._engine.run(state, model=model, tools=request.tools, config=None)
        report_saving(MemoryEngine.report(turn, model))
        response = handler(self._request(request, turn))
        return self._result(response, state, turn)

    @override
    async def awrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], Awaitable[ModelResponse[Any]]],
    ) -> ModelResponse[Any] | ExtendedModelResponse[Any]:
        """Async twin of `wrap_model_call`."""
        model = self._model_name(request)
        state = self._state(request)
        turn = await self._engine.arun(
            state, model=model, tools=request.tools, config=None
        )
        await areport_saving(MemoryEngine.report(turn, model))
        response = await handler(self._request(request, turn))
        return self._result(response, state, turn)
