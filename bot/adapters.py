"""Which platform adapters the settings ask for."""

from __future__ import annotations

from collections.abc import Iterator

from adapters.base import Adapter
from adapters.discord.client import DiscordAdapter
from adapters.matrix.client import MatrixAdapter
from bot.config import Settings
from persona.api import Engine


def server_adapters(settings: Settings, engine: Engine) -> Iterator[Adapter]:
    discord = settings.discord_settings()
    if discord is not None:
        yield DiscordAdapter(discord, engine)
    matrix = settings.matrix_settings()
    if matrix is not None:
        yield MatrixAdapter(matrix, engine, settings.data_dir)
