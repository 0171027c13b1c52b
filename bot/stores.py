"""Builds the memory stores the settings ask for, opened in one exit stack (closed in reverse)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import urlparse

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from bot.config import EmbeddingSettings, Settings
from bot.relational import JournalBackend, hot_stores, learned_stores, open_postgres
from memory.base import EventDedup, HistoryStore, Outbox, RateLimiter, SessionLocks, Stores
from memory.chroma.index import ChromaIndex
from memory.embeddings.base import Embedder
from memory.embeddings.onnx import OnnxEmbedder
from memory.embeddings.openai_api import OpenAIEmbedder
from memory.journal_files import JournalFiles
from memory.kb.store import SqliteKnowledgeBase
from memory.longterm.hybrid import HybridMemory
from memory.postgres.pool import PostgresDatabase
from memory.redis.dedup import RedisEventDedup
from memory.redis.history import RedisHistoryStore
from memory.redis.limits import RedisRateLimiter
from memory.redis.lock import RedisSessionLocks
from memory.redis.queue import RedisJobQueue
from memory.sqlite.db import Database

_log = logging.getLogger(__name__)

REDIS_MAX_CONNECTIONS = 256


class _Startable(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenedStores:
    stores: Stores
    journal: JournalBackend  # also reads whole days for the reflection
    journal_files: JournalFiles
    kb: SqliteKnowledgeBase
    db: Database
    embedder: Embedder
    postgres: PostgresDatabase | None = None  # set with DATABASE_URL: every relational store is there
    redis: Redis | None = None  # the client the Redis stores share (REDIS_URL)
    queue: RedisJobQueue | None = None  # the shared post-turn queue (REDIS_URL): workers run it


_T = TypeVar("_T", bound=_Startable)
# Longer than any one add takes (embedding a batch, then three writes), short of a restart loop.
RECONCILE_SETTLE_S = 20.0


async def _started(stack: AsyncExitStack, thing: _T) -> _T:
    await thing.start()
    stack.push_async_callback(thing.close)
    return thing


def build_embedder(settings: EmbeddingSettings, data_dir: Path) -> OnnxEmbedder | OpenAIEmbedder:
    if settings.backend == "openai":
        return OpenAIEmbedder(
            model=settings.model,
            base_url=settings.base_url,
            api_key=settings.api_key.get_secret_value() if settings.api_key else None,
        )
    return OnnxEmbedder(model_dir=settings.model_dir, cache_dir=data_dir / "models")


def build_vectors(settings: Settings, embedder: Embedder) -> ChromaIndex:
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        return ChromaIndex(
            model_id=embedder.model_id,
            dim=embedder.dim,
            host=url.hostname or "127.0.0.1",
            port=url.port or 8000,
        )
    return ChromaIndex(model_id=embedder.model_id, dim=embedder.dim, path=settings.data_dir / "chroma")


async def open_stores(settings: Settings, stack: AsyncExitStack) -> OpenedStores:
    """Open every store; each one is registered for closing as soon as it is open."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.data_dir / "familiar.db")
    await db.open()
    stack.push_async_callback(db.close)

    pg = await open_postgres(settings, stack)
    redis = await _redis(settings, stack)
    history, dedup, limits, locks = await _hot_stores(settings, db, pg, stack, redis)
    embedder = await _started(stack, build_embedder(settings.embedding, settings.data_dir))
    vectors = await _started(stack, build_vectors(settings, embedder))
    # Item rows and the lexical index in Postgres with DATABASE_URL; the vectors stay in Chroma.
    memory = await _started(stack, HybridMemory(db=pg or db, vectors=vectors, embedder=embedder))
    # Before the engine resumes any add from the outbox: index entries a kill left without
    # their item row go, and the resumed add writes them again. With the shared queue, workers in
    # other processes may be mid-add right now: only what stays orphaned for a while goes, in the
    # background (an orphan costs a little space, never a wrong answer: search reads rows).
    if redis is None:
        await memory.reconcile()
    else:
        await _in_background(stack, memory.reconcile(settle_s=RECONCILE_SETTLE_S), "reconcile-memory")
    journal_files = JournalFiles(settings.data_dir)
    stack.push_async_callback(journal_files.close)
    learned = learned_stores(db, pg, history=history, files=journal_files)
    facts = await _started(stack, learned.facts)
    journal = await _started(stack, learned.journal)
    kb = await _started(stack, SqliteKnowledgeBase(pg or db, vectors=vectors, embedder=embedder))
    links = await _started(stack, learned.links)
    # The outbox lives in the primary store (SQLite or Postgres), even when history is in Redis.
    outbox = await _started(stack, learned.outbox)
    queue = await _queue(settings, redis, history, outbox, stack)
    stores = Stores(
        history=history,
        dedup=dedup,
        limits=limits,
        memory=memory,
        facts=facts,
        journal=journal,
        kb=kb,
        links=links,
        outbox=outbox if queue is None else queue,
        locks=locks,
    )
    return OpenedStores(
        stores=stores,
        journal=journal,
        journal_files=journal_files,
        kb=kb,
        db=db,
        embedder=embedder,
        postgres=pg,
        redis=redis,
        queue=queue,
    )


