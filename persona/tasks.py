"""Stopping a background loop that talks to a store, without hanging the shutdown on it.

A cancellation that lands inside a Redis command can be lost: seen under load in
`memory.redis.lock`, and one way it happens is Python 3.11's `asyncio.timeout`, which turns a
cancellation that crosses the client's own socket timeout into TimeoutError. A loop that treats
store errors as an outage and goes on then never sees its cancellation, and a `close()` that
waits for it waits forever. So the loops that have a natural stop flag check it too, and `stop`
cancels again until the task ends, within a bound, and otherwise leaves it with a warning that
shows where it is.
"""

from __future__ import annotations

import asyncio
import io
import logging

_log = logging.getLogger(__name__)

STOP_WITHIN_S = 5.0
_RECANCEL_S = 0.5


async def stop(task: asyncio.Task[None], within_s: float = STOP_WITHIN_S) -> None:
    """Cancel `task` and wait for it, at most `within_s`, cancelling again every half second.

    Unlike awaiting it under suppress(CancelledError), a cancellation of the caller itself still
    propagates. A task that had ended with an error does not fail the shutdown: its error is
    logged here, once.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while not task.done():
        left = deadline - loop.time()
        if left <= 0:
            where = io.StringIO()
            task.print_stack(limit=8, file=where)
            _log.warning(
                "task %s did not stop within %.0f s of its cancellation; left running\n%s",
                task.get_name(),
                within_s,
                where.getvalue(),
            )
            return
        task.cancel()
        await asyncio.wait([task], timeout=min(_RECANCEL_S, left))
    if not task.cancelled() and task.exception() is not None:
        _log.warning("task %s had ended with an error", task.get_name(), exc_info=task.exception())
