"""Post-turn work through the outbox: recorded before delivery, resumed, dead-lettered, postponed,
and dropped or undone by a forget. Over the in-memory fakes (the outbox contract), with hooks
that fail on purpose."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

from memory.base import OutboxJob
from memory.records import MemoryItem, Turn, Visibility
from persona.hooks import CompletedTurn
from persona.providers.base import ErrorKind, ProviderError
from persona.turn_record import encode_turn
from persona.types import Reply, TurnOutcome
from tests.fakes.engine import fast_settings, message, running_engine
from tests.fakes.provider import ScriptedProvider
from tests.fakes.sinks import RecordingSink
from tests.fakes.stores import InMemoryHistory, InMemoryMemory, InMemoryOutbox, make_stores

GUARD_S = 10
NOW = datetime.now(UTC)


class _Hook:
    """Records turns; raises `error` for the first `fail_first` attempts (forever with -1)."""

    name = "recorder"

    def __init__(self, *, error: Exception | None = None, fail_first: int = 0) -> None:
        self.error = error
        self.fail_first = fail_first
        self.attempts = 0
        self.turns: list[CompletedTurn] = []
        self.succeeded = asyncio.Event()

    async def after_turn(self, turn: CompletedTurn) -> None:
        self.attempts += 1
        if self.error is not None and (self.fail_first < 0 or self.attempts <= self.fail_first):
            raise self.error
        self.turns.append(turn)
        self.succeeded.set()


class _CheckingSink(RecordingSink):
    """Notes, at the moment the final reply is delivered, what history already holds."""

    def __init__(self, history: InMemoryHistory) -> None:
        super().__init__()
        self._history = history
        self.stored_before_send: list[str] = []

    async def send(self, reply: Reply) -> None:
        self.stored_before_send = [t.text for t in self._history.turns]
        await super().send(reply)


async def test_the_turn_is_in_history_before_the_person_sees_the_reply() -> None:
    history = InMemoryHistory()
    sink = _CheckingSink(history)
    async with running_engine(
        stores=make_stores(history=history), provider=ScriptedProvider("Hi!")
    ) as engine:
        await engine.submit(message("hello, I'm new"), sink)
    assert sink.stored_before_send == ["hello, I'm new", "Hi!"]


async def test_a_failed_reply_keeps_the_message_but_learns_nothing() -> None:
    history, hook = InMemoryHistory(), _Hook()
    provider = ScriptedProvider(*[ProviderError(ErrorKind.RATE_LIMIT, "slow down", provider="fake")] * 3)
    async with running_engine(stores=make_stores(history=history), provider=provider, hooks=[hook]) as engine:
        outcome = await engine.submit(message("my sister is called Ines"), RecordingSink())
    assert outcome is TurnOutcome.FAILED
    assert [t.text for t in history.turns] == ["my sister is called Ines"]
    assert hook.attempts == 0


async def test_a_hook_that_keeps_failing_ends_in_a_dead_letter() -> None:
    outbox_history = InMemoryHistory()
    outbox = InMemoryOutbox(outbox_history)
    hook = _Hook(error=ValueError("bad extraction"), fail_first=-1)
    stores = make_stores(history=outbox_history, outbox=outbox)
    async with running_engine(stores=stores, hooks=[hook]) as engine:
        await engine.submit(message("hello"), RecordingSink())
        await engine.jobs.drain(GUARD_S)
    settings = fast_settings()
    assert hook.attempts == settings.jobs.retries + 1  # retried, then given up: not forever
    [dead] = await outbox.dead_letters()
    assert dead.kind == "hook:recorder"
    assert "bad extraction" in dead.error
    assert outbox.jobs == {}


async def test_a_store_that_is_down_keeps_the_job_and_retries_it_later() -> None:
    outbox_history = InMemoryHistory()
    outbox = InMemoryOutbox(outbox_history)
    # More failures than the queue's own retries: only the outbox's postponement gets it through.
    hook = _Hook(error=ConnectionRefusedError(111, "Connection refused"), fail_first=6)
    settings = fast_settings(jobs={"backoff_base_s": 0.01, "retries": 1, "postpone_base_s": 0.05})
    stores = make_stores(history=outbox_history, outbox=outbox)
    async with running_engine(stores=stores, hooks=[hook], settings=settings) as engine:
        await engine.submit(message("hello"), RecordingSink())
        async with asyncio.timeout(GUARD_S):
            await hook.succeeded.wait()
    assert await outbox.dead_letters() == []
    assert outbox.jobs == {}
    assert engine.jobs.stats["outbox.postponed"] >= 2


def _turn(text: str, *, event_id: str) -> CompletedTurn:
    said = message(text, event_id=event_id)
    return CompletedTurn(
        messages=(said,),
        reply_text="Noted.",
        reply_event_id=f"{event_id}:reply",
        persona="default",
        session=str(said.session),
        visibility=Visibility(owners=frozenset({said.identity}), scope=said.scope),
        finished_at=datetime.now(UTC),
    )


def _left_behind(turn: CompletedTurn, kind: str) -> OutboxJob:
    """A job as a killed process left it in the outbox."""
    return OutboxJob(
        key=f"{kind}:{turn.key}",
        kind=kind,
        payload=encode_turn(turn),
        owners=frozenset({turn.owner}),
        origin_ts=turn.messages[0].timestamp.timestamp(),
    )


async def test_work_a_killed_process_left_in_the_outbox_runs_at_start() -> None:
    history, memory = InMemoryHistory(), InMemoryMemory()
    outbox = InMemoryOutbox(history)
    turn = _turn("my bike is green", event_id="k1")
    for kind in ("memory", "hook:recorder"):
        job = _left_behind(turn, kind)
        outbox.jobs[job.key] = job
    hook = _Hook()
    async with running_engine(
        stores=make_stores(history=history, memory=memory, outbox=outbox), hooks=[hook]
    ):
        pass  # start resumes, close drains
    assert {i.text for i in memory.items.values()} == {"my bike is green", "Noted."}
    assert [t.key for t in hook.turns] == ["k1"]
    assert outbox.jobs == {}


async def test_queued_work_of_a_person_who_forgot_everything_is_dropped() -> None:
    history, memory = InMemoryHistory(), InMemoryMemory()
    outbox = InMemoryOutbox(history)
    turn = _turn("my alarm code is 1531", event_id="f1")
    job = _left_behind(turn, "memory")
    outbox.jobs[job.key] = job
    await outbox.forget(frozenset({turn.owner}), None, datetime.now(UTC).timestamp())
    outbox.jobs[job.key] = job  # as if the forget raced the job's recording
    async with running_engine(stores=make_stores(history=history, memory=memory, outbox=outbox)):
        pass
    assert memory.items == {}
    assert outbox.jobs == {}


class _HistoryApart(InMemoryHistory):
    """History in another store (Redis) that refuses connections while `down`."""

    def __init__(self) -> None:
        super().__init__()
        self.down = True
        self.stored = asyncio.Event()

    async def append(self, turns: Sequence[Turn]) -> None:
        if self.down:
            raise ConnectionRefusedError(111, "Connection refused")
        await super().append(turns)
        self.stored.set()


async def test_a_turn_whose_history_store_is_down_is_stored_when_it_returns() -> None:
    history = _HistoryApart()
    outbox = InMemoryOutbox(history)
    settings = fast_settings(jobs={"backoff_base_s": 0.01, "retries": 0, "postpone_base_s": 0.05})
    sink = RecordingSink()
    stores = make_stores(history=history, outbox=outbox)
    async with running_engine(stores=stores, settings=settings, provider=ScriptedProvider("Hi!")) as engine:
        assert await engine.submit(message("hello while redis is down"), sink) is TurnOutcome.ANSWERED
        assert [r.text for r in sink.sent] == ["Hi!"]  # answered from what was reachable
        history.down = False
        async with asyncio.timeout(GUARD_S):
            await history.stored.wait()
    assert [t.text for t in history.turns] == ["hello while redis is down", "Hi!"]
    assert await outbox.dead_letters() == []


async def test_a_forget_cut_short_by_a_kill_is_finished_at_start() -> None:
    history, memory = InMemoryHistory(), InMemoryMemory()
    outbox = InMemoryOutbox(history)
    turn = _turn("my alarm code is 1531", event_id="c1")
    await memory.add(
        [
            MemoryItem(
                id="m1",
                owner=turn.owner,
                scope="dm",
                text="my alarm code is 1531",
                created_at=NOW,
                source_ids=("c1",),
            )
        ]
    )
    await outbox.forget(frozenset({turn.owner}), None, NOW.timestamp())  # then killed: stores untouched
    async with running_engine(stores=make_stores(history=history, memory=memory, outbox=outbox)):
        assert memory.items == {}  # done at start, before anything else runs
    assert await outbox.unapplied() == []
