"""The terminal adapter: command parsing, and the scripted (non-tty) loop against a fake engine."""

from __future__ import annotations

import asyncio
import io
import os
from pathlib import Path

import pytest

from adapters.terminal import TerminalAdapter, TerminalSettings
from adapters.terminal.commands import parse_command
from persona.api import Admission, Command, CommandResult
from persona.types import IncomingMessage, Reply, ReplySink, TurnOutcome


@pytest.mark.parametrize(
    ("line", "name", "args"),
    [
        ("/memory", "memory", ""),
        ("/memory export", "export", ""),
        ("/forget", "forget", ""),
        ("/forget my old address", "forget", "my old address"),
        ("/persona pirate", "persona", "pirate"),
        ("/kb search tavern hours", "kb_search", "tavern hours"),
        ("/link ABCD-1234", "link", "ABCD-1234"),
        ("/JOURNAL", "journal", ""),
    ],
)
def test_commands_map_to_engine_commands(line: str, name: str, args: str) -> None:
    parsed = parse_command(line)
    assert parsed is not None
    assert (parsed.name, parsed.args) == (name, args)


def test_ordinary_text_and_escaped_slash_are_messages() -> None:
    assert parse_command("hello /memory") is None
    assert parse_command("//not a command") is None


def test_unknown_command_is_reported_not_sent() -> None:
    parsed = parse_command("/frobnicate now")
    assert parsed is not None
    assert parsed.name is None
    assert parsed.local == "unknown"


class _Engine:
    def __init__(self) -> None:
        self.messages: list[IncomingMessage] = []
        self.commands: list[Command] = []

    async def admit(self, message: IncomingMessage) -> Admission:
        return Admission(admitted=True, persona="p", model="m", session=message.session)

    async def submit(self, message: IncomingMessage, sink: ReplySink) -> TurnOutcome:
        self.messages.append(message)
        await sink.typing()
        await sink.partial("par")
        await sink.send(Reply(text=f"echo {message.text}\n", reply_to=message.event_id, persona="p"))
        return TurnOutcome.ANSWERED

    async def command(self, command: Command) -> CommandResult:
        self.commands.append(command)
        if command.name == "export":
            return CommandResult(text="Here it is.", file_name="me.json", file_data=b'{"a": 1}')
        return CommandResult(text=f"ran {command.name}")

    async def observe(self, message: IncomingMessage) -> None:
        return None


async def test_scripted_input_gets_one_plain_reply_per_line(tmp_path: Path) -> None:
    engine = _Engine()
    out = io.StringIO()
    stdin = io.StringIO("hi\n\n/memory\nsecond\n/memory export\n/quit\nnever read\n")
    adapter = TerminalAdapter(
        engine, TerminalSettings(user_id="ada"), export_dir=tmp_path, stdin=stdin, stdout=out
    )
    await adapter.run()
    lines = out.getvalue().splitlines()
    assert lines[:3] == ["echo hi", "ran memory", "echo second"]
    assert (tmp_path / "me.json").read_bytes() == b'{"a": 1}'
    assert [m.text for m in engine.messages] == ["hi", "second"]
    # every message is a DM from the configured identity, with a distinct event id
    assert {m.identity for m in engine.messages} == {"terminal:ada"}
    assert len({m.event_id for m in engine.messages}) == 2
    assert all(m.is_dm for m in engine.messages)


async def test_a_line_over_the_input_limit_is_skipped_and_the_next_one_answered(tmp_path: Path) -> None:
    # A real pipe, read through the loop's pipe transport as `cmd | familiar chat` is.
    read_fd, write_fd = os.pipe()
    data = b"x" * (3 * 1024 * 1024) + b"\nafter the flood\n"

    def feed() -> None:
        with os.fdopen(write_fd, "wb") as pipe:
            pipe.write(data)

    engine, out = _Engine(), io.StringIO()
    with os.fdopen(read_fd, "r") as stdin:
        adapter = TerminalAdapter(
            engine, TerminalSettings(user_id="ada"), export_dir=tmp_path, stdin=stdin, stdout=out
        )
        writer = asyncio.create_task(asyncio.to_thread(feed))
        await adapter.run()
        await writer
    assert [m.text for m in engine.messages] == ["after the flood"]
