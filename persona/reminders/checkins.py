"""Proactive check-ins: a short daily DM, opt-in per person, at their chosen hour in their zone.

The persona writes it from its recent journal entries the person may see in a DM and their open
reminders (one background LLM call; a plain note when the provider is away). Quiet hours are
never broken; at most one check-in per person per local day, claimed in the store before it is
sent (so a restart or a second process does not send it twice). A check-in missed by more than
`window_h` hours (the bot was down all morning) is skipped for that day: a "good morning" at
night helps nobody.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from memory.assistant import CheckinChoice, CheckinStore, ReminderStore
from memory.base import JournalStore
from memory.visibility import DM_SCOPE, Visibility
from persona.outbound import DeliveryError, Outbound, OutboundMessage
from persona.personas import PersonaSpec
from persona.providers.base import ChatMessage, ChatRequest, LLMProvider, ProviderError
from persona.reminders.scheduler import stop_task
from persona.reminders.zones import Zones, local_label

_log = logging.getLogger(__name__)

CHECKIN_SYSTEM = (
    "{persona}\n\nYou are writing a short, warm check-in message to someone you talk with, on your "
    "own initiative. Two to four sentences. Mention their open reminders if any. Ask at most one question."
)


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckinSettings:
    quiet_start: time = time(22, 0)
    quiet_end: time = time(8, 0)
    window_h: float = 3.0
    poll_s: float = 60.0
    drain_s: float = 10.0  # how long a stop waits for a check-in being written


def in_quiet_hours(moment: time, settings: CheckinSettings) -> bool:
    start, end = settings.quiet_start, settings.quiet_end
    if start == end:
        return False
    if start < end:
        return start <= moment < end
    return moment >= start or moment < end  # the quiet span wraps midnight


class Checkins:
    def __init__(
        self,
        *,
        store: CheckinStore,
        reminders: ReminderStore,
        journal: JournalStore,
        zones: Zones,
        persona: PersonaSpec,
        provider: LLMProvider,
        ports: Mapping[str, Outbound],
        clock: Callable[[], datetime],
        settings: CheckinSettings = CheckinSettings(),
    ) -> None:
        self._store = store
        self._reminders = reminders
        self._journal = journal
        self._zones = zones
        self._persona = persona
        self._provider = provider
        self._ports = ports
        self._clock = clock
        self.settings = settings
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        self.sent = 0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="checkin-scheduler")

    def wake(self) -> None:
        self._wake.set()

    async def close(self) -> None:
        """Let a check-in being written finish (within `drain_s`), then stop."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self._wake.set()
        await stop_task(task, self.settings.drain_s)

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self.run_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                _log.exception("check-in pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.settings.poll_s)
            self._wake.clear()

    async def run_due(self) -> int:
        """Send every check-in due now; returns how many were sent."""
        sent = 0
        for choice in await self._store.enabled():
            sent += await self._maybe_send(choice)
        return sent

    async def _maybe_send(self, choice: CheckinChoice) -> int:
        zone = await self._zones.zone_of(await self._zones.owners_of(choice.owner))
        local = self._clock().astimezone(zone)
        day = local.date().isoformat()
        if choice.last_day == day or not self._due(choice, local):
            return 0
        port = self._ports.get(choice.platform)
        if port is None or not await self._store.claim_day(choice.owner, day):
            return 0
        text = await self.compose(choice)
        recipient = choice.owner.partition(":")[2]
        message = OutboundMessage(
            platform=choice.platform, room_id=choice.room_id, recipient_id=recipient, is_dm=True, text=text
        )
        try:
            await port.deliver(message)
        except DeliveryError as error:
            # Claimed already: today's check-in is given up rather than risk a second one later.
            _log.warning("check-in for %s not delivered: %s", choice.owner, error)
            return 0
        self.sent += 1
        return 1

    def _due(self, choice: CheckinChoice, local: datetime) -> bool:
        at = datetime.combine(local.date(), time(choice.at_minute // 60, choice.at_minute % 60), local.tzinfo)
        late = local - at
        if late < timedelta(0) or late > timedelta(hours=self.settings.window_h):
            return False
        return not in_quiet_hours(local.time(), self.settings)

    async def compose(self, choice: CheckinChoice) -> str:
        owners = await self._zones.owners_of(choice.owner)
        zone = await self._zones.zone_of(owners)
        reminders = await self._reminders.open_for(owners)
        listed = [f"- {r.text} ({local_label(r.due_at, zone)})" for r in reminders[:10]]
        visibility = Visibility(owners=owners, scope=DM_SCOPE)
        entries = await self._journal.recent(self._persona.name, visibility, 5)
        notes = [f"- {e.text}" for e in entries if visibility.allows(e.owner, e.scope)]
        prompt = "\n".join(
            ["Your recent journal notes:", *(notes or ["- (nothing noted lately)"]),
             "Their open reminders:", *(listed or ["- none"])]
        )  # fmt: skip
        try:
            result = await self._provider.chat(self._request(prompt))
            written = result.text.strip()
        except ProviderError as error:
            _log.warning("check-in for %s written without the model: %s", choice.owner, error.kind)
            written = ""
        if written:
            return written
        return "\n".join(
            ["Good morning! Just checking in.", *(["Your open reminders:", *listed] if listed else [])]
        )

    def _request(self, prompt: str) -> ChatRequest:
        return ChatRequest(
            model=self._persona.model,
            system=CHECKIN_SYSTEM.format(persona=self._persona.system_prompt.strip()),
            messages=(ChatMessage(role="user", content=prompt),),
            max_tokens=300,
            background=True,
        )
