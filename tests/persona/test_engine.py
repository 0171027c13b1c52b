"""The turn pipeline end to end over in-memory store fakes and a scripted provider."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from memory.records import Fact, MemoryItem
from persona.hooks import CompletedTurn
from persona.providers.base import ErrorKind, ProviderError
from persona.providers.friendly import friendly_message
from persona.types import TurnOutcome
from tests.fakes.engine import fast_settings, message, running_engine
from tests.fakes.provider import ScriptedProvider
from tests.fakes.sinks import RecordingSink
from tests.fakes.stores import (
    InMemoryDedup,
    InMemoryFacts,
    InMemoryHistory,
    InMemoryKB,
    InMemoryMemory,
    make_stores,
)

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
GUARD_S = 10  # a hung pipeline fails the test instead of hanging the suite


async def test_a_message_gets_one_streamed_reply_and_is_stored() -> None:
    history, memory = InMemoryHistory(), InMemoryMemory()
    provider = ScriptedProvider("Hello there, Alice!")
    sink = RecordingSink()
    async with running_engine(
        stores=make_stores(history=history, memory=memory), provider=provider
    ) as engine:
        outcome = await engine.submit(message("hi, I'm Alice", event_id="e1"), sink)
    assert outcome is TurnOutcome.ANSWERED
    assert len(provider.requests) == 1
    assert sink.typing_calls >= 1
    assert sink.partials[-1] == "Hello there, Alice!"  # cumulative, not deltas
    assert [r.text for r in sink.sent] == ["Hello there, Alice!"]
    assert sink.sent[0].reply_to == "e1"
    # stored by the background queue, which close() drained
    assert [(t.role, t.text) for t in history.turns] == [
        ("user", "hi, I'm Alice"),
        ("assistant", "Hello there, Alice!"),
    ]
    assert {i.owner for i in memory.items.values()} == {"terminal:alice"}
    assert all(i.source_ids and i.scope == "dm" for i in memory.items.values())


async def test_each_memory_is_stored_with_the_line_it_answered() -> None:
    # "Flinkwerk, they make routing software" only says "my new job" next to the question it answers
    memory = InMemoryMemory()
    provider = ScriptedProvider("Congratulations! What's the company?", "Sounds like a great fit.")
    async with running_engine(stores=make_stores(memory=memory), provider=provider) as engine:
        await engine.submit(message("I got the job in Berlin!", event_id="e1"), RecordingSink())
        await engine.jobs.drain(GUARD_S)
        await engine.submit(message("Flinkwerk, they make routing software", event_id="e2"), RecordingSink())
    by_text = {i.text: i for i in memory.items.values()}
    assert by_text["Flinkwerk, they make routing software"].context == "Congratulations! What's the company?"
    assert by_text["Sounds like a great fit."].context == "Flinkwerk, they make routing software"
    assert by_text["I got the job in Berlin!"].context == ""


async def test_a_slow_store_does_not_hold_the_reply_and_is_counted() -> None:
    memory = InMemoryMemory()
    memory.delay_s = 60.0  # far beyond the 0.2 s deadline
    sink = RecordingSink()
    async with running_engine(stores=make_stores(memory=memory)) as engine:
        async with asyncio.timeout(GUARD_S):
            outcome = await engine.submit(message("remember the lighthouse?"), sink)
        assert outcome is TurnOutcome.ANSWERED
        assert engine.stats["gather.memory.timeout"] == 1
        assert engine.stats["gather.history.ok"] == 1


async def test_a_failing_store_degrades_to_empty_and_constraints_still_arrive() -> None:
    kb, facts = InMemoryKB(), InMemoryFacts()
    kb.fail = True
    await facts.upsert([_fact("alice", "diet", "vegetarian", kind="constraint")])
    provider = ScriptedProvider()
    async with running_engine(stores=make_stores(kb=kb, facts=facts), provider=provider) as engine:
        outcome = await engine.submit(message("dinner ideas?"), RecordingSink())
        assert outcome is TurnOutcome.ANSWERED
        assert engine.stats["gather.kb.error"] == 1
    assert "vegetarian" in provider.requests[0].system


async def test_messages_arriving_mid_turn_are_merged_into_the_next_turn() -> None:
    provider = ScriptedProvider("first answer", "answer to both")
    provider.gate = asyncio.Event()
    sinks = [RecordingSink() for _ in range(3)]
    history = InMemoryHistory()
    async with running_engine(stores=make_stores(history=history), provider=provider) as engine:
        first = asyncio.create_task(engine.submit(message("one", event_id="m1"), sinks[0]))
        await provider.started.wait()  # turn 1 is generating
        second = asyncio.create_task(engine.submit(message("two", event_id="m2"), sinks[1]))
        third = asyncio.create_task(engine.submit(message("three", event_id="m3"), sinks[2]))
        await asyncio.sleep(0)  # let both reach the session queue
        provider.gate.set()
        async with asyncio.timeout(GUARD_S):
            outcomes = [await first, await second, await third]
        assert engine.active_sessions == 0  # idle slot dropped
    assert outcomes == [TurnOutcome.ANSWERED, TurnOutcome.MERGED, TurnOutcome.ANSWERED]
    assert len(provider.requests) == 2
    last_user = provider.requests[1].messages[-1].content
    assert "two" in last_user
    assert "three" in last_user
    assert sinks[1].sent == []
    assert sinks[2].sent[0].reply_to == "m3"
    assert sinks[2].texts == ["answer to both"]
    assert [t.event_id for t in history.turns] == ["m1", "m1:reply", "m2", "m3", "m3:reply"]


async def test_different_sessions_generate_concurrently() -> None:
    provider = ScriptedProvider()
    provider.gate = asyncio.Event()
    async with running_engine(provider=provider) as engine:
        tasks = [
            asyncio.create_task(engine.submit(message("hi", author=a, room=f"dm-{a}"), RecordingSink()))
            for a in ("alice", "bob")
        ]
        async with asyncio.timeout(GUARD_S):
            await provider.wait_for_calls(2)  # both calls in flight while the gate is shut
        provider.gate.set()
        assert await asyncio.gather(*tasks) == [TurnOutcome.ANSWERED] * 2


async def test_a_redelivered_event_is_answered_once_even_after_restart() -> None:
    dedup = InMemoryDedup()  # stands in for the persistent store shared across restarts
    provider = ScriptedProvider()
    sink = RecordingSink()
    async with running_engine(stores=make_stores(dedup=dedup), provider=provider) as engine:
        assert await engine.submit(message("hi", event_id="same"), sink) is TurnOutcome.ANSWERED
        assert await engine.submit(message("hi", event_id="same"), sink) is TurnOutcome.DUPLICATE
    async with running_engine(stores=make_stores(dedup=dedup), provider=provider) as engine:
        assert await engine.submit(message("hi", event_id="same"), sink) is TurnOutcome.DUPLICATE
        # the same id on another platform is another event
        other = message("hi", event_id="same", platform="discord")
        assert await engine.submit(other, sink) is TurnOutcome.ANSWERED
    assert len(provider.requests) == 2
    assert len(sink.sent) == 2


async def test_over_the_rate_limit_gets_one_polite_line() -> None:
    provider = ScriptedProvider()
    sink = RecordingSink()
    async with running_engine(provider=provider, settings=fast_settings(rate_limit_per_minute=2)) as engine:
        outcomes = [await engine.submit(message(f"msg {i}"), sink) for i in range(3)]
        other = await engine.submit(message("hello", author="bob", room="dm-bob"), RecordingSink())
    assert outcomes == [TurnOutcome.ANSWERED, TurnOutcome.ANSWERED, TurnOutcome.LIMITED]
    assert other is TurnOutcome.ANSWERED  # per user
    assert len(provider.requests) == 3
    limited = sink.sent[-1]
    assert limited.is_error
    assert "seconds" in limited.text


async def test_daily_token_quota_stops_further_turns() -> None:
    provider = ScriptedProvider()
    sink = RecordingSink()
    settings = fast_settings(daily_token_quota=5)  # one turn uses more than this
    async with running_engine(provider=provider, settings=settings) as engine:
        assert await engine.submit(message("hello"), sink) is TurnOutcome.ANSWERED
        assert await engine.submit(message("again"), sink) is TurnOutcome.LIMITED
    assert len(provider.requests) == 1
    assert "tomorrow" in sink.sent[-1].text


async def test_provider_failure_is_one_friendly_line() -> None:
    error = ProviderError(ErrorKind.SERVER, "HTTP 500 Traceback blah", provider="fake")
    provider = ScriptedProvider(error)
    sink = RecordingSink()
    history = InMemoryHistory()
    async with running_engine(stores=make_stores(history=history), provider=provider) as engine:
        outcome = await engine.submit(message("hello?"), sink)
        assert engine.stats["provider.server"] == 1
    assert outcome is TurnOutcome.FAILED
    assert len(sink.sent) == 1
    assert sink.sent[0].is_error
    assert sink.sent[0].text == friendly_message(error)
    assert "Traceback" not in sink.sent[0].text
    assert "500" not in sink.sent[0].text
    # the user's message is still remembered; no assistant turn is invented
    assert [t.role for t in history.turns] == ["user"]


class _RecordingHook:
    name = "recorder"

    def __init__(self, *, fail_first: int = 0, delay_s: float = 0.0) -> None:
        self.turns: list[CompletedTurn] = []
        self.attempts = 0
        self._fail_first = fail_first
        self._delay_s = delay_s

    async def after_turn(self, turn: CompletedTurn) -> None:
        self.attempts += 1
        await asyncio.sleep(self._delay_s)
        if self.attempts <= self._fail_first:
            raise RuntimeError("transient")
        self.turns.append(turn)


async def test_post_turn_hooks_run_after_the_reply_and_are_drained_on_close() -> None:
    hook = _RecordingHook(delay_s=0.2)
    sink = RecordingSink()
    async with running_engine(hooks=[hook]) as engine:
        await engine.submit(message("hi there", event_id="h1"), sink)
        assert sink.sent  # the reply did not wait for the hook
        assert hook.turns == []
    assert [t.key for t in hook.turns] == ["h1"]
    turn = hook.turns[0]
    assert turn.reply_text == sink.sent[0].text
    assert turn.owner == "terminal:alice"
    assert turn.scope == "dm"


async def test_a_failing_hook_is_retried() -> None:
    hook = _RecordingHook(fail_first=2)
    async with running_engine(hooks=[hook]) as engine:
        await engine.submit(message("hi"), RecordingSink())
    assert hook.attempts == 3
    assert len(hook.turns) == 1


async def test_observed_room_messages_become_context_without_a_reply() -> None:
    provider = ScriptedProvider()
    room = {"room": "general", "is_dm": False}
    async with running_engine(provider=provider) as engine:
        await engine.observe(message("the ferry leaves at nine", author="bob", **room))  # type: ignore[arg-type]
        await engine.jobs.drain(5)
        assert provider.requests == []
        await engine.submit(message("when does it leave?", **room), RecordingSink())  # type: ignore[arg-type]
    assert "Bob: the ferry leaves at nine" in provider.requests[0].messages[0].content


async def test_another_persons_memories_never_reach_the_prompt() -> None:
    memory = InMemoryMemory()
    await memory.add([_memory("bob", "dm", "bob's secret lighthouse code is 4711")])
    provider = ScriptedProvider()
    async with running_engine(stores=make_stores(memory=memory), provider=provider) as engine:
        await engine.submit(message("what is the lighthouse code?"), RecordingSink())
    assert "4711" not in _prompt_text(provider)


async def test_dm_memories_stay_out_of_group_prompts_even_if_the_store_leaks() -> None:
    memory = InMemoryMemory(leak=True)  # a buggy store that ignores visibility
    await memory.add(
        [
            _memory("alice", "dm", "my lighthouse diary password is hunter2"),
            _memory("alice", "room:terminal:general", "the lighthouse is red"),
            _memory("bob", "room:terminal:general", "bob thinks the lighthouse is blue"),
        ]
    )
    provider = ScriptedProvider()
    async with running_engine(stores=make_stores(memory=memory), provider=provider) as engine:
        group = message("tell me about the lighthouse", room="general", is_dm=False)
        await engine.submit(group, RecordingSink())
    prompt = _prompt_text(provider)
    assert "the lighthouse is red" in prompt  # own, said in this room
    assert "hunter2" not in prompt
    assert "blue" not in prompt  # room_shared is off by default


def _prompt_text(provider: ScriptedProvider) -> str:
    request = provider.requests[-1]
    return request.system + "\n".join(m.content for m in request.messages)


def _memory(author: str, scope: str, text: str) -> MemoryItem:
    return MemoryItem(
        id=f"{author}:{text}",
        owner=f"terminal:{author}",
        scope=scope,
        text=text,
        created_at=NOW,
        source_ids=("src",),
    )


def _fact(author: str, attribute: str, value: str, *, kind: str = "preference", scope: str = "dm") -> Fact:
    return Fact(
        id=f"{author}:{attribute}:{value}",
        owner=f"terminal:{author}",
        scope=scope,
        subject="user",
        attribute=attribute,
        value=value,
        kind=kind,  # type: ignore[arg-type]
        confidence=0.9,
        source_ids=("src",),
        valid_from=NOW,
        recorded_at=NOW,
    )


class _FailAfterText(ScriptedProvider):
    async def chat(self, request, on_text=None):  # type: ignore[no-untyped-def]
        self.requests.append(request)
        if on_text is not None:
            await on_text("Half an ans")
        raise ProviderError(ErrorKind.CONNECTION, "dropped", provider="fake")


async def test_a_stream_cut_off_keeps_the_text_shown_and_says_so() -> None:
    sink = RecordingSink()
    async with running_engine(provider=_FailAfterText()) as engine:
        outcome = await engine.submit(message("tell me a story"), sink)
    assert outcome is TurnOutcome.FAILED
    assert len(sink.sent) == 1
    assert sink.sent[0].text.startswith("Half an ans")
    assert "cut off" in sink.sent[0].text


async def test_a_closed_engine_answers_nothing_and_leaves_the_event_unclaimed() -> None:
    dedup = InMemoryDedup()
    async with running_engine(stores=make_stores(dedup=dedup)) as engine:
        pass
    sink = RecordingSink()
    assert await engine.submit(message("late", event_id="late"), sink) is TurnOutcome.FAILED
    assert sink.sent == []
    assert (await dedup.claim("event:terminal:late", 60)).won


async def test_constraints_survive_a_fact_store_outage() -> None:
    facts = InMemoryFacts()
    await facts.upsert([_fact("alice", "allergy", "peanuts", kind="constraint")])
    provider = ScriptedProvider()
    async with running_engine(stores=make_stores(facts=facts), provider=provider) as engine:
        await engine.submit(message("hi"), RecordingSink())
        facts.fail = True
        await engine.submit(message("what should I cook?"), RecordingSink())
        assert engine.stats["gather.facts.error"] == 1
    assert "peanuts" in provider.requests[1].system
