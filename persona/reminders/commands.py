"""`reminders`, `checkin`, `timezone` and `voice`: the person's own reminders and choices.

Registered on the engine's command runner by the composition root; every answer is private
(ephemeral where the platform can) and names times in the person's zone.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import time

from memory.assistant import CheckinChoice, CheckinStore, VoiceChoices
from persona.api import Command, CommandName, CommandResult
from persona.reminders.checkins import CheckinSettings, in_quiet_hours
from persona.reminders.port import ReminderBook, ReminderError
from persona.reminders.zones import Zones

Handler = Callable[[Command], Awaitable[CommandResult]]
_CLOCK = re.compile(r"^(\d{1,2})[:.h]?(\d{2})?$")
DEFAULT_CHECKIN_MINUTE = 9 * 60


def _private(text: str) -> CommandResult:
    return CommandResult(text=text, ephemeral=True)


class AssistantCommands:
    def __init__(
        self,
        *,
        book: ReminderBook,
        zones: Zones,
        checkins: CheckinStore,
        checkin_settings: CheckinSettings,
        voice: VoiceChoices,
    ) -> None:
        self._book = book
        self._zones = zones
        self._checkins = checkins
        self._checkin_settings = checkin_settings
        self._voice = voice

    def handlers(self) -> dict[CommandName, Handler]:
        return {
            "reminders": self.reminders,
            "checkin": self.checkin,
            "timezone": self.timezone,
            "voice": self.voice,
        }

    async def reminders(self, command: Command) -> CommandResult:
        verb, _, rest = command.args.strip().partition(" ")
        if verb.lower() == "cancel":
            return await self._cancel(command, rest.strip())
        if verb:
            return _private("Usage: `reminders` to list yours, `reminders cancel ID` to cancel one.")
        mine = await self._book.upcoming(command.context)
        if not mine:
            return _private("You have no reminders set.")
        lines = ["**Your reminders**", *(f"- `{r.id}` {r.local_due}: {r.text} ({r.where})" for r in mine)]
        return _private("\n".join(lines))

    async def _cancel(self, command: Command, reminder_id: str) -> CommandResult:
        if not reminder_id:
            return _private("Usage: `reminders cancel ID` (the ids are in `reminders`).")
        cancelled = await self._book.cancel(command.context, reminder_id)
        if cancelled is None:
            return _private(f"You have no open reminder `{reminder_id}`.")
        return _private(f"Cancelled: {cancelled.text} ({cancelled.local_due}).")

    async def timezone(self, command: Command) -> CommandResult:
        name = command.args.strip()
        if not name:
            zone = await self._zones.zone_for(command.context)
            return _private(f"Your time zone is {zone.key}. Change it with `timezone Europe/Paris`.")
        try:
            zone = await self._zones.set_zone(command.context, name)
        except ReminderError as error:
            return _private(str(error))
        return _private(f"Got it: your time zone is {zone.key}.")

    async def checkin(self, command: Command) -> CommandResult:
        message = command.context
        verb, _, rest = command.args.strip().lower().partition(" ")
        current = await self._checkins.choice(message.identity)
        if verb in {"", "status"}:
            return _private(self._status(current))
        if verb == "off":
            if current is not None:
                await self._checkins.choose(_replace(current, enabled=False))
            return _private("Check-ins are off.")
        if not message.is_dm:
            return _private("Check-ins come by direct message: send `checkin on` to me in a DM.")
        minute = current.at_minute if current is not None else DEFAULT_CHECKIN_MINUTE
        if verb == "at":
            parsed = _minute_of(rest.strip())
            if parsed is None:
                return _private("Usage: `checkin at 08:30` (24-hour clock, in your time zone).")
            minute = parsed
        elif verb != "on":
            return _private("Usage: `checkin on`, `checkin off` or `checkin at 08:30`.")
        if in_quiet_hours(time(minute // 60, minute % 60), self._checkin_settings):
            return _private(
                f"{_clock(minute)} is within my quiet hours ({self._quiet()}): pick another time."
            )
        choice = CheckinChoice(owner=message.identity, platform=message.platform, room_id=message.room_id,
                               at_minute=minute, enabled=True)  # fmt: skip
        await self._checkins.choose(choice)
        zone = await self._zones.zone_for(message)
        return _private(f"I'll check in here every day at {_clock(minute)} ({zone.key}).")

    def _status(self, current: CheckinChoice | None) -> str:
        if current is None or not current.enabled:
            return "Check-ins are off. `checkin on` (in a DM) starts a daily one."
        return f"Check-ins are on, daily at {_clock(current.at_minute)}. Quiet hours: {self._quiet()}."

    def _quiet(self) -> str:
        s = self._checkin_settings
        return f"{s.quiet_start:%H:%M}–{s.quiet_end:%H:%M}"

    async def voice(self, command: Command) -> CommandResult:
        message = command.context
        verb = command.args.strip().lower()
        key = f"person:{message.identity}" if message.is_dm else f"room:{message.platform}:{message.room_id}"
        where = "to you" if message.is_dm else "in this room"
        if verb in {"on", "off"}:
            await self._voice.set(key, verb == "on")
            return _private(f"Voice replies {where} are {verb}: I answer voice messages by voice too."
                            if verb == "on" else f"Voice replies {where} are off.")  # fmt: skip
        if verb:
            return _private("Usage: `voice on` or `voice off`.")
        state = "on" if await self._voice.get(key) else "off"
        return _private(f"Voice replies {where} are {state}.")


def _replace(choice: CheckinChoice, *, enabled: bool) -> CheckinChoice:
    return CheckinChoice(owner=choice.owner, platform=choice.platform, room_id=choice.room_id,
                         at_minute=choice.at_minute, enabled=enabled, last_day=choice.last_day)  # fmt: skip


def _minute_of(text: str) -> int | None:
    match = _CLOCK.match(text)
    if match is None:
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    return hour * 60 + minute if hour < 24 and minute < 60 else None


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"
