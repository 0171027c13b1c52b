"""What the adapter persists between runs: credentials, device, sync token, known DM rooms.

One small JSON file in the store directory (mode 0600: it holds the access token). Keeping the
device id and token means a restart reuses the same device (and its E2EE keys) instead of logging
in again; keeping the sync token means a restart resumes where it stopped and old events are not
delivered again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

_log = logging.getLogger(__name__)

_FILE_NAME = "session.json"


@dataclass(frozen=True, slots=True, kw_only=True)
class SavedSession:
    user_id: str
    device_id: str
    access_token: str
    next_batch: str | None = None
    direct_rooms: frozenset[str] = field(default_factory=frozenset)


class SessionFile:
    """Reads and atomically rewrites `session.json`; all file I/O runs off the event loop."""

    def __init__(self, directory: Path) -> None:
        self._path = directory / _FILE_NAME
        self._current: SavedSession | None = None
        self._lock = asyncio.Lock()

    @property
    def current(self) -> SavedSession | None:
        return self._current

    async def load(self) -> SavedSession | None:
        self._current = await asyncio.to_thread(self._read)
        return self._current

    async def save(self, session: SavedSession) -> None:
        async with self._lock:
            self._current = session
            await asyncio.to_thread(self._write, session)

    async def update(self, *, next_batch: str | None = None, direct_room: str | None = None) -> None:
        current = self._current
        if current is None:
            return
        rooms = current.direct_rooms | {direct_room} if direct_room else current.direct_rooms
        await self.save(replace(current, next_batch=next_batch or current.next_batch, direct_rooms=rooms))

    async def forget_login(self) -> None:
        async with self._lock:
            self._current = None
            await asyncio.to_thread(self._path.unlink, True)

    def _read(self) -> SavedSession | None:
        try:
            raw = json.loads(self._path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            _log.warning("matrix: unreadable %s, logging in afresh", self._path)
            return None
        return SavedSession(
            user_id=str(raw["user_id"]),
            device_id=str(raw["device_id"]),
            access_token=str(raw["access_token"]),
            next_batch=raw.get("next_batch"),
            direct_rooms=frozenset(raw.get("direct_rooms", [])),
        )

    def _write(self, session: SavedSession) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "user_id": session.user_id,
            "device_id": session.device_id,
            "access_token": session.access_token,
            "next_batch": session.next_batch,
            "direct_rooms": sorted(session.direct_rooms),
        }
        temporary = self._path.with_suffix(".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(payload, handle)
        os.replace(temporary, self._path)
