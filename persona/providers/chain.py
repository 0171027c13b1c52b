"""An ordered fallback chain of (provider, model) entries, itself an `LLMProvider`.

Per entry: retry retryable failures (rate limit, timeout, server, connection) with exponential
backoff and full jitter, waiting at least what the server's Retry-After asks. Then fail over to
the next entry. Two rules protect the user:
- once any text has reached `on_text`, nothing is retried or re-asked elsewhere (the user would
  see a second, different beginning): the error is raised at once;
- the whole call respects one deadline: no sleep or attempt is started that cannot finish in it;
  a streamed call (a reply) also has a first-token deadline: retries and fail-over happen within
  it, and when no text has come by then the call fails (the person reads one friendly line
  instead of waiting out the whole deadline); once text flows, the whole deadline applies.
Each entry has a `Circuit` (shared with every chain over the same provider and model, see
`persona.providers.circuit`): background requests get one attempt and skip an open circuit; a
reply gets one attempt without retries while it is open.
The chain does not own its providers (the registry does): `close()` is a no-op.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from persona.inbound import clean_text
from persona.providers.base import (
    ChatRequest,
    ChatResult,
    ErrorKind,
    LLMProvider,
    ProviderError,
    TextCallback,
    Usage,
)
from persona.providers.circuit import Circuit
from persona.providers.errors import classify

_log = logging.getLogger(__name__)

UsageCallback = Callable[[str, str, Usage], None]
Sleep = Callable[[float], Awaitable[None]]


@runtime_checkable
class ModelTokenCounting(Protocol):
    """Providers that count per model (ours do); others are asked `count_tokens(text)`."""

    def count_model_tokens(self, model: str, text: str) -> int: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    max_retries: int = 2
    backoff_base_s: float = 0.5
    backoff_max_s: float = 20.0  # longest we wait between attempts, Retry-After included

    def delay_s(self, attempt: int, retry_after_s: float | None, rng: Callable[[], float]) -> float | None:
        """Seconds before retry number `attempt + 1`, or None when the server asks for too long."""
        if retry_after_s is not None and retry_after_s > self.backoff_max_s:
            return None  # waiting less than asked would just be refused again: fail over instead
        ceiling = min(self.backoff_max_s, self.backoff_base_s * (2.0**attempt))
        jittered = rng() * ceiling  # full jitter: spreads out clients that failed together
        return max(jittered, retry_after_s or 0.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class ChainEntry:
    provider: LLMProvider
    model: str
    retry: RetryPolicy = RetryPolicy()
    circuit: Circuit = field(default_factory=Circuit)  # the registry shares one per (provider, model)


class ChainError(ProviderError):
    """Every entry failed. `kind` is the last failure's; `errors` has each entry's last failure."""

    def __init__(self, errors: Sequence[ProviderError]) -> None:
        last = errors[-1]
        summary = "; ".join(str(error) for error in errors)
        super().__init__(
            last.kind,
            f"all providers failed: {summary}",
            provider=last.provider,
            retry_after_s=last.retry_after_s,
        )
        self.errors = tuple(errors)


class UsageCounters:
    """A ready-made `on_usage`: totals and call counts per (provider, model)."""

    def __init__(self) -> None:
        self.totals: dict[tuple[str, str], Usage] = {}
        self.calls: dict[tuple[str, str], int] = {}

    def __call__(self, provider: str, model: str, usage: Usage) -> None:
        key = (provider, model)
        before = self.totals.get(key, Usage())
        self.totals[key] = Usage(
            input_tokens=before.input_tokens + usage.input_tokens,
            output_tokens=before.output_tokens + usage.output_tokens,
        )
        self.calls[key] = self.calls.get(key, 0) + 1


class _CallbackFailed(Exception):
    """The caller's own `on_text` raised: carried through the provider untouched."""

    def __init__(self, original: Exception) -> None:
        super().__init__(repr(original))
        self.original = original


class _StreamGuard:
    """Forwards text to the caller's callback and remembers whether any got through.

    A failure of the callback (the adapter could not deliver) is wrapped so that no provider
    mistakes it for its own connection error; the chain unwraps and re-raises it as it was.
    """

    def __init__(self, on_text: TextCallback, *, deadline: float | None) -> None:
        self._on_text = on_text
        self._deadline = deadline  # the whole call's, which applies once text flows
        self._timeout: asyncio.Timeout | None = None
        self.streamed = False

    def arm(self, timeout: asyncio.Timeout | None) -> None:
        """The running attempt's timeout, moved to the whole deadline at the first text."""
        self._timeout = timeout

    async def __call__(self, text: str) -> None:
        if not self.streamed and self._timeout is not None:
            self._timeout.reschedule(self._deadline)
        self.streamed = True
        try:
            await self._on_text(clean_text(text))
        except Exception as exc:
            raise _CallbackFailed(exc) from exc


