"""Discord adapter: a server bot and DM assistant on discord.py.

Import from the submodules (this package imports nothing, so reading `DiscordSettings` for the app
settings does not load discord.py):

- `adapters.discord.settings.DiscordSettings`: the `discord` section of the app settings.
- `adapters.discord.client.DiscordAdapter(settings, engine, transcriber=None)`: `run()` / `close()`.
- `adapters.discord.doctor.check_discord(settings)`: token, intent and invite URL for `familiar doctor`.
"""
