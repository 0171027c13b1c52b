"""A real `redis-server` child process on a free loopback port, for tests and benchmarks.

The fixtures are registered once in tests/conftest.py (pytest_plugins), so one server serves
the whole session::

    async def test_x(redis_client: Redis) -> None:      # a fresh (FLUSHDB'd) database
        ...

`redis_server` is session-scoped and yields the URL ("redis://127.0.0.1:P/0"); tests that
use it are skipped, with the reason, only when the redis-server binary is missing
(`REDIS_SERVER_BIN` overrides where it is looked for).

Outside pytest (bench/)::

    async with RedisServer() as server:
        client = Redis.from_url(server.url)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import socket
from collections.abc import AsyncIterator
from types import TracebackType

import pytest_asyncio
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.support import missing_component

_log = logging.getLogger(__name__)

_START_ATTEMPTS = 3
_READY_TIMEOUT_S = 10.0


def redis_binary() -> str | None:
    return shutil.which(os.environ.get("REDIS_SERVER_BIN", "redis-server"))


def free_port() -> int:
    """A port the kernel just handed out; redis-server has no `--port 0`."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """Starts `redis-server` (no persistence) on a free port; `close()` stops it (idempotent)."""

    def __init__(self, binary: str | None = None) -> None:
        self._binary = binary or redis_binary()
        self._process: asyncio.subprocess.Process | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self, *, port: int | None = None) -> None:
        """Start on a free port, or on `port` (a restart where clients still point)."""
        if self._binary is None:
            raise FileNotFoundError("redis-server not found (install it: apt-get install redis-server)")
        # Another process may take the port between our probe and redis binding it: retry.
        for attempt in range(1, _START_ATTEMPTS + 1):
            self.port = port or free_port()
            self._process = await asyncio.create_subprocess_exec(
                self._binary,
                *("--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"),
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            if await self._wait_ready():
                _log.info("redis-server ready on port %s", self.port)
                return
            _log.warning("redis-server did not start on port %s (attempt %s)", self.port, attempt)
            await self.close()
        raise RuntimeError(f"redis-server failed to start after {_START_ATTEMPTS} attempts")

    async def _wait_ready(self) -> bool:
        """PING until it answers; False if the process exited (port taken) or it never answered."""
        client = Redis.from_url(self.url)
        try:
            async with asyncio.timeout(_READY_TIMEOUT_S):
                while self._process is not None and self._process.returncode is None:
                    with contextlib.suppress(RedisConnectionError):
                        if await client.ping():
                            return True
                    await asyncio.sleep(0.01)
        except TimeoutError:
            return False
        finally:
            await client.aclose()
        return False

    async def close(self) -> None:
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            async with asyncio.timeout(5.0):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()

    async def __aenter__(self) -> RedisServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def redis_server() -> AsyncIterator[str]:
    """One real redis-server for the whole session; yields its URL."""
    if redis_binary() is None:
        missing_component("redis-server binary not found on PATH (apt-get install redis-server)")
    async with RedisServer() as server:
        yield server.url


@pytest_asyncio.fixture
async def redis_client(redis_server: str) -> AsyncIterator[Redis]:
    """A client on an empty database (FLUSHDB before the test), closed after it."""
    client = Redis.from_url(redis_server)
    await client.flushdb()
    try:
        yield client
    finally:
        await client.aclose()
