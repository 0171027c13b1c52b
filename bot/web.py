"""The web server's parts, built by the composition root when `FAMILIAR_WEB__*` is set.

Built in two steps because the engine and the server need each other's pieces: the metrics (the
engine's turn observer) and the link book (the engine's `/memory web` links) exist before the
engine; the server, which reads the engine and the stores, starts after it, in the same exit
stack (so it stops taking requests before the engine and the stores close).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass

from bot.stores import OpenedStores
from bot.wiring import BuiltEngine
from memory.kb.chunking import DEFAULT_MAX_CHARS, chunk_document
from memory.kb.rows import validate_scope
from memory.postgres.directory import PostgresDirectory
from memory.records import KBEntry
from memory.sqlite.directory import SqliteDirectory
from web.auth import AdminAuth
from web.context import KBIngest, WebContext
from web.links import MemoryLinkBook
from web.metrics import Metrics
from web.server import WebServer
from web.settings import WebSettings


@dataclass(frozen=True, slots=True, kw_only=True)
class WebParts:
    settings: WebSettings
    metrics: Metrics
    links: MemoryLinkBook


def web_parts(settings: WebSettings | None) -> WebParts | None:
    if settings is None:
        return None
    return WebParts(
        settings=settings,
        metrics=Metrics(),
        links=MemoryLinkBook(ttl_s=settings.link_ttl_s, page_session_s=settings.page_session_s),
    )


class _EngineStatus:
    def __init__(self, built: BuiltEngine) -> None:
        self._engine = built.engine
        self.stats = built.engine.stats

    @property
    def active_sessions(self) -> int:
        return self._engine.active_sessions

    @property
    def queued_jobs(self) -> int:
        return self._engine.jobs.pending


def kb_ingest(opened: OpenedStores) -> KBIngest:
    """An uploaded file, chunked off the loop as `familiar kb ingest` chunks a file on disk."""

    async def ingest(filename: str, data: bytes, scope: str) -> int:
        validate_scope(scope)  # InvalidEntry is a ValueError: the page says what is wrong
        chunks = await asyncio.to_thread(chunk_document, filename, data, max_chars=DEFAULT_MAX_CHARS)
        if not chunks:
            raise ValueError("no text found")  # as `familiar kb ingest` reports an empty file
        entries = [
            KBEntry(
                id="", title=c.title, text=c.text, kind="retrieved", scope=scope, source=f"upload:{filename}"
            )
            for c in chunks
        ]
        return await opened.kb.add(entries)

    return ingest


async def start_web(
    parts: WebParts,
    opened: OpenedStores,
    built: BuiltEngine,
    adapters: Mapping[str, str],
    stack: AsyncExitStack,
) -> WebServer:
    password = parts.settings.admin_password
    auth = AdminAuth(
        password.get_secret_value() if password else None,
        attempts=parts.settings.login_attempts,
        window_s=parts.settings.login_window_s,
        session_s=parts.settings.admin_session_s,
    )
    status = _EngineStatus(built)
    parts.metrics.watch(status.stats, lambda: status.active_sessions)
    ctx = WebContext(
        settings=parts.settings,
        engine=built.engine,
        status=status,
        engine_settings=built.engine.settings,
        stores=opened.stores,
        directory=PostgresDirectory(opened.postgres) if opened.postgres else SqliteDirectory(opened.db),
        catalog=built.catalog,
        bindings=built.bindings,
        ingest=kb_ingest(opened),
        auth=auth,
        links=parts.links,
        metrics=parts.metrics,
        adapters=adapters,
    )
    server = WebServer(ctx)
    await server.start()
    stack.push_async_callback(server.close)
    return server
