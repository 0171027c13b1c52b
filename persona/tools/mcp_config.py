"""How an MCP server is reached. Secrets are never written here: `env` and `headers` name the
environment variables their values come from, read only when the connection opens."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class McpServerConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    transport: Literal["stdio", "http"] = "stdio"
    # stdio: the command started as the server (its own process, with a minimal environment).
    command: str | None = None
    args: tuple[str, ...] = ()
    cwd: str | None = None
    # The server's environment variable -> the name of ours whose value it gets (a token).
    env: dict[str, str] = Field(default_factory=dict)
    # http (streamable HTTP): the endpoint, and header -> the name of the variable holding its value.
    url: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    tools: tuple[str, ...] = ("*",)  # which of the server's tools to offer at all (patterns)
    connect_timeout_s: float = Field(default=20.0, gt=0)
    call_timeout_s: float = Field(default=30.0, gt=0)

    @model_validator(mode="after")
    def _reachable(self) -> McpServerConfig:
        if self.transport == "stdio" and not self.command:
            raise ValueError("a stdio MCP server needs a command")
        if self.transport == "http" and not self.url:
            raise ValueError("an http MCP server needs a url")
        return self
