"""A hand-written fake of the engine's `Engine` protocol that keeps its contract.

`admit` is the gate: the same event id twice -> DUPLICATE; a limited author -> LIMITED with one
polite line for the adapter to deliver. `submit` (admitting first when the adapter did not) shows
typing, streams the scripted partials and sends the final reply.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, replace

from persona.api import Admission, Command, CommandResult
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
        self.admitted: list[IncomingMessage] = []
        self._seen: set[str] = set()
        self._pending: set[str] = set()
        self.changed = asyncio.Event()

    async def admit(self, message: IncomingMessage) -> Admission:
        base = Admission(admitted=False, persona="p", model="m", session=message.session)
        if message.event_id in self._seen:
            return self._refused(replace(base, outcome=TurnOutcome.DUPLICATE))
        self._seen.add(message.event_id)
        self.admitted.append(message)
        if message.author_id in self.limited_authors:
            line = Reply(text=LIMIT_LINE, reply_to=message.event_id, persona="p", is_error=True)
            return self._refused(replace(base, outcome=TurnOutcome.LIMITED, reply=line))
        self._pending.add(message.event_id)
        return replace(base, admitted=True)

    def _refused(self, admission: Admission) -> Admission:
        assert admission.outcome is not None
        self.outcomes.append(admission.outcome)
        self.changed.set()
        return admission

    async def submit(self, message: IncomingMessage, sink: ReplySink) -> TurnOutcome:
        if message.event_id not in self._pending:
            admission = await self.admit(message)
            if not admission.admitted:
                if admission.reply is not None:
                    await sink.send(admission.reply)
                assert admission.outcome is not None
                return admission.outcome
        self._pending.discard(message.event_id)
        outcome = await self._answer(message, sink)
        self.outcomes.append(outcome)
        self.changed.set()
        return outcome

    async def _answer(self, message: IncomingMessage, sink: ReplySink) -> TurnOutcome:
        self.submitted.append(message)
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
