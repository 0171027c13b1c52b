"""Session slots: ordering, merging, idle cleanup, error boundary, shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from persona.sessions import Pending, SessionSlots
from persona.types import TurnOutcome
from tests.fakes.engine import message
from tests.fakes.sinks import RecordingSink


class _Runner:
    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail_next = False

    async def __call__(self, batch: Sequence[Pending]) -> TurnOutcome:
        self.batches.append([p.message.text for p in batch])
        await self.gate.wait()
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("bug in a turn")
        return TurnOutcome.ANSWERED


async def test_turns_in_one_session_run_in_order_and_idle_slots_are_dropped() -> None:
    runner = _Runner()
    slots = SessionSlots(runner)
    for text in ("a", "b", "c"):
        assert await slots.submit(message(text), RecordingSink()) is TurnOutcome.ANSWERED
    assert runner.batches == [["a"], ["b"], ["c"]]
    assert slots.active == 0


async def test_a_crashing_turn_fails_alone_and_the_session_goes_on() -> None:
    runner = _Runner()
    runner.fail_next = True
    slots = SessionSlots(runner)
    assert await slots.submit(message("boom"), RecordingSink()) is TurnOutcome.FAILED
    assert await slots.submit(message("fine"), RecordingSink()) is TurnOutcome.ANSWERED


async def test_close_interrupts_what_cannot_finish_and_refuses_new_messages() -> None:
    runner = _Runner()
    runner.gate.clear()
    slots = SessionSlots(runner)
    stuck = asyncio.create_task(slots.submit(message("stuck"), RecordingSink()))
    queued = asyncio.create_task(slots.submit(message("queued"), RecordingSink()))
    await asyncio.sleep(0.01)
    await slots.close(grace_s=0.01)
    # INTERRUPTED, not FAILED: nothing was said, so the engine leaves both to be answered later.
    assert await stuck is TurnOutcome.INTERRUPTED
    assert await queued is TurnOutcome.INTERRUPTED
    try:
        await slots.submit(message("late"), RecordingSink())
    except RuntimeError:
        pass
    else:
        raise AssertionError("a closed engine must refuse messages")
