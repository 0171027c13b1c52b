"""MCP servers' tools, through the official SDK (`mcp`): stdio and streamable HTTP.

Each configured server is one owned connection: a named task opens the transport and the session,
lists the tools, then holds them open until `close()` (the SDK's transports are anyio task groups,
which must be entered and left by the same task). A server that cannot be reached, or dies later,
degrades to "tool unavailable": its tools are not offered and a call in flight gets an error
result, never a crash. Secrets (environment values, header values) are read from the environment
only when connecting; they never reach a prompt, and every log line naming a failure is redacted.
Tool names are `<server>__<tool>`, so personas allow them as "notes__lookup" or "notes__*".
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import logging
import os
import re
from collections.abc import AsyncIterator, Mapping
from typing import Any

import mcp
import mcp.types as mcp_types
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from persona.tools.base import Tool, ToolContext, ToolError
from persona.tools.mcp_config import McpServerConfig

_log = logging.getLogger(__name__)

_NAME = re.compile(r"[^A-Za-z0-9_-]+")
_STOP_GRACE_S = 5.0


def tool_name(server: str, tool: str) -> str:
    """`<server>__<tool>` within the providers' rule ([A-Za-z0-9_-], at most 64 characters)."""
    return _NAME.sub("_", f"{server}__{tool}")[:64]


class McpServer:
    """One configured server's connection and tools. `start()` then `close()`."""

    def __init__(
        self, name: str, config: McpServerConfig, *, environ: Mapping[str, str] | None = None
    ) -> None:
        self.name = name
        self._config = config
        self._environ = os.environ if environ is None else environ
        self._session: mcp.ClientSession | None = None
        self._listed: list[mcp_types.Tool] = []
        self._ready = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def available(self) -> bool:
        return self._session is not None

    async def start(self) -> None:
        """Connect and list the tools, within the connect timeout; a failure is logged, not raised."""
        self._task = asyncio.create_task(self._run(), name=f"mcp-{self.name}")
        try:
            await asyncio.wait_for(self._ready.wait(), self._config.connect_timeout_s)
        except TimeoutError:
            _log.warning(
                "MCP server %s did not answer within %.0f s: its tools are unavailable",
                self.name,
                self._config.connect_timeout_s,
            )

    def tools(self) -> list[Tool]:
        offered = [t for t in self._listed if any(fnmatch.fnmatchcase(t.name, p) for p in self._config.tools)]
        return [McpTool(self, listed) for listed in offered]

    async def call(self, tool: str, arguments: dict[str, Any]) -> str:
        session = self._session
        if session is None:
            raise ToolError("this tool is unavailable right now")
        try:
            result = await session.call_tool(
                tool, arguments, read_timeout_seconds=self._config.call_timeout_s
            )
        except Exception as error:  # the server failed or went away mid-call: the turn goes on
            _log.warning("MCP server %s: call to %s failed: %s", self.name, tool, self._redact(error))
            raise ToolError("the tool failed or is unavailable right now") from None
        if not isinstance(result, mcp_types.CallToolResult):
            raise ToolError("the tool asked for input, which is not supported here")
        text = _text_of(result)
        if result.is_error:
            raise ToolError(text or "the tool reported an error")
        return text

    async def close(self) -> None:
        self._stop.set()
        task, self._task = self._task, None
        if task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), _STOP_GRACE_S)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task

    # ---- the connection task

    async def _run(self) -> None:
        try:
            async with self._connect() as (read, write), mcp.ClientSession(read, write) as session:
                await session.initialize()
                self._listed = await _all_tools(session)
                self._session = session
                _log.info("MCP server %s connected: %d tools", self.name, len(self._listed))
                self._ready.set()
                await self._stop.wait()
        except Exception as error:  # unreachable, refused, crashed: its tools are unavailable
            _log.warning("MCP server %s unavailable: %s", self.name, self._redact(error))
        finally:
            self._session = None
            self._ready.set()

    @contextlib.asynccontextmanager
    async def _connect(self) -> AsyncIterator[tuple[Any, Any]]:
        config = self._config
        if config.transport == "stdio":
            assert config.command is not None
            params = mcp.StdioServerParameters(
                command=config.command, args=list(config.args), env=self._secrets(config.env), cwd=config.cwd
            )
            async with mcp.stdio_client(params) as streams:
                yield streams[0], streams[1]
            return
        assert config.url is not None
        async with (
            create_mcp_http_client(headers=self._secrets(config.headers)) as client,
            streamable_http_client(config.url, http_client=client) as streams,
        ):
            yield streams[0], streams[1]

    def _secrets(self, names: Mapping[str, str]) -> dict[str, str]:
        """Each key's value from the environment variable it names (missing: left out, logged)."""
        values: dict[str, str] = {}
        for key, variable in names.items():
            value = self._environ.get(variable)
            if value is None:
                _log.warning("MCP server %s: environment variable %s is not set", self.name, variable)
                continue
            values[key] = value
        return values

    def _redact(self, error: BaseException) -> str:
        """One line about `error` with every configured secret's value masked."""
        text = f"{type(error).__name__}: {_first_line(error)}"
        for variable in (*self._config.env.values(), *self._config.headers.values()):
            value = self._environ.get(variable)
            if value:
                text = text.replace(value, "***")
        return text[:300]


class McpTool:
    """One MCP server tool as a `Tool`; its output is fenced as data by the registry."""

    def __init__(self, server: McpServer, listed: mcp_types.Tool) -> None:
        self._server = server
        self._remote = listed.name
        self.name = tool_name(server.name, listed.name)
        self.description = (listed.description or f"The {listed.name} tool of {server.name}.")[:1000]
        self.parameters: dict[str, Any] = dict(listed.input_schema) or {"type": "object", "properties": {}}

    @property
    def available(self) -> bool:
        return self._server.available

    async def call(self, arguments: dict[str, Any], context: ToolContext) -> str:
        return await self._server.call(self._remote, arguments)


class McpServers:
    """Every configured server: opened at start, closed at stop (owned by the bot's lifecycle)."""

    def __init__(
        self, configs: Mapping[str, McpServerConfig], *, environ: Mapping[str, str] | None = None
    ) -> None:
        self._servers = [McpServer(name, config, environ=environ) for name, config in configs.items()]

    async def start(self) -> None:
        await asyncio.gather(*(server.start() for server in self._servers))

    def tools(self) -> list[Tool]:
        return [tool for server in self._servers for tool in server.tools()]

    async def close(self) -> None:
        await asyncio.gather(*(server.close() for server in self._servers))


async def _all_tools(session: mcp.ClientSession) -> list[mcp_types.Tool]:
    tools: list[mcp_types.Tool] = []
    cursor: str | None = None
    for _ in range(100):  # bounded: a server that pages forever does not hang the start
        params = mcp_types.PaginatedRequestParams(cursor=cursor) if cursor else None
        page = await session.list_tools(params=params)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            break
    return tools


def _text_of(result: mcp_types.CallToolResult) -> str:
    parts = []
    for block in result.content:
        if isinstance(block, mcp_types.TextContent):
            parts.append(block.text)
        else:
            parts.append(f"[{block.type} content left out]")
    return "\n".join(parts)


def _first_line(error: BaseException) -> str:
    if isinstance(error, BaseExceptionGroup) and error.exceptions:
        return _first_line(error.exceptions[0])
    return (str(error).splitlines() or [""])[0]
