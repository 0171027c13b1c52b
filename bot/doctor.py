"""`familiar doctor`: check each configured provider, store and platform; say exactly what to fix."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack

import asyncpg
from redis.asyncio import Redis
from rich.console import Console

from adapters.discord.doctor import check_discord
from adapters.matrix.doctor import check_matrix
from bot.config import Settings
from bot.doctor_finding import Finding
from bot.doctor_postgres import postgres_problem, version_problem
from bot.doctor_queue import check_queue
from bot.stores import build_embedder
from bot.wiring import provider_configs, provider_is_configured
from memory.base import DeadLetter
from memory.postgres.history import PostgresHistoryStore
from memory.postgres.outbox import PostgresOutbox
from memory.postgres.pool import PoolSize, PostgresDatabase
from memory.sqlite.db import Database
from memory.sqlite.history import SqliteHistoryStore
from memory.sqlite.outbox import SqliteOutbox
from persona.personas import load_catalog
from persona.providers.config import ProviderConfig, ProviderRegistry
from persona.providers.probe import probe

Check = Callable[[Settings], Awaitable[list[Finding]]]


async def check_providers(settings: Settings) -> list[Finding]:
    extra = [settings.persona_dir] if settings.persona_dir else []
    try:
        catalog = await load_catalog(extra, default=settings.persona)
    except ValueError as exc:  # PersonaFileError names the file and the key
        return [Finding(ok=False, what="personas", fix=str(exc))]
    configs = {c.name: c for c in provider_configs(settings)}
    used = {(spec.provider, spec.model) for spec in catalog.as_mapping().values()}
    used |= {(ref.provider, ref.model) for spec in catalog.as_mapping().values() for ref in spec.fallbacks}
    findings: list[Finding] = []
    registry = ProviderRegistry(list(configs.values()))
    await registry.start()
    try:
        for provider_name, model in sorted(used):
            findings.append(await _check_model(registry, configs, provider_name, model))
    finally:
        await registry.close()
    return findings


async def _check_model(
    registry: ProviderRegistry, configs: dict[str, ProviderConfig], provider_name: str, model: str
) -> Finding:
    what = f"provider {provider_name} / model {model}"
    config = configs.get(provider_name)
    if config is None:
        return Finding(ok=False, what=what, fix=f"no provider named {provider_name!r} is configured")
    if not provider_is_configured(config):
        env = "ANTHROPIC_API_KEY" if provider_name == "anthropic" else "OPENAI_API_KEY (or OPENAI_BASE_URL)"
        return Finding(ok=False, what=what, fix=f"set {env} in .env or the environment")
    problem = await probe(registry.get(provider_name), model)
    return Finding(ok=problem is None, what=what, fix=problem or "")


async def check_stores(settings: Settings) -> list[Finding]:
    findings = [await _check_sqlite(settings)]
    if settings.redis_url:
        findings.append(await _check_redis(settings.redis_url))
        findings += await _check_shared_queue(settings, settings.redis_url)
    else:
        findings.append(await check_post_turn_work(settings))
    if settings.database_url:
        findings.append(await check_postgres(settings.database_url))
    findings.append(await _check_embedder(settings))
    return findings


async def _check_sqlite(settings: Settings) -> Finding:
    what = f"data directory {settings.data_dir}"
    try:
        db = Database(settings.data_dir / "familiar.db")
        await db.open()
        await db.fetchone("SELECT 1")
        await db.close()
    except OSError as exc:
        return Finding(ok=False, what=what, fix=f"cannot open the database: {exc}; check FAMILIAR_DATA_DIR")
    return Finding(ok=True, what=what)


async def check_post_turn_work(settings: Settings) -> Finding:
    """Jobs waiting in the outbox, and the dead letters: post-turn work that kept failing."""
    if settings.database_url:
        return await postgres_post_turn_work(settings.database_url)
    db = Database(settings.data_dir / "familiar.db")
    try:
        await db.open()
        outbox = SqliteOutbox(db, history=SqliteHistoryStore(db))
        await outbox.start()
        pending, dead = len(await outbox.pending()), await outbox.dead_letters(limit=3)
    except (OSError, sqlite3.Error) as exc:
        return Finding(ok=False, what="post-turn work", fix=f"cannot read the outbox: {exc}")
    finally:
        await db.close()
    return outbox_finding(pending, dead, where="familiar.db")


def outbox_finding(pending: int, dead: list[DeadLetter], *, where: str) -> Finding:
    what = f"post-turn work: {pending} waiting in the outbox"
    if not dead:
        return Finding(ok=True, what=what)
    latest = "; ".join(f"{d.key} ({d.failed_at:%Y-%m-%d %H:%M}): {d.error[:160]}" for d in dead)
    fix = f"post-turn jobs failed for good (table dead_letters in {where}); latest: {latest}"
    return Finding(ok=False, what=f"{what}, dead letters", fix=fix)


async def postgres_post_turn_work(url: str) -> Finding:
    """The outbox in Postgres, read without migrating (a schema not yet current is reported by
    the Postgres check, not here)."""
    version, unreachable = await postgres_problem(url)
    if unreachable is not None or version is None or version_problem(version) is not None:
        return Finding(ok=False, what="post-turn work", fix="cannot read the outbox: see the postgres check")
    db = PostgresDatabase(url, size=PoolSize(min_size=1, max_size=1), migrate=False)
    try:
        await db.open()
        outbox = PostgresOutbox(db, history=PostgresHistoryStore(db))
        pending, dead = len(await outbox.pending()), await outbox.dead_letters(limit=3)
    except (OSError, asyncpg.PostgresError) as exc:
        return Finding(ok=False, what="post-turn work", fix=f"cannot read the outbox: {exc}")
    finally:
        await db.close()
    return outbox_finding(pending, dead, where="postgres")


async def _check_shared_queue(settings: Settings, redis_url: str) -> list[Finding]:
    """With Redis the post-turn jobs wait there; the forget tombstones stay in familiar.db."""
    db = Database(settings.data_dir / "familiar.db")
    try:
        await db.open()
        return await check_queue(redis_url, db)
    except (OSError, sqlite3.Error) as exc:
        return [Finding(ok=False, what="post-turn queue", fix=f"cannot open the database: {exc}")]
    finally:
        await db.close()


async def _check_redis(url: str) -> Finding:
    client = Redis.from_url(url)
    try:
        async with asyncio.timeout(3):
            await client.ping()
    except (OSError, TimeoutError) as exc:
        return Finding(
            ok=False, what="redis", fix=f"REDIS_URL does not answer ({exc}); start redis or unset it"
        )
    except Exception as exc:  # redis' own errors (auth, protocol) have no common base with OSError
        return Finding(ok=False, what="redis", fix=f"REDIS_URL refused the connection: {exc}")
    finally:
        await client.aclose()
    return Finding(ok=True, what="redis")


async def check_postgres(url: str) -> Finding:
    version, unreachable = await postgres_problem(url)
    if unreachable is not None or version is None:
        return Finding(ok=False, what="postgres", fix=unreachable or "")
    problem = version_problem(version)
    if problem is not None:
        return Finding(ok=False, what=f"postgres (schema version {version})", fix=problem)
    return Finding(ok=True, what=f"postgres (schema version {version}, current)")


async def _check_embedder(settings: Settings) -> Finding:
    async with AsyncExitStack() as stack:
        embedder = build_embedder(settings.embedding, settings.data_dir)
        stack.push_async_callback(embedder.close)
        try:
            await embedder.start()
            vectors = await embedder.embed(["hello"])
        except Exception as exc:  # any failure here is reported, with its message, as what to fix
            return Finding(ok=False, what="embedding model", fix=f"{exc}; see FAMILIAR_EMBEDDING__*")
    return Finding(ok=True, what=f"embedding model {embedder.model_id} ({len(vectors[0])} dims)")


def _platform_finding(platform: str, ok: bool, text: str) -> Finding:
    return Finding(ok=True, what=f"{platform}: {text}") if ok else Finding(ok=False, what=platform, fix=text)


async def check_platforms(settings: Settings) -> list[Finding]:
    findings: list[Finding] = []
    discord = settings.discord_settings()
    if discord is not None:
        findings += [_platform_finding("discord", c.ok, c.message) for c in await check_discord(discord)]
    matrix = settings.matrix_settings()
    if matrix is not None:
        found = await check_matrix(matrix, settings.data_dir)
        findings += [_platform_finding("matrix", f.level != "error", f.text) for f in found]
    return findings


async def run_doctor(settings: Settings, console: Console) -> int:
    failed = 0
    for title, check in (
        ("Providers", check_providers),
        ("Stores", check_stores),
        ("Platforms", check_platforms),
    ):
        console.print(f"[bold]{title}[/]")
        findings = await check(settings)
        if not findings:
            console.print("  [dim]none configured[/]")
        for finding in findings:
            failed += not finding.ok
            mark = "[green]ok[/]  " if finding.ok else "[red]FAIL[/]"
            console.print(
                f"  {mark} {finding.what}" + (f"\n        fix: {finding.fix}" if finding.fix else "")
            )
    console.print("[green]All good.[/]" if not failed else f"[red]{failed} problem(s) to fix.[/]")
    return 1 if failed else 0
