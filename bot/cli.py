"""`familiar`: chat, run, doctor, journal, kb, personas."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Coroutine
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markdown import Markdown

from adapters.base import Adapter
from adapters.terminal import TerminalAdapter
from bot.adapters import server_adapters, speech_transcriber
from bot.app import AdapterFailed, App
from bot.config import ConfigError, Settings, load_settings
from bot.doctor import run_doctor
from bot.kb_cli import kb_app, set_kb_opener
from bot.logs import configure_logging
from bot.memory_cli import memory_app
from bot.onboarding import default_provider_missing, show_setup_screen
from bot.roles import Role, RoleError
from bot.stores import open_stores
from memory.base import KnowledgeBase
from memory.embeddings.base import EmbeddingMismatchError
from memory.journal_files import JournalFiles

app = typer.Typer(
    help="Familiar: a persona with a real memory, on Discord, Matrix and in your terminal.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(kb_app, name="kb")
app.add_typer(memory_app, name="memory")
_console = Console(stderr=True)

PersonaOption = Annotated[str | None, typer.Option("--persona", "-p", help="persona name to talk to")]


def _settings(**overrides: Any) -> Settings:
    try:
        settings = load_settings(**{k: v for k, v in overrides.items() if v is not None})
        # Platform settings assembled from MATRIX_* / DISCORD_TOKEN are checked now, not mid-start.
        settings.discord_settings()
        settings.matrix_settings()
    except ConfigError as exc:
        _console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    return settings


def _run(coro: Coroutine[Any, Any, int]) -> None:
    try:
        code = asyncio.run(coro)
    except KeyboardInterrupt:
        code = 130
    except asyncio.CancelledError:  # SIGTERM cancels the main task (bot.app); everything was closed
        code = 143
    except EmbeddingMismatchError as exc:  # stored vectors of another model: say how to fix it
        _console.print(f"[red]{exc}[/]")
        code = 2
    raise typer.Exit(code)


@app.command()
def chat(persona: PersonaOption = None) -> None:
    """Talk with the persona in this terminal (scriptable: one message per line on stdin)."""
    settings = _settings(persona=persona)
    configure_logging(settings.log_level, file=settings.data_dir / "logs" / "familiar.log")
    _run(_chat(settings))


async def _chat(settings: Settings) -> int:
    async with App(settings) as application:
        default = application.built.catalog.get(None)
        if sys.stdin.isatty() and default_provider_missing(settings, default.provider):
            show_setup_screen(Console())
        terminal = TerminalAdapter(
            application.built.engine, settings.terminal, export_dir=settings.data_dir / "exports"
        )
        await application.run([terminal])
    return 0


@app.command()
def run(
    terminal: Annotated[bool, typer.Option(help="also chat in this terminal")] = False,
    role: Annotated[
        str,
        typer.Option(
            help="all: gateways and learning (default); gateway: adapters only, learning in `familiar worker`"
        ),
    ] = "all",
    shard_ids: Annotated[
        str | None, typer.Option(help="Discord shards this process runs, e.g. 0,1 (the others run elsewhere)")
    ] = None,
    shard_count: Annotated[
        int | None, typer.Option(help="Discord shards in all, across every process")
    ] = None,
) -> None:
    """Start every configured adapter (Discord, Matrix; the terminal when nothing else is configured)."""
    settings = _with_shards(_settings(), shard_ids, shard_count)
    configure_logging(settings.log_level)
    _run(_serve(settings, terminal=terminal, role=_role(role, ("all", "gateway"))))


@app.command()
def worker() -> None:
    """Run post-turn learning from the shared queue and the journal scheduler (needs REDIS_URL)."""
    settings = _settings()
    configure_logging(settings.log_level)
    _run(_work(settings))


async def _work(settings: Settings) -> int:
    async with _opened_app(settings, "worker", "") as application:
        _console.print("familiar worker: learning from the shared queue")
        await application.wait_stopped()
    return 0


def _role(value: str, allowed: tuple[Role, ...]) -> Role:
    for role in allowed:
        if value == role:
            return role
    _console.print(f"[red]--role must be one of {', '.join(allowed)} (got {value!r})[/]")
    raise typer.Exit(2)


def _with_shards(settings: Settings, shard_ids: str | None, shard_count: int | None) -> Settings:
    """`--shard-ids` / `--shard-count` override the discord section's shard settings."""
    if shard_ids is None and shard_count is None:
        return settings
    try:
        ids = [int(part) for part in shard_ids.split(",")] if shard_ids else None
    except ValueError:
        ids = []
    if shard_count is None or shard_count < 1 or not ids or any(not 0 <= i < shard_count for i in ids):
        _console.print(
            "[red]--shard-ids needs --shard-count, and each id in 0..count-1"
            " (e.g. --shard-ids 0,1 --shard-count 4)[/]"
        )
        raise typer.Exit(2)
    section = {**(settings.discord or {}), "shard_ids": ids, "shard_count": shard_count}
    return settings.model_copy(update={"discord": section})


