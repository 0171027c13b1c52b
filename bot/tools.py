"""Builds the tool registry: the built-in tools, the reminder tools when a book is wired in, and
the configured MCP servers' tools (connected here, closed with the app)."""

from __future__ import annotations

from contextlib import AsyncExitStack

from bot.config import Settings
from memory.base import Stores
from persona.reminders.port import ReminderBook
from persona.tools.builtin import memory_tools
from persona.tools.mcp import McpServers
from persona.tools.registry import ToolRegistry
from persona.tools.reminders import reminder_tools


async def open_tools(
    settings: Settings, stores: Stores, stack: AsyncExitStack, *, book: ReminderBook | None = None
) -> ToolRegistry:
    """Every tool a persona may be allowed; MCP connections close when `stack` does (after the
    engine, which is opened later: no turn calls a server that is already gone)."""
    registry = ToolRegistry([*memory_tools(stores), *reminder_tools(book)], settings=settings.engine.tools)
    if settings.mcp:
        servers = McpServers(settings.mcp)
        stack.push_async_callback(servers.close)
        await servers.start()  # a server that fails is logged and its tools left out
        for tool in servers.tools():
            registry.add(tool)
    return registry
