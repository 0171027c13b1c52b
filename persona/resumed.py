"""Whether an event whose earlier holder died had already been answered.

The engine commits a turn (its messages and the reply, in history) before the final reply is
delivered, and marks the event answered in the dedup store only after delivery. A process killed
between the two leaves a claim that lapses unanswered: the re-delivered event is then RESUMED,
although the person has already seen the reply. History tells the two apart: if the message's
turn is there with a reply after it, the reply went out (or all but its last streamed edit did),
and answering again would show the person the same answer twice.
"""

from __future__ import annotations

import logging

from memory.base import HistoryStore
from memory.visibility import Visibility
from persona.types import IncomingMessage

_log = logging.getLogger(__name__)
LOOKBACK = 50  # turns of the session read back: a crash is noticed within one short lease


async def answered_before(history: HistoryStore, message: IncomingMessage) -> bool:
    visibility = Visibility(owners=frozenset({message.identity}), scope=message.scope)
    try:
        turns = await history.recent(str(message.session), LOOKBACK, visibility=visibility)
    except Exception:  # history unreachable: answer it; a repeat is better than silence
        _log.warning("could not read history to check a resumed event; answering it", exc_info=True)
        return False
    ids = [turn.event_id for turn in turns]
    if message.event_id not in ids:
        return False
    after = ids[ids.index(message.event_id) + 1 :]
    return any(event_id.endswith(":reply") for event_id in after)
