"""A local LLM server speaking the real OpenAI and Anthropic wire protocols, scriptable per test.

Real SDK clients (AsyncOpenAI, AsyncAnthropic) talk to it over loopback HTTP, so tests exercise
the SDKs' own request building, SSE parsing and error mapping instead of patched methods.

Endpoints
    OpenAI     POST /v1/chat/completions (JSON, or SSE when "stream": true; a usage chunk is
               sent when stream_options.include_usage), POST /v1/embeddings (float or base64),
               GET /v1/models, POST /v1/audio/transcriptions (multipart: file, model,
               language, response_format; answers {"text": transcript})
    Anthropic  POST /v1/messages (JSON, or SSE events message_start, content_block_start,
               content_block_delta/text_delta, content_block_stop, message_delta, message_stop),
               GET /v1/models (the same path; answered in the Anthropic shape when the request
               carries an `anthropic-version` header)

Use in pytest (register in a conftest with ``from tests.support.llm_server import llm_server``)::

    async def test_x(llm_server: LLMServer) -> None:
        client = AsyncOpenAI(base_url=llm_server.openai_base_url, api_key="k", max_retries=0)
        llm_server.script(rate_limited(2.0), reply("hello"))   # next two chat calls
        ...
        assert llm_server.requests[-1].last_user_text == "hi"

Outside pytest (bench/)::

    async with LLMServer(latency_s=0.5) as server:
        AsyncAnthropic(base_url=server.anthropic_base_url, api_key="k")

As its own process (so its CPU does not load the process being measured, or to chat by hand):

    python -m tests.support.llm_server --latency 0.5 [--port P]
    # prints "listening http://127.0.0.1:P openai=http://127.0.0.1:P/v1", serves until killed

API
    LLMServer(latency_s=0.0, stream_chunk_delay_s=0.0, models=("test-model",), embedding_dim=8, port=0)
        .start() / .close() (idempotent) / ``async with``
        .openai_base_url     "http://127.0.0.1:P/v1"   (for AsyncOpenAI / OPENAI_BASE_URL)
        .anthropic_base_url  "http://127.0.0.1:P"      (for AsyncAnthropic / ANTHROPIC_BASE_URL)
        .requests            list[RecordedRequest], every request received, in order; a
                             transcription is recorded with json={"model", "language",
                             "response_format", "filename", "file_size"} (the form fields)
        .chat_requests       only the generation calls (chat/completions and messages)
        .script(*behaviours, endpoint="chat")  queue behaviours; each request to the endpoint
                             ("chat", "embeddings", "models" or "transcriptions") takes the next
                             one (a Reply's text is the transcript); when the queue
                             is empty the default behaviour applies (the responder for chat)
        .set_responder(fn)   fn(RecordedRequest) -> str | Awaitable[str]: the reply text when
                             nothing is scripted. Default: default_responder (deterministic).
        .transcript          the transcription text when nothing is scripted; mutable.
                             None (default): "transcribed <N> bytes" for an N-byte file
        .latency_s           fixed delay before every chat response (benchmarks); mutable
        .stream_chunk_delay_s delay between streamed chunks; mutable
        .pending_behaviours(endpoint="chat")  how many scripted behaviours are left
        .end_script(endpoint="chat")          drop the ones left (an outage is over)
        .release_hangs()     let every hanging request finish (close() also does it)

Behaviours (module-level constructors)
    reply(text, input_tokens=None, output_tokens=None)   a normal answer
    rate_limited(retry_after_s=1.0, header="seconds")    429 + Retry-After; header="ms" sends
                                                         retry-after-ms, "date" an HTTP date
                                                         (whole seconds), "none" no header
    insufficient_quota()     OpenAI: 429 with code insufficient_quota; Anthropic: 402 billing_error
    server_error()           500
    overloaded()             529 (Anthropic overloaded_error; sent as-is to OpenAI clients too)
    unauthorized()           401
    context_too_long()       400 (context_length_exceeded / "prompt is too long")
    fail(status, message, code=None, headers=None)  any other error status
    hang()                   never answers until the client gives up or the server closes
    malformed()              200 with an unparseable body (or unparseable SSE data when streaming)
    drop_mid_stream("Hel", "lo")  streams those text deltas, then drops the connection
                             (a non-streaming request gets a truncated JSON body)
    end_stream_early("Hel")  streams those deltas, then ends the body cleanly without the
                             closing events (no finish_reason/[DONE], no message_stop)
    tool_call(name, {"arg": 1}, text="")   the model calls a tool (after optional text): OpenAI
                             message.tool_calls / streamed delta.tool_calls pieces (finish_reason
                             "tool_calls"); Anthropic tool_use blocks / content_block_start +
                             input_json_delta pieces (stop_reason "tool_use")
    tool_calls(("a", {}), ("b", {"x": 1}), text="")  several calls in one answer

RecordedRequest also tells `tool_names` (the tools offered) and `tool_results` (the text of
every tool result the request carries, OpenAI "tool" messages or Anthropic tool_result blocks).

Usage numbers are deterministic: input tokens = whitespace-separated words in the system prompt
and all messages, output tokens = words in the reply (overridable per `reply`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import email.utils
import hashlib
import inspect
import itertools
import json
import math
import struct
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest
from aiohttp import BodyPartReader, web
from aiohttp.test_utils import TestServer

Api = Literal["openai", "anthropic"]
Endpoint = Literal["chat", "embeddings", "models", "transcriptions"]
Responder = Callable[["RecordedRequest"], "str | Awaitable[str]"]


# --------------------------------------------------------------------------------------------
# Recorded requests


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordedRequest:
    method: str
    path: str
    headers: Mapping[str, str]  # lower-cased names
    json: Any  # parsed body, or None when the body was empty / not JSON
    received_at: float  # time.monotonic(), the clock asyncio's loop.time() uses

    @property
    def api(self) -> Api:
        if self.path.startswith("/v1/messages") or "anthropic-version" in self.headers:
            return "anthropic"
        return "openai"

    @property
    def is_chat(self) -> bool:
        return self.path in {"/v1/chat/completions", "/v1/messages"}

    @property
    def stream(self) -> bool:
        return isinstance(self.json, dict) and bool(self.json.get("stream"))

    @property
    def model(self) -> str:
        return str(self.json.get("model", "")) if isinstance(self.json, dict) else ""

    @property
    def messages(self) -> list[dict[str, Any]]:
        if not isinstance(self.json, dict):
            return []
        return list(self.json.get("messages") or [])

    @property
    def system_text(self) -> str:
        """The system prompt, whichever wire shape carried it."""
        if self.api == "anthropic":
            return _text_of(self.json.get("system") if isinstance(self.json, dict) else None)
        return "\n".join(_text_of(m.get("content")) for m in self.messages if m.get("role") == "system")

    @property
    def last_user_text(self) -> str:
        for message in reversed(self.messages):
            if message.get("role") == "user":
                return _text_of(message.get("content"))
        return ""

    @property
    def tool_names(self) -> list[str]:
        tools = self.json.get("tools") if isinstance(self.json, dict) else None
        names = [t.get("name") or (t.get("function") or {}).get("name") for t in tools or []]
        return [str(name) for name in names if name]

    @property
    def tool_results(self) -> list[str]:
        results: list[str] = []
        for message in self.messages:
            content = message.get("content")
            if message.get("role") == "tool":
                results.append(_text_of(content))
            elif isinstance(content, list):
                results += [_text_of(b.get("content")) for b in content if b.get("type") == "tool_result"]
        return results

    @property
    def prompt_text(self) -> str:
        """System prompt and every message's text, joined: handy for `"fact" in prompt_text`."""
        parts = [self.system_text] + [_text_of(m.get("content")) for m in self.messages]
        return "\n".join(p for p in parts if p)


