"""A terminal conversation with the persona.

Interactive (stdin is a terminal): tokens stream as Markdown, commands start with `/`.
Scripted (stdin is a pipe or file): one message per line in, one plain-text reply per message
out, strictly in order, so `familiar chat < questions.txt` is predictable.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import os
import stat
import sys
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import suppress
from pathlib import Path
from typing import BinaryIO, TextIO

from rich.console import Console
from rich.live import Live
from rich.markdown import Markdown
from rich.status import Status

from adapters.terminal.commands import HELP_TEXT, parse_command
from adapters.terminal.settings import TerminalSettings
from persona.api import Command, CommandResult, Engine
from persona.inbound import clean_text, normalise
from persona.outbound import DeliveryError, OutboundMessage
from persona.types import IncomingMessage, Reply, TurnOutcome

_log = logging.getLogger(__name__)

PLATFORM = "terminal"
_LINE_LIMIT = 1 << 20  # bytes of one input line


class _RichSink:
    """Spinner while thinking, live Markdown while streaming, final Markdown when done."""

    def __init__(self, console: Console, persona_label: str, stream: bool) -> None:
        self._console = console
        self._label = persona_label
        self._stream = stream
        self._status: Status | None = None
        self._live: Live | None = None

    async def typing(self) -> None:
        if self._status is None and self._live is None:
            self._status = self._console.status("thinking…", spinner="dots")
            self._status.start()

    async def partial(self, text: str) -> None:
        if not self._stream:
            return
        self._stop_status()
        if self._live is None:
            self._live = Live(console=self._console, refresh_per_second=8, transient=True)
            self._live.start()
        self._live.update(Markdown(text))

    async def send(self, reply: Reply) -> None:
        self.stop()
        style = "yellow" if reply.is_error else "cyan"
        self._console.print(f"[bold {style}]{reply.persona or self._label}[/] ›")
        self._console.print(Markdown(reply.text))
        self._console.print()

    def _stop_status(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def stop(self) -> None:
        self._stop_status()
        if self._live is not None:
            self._live.stop()
            self._live = None


class _PlainSink:
    """Scripted mode: nothing but the final reply text, then a newline."""

    def __init__(self, out: TextIO) -> None:
        self._out = out

    async def typing(self) -> None:
        return None

    async def partial(self, text: str) -> None:
        return None

    async def send(self, reply: Reply) -> None:
        self._out.write(reply.text.rstrip("\n") + "\n")
        self._out.flush()


class TerminalAdapter:
    name = "terminal"
    platform = PLATFORM  # as an `Outbound` port

    def __init__(
        self,
        engine: Engine,
        settings: TerminalSettings,
        *,
        export_dir: Path,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        interactive: bool | None = None,
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._export_dir = export_dir
        self._stdin = stdin or sys.stdin
        self._stdout = stdout or sys.stdout
        self._interactive = self._stdin.isatty() if interactive is None else interactive
        self._console = Console(file=self._stdout, force_terminal=self._interactive or None)
        self._user_id = settings.user_id or _os_user()
        self._closed = asyncio.Event()

    async def run(self) -> None:
        if self._interactive:
            self._console.print("[dim]Type a message, /help for commands, Ctrl-D to leave.[/]")
        lines = _read_lines(self._stdin)
        try:
            while not self._closed.is_set():
                if self._interactive:
                    self._console.print("[bold green]you[/] › ", end="")
                line = await _next_or_none(lines, self._closed)
                if line is None:
                    break
                if not clean_text(line).strip():  # blank, or nothing but control characters
                    continue
                if not await self._handle(line.rstrip("\n")):
                    break
        finally:
            await lines.aclose()

    async def close(self) -> None:
        self._closed.set()

    async def deliver(self, message: OutboundMessage) -> None:
        """`persona.outbound.Outbound`: a reminder or check-in, printed between turns."""
        if self._closed.is_set():
            raise DeliveryError("the terminal conversation has ended")
        self._print_note(message.text)

    async def _handle(self, line: str) -> bool:
        """Returns False when the user asked to leave."""
        parsed = parse_command(line)
        if parsed is None:
            await self._chat(line)
            return True
        if parsed.local == "quit":
            return False
        if parsed.name is None:
            self._print_note(f"Unknown command {line.split(maxsplit=1)[0]!r}.\n\n```text\n{HELP_TEXT}\n```")
            return True
        if parsed.name == "help":
            # The engine's help names commands generically; the terminal has its own syntax.
            self._print_note(f"```text\n{HELP_TEXT}\n```")
            return True
        result = await self._engine.command(
            Command(name=parsed.name, args=parsed.args, context=self._message(""), is_admin=True)
        )
        await self._show_result(result)
        return True

    async def _chat(self, text: str) -> None:
        message = self._message(text)
        if self._interactive:
            sink = _RichSink(self._console, "familiar", self._settings.stream)
            try:
                outcome = await self._engine.submit(message, sink)
            finally:
                sink.stop()
        else:
            outcome = await self._engine.submit(message, _PlainSink(self._stdout))
        if outcome is TurnOutcome.DUPLICATE:
            _log.warning("terminal message %s was treated as a duplicate", message.event_id)

    def _message(self, text: str) -> IncomingMessage:
        message = IncomingMessage(
            platform=PLATFORM,
            room_id=self._settings.room_id,
            author_id=self._user_id,
            author_name=self._settings.display_name or self._user_id,
            text=text,
            # Unique across restarts: the engine de-duplicates event ids persistently.
            event_id=f"term-{uuid.uuid4().hex}",
            is_dm=True,
            mentions_bot=True,
        )
        return normalise(message)

    async def _show_result(self, result: CommandResult) -> None:
        if result.file_data is not None:
            path = await asyncio.to_thread(_write_export, self._export_dir, result)
            self._print_note(f"{result.text}\n\nSaved to `{path}`.")
            return
        self._print_note(result.text)

    def _print_note(self, text: str) -> None:
        if self._interactive:
            self._console.print(Markdown(text))
            self._console.print()
        else:
            self._stdout.write(text.rstrip("\n") + "\n")
            self._stdout.flush()


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "you"


def _write_export(export_dir: Path, result: CommandResult) -> Path:
    export_dir.mkdir(parents=True, exist_ok=True)
    path = export_dir / (result.file_name or "export.json")
    path.write_bytes(result.file_data or b"")
    return path


async def _next_or_none(lines: AsyncIterator[str], closed: asyncio.Event) -> str | None:
    """The next input line, or None at end of input or when the adapter is closed."""
    read = asyncio.ensure_future(anext(lines, None))
    stop = asyncio.ensure_future(closed.wait())
    try:
        done, _ = await asyncio.wait({read, stop}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop.cancel()
    if read in done:
        return read.result()
    read.cancel()
    with suppress(asyncio.CancelledError, StopAsyncIteration):
        await read
    return None


async def _read_lines(stream: TextIO) -> AsyncGenerator[str, None]:
    """Lines from stdin without blocking the event loop.

    Pipes, sockets and terminals are read through the loop's pipe transport. Anything else
    (a redirected file, /dev/null under a service manager) cannot be polled; reading it never
    blocks for long, so a worker thread per line is fine there.
    """
    reader = await _pipe_reader(stream)
    if reader is None:
        # Bytes decoded here, not by the text layer: undecodable input becomes U+FFFD instead of
        # raising (strict) or turning into lone surrogates (surrogateescape, the C locale).
        binary: BinaryIO | None = getattr(stream, "buffer", None)
        read = stream.readline if binary is None else lambda: _decoded(binary.readline())
        while line := await asyncio.to_thread(read):
            yield line
        return
    while raw := await _read_line(reader):
        yield raw.decode("utf-8", errors="replace")


def _decoded(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


async def _read_line(reader: asyncio.StreamReader) -> bytes:
    """One line (b"" at the end); a line over the reader's limit is skipped, with a warning."""
    while True:
        try:
            return await reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as end:
            return end.partial
        except asyncio.LimitOverrunError:
            _log.warning("an input line over %d bytes was skipped", _LINE_LIMIT)
            await _skip_line(reader)


async def _skip_line(reader: asyncio.StreamReader) -> None:
    while True:
        try:
            await reader.readuntil(b"\n")
            return
        except asyncio.LimitOverrunError as over:
            await reader.readexactly(over.consumed)  # scanned, no line end yet: drop it
        except asyncio.IncompleteReadError:
            return


async def _pipe_reader(stream: TextIO) -> asyncio.StreamReader | None:
    try:
        mode = os.fstat(stream.fileno()).st_mode
    except (OSError, ValueError, AttributeError):
        return None  # an in-memory stream (tests)
    # epoll refuses regular files and devices such as /dev/null (EPERM, reported only inside the
    # loop, so the read would wait forever): only these kinds go through the pipe transport.
    if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stream.isatty()):
        return None
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=_LINE_LIMIT)
    try:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), stream)
    except ValueError:
        return None  # a regular file
    return reader
