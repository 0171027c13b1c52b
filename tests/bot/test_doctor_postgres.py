"""`familiar doctor` with DATABASE_URL: Postgres reachable, its schema current, its outbox read."""

from __future__ import annotations

import pytest

from bot.doctor import check_postgres, postgres_post_turn_work
from memory.postgres.migrations import CURRENT_VERSION
from memory.postgres.pool import PostgresDatabase

pytestmark = pytest.mark.postgres


async def test_a_migrated_database_is_reported_current(postgres_url: str) -> None:
    db = PostgresDatabase(postgres_url)
    await db.open()
    await db.close()

    finding = await check_postgres(postgres_url)
    assert finding.ok, finding
    assert f"schema version {CURRENT_VERSION}, current" in finding.what
    assert (await postgres_post_turn_work(postgres_url)).what == "post-turn work: 0 waiting in the outbox"


async def test_a_database_never_migrated_says_to_start_familiar_once(postgres_url: str) -> None:
    finding = await check_postgres(postgres_url)
    assert not finding.ok
    assert "schema version 0" in finding.what
    assert "start familiar once" in finding.fix
    assert not (await postgres_post_turn_work(postgres_url)).ok
    assert (await check_postgres(postgres_url)).what == finding.what  # the doctor migrated nothing


async def test_an_unreachable_server_names_the_url_to_fix() -> None:
    finding = await check_postgres("postgresql://postgres@127.0.0.1:1/familiar")
    assert not finding.ok
    assert "DATABASE_URL (127.0.0.1) does not answer" in finding.fix
