"""Anthropic's Messages API through one AsyncAnthropic client, built once and reused."""

from __future__ import annotations

import base64
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
    Usage,
)
from persona.providers.errors import classify
from persona.providers.tokens import TokenCounter

if TYPE_CHECKING:
    from anthropic.types import Message, RawMessageStreamEvent

    from persona.providers.config import ProviderConfig

_log = logging.getLogger(__name__)


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
            http_client=anthropic.DefaultAioHttpClient(),
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
        kwargs = request_kwargs(request)
        try:
            if on_text is None:
                message = await client.messages.create(**kwargs)
                return self._result(request, _message_text(message), _message_usage(message))
            return await self._stream(client, request, kwargs, on_text)
        except Exception as exc:
            error = classify(exc, self.name)
            if error is None or error is exc:
                raise
            raise error from exc

    async def _stream(
        self,
        client: anthropic.AsyncAnthropic,
        request: ChatRequest,
        kwargs: dict[str, Any],
        on_text: TextCallback,
    ) -> ChatResult:
        # Raw events rather than the SDK's MessageStream helper: we need only text and usage,
        # and skip accumulating a snapshot of the whole message on every event.
        stream = await client.messages.create(**kwargs, stream=True)
        parts: list[str] = []
        usage = _StreamUsage()
        async with stream:
            async for event in stream:
                usage.update(event)
                text = _event_text(event)
                if text:
                    parts.append(text)
                    await on_text(text)
        if not usage.complete:
            raise ProviderError(ErrorKind.MALFORMED, "stream ended without message_stop", provider=self.name)
        return self._result(request, "".join(parts), usage.total())

    def _result(self, request: ChatRequest, text: str, usage: Usage) -> ChatResult:
        return ChatResult(text=text, usage=usage, provider=self.name, model=request.model)

    def count_tokens(self, text: str) -> int:
        return self._counter.count(text)

    def count_model_tokens(self, model: str, text: str) -> int:
        return self._counter.count(text)

    async def list_models(self) -> list[str]:
        """Model ids the endpoint serves (for `familiar doctor`); raises ProviderError."""
        client = self._require_client()
        try:
            return [model.id async for model in client.models.list()]
        except Exception as exc:
            error = classify(exc, self.name)
            if error is None or error is exc:
                raise
            raise error from exc

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close()


def request_kwargs(request: ChatRequest) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "model": request.model,
        "max_tokens": request.max_tokens,
        "messages": [_wire_message(message) for message in request.messages],
    }
    if request.system:
        kwargs["system"] = request.system
    if request.temperature is not None:
        kwargs["temperature"] = request.temperature
    return kwargs


def _wire_message(message: ChatMessage) -> dict[str, Any]:
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


def _message_text(message: Message) -> str:
    return "".join(block.text for block in message.content if block.type == "text")


def _message_usage(message: Message) -> Usage:
    return Usage(input_tokens=message.usage.input_tokens, output_tokens=message.usage.output_tokens)


def _event_text(event: RawMessageStreamEvent) -> str:
    if event.type == "content_block_delta" and event.delta.type == "text_delta":
        return event.delta.text
    return ""


class _StreamUsage:
    """Input tokens arrive in message_start, output tokens (cumulative) in message_delta."""

    def __init__(self) -> None:
        self.input_tokens = 0
        self.output_tokens = 0
        self.complete = False

    def update(self, event: RawMessageStreamEvent) -> None:
        if event.type == "message_start":
            self.input_tokens = event.message.usage.input_tokens
            self.output_tokens = event.message.usage.output_tokens
        elif event.type == "message_delta":
            self.output_tokens = event.usage.output_tokens
            if event.usage.input_tokens is not None:
                self.input_tokens = event.usage.input_tokens
        elif event.type == "message_stop":
            self.complete = True

    def total(self) -> Usage:
        return Usage(input_tokens=self.input_tokens, output_tokens=self.output_tokens)
