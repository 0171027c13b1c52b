"""A hand-written `Engine` for adapter tests: streams partials, replies, de-duplicates event ids.

Dedup follows the engine contract: an event id seen before is answered with DUPLICATE and nothing
is sent. Given a path, the seen ids persist (like the real engine's store) so a restarted adapter
that receives an old event again does not answer it twice.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

from persona.api import Command, CommandResult
from persona.types import IncomingMessage, Reply, ReplySink, TurnOutcome


def echo(message: IncomingMessage) -> str:
    return f"echo: {message.text}"


class FakeEngine:
    def __init__(
        self,
        *,
        dedup_path: Path | None = None,
        reply: Callable[[IncomingMessage], str] = echo,
        partial_steps: int = 3,
    ) -> None:
        self._dedup_path = dedup_path
        self._reply = reply
        self._partial_steps = partial_steps
        self.submitted: list[IncomingMessage] = []
        self.duplicates: list[str] = []
        self.commands: list[Command] = []
        self.observed: list[IncomingMessage] = []
        self.answered = asyncio.Event()

    def _seen(self) -> set[str]:
        if self._dedup_path is None or not self._dedup_path.exists():
            return {message.event_id for message in self.submitted}
        return set(json.loads(self._dedup_path.read_text()))

    def _remember(self, event_id: str) -> None:
        if self._dedup_path is not None:
            seen = self._seen() | {event_id}
            self._dedup_path.write_text(json.dumps(sorted(seen)))

    async def submit(self, message: IncomingMessage, sink: ReplySink) -> TurnOutcome:
        if message.event_id in self._seen():
            self.duplicates.append(message.event_id)
            return TurnOutcome.DUPLICATE
        self._remember(message.event_id)
        self.submitted.append(message)
        await sink.typing()
        text = self._reply(message)
        step = max(len(text) // self._partial_steps, 1)
        for end in range(step, len(text), step):
            await sink.partial(text[:end])
        await sink.send(Reply(text=text, reply_to=message.event_id, persona="test"))
        self.answered.set()
        return TurnOutcome.ANSWERED

    async def command(self, command: Command) -> CommandResult:
        self.commands.append(command)
        if command.name == "export":
            return CommandResult(
                text="Here is everything I know about you.",
                ephemeral=True,
                file_name="memory-export.json",
                file_data=b'{"facts": ["likes tea"]}',
            )
        return CommandResult(text=f"ran {command.name} {command.args}".strip())

    async def observe(self, message: IncomingMessage) -> None:
        self.observed.append(message)
