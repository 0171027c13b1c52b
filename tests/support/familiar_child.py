"""`familiar run` in a child process, with discord.py pointed at a `FakeDiscord` on loopback.

    python -m tests.support.familiar_child API_BASE GATEWAY_URL [COMMAND ARGS...]

The same endpoint switch `patch_discord_py` makes in-process, then the real CLI: tests can kill
this process (kill -9, SIGTERM) as an operator would and start another on the same data.
COMMAND defaults to `run` (e.g. `run --role gateway --shard-ids 1 --shard-count 3`, `worker`).
"""

from __future__ import annotations

import sys
import warnings

import yarl

# discord.py imports the deprecated stdlib `audioop` (see tests/adapters/discord/conftest.py).
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    import discord

from bot.cli import main

if __name__ == "__main__":
    api_base, gateway_url = sys.argv[1:3]
    discord.http.Route.BASE = api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
    sys.argv = ["familiar", *(sys.argv[3:] or ["run"])]
    main()
