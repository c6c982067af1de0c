"""`RollingSummaryMiddleware`: the rolling summary for LangChain 1.x agents."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, cast

from langchain.agents.middleware import (
    AgentMiddleware,
    AgentState,
    ExtendedModelResponse,
    ModelRequest,
    ModelResponse,
)
from langchain_core.messages import AnyMessage, BaseMessage, RemoveMessage
from langchain_core.runnables import Runnable
from langgraph.constants import TAG_NOSTREAM
from langgraph.types import Command
from typing_extensions import override

from langchain_finops.costs.events import areport_saving, report_saving
from langchain_finops.memory._policy import (
    SUMMARY_MARKER,
    SUMMARY_PREFIX,
    RollingSummaryPolicy,
    SummaryRole,
)
from langchain_finops.memory._state import MemoryState, split_system
from langchain_finops.memory._summarizer import Summarizer
from langchain_finops.memory._turn import MemoryEngine, Turn, as_runnable, model_name_of

__all__ = ["RollingSummaryMiddleware"]


class RollingSummaryMiddleware(AgentMiddleware[AgentState[Any], Any, Any]):
    """Keep an agent's model calls within a token budget with a rolling summary.

    It works around each model call (`wrap_model_call`), where the real
    request is known: the system prompt, the bound tools and the model,
    whose tokenizer counts the budget. When the request would pass
    `high_watermark * max_tokens`, the oldest messages are folded into a
    running summary, down to `low_watermark * max_tokens`; the request then
    carries the system prompt, the summary and the recent messages, within
    `max_tokens`. The agent state is pruned too: the summary message takes
    the place of the oldest folded message (same id) and the other folded
    messages are removed (`RemoveMessage`), so a checkpointer stores the
    pruned state, and an agent run without one hands back messages that
    still carry the summary. The summary message in the state is marked in
    its `additional_kwargs`; what the model receives carries no mark.

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
    def _state(request: ModelRequest[Any]) -> tuple[MemoryState, BaseMessage | None]:
        stored: BaseMessage | None = None
        rest: list[BaseMessage] = []
        for message in request.messages:
            if isinstance(message.additional_kwargs.get(SUMMARY_MARKER), dict):
                stored = message
            else:
                rest.append(message)
        system, conversation = split_system(rest)
        if request.system_message is not None:
            system = (request.system_message, *system)
        marker: dict[str, Any] = (
            stored.additional_kwargs[SUMMARY_MARKER] if stored else {}
        )
        summary = stored.text.removeprefix(SUMMARY_PREFIX) if stored else ""
        state = MemoryState(
            system=system,
            summary=summary,
            messages=conversation,
            summarized_messages=int(marker.get("summarized_messages", 0)),
            summarized_tokens=int(marker.get("summarized_tokens", 0)),
        )
        return state, stored

    @staticmethod
    def _request(request: ModelRequest[Any], turn: Turn) -> ModelRequest[Any]:
        messages = turn.sent.messages
        if request.system_message is not None:
            messages = messages[1:]
        return request.override(messages=cast("list[AnyMessage]", messages))

    def _update(
        self, state: MemoryState, stored: BaseMessage | None, turn: Turn
    ) -> list[BaseMessage]:
        """The state update that writes the fold: summary in place, rest removed."""
        folded = [m for m in state.messages[: turn.summarized_now] if m.id]
        # Reusing an id makes `add_messages` replace that message where it
        # stands, so the summary stays ahead of the kept messages.
        anchor = stored.id if stored is not None and stored.id else None
        if anchor is None and folded:
            anchor = folded.pop(0).id
        message = self.policy.summary_message(turn.state.summary)
        if anchor is None or message is None:
            return []
        marker = {
            "summarized_messages": turn.state.summarized_messages,
            "summarized_tokens": turn.state.summarized_tokens,
        }
        message = message.model_copy(
            update={"id": anchor, "additional_kwargs": {SUMMARY_MARKER: marker}}
        )
        return [message, *(RemoveMessage(id=str(m.id)) for m in folded)]

    def _result(
        self,
        response: ModelResponse[Any],
        state: MemoryState,
        stored: BaseMessage | None,
        turn: Turn,
    ) -> ModelResponse[Any] | ExtendedModelResponse[Any]:
        update = self._update(state, stored, turn) if turn.changed else []
        if not update:
            return response
        return ExtendedModelResponse(
            model_response=response, command=Command(update={"messages": update})
        )

    @override
    def wrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], ModelResponse[Any]],
    ) -> ModelResponse[Any] | ExtendedModelResponse[Any]:
        """Summarise if due, then call the model with the bounded request."""
        model = self._model_name(request)
        state, stored = self._state(request)
        turn = self._engine.run(state, model=model, tools=request.tools, config=None)
        report_saving(MemoryEngine.report(turn, model))
        response = handler(self._request(request, turn))
        return self._result(response, state, stored, turn)

    @override
    async def awrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], Awaitable[ModelResponse[Any]]],
    ) -> ModelResponse[Any] | ExtendedModelResponse[Any]:
        """Async twin of `wrap_model_call`."""
        model = self._model_name(request)
        state, stored = self._state(request)
        turn = await self._engine.arun(
            state, model=model, tools=request.tools, config=None
        )
        await areport_saving(MemoryEngine.report(turn, model))
        response = await handler(self._request(request, turn))
        return self._result(response, state, stored, turn)
