"""`familiar doctor`'s Postgres checks (DATABASE_URL): reachable, and the schema current."""

from __future__ import annotations

import asyncio
from urllib.parse import urlparse

import asyncpg

from memory.postgres.migrations import CURRENT_VERSION


async def postgres_problem(url: str, *, timeout_s: float = 5.0) -> tuple[int | None, str | None]:
    """(schema version, None) when Postgres answers, else (None, what to fix).

    Connects without migrating: a doctor reports, it never changes the database.
    """
    host = urlparse(url).hostname or "localhost"
    try:
        async with asyncio.timeout(timeout_s):
            conn = await asyncpg.connect(url)
    except (OSError, TimeoutError) as exc:
        return None, f"DATABASE_URL ({host}) does not answer ({exc}); start Postgres or unset it"
    except (asyncpg.PostgresError, asyncpg.InterfaceError, ValueError) as exc:  # auth, no database, bad URL
        return None, f"DATABASE_URL ({host}) refused the connection: {exc}"
    try:
        exists = await conn.fetchval("SELECT to_regclass('schema_version') IS NOT NULL")
        version = (
            int(await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_version")) if exists else 0
        )
    finally:
        await conn.close()
    return version, None


def version_problem(version: int) -> str | None:
    if version == CURRENT_VERSION:
        return None
    if version < CURRENT_VERSION:
        return (
            f"schema version {version}, this release needs {CURRENT_VERSION}: start familiar once"
            " (it migrates at start), then run doctor again"
        )
    return f"schema version {version} is newer than this release's {CURRENT_VERSION}: upgrade familiar"
