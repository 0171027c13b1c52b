"""Platform-neutral message types: the only part of the engine that adapters see.

Adapters translate platform events into `IncomingMessage` and deliver `Reply` objects through a
`ReplySink` they implement. Nothing here knows about Discord, Matrix or a terminal.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, Protocol

AttachmentKind = Literal["image", "text", "audio", "file"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Attachment:
    """A file that came with a message, already fetched (or refused) by the adapter."""

    kind: AttachmentKind
    filename: str
    content_type: str
    size: int
    data: bytes | None = None  # raw bytes for images/audio the adapter chose to load (size-capped)
    text: str | None = None  # inlined text file content or an audio transcript
    note: str | None = None  # one clear line when the file was refused (too big, unsupported)


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionKey:
    """Which conversation a message belongs to; one turn at a time runs per session.

    `user_id` is set only when the room policy keeps a separate conversation per author.
    """

    platform: str
    room_id: str
    thread_id: str | None = None
    user_id: str | None = None

    def __str__(self) -> str:
        parts = [self.platform, self.room_id, self.thread_id or "-", self.user_id or "*"]
        return ":".join(parts)


@dataclass(frozen=True, slots=True, kw_only=True)
class IncomingMessage:
    """One message addressed to (or seen by) the bot, translated at the adapter edge."""

    platform: str  # "discord", "matrix", "terminal"
    room_id: str  # channel / room / DM channel id
    thread_id: str | None = None
    author_id: str  # platform user id (unique within the platform)
    author_name: str  # display name, for the prompt only
    text: str
    event_id: str  # platform message id; used for de-duplication and provenance
    is_dm: bool
    mentions_bot: bool = False
    reply_to: str | None = None  # event id this message replies to
    reply_to_bot: bool = False  # the replied-to message was the bot's own
    attachments: tuple[Attachment, ...] = ()
    timestamp: datetime = field(default_factory=lambda: datetime.now(UTC))
    persona: str | None = None  # persona bound to this room/thread by adapter config, if any
    model: str | None = None  # model bound to this room/thread by adapter config (overrides the persona's)
    per_user_session: bool = False  # room policy: one conversation per author in this room

    @property
    def identity(self) -> str:
        """The author's identity across the whole bot: `platform:user_id`."""
        return f"{self.platform}:{self.author_id}"

    @property
    def scope(self) -> str:
        """Privacy scope of what is said here: `dm`, or the room it was said in."""
        return "dm" if self.is_dm else f"room:{self.platform}:{self.room_id}"

    @property
    def session(self) -> SessionKey:
        user = self.author_id if (self.per_user_session and not self.is_dm) else None
        return SessionKey(
            platform=self.platform, room_id=self.room_id, thread_id=self.thread_id, user_id=user
        )


class TurnOutcome(enum.Enum):
    """What became of one submitted message."""

    ANSWERED = "answered"  # this message got a reply
    MERGED = "merged"  # folded into a later turn of the same session; that turn replied
    DUPLICATE = "duplicate"  # the event id was seen before; nothing sent
    LIMITED = "limited"  # rate limit or quota; one polite line sent
    FAILED = "failed"  # provider outage etc.; one friendly line sent
    INTERRUPTED = "interrupted"  # the engine stopped before answering; answered after the restart


@dataclass(frozen=True, slots=True, kw_only=True)
class Reply:
    """The final reply to deliver. `text` is complete Markdown; the adapter splits/renders it."""

    text: str
    reply_to: str  # event id of the message being answered
    persona: str
    is_error: bool = False  # a friendly failure/limit line, not model output
    ephemeral: bool = False  # private to the asker where the platform supports it


class ReplySink(Protocol):
    """Implemented by an adapter for one incoming message: how the engine talks back."""

    async def typing(self) -> None:
        """Show (or refresh) a typing indicator. Called when work starts; cheap to repeat."""

    async def partial(self, text: str) -> None:
        """The reply so far while streaming (cumulative). The adapter throttles edits."""

    async def send(self, reply: Reply) -> None:
        """Deliver the final reply (replacing any streamed partial)."""