class ProviderChain:
    """`LLMProvider` over ordered entries. `request.model` is replaced by each entry's model."""

    def __init__(
        self,
        entries: Sequence[ChainEntry],
        *,
        deadline_s: float | None = 120.0,
        first_token_s: float | None = None,
        on_usage: UsageCallback | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if not entries:
            raise ValueError("a provider chain needs at least one (provider, model) entry")
        self.entries = tuple(entries)
        self.name = " -> ".join(f"{e.provider.name}/{e.model}" for e in self.entries)
        self._deadline_s = deadline_s
        self._first_token_s = first_token_s
        self._on_usage = on_usage
        self._sleep = sleep
        self._rng = rng

    async def chat(self, request: ChatRequest, on_text: TextCallback | None = None) -> ChatResult:
        now = asyncio.get_running_loop().time()
        deadline = None if self._deadline_s is None else now + self._deadline_s
        guard = _StreamGuard(on_text, deadline=deadline) if on_text is not None else None
        if guard is not None and self._first_token_s is not None:
            # Until the first text, everything (retries, fail-over) happens before this one.
            deadline = _earliest(deadline, now + self._first_token_s)
        failures: list[ProviderError] = []
        for entry in self.entries:
            if request.background and entry.circuit.is_open:
                failures.append(entry.circuit.refusal(entry.provider.name))
                continue
            try:
                return await self._run_entry(entry, request, guard, deadline)
            except ProviderError as error:
                failures.append(error)
                if guard is not None and guard.streamed:
                    raise  # text already reached the user: never start over elsewhere
                if request.no_failover:
                    raise  # an earlier round's text or tool effect reached the user
                if _time_left(deadline) <= 0:
                    break
        raise ChainError(failures) if len(failures) > 1 else failures[0]

    async def _run_entry(
        self, entry: ChainEntry, request: ChatRequest, guard: _StreamGuard | None, deadline: float | None
    ) -> ChatResult:
        entry_request = dataclasses.replace(request, model=entry.model)
        # Background work and calls to an open circuit get one attempt: an outage must not
        # multiply requests (the background caller retries later, honouring the circuit).
        retries = 0 if request.background or entry.circuit.is_open else entry.retry.max_retries
        attempt = 0
        while True:
            try:
                result = await self._attempt(entry, entry_request, guard, deadline)
            except ProviderError as error:
                entry.circuit.record_failure(error)
                _log_failure(entry, attempt, error)
                if guard is not None and guard.streamed:
                    raise
                delay = self._retry_delay(entry, attempt, retries, error, deadline)
                if delay is None:
                    raise
                await self._sleep(delay)
                attempt += 1
                continue
            entry.circuit.record_success()
            self._record_usage(result)
            # A model's text goes to the person and into memory: it is cleaned as their input is.
            return dataclasses.replace(result, text=clean_text(result.text))

    async def _attempt(
        self, entry: ChainEntry, request: ChatRequest, guard: _StreamGuard | None, deadline: float | None
    ) -> ChatResult:
        try:
            async with asyncio.timeout_at(deadline) as timeout:
                if guard is not None:
                    guard.arm(timeout)
                return await entry.provider.chat(request, guard)
        except TimeoutError as exc:
            # Ours (the overall deadline) or a provider that let a bare TimeoutError escape.
            raise ProviderError(
                ErrorKind.TIMEOUT, "no answer before the deadline", provider=entry.provider.name
            ) from exc
        except _CallbackFailed as failed:
            raise failed.original from None
        except ProviderError:
            raise
        except Exception as exc:
            # A third-party provider that raised an unclassified SDK/transport error.
            error = classify(exc, entry.provider.name)
            if error is None:
                raise
            raise error from exc

    def _retry_delay(
        self, entry: ChainEntry, attempt: int, retries: int, error: ProviderError, deadline: float | None
    ) -> float | None:
        if not error.kind.retryable or attempt >= retries:
            return None
        delay = entry.retry.delay_s(attempt, error.retry_after_s, self._rng)
        if delay is None or delay >= _time_left(deadline):
            return None  # no time to wait and try again: let the next entry use what is left
        return delay

    def _record_usage(self, result: ChatResult) -> None:
        if self._on_usage is None:
            return
        try:
            self._on_usage(result.provider, result.model, result.usage)
        except Exception:
            # Accounting must never cost the user their reply.
            _log.exception("usage callback failed for %s/%s", result.provider, result.model)

    def count_tokens(self, text: str) -> int:
        """The largest count among the entries: the prompt must fit whichever one answers."""
        return max(_count(entry, text) for entry in self.entries)

    async def close(self) -> None:
        """Nothing to do: the providers belong to the registry that built this chain."""


def _count(entry: ChainEntry, text: str) -> int:
    if isinstance(entry.provider, ModelTokenCounting):
        return entry.provider.count_model_tokens(entry.model, text)
    return entry.provider.count_tokens(text)


def _earliest(first: float | None, second: float) -> float:
    return second if first is None else min(first, second)


def _time_left(deadline: float | None) -> float:
    if deadline is None:
        return float("inf")
    return deadline - asyncio.get_running_loop().time()


def _log_failure(entry: ChainEntry, attempt: int, error: ProviderError) -> None:
    # str(error) is already one bounded line with credentials masked (errors.short_message).
    _log.warning(
        "LLM call failed: %s model=%s attempt=%d kind=%s retry_after=%s: %s",
        entry.provider.name,
        entry.model,
        attempt + 1,
        error.kind.value,
        error.retry_after_s,
        error,
    )
