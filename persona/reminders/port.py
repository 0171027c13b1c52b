"""The seam between whoever asks for a reminder (a tool call, `/reminders`) and the reminder book.

Tool calling and the reminder scheduler are built apart; both sides depend on this protocol only, so a
tool never knows how reminders are stored or delivered, and the book never knows a tool asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from persona.types import IncomingMessage


@dataclass(frozen=True, slots=True, kw_only=True)
class ReminderView:
    """One reminder as its owner may see it."""

    id: str
    text: str
    due_at: datetime  # timezone-aware, UTC
    local_due: str  # as the person reads it, in their own zone, e.g. "Wed 2 Dec 09:00 (Europe/Paris)"
    where: str  # where it will be delivered, as the person knows it: "this DM", "#general"


class ReminderError(Exception):
    """A reminder could not be set or found. The message is one line the person can read (the time
    is unclear or already past, the reminder is not theirs): tools pass it back to the model."""


class ReminderBook(Protocol):
    """Reminders scoped to the author of `origin`: nobody sees or cancels another person's."""

    async def schedule(self, origin: IncomingMessage, *, text: str, when: str) -> ReminderView:
        """Set a reminder delivered where `origin` was said. `when` is ISO 8601 (read in the
        person's zone when it has no offset) or a phrase ("in 2 minutes", "tomorrow at 9").
        Raises `ReminderError`."""
        ...

    async def upcoming(self, origin: IncomingMessage) -> list[ReminderView]:
        """The author's reminders not yet delivered, soonest first."""
        ...

    async def cancel(self, origin: IncomingMessage, reminder_id: str) -> ReminderView | None:
        """Cancel one of the author's reminders; None when there is no such reminder of theirs."""
        ...
