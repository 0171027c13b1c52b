"""Posting a spoken reply as a Discord voice message (after its text).

discord.py has no helper for voice messages: they are a message with the IS_VOICE_MESSAGE flag
whose only attachment carries `duration_secs` and a `waveform`, and no text (Discord refuses
content on them, hence the text goes first as its own message). The duration is read from the
Ogg stream's last granule position (Opus always counts at 48 kHz).
"""

from __future__ import annotations

import base64
import io
import logging
import struct
from typing import Any

import discord
from discord.http import handle_message_parameters

from persona.outbound import SpokenReply

_log = logging.getLogger(__name__)

_OPUS_RATE = 48_000
_FLAT_WAVEFORM = base64.b64encode(bytes([96] * 64)).decode()  # a plain bar; Discord only draws it


def ogg_duration_s(data: bytes) -> float:
    """Seconds of an Ogg/Opus stream (its last page's granule position), 1.0 when unreadable."""
    last = data.rfind(b"OggS")
    if last < 0 or len(data) < last + 14:
        return 1.0
    (granule,) = struct.unpack_from("<q", data, last + 6)
    return max(granule / _OPUS_RATE, 0.1) if granule > 0 else 1.0


class _VoiceFile(discord.File):
    def __init__(self, spoken: SpokenReply) -> None:
        super().__init__(io.BytesIO(spoken.data), filename=spoken.filename)
        self.duration_s = ogg_duration_s(spoken.data)

    def to_dict(self, index: int) -> dict[str, Any]:
        payload = super().to_dict(index)
        payload.update(duration_secs=round(self.duration_s, 2), waveform=_FLAT_WAVEFORM)
        return payload


async def send_voice_message(
    client: discord.Client, channel_id: int, spoken: SpokenReply, *, reply_to: discord.Message | None
) -> bool:
    """True once posted; a refusal is logged (the text reply already stands)."""
    flags = discord.MessageFlags()
    flags.voice = True
    extra: dict[str, Any] = {}
    if reply_to is not None:  # absent, not null, when there is nothing to reply to (a thread)
        extra["message_reference"] = reply_to.to_reference(fail_if_not_exists=False).to_dict()
    params = handle_message_parameters(
        file=_VoiceFile(spoken), flags=flags, allowed_mentions=discord.AllowedMentions.none(), **extra
    )
    try:
        with params:
            await client.http.send_message(channel_id, params=params)
    except discord.HTTPException as error:
        _log.warning("voice reply not posted in %s: %s %s", channel_id, error.status, error.text)
        return False
    return True
