"""Linked identities in Postgres, with the privacy model of memory.sqlite.links (codes, lockout).

Every write runs under one transaction advisory lock, so a redemption's read-merge-write never
interleaves with another process's: merging groups is rare, and serialising it is cheap.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable

from memory.postgres.pool import Connection, PostgresDatabase
from memory.sqlite.links import new_code, normalize_code

_log = logging.getLogger(__name__)

Clock = Callable[[], float]
_LOCK = "identity-links"


class PostgresIdentityLinks:
    """`IdentityLinks` on the shared pool."""

    def __init__(
        self,
        db: PostgresDatabase,
        *,
        clock: Clock = time.time,
        max_failures: int = 5,
        failure_window_s: float = 900.0,
    ) -> None:
        self._db = db
        self._clock = clock
        self._max_failures = max_failures
        self._failure_window_s = failure_window_s

    async def start(self) -> None:
        """The schema is migrated when the pool opens."""

    async def close(self) -> None:
        """Nothing to release: the pool belongs to the composition root."""

    async def identities(self, identity: str) -> frozenset[str]:
        rows = await self._db.fetchall(
            "SELECT identity FROM identity_links WHERE person ="
            " (SELECT person FROM identity_links WHERE identity = ?)",
            (identity,),
        )
        return frozenset(row["identity"] for row in rows) | {identity}

    async def issue_code(self, identity: str, ttl_s: float) -> str:
        now = self._clock()
        async with self._db.transaction() as conn:
            await conn.lock(_LOCK)
            await conn.execute(
                "DELETE FROM link_codes WHERE expires_at <= ? OR identity = ?", (now, identity)
            )
            while True:
                code = new_code()
                inserted = await conn.execute(
                    "INSERT INTO link_codes (code, identity, expires_at) VALUES (?, ?, ?)"
                    " ON CONFLICT DO NOTHING",
                    (code, identity, now + ttl_s),
                )
                if inserted == 1:
                    return code

    async def redeem(self, identity: str, code: str) -> bool:
        now = self._clock()
        async with self._db.transaction() as conn:
            await conn.lock(_LOCK)
            if await self._locked_out(conn, identity, now):
                _log.warning("link redemption refused: too many failed attempts")
                return False
            issuer = await _take_code(conn, normalize_code(code), now)
            if issuer is None or issuer == identity:
                await conn.execute("INSERT INTO link_failures (identity, at) VALUES (?, ?)", (identity, now))
                return False
            await _join(conn, issuer, identity)
        _log.info("linked two identities into one person")
        return True

    async def unlink(self, identity: str) -> None:
        async with self._db.transaction() as conn:
            await conn.lock(_LOCK)
            person = await _person_of(conn, identity)
            if person is None:
                return
            await conn.execute("DELETE FROM identity_links WHERE identity = ?", (identity,))
            # A group of one is no link at all: drop it so `identities` stays a plain lookup.
            await conn.execute(
                "DELETE FROM identity_links WHERE person = ?"
                " AND (SELECT COUNT(*) FROM identity_links WHERE person = ?) = 1",
                (person, person),
            )

    async def _locked_out(self, conn: Connection, identity: str, now: float) -> bool:
        await conn.execute("DELETE FROM link_failures WHERE at <= ?", (now - self._failure_window_s,))
        row = await conn.fetchone("SELECT COUNT(*) AS n FROM link_failures WHERE identity = ?", (identity,))
        return row is not None and int(row["n"]) >= self._max_failures


async def _take_code(conn: Connection, code: str, now: float) -> str | None:
    """Consume the code (single use); the issuer's identity if it was still valid."""
    row = await conn.fetchone("DELETE FROM link_codes WHERE code = ? RETURNING identity, expires_at", (code,))
    if row is None or float(row["expires_at"]) <= now:
        return None
    return str(row["identity"])


async def _join(conn: Connection, issuer: str, redeemer: str) -> None:
    """Merge the redeemer's group (or lone identity) into the issuer's."""
    person = await _person_of(conn, issuer) or uuid.uuid4().hex
    await conn.execute(
        "INSERT INTO identity_links (identity, person) VALUES (?, ?) ON CONFLICT DO NOTHING", (issuer, person)
    )
    old = await _person_of(conn, redeemer)
    if old is not None:
        await conn.execute("UPDATE identity_links SET person = ? WHERE person = ?", (person, old))
    else:
        await conn.execute("INSERT INTO identity_links (identity, person) VALUES (?, ?)", (redeemer, person))


async def _person_of(conn: Connection, identity: str) -> str | None:
    row = await conn.fetchone("SELECT person FROM identity_links WHERE identity = ?", (identity,))
    return None if row is None else str(row["person"])
