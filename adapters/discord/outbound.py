"""Posting a message nobody just asked for (a reminder, a check-in) into a channel, thread or DM."""

from __future__ import annotations

import discord

from adapters.discord.sink import safe_mentions
from adapters.discord.splitting import split_message
from persona.outbound import DeliveryError, OutboundMessage


async def post_unsolicited(client: discord.Client | None, message: OutboundMessage) -> None:
    """Raises DeliveryError when the client is not connected or Discord refuses the post."""
    if client is None or not client.is_ready() or client.is_closed():
        raise DeliveryError("discord is not connected")
    # A partial messageable needs no cache: a DM channel or thread known only by id works.
    channel = client.get_partial_messageable(int(message.thread_id or message.room_id))
    recipient = discord.Object(id=int(message.recipient_id))
    text = message.text if message.is_dm else f"<@{message.recipient_id}> {message.text}"
    try:
        for part in split_message(text):
            await channel.send(part, allowed_mentions=safe_mentions(recipient))
    except (discord.HTTPException, OSError) as error:
        raise DeliveryError(f"discord refused the message: {error}") from error
