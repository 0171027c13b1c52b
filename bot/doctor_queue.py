"""`familiar doctor` with REDIS_URL: the shared post-turn queue and the process roles alive.

Queue: how many jobs wait (and how many a worker holds), the oldest one's age, how many are
being retried, and the dead letters with their latest errors. Roles: the gateways and workers
whose heartbeat is fresh; jobs waiting with no worker alive is a problem to fix.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from bot.doctor_finding import Finding
from bot.stores import redis_client
from memory.base import DeadLetter
from memory.queue import QueueStats, RoleBeat
from memory.redis.history import RedisHistoryStore
from memory.redis.queue import RedisJobQueue
from memory.redis.roles import RedisHeartbeats
from memory.sqlite.db import Database
from memory.sqlite.outbox import SqliteOutbox

_TIMEOUT_S = 5.0


async def check_queue(redis_url: str, data_dir_db: Database) -> list[Finding]:
    client = redis_client(redis_url)
    try:
        async with asyncio.timeout(_TIMEOUT_S):
            history = RedisHistoryStore(client)
            queue = RedisJobQueue(
                client, history=history, tombstones=SqliteOutbox(data_dir_db, history=history)
            )
            await queue.start()
            stats, dead = await queue.stats(), await queue.dead_letters(limit=3)
            beats = await RedisHeartbeats(client).alive()
    except Exception as exc:  # unreachable, refused, timed out: the redis check says which
        return [Finding(ok=False, what="post-turn queue", fix=f"cannot read the queue on REDIS_URL: {exc}")]
    finally:
        await client.aclose()
    return [_queue_finding(stats, dead), *_role_findings(beats, stats)]


def _queue_finding(stats: QueueStats, dead: Sequence[DeadLetter]) -> Finding:
    oldest = "" if stats.oldest_age_s is None else f", oldest {stats.oldest_age_s:.0f} s"
    what = (
        f"post-turn queue: {stats.depth} waiting ({stats.leased} leased to workers){oldest},"
        f" {stats.retrying} retrying, {stats.dead_letters} dead letters"
    )
    if not dead:
        return Finding(ok=True, what=what)
    latest = "; ".join(f"{d.key} ({d.failed_at:%Y-%m-%d %H:%M}): {d.error[:160]}" for d in dead)
    return Finding(
        ok=False, what=what, fix=f"post-turn jobs failed for good (familiar:queue:dead); latest: {latest}"
    )


def _role_findings(beats: Sequence[RoleBeat], stats: QueueStats) -> list[Finding]:
    findings = []
    for role in ("gateway", "worker"):
        alive = [b for b in beats if b.role == role]
        shown = ", ".join(f"{b.name}{' ' + b.detail if b.detail else ''}" for b in alive) or "none running"
        what = f"{role} processes: {len(alive)} alive ({shown})"
        if role == "worker" and not alive and stats.depth:
            fix = "post-turn jobs wait and no worker is alive: start `familiar worker` (or `familiar run`)"
            findings.append(Finding(ok=False, what=what, fix=fix))
        else:
            findings.append(Finding(ok=True, what=what))
    return findings
