"""Each person's daily token count: what the quota check reads, written by every call made for them.

The reply's tokens and the learning call's tokens (fact extraction runs for one person) count
alike, so background work cannot spend past a person's `daily_token_quota`. One key and one day
rule for every writer and reader: `tokens:<identity>` per UTC day.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from memory.base import RateLimiter

_log = logging.getLogger(__name__)


def usage_key(identity: str) -> str:
    return f"tokens:{identity}"


def usage_day(now: datetime) -> str:
    return now.astimezone(UTC).date().isoformat()


class UsageRecorder:
    """Adds tokens to a person's count for today; a store failure is logged, never raised."""

    def __init__(self, limits: RateLimiter, clock: Callable[[], datetime]) -> None:
        self._limits = limits
        self._clock = clock
        self.errors = 0

    async def add(self, identity: str, tokens: int) -> None:
        if tokens <= 0:
            return
        try:
            await self._limits.add_usage(usage_key(identity), usage_day(self._clock()), tokens)
        except Exception:  # the work is done; losing one count is the lesser harm
            self.errors += 1
            _log.exception("could not record %d tokens for %s", tokens, identity)
