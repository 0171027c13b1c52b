"""A circuit breaker per (provider, model): how background work stays off a failing provider.

Every attempt's outcome is recorded. After `failures` consecutive failed attempts the circuit
opens for `cooldown_s`; a Retry-After from the provider holds it open at least that long, even
after a single failure. While it is open, background calls (fact learning, journal entries) are
refused without a request, and a reply gets one attempt with no retries, so an outage never
multiplies calls while a person still gets a chance at an answer. The first success closes it.
A refused request (BAD_REQUEST: too long, bad model) says nothing about the provider's health
and is not counted.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from persona.providers.base import ErrorKind, ProviderError


@dataclass(frozen=True, slots=True, kw_only=True)
class CircuitPolicy:
    failures: int = 3  # consecutive failed attempts that open the circuit
    cooldown_s: float = 30.0  # how long it then stays open


class Circuit:
    """Shared by every chain over one (provider, model) entry; not thread-safe (one loop)."""

    def __init__(self, policy: CircuitPolicy = CircuitPolicy(), clock: Callable[[], float] = time.monotonic):
        self._policy = policy
        self._clock = clock
        self.failures = 0  # consecutive
        self._open_until = 0.0
        self._last_kind = ErrorKind.SERVER

    @property
    def is_open(self) -> bool:
        return self._clock() < self._open_until

    @property
    def open_for_s(self) -> float:
        """Seconds until the circuit closes again (0 when closed)."""
        return max(0.0, self._open_until - self._clock())

    def record_success(self) -> None:
        self.failures = 0
        self._open_until = 0.0

    def record_failure(self, error: ProviderError) -> None:
        if error.kind is ErrorKind.BAD_REQUEST:
            return
        self.failures += 1
        self._last_kind = error.kind
        hold = error.retry_after_s or 0.0
        if self.failures >= self._policy.failures:
            hold = max(hold, self._policy.cooldown_s)
        self._open_until = max(self._open_until, self._clock() + hold)

    def refusal(self, provider: str) -> ProviderError:
        """The error a background call gets instead of a request while the circuit is open."""
        return ProviderError(
            self._last_kind,
            f"not called: the circuit is open for {self.open_for_s:.0f}s more",
            provider=provider,
            retry_after_s=self.open_for_s,
        )
