"""The operator's login: a password checked against a salted hash, sessions, CSRF, a rate limit.

The password is hashed with scrypt once at start (a random salt per process) and only the hash is
kept by this object; each login attempt is hashed the same way, off the event loop, and compared
in constant time. Sessions and CSRF tokens are random; the server keeps only their SHA-256, so a
leaked memory dump of the table does not hand out a live cookie. Failed logins are counted per
client address in a sliding window and refused beyond the limit, before any hashing is done.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import time
from collections import defaultdict, deque
from dataclasses import dataclass

_log = logging.getLogger(__name__)

_SCRYPT: dict[str, int] = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True, kw_only=True)
class Session:
    csrf: str
    expires_at: float


class LoginLimiter:
    """At most `attempts` failures per client within `window_s`."""

    def __init__(self, attempts: int, window_s: float) -> None:
        self._attempts = attempts
        self._window_s = window_s
        self._failures: defaultdict[str, deque[float]] = defaultdict(deque)

    def blocked(self, client: str) -> bool:
        failures = self._failures[client]
        cutoff = time.monotonic() - self._window_s
        while failures and failures[0] < cutoff:
            failures.popleft()
        return len(failures) >= self._attempts

    def failed(self, client: str) -> None:
        self._failures[client].append(time.monotonic())


class Sessions:
    """Random session ids held by their hash, each with its CSRF token and expiry."""

    def __init__(self, ttl_s: float) -> None:
        self._ttl_s = ttl_s
        self._by_hash: dict[str, Session] = {}

    def open(self) -> tuple[str, Session]:
        token = secrets.token_urlsafe(32)
        session = Session(csrf=secrets.token_urlsafe(24), expires_at=time.time() + self._ttl_s)
        self._by_hash[digest(token)] = session
        return token, session

    def get(self, token: str | None) -> Session | None:
        if not token:
            return None
        key = digest(token)
        session = self._by_hash.get(key)
        if session is not None and session.expires_at <= time.time():
            del self._by_hash[key]
            return None
        return session

    def end(self, token: str | None) -> None:
        if token:
            self._by_hash.pop(digest(token), None)


class AdminAuth:
    def __init__(self, password: str | None, *, attempts: int, window_s: float, session_s: float) -> None:
        self._salt = secrets.token_bytes(16)
        self._hash = _scrypt(password, self._salt) if password else None
        self.limiter = LoginLimiter(attempts, window_s)
        self.sessions = Sessions(session_s)

    @property
    def enabled(self) -> bool:
        return self._hash is not None

    async def check(self, attempt: str) -> bool:
        if self._hash is None or not attempt:
            return False
        # scrypt takes ~50 ms of CPU by design: never on the event loop.
        hashed = await asyncio.to_thread(_scrypt, attempt, self._salt)
        return hmac.compare_digest(hashed, self._hash)


def _scrypt(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)


def csrf_ok(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected, given or "")
