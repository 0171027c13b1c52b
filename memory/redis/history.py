"""Recent conversation history in Redis, capped per session, with an owner index.

Layout (prefix `P`, default "familiar:"):
    P:history:s:<session>    sorted set, one member per turn, score = created_at (epoch seconds);
                             member = 16 hex digits of a global sequence + the turn as JSON, so
                             equal timestamps keep insertion order (the same order SQLite gives)
    P:history:ids:<session>  hash event_id -> member: idempotent append, and removal by id
    P:history:o:<owner>      set of sessions holding the owner's turns: export/forget by owner
    P:history:seq            the global sequence

A sorted set rather than a list, so a turn stored late by the background queue still lands
where it happened. Each session keeps its newest `max_turns`; older turns fall off (Redis is the
hot history, not an archive). Appends and removals are Lua scripts, atomic per session.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from memory.records import Turn
from memory.redis.keys import DEFAULT_PREFIX, KeySpace, text
from memory.sqlite.history import matches, timestamp
from memory.visibility import Visibility

_log = logging.getLogger(__name__)

_SEQ_DIGITS = 16

# KEYS: session zset, session id hash, owner index, sequence.
# ARGV: event_id, score, payload JSON, session name, cap.
_APPEND = """
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 0 end
local member = string.format('%016x', redis.call('INCR', KEYS[4])) .. ARGV[3]
redis.call('ZADD', KEYS[1], ARGV[2], member)
redis.call('HSET', KEYS[2], ARGV[1], member)
redis.call('SADD', KEYS[3], ARGV[4])
local excess = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[5])
if excess > 0 then
  for _, old in ipairs(redis.call('ZRANGE', KEYS[1], 0, excess - 1)) do
    redis.call('HDEL', KEYS[2], cjson.decode(string.sub(old, 17)).event_id)
  end
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, excess - 1)
end
return 1
"""

# KEYS: session zset, session id hash, then the owner indexes of the forgetting person.
# ARGV: session name, then the members to remove. Returns how many were removed.
# The session leaves the owner indexes only once it is empty: checked inside the script, so a
# concurrent append can never be left unindexed (and so unforgettable).
_FORGET = """
local removed = 0
for i = 2, #ARGV do
  if redis.call('ZREM', KEYS[1], ARGV[i]) == 1 then
    removed = removed + 1
    redis.call('HDEL', KEYS[2], cjson.decode(string.sub(ARGV[i], 17)).event_id)
  end
end
if redis.call('ZCARD', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[2])
  for i = 3, #KEYS do redis.call('SREM', KEYS[i], ARGV[1]) end
