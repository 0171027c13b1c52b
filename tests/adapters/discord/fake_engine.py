"""A hand-written fake of the engine's `Engine` protocol that keeps its contract.

Same event id twice -> DUPLICATE and nothing sent; a limited author gets one polite line
(LIMITED); otherwise it shows typing, streams the scripted partials and sends the final reply.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from persona.api import Command, CommandResult
from persona.types import IncomingMessage, Reply, ReplySink, TurnOutcome

LIMIT_LINE = "You're sending messages a bit fast; try again in a minute."


@dataclass(frozen=True, slots=True, kw_only=True)
class Script:
    final: str
    partials: tuple[str, ...] = ()


def echo(message: IncomingMessage) -> Script:
    return Script(final=f"You said: {message.text}")


class FakeEngine:
    def __init__(self, script: Callable[[IncomingMessage], Script] = echo) -> None:
        self.script = script
        self.submitted: list[IncomingMessage] = []
        self.outcomes: list[TurnOutcome] = []
        self.observed: list[IncomingMessage] = []
        self.commands: list[Command] = []
        self.limited_authors: set[str] = set()
        self.command_results: dict[str, CommandResult] = {}
        self._seen: set[str] = set()
        self.changed = asyncio.Event()

    async def submit(self, message: IncomingMessage, sink: ReplySink) -> TurnOutcome:
        outcome = await self._submit(message, sink)
        self.outcomes.append(outcome)
        self.changed.set()
        return outcome

    async def _submit(self, message: IncomingMessage, sink: ReplySink) -> TurnOutcome:
        if message.event_id in self._seen:
            return TurnOutcome.DUPLICATE
        self._seen.add(message.event_id)
        self.submitted.append(message)
        if message.author_id in self.limited_authors:
            await sink.send(Reply(text=LIMIT_LINE, reply_to=message.event_id, persona="p", is_error=True))
            return TurnOutcome.LIMITED
        script = self.script(message)
        await sink.typing()
        for partial in script.partials:
            await sink.partial(partial)
        await sink.send(Reply(text=script.final, reply_to=message.event_id, persona="p"))
        return TurnOutcome.ANSWERED

    async def command(self, command: Command) -> CommandResult:
        self.commands.append(command)
        self.changed.set()
        return self.command_results.get(command.name, CommandResult(text=f"{command.name}: {command.args}"))

    async def observe(self, message: IncomingMessage) -> None:
        self.observed.append(message)
        self.changed.set()
