"""ProviderChain policy, with hand-written fakes of our own LLMProvider protocol."""

from __future__ import annotations

import asyncio
from collections import deque

import pytest

from persona.providers.base import (
    ChatMessage,
    ChatRequest,
    ChatResult,
    ErrorKind,
    ProviderError,
    TextCallback,
    Usage,
)
from persona.providers.chain import ChainEntry, ChainError, ProviderChain, RetryPolicy, UsageCounters

Outcome = str | ProviderError | asyncio.Event


class FakeProvider:
    """Answers from a script: text (streamed word by word), a ProviderError, or an Event to wait on."""

    def __init__(self, name: str, *outcomes: Outcome, tokens_per_char: int = 1) -> None:
        self.name = name
        self.outcomes: deque[Outcome] = deque(outcomes)
        self.calls: list[ChatRequest] = []
        self.called = asyncio.Event()
        self.tokens_per_char = tokens_per_char

    async def chat(self, request: ChatRequest, on_text: TextCallback | None = None) -> ChatResult:
        self.calls.append(request)
        self.called.set()
        outcome = self.outcomes.popleft()
        if isinstance(outcome, ProviderError):
            raise outcome
        if isinstance(outcome, asyncio.Event):
            await outcome.wait()
            outcome = "late"
        if on_text is not None:
            for word in outcome.split(" "):
                await on_text(word)
        return ChatResult(
            text=outcome,
            usage=Usage(input_tokens=3, output_tokens=2),
            provider=self.name,
            model=request.model,
        )

    def count_tokens(self, text: str) -> int:
        return len(text) * self.tokens_per_char

    async def close(self) -> None:
        pass


class SleepRecorder:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def err(kind: ErrorKind, provider: str = "p", retry_after_s: float | None = None) -> ProviderError:
    return ProviderError(kind, "scripted", provider=provider, retry_after_s=retry_after_s)


REQUEST = ChatRequest(model="whatever", system="s", messages=(ChatMessage(role="user", content="hi"),))
POLICY = RetryPolicy(max_retries=2, backoff_base_s=1.0, backoff_max_s=10.0)


def chain_of(*entries: tuple[FakeProvider, str], sleep: SleepRecorder, **kwargs: object) -> ProviderChain:
    return ProviderChain(
        [ChainEntry(provider=p, model=m, retry=POLICY) for p, m in entries],
        sleep=sleep,
        rng=lambda: 1.0,
        **kwargs,  # type: ignore[arg-type]
    )


async def test_backoff_doubles_and_honours_a_longer_retry_after() -> None:
    sleep = SleepRecorder()
    provider = FakeProvider("p", err(ErrorKind.SERVER), err(ErrorKind.RATE_LIMIT, retry_after_s=7.0), "ok")

    result = await chain_of((provider, "m"), sleep=sleep).chat(REQUEST)

    assert result.text == "ok"
    assert sleep.delays == [1.0, 7.0]
    assert [call.model for call in provider.calls] == ["m", "m", "m"]


def test_full_jitter_stays_within_the_exponential_ceiling() -> None:
    policy = RetryPolicy(backoff_base_s=0.5, backoff_max_s=3.0)
    assert policy.delay_s(0, None, lambda: 0.5) == 0.25
    assert policy.delay_s(5, None, lambda: 1.0) == 3.0  # capped
    assert policy.delay_s(1, 2.5, lambda: 0.0) == 2.5  # never earlier than the server asked


async def test_retry_after_beyond_the_cap_fails_over_without_waiting() -> None:
    sleep = SleepRecorder()
    primary = FakeProvider("primary", err(ErrorKind.RATE_LIMIT, retry_after_s=60.0))
    backup = FakeProvider("backup", "from backup")

    result = await chain_of((primary, "a"), (backup, "b"), sleep=sleep).chat(REQUEST)

    assert (result.text, result.provider, result.model) == ("from backup", "backup", "b")
    assert sleep.delays == []


async def test_no_sleep_that_would_overrun_the_deadline() -> None:
    sleep = SleepRecorder()
    provider = FakeProvider("p", err(ErrorKind.RATE_LIMIT, retry_after_s=5.0), "never")

    with pytest.raises(ProviderError) as caught:
        await chain_of((provider, "m"), sleep=sleep, deadline_s=2.0).chat(REQUEST)

    assert caught.value.kind is ErrorKind.RATE_LIMIT
    assert sleep.delays == []