def _text_of(content: Any) -> str:
    """Text of an OpenAI/Anthropic content field: a string or a list of typed parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(part["text"]) if "text" in part else _text_of(part.get("content"))
            for part in content
            if isinstance(part, dict) and ("text" in part or part.get("type") == "tool_result")
        )
    return str(content)


def default_responder(request: RecordedRequest) -> str:
    """Deterministic reply derived from the last user message, so end-to-end tests need no script."""
    return f"You said: {request.last_user_text}"


# --------------------------------------------------------------------------------------------
# Behaviours


@dataclass(frozen=True, slots=True, kw_only=True)
class Reply:
    text: str
    input_tokens: int | None = None
    output_tokens: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Fail:
    status: int
    message: str
    code: str | None = None  # OpenAI error code (e.g. insufficient_quota)
    anthropic_status: int | None = None  # when Anthropic answers this case with another status
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Hang:
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class Malformed:
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class DropMidStream:
    chunks: tuple[str, ...]
    clean: bool = False  # end the HTTP body properly, just without the closing events


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolUse:
    calls: tuple[tuple[str, dict[str, Any]], ...]
    text: str = ""  # said before the calls (streamed first)


Behaviour = Reply | Fail | Hang | Malformed | DropMidStream | ToolUse


def tool_call(name: str, arguments: dict[str, Any] | None = None, *, text: str = "") -> ToolUse:
    return ToolUse(calls=((name, dict(arguments or {})),), text=text)


def tool_calls(*calls: tuple[str, dict[str, Any]], text: str = "") -> ToolUse:
    return ToolUse(calls=tuple((name, dict(arguments)) for name, arguments in calls), text=text)


def reply(text: str, *, input_tokens: int | None = None, output_tokens: int | None = None) -> Reply:
    return Reply(text=text, input_tokens=input_tokens, output_tokens=output_tokens)


def fail(
    status: int, message: str = "error", *, code: str | None = None, headers: Mapping[str, str] | None = None
) -> Fail:
    return Fail(status=status, message=message, code=code, headers=dict(headers or {}))


def rate_limited(
    retry_after_s: float = 1.0, *, header: Literal["seconds", "ms", "date", "none"] = "seconds"
) -> Fail:
    headers: dict[str, str] = {}
    if header == "seconds":
        headers["retry-after"] = _format_seconds(retry_after_s)
    elif header == "ms":
        headers["retry-after-ms"] = str(round(retry_after_s * 1000))
    elif header == "date":
        # HTTP dates have whole-second resolution: round up so the advertised delay is respected.
        when = time.time() + math.ceil(retry_after_s) + 1
        headers["retry-after"] = email.utils.formatdate(when, usegmt=True)
    return Fail(
        status=429,
        message="Rate limit reached, please slow down",
        code="rate_limit_exceeded",
        headers=headers,
    )


def insufficient_quota() -> Fail:
    return Fail(
        status=429,
        anthropic_status=402,
        message="You exceeded your current quota, please check your plan and billing details.",
        code="insufficient_quota",
    )


def server_error() -> Fail:
    return Fail(status=500, message="The server had an error while processing your request.")


def overloaded() -> Fail:
    return Fail(status=529, message="Overloaded")


def unauthorized() -> Fail:
    return Fail(status=401, message="Incorrect API key provided.", code="invalid_api_key")


def context_too_long() -> Fail:
    return Fail(
        status=400,
        message="prompt is too long: this model's maximum context length is 8192 tokens",
        code="context_length_exceeded",
    )


def hang() -> Hang:
    return Hang()


def malformed() -> Malformed:
    return Malformed()


def drop_mid_stream(*chunks: str) -> DropMidStream:
    return DropMidStream(chunks=chunks or ("partial ",))


def end_stream_early(*chunks: str) -> DropMidStream:
    return DropMidStream(chunks=chunks or ("partial ",), clean=True)


def _format_seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


_ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
_OPENAI_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    404: "invalid_request_error",
    429: "requests",
}


# --------------------------------------------------------------------------------------------
# The server


class LLMServer:
    """See the module docstring. Constructing does no I/O; `start()` binds a free loopback port."""

    def __init__(
        self,
        *,
        latency_s: float = 0.0,
        stream_chunk_delay_s: float = 0.0,
        models: tuple[str, ...] = ("test-model",),
        embedding_dim: int = 8,
        port: int = 0,
    ) -> None:
        self._port = port
        self.latency_s = latency_s
        self.stream_chunk_delay_s = stream_chunk_delay_s
        self.models = models
        self.embedding_dim = embedding_dim
        self.requests: list[RecordedRequest] = []
        self._queues: dict[Endpoint, deque[Behaviour]] = {
            "chat": deque(),
            "embeddings": deque(),
            "models": deque(),
            "transcriptions": deque(),
        }
        self.transcript: str | None = None
        self._responder: Responder = default_responder
        self._release = asyncio.Event()
        self._ids = itertools.count(1)
        self._server: TestServer | None = None

    # ---- lifecycle

    async def start(self) -> None:
        if self._server is not None:
            return
        self._release = asyncio.Event()
        server = TestServer(self._build_app(), host="127.0.0.1", port=self._port)
        await server.start_server()
        self._server = server

    async def close(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self.release_hangs()
        await server.close()

    async def __aenter__(self) -> LLMServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # ---- addresses

    @property
    def port(self) -> int:
        if self._server is None or self._server.port is None:
            raise RuntimeError("LLMServer is not started")
        return self._server.port

    @property
    def anthropic_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_base_url(self) -> str:
        return f"{self.anthropic_base_url}/v1"

    # ---- scripting

    def script(self, *behaviours: Behaviour, endpoint: Endpoint = "chat") -> None:
        self._queues[endpoint].extend(behaviours)

    def set_responder(self, fn: Responder) -> None:
        self._responder = fn

    def pending_behaviours(self, endpoint: Endpoint = "chat") -> int:
        return len(self._queues[endpoint])

    def end_script(self, endpoint: Endpoint = "chat") -> None:
        """Drop the scripted behaviours not yet served: the outage they stood for is over."""
        self._queues[endpoint].clear()

    def release_hangs(self) -> None:
        self._release.set()

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.is_chat]

    # ---- HTTP

    def _build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/messages", self._chat)
        app.router.add_post("/v1/embeddings", self._embeddings)
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/v1/audio/transcriptions", self._transcriptions)
        return app

    async def _record(self, request: web.Request) -> RecordedRequest:
        received_at = time.monotonic()
        if request.content_type.startswith("multipart/"):
            body: Any = await _read_form(request)
        else:
            raw = await request.read()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
        recorded = RecordedRequest(
            method=request.method,
            path=request.path,
            headers={k.lower(): v for k, v in request.headers.items()},
            json=body,
            received_at=received_at,
        )
        self.requests.append(recorded)
        return recorded

    def _next(self, endpoint: Endpoint) -> Behaviour | None:
        queue = self._queues[endpoint]
        return queue.popleft() if queue else None

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        recorded = await self._record(request)
        behaviour = self._next("chat")
        if behaviour is None:
            text = self._responder(recorded)
            behaviour = Reply(text=await text if inspect.isawaitable(text) else text)
        if self.latency_s > 0:
            await asyncio.sleep(self.latency_s)
        return await self._respond(request, recorded, behaviour)

    async def _respond(
        self, request: web.Request, recorded: RecordedRequest, behaviour: Behaviour
    ) -> web.StreamResponse:
        if isinstance(behaviour, Fail):
            return _error_response(recorded.api, behaviour)
        if isinstance(behaviour, Hang):
            await self._release.wait()
            return _error_response(recorded.api, server_error())
        if isinstance(behaviour, Malformed):
            return await self._malformed(request, recorded)
        if isinstance(behaviour, DropMidStream):
            return await self._drop(request, recorded, behaviour)
        if isinstance(behaviour, ToolUse):
            return await self._tool_use(request, recorded, behaviour)
        if recorded.stream:
            return await self._stream(request, recorded, behaviour)
        return _json(self._completion_body(recorded, behaviour))

    # ---- bodies

    def _usage(self, recorded: RecordedRequest, reply_: Reply) -> tuple[int, int]:
        input_tokens = reply_.input_tokens
        if input_tokens is None:
            input_tokens = len(recorded.prompt_text.split())
        output_tokens = reply_.output_tokens
        if output_tokens is None:
            output_tokens = len(reply_.text.split())
        return input_tokens, output_tokens

    def _completion_body(self, recorded: RecordedRequest, reply_: Reply) -> dict[str, Any]:
        input_tokens, output_tokens = self._usage(recorded, reply_)
        if recorded.api == "anthropic":
            return {
                "id": f"msg_{next(self._ids)}",
                "type": "message",
                "role": "assistant",
                "model": recorded.model,
                "content": [{"type": "text", "text": reply_.text}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
            }
        return {
            "id": f"chatcmpl-{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": recorded.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply_.text, "refusal": None},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": _openai_usage(input_tokens, output_tokens),
        }

    # ---- tool calls

    def _call_ids(self, recorded: RecordedRequest, use: ToolUse) -> list[str]:
        prefix = "toolu_" if recorded.api == "anthropic" else "call_"
        return [f"{prefix}{next(self._ids)}" for _ in use.calls]

    async def _tool_use(
        self, request: web.Request, recorded: RecordedRequest, use: ToolUse
    ) -> web.StreamResponse:
        ids = self._call_ids(recorded, use)
        usage = self._usage(recorded, Reply(text=use.text))
        if not recorded.stream:
            if recorded.api == "anthropic":
                return _json(_anthropic_tool_body(recorded, f"msg_{next(self._ids)}", use, ids, usage))
            return _json(_openai_tool_body(recorded, f"chatcmpl-{next(self._ids)}", use, ids, usage))
        response = await self._open_stream(request)
        if recorded.api == "anthropic":
            events = _anthropic_tool_events(recorded, f"msg_{next(self._ids)}", use, ids, usage)
        else:
            include_usage = bool((recorded.json.get("stream_options") or {}).get("include_usage"))
            events = _openai_tool_events(
                recorded, f"chatcmpl-{next(self._ids)}", use, ids, usage if include_usage else None
            )
        for event in events:
            await response.write(event)
        await response.write_eof()
        return response

    # ---- streaming

    async def _open_stream(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            status=200, headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        return response

    async def _stream(
        self, request: web.Request, recorded: RecordedRequest, reply_: Reply
    ) -> web.StreamResponse:
        response = await self._open_stream(request)
        async for event in self._events(recorded, reply_, _split_chunks(reply_.text)):
            await response.write(event)
            if self.stream_chunk_delay_s > 0:
                await asyncio.sleep(self.stream_chunk_delay_s)
        await response.write_eof()
        return response

    async def _events(
        self, recorded: RecordedRequest, reply_: Reply, chunks: list[str], *, complete: bool = True
    ) -> AsyncIterator[bytes]:
        input_tokens, output_tokens = self._usage(recorded, reply_)
        if recorded.api == "anthropic":
            for event in _anthropic_events(
                recorded, f"msg_{next(self._ids)}", chunks, input_tokens, output_tokens, complete=complete
            ):
                yield event
            return
        include_usage = bool((recorded.json.get("stream_options") or {}).get("include_usage"))
        for event in _openai_events(
            recorded,
            f"chatcmpl-{next(self._ids)}",
            chunks,
            (input_tokens, output_tokens) if include_usage else None,
            complete=complete,
        ):
            yield event

    async def _drop(
        self, request: web.Request, recorded: RecordedRequest, behaviour: DropMidStream
    ) -> web.StreamResponse:
        if not recorded.stream:
            return await self._drop_json(request)
        response = await self._open_stream(request)
        reply_ = Reply(text="".join(behaviour.chunks))
        async for event in self._events(recorded, reply_, list(behaviour.chunks), complete=False):
            await response.write(event)
        if behaviour.clean:
            await response.write_eof()
        else:
            _abort(request)
        return response

    async def _drop_json(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        response.content_length = 4096  # promise more than we send, then hang up
        await response.prepare(request)
        await response.write(b'{"id": "cut')
        _abort(request)
        return response

    async def _malformed(self, request: web.Request, recorded: RecordedRequest) -> web.StreamResponse:
        if not recorded.stream:
            return web.Response(
                status=200, body=b'{"id": "oops", "choices": [', content_type="application/json"
            )
        response = await self._open_stream(request)
        if recorded.api == "anthropic":
            await response.write(b"event: message_start\ndata: {not json at all\n\n")
        else:
            await response.write(b"data: {not json at all\n\n")
        await response.write_eof()
        return response

    # ---- transcriptions, embeddings and models

    async def _transcriptions(self, request: web.Request) -> web.StreamResponse:
        recorded = await self._record(request)
        behaviour = self._next("transcriptions")
        if behaviour is not None and not isinstance(behaviour, Reply):
            return await self._respond(request, recorded, behaviour)
        if behaviour is not None:
            text = behaviour.text
        elif self.transcript is not None:
            text = self.transcript
        else:
            text = f"transcribed {recorded.json.get('file_size', 0)} bytes"
        return _json({"text": text})

    async def _embeddings(self, request: web.Request) -> web.StreamResponse:
        recorded = await self._record(request)
        behaviour = self._next("embeddings")
        if behaviour is not None and not isinstance(behaviour, Reply):
            return await self._respond(request, recorded, behaviour)
        body = recorded.json if isinstance(recorded.json, dict) else {}
        inputs = body.get("input", [])
        texts = [inputs] if isinstance(inputs, str) else [str(t) for t in inputs]
        as_base64 = body.get("encoding_format") == "base64"
        data = [
            {"object": "embedding", "index": i, "embedding": self._embedding(text, as_base64=as_base64)}
            for i, text in enumerate(texts)
        ]
        tokens = sum(len(t.split()) for t in texts)
        return _json(
            {
                "object": "list",
                "data": data,
                "model": body.get("model", ""),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )

    def _embedding(self, text: str, *, as_base64: bool) -> list[float] | str:
        """A deterministic unit vector from the text's hash: equal texts embed equally."""
        digest = hashlib.sha256(text.encode()).digest()
        raw = [((digest[i % len(digest)] + i) % 251) / 125.0 - 1.0 for i in range(self.embedding_dim)]
        norm = math.sqrt(sum(v * v for v in raw)) or 1.0
        vector = [v / norm for v in raw]
        if as_base64:
            return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        return vector

    async def _models(self, request: web.Request) -> web.StreamResponse:
        recorded = await self._record(request)
        behaviour = self._next("models")
        if behaviour is not None and not isinstance(behaviour, Reply):
            return await self._respond(request, recorded, behaviour)
        if recorded.api == "anthropic":
            return _json(
                {
                    "data": [
                        {"type": "model", "id": m, "display_name": m, "created_at": "2026-01-01T00:00:00Z"}
                        for m in self.models
                    ],
                    "has_more": False,
                    "first_id": self.models[0] if self.models else None,
                    "last_id": self.models[-1] if self.models else None,
                }
            )
        return _json(
            {
                "object": "list",
                "data": [{"id": m, "object": "model", "created": 0, "owned_by": "test"} for m in self.models],
            }
        )


