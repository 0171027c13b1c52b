"""One aiosqlite connection per data directory, shared by every SQLite store.

aiosqlite runs each connection on its own thread, so queries never block the event loop.
WAL lets readers proceed while the background queue writes. Each store registers its own
schema (idempotent DDL) through `ensure_schema` when it starts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

_log = logging.getLogger(__name__)


class Database:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._conn: aiosqlite.Connection | None = None
        self._schemas: set[str] = set()
        # One writer at a time: a transaction spans several awaits, and aiosqlite
        # would otherwise interleave statements of two coroutines in one transaction.
        self._write_lock = asyncio.Lock()

    @property
    def path(self) -> Path:
        return self._path

    async def open(self) -> None:
        if self._conn is not None:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(self._path)
        conn.row_factory = aiosqlite.Row
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA synchronous=NORMAL")
        await conn.execute("PRAGMA foreign_keys=ON")
        self._conn = conn
        _log.debug("opened sqlite database %s", self._path)

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError(f"database {self._path} is not open")
        return self._conn

    async def ensure_schema(self, name: str, ddl: str) -> None:
        """Run a store's idempotent DDL script once per process."""
        if name in self._schemas:
            return
        async with self._write_lock:
            await self.conn.executescript(ddl)
            await self.conn.commit()
        self._schemas.add(name)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """Serialised write transaction; commits on success, rolls back on error."""
        async with self._write_lock:
            try:
                yield self.conn
            except BaseException:
                await self.conn.rollback()
                raise
            await self.conn.commit()

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        # One hop to the connection's thread, where execute + fetchall + close was three: each hop
        # is a thread handoff and a loop wake-up, and a turn reads SQLite a few dozen times.
        return list(await self.conn.execute_fetchall(sql, params))

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Row | None:
        """The first row of a statement that returns at most a few (by key, an aggregate, LIMIT 1)."""
        rows = await self.conn.execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One write statement in its own transaction; returns the affected row count."""
        async with self.transaction() as conn, conn.execute(sql, params) as cur:
            return cur.rowcount

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        async with self.transaction() as conn:
            await conn.executemany(sql, rows)