@asynccontextmanager
async def _opened_app(settings: Settings, role: Role, detail: str) -> AsyncIterator[App]:
    try:
        application = App(settings, role=role, detail=detail)
    except RoleError as exc:
        _console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    async with application:
        yield application


def _shard_detail(settings: Settings) -> str:
    discord = settings.discord or {}
    if discord.get("shard_ids") is None:
        return ""
    return f"discord shards {','.join(map(str, discord['shard_ids']))} of {discord['shard_count']}"


async def _serve(settings: Settings, *, terminal: bool, role: Role = "all") -> int:
    # The transcriber's stack closes it after the adapters stopped, before the engine's stores close.
    async with (
        _opened_app(settings, role, _shard_detail(settings)) as application,
        AsyncExitStack() as speech_stack,
    ):
        engine = application.built.engine
        transcriber = speech_transcriber(settings)
        if transcriber is not None:
            speech_stack.push_async_callback(transcriber.close)
        voice = application.assistant.voice_replies
        adapters: list[Adapter] = list(
            server_adapters(settings, engine, transcriber=transcriber, voice=voice)
        )
        if terminal or not adapters:
            if not adapters:
                _console.print("No Discord or Matrix settings found: starting the terminal chat.")
            adapters.append(
                TerminalAdapter(engine, settings.terminal, export_dir=settings.data_dir / "exports")
            )
        try:
            await application.run(adapters)
        except AdapterFailed as exc:
            _console.print(f"[red]{exc}[/]")
            return 1
    return 0


@app.command()
def doctor() -> None:
    """Check the configuration and reach every configured provider, store and platform."""
    settings = _settings()
    configure_logging("WARNING")
    _run(run_doctor(settings, Console()))


@app.command()
def journal(
    day: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default: today)")] = None,
    persona: PersonaOption = None,
) -> None:
    """Print the persona's journal for one day (the owner's Markdown files in the data directory)."""
    settings = _settings()
    _run(_journal(settings, day or datetime.now(UTC).date().isoformat(), persona or settings.persona))


async def _journal(settings: Settings, day: str, persona: str) -> int:
    files = JournalFiles(settings.data_dir)
    text = await files.read(persona, day)
    console = Console()
    if not text.strip():
        console.print(f"No journal entries for {persona} on {day}.")
        return 0
    console.print(Markdown(text))
    return 0


@app.command()
def personas() -> None:
    """List the personas available (shipped and from FAMILIAR_PERSONA_DIR)."""
    settings = _settings()

    async def _list() -> int:
        from persona.personas import load_catalog

        extra = [settings.persona_dir] if settings.persona_dir else []
        catalog = await load_catalog(extra, default=settings.persona)
        for name in catalog.names():
            spec = catalog.get(name)
            marker = "*" if name == catalog.default else " "
            Console().print(f"{marker} {name}  ({spec.provider}/{spec.model})")
        return 0

    _run(_list())


def _kb_opener_for(settings: Settings) -> Any:
    @asynccontextmanager
    async def open_kb() -> AsyncIterator[KnowledgeBase]:
        async with AsyncExitStack() as stack:
            opened = await open_stores(settings, stack)
            yield opened.kb

    return open_kb


@app.callback()
def _main(ctx: typer.Context) -> None:
    # The kb commands open only the stores, lazily, with the settings read once here.
    if ctx.invoked_subcommand == "kb":
        settings = _settings()
        configure_logging("WARNING")
        set_kb_opener(_kb_opener_for(settings))


def main() -> None:
    app()
