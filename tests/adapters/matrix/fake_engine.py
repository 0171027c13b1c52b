"""A hand-written `Engine` for adapter tests: streams partials, replies, de-duplicates event ids.

Dedup follows the engine contract: `admit` refuses an event id seen before (DUPLICATE), and
nothing is sent. Given a path, the seen ids persist (like the real engine's store) so a restarted adapter
that receives an old event again does not answer it twice.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from persona.api import Admission, Command, CommandResult
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
        self._admitted: set[str] = set()

    def _seen(self) -> set[str]:
        if self._dedup_path is None or not self._dedup_path.exists():
            return {message.event_id for message in self.submitted}
        return set(json.loads(self._dedup_path.read_text()))

    def _remember(self, event_id: str) -> None:
        if self._dedup_path is not None:
            seen = self._seen() | {event_id}
            self._dedup_path.write_text(json.dumps(sorted(seen)))

    async def admit(self, message: IncomingMessage) -> Admission:
        admission = Admission(admitted=True, persona="test", model="m", session=message.session)
        if message.event_id in self._seen() | self._admitted:
            self.duplicates.append(message.event_id)
            return replace(admission, admitted=False, outcome=TurnOutcome.DUPLICATE)
        self._admitted.add(message.event_id)
        return admission

    async def submit(self, message: IncomingMessage, sink: ReplySink) -> TurnOutcome:
        if message.event_id not in self._admitted:
            admission = await self.admit(message)
            if not admission.admitted:
                return TurnOutcome.DUPLICATE
        self._admitted.discard(message.event_id)
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
