"""A small in-memory `ReminderBook` for the reminder tools' tests (the real book is built apart).

It reads `when` as ISO 8601 or "in N minutes", scopes every reminder to its author's identity and
refuses a time in the past, as the port says the real one does.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from persona.reminders.port import ReminderError, ReminderView
from persona.types import IncomingMessage

_IN_MINUTES = re.compile(r"^in (\d+) minutes?$")


@dataclass(slots=True)
class FakeReminderBook:
    now: datetime = field(default_factory=lambda: datetime(2026, 12, 1, 12, 0, tzinfo=UTC))
    by_owner: dict[str, list[ReminderView]] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def schedule(self, origin: IncomingMessage, *, text: str, when: str) -> ReminderView:
        due = self._parse(when)
        if due <= self.now:
            raise ReminderError("That time has already passed.")
        view = ReminderView(
            id=f"r{next(self._ids)}",
            text=text,
            due_at=due,
            local_due=due.strftime("%a %d %b %H:%M (UTC)"),
            where="this DM" if origin.is_dm else f"#{origin.room_id}",
        )
        self.by_owner.setdefault(origin.identity, []).append(view)
        return view

    async def upcoming(self, origin: IncomingMessage) -> list[ReminderView]:
        return sorted(self.by_owner.get(origin.identity, []), key=lambda v: v.due_at)

    async def cancel(self, origin: IncomingMessage, reminder_id: str) -> ReminderView | None:
        mine = self.by_owner.get(origin.identity, [])
        found = next((v for v in mine if v.id == reminder_id), None)
        if found is not None:
            mine.remove(found)
        return found

    def _parse(self, when: str) -> datetime:
        if match := _IN_MINUTES.match(when.strip().lower()):
            return self.now + timedelta(minutes=int(match.group(1)))
        try:
            parsed = datetime.fromisoformat(when)
        except ValueError:
            raise ReminderError(f"I can't read {when!r} as a time.") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