# --------------------------------------------------------------------------------------------
# Wire helpers (pure)


def _json(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    # Exactly "application/json": some clients are strict about the charset suffix.
    return web.Response(
        status=status,
        body=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def _error_response(api: Api, failure: Fail) -> web.Response:
    if api == "anthropic":
        status = failure.anthropic_status or failure.status
        body: dict[str, Any] = {
            "type": "error",
            "error": {"type": _ANTHROPIC_ERROR_TYPES.get(status, "api_error"), "message": failure.message},
        }
    else:
        status = failure.status
        error_type = failure.code if failure.code == "insufficient_quota" else None
        body = {
            "error": {
                "message": failure.message,
                "type": error_type or _OPENAI_ERROR_TYPES.get(status, "server_error"),
                "param": None,
                "code": failure.code,
            }
        }
    return _json(body, status=status, headers=failure.headers)


def _openai_usage(input_tokens: int, output_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": input_tokens,
        "completion_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
    }


async def _read_form(request: web.Request) -> dict[str, Any]:
    """A multipart form's text fields, plus the uploaded file's name and size (not its bytes)."""
    fields: dict[str, Any] = {}
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader) or part.name is None:
            continue
        data = await part.read()
        if part.filename is not None:
            fields["filename"] = part.filename
            fields["file_size"] = len(data)
        else:
            fields[part.name] = data.decode("utf-8", errors="replace")
    return fields


def _split_chunks(text: str) -> list[str]:
    """Split into word-sized deltas that concatenate back to `text` exactly."""
    chunks: list[str] = []
    current = ""
    for char in text:
        current += char
        if char == " ":
            chunks.append(current)
            current = ""
    if current:
        chunks.append(current)
    return chunks


def _sse(data: Any, event: str | None = None) -> bytes:
    prefix = f"event: {event}\n" if event else ""
    return f"{prefix}data: {json.dumps(data)}\n\n".encode()


def _openai_events(
    recorded: RecordedRequest,
    completion_id: str,
    chunks: list[str],
    usage: tuple[int, int] | None,
    *,
    complete: bool,
) -> list[bytes]:
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None) -> bytes:
        return _sse(
            {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": recorded.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
            }
        )

    events = [chunk({"role": "assistant", "content": ""}, None)]
    events += [chunk({"content": text}, None) for text in chunks]
    if not complete:
        return events
    events.append(chunk({}, "stop"))
    if usage is not None:
        events.append(
            _sse(
                {
                    "id": completion_id,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": recorded.model,
                    "choices": [],
                    "usage": _openai_usage(*usage),
                }
            )
        )
    events.append(b"data: [DONE]\n\n")
    return events


