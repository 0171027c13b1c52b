"""The post-turn queue: idempotent keys, retries with backoff, drain then cancel."""

from __future__ import annotations

import asyncio

from persona.jobs import JobQueue


def _queue(**kw: object) -> JobQueue:
    settings: dict[str, object] = {"workers": 2, "retries": 2, "backoff_base_s": 0.001, "backoff_max_s": 0.01}
    settings.update(kw)
    queue = JobQueue(**settings)  # type: ignore[arg-type]
    queue.start()
    return queue


async def test_a_key_never_runs_twice_concurrently_or_after_success() -> None:
    queue = _queue()
    runs: list[str] = []
    release = asyncio.Event()

    async def job() -> None:
        await release.wait()
        runs.append("ran")

    assert await queue.submit("k", "job", job)
    assert not await queue.submit("k", "job", job)  # queued/running
    release.set()
    assert await queue.drain(5)
    assert not await queue.submit("k", "job", job)  # already succeeded
    await queue.close()
    assert runs == ["ran"]


async def test_failures_are_retried_then_counted() -> None:
    queue = _queue(retries=2)
    attempts = {"flaky": 0, "broken": 0}

    async def flaky() -> None:
        attempts["flaky"] += 1
        if attempts["flaky"] < 3:
            raise RuntimeError("not yet")

    async def broken() -> None:
        attempts["broken"] += 1
        raise RuntimeError("never")

    await queue.submit("a", "flaky", flaky)
    await queue.submit("b", "broken", broken)
    await queue.close()
    assert attempts == {"flaky": 3, "broken": 3}
    assert queue.stats["succeeded"] == 1
    assert queue.stats["failed"] == 1
    # a failed key may be submitted again later (it did not succeed)


async def test_close_drains_queued_work_then_refuses_more() -> None:
    queue = _queue(workers=1)
    done: list[int] = []

    async def job(i: int) -> None:
        await asyncio.sleep(0.01)
        done.append(i)

    for i in range(5):
        await queue.submit(f"k{i}", "job", lambda i=i: job(i))  # type: ignore[misc]
    await queue.close(drain_timeout_s=5)
    assert done == [0, 1, 2, 3, 4]
    assert not await queue.submit("late", "job", lambda: job(9))
    await queue.close()  # idempotent


async def test_close_cancels_what_does_not_finish_in_time() -> None:
    queue = _queue(workers=1)
    cancelled = asyncio.Event()

    async def stuck() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    await queue.submit("stuck", "stuck", stuck)
    await asyncio.sleep(0)
    await queue.close(drain_timeout_s=0.05)
    assert cancelled.is_set()