async def _in_background(stack: AsyncExitStack, work: Coroutine[Any, Any, object], name: str) -> None:
    """Start-up work that may wait: a named task, cancelled and awaited when `stack` closes; a
    failure is logged, never raised into whoever closes the stack."""

    async def guarded() -> None:
        try:
            await work
        except Exception:
            _log.exception("%s failed", name)

    task = asyncio.create_task(guarded(), name=name)

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    stack.push_async_callback(stop)


async def _redis(settings: Settings, stack: AsyncExitStack) -> Redis | None:
    if not settings.redis_url:
        return None
    client = redis_client(settings.redis_url)
    stack.push_async_callback(client.aclose)
    await client.ping()  # fail at start, with the URL's host named, not mid-turn
    _log.info("hot stores on redis at %s", urlparse(settings.redis_url).hostname)
    return client


async def _queue(
    settings: Settings,
    redis: Redis | None,
    history: HistoryStore,
    tombstones: Outbox,
    stack: AsyncExitStack,
) -> RedisJobQueue | None:
    if redis is None:
        return None
    queue = RedisJobQueue(redis, history=history, tombstones=tombstones, lease_s=settings.engine.jobs.lease_s)
    return await _started(stack, queue)


def redis_client(url: str) -> Redis:
    """A client that fails fast when Redis is away: redis-py's default of ten retries with
    back-off made every call of every message wait seconds on a stopped server. The engine
    treats a failure as an outage (answer without the store, logged once) instead."""
    # A blocking pool: redis-py's default pool (100 connections) raises MaxConnectionsError
    # when more commands are in flight, which 200 concurrent turns reached (each holds a session
    # lock's renewal besides its dedup, limits and queue calls); this one waits for a connection.
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=REDIS_MAX_CONNECTIONS,
        timeout=5.0,
        retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), retries=2),
        socket_connect_timeout=1.0,
        socket_timeout=5.0,
    )
    return Redis.from_pool(pool)


async def _hot_stores(
    settings: Settings, db: Database, pg: PostgresDatabase | None, stack: AsyncExitStack, client: Redis | None
) -> tuple[HistoryStore, EventDedup, RateLimiter, SessionLocks | None]:
    """History, dedup, rate limits (and cross-process session locks): Redis when REDIS_URL is set,
    else the relational store (Postgres with DATABASE_URL, else SQLite)."""
    if client is not None:
        return (
            await _started(stack, RedisHistoryStore(client)),
            await _started(stack, RedisEventDedup(client)),
            await _started(stack, RedisRateLimiter(client)),
            RedisSessionLocks(client),
        )
    hot = hot_stores(db, pg)
    return (
        await _started(stack, hot.history),
        await _started(stack, hot.dedup),
        await _started(stack, hot.limits),
        None,
    )