def _anthropic_events(
    recorded: RecordedRequest,
    message_id: str,
    chunks: list[str],
    input_tokens: int,
    output_tokens: int,
    *,
    complete: bool,
) -> list[bytes]:
    start = {
        "type": "message_start",
        "message": {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": recorded.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": 1},
        },
    }
    events = [
        _sse(start, "message_start"),
        _sse(
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            "content_block_start",
        ),
        _sse({"type": "ping"}, "ping"),
    ]
    events += [
        _sse(
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}},
            "content_block_delta",
        )
        for text in chunks
    ]
    if not complete:
        return events
    events += [
        _sse({"type": "content_block_stop", "index": 0}, "content_block_stop"),
        _sse(
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": output_tokens},
            },
            "message_delta",
        ),
        _sse({"type": "message_stop"}, "message_stop"),
    ]
    return events


def _halves(text: str) -> list[str]:
    """Arguments JSON in two pieces, as real providers split it across deltas."""
    middle = len(text) // 2
    return [piece for piece in (text[:middle], text[middle:]) if piece]


def _openai_tool_body(
    recorded: RecordedRequest, completion_id: str, use: ToolUse, ids: list[str], usage: tuple[int, int]
) -> dict[str, Any]:
    calls = [
        {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}
        for call_id, (name, arguments) in zip(ids, use.calls, strict=True)
    ]
    message = {"role": "assistant", "content": use.text or None, "refusal": None, "tool_calls": calls}
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": recorded.model,
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls", "logprobs": None}],
        "usage": _openai_usage(*usage),
    }


