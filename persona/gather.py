"""Gathering a turn's context: every source concurrently, each under its own deadline.

A source that is slow or fails degrades to empty for this turn: it is logged and counted in
`stats` (``gather.<source>.timeout`` / ``gather.<source>.error``), never allowed to delay the
reply past its deadline or to kill it. Everything returned is filtered again here by the one
rule of memory.visibility (each source through the view its store uses), whatever the store
did: a privacy leak needs two bugs, not one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TypeVar

from memory.base import Stores
from memory.records import (
    Dossier,
    Fact,
    JournalEntry,
    KBEntry,
    MemoryHit,
    MemoryQuery,
    Turn,
)
from memory.visibility import Visibility, knowledge_scopes
from persona.outages import Outages
from persona.personas import PersonaSpec
from persona.settings import SourceDeadlines

_log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class GatherRequest:
    identity: str  # the asker, "platform:user_id"
    scope: str  # "dm" or "room:<platform>:<room_id>"
    room_scope: str  # "room:<platform>:<room_id>" even in a DM (room-bound KB entries)
    session: str
    query: str  # what to search memories and KB with (the merged messages' text)
    persona: PersonaSpec
    now: datetime
    is_dm: bool
    asker_name: str = ""  # how the asker is called here: "what did Tom say" asks about their lines


@dataclass(frozen=True, slots=True, kw_only=True)
class Gathered:
    visibility: Visibility
    history: tuple[Turn, ...] = ()
    memories: tuple[MemoryHit, ...] = ()
    kb: tuple[KBEntry, ...] = ()
    facts: tuple[Fact, ...] = ()
    dossier: Dossier | None = None
    journal: tuple[JournalEntry, ...] = ()
    degraded: frozenset[str] = field(default_factory=frozenset)


async def gather_context(
    stores: Stores,
    request: GatherRequest,
    deadlines: SourceDeadlines,
    stats: Counter[str],
    outages: Outages | None = None,
) -> Gathered:
    source = _Guard(stats, outages)
    owners = await source.run("links", deadlines.links_s, lambda: stores.links.identities(request.identity))
    visibility = Visibility(
        owners=(owners or frozenset()) | {request.identity},
        scope=request.scope,
        room_shared=request.persona.memory.room_shared and not request.is_dm,
    )
    knobs = request.persona.memory
    async with asyncio.TaskGroup() as group:
        history = group.create_task(
            source.run(
                "history",
                deadlines.history_s,
                lambda: stores.history.recent(request.session, knobs.history_turns, visibility=visibility),
            )
        )
        memories = group.create_task(
            source.run("memory", deadlines.memory_s, lambda: _search(stores, request, visibility))
        )
        kb = group.create_task(
            source.run(
                "kb",
                deadlines.kb_s,
                lambda: stores.kb.select(
                    query=request.query,
                    recent_text=request.query,
                    scopes=knowledge_scopes(request.persona.name, request.room_scope),
                    token_budget=knobs.kb_budget_tokens,
                ),
            )
        )
        facts = group.create_task(source.run("facts", deadlines.facts_s, lambda: _facts(stores, visibility)))
        journal = group.create_task(
            source.run(
                "journal",
                deadlines.journal_s,
                lambda: stores.journal.recent(request.persona.name, visibility, knobs.journal_entries),
            )
        )
    fact_list, dossier = facts.result() or ([], None)
    return _visible_only(
        visibility,
        history=history.result() or [],
        memories=memories.result() or [],
        kb=kb.result() or [],
        facts=fact_list,
        dossier=dossier,
        journal=journal.result() or [],
        degraded=frozenset(source.degraded),
    )


async def _search(stores: Stores, request: GatherRequest, visibility: Visibility) -> list[MemoryHit]:
    k = request.persona.memory.memories_k
    if k == 0 or not request.query.strip():
        return []
    query = MemoryQuery(
        text=request.query,
        visibility=visibility,
        now=request.now,
        k=k,
        asker_name=request.asker_name,
        persona_name=request.persona.name,
    )
    return await stores.memory.search(query)


async def _facts(stores: Stores, visibility: Visibility) -> tuple[list[Fact], Dossier | None]:
    facts, dossier = await asyncio.gather(stores.facts.facts(visibility), stores.facts.dossier(visibility))
    return facts, dossier


def _visible_only(
    visibility: Visibility,
    *,
    history: list[Turn],
    memories: list[MemoryHit],
    kb: list[KBEntry],
    facts: list[Fact],
    dossier: Dossier | None,
    journal: list[JournalEntry],
    degraded: frozenset[str],
) -> Gathered:
    in_history = {turn.event_id for turn in history}
    conversation, personal = visibility.conversation(), visibility.personal()
    return Gathered(
        visibility=visibility,
        # Tool calls and results are their caller's records, not conversation: in a room everyone
        # sees the conversation, so they would reach other people's prompts.
        history=tuple(
            turn for turn in history if turn.kind == "message" and conversation.allows(turn.owner, turn.scope)
        ),
        memories=tuple(
            hit
            for hit in memories
            if visibility.allows(hit.item.owner, hit.item.scope)
            and not in_history.intersection(hit.item.source_ids)  # already in the prompt as history
        ),
        kb=tuple(kb),
        facts=tuple(f for f in facts if f.current and personal.allows(f.owner, f.scope)),
        dossier=dossier if dossier and personal.allows(dossier.owner, dossier.scope) else None,
        journal=tuple(entry for entry in journal if visibility.allows(entry.owner, entry.scope)),
        degraded=degraded,
    )


class _Guard:
    """Runs one source under its deadline, turning lateness and failure into a default."""

    def __init__(self, stats: Counter[str], outages: Outages | None = None) -> None:
        self._stats = stats
        self._outages = outages or Outages(stats)
        self.degraded: set[str] = set()

    async def run(self, name: str, deadline_s: float, call: Callable[[], Awaitable[T]]) -> T | None:
        """The source's result, or None when it was late or failed. A failing source is an
        outage: logged once, then skipped (empty at once) until a probe finds it back."""
        store = f"gather.{name}"
        if not self._outages.available(store):
            self._degrade(name, "error")
            return None
        started = time.perf_counter()
        try:
            async with asyncio.timeout(deadline_s):
                result = await call()
        except TimeoutError:
            self._degrade(name, "timeout")
            _log.warning("gather: %s late after %.0f ms, continuing without it", name, deadline_s * 1000)
            return None
        except Exception as error:  # an optional source must never fail the turn; logged and counted
            self._degrade(name, "error")
            self._outages.failed(store, error)
            return None
        self._outages.ok(store)
        self._stats[f"gather.{name}.ok"] += 1
        self._stats[f"gather.{name}.ms_total"] += round((time.perf_counter() - started) * 1000)
        return result

    def _degrade(self, name: str, why: str) -> None:
        self.degraded.add(name)
        self._stats[f"gather.{name}.{why}"] += 1


class ConstraintMemo:
    """The last constraints seen per asker and place, so they reach the prompt even when the fact
    store is late or down for a turn (a constraint the persona forgets does real harm)."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._capacity = capacity
        self._known: OrderedDict[tuple[frozenset[str], str], tuple[Fact, ...]] = OrderedDict()

    def fill_in(self, gathered: Gathered) -> Gathered:
        key = (gathered.visibility.owners, gathered.visibility.scope)
        if "facts" not in gathered.degraded:
            self._known[key] = tuple(f for f in gathered.facts if f.kind == "constraint")
            self._known.move_to_end(key)
            if len(self._known) > self._capacity:
                self._known.popitem(last=False)
            return gathered
        remembered = self._known.get(key, ())
        return replace(gathered, facts=remembered) if remembered else gathered
