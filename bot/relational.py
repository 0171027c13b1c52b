"""The relational stores on SQLite (embedded default) or Postgres (`DATABASE_URL`), side by side.

One switch for all of them, so a deployment never splits facts from the outbox that learns them:
with `DATABASE_URL` every store here, and history, dedup and rate limits unless Redis holds them,
lives in Postgres; the pool is opened (and the schema migrated) once, and closed with the stack.
"""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack
from dataclasses import dataclass
from urllib.parse import urlparse

from bot.config import Settings
from memory.base import HistoryStore
from memory.journal_files import JournalFiles
from memory.postgres.dedup import PostgresEventDedup
from memory.postgres.facts import PostgresFactStore
from memory.postgres.history import PostgresHistoryStore
from memory.postgres.journal import PostgresJournalStore
from memory.postgres.limits import PostgresRateLimiter
from memory.postgres.links import PostgresIdentityLinks
from memory.postgres.outbox import PostgresOutbox
from memory.postgres.pool import PoolSize, PostgresDatabase
from memory.sqlite.db import Database
from memory.sqlite.dedup import SqliteEventDedup
from memory.sqlite.facts import SqliteFactStore
from memory.sqlite.history import SqliteHistoryStore
from memory.sqlite.journal import SqliteJournalStore
from memory.sqlite.limits import SqliteRateLimiter
from memory.sqlite.links import SqliteIdentityLinks
from memory.sqlite.outbox import SqliteOutbox

_log = logging.getLogger(__name__)

JournalBackend = SqliteJournalStore | PostgresJournalStore


@dataclass(frozen=True, slots=True, kw_only=True)
class HotStores:
    history: SqliteHistoryStore | PostgresHistoryStore
    dedup: SqliteEventDedup | PostgresEventDedup
    limits: SqliteRateLimiter | PostgresRateLimiter


@dataclass(frozen=True, slots=True, kw_only=True)
class LearnedStores:
    facts: SqliteFactStore | PostgresFactStore
    journal: JournalBackend  # also reads whole days for the reflection, and holds the drafts
    links: SqliteIdentityLinks | PostgresIdentityLinks
    outbox: SqliteOutbox | PostgresOutbox


def postgres_database(settings: Settings) -> PostgresDatabase | None:
    if not settings.database_url:
        return None
    pool = settings.database_pool
    size = PoolSize(min_size=pool.min_size, max_size=pool.max_size, command_timeout_s=pool.command_timeout_s)
    return PostgresDatabase(settings.database_url, size=size)


async def open_postgres(settings: Settings, stack: AsyncExitStack) -> PostgresDatabase | None:
    """The pool when DATABASE_URL is set: opened (and migrated) now, so a bad URL fails at start."""
    pg = postgres_database(settings)
    if pg is None:
        return None
    await pg.open()
    stack.push_async_callback(pg.close)
    _log.info("relational stores on postgres at %s", urlparse(pg.url).hostname)
    return pg


def hot_stores(db: Database, pg: PostgresDatabase | None) -> HotStores:
    """History, dedup and rate limits in the relational store (Redis, when set, is chosen before)."""
    if pg is not None:
        return HotStores(
            history=PostgresHistoryStore(pg), dedup=PostgresEventDedup(pg), limits=PostgresRateLimiter(pg)
        )
    return HotStores(history=SqliteHistoryStore(db), dedup=SqliteEventDedup(db), limits=SqliteRateLimiter(db))


def learned_stores(
    db: Database, pg: PostgresDatabase | None, *, history: HistoryStore, files: JournalFiles
) -> LearnedStores:
    """Facts, journal, identity links and the outbox (which commits with `history`), unstarted."""
    if pg is not None:
        return LearnedStores(
            facts=PostgresFactStore(pg),
            journal=PostgresJournalStore(pg, files=files),
            links=PostgresIdentityLinks(pg),
            outbox=PostgresOutbox(pg, history=history),
        )
    return LearnedStores(
        facts=SqliteFactStore(db),
        journal=SqliteJournalStore(db, files=files),
        links=SqliteIdentityLinks(db),
        # The outbox lives in the primary store even when history is in Redis.
        outbox=SqliteOutbox(db, history=history),
    )