def _openai_tool_events(
    recorded: RecordedRequest,
    completion_id: str,
    use: ToolUse,
    ids: list[str],
    usage: tuple[int, int] | None,
) -> list[bytes]:
    events = _openai_events(recorded, completion_id, _split_chunks(use.text), None, complete=False)
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        return _sse(
            {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": recorded.model,
                "choices": [choice],
            }
        )

    for index, (call_id, (name, arguments)) in enumerate(zip(ids, use.calls, strict=True)):
        head = {
            "index": index,
            "id": call_id,
            "type": "function",
            "function": {"name": name, "arguments": ""},
        }
        events.append(chunk({"tool_calls": [head]}))
        events += [
            chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
            for piece in _halves(json.dumps(arguments))
        ]
    events.append(chunk({}, "tool_calls"))
    if usage is not None:
        events.append(
            _sse(
                {
                    "id": completion_id,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": recorded.model,
                    "choices": [],
                    "usage": _openai_usage(*usage),
                }
            )
        )
    events.append(b"data: [DONE]\n\n")
    return events


def _anthropic_tool_body(
    recorded: RecordedRequest, message_id: str, use: ToolUse, ids: list[str], usage: tuple[int, int]
) -> dict[str, Any]:
    text = [{"type": "text", "text": use.text}] if use.text else []
    uses = [
        {"type": "tool_use", "id": call_id, "name": name, "input": arguments}
        for call_id, (name, arguments) in zip(ids, use.calls, strict=True)
    ]
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": recorded.model,
        "content": [*text, *uses],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {"input_tokens": usage[0], "output_tokens": usage[1]},
    }


