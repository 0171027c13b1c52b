"""The bounded tool loop of one turn: call the model, run the tools it asks for, call it again.

Without tools offered this is exactly the one call of a plain reply. With tools, at most
`max_rounds` rounds of calls run; the call after the last round is told to answer in words
(`tool_choice: none`), and if the model still asks for tools its words (or one line) end the turn.
Every call after the first carries `no_failover`: text or a tool's effect already reached the
person, so the chain never starts the conversation over on another model. Text streamed in
several rounds reaches the sink as one growing reply, rounds separated by a blank line.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import datetime

from persona.hooks import ToolRecord
from persona.providers.base import (
    ChatMessage,
    ChatRequest,
    ChatResult,
    LLMProvider,
    TextCallback,
    ToolCall,
    ToolResult,
    Usage,
)
from persona.tools.base import ToolContext
from persona.tools.fence import TOOL_RULES
from persona.tools.registry import ToolRegistry

_log = logging.getLogger(__name__)

LOOP_LINE = "I kept reaching for my tools and couldn't settle on an answer. Could you ask me again?"


class ToolLoop:
    """One turn's loop. `records` holds every call run so far, even when a later call fails."""

    def __init__(
        self,
        provider: LLMProvider,
        registry: ToolRegistry | None,
        context: ToolContext,
        *,
        clock: Callable[[], datetime],
    ) -> None:
        self._provider = provider
        self._registry = registry
        self._context = context
        self._clock = clock
        self.records: list[ToolRecord] = []
        self.calls = 0
        self._texts: list[str] = []
        self._usage = Usage()

    async def run(self, request: ChatRequest, on_text: TextCallback) -> ChatResult:
        specs = self._registry.specs(self._context.persona) if self._registry is not None else ()
        if not specs:
            return await self._call(request, on_text)
        assert self._registry is not None
        request = dataclasses.replace(request, tools=specs, system=f"{request.system}\n\n{TOOL_RULES}")
        max_rounds = self._registry.settings.max_rounds
        rounds = 0
        while True:
            if rounds >= max_rounds:
                request = dataclasses.replace(request, tool_choice="none")
            result = await self._call(request, self._separated(on_text))
            if not result.tool_calls or request.tool_choice == "none":
                return self._final(result, bounded=bool(result.tool_calls))
            results = await self._run_tools(result.tool_calls)
            request = self._next_request(request, result, results)
            rounds += 1

    async def _call(self, request: ChatRequest, on_text: TextCallback) -> ChatResult:
        self.calls += 1
        result = await self._provider.chat(request, on_text=on_text)
        self._usage = Usage(
            input_tokens=self._usage.input_tokens + result.usage.input_tokens,
            output_tokens=self._usage.output_tokens + result.usage.output_tokens,
        )
        if result.text.strip():
            self._texts.append(result.text)
        return result

    def _separated(self, on_text: TextCallback) -> TextCallback:
        """The sink's callback, with a blank line before the first text of a later round."""
        first = [bool(self._texts)]

        async def forward(delta: str) -> None:
            if first[0] and delta:
                first[0] = False
                delta = f"\n\n{delta}"
            await on_text(delta)

        return forward

    async def _run_tools(self, calls: tuple[ToolCall, ...]) -> tuple[ToolResult, ...]:
        assert self._registry is not None
        results: list[ToolResult] = []
        for call in calls:  # in order: "set it, then list them" must see the first one done
            result = await self._registry.run(call, self._context)
            results.append(result)
            self.records.append(
                ToolRecord(
                    call_id=call.id,
                    name=call.name,
                    arguments=call.arguments,
                    output=result.content,
                    is_error=result.is_error,
                    at=self._clock(),
                )
            )
        return tuple(results)

    def _next_request(
        self, request: ChatRequest, result: ChatResult, results: tuple[ToolResult, ...]
    ) -> ChatRequest:
        asked = ChatMessage(role="assistant", content=result.text, tool_calls=result.tool_calls)
        answered = ChatMessage(role="user", content="", tool_results=results)
        return dataclasses.replace(request, messages=(*request.messages, asked, answered), no_failover=True)

    def _final(self, result: ChatResult, *, bounded: bool) -> ChatResult:
        text = "\n\n".join(self._texts)
        if bounded:
            _log.warning("tool loop bound reached after %d calls; ending the turn", self.calls)
            text = text or LOOP_LINE
        return dataclasses.replace(result, text=text, usage=self._usage, tool_calls=())

    @property
    def effects(self) -> list[str]:
        """Names of the tools that ran without error (said when a later call fails)."""
        return [record.name for record in self.records if not record.is_error]
