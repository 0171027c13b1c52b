"""Process roles: what one `familiar` process runs, and the heartbeat that says it is alive.

    all      the default single process: gateways, post-turn learning, the journal scheduler
    gateway  `familiar run --role gateway`: adapters only; post-turn jobs go to the shared queue
    worker   `familiar worker`: post-turn learning from the shared queue and the journal scheduler

Splitting needs the shared queue (REDIS_URL): without it a gateway's jobs would wait for a worker
that cannot see them. With Redis, every process beats `familiar:role:<role>:<host:pid>` so
`familiar doctor` can say which roles are alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from typing import Literal

from memory.redis.roles import RedisHeartbeats
from persona.tasks import stop

_log = logging.getLogger(__name__)

Role = Literal["all", "gateway", "worker"]
BEAT_EVERY_S = 5.0
BEAT_TTL_S = 15.0  # a process silent this long is shown as gone


class RoleError(Exception):
    """A role this configuration cannot run (the message says what to set)."""


def process_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def runs_gateways(role: Role) -> bool:
    return role in ("all", "gateway")


def runs_worker(role: Role) -> bool:
    return role in ("all", "worker")


def check_role(role: Role, redis_url: str | None) -> None:
    if role != "all" and not redis_url:
        raise RoleError(
            f"the {role} role shares post-turn work with other processes through Redis: set REDIS_URL"
            " (or run `familiar run` alone, which does both)"
        )


class Heartbeat:
    """One named task that refreshes this process's role keys until `close()`."""

    def __init__(self, beats: RedisHeartbeats, roles: list[str], detail: str) -> None:
        self._beats = beats
        self._roles = roles
        self._detail = detail
        self._name = process_name()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._beat()
        self._task = asyncio.create_task(self._run(), name="role-heartbeat")

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        await stop(task)
        with contextlib.suppress(Exception):  # Redis away: the keys expire by themselves
            for role in self._roles:
                await self._beats.gone(role, self._name)

    async def _run(self) -> None:
        while self._task is not None:  # besides the cancellation: see `persona.tasks`
            await asyncio.sleep(BEAT_EVERY_S)
            try:
                await self._beat()
            except Exception:  # Redis away: doctor shows the role gone, the process goes on
                _log.warning("could not refresh the role heartbeat", exc_info=True)

    async def _beat(self) -> None:
        for role in self._roles:
            await self._beats.beat(role, self._name, self._detail, BEAT_TTL_S)
