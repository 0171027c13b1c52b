"""Discord adapter: a server bot and DM assistant on discord.py.

`DiscordAdapter(settings, engine).run()` connects; `close()` stops. Settings live in
`DiscordSettings` (the `discord` section of the app settings); `check_discord` serves `familiar doctor`.
"""

from __future__ import annotations

from adapters.discord.attachments import Transcriber
from adapters.discord.client import DiscordAdapter, DiscordSetupError
from adapters.discord.doctor import DoctorCheck, check_discord, invite_url
from adapters.discord.settings import DiscordSettings, RoomPolicy

__all__ = [
    "DiscordAdapter",
    "DiscordSettings",
    "DiscordSetupError",
    "DoctorCheck",
    "RoomPolicy",
    "Transcriber",
    "check_discord",
    "invite_url",
]
