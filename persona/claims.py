"""The engine's events in progress: claimed under a short lease, renewed, then settled.

An event is claimed (in progress) when it is admitted, its lease renewed by one named task for
as long as it waits for or runs its turn, and settled when its fate is known: completed (the
long "answered" TTL) once a reply or a polite line reached the person, or released when the
engine stopped before answering, so the re-delivered event is answered after the restart. A
process that dies simply stops renewing: its events are claimable again within one lease.

The dedup store fails open (an outage answers rather than drops; see `persona.outages`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass

from memory.base import Claim, EventDedup
from persona.api import Admission
from persona.outages import Outages
from persona.tasks import stop

_log = logging.getLogger(__name__)

STORE = "dedup"


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimSettings:
    lease_s: float  # how long a claim outlives its holder
    done_ttl_s: float  # how long an answered event is refused
    wait_elsewhere_s: float  # how long a re-delivery waits on another process's live claim
    max_hold_s: float  # a claim admitted but never settled is released after this long


@dataclass(slots=True)
class _Held:
    since: float
    admission: Admission | None = None


class EventClaims:
    def __init__(self, dedup: EventDedup, outages: Outages, settings: ClaimSettings) -> None:
        self._dedup = dedup
        self._outages = outages
        self._settings = settings
        self._held: dict[str, _Held] = {}
        self._answered: set[str] = set()
        self._renewal: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._renewal is None:
            self._renewal = asyncio.create_task(self._renew_forever(), name="event-claims-renewal")

    async def close(self) -> None:
        """Stop renewing and release every claim still unsettled: those events were not answered."""
        task, self._renewal = self._renewal, None
        if task is not None:
            await stop(task)
        for key in list(self._held):
            await self.settle(key, interrupted=True)

    async def claim(self, key: str) -> Claim:
        """Claim `key`; another process's live claim is waited on (it may have died mid-turn)."""
        deadline = time.monotonic() + self._settings.wait_elsewhere_s
        state = await self._claim_once(key)
        while state is Claim.ELSEWHERE and time.monotonic() < deadline:
            await asyncio.sleep(self._settings.lease_s / 4)
            state = await self._claim_once(key)
        if state.won:
            self._held[key] = _Held(since=time.monotonic())
        return state

    def keep(self, key: str, admission: Admission) -> None:
        """Remember the admission of a claimed event until `submit` takes it."""
        held = self._held.get(key)
        if held is not None:
            held.admission = admission

    def take(self, key: str) -> Admission | None:
        held = self._held.get(key)
        admission = held.admission if held is not None else None
        if held is not None:
            held.admission = None
        return admission

    def mark_answered(self, keys: Iterable[str]) -> None:
        """A line that is their answer (a limit's, a failed turn's) reached the person: these are
        answered, whatever follows; `settle` completes them. A turn's reply goes through `delivered`."""
        self._answered.update(key for key in keys if key in self._held)

    async def delivered(self, keys: Iterable[str]) -> None:
        """The reply reached the person: answered, and completed in the store now rather than
        when the turn settles (a process killed in between would have its event resumed)."""
        for key in keys:
            if self._held.pop(key, None) is None:
                continue
            self._answered.add(key)  # until `settle`, for the turn's own error path
            await self._call("complete", key)

    def answered(self, key: str) -> bool:
        return key in self._answered

    async def settle(self, key: str, *, interrupted: bool) -> None:
        """Complete the claim, or release it if the turn stopped before anything was delivered."""
        if self._held.pop(key, None) is None:  # never held, or already completed on delivery
            self._answered.discard(key)
            return
        answered = key in self._answered
        self._answered.discard(key)
        if interrupted and not answered:
            await self._call("release", key)
        else:
            await self._call("complete", key)

    async def _claim_once(self, key: str) -> Claim:
        if not self._outages.available(STORE):
            return Claim.NEW  # fail open: answering beats going silent
        try:
            state = await self._dedup.claim(key, self._settings.lease_s)
        except Exception as error:  # any store failure: answer anyway, logged once per outage
            self._outages.failed(STORE, error)
            return Claim.NEW
        self._outages.ok(STORE)
        return state

    async def _call(self, action: str, key: str) -> None:
        if not self._outages.available(STORE):
            return
        try:
            if action == "release":
                await self._dedup.release(key)
            else:
                await self._dedup.complete(key, self._settings.done_ttl_s)
        except Exception as error:  # the lease or the TTL then decides; logged once per outage
            self._outages.failed(STORE, error)
            return
        self._outages.ok(STORE)

    async def _renew_forever(self) -> None:
        while self._renewal is not None:  # besides the cancellation: see `persona.tasks`
            await asyncio.sleep(self._settings.lease_s / 3)
            await self._release_abandoned()
            keys = list(self._held)
            if not keys or not self._outages.available(STORE):
                continue
            try:
                await self._dedup.renew(keys, self._settings.lease_s)
            except Exception as error:  # the turns go on; claims lapse at worst (fail open)
                self._outages.failed(STORE, error)
                continue
            self._outages.ok(STORE)

    async def _release_abandoned(self) -> None:
        """An admitted event whose adapter never submitted it (it failed in between) is let go."""
        cutoff = time.monotonic() - self._settings.max_hold_s
        for key in [key for key, held in self._held.items() if held.since < cutoff]:
            _log.warning(
                "event %s held for over %.0f s without an answer; releasing it",
                key,
                self._settings.max_hold_s,
            )
            await self.settle(key, interrupted=True)
