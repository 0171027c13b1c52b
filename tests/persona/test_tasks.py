"""persona.tasks.stop: a shutdown never hangs on a background loop that loses its cancellation."""

from __future__ import annotations

import asyncio
import logging

import pytest

from persona.tasks import stop


async def test_a_loop_that_lost_one_cancellation_is_stopped_by_the_next() -> None:
    lost = 0

    async def rides_out_outages() -> None:
        nonlocal lost
        while True:
            try:
                await asyncio.sleep(3600)  # a Redis command, as far as the loop knows
            except asyncio.CancelledError:
                if lost:
                    raise
                lost += 1  # the first cancellation came back as the client's error

    task = asyncio.create_task(rides_out_outages(), name="renew")
    await asyncio.sleep(0)
    async with asyncio.timeout(5):
        await stop(task)
    assert task.cancelled()
    assert lost == 1


async def test_a_task_that_never_stops_is_left_with_a_warning_naming_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    release = asyncio.Event()

    async def deaf() -> None:
        while not release.is_set():
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                continue

    task = asyncio.create_task(deaf(), name="deaf-loop")
    await asyncio.sleep(0)
    with caplog.at_level(logging.WARNING, logger="persona.tasks"):
        async with asyncio.timeout(5):
            await stop(task, within_s=1.0)
    assert not task.done()
    assert "deaf-loop did not stop within 1 s" in caplog.text
    assert "in deaf" in caplog.text  # where it was: its stack
    release.set()
    task.cancel()  # lands in the sleep; the loop sees the event and ends
    await asyncio.wait([task], timeout=2)
    assert task.done()


async def test_the_callers_own_cancellation_still_propagates() -> None:
    async def slow_to_stop() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            await asyncio.sleep(0.5)  # a clean-up that takes a while
            raise

    inner = asyncio.create_task(slow_to_stop())
    await asyncio.sleep(0)
    closing = asyncio.create_task(stop(inner))
    await asyncio.sleep(0.1)
    closing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await closing
    await asyncio.wait([inner], timeout=2)


async def test_a_task_that_had_failed_does_not_fail_the_shutdown_and_its_error_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken() -> None:
        raise ConnectionError("redis went away")

    task = asyncio.create_task(broken(), name="heartbeat")
    await asyncio.wait([task])
    with caplog.at_level(logging.WARNING, logger="persona.tasks"):
        await stop(task)
    assert "task heartbeat had ended with an error" in caplog.text
    assert "ConnectionError: redis went away" in caplog.text
