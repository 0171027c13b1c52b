"""The reminder store on SQLite and Postgres: claims are atomic across processes, cancels only touch
one's own."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from memory.assistant import CheckinChoice, CheckinStore, Reminder, ReminderStore
from memory.postgres.pool import PostgresDatabase
from memory.postgres.reminders import PostgresCheckinStore, PostgresReminderStore
from memory.sqlite.db import Database
from memory.sqlite.reminders import SqliteCheckinStore, SqliteReminderStore
from tests.support.sqlite import DB_FILE

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def reminder(rid: str, *, owner: str = "discord:1", due: datetime = T0) -> Reminder:
    return Reminder(id=rid, owner=owner, text=f"do {rid}", due_at=due, zone="UTC", platform="discord",
                    room_id="55", thread_id=None, is_dm=True, source_id=f"ev-{rid}",
                    created_at=T0 - timedelta(hours=1))  # fmt: skip


@pytest.fixture
async def sqlite_stores(db: Database) -> tuple[ReminderStore, CheckinStore]:
    pair = (SqliteReminderStore(db), SqliteCheckinStore(db))
    for one in pair:
        await one.start()
    return pair


@pytest.fixture
async def postgres_stores(pg_db: PostgresDatabase) -> tuple[ReminderStore, CheckinStore]:
    return PostgresReminderStore(pg_db), PostgresCheckinStore(pg_db)


@pytest.fixture(params=["sqlite", "postgres"])
def stores(request: pytest.FixtureRequest) -> tuple[ReminderStore, CheckinStore]:
    pair: tuple[ReminderStore, CheckinStore] = request.getfixturevalue(f"{request.param}_stores")
    return pair


@pytest.fixture
def store(stores: tuple[ReminderStore, CheckinStore]) -> ReminderStore:
    return stores[0]


@pytest.fixture
def checkins(stores: tuple[ReminderStore, CheckinStore]) -> CheckinStore:
    return stores[1]


async def test_two_processes_never_claim_the_same_reminder(db: Database, tmp_path: Path) -> None:
    first = SqliteReminderStore(db)
    await first.start()
    other_db = Database(tmp_path / DB_FILE)  # a second process on the same file
    await other_db.open()
    try:
        second = SqliteReminderStore(other_db)
        await second.start()
        for i in range(20):
            await first.add(reminder(f"r{i:02d}"))
        a = await first.claim_due(T0, holder="a", lease_s=60, limit=7)
        b = await second.claim_due(T0, holder="b", lease_s=60, limit=50)
        c = await first.claim_due(T0, holder="c", lease_s=60, limit=50)
    finally:
        await other_db.close()
    assert len(a) == 7
    assert len(b) == 13
    assert c == []
    assert {r.id for r in a}.isdisjoint({r.id for r in b})


async def test_an_expired_lease_is_claimed_again_and_a_delivered_one_never(store: ReminderStore) -> None:
    await store.add(reminder("x"))
    await store.add(reminder("y"))
    [x, y] = await store.claim_due(T0, holder="dead", lease_s=60, limit=10)
    assert await store.delivered(y.id, "dead", T0)
    # The holder died before marking x: once its lease ran out another sender takes it.
    assert await store.claim_due(T0 + timedelta(seconds=30), holder="new", lease_s=60, limit=10) == []
    [again] = await store.claim_due(T0 + timedelta(seconds=61), holder="new", lease_s=60, limit=10)
    assert again.id == x.id
    assert not await store.delivered(x.id, "dead", T0)  # the old holder lost it
    assert await store.delivered(x.id, "new", T0)
    assert await store.claim_due(T0 + timedelta(days=1), holder="z", lease_s=60, limit=10) == []
    assert await store.open_for(frozenset({"discord:1"})) == []


async def test_cancel_takes_only_the_owners_pending_reminder(store: ReminderStore) -> None:
    await store.add(reminder("mine", owner="discord:1", due=T0 + timedelta(hours=1)))
    await store.add(reminder("sent", owner="discord:1"))
    assert await store.cancel(frozenset({"discord:2"}), "mine") is None
    [claimed] = await store.claim_due(T0, holder="h", lease_s=60, limit=10)
    assert await store.cancel(frozenset({"discord:1"}), claimed.id) is None  # being sent: too late
    cancelled = await store.cancel(frozenset({"discord:1", "matrix:@a:x"}), "mine")
    assert cancelled is not None
    assert cancelled.state == "cancelled"
    later = T0 + timedelta(hours=2)  # past "mine"'s time, within nobody's lease but "sent"'s holder's
    await store.delivered(claimed.id, "h", T0)
    assert await store.claim_due(later, holder="h2", lease_s=60, limit=10) == []
    assert await store.open_for(frozenset({"discord:1"})) == []


async def test_a_failed_delivery_waits_for_its_retry(store: ReminderStore) -> None:
    await store.add(reminder("r"))
    [r] = await store.claim_due(T0, holder="h", lease_s=60, limit=10)
    await store.release(r.id, "h", retry_at=T0 + timedelta(seconds=10))
    assert await store.next_due() == T0 + timedelta(seconds=10)
    assert await store.claim_due(T0 + timedelta(seconds=5), holder="h", lease_s=60, limit=10) == []
    [retried] = await store.claim_due(T0 + timedelta(seconds=10), holder="h", lease_s=60, limit=10)
    assert retried.attempts == 1


async def test_one_checkin_per_day_is_claimed(checkins: CheckinStore) -> None:
    store = checkins
    await store.choose(CheckinChoice(owner="discord:1", platform="discord", room_id="55",
                                     at_minute=510, enabled=True))  # fmt: skip
    assert await store.claim_day("discord:1", "2026-12-02")
    assert not await store.claim_day("discord:1", "2026-12-02")
    assert await store.claim_day("discord:1", "2026-12-03")
    await store.choose(CheckinChoice(owner="discord:1", platform="discord", room_id="55",
                                     at_minute=600, enabled=False))  # fmt: skip
    assert await store.enabled() == []
    assert not await store.claim_day("discord:1", "2026-12-04")


async def test_forget_takes_the_owners_reminders_or_those_mentioning_the_phrase(store: ReminderStore) -> None:
    await store.add(reminder("a1"))
    await store.add(reminder("b2"))
    await store.add(reminder("c3", owner="discord:2"))
    assert await store.forget(frozenset({"discord:1"}), "DO A1") == 1
    assert [r.id for r in await store.open_for(frozenset({"discord:1"}))] == ["b2"]
    assert await store.forget(frozenset({"discord:1"})) == 1
    assert [r.id for r in await store.open_for(frozenset({"discord:2"}))] == ["c3"]


async def test_two_postgres_processes_claiming_at_once_never_share_a_reminder(postgres_url: str) -> None:
    pools = [PostgresDatabase(postgres_url), PostgresDatabase(postgres_url)]
    for pool in pools:
        await pool.open()
    try:
        first, second = (PostgresReminderStore(pool) for pool in pools)
        for i in range(40):
            await first.add(reminder(f"r{i:02d}"))
        rounds = await asyncio.gather(
            *(s.claim_due(T0, holder=f"h{n}", lease_s=60, limit=3) for n in range(8) for s in (first, second))
        )
    finally:
        for pool in pools:
            await pool.close()
    claimed = [r.id for batch in rounds for r in batch]
    assert len(claimed) == 40
    assert len(set(claimed)) == 40  # none taken twice
