"""Posting a spoken reply as a Matrix voice message (`m.audio`, MSC3245's voice flag), after its text."""

from __future__ import annotations

import logging
import struct
from typing import Any

from adapters.matrix.render import reply_relation
from adapters.matrix.transport import Transport
from persona.outbound import SpokenReply

_log = logging.getLogger(__name__)

_OPUS_RATE = 48_000


def ogg_duration_ms(data: bytes) -> int:
    """Milliseconds of an Ogg/Opus stream from its last page's granule position (1000 if unreadable)."""
    last = data.rfind(b"OggS")
    if last < 0 or len(data) < last + 14:
        return 1000
    (granule,) = struct.unpack_from("<q", data, last + 6)
    return max(granule * 1000 // _OPUS_RATE, 100) if granule > 0 else 1000


def audio_content(spoken: SpokenReply, url: str, keys: dict[str, Any] | None) -> dict[str, Any]:
    duration = ogg_duration_ms(spoken.data)
    content: dict[str, Any] = {
        "msgtype": "m.audio",
        "body": "Voice reply",
        "filename": spoken.filename,
        "info": {"mimetype": spoken.content_type, "size": len(spoken.data), "duration": duration},
        "org.matrix.msc1767.audio": {"duration": duration},
        "org.matrix.msc3245.voice": {},  # clients show it as a voice message with a play button
        "m.mentions": {},
    }
    if keys is not None:
        content["file"] = {**keys, "url": url}
    else:
        content["url"] = url
    return content


async def send_voice(
    transport: Transport,
    room_id: str,
    spoken: SpokenReply,
    *,
    encrypt: bool,
    reply_to: str,
    thread_root: str | None,
) -> str | None:
    """The event id of the posted audio, or None (logged: the text reply already stands)."""
    uploaded = await transport.upload(
        spoken.data, filename=spoken.filename, content_type=spoken.content_type, encrypt=encrypt
    )
    if uploaded is None:
        _log.warning("matrix: voice reply in %s left out: upload failed", room_id)
        return None
    url, keys = uploaded
    content = audio_content(spoken, url, keys if encrypt else None)
    content["m.relates_to"] = reply_relation(reply_to=reply_to, thread_root=thread_root)
    return await transport.send(room_id, content)
