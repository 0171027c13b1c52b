"""Discord adapter settings: the `discord` section of the app settings.

Room policy is layered: built-in defaults, then `defaults`, then the guild, then the channel, then
the thread. A layer only overrides the keys it sets, so a channel can change the trigger mode and
still inherit the guild's persona.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field, SecretStr

TriggerMode = Literal["mention", "open", "off"]


class RoomPolicy(BaseModel):
    """One layer of policy; unset keys (None) inherit from the layer above."""

    trigger: TriggerMode | None = None  # mention: @mentions and replies; open: every message; off: never
    auto_thread: bool | None = None  # a mention in a channel opens a thread for the conversation
    persona: str | None = None
    model: str | None = None
    per_user_session: bool | None = None  # one conversation per author in this room
    observe: bool | None = None  # pass non-addressed messages to the engine as room context


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolvedPolicy:
    trigger: TriggerMode = "mention"
    auto_thread: bool = False
    persona: str | None = None
    model: str | None = None
    per_user_session: bool = False
    observe: bool = False


class AttachmentLimits(BaseModel):
    max_files: int = 4
    image_bytes: int = 8 * 1024 * 1024
    text_bytes: int = 64 * 1024  # inlined text files are cut at this size (with a note)
    audio_bytes: int = 25 * 1024 * 1024


class DiscordSettings(BaseModel):
    token: SecretStr
    auto_shard: bool = False  # AutoShardedClient; shard_count None lets Discord choose
    shard_count: int | None = None
    # This process's shards of `shard_count` (`familiar run --shard-ids 0,1 --shard-count 4`): the
    # others run in other gateway processes. None: every shard here.
    shard_ids: list[int] | None = None
    allow_bots: bool = False  # answer other bots (and webhooks); off prevents bot-to-bot loops
    admin_user_ids: list[int] = Field(default_factory=list)
    admin_role_ids: list[int] = Field(default_factory=list)
    command_guild_ids: list[int] = Field(default_factory=list)  # sync slash commands here (fast); else global
    defaults: RoomPolicy = Field(default_factory=RoomPolicy)
    guilds: dict[int, RoomPolicy] = Field(default_factory=dict)
    channels: dict[int, RoomPolicy] = Field(default_factory=dict)
    threads: dict[int, RoomPolicy] = Field(default_factory=dict)
    dm: RoomPolicy = Field(default_factory=RoomPolicy)  # DMs always answer; persona etc. may be set
    stream_edit_interval: float = 1.0  # seconds between edits of a streaming reply
    typing: bool = True
    typing_refresh: float = 8.0  # Discord shows typing for about 10 s
    attachments: AttachmentLimits = Field(default_factory=AttachmentLimits)
    guild_ready_timeout: float = 2.0
    close_drain_timeout: float = 10.0  # seconds in-flight handlers get to finish on close

    def policy_for(
        self, *, guild_id: int | None, channel_id: int | None, thread_id: int | None = None
    ) -> ResolvedPolicy:
        """The effective policy of one place, inheriting guild -> channel -> thread."""
        layers: list[RoomPolicy] = [self.defaults]
        if guild_id is None:
            layers.append(self.dm)
        else:
            layers.append(self.guilds.get(guild_id, RoomPolicy()))
        if channel_id is not None:
            layers.append(self.channels.get(channel_id, RoomPolicy()))
        if thread_id is not None:
            layers.append(self.threads.get(thread_id, RoomPolicy()))
        merged: dict[str, object] = {}
        for layer in layers:
            merged.update(layer.model_dump(exclude_none=True))
        return ResolvedPolicy(**merged)  # type: ignore[arg-type]

    def is_admin(self, user_id: int, role_ids: list[int]) -> bool:
        return user_id in self.admin_user_ids or any(r in self.admin_role_ids for r in role_ids)
