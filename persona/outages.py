"""Store outages, seen from the engine: logged and counted once each, and failed fast meanwhile.

A store that raises is marked down: the outage is logged once (with the error) and counted once
(`outage.<name>`); while it lasts, callers skip the store (`available` is False) except for one
probe per `probe_interval_s`, so a message never waits on a dead server's connect and retry
back-off, and a burst of messages does not become a burst of log lines. The first success after
an outage logs its end and how long it lasted.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

_log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Down:
    since: float
    next_probe: float


class Outages:
    def __init__(
        self,
        stats: Counter[str],
        *,
        probe_interval_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stats = stats
        self._probe_interval_s = probe_interval_s
        self._clock = clock
        self._down: dict[str, _Down] = {}

    def is_down(self, name: str) -> bool:
        return name in self._down

    def available(self, name: str) -> bool:
        """Whether to call the store now: always when up; once per probe interval when down."""
        down = self._down.get(name)
        if down is None:
            return True
        now = self._clock()
        if now < down.next_probe:
            self._stats[f"{name}.skipped"] += 1
            return False
        down.next_probe = now + self._probe_interval_s  # this caller is the probe
        return True

    def failed(self, name: str, error: BaseException) -> None:
        now = self._clock()
        down = self._down.get(name)
        if down is not None:
            down.next_probe = now + self._probe_interval_s
            return
        self._down[name] = _Down(since=now, next_probe=now + self._probe_interval_s)
        self._stats[f"outage.{name}"] += 1
        _log.error(
            "%s store unavailable (%s: %s); answering without it until it returns",
            name,
            type(error).__name__,
            error,
            exc_info=error,
        )

    def ok(self, name: str) -> None:
        down = self._down.pop(name, None)
        if down is not None:
            _log.warning("%s store is back after %.1f s", name, self._clock() - down.since)
