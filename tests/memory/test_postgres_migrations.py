"""The Postgres schema is migrated at start, once, even when several processes start together."""

from __future__ import annotations

import asyncio
import json
import sys

import asyncpg
import pytest

from memory.postgres.migrations import CURRENT_VERSION, MIGRATION_LOCK, MIGRATIONS
from memory.postgres.pool import PostgresDatabase

pytestmark = pytest.mark.postgres

_OPEN_IN_A_PROCESS = """
import asyncio, json, sys
from memory.postgres.pool import PostgresDatabase

async def main() -> None:
    db = PostgresDatabase(sys.argv[1])
    await db.open()
    row = await db.fetchone("SELECT COUNT(*) AS n FROM history")
    await db.close()
    print(json.dumps({"applied": db.applied, "history_rows": row["n"]}))

asyncio.run(main())
"""


async def _waiting_for_the_lock(admin: asyncpg.Connection, count: int) -> None:
    """Until `count` sessions wait on the migration lock (bounded: 60 s)."""
    async with asyncio.timeout(60):
        while True:
            waiting = await admin.fetchval(
                "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            )
            if waiting >= count:
                return
            await asyncio.sleep(0.05)


async def test_processes_and_tasks_starting_together_all_succeed_and_migrate_once(postgres_url: str) -> None:
    admin = await asyncpg.connect(postgres_url)
    try:
        # Hold the lock so every starter is already waiting when the race begins.
        await admin.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
        processes = [
            await asyncio.create_subprocess_exec(
                sys.executable, "-c", _OPEN_IN_A_PROCESS, postgres_url, stdout=asyncio.subprocess.PIPE
            )
            for _ in range(3)
        ]
        pools = [PostgresDatabase(postgres_url) for _ in range(3)]
        opening = [asyncio.create_task(pool.open(), name=f"open-{i}") for i, pool in enumerate(pools)]
        await _waiting_for_the_lock(admin, len(processes) + len(pools))
        await admin.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)

        await asyncio.gather(*opening)
        outputs = [json.loads((await p.communicate())[0]) for p in processes]
        assert [p.returncode for p in processes] == [0, 0, 0]
        applied = [o["applied"] for o in outputs] + [pool.applied for pool in pools]
        assert sorted(applied) == [[]] * 5 + [[m.version for m in MIGRATIONS]]  # exactly one migrated
        assert all(o["history_rows"] == 0 for o in outputs)
        versions = await admin.fetch("SELECT version FROM schema_version ORDER BY version")
        assert [r["version"] for r in versions] == [m.version for m in MIGRATIONS]
        for pool in pools:
            await pool.close()
    finally:
        await admin.close()


async def test_a_current_schema_is_left_alone_on_the_next_start(postgres_url: str) -> None:
    first = PostgresDatabase(postgres_url)
    await first.open()
    await first.execute("INSERT INTO dedup (key, expires_at) VALUES (?, ?)", ("kept", 1.0))
    await first.close()
    await first.close()  # idempotent

    again = PostgresDatabase(postgres_url)
    await again.open()
    try:
        assert again.applied == []
        row = await again.fetchone("SELECT MAX(version) AS v FROM schema_version")
        assert row is not None
        assert row["v"] == CURRENT_VERSION
        assert await again.fetchone("SELECT key FROM dedup WHERE key = ?", ("kept",)) is not None
    finally:
        await again.close()


async def test_an_unreachable_server_fails_at_open_with_its_error() -> None:
    db = PostgresDatabase("postgresql://postgres@127.0.0.1:1/nowhere")
    with pytest.raises(OSError, match=r"(?i)connect"):
        await db.open()
    with pytest.raises(RuntimeError, match="not open"):
        await db.fetchone("SELECT 1")