def _anthropic_tool_events(
    recorded: RecordedRequest, message_id: str, use: ToolUse, ids: list[str], usage: tuple[int, int]
) -> list[bytes]:
    # The text block (index 0, possibly empty) as for a reply, left open by complete=False.
    events = _anthropic_events(
        recorded, message_id, _split_chunks(use.text), usage[0], usage[1], complete=False
    )
    events.append(_sse({"type": "content_block_stop", "index": 0}, "content_block_stop"))
    for offset, (call_id, (name, arguments)) in enumerate(zip(ids, use.calls, strict=True)):
        index = offset + 1
        block = {"type": "tool_use", "id": call_id, "name": name, "input": {}}
        events.append(
            _sse(
                {"type": "content_block_start", "index": index, "content_block": block}, "content_block_start"
            )
        )
        events += [
            _sse(
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "input_json_delta", "partial_json": piece},
                },
                "content_block_delta",
            )
            for piece in _halves(json.dumps(arguments))
        ]
        events.append(_sse({"type": "content_block_stop", "index": index}, "content_block_stop"))
    events += [
        _sse(
            {
                "type": "message_delta",
                "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                "usage": {"output_tokens": usage[1]},
            },
            "message_delta",
        ),
        _sse({"type": "message_stop"}, "message_stop"),
    ]
    return events


