"""One person's records as the dashboard and their own page show them: every fact (current and
superseded) with the messages it came from, the dossier, long-term items with their source
message, the journal entries about them, their usage and their memory timeline.

Everything is read through the stores' interfaces with the person's linked identities and a DM
view (which shows all of one's own records, as `/memory export` does), so the page of one person
never holds another's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from memory.directory import DayCount
from memory.records import DM_SCOPE, Dossier, Fact, JournalEntry, MemoryItem, Visibility
from persona.usage import usage_day, usage_key
from web.charts import Bar
from web.context import WebContext

_DAYS = 14


@dataclass(frozen=True, slots=True, kw_only=True)
class FactRow:
    fact: Fact
    sources: tuple[str, ...]  # the texts of the messages it was learned from


@dataclass(frozen=True, slots=True, kw_only=True)
class MemoryRow:
    item: MemoryItem
    sources: tuple[str, ...]  # for a derived item, the turns it came from


@dataclass(frozen=True, slots=True, kw_only=True)
class PersonRecords:
    identity: str
    owners: frozenset[str]
    facts: list[FactRow]
    dossier: Dossier | None
    memories: list[MemoryRow]
    journal: list[JournalEntry] = field(default_factory=list)
    usage: list[Bar] = field(default_factory=list)
    timeline: list[Bar] = field(default_factory=list)

    @property
    def current_facts(self) -> list[FactRow]:
        return [row for row in self.facts if row.fact.current]

    @property
    def superseded_facts(self) -> list[FactRow]:
        return [row for row in self.facts if not row.fact.current]


async def person_records(ctx: WebContext, identity: str, *, operator: bool) -> PersonRecords:
    stores = ctx.stores
    owners = (await stores.links.identities(identity)) | {identity}
    everything = Visibility(owners=owners, scope=DM_SCOPE)
    items = await stores.memory.export(owners)
    said = await _said(ctx, owners, items)
    facts = await stores.facts.facts(everything, include_superseded=True)
    records = PersonRecords(
        identity=identity,
        owners=owners,
        facts=[FactRow(fact=f, sources=_texts(said, f.source_ids)) for f in _newest_first(facts)],
        dossier=await stores.facts.dossier(everything),
        memories=[
            _memory_row(item, said) for item in sorted(items, key=lambda i: i.created_at, reverse=True)
        ],
    )
    if not operator:
        return records
    return PersonRecords(
        **{name: getattr(records, name) for name in ("identity", "owners", "facts", "dossier", "memories")},
        journal=await _journal(ctx, owners, everything),
        usage=await usage_bars(ctx, owners),
        timeline=_every_day(await ctx.directory.memory_days(owners, days=_DAYS)),
    )


async def _said(ctx: WebContext, owners: frozenset[str], items: list[MemoryItem]) -> dict[str, str]:
    """Event id -> what was said, from history and from the long-term items of turns."""
    said = {turn.event_id: turn.text for turn in await ctx.stores.history.export(owners)}
    for item in items:
        if item.kind == "turn":
            for source in item.source_ids:
                said.setdefault(source, item.text)
    return said


def _texts(said: dict[str, str], ids: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(said[i] for i in ids if i in said))


def _memory_row(item: MemoryItem, said: dict[str, str]) -> MemoryRow:
    sources = _texts(said, item.source_ids) if item.kind == "derived" else ()
    return MemoryRow(item=item, sources=sources)


def _newest_first(facts: list[Fact]) -> list[Fact]:
    return sorted(facts, key=lambda f: (f.attribute, f.valid_from), reverse=True)


async def _journal(ctx: WebContext, owners: frozenset[str], everything: Visibility) -> list[JournalEntry]:
    entries: list[JournalEntry] = []
    for persona in ctx.catalog.names():
        found = await ctx.stores.journal.recent(persona, everything, 500)
        entries += [e for e in found if e.owner in owners]
    return sorted(entries, key=lambda e: e.created_at, reverse=True)


def _every_day(counts: list[DayCount]) -> list[Bar]:
    """One bar per day of the window, quiet days included, so the chart reads as a timeline."""
    by_day = {c.day: c.count for c in counts}
    today = datetime.now(UTC)
    days = [usage_day(today - timedelta(days=back)) for back in range(_DAYS - 1, -1, -1)]
    return [Bar(label=day, value=by_day.get(day, 0)) for day in days]


async def usage_bars(ctx: WebContext, owners: frozenset[str]) -> list[Bar]:
    """Tokens per UTC day over the last two weeks, all linked identities together."""
    today = datetime.now(UTC)
    bars = []
    for back in range(_DAYS - 1, -1, -1):
        day = usage_day(today - timedelta(days=back))
        total = 0
        for owner in sorted(owners):
            total += await ctx.stores.limits.usage(usage_key(owner), day)
        bars.append(Bar(label=day, value=total))
    return bars
