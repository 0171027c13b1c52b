"""Images and audio that come with a message: fetched, decrypted, size-capped, maybe transcribed.

Audio becomes text only when a `Transcriber` is configured; no speech-to-text provider ships with
the adapter, so without one the audio is passed on with a note saying it was not transcribed.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from nio.crypto.attachments import decrypt_attachment
from nio.exceptions import EncryptionError

from adapters.matrix.settings import MediaLimits
from adapters.matrix.transport import Transport
from persona.types import Attachment, AttachmentKind

_log = logging.getLogger(__name__)

MEDIA_KINDS: dict[str, AttachmentKind] = {"m.image": "image", "m.audio": "audio"}


class Transcriber(Protocol):
    """Speech-to-text; optional. Implementations run off the event loop themselves."""

    async def transcribe(self, data: bytes, *, content_type: str, filename: str) -> str: ...


async def fetch_attachment(
    content: dict[str, Any],
    *,
    transport: Transport,
    limits: MediaLimits,
    transcriber: Transcriber | None,
) -> Attachment | None:
    kind = MEDIA_KINDS.get(str(content.get("msgtype")))
    if kind is None:
        return None
    raw_info = content.get("info")
    info: dict[str, Any] = raw_info if isinstance(raw_info, dict) else {}
    filename = str(content.get("filename") or content.get("body") or kind)
    content_type = str(info.get("mimetype") or "application/octet-stream")
    declared = int(info.get("size") or 0)
    cap = limits.image_bytes if kind == "image" else limits.audio_bytes

    def refused(note: str, size: int = declared) -> Attachment:
        return Attachment(kind=kind, filename=filename, content_type=content_type, size=size, note=note)

    if declared > cap:
        return refused(f"{filename} is too large ({declared} bytes; the limit is {cap}).")
    data = await _download(content, transport)
    if data is None:
        return refused(f"{filename} could not be fetched from the homeserver.")
    if len(data) > cap:
        return refused(f"{filename} is too large ({len(data)} bytes; the limit is {cap}).", len(data))
    attachment = Attachment(
        kind=kind, filename=filename, content_type=content_type, size=len(data), data=data
    )
    if kind == "audio":
        return await _transcribed(attachment, transcriber)
    return attachment


async def _download(content: dict[str, Any], transport: Transport) -> bytes | None:
    encrypted = content.get("file")
    if isinstance(encrypted, dict):
        ciphertext = await transport.download(str(encrypted.get("url")))
        if ciphertext is None:
            return None
        try:
            return await asyncio.to_thread(
                decrypt_attachment,
                ciphertext,
                encrypted["key"]["k"],
                encrypted["hashes"]["sha256"],
                encrypted["iv"],
            )
        except (KeyError, TypeError, ValueError, EncryptionError) as error:
            _log.warning("matrix: cannot decrypt attachment: %s", error)
            return None
    url = content.get("url")
    return await transport.download(url) if isinstance(url, str) else None


async def _transcribed(attachment: Attachment, transcriber: Transcriber | None) -> Attachment:
    if transcriber is None or attachment.data is None:
        return Attachment(
            kind="audio",
            filename=attachment.filename,
            content_type=attachment.content_type,
            size=attachment.size,
            data=attachment.data,
            note="Voice message not transcribed: no speech-to-text provider is configured.",
        )
    try:
        text = await transcriber.transcribe(
            attachment.data, content_type=attachment.content_type, filename=attachment.filename
        )
    except Exception:  # any speech-to-text failure: the message still goes through, with a note
        _log.warning("transcribing %s failed", attachment.filename, exc_info=True)
        return Attachment(
            kind="audio",
            filename=attachment.filename,
            content_type=attachment.content_type,
            size=attachment.size,
            data=attachment.data,
            note="Voice message could not be transcribed.",
        )
    return Attachment(
        kind="audio",
        filename=attachment.filename,
        content_type=attachment.content_type,
        size=attachment.size,
        text=text,
    )
