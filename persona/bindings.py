"""Which persona answers in which room or thread, as bound at run time by the `persona` command.

Bindings live in memory and, when a path is given, in a small JSON file (written off the event
loop after each change, read at start). A thread binding wins over its room's binding; with
neither, the adapter's configured persona or the catalog's default applies.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

_log = logging.getLogger(__name__)


def binding_key(platform: str, room_id: str, thread_id: str | None = None) -> str:
    return f"{platform}:{room_id}:{thread_id or '-'}"


class PersonaBindings:
    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._bindings: dict[str, str] = {}
        self._lock = asyncio.Lock()  # serialises file writes so the last change wins on disk

    async def load(self) -> None:
        if self._path is None:
            return
        data = await asyncio.to_thread(_read_json, self._path)
        self._bindings = {str(k): str(v) for k, v in data.items()}

    def get(self, platform: str, room_id: str, thread_id: str | None) -> str | None:
        if thread_id is not None:
            bound = self._bindings.get(binding_key(platform, room_id, thread_id))
            if bound is not None:
                return bound
        return self._bindings.get(binding_key(platform, room_id))

    def all(self) -> dict[str, str]:
        """Every binding, by `binding_key` (for the operator's dashboard)."""
        return dict(self._bindings)

    async def bind(self, platform: str, room_id: str, thread_id: str | None, persona: str) -> None:
        self._bindings[binding_key(platform, room_id, thread_id)] = persona
        await self._save()

    async def _save(self) -> None:
        if self._path is None:
            return
        async with self._lock:
            await asyncio.to_thread(_write_json, self._path, dict(self._bindings))


def _read_json(path: Path) -> dict[str, object]:
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def _write_json(path: Path, data: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
    tmp.replace(path)  # atomic: a crash never leaves half a file
