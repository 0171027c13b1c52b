"""`ReplySink` for one Matrix message: typing, streamed edits or a placeholder, the final reply."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from adapters.matrix.render import (
    edit_content,
    fits_in_event,
    message_content,
    reply_relation,
    split_markdown,
)
from adapters.matrix.settings import MatrixSettings
from adapters.matrix.transport import Transport
from persona.types import Reply

_log = logging.getLogger(__name__)

_STREAM_ELLIPSIS = " …"


class MatrixSink:
    """Created per addressed message; `close()` (idempotent) stops the typing indicator."""

    def __init__(
        self,
        *,
        transport: Transport,
        settings: MatrixSettings,
        room_id: str,
        reply_to: str,
        thread_root: str | None,
        on_sent: Callable[[str], None],
    ) -> None:
        self._transport = transport
        self._settings = settings
        self._room_id = room_id
        self._reply_to = reply_to
        self._thread_root = thread_root
        self._on_sent = on_sent
        self._streamed_event: str | None = None  # the message partials (or the placeholder) edit
        self._last_edit = 0.0
        self._typing_task: asyncio.Task[None] | None = None
        self._closed = False
        # One transaction id per reply part or edit, kept across the transport's retries.
        self._txn_prefix = f"familiar-{uuid.uuid4().hex}"
        self._txn_count = 0

    async def typing(self) -> None:
        if self._closed:
            return
        if self._typing_task is None or self._typing_task.done():
            self._typing_task = asyncio.create_task(
                self._keep_typing(), name=f"matrix-typing-{self._room_id}"
            )
        if self._settings.stream_mode == "placeholder" and self._streamed_event is None:
            self._streamed_event = await self._send_new(self._settings.placeholder_text, first=True)

    async def partial(self, text: str) -> None:
        if self._settings.stream_mode != "edit" or self._closed or not text.strip():
            return
        now = time.monotonic()
        if self._streamed_event is not None and now - self._last_edit < self._settings.stream_edit_interval:
            return  # throttled: the next partial or the final reply carries this text
        self._last_edit = now
        shown = self._streaming_view(text)
        if self._streamed_event is None:
            self._streamed_event = await self._send_new(shown, first=True)
        else:
            await self._edit(self._streamed_event, shown)

    async def send(self, reply: Reply) -> None:
        chunks = self._chunks(reply.text)
        first, rest = chunks[0], chunks[1:]
        if self._streamed_event is not None:
            await self._edit(self._streamed_event, first)
        else:
            await self._send_new(first, first=True)
        for chunk in rest:
            await self._send_new(chunk, first=False)
        await self.close()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        task, self._typing_task = self._typing_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await self._transport.typing(self._room_id, on=False, timeout_ms=0)

    def _streaming_view(self, text: str) -> str:
        limit = self._settings.max_chunk_chars
        return text if len(text) <= limit else text[: limit - len(_STREAM_ELLIPSIS)] + _STREAM_ELLIPSIS

    def _chunks(self, text: str) -> list[str]:
        chunks = split_markdown(text or "…", self._settings.max_chunk_chars)
        result: list[str] = []
        for chunk in chunks:
            # Non-ASCII text serialises to more bytes than characters: halve until it fits.
            result.extend(self._fit(chunk))
        return result or ["…"]

    def _fit(self, chunk: str) -> list[str]:
        content = message_content(chunk, msgtype=self._settings.msgtype)
        if fits_in_event(content) or len(chunk) < 64:
            return [chunk]
        parts = split_markdown(chunk, max(len(chunk) // 2, 32))
        return [piece for part in parts for piece in self._fit(part)]

    async def _send_new(self, text: str, *, first: bool) -> str | None:
        content = message_content(text, msgtype=self._settings.msgtype)
        # Only the first message is a reply to the asker; inside a thread every part stays in it.
        if first or self._thread_root is not None:
            content["m.relates_to"] = reply_relation(reply_to=self._reply_to, thread_root=self._thread_root)
        content["m.mentions"] = {}  # never ping anyone by accident (the reply relation shows whom)
        event_id = await self._transport.send(self._room_id, content, txn_id=self._next_txn())
        if event_id is not None:
            self._on_sent(event_id)
        return event_id

    async def _edit(self, event_id: str, text: str) -> None:
        new_content: dict[str, Any] = message_content(text, msgtype=self._settings.msgtype)
        new_content["m.mentions"] = {}
        edited = await self._transport.send(
            self._room_id, edit_content(event_id, new_content), txn_id=self._next_txn()
        )
        if edited is not None:
            self._on_sent(edited)

    def _next_txn(self) -> str:
        self._txn_count += 1
        return f"{self._txn_prefix}-{self._txn_count}"

    async def _keep_typing(self) -> None:
        timeout_ms = self._settings.typing_timeout_ms
        while True:
            await self._transport.typing(self._room_id, on=True, timeout_ms=timeout_ms)
            await asyncio.sleep(self._settings.typing_refresh)
