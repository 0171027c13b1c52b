"""Self-service links: one-time, expiring tokens to one person's memory page.

A token is random and only its SHA-256 is stored, with the identity it was issued to and its
expiry. Opening the link spends the token (a second opening finds nothing) and opens a short page
session bound to that identity; the page then reads the person's linked identities afresh, so
it shows exactly what `/memory export` would, and nothing of anyone else.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass

from web.auth import Session, Sessions, digest

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class Grant:
    identity: str
    expires_at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class PageSession:
    identity: str
    session: Session


class MemoryLinkBook:
    """Implements `persona.memory_links.MemoryPageLinks`; the web server redeems what it issues."""

    def __init__(self, *, ttl_s: float, page_session_s: float) -> None:
        self._ttl_s = ttl_s
        self._grants: dict[str, Grant] = {}
        self._sessions = Sessions(page_session_s)
        self._owners: dict[str, str] = {}  # session hash -> identity
        self.base_url = ""  # set once the server is bound

    @property
    def ttl_s(self) -> float:
        return self._ttl_s

    async def issue(self, identity: str) -> str:
        self._purge()
        token = secrets.token_urlsafe(32)
        self._grants[digest(token)] = Grant(identity=identity, expires_at=time.time() + self._ttl_s)
        return f"{self.base_url}/me/{token}"

    def redeem(self, token: str) -> tuple[str, str] | None:
        """Spend the token: (page session token, identity), or None if unknown, used or expired."""
        grant = self._grants.pop(digest(token), None)
        if grant is None or grant.expires_at <= time.time():
            return None
        session_token, _ = self._sessions.open()
        self._owners[digest(session_token)] = grant.identity
        return session_token, grant.identity

    def page(self, session_token: str | None) -> PageSession | None:
        session = self._sessions.get(session_token)
        if session is None or session_token is None:
            return None
        identity = self._owners.get(digest(session_token))
        return None if identity is None else PageSession(identity=identity, session=session)

    def end(self, session_token: str | None) -> None:
        if session_token:
            self._owners.pop(digest(session_token), None)
        self._sessions.end(session_token)

    def _purge(self) -> None:
        now = time.time()
        for key in [k for k, g in self._grants.items() if g.expires_at <= now]:
            del self._grants[key]
