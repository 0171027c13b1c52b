"""One turn at a time per session, with mid-turn messages merged into the next turn.

Each busy session has one named worker task. Messages submitted while it generates wait in the
session's queue; when the turn ends, the worker takes ALL of them as the next batch, so the next
turn answers every one (replying to the latest) and the earlier ones resolve as MERGED. The
worker exits, and the session's slot is dropped, as soon as its queue is empty: idle sessions
cost nothing. Callers await a future; nothing polls.

Merging is for a person adding a line while the bot answers. Messages that waited longer than
`merge_window_s` (behind a stuck turn, an outage) or behind a turn that failed are separate
questions the person is still waiting on: each gets its own turn, oldest first, never one fused
wall of text. A turn cancelled by `close` resolves as INTERRUPTED, so its event can be answered
after the restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from persona.types import IncomingMessage, ReplySink, SessionKey, TurnOutcome

_log = logging.getLogger(__name__)


@dataclass(slots=True, kw_only=True)
class Pending:
    """A submitted message waiting for its turn."""

    message: IncomingMessage
    sink: ReplySink
    outcome: asyncio.Future[TurnOutcome] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    queued_at: float = field(default_factory=lambda: asyncio.get_running_loop().time())


TurnRunner = Callable[[Sequence[Pending]], Awaitable[TurnOutcome]]
"""Runs one turn for a batch (oldest first) and returns the outcome of the LAST message."""


@dataclass(slots=True)
class _Slot:
    queue: list[Pending] = field(default_factory=list)
    worker: asyncio.Task[None] | None = None
    last: TurnOutcome = TurnOutcome.ANSWERED


class SessionSlots:
    def __init__(self, run_turn: TurnRunner, *, merge_window_s: float = 20.0) -> None:
        self._run_turn = run_turn
        self._merge_window_s = merge_window_s
        self._slots: dict[SessionKey, _Slot] = {}
        self._closed = False

    @property
    def active(self) -> int:
        """Sessions with a turn running or queued (idle ones are dropped)."""
        return len(self._slots)

    async def submit(self, message: IncomingMessage, sink: ReplySink) -> TurnOutcome:
        if self._closed:
            raise RuntimeError("engine is closed")
        pending = Pending(message=message, sink=sink)
        key = message.session
        slot = self._slots.setdefault(key, _Slot())
        slot.queue.append(pending)
        if slot.worker is None:
            slot.worker = asyncio.create_task(self._serve(key, slot), name=f"session:{key}")
        return await asyncio.shield(pending.outcome)

    async def _serve(self, key: SessionKey, slot: _Slot) -> None:
        try:
            while slot.queue:
                batch = self._next_batch(slot)
                slot.last = await self._serve_batch(batch)
        finally:
            # No await between the empty check and this removal, so no message can be stranded.
            self._slots.pop(key, None)
            for pending in slot.queue:  # only on cancellation (close)
                _resolve(pending, TurnOutcome.INTERRUPTED)

    def _next_batch(self, slot: _Slot) -> list[Pending]:
        """Everything queued, unless the oldest waited too long or the last turn failed."""
        waited = asyncio.get_running_loop().time() - slot.queue[0].queued_at
        if waited > self._merge_window_s or slot.last is TurnOutcome.FAILED:
            batch, slot.queue = slot.queue[:1], slot.queue[1:]
        else:
            batch, slot.queue = slot.queue, []
        return batch

    async def _serve_batch(self, batch: list[Pending]) -> TurnOutcome:
        try:
            outcome = await self._run_turn(batch)
        except asyncio.CancelledError:
            for pending in batch:
                _resolve(pending, TurnOutcome.INTERRUPTED)
            raise
        except Exception:  # the session worker's error boundary: a bug fails one turn, not the session
            _log.exception("turn failed unexpectedly in session %s", batch[-1].message.session)
            outcome = TurnOutcome.FAILED
        for pending in batch[:-1]:
            _resolve(pending, TurnOutcome.MERGED)
        _resolve(batch[-1], outcome)
        return outcome

    async def close(self, grace_s: float = 5.0) -> None:
        """Refuse new messages, let running turns finish for `grace_s`, then cancel the rest
        (their callers get INTERRUPTED). Idempotent."""
        self._closed = True
        workers = [slot.worker for slot in self._slots.values() if slot.worker is not None]
        if workers:
            await asyncio.wait(workers, timeout=grace_s)
        for task in workers:
            task.cancel()
        for task in workers:
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _resolve(pending: Pending, outcome: TurnOutcome) -> None:
    if not pending.outcome.done():
        pending.outcome.set_result(outcome)
