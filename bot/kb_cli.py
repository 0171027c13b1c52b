"""`familiar kb …`: ingest documents and manage knowledgebase entries.

The commands need an opened knowledgebase. The composition root registers how to open one with
`set_kb_opener(fn)`, where `fn()` returns an async context manager yielding a KnowledgeBase (and
closing whatever it opened). Nothing is opened at import time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from memory.base import KnowledgeBase
from memory.kb.ingest import IngestProgress, IngestReport, ingest_paths
from memory.kb.rows import InvalidEntry, validate_scope
from memory.records import KBEntry, KBKind

KBOpener = Callable[[], AbstractAsyncContextManager[KnowledgeBase]]
_T = TypeVar("_T")

kb_app = typer.Typer(help="Manage the knowledgebase (lore, documents).", no_args_is_help=True)
_opener: KBOpener | None = None

ScopeOption = Annotated[str, typer.Option("--scope", help="global, persona:<name> or room:<platform>:<room>")]
KindOption = Annotated[str, typer.Option("--kind", help="constant, triggered or retrieved")]


def set_kb_opener(fn: KBOpener | None) -> None:
    """Register (or clear, with None) how the commands open the knowledgebase."""
    global _opener  # noqa: PLW0603 - one registration slot, set by the composition root
    _opener = fn


def _run(use: Callable[[KnowledgeBase], Awaitable[_T]]) -> _T:
    opener = _opener
    if opener is None:
        _err().print("[red]No knowledgebase is configured (set_kb_opener was not called).[/red]")
        raise typer.Exit(2)

    async def main() -> _T:
        async with opener() as kb:
            return await use(kb)

    try:
        return asyncio.run(main())
    except ValueError as exc:  # bad scope, kind, key or regex: the message says which
        _err().print(f"[red]Error:[/red] {exc}")
        raise typer.Exit(2) from None


def _check_kind(kind: str) -> KBKind:
    if kind not in ("constant", "triggered", "retrieved"):
        raise typer.BadParameter("use constant, triggered or retrieved", param_hint="--kind")
    return kind  # type: ignore[return-value]  # narrowed by the check above


@kb_app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or directories (Markdown, text, HTML, PDF)")],
    scope: ScopeOption = "global",
    kind: KindOption = "retrieved",
) -> None:
    """Ingest documents; unchanged files are skipped, unreadable ones reported."""
    checked = _check_kind(kind)

    async def use(kb: KnowledgeBase) -> IngestReport:
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=_out()
        ) as bar:
            task = bar.add_task("ingesting", total=None)

            def on_progress(step: IngestProgress) -> None:
                bar.update(task, total=step.total, completed=step.done, description=Path(step.path).name)

            return await ingest_paths(kb, paths, scope=scope, kind=checked, progress=on_progress)

    report = _run(use)
    _out().print(
        f"{report.files} files: {report.changed_files} changed, {report.unchanged_files} unchanged, "
        f"{len(report.failed)} failed; {report.chunks_changed} chunks added or retired"
    )
    for failure in report.failed:
        _err().print(f"[yellow]skipped[/yellow] {failure.path}: {failure.reason}")
    if report.failed:
        raise typer.Exit(1)


@kb_app.command()
def add(
    text: Annotated[str, typer.Argument(help="The entry's text")],
    *,
    title: Annotated[str, typer.Option("--title")] = "",
    kind: KindOption = "constant",
    keys: Annotated[str, typer.Option("--keys", help="Comma-separated keywords; /regex/ for a regex")] = "",
    scope: ScopeOption = "global",
    priority: Annotated[int, typer.Option("--priority")] = 0,
) -> None:
    """Add one entry by hand."""
    entry = KBEntry(
        id="",
        title=title,
        text=text,
        kind=_check_kind(kind),
        scope=scope,
        keys=tuple(key.strip() for key in keys.split(",") if key.strip()),
        priority=priority,
        source="manual",
    )

    async def use(kb: KnowledgeBase) -> list[KBEntry]:
        await kb.add([entry])
        return [e for e in await kb.list([scope]) if e.source == "manual" and e.text == text]

    stored = _run(use)
    _out().print(f"added {stored[0].id}" if stored else "added")


@kb_app.command("list")
def list_entries(
    scope: Annotated[list[str] | None, typer.Option("--scope", help="Only these scopes (repeatable)")] = None,
) -> None:
    """List entries (all scopes unless --scope is given)."""

    scopes = _check_scopes(scope)

    async def use(kb: KnowledgeBase) -> list[KBEntry]:
        return await kb.list(scopes)

    _print_entries(_run(use))


@kb_app.command()
def rm(entry_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Remove one entry by id."""

    async def use(kb: KnowledgeBase) -> bool:
        return await kb.remove(entry_id)

    if not _run(use):
        _err().print(f"[red]No entry {entry_id}[/red]")
        raise typer.Exit(1)
    _out().print(f"removed {entry_id}")


@kb_app.command()
def search(
    query: Annotated[str, typer.Argument(help="Text to match (also used as the recent messages)")],
    scope: Annotated[list[str] | None, typer.Option("--scope", help="Scopes (repeatable)")] = None,
    budget: Annotated[int, typer.Option("--budget", help="Token budget")] = 2000,
) -> None:
    """Show what a turn with this text would get from the knowledgebase, best first."""
    scopes = _check_scopes(scope) or ["global"]

    async def use(kb: KnowledgeBase) -> list[KBEntry]:
        return await kb.select(query=query, recent_text=query, scopes=scopes, token_budget=budget)

    _print_entries(_run(use))


def _out() -> Console:
    # Made per call (not at import) so the terminal's current width and the test runner's stdout apply.
    return Console()


def _err() -> Console:
    return Console(stderr=True)


def _check_scopes(scopes: list[str] | None) -> list[str] | None:
    try:
        return [validate_scope(scope) for scope in scopes] if scopes else None
    except InvalidEntry as exc:
        raise typer.BadParameter(str(exc), param_hint="--scope") from None


def _print_entries(entries: list[KBEntry]) -> None:
    if not entries:
        _out().print("no entries")
        return
    table = Table(expand=True)
    table.add_column("id", no_wrap=True, min_width=23)
    for name in ("kind", "scope"):
        table.add_column(name, no_wrap=True)
    table.add_column("title", ratio=2, overflow="fold")
    table.add_column("keys", ratio=1, min_width=4, overflow="fold")
    table.add_column("text", ratio=3, no_wrap=True, overflow="ellipsis")
    for entry in entries:
        one_line = " ".join(entry.text.split())
        table.add_row(entry.id, entry.kind, entry.scope, entry.title, ", ".join(entry.keys), one_line)
    _out().print(table)
