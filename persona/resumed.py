"""What an event whose earlier holder died had already been given.

The engine commits a turn (its messages and the reply, in history) before the final reply is
delivered, and marks the event answered in the dedup store as soon as delivery returns. A process
killed between the two leaves a claim that lapses unanswered: the re-delivered event is then
RESUMED with its turn already in history. The person saw at most the reply's streamed start
(a partial edit, or nothing), so the committed reply is given again, whole, without a second
model call: its memory is already the reply the person will now see, and nothing is written
twice. A message folded into a later message's turn is answered by that message's reply.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from memory.base import HistoryStore
from memory.visibility import Visibility
from persona.types import IncomingMessage

_log = logging.getLogger(__name__)
LOOKBACK = 50  # turns of the session read back: a crash is noticed within one short lease


@dataclass(frozen=True, slots=True)
class Committed:
    """The message's turn is in history. `reply` is its own committed reply's text; None when it
    was folded into a later message's turn (that message's re-delivery gives the reply)."""

    reply: str | None


async def committed_turn(history: HistoryStore, message: IncomingMessage) -> Committed | None:
    """The message's committed turn, or None when it has none (it must be answered now)."""
    visibility = Visibility(owners=frozenset({message.identity}), scope=message.scope)
    try:
        turns = await history.recent(str(message.session), LOOKBACK, visibility=visibility)
    except Exception:  # history unreachable: answer it; a repeat is better than silence
        _log.warning("could not read history to check a resumed event; answering it", exc_info=True)
        return None
    ids = [turn.event_id for turn in turns]
    if message.event_id not in ids:
        return None
    after = turns[ids.index(message.event_id) + 1 :]
    replies = [turn for turn in after if turn.event_id.endswith(":reply")]
    if not replies:
        return None
    own = f"{message.event_id}:reply"
    return Committed(reply=next((turn.text for turn in replies if turn.event_id == own), None))