async def test_retries_are_bounded_then_every_failure_is_reported() -> None:
    sleep = SleepRecorder()
    primary = FakeProvider("primary", *(err(ErrorKind.SERVER, "primary") for _ in range(3)))
    backup = FakeProvider("backup", err(ErrorKind.AUTH, "backup"))

    with pytest.raises(ChainError) as caught:
        await chain_of((primary, "a"), (backup, "b"), sleep=sleep).chat(REQUEST)

    assert len(primary.calls) == 3  # first try + max_retries
    assert len(backup.calls) == 1  # auth is never retried
    assert caught.value.kind is ErrorKind.AUTH
    assert [e.kind for e in caught.value.errors] == [ErrorKind.SERVER, ErrorKind.AUTH]


async def test_error_after_streamed_text_is_raised_at_once() -> None:
    class BreaksMidStream(FakeProvider):
        async def chat(self, request: ChatRequest, on_text: TextCallback | None = None) -> ChatResult:
            self.calls.append(request)
            assert on_text is not None
            await on_text("Once upon")
            raise err(ErrorKind.CONNECTION, self.name)

    sleep = SleepRecorder()
    primary = BreaksMidStream("primary")
    backup = FakeProvider("backup", "another story")
    shown: list[str] = []

    async def show(text: str) -> None:
        shown.append(text)

    with pytest.raises(ProviderError):
        await chain_of((primary, "a"), (backup, "b"), sleep=sleep).chat(REQUEST, show)

    assert shown == ["Once upon"]
    assert len(primary.calls) == 1
    assert backup.calls == []


async def test_a_failing_text_callback_surfaces_unchanged_and_is_not_retried() -> None:
    sleep = SleepRecorder()
    provider = FakeProvider("p", "hello there", "again")

    async def broken(text: str) -> None:
        raise ConnectionResetError("the chat platform hung up")

    with pytest.raises(ConnectionResetError):
        await chain_of((provider, "m"), sleep=sleep).chat(REQUEST, broken)

    assert len(provider.calls) == 1


async def test_cancellation_propagates_and_stops_everything() -> None:
    never = asyncio.Event()
    primary = FakeProvider("primary", never)
    backup = FakeProvider("backup", "should not run")
    chain = chain_of((primary, "a"), (backup, "b"), sleep=SleepRecorder())

    task = asyncio.create_task(chain.chat(REQUEST))
    await primary.called.wait()
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task
    assert backup.calls == []


async def test_usage_is_recorded_and_a_broken_recorder_costs_no_reply(
    caplog: pytest.LogCaptureFixture,
) -> None:
    counters = UsageCounters()
    provider = FakeProvider("p", "one", "two")
    chain = chain_of((provider, "m"), sleep=SleepRecorder(), on_usage=counters)
    await chain.chat(REQUEST)
    await chain.chat(REQUEST)
    assert counters.totals[("p", "m")] == Usage(input_tokens=6, output_tokens=4)
    assert counters.calls[("p", "m")] == 2

    def broken(provider: str, model: str, usage: Usage) -> None:
        raise RuntimeError("accounting down")

    chain = chain_of((FakeProvider("p", "three"), "m"), sleep=SleepRecorder(), on_usage=broken)
    with caplog.at_level("ERROR"):
        assert (await chain.chat(REQUEST)).text == "three"
    assert any("usage callback failed" in r.getMessage() for r in caplog.records)


def test_token_count_is_the_largest_among_entries() -> None:
    chain = chain_of(
        (FakeProvider("small"), "a"), (FakeProvider("big", tokens_per_char=3), "b"), sleep=SleepRecorder()
    )
    assert chain.count_tokens("abcd") == 12


def test_a_chain_needs_an_entry() -> None:
    with pytest.raises(ValueError, match="at least one"):
        ProviderChain([])


async def test_each_failure_is_logged_once_without_the_key(caplog: pytest.LogCaptureFixture) -> None:
    provider = FakeProvider("p", err(ErrorKind.SERVER), "ok")
    with caplog.at_level("WARNING", logger="persona.providers.chain"):
        await chain_of((provider, "m"), sleep=SleepRecorder()).chat(REQUEST)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1
    assert "kind=server" in lines[0]
