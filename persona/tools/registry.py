"""The tools a process knows, which of them a persona may use, and running one call safely.

A call never raises out of `run`: bad arguments, an unknown or unavailable tool, a tool that fails
or takes too long all become an error result the model reads (one line, logged by name only:
arguments and outputs may hold the person's words, and an MCP server's answer may hold anything).
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from persona.personas import PersonaSpec
from persona.providers.base import ToolCall, ToolResult, ToolSpec
from persona.settings import ToolSettings
from persona.tools.base import Tool, ToolContext, ToolError
from persona.tools.fence import TOOL_RULES, fence

_log = logging.getLogger(__name__)


class ToolRegistry:
    def __init__(self, tools: Iterable[Tool] = (), *, settings: ToolSettings | None = None) -> None:
        self.settings = settings or ToolSettings()
        self._tools: dict[str, Tool] = {}
        for tool in tools:
            self.add(tool)

    def add(self, tool: Tool) -> None:
        if tool.name in self._tools:
            raise ValueError(f"two tools are named {tool.name!r}")
        self._tools[tool.name] = tool

    def names(self) -> list[str]:
        return sorted(self._tools)

    def allowed(self, persona: PersonaSpec) -> list[Tool]:
        """The tools the persona's allowlist names ("remember_this", "notes__*"), while available."""
        return [
            tool
            for name, tool in sorted(self._tools.items())
            if tool.available and any(fnmatch.fnmatchcase(name, pattern) for pattern in persona.tools)
        ]

    def specs(self, persona: PersonaSpec) -> tuple[ToolSpec, ...]:
        return tuple(
            ToolSpec(name=t.name, description=t.description, parameters=t.parameters)
            for t in self.allowed(persona)
        )

    def prompt_cost(self, persona: PersonaSpec, count: Callable[[str], int]) -> int:
        """Tokens the offered tools add to a request (their schemas and the rules on data)."""
        specs = self.specs(persona)
        if not specs:
            return 0
        described = [json.dumps([s.name, s.description, s.parameters]) for s in specs]
        return count(TOOL_RULES) + sum(count(text) for text in described)

    async def run(self, call: ToolCall, context: ToolContext) -> ToolResult:
        """One call, as a fenced result; an allowlist miss counts as an unknown tool."""
        tool = next((t for t in self.allowed(context.persona) if t.name == call.name), None)
        try:
            if tool is None:
                raise ToolError(f"no tool named {call.name!r} is available")
            async with asyncio.timeout(self.settings.call_timeout_s):
                output = await tool.call(_arguments(call.arguments), context)
        except ToolError as error:
            return self._result(call, f"error: {error}", is_error=True)
        except TimeoutError:
            _log.warning("tool %s took longer than %.0f s", call.name, self.settings.call_timeout_s)
            return self._result(call, "error: the tool took too long and was stopped", is_error=True)
        except Exception as error:  # a tool's bug must not end the turn: the model hears it failed
            _log.warning("tool %s failed: %s", call.name, type(error).__name__)
            return self._result(call, "error: the tool failed", is_error=True)
        return self._result(call, output)

    def _result(self, call: ToolCall, output: str, *, is_error: bool = False) -> ToolResult:
        content = fence(call.name, output, max_chars=self.settings.max_output_chars)
        return ToolResult(call_id=call.id, name=call.name, content=content, is_error=is_error)


def _arguments(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        raise ToolError("the arguments are not valid JSON") from None
    if not isinstance(value, dict):
        raise ToolError("the arguments must be a JSON object")
    return value
