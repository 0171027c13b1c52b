"""The `relational` fixture: one store contract, run on SQLite and on a real Postgres.

A test that takes `relational` runs twice (ids `sqlite` and `postgres`); it builds its stores
with the backend's factory methods, so the same assertions hold both backends to one behaviour.
`reopened()` is a second process (or a restart) on the same data.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from memory.base import HistoryStore
from memory.journal_files import JournalFiles
from memory.postgres.dedup import PostgresEventDedup
from memory.postgres.facts import PostgresFactStore
from memory.postgres.history import PostgresHistoryStore
from memory.postgres.journal import PostgresJournalStore
from memory.postgres.journal_drafts import PostgresJournalDrafts
from memory.postgres.limits import PostgresRateLimiter
from memory.postgres.links import PostgresIdentityLinks
from memory.postgres.outbox import PostgresOutbox
from memory.postgres.pool import PostgresDatabase
from memory.sqlite.db import Database
from memory.sqlite.dedup import SqliteEventDedup
from memory.sqlite.facts import SqliteFactStore
from memory.sqlite.history import SqliteHistoryStore
from memory.sqlite.journal import SqliteJournalStore
from memory.sqlite.journal_drafts import SqliteJournalDrafts
from memory.sqlite.limits import SqliteRateLimiter
from memory.sqlite.links import SqliteIdentityLinks
from memory.sqlite.outbox import SqliteOutbox

Clock = Callable[[], float]
FactBackend = SqliteFactStore | PostgresFactStore
JournalBackend = SqliteJournalStore | PostgresJournalStore
DraftsBackend = SqliteJournalDrafts | PostgresJournalDrafts
LinksBackend = SqliteIdentityLinks | PostgresIdentityLinks
OutboxBackend = SqliteOutbox | PostgresOutbox
HistoryBackend = SqliteHistoryStore | PostgresHistoryStore
DedupBackend = SqliteEventDedup | PostgresEventDedup
LimitsBackend = SqliteRateLimiter | PostgresRateLimiter


class Relational:
    """Started stores on one backend's database; `close()` closes every connection opened."""

    def __init__(
        self, name: str, *, sqlite_path: Path | None = None, postgres_url: str | None = None
    ) -> None:
        self.name = name
        self._sqlite_path = sqlite_path
        self._postgres_url = postgres_url
        self._sqlite: list[Database] = []
        self._postgres: list[PostgresDatabase] = []
        self._current: Database | PostgresDatabase | None = None

    async def open(self) -> None:
        self._current = await self._connect()

    async def reopened(self) -> Relational:
        """The same data through a new connection (pool): another process, or a restart."""
        self._current = await self._connect()
        return self

    async def _connect(self) -> Database | PostgresDatabase:
        if self._postgres_url is not None:
            pool = PostgresDatabase(self._postgres_url)
            await pool.open()
            self._postgres.append(pool)
            return pool
        assert self._sqlite_path is not None
        db = Database(self._sqlite_path)
        await db.open()
        self._sqlite.append(db)
        return db

    @property
    def db(self) -> Database | PostgresDatabase:
        assert self._current is not None
        return self._current

    async def facts(self) -> FactBackend:
        db = self.db
        store = PostgresFactStore(db) if isinstance(db, PostgresDatabase) else SqliteFactStore(db)
        await store.start()
        return store

    async def journal(self, files: JournalFiles | None = None) -> JournalBackend:
        db = self.db
        store: JournalBackend
        if isinstance(db, PostgresDatabase):
            store = PostgresJournalStore(db, files=files)
        else:
            store = SqliteJournalStore(db, files=files)
        await store.start()
        return store

    async def drafts(self) -> DraftsBackend:
        db = self.db
        store = PostgresJournalDrafts(db) if isinstance(db, PostgresDatabase) else SqliteJournalDrafts(db)
        await store.start()
        return store

    async def links(self, clock: Clock) -> LinksBackend:
        db = self.db
        store: LinksBackend
        if isinstance(db, PostgresDatabase):
            store = PostgresIdentityLinks(db, clock=clock)
        else:
            store = SqliteIdentityLinks(db, clock=clock)
        await store.start()
        return store

    async def dedup(self, clock: Clock) -> DedupBackend:
        db = self.db
        store: DedupBackend
        if isinstance(db, PostgresDatabase):
            store = PostgresEventDedup(db, clock=clock)
        else:
            store = SqliteEventDedup(db, clock=clock)
        await store.start()
        return store

    async def limits(self, clock: Clock) -> LimitsBackend:
        db = self.db
        store: LimitsBackend
        if isinstance(db, PostgresDatabase):
            store = PostgresRateLimiter(db, clock=clock)
        else:
            store = SqliteRateLimiter(db, clock=clock)
        await store.start()
        return store

    async def history(self) -> HistoryBackend:
        db = self.db
        store = PostgresHistoryStore(db) if isinstance(db, PostgresDatabase) else SqliteHistoryStore(db)
        await store.start()
        return store

    async def outbox(self, history: HistoryStore | None = None) -> OutboxBackend:
        """The outbox; by default committing with this backend's own history (one transaction)."""
        db = self.db
        chosen = history if history is not None else await self.history()
        store: OutboxBackend
        if isinstance(db, PostgresDatabase):
            store = PostgresOutbox(db, history=chosen)
        else:
            store = SqliteOutbox(db, history=chosen)
        await store.start()
        return store

    async def close(self) -> None:
        for db in self._sqlite:
            await db.close()
        for pool in self._postgres:
            await pool.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def relational_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Relational:
    """Which backend (sync, so it may ask for the async `postgres_url` fixture by name)."""
    if request.param == "postgres":
        return Relational("postgres", postgres_url=request.getfixturevalue("postgres_url"))
    return Relational("sqlite", sqlite_path=tmp_path / "familiar.db")


@pytest.fixture
async def relational(relational_backend: Relational) -> AsyncIterator[Relational]:
    await relational_backend.open()
    yield relational_backend
    await relational_backend.close()