end
return removed
"""


def _encode(turn: Turn) -> str:
    return json.dumps(
        {
            "event_id": turn.event_id,
            "session": turn.session,
            "role": turn.role,
            "owner": turn.owner,
            "author_name": turn.author_name,
            "text": turn.text,
            "created_at": turn.created_at.isoformat(),
            "scope": turn.scope,
            "platform": turn.platform,
            "room_id": turn.room_id,
            "thread_id": turn.thread_id,
            "persona": turn.persona,
            "kind": turn.kind,  # rows written before it lack it: they decode as messages
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def _decode(member: str) -> Turn:
    data: dict[str, Any] = json.loads(member[_SEQ_DIGITS:])
    data["created_at"] = datetime.fromisoformat(data["created_at"])
    return Turn(**data)


class RedisHistoryStore:
    """`HistoryStore` on a shared `redis.asyncio.Redis` client (not closed here)."""

    def __init__(self, client: Redis, *, prefix: str = DEFAULT_PREFIX, max_turns: int = 1000) -> None:
        self._client = client
        self._key = KeySpace(prefix, "history")
        self._max_turns = max_turns
        # register_script only hashes the source; EVALSHA falls back to EVAL on first use.
        self._append = client.register_script(_APPEND)
        self._forget = client.register_script(_FORGET)

    async def start(self) -> None:
        """Nothing to open: the client belongs to the composition root."""

    async def close(self) -> None:
        """Nothing to release: the client belongs to the composition root."""

    async def append(self, turns: Sequence[Turn]) -> None:
        for turn in turns:
            keys, args = self._append_call(turn)
            await self._append(keys=keys, args=args)

    def append_in(self, pipe: Pipeline, turns: Sequence[Turn]) -> None:
        """Queue these turns' appends on `pipe` (of this store's client), to run with its other
        commands in one round trip. EVAL, not EVALSHA: a pipeline with registered scripts first
        asks the server whether it knows them, a round trip of its own."""
        for turn in turns:
            keys, args = self._append_call(turn)
            pipe.eval(_APPEND, len(keys), *keys, *args)

    def shares(self, client: Redis) -> bool:
        return self._client is client

    def _append_call(self, turn: Turn) -> tuple[list[str], list[str | int]]:
        keys = [
            self._key("s", turn.session),
            self._key("ids", turn.session),
            self._key("o", turn.owner),
            self._key("seq"),
        ]
        args = [turn.event_id, repr(timestamp(turn.created_at)), _encode(turn), turn.session]
        return keys, [*args, self._max_turns]

    async def recent(self, session: str, limit: int, *, visibility: Visibility) -> list[Turn]:
        """Pages back from the newest turn until `limit` visible ones are found, so a turn the rule
        hides never takes a visible one's place. Bounded: a session holds at most `max_turns`."""
        if limit <= 0:
            return []
        view = visibility.conversation()
        key = self._key("s", session)
        found: list[Turn] = []  # newest first
        offset = 0
        while len(found) < limit:
            members = await cast("Any", self._client.zrevrange(key, offset, offset + limit - 1))
            if not members:
                break
            turns = (_decode(text(member)) for member in members)
            found += [turn for turn in turns if view.allows(turn.owner, turn.scope)]
            offset += limit
        return found[:limit][::-1]

    async def export(self, owners: frozenset[str]) -> list[Turn]:
        owned = await self._owned(owners)
        return [_decode(member) for _, members in owned for member in members]

    async def forget(self, owners: frozenset[str], phrase: str | None = None) -> int:
        owner_keys = [self._key("o", owner) for owner in sorted(owners)]
        removed = 0
        for session, members in await self._owned(owners, by_session=True):
            doomed = [member for member in members if matches(_decode(member).text, phrase)]
            if doomed:
                keys = [self._key("s", session), self._key("ids", session), *owner_keys]
                removed += int(await self._forget(keys=keys, args=[session, *doomed]))
        _log.info("forgot %s redis history turns for %s identities", removed, len(owners))
        return removed

    async def _owned(
        self, owners: frozenset[str], *, by_session: bool = False
    ) -> list[tuple[str, list[str]]]:
        """The owners' turn members, grouped by session, or as one time-ordered group."""
        if not owners:
            return []
        raw_sessions = await cast("Any", self._client.sunion([self._key("o", owner) for owner in owners]))
        sessions = sorted(text(session) for session in raw_sessions)
        async with self._client.pipeline(transaction=False) as pipe:
            for session in sessions:
                pipe.zrange(self._key("s", session), 0, -1, withscores=True)
            replies: list[list[tuple[bytes | str, float]]] = await pipe.execute()
        grouped: list[tuple[str, list[tuple[float, str]]]] = []
        for session, reply in zip(sessions, replies, strict=True):
            scored = [(score, text(member)) for member, score in reply]
            grouped.append((session, [item for item in scored if _owner(item[1]) in owners]))
        if by_session:
            return [(session, [member for _, member in items]) for session, items in grouped]
        merged = sorted(item for _, items in grouped for item in items)
        return [("", [member for _, member in merged])]


def _owner(member: str) -> str:
    return str(json.loads(member[_SEQ_DIGITS:])["owner"])
