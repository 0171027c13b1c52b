"""One asyncpg pool per process, shared by every Postgres store, with the schema migrated at open.

Statements are written with `?` placeholders, like the SQLite stores' (and `Visibility.sql()`'s),
and numbered here (`$1`, `$2`, ...) for Postgres: the stores' SQL then reads like its SQLite
sibling, and the one visibility rule is reused as it is. No statement of ours holds a literal `?`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg

from memory.postgres.migrations import migrate

_log = logging.getLogger(__name__)

_MARK = re.compile(r"\?")


def numbered(sql: str) -> str:
    """`?` placeholders as Postgres' `$n`, in order."""
    count = 0

    def _next(_: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return f"${count}"

    return _MARK.sub(_next, sql)


@dataclass(frozen=True, slots=True, kw_only=True)
class PoolSize:
    """How many connections a process keeps open (min) and may open at most (max)."""

    min_size: int = 1
    max_size: int = 10
    command_timeout_s: float = 30.0


class PostgresDatabase:
    """The pool; `open()` connects and migrates (once across processes), `close()` is idempotent."""

    def __init__(self, url: str, *, size: PoolSize | None = None, migrate: bool = True) -> None:
        self._url = url
        self._size = size or PoolSize()
        self._migrate = migrate  # False: a reader (doctor) that must not change the database
        self._pool: asyncpg.Pool | None = None
        self.applied: list[int] = []  # the migrations this process applied when it opened

    @property
    def url(self) -> str:
        return self._url

    async def open(self) -> None:
        if self._pool is not None:
            return
        pool = await asyncpg.create_pool(
            self._url,
            min_size=self._size.min_size,
            max_size=self._size.max_size,
            command_timeout=self._size.command_timeout_s,
        )
        if self._migrate:
            try:
                async with pool.acquire() as conn:
                    self.applied = await migrate(conn)
            except BaseException:
                await pool.close()
                raise
        self._pool = pool
        _log.info("postgres pool open (%d..%d connections)", self._size.min_size, self._size.max_size)

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("the postgres database is not open")
        return self._pool

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """One connection in one transaction; commits on success, rolls back on error."""
        async with self.pool.acquire() as conn, conn.transaction():
            yield Connection(conn)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[asyncpg.Record]:
        return list(await self.pool.fetch(numbered(sql), *params))

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> asyncpg.Record | None:
        row: asyncpg.Record | None = await self.pool.fetchrow(numbered(sql), *params)
        return row

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One statement in its own transaction; returns the affected row count."""
        return affected(await self.pool.execute(numbered(sql), *params))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        async with self.transaction() as conn:
            await conn.executemany(sql, rows)


class Connection:
    """A connection inside a transaction, speaking the same `?` SQL as `PostgresDatabase`."""

    def __init__(self, raw: asyncpg.Connection) -> None:
        self.raw = raw

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[asyncpg.Record]:
        return list(await self.raw.fetch(numbered(sql), *params))

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> asyncpg.Record | None:
        row: asyncpg.Record | None = await self.raw.fetchrow(numbered(sql), *params)
        return row

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return affected(await self.raw.execute(numbered(sql), *params))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        batch = [tuple(row) for row in rows]
        if batch:
            await self.raw.executemany(numbered(sql), batch)

    async def lock(self, key: str) -> None:
        """Serialise this transaction with every other one that locks the same key (released at
        commit): for read-then-write steps a unique constraint alone cannot decide."""
        await self.raw.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", key)


def affected(status: str) -> int:
    """The row count of a command tag ("UPDATE 3", "INSERT 0 1", "DELETE 0")."""
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0
