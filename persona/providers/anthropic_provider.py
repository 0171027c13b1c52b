"""Anthropic's Messages API through one AsyncAnthropic client, built once and reused."""

from __future__ import annotations

import base64
import json
import logging
from typing import TYPE_CHECKING, Any

import anthropic

from persona.providers.base import (
    ChatMessage,
    ChatRequest,
    ChatResult,
    ErrorKind,
    ProviderError,
    TextCallback,
    ToolCall,
    Usage,
)
from persona.providers.errors import provider_errors
from persona.providers.tokens import TokenCounter

if TYPE_CHECKING:
    from persona.providers.config import ProviderConfig

_log = logging.getLogger(__name__)

# Plain dicts through the client's generic `post`, as in openai_provider (and for the same
# reason: the typed call's per-request TypedDict walk and per-event model building).
_MESSAGES_PATH = "/v1/messages"


class AnthropicProvider:
    """`LLMProvider` over the Messages API. `json_mode` is not sent: the API has no such switch,
    and the prompt asking for JSON is what makes Claude answer in JSON."""

    def __init__(self, config: ProviderConfig) -> None:
        self.name = config.name
        self._config = config
        # Claude's tokenizer is not published: a safe estimate from o200k (see tokens.py).
        self._counter = TokenCounter(encoding="o200k_base", exact=False)
        # Constructing the client does no I/O; it reads ANTHROPIC_API_KEY / ANTHROPIC_BASE_URL.
        self._client: anthropic.AsyncAnthropic | None = anthropic.AsyncAnthropic(
            api_key=config.api_key.get_secret_value() if config.api_key is not None else None,
            base_url=config.base_url,
            timeout=anthropic.Timeout(config.timeout_s, connect=config.connect_timeout_s),
            max_retries=0,  # the chain retries, with the same policy for every provider
            default_headers=config.extra_headers or None,
            http_client=anthropic.DefaultAioHttpClient() if config.http_transport == "aiohttp" else None,
        )

    @property
    def base_url(self) -> str:
        return str(self._client.base_url) if self._client else (self._config.base_url or "")

    def _require_client(self) -> anthropic.AsyncAnthropic:
        client = self._client
        if client is None:
            raise ProviderError(ErrorKind.CONNECTION, "provider closed", provider=self.name)
        if client.api_key is None and client.auth_token is None:
            # The SDK would raise a bare TypeError at request time; say what to fix instead.
            raise ProviderError(
                ErrorKind.AUTH,
                "no API key: set ANTHROPIC_API_KEY or the provider's api_key",
                provider=self.name,
            )
        return client

    async def chat(self, request: ChatRequest, on_text: TextCallback | None = None) -> ChatResult:
        client = self._require_client()
        body = request_body(request)
        with provider_errors(self.name):
            if on_text is None:
                data = await client.post(_MESSAGES_PATH, body=body, cast_to=object)
                text, usage = parse_message(data, self.name)
                return self._result(request, text, usage, parse_tool_uses(data))
            return await self._stream(client, request, body, on_text)

    async def _stream(
        self,
        client: anthropic.AsyncAnthropic,
        request: ChatRequest,
        body: dict[str, Any],
        on_text: TextCallback,
    ) -> ChatResult:
        stream = await client.post(
            _MESSAGES_PATH,
            body={**body, "stream": True},
            cast_to=object,
            stream=True,
            stream_cls=anthropic.AsyncStream[object],
        )
        parts: list[str] = []
        usage = _StreamUsage(self.name)
        calls = _StreamedToolUses(self.name)
        async with stream:
            async for event in stream:
                usage.update(event)
                calls.update(event)
                text = _event_text(event)
                if text:
                    parts.append(text)
                    await on_text(text)
        if not usage.complete:
            raise ProviderError(ErrorKind.MALFORMED, "stream ended without message_stop", provider=self.name)
        return self._result(request, "".join(parts), usage.total(), calls.done())

    def _result(
        self, request: ChatRequest, text: str, usage: Usage, calls: tuple[ToolCall, ...] = ()
    ) -> ChatResult:
        return ChatResult(text=text, usage=usage, provider=self.name, model=request.model, tool_calls=calls)

    def count_tokens(self, text: str) -> int:
        return self._counter.count(text)

    def count_model_tokens(self, model: str, text: str) -> int:
        return self._counter.count(text)

    async def list_models(self) -> list[str]:
        """Model ids the endpoint serves (for `familiar doctor`); raises ProviderError."""
        client = self._require_client()
        with provider_errors(self.name):
            return [model.id async for model in client.models.list()]

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close()


def request_body(request: ChatRequest) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": request.model,
        "max_tokens": request.max_tokens,
        "messages": [_wire_message(message) for message in request.messages],
    }
    if request.system:
        body["system"] = request.system
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.tools:  # only then: a request without tools is exactly a plain reply's
        body["tools"] = [
            {"name": t.name, "description": t.description, "input_schema": t.parameters}
            for t in request.tools
        ]
        body["tool_choice"] = {"type": request.tool_choice}
    return body


