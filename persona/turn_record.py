"""A completed turn as the outbox keeps it: JSON that survives a restart (pydantic does the work).

Attachment bytes are left out: post-turn work remembers a file by its kind and name
(`storing.message_text`), and an image's bytes have no place in a table of pending jobs.
"""

from __future__ import annotations

import dataclasses

from pydantic import TypeAdapter

from persona.hooks import CompletedTurn

_ADAPTER: TypeAdapter[CompletedTurn] = TypeAdapter(CompletedTurn)


def encode_turn(turn: CompletedTurn) -> str:
    messages = tuple(
        dataclasses.replace(m, attachments=tuple(dataclasses.replace(a, data=None) for a in m.attachments))
        if m.attachments
        else m
        for m in turn.messages
    )
    return _ADAPTER.dump_json(dataclasses.replace(turn, messages=messages)).decode()


def decode_turn(payload: str) -> CompletedTurn:
    return _ADAPTER.validate_json(payload)
