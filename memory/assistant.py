"""What the assistant keeps to act on its own: reminders, check-in choices, voice-reply choices.

Records and store interfaces only; `memory.sqlite.reminders` implements them. Times are UTC and
timezone-aware. A reminder moves pending -> sending (claimed by one deliverer under a lease) ->
delivered, or pending -> cancelled; the claim is one atomic row update, so several processes may
share a store and each reminder is sent by one of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

ReminderState = Literal["pending", "sending", "delivered", "cancelled"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Reminder:
    id: str
    owner: str  # identity `platform:user_id` of the person who set it
    text: str
    due_at: datetime
    zone: str  # IANA zone the person read the time in when they set it
    platform: str  # where it is delivered: the place it was set in
    room_id: str
    thread_id: str | None
    is_dm: bool
    source_id: str  # event id of the message that set it
    created_at: datetime
    state: ReminderState = "pending"
    attempts: int = 0  # failed deliveries so far


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckinChoice:
    """A person's opt-in to a daily check-in, sent to the DM they chose it in."""

    owner: str
    platform: str
    room_id: str
    at_minute: int  # minutes after local midnight
    enabled: bool
    last_day: str | None = None  # local date (ISO) of the last check-in sent


class ReminderStore(Protocol):
    async def add(self, reminder: Reminder) -> None:
        """Keep a new reminder (idempotent by id)."""

    async def open_for(self, owners: frozenset[str]) -> list[Reminder]:
        """The owners' reminders not yet delivered or cancelled, soonest first."""
        ...

    async def cancel(self, owners: frozenset[str], reminder_id: str) -> Reminder | None:
        """Cancel a pending reminder of the owners; None when there is none (or it is being sent)."""
        ...

    async def claim_due(self, now: datetime, *, holder: str, lease_s: float, limit: int) -> list[Reminder]:
        """Atomically mark due reminders as being sent by `holder` (pending ones, and ones whose
        sender's lease ran out), and return them."""
        ...

    async def delivered(self, reminder_id: str, holder: str, at: datetime) -> bool:
        """Mark a claimed reminder delivered; False when `holder` no longer holds it."""
        ...

    async def release(self, reminder_id: str, holder: str, *, retry_at: datetime) -> None:
        """A delivery failed: back to pending, tried again at `retry_at`."""

    async def next_due(self) -> datetime | None:
        """When the soonest open reminder falls due (or its retry), for the scheduler's sleep."""
        ...

    async def forget(self, owners: frozenset[str], phrase: str | None = None) -> int:
        """Delete the owners' reminders (all, or those whose text mentions `phrase`)."""
        ...


class CheckinStore(Protocol):
    async def choose(self, choice: CheckinChoice) -> None:
        """Save a person's choice (their last check-in day is kept)."""

    async def choice(self, owner: str) -> CheckinChoice | None: ...

    async def enabled(self) -> list[CheckinChoice]: ...

    async def claim_day(self, owner: str, day: str) -> bool:
        """Atomically record that `day`'s check-in is being sent; False when it already was."""
        ...


class VoiceChoices(Protocol):
    async def set(self, key: str, on: bool) -> None:
        """`key` is `person:<identity>` or `room:<platform>:<room_id>`."""

    async def get(self, key: str) -> bool | None: ...
