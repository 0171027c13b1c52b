"""A scripted in-memory `LLMProvider` (our own protocol) for unit tests and benchmarks."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from persona.providers.base import ChatRequest, ChatResult, ProviderError, TextCallback, Usage

Step = str | ProviderError


class ScriptedProvider:
    """Answers from a script (texts or errors to raise), then from `responder`.

    `latency_s` delays each call; `gate`, when set, makes every call wait until it is opened,
    so a test can hold a turn "mid-generation". Streams the reply in `chunks` pieces.
    Tokens are counted as whitespace-separated words (deterministic for budget tests).
    """

    def __init__(
        self,
        *script: Step,
        name: str = "fake",
        latency_s: float = 0.0,
        chunks: int = 3,
        responder: Callable[[ChatRequest], str] | None = None,
    ) -> None:
        self.name = name
        self.latency_s = latency_s
        self.chunks = chunks
        self.script: deque[Step] = deque(script)
        self.responder = responder or (lambda request: f"reply {len(self.requests)}")
        self.requests: list[ChatRequest] = []
        self.gate: asyncio.Event | None = None
        self.started = asyncio.Event()  # set when a call begins (tests wait on it)
        self._calls = asyncio.Condition()
        self.closed = False

    async def chat(self, request: ChatRequest, on_text: TextCallback | None = None) -> ChatResult:
        self.requests.append(request)
        self.started.set()
        async with self._calls:
            self._calls.notify_all()
        if self.gate is not None:
            await self.gate.wait()
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        step = self.script.popleft() if self.script else self.responder(request)
        if isinstance(step, ProviderError):
            raise step
        if on_text is not None:
            for piece in _split(step, self.chunks):
                await on_text(piece)
        prompt = request.system + " ".join(m.content for m in request.messages)
        usage = Usage(input_tokens=self.count_tokens(prompt), output_tokens=self.count_tokens(step))
        return ChatResult(text=step, usage=usage, provider=self.name, model=request.model)

    async def wait_for_calls(self, count: int) -> None:
        """Until `count` calls have begun."""
        async with self._calls:
            await self._calls.wait_for(lambda: len(self.requests) >= count)

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    async def close(self) -> None:
        self.closed = True


def _split(text: str, parts: int) -> list[str]:
    size = max(1, -(-len(text) // max(1, parts)))
    return [text[i : i + size] for i in range(0, len(text), size)]
