"""The provider interface: one chat call, streamed or not, with classified errors.

Implementations are native async (AsyncOpenAI, AsyncAnthropic). Retries with backoff and the
fallback chain live in `persona.providers.chain`, so every provider behaves the same way.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

TextCallback = Callable[[str], Awaitable[None]]


@dataclass(frozen=True, slots=True, kw_only=True)
class Image:
    content_type: str  # e.g. "image/png"
    data: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolSpec:
    """A tool the model may call: its name, what it does, and its parameters as JSON schema."""

    name: str  # [A-Za-z0-9_-]{1,64}: the strictest rule among the providers
    description: str
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolCall:
    """One call the model asked for; `arguments` is the JSON text exactly as the model wrote it."""

    id: str
    name: str
    arguments: str = "{}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolResult:
    """What a tool returned for one call, already fenced as data (see `persona.tools.fence`)."""

    call_id: str
    name: str
    content: str
    is_error: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatMessage:
    role: Literal["user", "assistant"]
    content: str
    images: tuple[Image, ...] = ()
    # An assistant message may carry the tool calls it made; the user message after it carries
    # their results (OpenAI sends those as "tool" messages, Anthropic as tool_result blocks).
    tool_calls: tuple[ToolCall, ...] = ()
    tool_results: tuple[ToolResult, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatRequest:
    model: str
    system: str
    messages: tuple[ChatMessage, ...]
    max_tokens: int = 1024
    temperature: float | None = None
    json_mode: bool = False  # ask for a JSON object (fact extraction); best effort per provider
    # Learning and journaling: one attempt per entry, none while the entry's circuit is open
    # (`persona.providers.circuit`); whoever queued the work retries later.
    background: bool = False
    # Tools the model may call; none (the default) sends exactly the request of a plain reply.
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: Literal["auto", "none"] = "auto"  # "none": answer in words now (the loop's bound)
    # A later round of a tool loop: text or a tool's effect already reached the person, so the
    # chain must not start over on another entry (retries of this same call are still fine).
    no_failover: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatResult:
    text: str
    usage: Usage
    provider: str
    model: str
    tool_calls: tuple[ToolCall, ...] = ()


class ErrorKind(enum.Enum):
    RATE_LIMIT = "rate_limit"  # 429: retry after a while
    QUOTA = "quota"  # out of credit: do not retry this provider
    AUTH = "auth"  # bad key: do not retry
    BAD_REQUEST = "bad_request"  # our fault (too long, bad model): do not retry
    TIMEOUT = "timeout"
    SERVER = "server"  # 5xx, overloaded
    CONNECTION = "connection"  # refused, DNS
    MALFORMED = "malformed"  # the provider answered something we cannot parse

    @property
    def retryable(self) -> bool:
        return self in {ErrorKind.RATE_LIMIT, ErrorKind.TIMEOUT, ErrorKind.SERVER, ErrorKind.CONNECTION}


class ProviderError(Exception):
    def __init__(
        self, kind: ErrorKind, message: str, *, provider: str, retry_after_s: float | None = None
    ) -> None:
        super().__init__(f"{provider}: {kind.value}: {message}")
        self.kind = kind
        self.provider = provider
        self.retry_after_s = retry_after_s


class LLMProvider(Protocol):
    """One configured provider endpoint (a client reused for the process lifetime)."""

    name: str

    async def chat(self, request: ChatRequest, on_text: TextCallback | None = None) -> ChatResult:
        """Run one chat call. With `on_text`, stream: it is awaited with each text delta.

        Raises ProviderError (classified) and nothing else for provider-side failures.
        """
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens in `text` for this provider's models: a real tokenizer or a safe overestimate."""
        ...

    async def close(self) -> None: ...
