"""A person's time zone: remembered as a fact (`time_zone`, an IANA name), UTC until they say.

`/timezone Europe/Paris` records it (superseding an earlier one, as facts do), so `/memory` shows
it and `/forget` takes it. Every time shown to the person names its zone, so a wrong default is
visible and easy to correct.
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from memory.base import FactStore, IdentityLinks
from memory.records import Fact
from memory.visibility import DM_SCOPE, Visibility
from persona.reminders.port import ReminderError
from persona.types import IncomingMessage

ZONE_ATTRIBUTE = "time_zone"
DEFAULT_ZONE = "UTC"


@functools.cache
def _load(name: str) -> ZoneInfo:
    return ZoneInfo(name)


async def zone_info(name: str) -> ZoneInfo:
    """The zone, read from the tz database off the loop the first time (then cached)."""
    try:
        return await asyncio.to_thread(_load, name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ReminderError(
            f'"{name}" is not a time zone I know: use a name like Europe/Paris or America/New_York.'
        ) from error


def local_label(at: datetime, zone: ZoneInfo) -> str:
    """As the person reads it: "Wed 2 Dec 09:00 (Europe/Paris)"."""
    local = at.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b %H:%M} ({zone.key})"


class Zones:
    def __init__(self, *, facts: FactStore, links: IdentityLinks, clock: Callable[[], datetime]) -> None:
        self._facts = facts
        self._links = links
        self._clock = clock

    async def owners(self, message: IncomingMessage) -> frozenset[str]:
        return await self.owners_of(message.identity)

    async def owners_of(self, identity: str) -> frozenset[str]:
        return (await self._links.identities(identity)) | {identity}

    async def zone_for(self, message: IncomingMessage) -> ZoneInfo:
        return await self.zone_of(await self.owners(message))

    async def zone_of(self, owners: frozenset[str]) -> ZoneInfo:
        # The person's own facts wherever they said them: their zone is for their own reminders.
        facts = await self._facts.facts(Visibility(owners=owners, scope=DM_SCOPE))
        named = [f for f in facts if f.attribute == ZONE_ATTRIBUTE and f.current]
        named.sort(key=lambda f: f.valid_from, reverse=True)
        for fact in named:
            try:
                return await zone_info(fact.value.strip())
            except ReminderError:
                continue  # a learned value that is no zone name: fall back to an older one, or UTC
        return await zone_info(DEFAULT_ZONE)

    async def set_zone(self, message: IncomingMessage, name: str) -> ZoneInfo:
        zone = await zone_info(name.strip())
        now = self._clock()
        fact = Fact(
            id=f"tz-{uuid.uuid4().hex[:16]}",
            owner=message.identity,
            scope=message.scope,
            subject="user",
            attribute=ZONE_ATTRIBUTE,
            value=zone.key,
            kind="preference",
            confidence=1.0,
            source_ids=(message.event_id,),
            valid_from=now,
            recorded_at=now,
        )
        await self._facts.upsert([fact])
        return zone
