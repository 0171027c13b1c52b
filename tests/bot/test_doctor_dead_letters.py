"""`familiar doctor` shows post-turn work that failed for good (dead letters) and what waits."""

from __future__ import annotations

import time
from pathlib import Path

from bot.config import Settings
from bot.doctor import check_post_turn_work
from memory.base import OutboxJob
from memory.sqlite.db import Database
from memory.sqlite.history import SqliteHistoryStore
from memory.sqlite.outbox import SqliteOutbox


def _settings(data_dir: Path) -> Settings:
    return Settings(_env_file=None, data_dir=data_dir)  # type: ignore[call-arg]


async def _outbox_with(data_dir: Path, *keys: str) -> tuple[Database, SqliteOutbox]:
    db = Database(data_dir / "familiar.db")
    await db.open()
    outbox = SqliteOutbox(db, history=SqliteHistoryStore(db))
    await outbox.start()
    jobs = [
        OutboxJob(
            key=k, kind="hook:facts", payload="{}", owners=frozenset({"discord:1"}), origin_ts=time.time()
        )
        for k in keys
    ]
    await outbox.commit([], jobs)
    return db, outbox


async def test_doctor_lists_dead_letters_with_their_error(tmp_path: Path) -> None:
    db, outbox = await _outbox_with(tmp_path, "hook:facts:discord:e1", "hook:facts:discord:e2")
    await outbox.dead_letter("hook:facts:discord:e1", "ValueError: the model answered no JSON")
    await db.close()

    finding = await check_post_turn_work(_settings(tmp_path))

    assert not finding.ok
    assert "1 waiting in the outbox" in finding.what
    assert "hook:facts:discord:e1" in finding.fix
    assert "the model answered no JSON" in finding.fix


async def test_doctor_is_content_with_an_empty_outbox(tmp_path: Path) -> None:
    finding = await check_post_turn_work(_settings(tmp_path))
    assert finding.ok
    assert finding.what == "post-turn work: 0 waiting in the outbox"