def _wire_message(message: ChatMessage) -> dict[str, Any]:
    if message.tool_calls or message.tool_results:
        return {"role": message.role, "content": _tool_blocks(message)}
    if not message.images:
        return {"role": message.role, "content": message.content}
    # Images before the text: Anthropic's guidance for the best results.
    blocks: list[dict[str, Any]] = [
        {
            "type": "image",
            "source": {
                "type": "base64",
                "media_type": image.content_type,
                "data": base64.b64encode(image.data).decode("ascii"),
            },
        }
        for image in message.images
    ]
    if message.content:
        blocks.append({"type": "text", "text": message.content})
    return {"role": message.role, "content": blocks}


def _tool_blocks(message: ChatMessage) -> list[dict[str, Any]]:
    """Results first (the API wants them at the start of the user turn), then any text; an
    assistant's text comes before the tool_use blocks it led to."""
    results: list[dict[str, Any]] = [
        {"type": "tool_result", "tool_use_id": r.call_id, "content": r.content, "is_error": r.is_error}
        for r in message.tool_results
    ]
    text = [{"type": "text", "text": message.content}] if message.content else []
    uses = [
        {"type": "tool_use", "id": c.id, "name": c.name, "input": _input_of(c.arguments)}
        for c in message.tool_calls
    ]
    return [*results, *text, *uses]


def _input_of(arguments: str) -> dict[str, Any]:
    """The call's arguments as the object the API wants back (what the model wrote, or {})."""
    try:
        value = json.loads(arguments)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def parse_tool_uses(data: object) -> tuple[ToolCall, ...]:
    """The tool_use blocks of a Messages API body (validated by `parse_message` first)."""
    assert isinstance(data, dict)
    return tuple(
        ToolCall(id=str(b.get("id", "")), name=str(b["name"]), arguments=json.dumps(b.get("input") or {}))
        for b in data["content"]
        if isinstance(b, dict) and b.get("type") == "tool_use" and b.get("name")
    )


class _StreamedToolUses:
    """tool_use blocks assembled from content_block_start and their input_json_delta pieces."""

    def __init__(self, provider: str) -> None:
        self._provider = provider
        self._blocks: dict[int, dict[str, str]] = {}

    def update(self, event: object) -> None:
        if not isinstance(event, dict):
            return
        index = event.get("index")
        if event.get("type") == "content_block_start":
            block = event.get("content_block")
            if isinstance(block, dict) and block.get("type") == "tool_use" and isinstance(index, int):
                self._blocks[index] = {
                    "id": str(block.get("id", "")),
                    "name": str(block.get("name", "")),
                    "json": "",
                }
        elif event.get("type") == "content_block_delta" and index in self._blocks:
            delta = event.get("delta")
            if isinstance(delta, dict) and delta.get("type") == "input_json_delta":
                self._blocks[index]["json"] += str(delta.get("partial_json", ""))

    def done(self) -> tuple[ToolCall, ...]:
        blocks = [self._blocks[index] for index in sorted(self._blocks)]
        if any(not block["name"] for block in blocks):
            raise _malformed(self._provider, "streamed tool_use without a name")
        return tuple(ToolCall(id=b["id"], name=b["name"], arguments=b["json"] or "{}") for b in blocks)


def parse_message(data: object, provider: str) -> tuple[str, Usage]:
    """Text (all text blocks) and usage of a Messages API body."""
    if not isinstance(data, dict) or not isinstance(data.get("content"), list):
        raise _malformed(provider, "message without content")
    text = "".join(
        str(block.get("text", ""))
        for block in data["content"]
        if isinstance(block, dict) and block.get("type") == "text"
    )
    usage = data.get("usage")
    if not isinstance(usage, dict):
        return text, Usage()
    return text, Usage(
        input_tokens=_int(usage.get("input_tokens")), output_tokens=_int(usage.get("output_tokens"))
    )


def _event_text(event: object) -> str:
    if not isinstance(event, dict) or event.get("type") != "content_block_delta":
        return ""
    delta = event.get("delta")
    if isinstance(delta, dict) and delta.get("type") == "text_delta":
        text = delta.get("text")
        return text if isinstance(text, str) else ""
    return ""


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0


def _malformed(provider: str, what: str) -> ProviderError:
    return ProviderError(ErrorKind.MALFORMED, what, provider=provider)


class _StreamUsage:
    """Input tokens arrive in message_start, output tokens (cumulative) in message_delta."""

    def __init__(self, provider: str) -> None:
        self._provider = provider
        self.input_tokens = 0
        self.output_tokens = 0
        self.complete = False

    def update(self, event: object) -> None:
        if not isinstance(event, dict):
            raise _malformed(self._provider, "stream event is not an object")
        kind = event.get("type")
        if kind == "message_start":
            message = event.get("message")
            usage = message.get("usage") if isinstance(message, dict) else None
            self._take(usage)
        elif kind == "message_delta":
            self._take(event.get("usage"))
        elif kind == "message_stop":
            self.complete = True

    def _take(self, usage: object) -> None:
        if not isinstance(usage, dict):
            return
        if isinstance(usage.get("input_tokens"), int):
            self.input_tokens = usage["input_tokens"]
        if isinstance(usage.get("output_tokens"), int):
            self.output_tokens = usage["output_tokens"]

    def total(self) -> Usage:
        return Usage(input_tokens=self.input_tokens, output_tokens=self.output_tokens)
