"""`familiar memory …`: maintenance of the stored memories (re-embedding after a model change,
moving a single-process install into the shared engines)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from bot.config import ConfigError, Settings, load_settings
from bot.move import MoveError, move
from bot.relational import postgres_database
from bot.stores import build_embedder, build_vectors
from memory.chroma import ChromaIndex
from memory.embeddings.base import Embedder
from memory.kb.store import SqliteKnowledgeBase
from memory.longterm.hybrid import HybridMemory
from memory.postgres.pool import PostgresDatabase
from memory.sqlite.db import Database

memory_app = typer.Typer(help="Maintain the stored memories.", no_args_is_help=True)


@memory_app.command()
def reindex() -> None:
    """Re-embed long-term memory and the knowledgebase with the configured embedding model.

    Run it after changing FAMILIAR_EMBEDDING__* : until then the bot refuses to start rather
    than compare vectors of two models. Safe to interrupt and run again.
    """
    try:
        settings = load_settings()
    except ConfigError as exc:
        Console(stderr=True).print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    items, entries = asyncio.run(_reindex(settings))
    Console().print(f"Re-embedded {items} memories and {entries} knowledgebase entries.")


async def _reindex(settings: Settings) -> tuple[int, int]:
    # With DATABASE_URL the item rows and the knowledgebase are in Postgres.
    db: Database | PostgresDatabase = postgres_database(settings) or Database(
        settings.data_dir / "familiar.db"
    )
    embedder = build_embedder(settings.embedding, settings.data_dir)
    await db.open()
    try:
        await embedder.start()
        vectors = build_vectors(settings, embedder)
        await vectors.start()
        try:
            return await _rebuild(db, embedder, vectors)
        finally:
            await vectors.close()
    finally:
        await embedder.close()
        await db.close()


async def _rebuild(
    db: Database | PostgresDatabase, embedder: Embedder, vectors: ChromaIndex
) -> tuple[int, int]:
    memory = HybridMemory(db=db, vectors=vectors, embedder=embedder)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task(f"re-embedding memories with {embedder.model_id}", total=None)
        items = await memory.reindex(lambda done, total: bar.update(task, completed=done, total=total))
    await memory.close()
    kb = SqliteKnowledgeBase(db, vectors=vectors, embedder=embedder)
    try:
        entries = await kb.reindex_vectors()
    finally:
        await kb.close()
    return items, entries


@memory_app.command("move")
def move_command(
    source: Annotated[Path, typer.Option("--from", help="the data directory of the install to move")],
) -> None:
    """Copy everything a single-process install remembers into DATABASE_URL's Postgres, REDIS_URL's
    Redis and CHROMA_URL's Chroma (set in the environment or .env, as the bot will run).

    Stop the bot first. Nothing is removed from the source; safe to interrupt and run again.
    """
    try:
        settings = load_settings()
        moved = asyncio.run(move(settings, source, _report(Console(stderr=True))))
    except (ConfigError, MoveError) as exc:
        Console(stderr=True).print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    total = ", ".join(f"{n} {part}" for part, n in moved.counts.items() if n)
    Console().print(f"Moved from {source}: {total or 'nothing (it was empty)'}.")


def _report(console: Console) -> Callable[[str, int], None]:
    def done(part: str, count: int) -> None:
        console.print(f"  {part}: {count}")

    return done
