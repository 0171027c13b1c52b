"""Posting a message nobody just asked for (a reminder, a check-in) into a Matrix room or DM."""

from __future__ import annotations

from typing import Any

from adapters.matrix.render import message_content
from adapters.matrix.transport import Transport
from persona.outbound import DeliveryError, OutboundMessage


def unsolicited_content(message: OutboundMessage) -> dict[str, Any]:
    text = message.text if message.is_dm else f"{message.recipient_id}: {message.text}"
    content = message_content(text, msgtype="m.text")
    # Only the person it is for is mentioned (intentional mentions), never the room.
    content["m.mentions"] = {"user_ids": [message.recipient_id]} if not message.is_dm else {}
    if message.thread_id is not None:
        content["m.relates_to"] = {"rel_type": "m.thread", "event_id": message.thread_id}
    return content


async def post_unsolicited(transport: Transport | None, message: OutboundMessage) -> str:
    """The event id; raises DeliveryError when not logged in or the homeserver refuses."""
    if transport is None:
        raise DeliveryError("matrix is not connected")
    event_id = await transport.send(message.room_id, unsolicited_content(message))
    if event_id is None:
        raise DeliveryError(f"the homeserver refused the message to {message.room_id}")
    return event_id
