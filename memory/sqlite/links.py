"""Linked identities in SQLite: one person, several platform identities, joined by one-time codes.

Privacy model. Linking grants the redeemer's identity access to everything the issuer's person
remembers (and vice versa), so a code is a secret:
- codes are random (`secrets`), 8 characters from an alphabet without look-alikes (about 40 bits),
  short-lived, single use, and never logged; issuing a new code revokes the issuer's older ones;
- an identity that fails to redeem `max_failures` times within `failure_window_s` is refused
  for the rest of the window, so codes cannot be guessed by brute force;
- `unlink` takes one identity out of its group, leaving the others linked; because every store
  queries by the person's current set of identities, unlinking separates memories again.

The adapter is expected to show a code only to its owner (DM or ephemeral message).
"""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from collections.abc import Callable

import aiosqlite

from memory.sqlite.db import Database

_log = logging.getLogger(__name__)

Clock = Callable[[], float]
SCHEMA_NAME = "links"
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L
CODE_LENGTH = 8
DDL = """
CREATE TABLE IF NOT EXISTS link_codes (
    code TEXT PRIMARY KEY,
    identity TEXT NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS link_codes_identity ON link_codes (identity);
CREATE TABLE IF NOT EXISTS identity_links (
    identity TEXT PRIMARY KEY,
    person TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS identity_links_person ON identity_links (person);
CREATE TABLE IF NOT EXISTS link_failures (
    identity TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS link_failures_identity ON link_failures (identity, at);
"""


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(code: str) -> str:
    """Accept what people type: lower case, spaces or dashes between groups."""
    return "".join(ch for ch in code.upper() if ch not in " -\t")


class SqliteIdentityLinks:
    """`IdentityLinks` on the shared `Database`."""

    def __init__(
        self,
        db: Database,
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
        await self._db.ensure_schema(SCHEMA_NAME, DDL)

    async def close(self) -> None:
        """Nothing to release: the Database belongs to the composition root."""

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
            await conn.execute(
                "DELETE FROM link_codes WHERE expires_at <= ? OR identity = ?", (now, identity)
            )
            while True:
                code = new_code()
                async with conn.execute(
                    "INSERT OR IGNORE INTO link_codes (code, identity, expires_at) VALUES (?, ?, ?)",
                    (code, identity, now + ttl_s),
                ) as cur:
                    if cur.rowcount == 1:
                        return code

    async def redeem(self, identity: str, code: str) -> bool:
        now = self._clock()
        async with self._db.transaction() as conn:
            if await self._locked_out(conn, identity, now):
                _log.warning("link redemption refused: too many failed attempts")
                return False
            issuer = await self._take_code(conn, normalize_code(code), now)
            if issuer is None or issuer == identity:
                await conn.execute("INSERT INTO link_failures (identity, at) VALUES (?, ?)", (identity, now))
                return False
            await self._join(conn, issuer, identity)
        _log.info("linked two identities into one person")
        return True

    async def unlink(self, identity: str) -> None:
        async with self._db.transaction() as conn:
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

    async def _locked_out(self, conn: aiosqlite.Connection, identity: str, now: float) -> bool:
        await conn.execute("DELETE FROM link_failures WHERE at <= ?", (now - self._failure_window_s,))
        async with conn.execute(
            "SELECT COUNT(*) AS n FROM link_failures WHERE identity = ?", (identity,)
        ) as cur:
            row = await cur.fetchone()
        return row is not None and int(row["n"]) >= self._max_failures

    @staticmethod
    async def _take_code(conn: aiosqlite.Connection, code: str, now: float) -> str | None:
        """Consume the code (single use); the issuer's identity if it was still valid."""
        async with conn.execute(
            "DELETE FROM link_codes WHERE code = ? RETURNING identity, expires_at", (code,)
        ) as cur:
            row = await cur.fetchone()
        if row is None or float(row["expires_at"]) <= now:
            return None
        return str(row["identity"])

    @staticmethod
    async def _join(conn: aiosqlite.Connection, issuer: str, redeemer: str) -> None:
        """Merge the redeemer's group (or lone identity) into the issuer's."""
        person = await _person_of(conn, issuer) or uuid.uuid4().hex
        await conn.execute(
            "INSERT OR IGNORE INTO identity_links (identity, person) VALUES (?, ?)", (issuer, person)
        )
        old = await _person_of(conn, redeemer)
        if old is not None:
            await conn.execute("UPDATE identity_links SET person = ? WHERE person = ?", (person, old))
        else:
            await conn.execute(
                "INSERT INTO identity_links (identity, person) VALUES (?, ?)", (redeemer, person)
            )


async def _person_of(conn: aiosqlite.Connection, identity: str) -> str | None:
    async with conn.execute("SELECT person FROM identity_links WHERE identity = ?", (identity,)) as cur:
        row = await cur.fetchone()
    return None if row is None else str(row["person"])
