"""What a completed turn leaves to do, as outbox jobs, and how each job is done.

One job stores the turn's long-term memory items; one per `PostTurnHook` learns from it (none
for a failed turn: it taught nothing, and an outage must not multiply provider calls); a
"history" job appends the turn's history when its own store refused it at commit time. Every
job carries the whole turn, so it can run in another process after a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from memory.base import OutboxJob, Stores, Tombstone
from persona.forgetting import forget_stored
from persona.hooks import CompletedTurn, PostTurnHook
from persona.storing import history_turns, memory_items
from persona.turn_record import decode_turn, encode_turn

_log = logging.getLogger(__name__)


class TurnJobs:
    def __init__(self, *, stores: Stores, hooks: Sequence[PostTurnHook]) -> None:
        self._stores = stores
        self._hooks = {f"hook:{hook.name}": hook for hook in hooks}

    def for_turn(self, turn: CompletedTurn) -> list[OutboxJob]:
        payload = encode_turn(turn)
        kinds = ["memory", *(self._hooks if turn.reply_text else ())]
        return [_job(kind, turn, payload) for kind in kinds]

    def history(self, turn: CompletedTurn, like: OutboxJob) -> OutboxJob:
        return _job("history", turn, like.payload)

    async def execute(self, job: OutboxJob) -> None:
        turn = decode_turn(job.payload)
        if job.kind == "memory":
            items = memory_items(turn)
            if items:
                await self._stores.memory.add(items)
        elif job.kind == "history":
            await self._stores.history.append(history_turns(turn))
        elif (hook := self._hooks.get(job.kind)) is not None:
            await hook.after_turn(turn)
        else:  # a hook configured before the restart and not now
            _log.warning("no post-turn hook for job %s; dropped", job.key)

    async def forget_again(self, tombstone: Tombstone) -> None:
        await forget_stored(self._stores, frozenset({tombstone.owner}), tombstone.phrase)


def _job(kind: str, turn: CompletedTurn, payload: str) -> OutboxJob:
    return OutboxJob(
        key=f"{kind}:{turn.messages[-1].platform}:{turn.key}",
        kind=kind,
        payload=payload,
        owners=frozenset(m.identity for m in turn.messages),
        origin_ts=min(m.timestamp for m in turn.messages).timestamp(),
    )
