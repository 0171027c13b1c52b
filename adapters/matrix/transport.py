"""The thin network layer the rest of the adapter talks to: send, edit, typing, media.

It wraps one logged-in nio `AsyncClient`. nio itself honours `M_LIMIT_EXCEEDED` (it sleeps for
`retry_after_ms`, up to `config.max_limit_exceeded` times); on top of that a send that still fails
with a rate limit or a dropped connection is retried here with the server's delay, so one busy
moment never loses a reply. Every attempt of one send carries the same transaction id, so when a
response is lost after the server stored the event, the retry is answered with that event rather
than posting the reply twice.
"""

from __future__ import annotations

import asyncio
import io
import logging
import uuid
from typing import Any

from aiohttp import ClientError
from nio import (
    AsyncClient,
    DownloadError,
    LocalProtocolError,
    RoomSendResponse,
    UploadResponse,
)

_log = logging.getLogger(__name__)

_DEFAULT_RETRY_S = 2.0
_MAX_RETRY_S = 60.0


class Transport:
    def __init__(self, client: AsyncClient, *, send_retries: int) -> None:
        self._client = client
        self._send_retries = send_retries
        self._keys_lock = asyncio.Lock()  # nio refuses concurrent key queries/claims

    @property
    def user_id(self) -> str:
        return str(self._client.user_id)

    async def send(self, room_id: str, content: dict[str, Any], *, txn_id: str | None = None) -> str | None:
        """Send one m.room.message; the event id, or None after retries are spent (logged).

        Every attempt carries the same transaction id (`txn_id`, else one made here), so a retry
        after a response lost on the way back is recognised by the homeserver, not posted twice.
        """
        txn_id = txn_id or f"familiar-{uuid.uuid4().hex}"
        for attempt in range(self._send_retries + 1):
            delay = await self._send_once(room_id, content, txn_id)
            if delay is None or isinstance(delay, str):
                return delay
            if attempt < self._send_retries:
                await asyncio.sleep(delay)
        _log.error("matrix: giving up sending to %s after %s attempts", room_id, self._send_retries + 1)
        return None

    async def _send_once(self, room_id: str, content: dict[str, Any], txn_id: str) -> str | float | None:
        """The event id on success, how long to wait before the next attempt, or None: give up."""
        try:
            await self.ensure_room_keys(room_id)
            response = await self._client.room_send(
                room_id,
                "m.room.message",
                content,
                # A bot cannot verify devices interactively: it encrypts for every device of the
                # room's members, verified or not (the trust policy documented in the README).
                ignore_unverified_devices=True,
                tx_id=txn_id,
            )
        except (ClientError, TimeoutError, LocalProtocolError) as error:
            _log.warning("matrix: send to %s failed (%s); retrying", room_id, type(error).__name__)
            return _DEFAULT_RETRY_S
        if isinstance(response, RoomSendResponse):
            return str(response.event_id)
        retry_ms = getattr(response, "retry_after_ms", None)
        _log.warning("matrix: send to %s refused: %s %s", room_id, response.status_code, response.message)
        if response.status_code == "M_LIMIT_EXCEEDED":
            return min((retry_ms or 0) / 1000 or _DEFAULT_RETRY_S, _MAX_RETRY_S)
        if response.status_code in {"M_FORBIDDEN", "M_UNKNOWN_TOKEN", "M_NOT_FOUND", "M_TOO_LARGE"}:
            return None  # not transient: retrying cannot help
        return _DEFAULT_RETRY_S

    async def ensure_room_keys(self, room_id: str) -> None:
        """Before encrypting: know every member's devices (a member may have joined since the sync)."""
        room = self._client.rooms.get(room_id)
        if room is None or not room.encrypted:
            return
        async with self._keys_lock:
            if self._client.should_query_keys:
                await self._client.keys_query()

    async def key_chores(self) -> None:
        """What nio's sync_forever does after each sync: upload, query and claim keys; flush to-device."""
        client = self._client
        if client.olm is None:
            return
        async with self._keys_lock:
            if client.should_upload_keys:
                await client.keys_upload()
            if client.should_query_keys:
                await client.keys_query()
            if client.should_claim_keys:
                await client.keys_claim(client.get_users_for_key_claiming())
        await client.send_to_device_messages()

    async def typing(self, room_id: str, *, on: bool, timeout_ms: int) -> None:
        try:
            await self._client.room_typing(room_id, typing_state=on, timeout=timeout_ms)
        except (ClientError, TimeoutError) as error:
            _log.debug("matrix: typing notice failed: %s", type(error).__name__)

    async def download(self, mxc: str) -> bytes | None:
        """Media bytes via the authenticated media API (nio uses /_matrix/client/v1/media)."""
        try:
            response = await self._client.download(mxc=mxc)
        except (ClientError, TimeoutError) as error:
            _log.warning("matrix: download of %s failed: %s", mxc, type(error).__name__)
            return None
        if isinstance(response, DownloadError):
            _log.warning("matrix: download of %s refused: %s", mxc, response.message)
            return None
        body = response.body
        return body if isinstance(body, bytes) else None

    async def upload(
        self, data: bytes, *, filename: str, content_type: str, encrypt: bool
    ) -> tuple[str, dict[str, Any] | None] | None:
        """Upload bytes; (mxc url, encryption info for an encrypted room's `file` key) or None."""

        def provider(_got_429: int, _got_timeouts: int) -> io.BytesIO:
            return io.BytesIO(data)  # a fresh reader for each attempt (nio retries call this again)

        try:
            response, keys = await self._client.upload(
                provider,
                content_type=content_type,
                filename=filename,
                encrypt=encrypt,
                filesize=len(data),
            )
        except (ClientError, TimeoutError) as error:
            _log.warning("matrix: upload of %s failed: %s", filename, type(error).__name__)
            return None
        if not isinstance(response, UploadResponse):
            _log.warning("matrix: upload of %s refused: %s", filename, response.message)
            return None
        return str(response.content_uri), keys
