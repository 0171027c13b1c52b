"""Events claimed under a lease: a turn stopped or killed mid-reply is answered once later,
an answered one never again; messages that waited behind a stuck turn are not fused.

The claims live in the real SQLite store; each "process" is an engine on its own connection to
the same database file, as a restarted bot is.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from memory.base import Claim, HistoryStore
from memory.sqlite.db import Database
from memory.sqlite.dedup import SqliteEventDedup
from memory.visibility import Visibility
from persona.engine import TIMEOUT_LINE, PersonaEngine
from persona.storing import message_turn
from persona.types import TurnOutcome
from tests.fakes.engine import fast_settings, message, running_engine
from tests.fakes.provider import ScriptedProvider
from tests.fakes.sinks import RecordingSink
from tests.fakes.stores import InMemoryDedup, make_stores

GUARD_S = 10.0
LEASE_S = 0.3


@asynccontextmanager
async def process(
    path: Path, provider: ScriptedProvider, history: HistoryStore | None = None, **settings: object
) -> AsyncIterator[tuple[PersonaEngine, SqliteEventDedup]]:
    """One bot process: its own connection to the claims database, its own engine (and the
    history the processes share, when given)."""
    db = Database(path)
    await db.open()
    try:  # closed even when the test fails (see killed_holder)
        dedup = SqliteEventDedup(db)
        await dedup.start()
        stores = dataclasses.replace(make_stores(), dedup=dedup)
        if history is not None:
            stores = dataclasses.replace(stores, history=history)
        options = {"claim_lease_s": LEASE_S, **settings}
        async with running_engine(
            stores=stores, provider=provider, settings=fast_settings(**options)
        ) as engine:
            yield engine, dedup
    finally:
        await db.close()


@asynccontextmanager
async def killed_holder(path: Path, key: str) -> AsyncIterator[None]:
    """A process that claimed `key` and was then killed -9: nobody renews or releases the claim.
    Its connection closes on the way out, even when the test fails (an open connection's thread
    would keep a failed run from exiting)."""
    db = Database(path)
    await db.open()
    try:
        killed = SqliteEventDedup(db)
        await killed.start()
        await killed.claim(key, LEASE_S)
        yield
    finally:
        await db.close()


async def test_a_turn_stopped_mid_reply_is_answered_once_after_the_restart(tmp_path: Path) -> None:
    hung = ScriptedProvider()
    hung.gate = asyncio.Event()  # generation never finishes before the stop
    question = message("what did the dentist say?", event_id="q1")
    async with process(tmp_path / "claims.db", hung, jobs={"drain_timeout_s": 0.1}) as (engine, _):
        turn = asyncio.create_task(engine.submit(question, RecordingSink()))
        async with asyncio.timeout(GUARD_S):
            await hung.started.wait()
        await engine.close()  # SIGTERM: the grace period passes with the reply unfinished
        assert await turn is TurnOutcome.INTERRUPTED

    provider, sink = ScriptedProvider("the dentist said floss"), RecordingSink()
    async with process(tmp_path / "claims.db", provider) as (engine, _):
        async with asyncio.timeout(GUARD_S):
            assert await engine.submit(question, sink) is TurnOutcome.ANSWERED  # re-delivered
            assert await engine.submit(question, RecordingSink()) is TurnOutcome.DUPLICATE
    assert sink.texts == ["the dentist said floss"]
    async with process(tmp_path / "claims.db", provider) as (engine, _):
        assert await engine.submit(question, RecordingSink()) is TurnOutcome.DUPLICATE
    assert len(provider.requests) == 1


async def test_a_killed_process_claim_is_answered_once_its_lease_runs_out(tmp_path: Path) -> None:
    question = message("are you there?", event_id="q2")
    provider, sink = ScriptedProvider("yes, here"), RecordingSink()
    path = tmp_path / "claims.db"
    async with killed_holder(path, "event:terminal:q2"), process(path, provider) as (engine, _):
        async with asyncio.timeout(GUARD_S):  # the re-delivery waits out the dead holder's lease
            assert await engine.submit(question, sink) is TurnOutcome.ANSWERED
        assert engine.stats["turns.resumed"] == 1
        assert await engine.submit(question, RecordingSink()) is TurnOutcome.DUPLICATE
    assert sink.texts == ["yes, here"]


async def test_a_process_killed_between_commit_and_delivery_gives_the_committed_reply_once(
    tmp_path: Path,
) -> None:
    question = message("did my parcel arrive?", event_id="q9")
    provider, sink = ScriptedProvider("a second, different answer"), RecordingSink()
    async with killed_holder(tmp_path / "claims.db", "event:terminal:q9"):
        # It committed the turn, then was killed before the reply reached the person whole.
        history = make_stores().history
        asked = message_turn(question, persona="default")
        await history.append([asked, dataclasses.replace(asked, event_id="q9:reply", role="assistant",
                                                          text="it arrived this morning")])  # fmt: skip
        async with process(tmp_path / "claims.db", provider, history) as (engine, _):
            async with asyncio.timeout(GUARD_S):  # re-delivered once the dead holder's lease ran out
                assert await engine.submit(question, sink) is TurnOutcome.ANSWERED
            assert await engine.submit(question, RecordingSink()) is TurnOutcome.DUPLICATE
        kept = await history.recent(
            str(question.session),
            10,
            visibility=Visibility(owners=frozenset({question.identity}), scope=question.scope),
        )
    assert sink.texts == ["it arrived this morning"]  # the reply it remembers, given whole, once
    assert provider.requests == []  # no second model call
    assert [t.text for t in kept] == ["did my parcel arrive?", "it arrived this morning"]


async def test_a_message_folded_into_a_later_turn_is_not_answered_on_its_own(tmp_path: Path) -> None:
    first, second = message("one thing", event_id="q10"), message("and another", event_id="q11")
    provider, sink = ScriptedProvider("an answer nobody asked for"), RecordingSink()
    async with killed_holder(tmp_path / "claims.db", "event:terminal:q10"):
        history = make_stores().history
        asked = [message_turn(first, persona="default"), message_turn(second, persona="default")]
        await history.append([*asked, dataclasses.replace(asked[1], event_id="q11:reply", role="assistant",
                                                           text="both noted")])  # fmt: skip
        async with process(tmp_path / "claims.db", provider, history) as (engine, _):
            async with asyncio.timeout(GUARD_S):
                assert await engine.submit(first, sink) is TurnOutcome.DUPLICATE
    assert sink.texts == []  # the later message's reply answers it
    assert provider.requests == []


async def test_a_live_turn_keeps_its_claim_past_the_lease(tmp_path: Path) -> None:
    slow = ScriptedProvider(latency_s=LEASE_S * 4)  # renewed every third of a lease meanwhile
    question = message("take your time", event_id="q3")
    path = tmp_path / "claims.db"
    async with process(path, slow) as (engine, _), process(path, ScriptedProvider()) as (other, _):
        turn = asyncio.create_task(engine.submit(question, RecordingSink()))
        await slow.started.wait()
        await asyncio.sleep(LEASE_S * 2)
        # Another process sees a live claim: it waits for it, then finds it answered.
        assert await other.submit(question, RecordingSink()) is TurnOutcome.DUPLICATE
        assert await turn is TurnOutcome.ANSWERED
    assert len(slow.requests) == 1


async def test_a_hung_turn_ends_with_a_friendly_line_and_frees_its_session() -> None:
    hung = ScriptedProvider()
    hung.gate = asyncio.Event()
    sink = RecordingSink()
    async with running_engine(provider=hung, settings=fast_settings(turn_timeout_s=0.3)) as engine:
        async with asyncio.timeout(GUARD_S):
            assert await engine.submit(message("hello?"), sink) is TurnOutcome.FAILED
            hung.gate.set()
            assert await engine.submit(message("and now?"), RecordingSink()) is TurnOutcome.ANSWERED
        assert engine.stats["turns.timeout"] == 1
    assert sink.texts == [TIMEOUT_LINE]


async def test_messages_that_waited_behind_a_stuck_turn_each_get_their_own_turn() -> None:
    provider = ScriptedProvider(responder=lambda request: f"answer to {request.messages[-1].content}")
    provider.gate = asyncio.Event()
    sinks = [RecordingSink() for _ in range(4)]
    settings = fast_settings(merge_window_s=0.1)
    async with running_engine(provider=provider, settings=settings) as engine:
        turns = [asyncio.create_task(engine.submit(message("first"), sinks[0]))]
        await provider.started.wait()  # stuck (an outage, a slow provider) with the rest queued
        for index, text in enumerate(("second", "third", "fourth"), start=1):
            turns.append(asyncio.create_task(engine.submit(message(text), sinks[index])))
        await asyncio.sleep(0.2)  # longer than the merge window
        provider.gate.set()
        async with asyncio.timeout(GUARD_S):
            outcomes = await asyncio.gather(*turns)
    assert outcomes == [TurnOutcome.ANSWERED] * 4
    assert len(provider.requests) == 4  # one turn each, no wall of fused text
    assert [sink.texts for sink in sinks[1:]] == [
        ["answer to second"],
        ["answer to third"],
        ["answer to fourth"],
    ]


async def test_an_admitted_message_never_submitted_is_let_go() -> None:
    dedup = InMemoryDedup()
    settings = fast_settings(claim_lease_s=LEASE_S, claim_max_hold_s=LEASE_S)
    async with running_engine(stores=make_stores(dedup=dedup), settings=settings) as engine:
        # The adapter admitted it, then failed before submitting (a download crashed, say).
        assert (await engine.admit(message("lost on the way", event_id="q4"))).admitted
        other = dedup.another_process()
        async with asyncio.timeout(GUARD_S):
            while (await other.claim("event:terminal:q4", 60)) is Claim.ELSEWHERE:  # noqa: ASYNC110
                await asyncio.sleep(LEASE_S / 3)  # bounded by the guard: released after max hold
