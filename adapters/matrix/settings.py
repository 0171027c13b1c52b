"""Matrix adapter settings: the `matrix` section of the app settings.

Room policy is layered: built-in defaults, then `defaults`, then `dm` (for direct rooms), then the
room's own entry. A layer only overrides the keys it sets.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator

TriggerMode = Literal["mention", "open", "off"]
StreamMode = Literal["edit", "placeholder", "off"]
MessageType = Literal["m.text", "m.notice"]


class RoomPolicy(BaseModel):
    """One layer of policy; unset keys (None) inherit from the layer above."""

    trigger: TriggerMode | None = None  # mention: mentions and replies to the bot; open: everything
    persona: str | None = None
    model: str | None = None  # replaces the persona's model in this room
    per_user_session: bool | None = None  # one conversation per author in this room
    observe: bool | None = None  # pass non-addressed messages to the engine as room context


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolvedPolicy:
    trigger: TriggerMode = "mention"
    persona: str | None = None
    model: str | None = None
    per_user_session: bool = False
    observe: bool = False


class MediaLimits(BaseModel):
    image_bytes: int = 8 * 1024 * 1024  # larger images are refused with a note, not downloaded
    audio_bytes: int = 25 * 1024 * 1024


class MatrixSettings(BaseModel):
    homeserver: str  # e.g. https://matrix.example.org
    user_id: str  # full MXID, e.g. @familiar:example.org
    password: SecretStr | None = None
    access_token: SecretStr | None = None
    device_name: str = "familiar"
    store_dir: Path | None = None  # default: <data dir>/matrix; credentials, sync token, E2EE keys
    # Invites are accepted when the inviter, the inviter's server or the room matches one of these
    # fnmatch globs, e.g. "@alice:example.org", "*:example.org", "!abc:example.org". Empty: decline all.
    invite_allowlist: list[str] = Field(default_factory=list)
    defaults: RoomPolicy = Field(default_factory=RoomPolicy)
    dm: RoomPolicy = Field(default_factory=lambda: RoomPolicy(trigger="open"))
    rooms: dict[str, RoomPolicy] = Field(default_factory=dict)
    msgtype: MessageType = "m.text"
    stream_mode: StreamMode = "edit"
    stream_edit_interval: float = 1.5  # seconds between m.replace edits of a streaming reply
    placeholder_text: str = "thinking…"
    typing_timeout_ms: int = 20_000
    typing_refresh: float = 15.0  # seconds; refreshed before the server-side timeout ends
    admin_user_ids: list[str] = Field(default_factory=list)
    encryption: bool = True
    media: MediaLimits = Field(default_factory=MediaLimits)
    max_chunk_chars: int = 4000  # one Matrix event stays far below the 65 KB limit at this size
    sync_timeout_ms: int = 30_000  # long-poll duration
    sync_liveness_factor: float = 3.0  # no sync answer within factor × timeout: restart the loop
    sync_backoff_initial: float = 0.5
    sync_backoff_max: float = 30.0
    send_retries: int = 5  # retries of one send after M_LIMIT_EXCEEDED (retry_after_ms honoured)
    close_drain_timeout: float = 10.0

    @model_validator(mode="after")
    def _needs_credentials(self) -> MatrixSettings:
        if self.password is None and self.access_token is None:
            raise ValueError("matrix: set either `password` or `access_token`")
        if not (self.user_id.startswith("@") and ":" in self.user_id):
            raise ValueError("matrix.user_id must be a full Matrix id like @familiar:example.org")
        return self

    def resolved_store_dir(self, data_dir: Path) -> Path:
        return self.store_dir if self.store_dir is not None else data_dir / "matrix"

    def policy_for(self, room_id: str, *, is_dm: bool) -> ResolvedPolicy:
        layers = [self.defaults, *([self.dm] if is_dm else []), self.rooms.get(room_id, RoomPolicy())]
        merged: dict[str, object] = {}
        for layer in layers:
            merged.update(layer.model_dump(exclude_none=True))
        return ResolvedPolicy(**merged)  # type: ignore[arg-type]

    def invite_allowed(self, *, inviter: str, room_id: str) -> bool:
        server = inviter.partition(":")[2]
        candidates = (inviter, server, room_id)
        return any(
            fnmatch.fnmatchcase(candidate, pattern)
            for pattern in self.invite_allowlist
            for candidate in candidates
        )

    def is_admin(self, user_id: str) -> bool:
        return user_id in self.admin_user_ids