def _abort(request: web.Request) -> None:
    """Drop the TCP connection without finishing the HTTP message (a provider dying mid-answer)."""
    transport = request.transport
    if transport is not None:
        with contextlib.suppress(Exception):
            transport.abort()


# --------------------------------------------------------------------------------------------
# As a separate process (benchmarks: keeps the fake's CPU off the measured process's loop)


async def serve_forever(
    *, port: int, latency_s: float, ready: Callable[[LLMServer], None] | None = None
) -> None:
    server = LLMServer(latency_s=latency_s, port=port)
    async with server:
        if ready is not None:
            ready(server)
        await asyncio.Event().wait()  # until cancelled (Ctrl-C / SIGTERM ends the process)


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(
        description="Fake OpenAI/Anthropic server on 127.0.0.1 (tests, benchmarks)"
    )
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each chat response")
    args = parser.parse_args(argv)

    def announce(server: LLMServer) -> None:
        # One line on stdout, so a parent process can read the port.
        print(f"listening {server.anthropic_base_url} openai={server.openai_base_url}", flush=True)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_forever(port=args.port, latency_s=args.latency, ready=announce))


# --------------------------------------------------------------------------------------------
# pytest fixture


@pytest.fixture
async def llm_server() -> AsyncIterator[LLMServer]:
    server = LLMServer()
    await server.start()
    try:
        yield server
    finally:
        await server.close()


__all__ = [
    "Behaviour",
    "DropMidStream",
    "Fail",
    "Hang",
    "LLMServer",
    "Malformed",
    "RecordedRequest",
    "Reply",
    "ToolUse",
    "context_too_long",
    "default_responder",
    "drop_mid_stream",
    "end_stream_early",
    "fail",
    "hang",
    "insufficient_quota",
    "llm_server",
    "malformed",
    "overloaded",
    "rate_limited",
    "reply",
    "server_error",
    "tool_call",
    "tool_calls",
    "unauthorized",
]


if __name__ == "__main__":
    main()
