"""The adapter supervisor: a failing adapter is restarted alone; a setup error stops the bot."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from adapters.base import AdapterSetupError
from bot.app import AdapterFailed, RestartPolicy, supervise

FAST = RestartPolicy(initial_s=0.01, max_s=0.02)


class FlakyAdapter:
    """Fails its first `failures` runs with `error`, then serves until closed (or ends)."""

    def __init__(self, name: str, *, failures: int = 0, error: Exception | None = None) -> None:
        self.name = name
        self._failures = failures
        self._error = error or RuntimeError("malformed frame")
        self.runs = 0
        self.serving = asyncio.Event()
        self.finish = asyncio.Event()
        self.closed = False

    async def run(self) -> None:
        self.runs += 1
        if self.runs <= self._failures:
            raise self._error
        self.serving.set()
        await self.finish.wait()

    async def close(self) -> None:
        self.closed = True


async def test_a_failing_adapter_is_restarted_with_backoff_while_the_others_keep_serving() -> None:
    flaky, steady = FlakyAdapter("discord", failures=3), FlakyAdapter("matrix")
    restarts: Counter[str] = Counter()
    task = asyncio.create_task(supervise([flaky, steady], policy=FAST, restarts=restarts))
    async with asyncio.timeout(10):
        await flaky.serving.wait()
    assert restarts == Counter({"discord": 3})
    assert steady.runs == 1  # never touched
    assert not task.done()

    steady.finish.set()  # e.g. the terminal user left: the bot ends, everything closed
    await asyncio.wait_for(task, 10)
    assert flaky.closed
    assert steady.closed


async def test_a_setup_error_stops_the_bot_with_what_to_fix() -> None:
    broken = FlakyAdapter("discord", failures=1, error=AdapterSetupError("Discord rejected the token"))
    other = FlakyAdapter("matrix")

    with pytest.raises(AdapterFailed, match="rejected the token"):
        await asyncio.wait_for(supervise([broken, other], policy=FAST), 10)
    assert broken.runs == 1
    assert other.closed
