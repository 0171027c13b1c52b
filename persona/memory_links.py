"""The `/memory web` link: a one-time page of what the bot remembers about the person asking.

The engine only asks for a link; the web server (built by the composition root) issues it,
keeps its token hashed, and serves the page. Without a web server there is no link to give.
"""

from __future__ import annotations

from typing import Protocol


class MemoryPageLinks(Protocol):
    async def issue(self, identity: str) -> str:
        """A single-use, expiring URL to `identity`'s own memory page (their linked identities)."""
        ...

    @property
    def ttl_s(self) -> float:
        """How long an issued link stays valid."""
        ...
