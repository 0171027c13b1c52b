"""A real Postgres server (initdb + pg_ctl) in a temporary directory on a free loopback port.

The fixtures are registered once in tests/conftest.py (pytest_plugins)::

    async def test_x(pg_db: PostgresDatabase) -> None:   # a fresh, migrated database
        ...

`postgres_server` is session-scoped (one server for the run; each test gets its own database,
created from the server's template in well under a second); `postgres_url` is a fresh, empty
database's URL. Postgres refuses to run as root, so as root the binaries run as the `postgres`
user (`runuser -u postgres --`) in a directory that user owns. The binaries are found with
`pg_config --bindir`, else in /usr/lib/postgresql/<newest>/bin (Debian keeps them off PATH);
`POSTGRES_BIN_DIR` overrides. Without them the tests skip, with the reason (CI fails instead).

Outside pytest (bench/)::

    async with PostgresServer() as server:
        url = await server.create_database("bench")
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from types import TracebackType

import asyncpg
import pytest_asyncio

from memory.postgres.pool import PostgresDatabase
from tests.support import missing_component
from tests.support.redis_server import free_port

_log = logging.getLogger(__name__)

_SERVER_OPTIONS = (
    # A throwaway test server: durability buys nothing here and costs every commit a flush.
    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
)


def postgres_bindir() -> Path | None:
    """Where initdb and pg_ctl are: POSTGRES_BIN_DIR, `pg_config --bindir`, or Debian's newest."""
    candidates: list[Path] = []
    if override := os.environ.get("POSTGRES_BIN_DIR"):
        candidates.append(Path(override))
    if pg_config := shutil.which("pg_config"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            found = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=10
            )
            candidates.append(Path(found.stdout.strip()))
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: _version(p.parent.name))
    candidates.extend(reversed(versions))
    return next((c for c in candidates if (c / "initdb").exists() and (c / "pg_ctl").exists()), None)


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


class PostgresServer:
    """A private cluster; `close()` stops it and removes its directory (idempotent)."""

    def __init__(self, bindir: Path | None = None) -> None:
        self._bindir = bindir or postgres_bindir()
        self._root: Path | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return self.url_of("postgres")

    def url_of(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    async def start(self) -> None:
        if self._bindir is None:
            raise FileNotFoundError("Postgres binaries not found (install them: apt-get install postgresql)")
        self._root = Path(tempfile.mkdtemp(prefix="familiar-pg-"))
        self._own(self._root)
        await self._run(
            "initdb", "-D", str(self._data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"
        )
        self.port = free_port()
        options = f"-p {self.port} -h 127.0.0.1 -k {self._root} {_SERVER_OPTIONS}"
        log = self._root / "server.log"
        await self._run(
            "pg_ctl", "start", "-w", "-t", "60", "-D", str(self._data), "-l", str(log), "-o", options
        )
        _log.info("postgres ready on port %s", self.port)

    @property
    def _data(self) -> Path:
        assert self._root is not None
        return self._root / "data"

    @staticmethod
    def _own(path: Path) -> None:
        """As root, the cluster runs as `postgres`, which must own its directory."""
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(path, user.pw_uid, user.pw_gid)

    async def _run(self, tool: str, *args: str) -> None:
        assert self._bindir is not None
        command = [str(self._bindir / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        process = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd="/"
        )
        output, _ = await process.communicate()
        if process.returncode != 0:
            raise RuntimeError(
                f"{tool} failed ({process.returncode}): {output.decode(errors='replace')[-2000:]}"
            )

    async def create_database(self, prefix: str = "t") -> str:
        """A new empty database; returns its URL."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        conn = await asyncpg.connect(self.url)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return self.url_of(name)

    async def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[-1]
        conn = await asyncpg.connect(self.url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    async def close(self) -> None:
        root, self._root = self._root, None
        if root is None:
            return
        with contextlib.suppress(RuntimeError):
            await self._run("pg_ctl", "stop", "-m", "fast", "-w", "-D", str(root / "data"))
        shutil.rmtree(root, ignore_errors=True)

    async def __aenter__(self) -> PostgresServer:
        try:
            await self.start()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def postgres_server() -> AsyncIterator[PostgresServer]:
    """One real Postgres server for the whole session."""
    if postgres_bindir() is None:
        missing_component("Postgres binaries not found (apt-get install postgresql)")
    async with PostgresServer() as server:
        yield server


@pytest_asyncio.fixture
async def postgres_url(postgres_server: PostgresServer) -> AsyncIterator[str]:
    """A fresh, empty database for one test (dropped after it)."""
    url = await postgres_server.create_database()
    yield url
    await postgres_server.drop_database(url)


@pytest_asyncio.fixture
async def pg_db(postgres_url: str) -> AsyncIterator[PostgresDatabase]:
    """An open pool on a fresh database, migrated; closed after the test."""
    database = PostgresDatabase(postgres_url)
    await database.open()
    yield database
    await database.close()
