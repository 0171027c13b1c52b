"""The persona's journal: an entry per conversation once it goes quiet, a reflection each morning.

`Journaler` is a post-turn hook that only notes activity (no LLM call on the hook). The
`JournalScheduler` (persona.learning.scheduler) later asks it to write the entries that are due:
a conversation is due once it has been quiet for the configured gap, or when its day is over.
Each entry carries the conversation's privacy scope and, when one person spoke, their identity.

Pending conversations live in memory: after a restart, conversations that were still open are
not journaled. That loses at most one gap's worth of notes and keeps the hook free of I/O.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Protocol

from memory.base import JournalStore
from memory.records import DM_SCOPE, JournalEntry
from persona.hooks import CompletedTurn
from persona.learning.prompts import (
    Line,
    describe_place,
    journal_entry_system,
    journal_entry_user,
    reflection_system,
    reflection_user,
)
from persona.learning.settings import LearningSettings
from persona.providers.base import ChatMessage, ChatRequest, LLMProvider, ProviderError

_log = logging.getLogger(__name__)
_MAX_LINE_CHARS = 500
_MAX_ATTEMPTS = 3
_SEEN_LIMIT = 10_000


class JournalSink(Protocol):
    """Where the owner-readable copy goes (memory.journal_files.JournalFiles)."""

    async def append(self, entry: JournalEntry) -> None: ...


class JournalDayReader(Protocol):
    """Every entry of one day, all scopes (memory.sqlite.journal.SqliteJournalStore.day)."""

    async def day(self, persona: str, day: str) -> list[JournalEntry]: ...


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


@dataclass(slots=True, kw_only=True)
class _Conversation:
    """Activity of one session since its last journal entry (mutable, owned by Journaler)."""

    persona: str
    session: str
    scope: str
    last_at: datetime
    owners: set[str] = field(default_factory=set)
    lines: list[Line] = field(default_factory=list)
    source_ids: list[str] = field(default_factory=list)
    attempts: int = 0
    retry_at: datetime | None = None


class _Writer:
    """One LLM call, then the store and the Markdown file: shared by entries and reflections."""

    def __init__(self, *, provider: LLMProvider, store: JournalStore, files: JournalSink, model: str) -> None:
        self._provider = provider
        self._store = store
        self._files = files
        self._model = model

    async def compose(self, system: str, user: str) -> str:
        request = ChatRequest(
            model=self._model,
            system=system,
            messages=(ChatMessage(role="user", content=user),),
            max_tokens=400,
            temperature=0.7,
        )
        result = await self._provider.chat(request)
        return result.text.strip()

    async def save(self, entry: JournalEntry) -> None:
        await self._store.add(entry)
        await self._files.append(entry)


class Journaler:
    """PostTurnHook: notes activity; writes an entry per conversation when it is due."""

    name = "journal"

    def __init__(
        self,
        *,
        provider: LLMProvider,
        store: JournalStore,
        files: JournalSink,
        model: str,
        settings: LearningSettings,
        clock: Callable[[], datetime],
    ) -> None:
        self._writer = _Writer(provider=provider, store=store, files=files, model=settings.model or model)
        self._settings = settings
        self._clock = clock
        self._open: dict[tuple[str, str], _Conversation] = {}
        self._ready: list[_Conversation] = []  # day ended: due now
        # Recently noted turn keys (bounded): a retried job must not add its lines twice.
        self._seen: dict[str, None] = {}
        self.on_activity: Callable[[], None] = lambda: None  # set by the scheduler to wake itself

    async def after_turn(self, turn: CompletedTurn) -> None:
        if turn.key in self._seen:
            return  # a retried job: this turn is already noted
        self._seen[turn.key] = None
        if len(self._seen) > _SEEN_LIMIT:
            del self._seen[next(iter(self._seen))]
        at = max([turn.finished_at, *(m.timestamp for m in turn.messages)])
        key = (turn.persona, turn.session)
        convo = self._open.get(key)
        if convo is not None and self._day(convo.last_at) != self._day(at):
            self._ready.append(self._open.pop(key))
            convo = None
        if convo is None:
            convo = _Conversation(persona=turn.persona, session=turn.session, scope=turn.scope, last_at=at)
            self._open[key] = convo
        self._note(convo, turn, at)
        self.on_activity()

    def _note(self, convo: _Conversation, turn: CompletedTurn, at: datetime) -> None:
        convo.last_at = at
        # Every author of a merged turn took part: one author's name must not own the others' words.
        convo.owners.update(m.identity for m in turn.messages)
        for m in turn.messages:
            convo.lines.append(Line(author=m.author_name, text=m.text[:_MAX_LINE_CHARS], at=m.timestamp))
            convo.source_ids.append(m.event_id)
        if turn.reply_text:
            convo.lines.append(Line(author=turn.persona, text=turn.reply_text[:_MAX_LINE_CHARS], at=at))
            convo.source_ids.append(turn.reply_event_id)
        del convo.lines[: -self._settings.max_conversation_lines]

    def _day(self, at: datetime) -> date:
        return at.astimezone(self._settings.zone).date()

    def _due_at(self, convo: _Conversation) -> datetime:
        if convo.retry_at is not None:
            return convo.retry_at
        quiet = convo.last_at + timedelta(seconds=self._settings.quiet_gap_s)
        next_day = datetime.combine(self._day(convo.last_at) + timedelta(days=1), time(), self._settings.zone)
        return min(quiet, next_day)

    def next_due(self) -> datetime | None:
        """When the next entry is due (None: nothing pending)."""
        if self._ready:
            return self._clock()
        dues = [self._due_at(c) for c in self._open.values()]
        return min(dues) if dues else None

    async def flush_due(self, now: datetime) -> int:
        """Write an entry for every conversation that is due; returns how many were written."""
        due = [k for k, c in self._open.items() if self._due_at(c) <= now]
        batch = self._ready + [self._open.pop(k) for k in due]
        self._ready = []
        written = 0
        for convo in batch:
            written += await self._write(convo, now)
        return written

    async def _write(self, convo: _Conversation, now: datetime) -> int:
        try:
            text = await self._writer.compose(
                journal_entry_system(convo.persona),
                journal_entry_user(place=describe_place(convo.scope), lines=convo.lines),
            )
        except ProviderError as exc:
            self._requeue(convo, now, exc)
            return 0
        if not text:
            return 0
        await self._writer.save(self._entry(convo, text))
        return 1

    def _requeue(self, convo: _Conversation, now: datetime, exc: ProviderError) -> None:
        convo.attempts += 1
        if not exc.kind.retryable or convo.attempts >= _MAX_ATTEMPTS:
            _log.warning("journal entry for %s dropped (%s)", convo.session, exc.kind.value)
            return
        convo.retry_at = now + timedelta(seconds=self._settings.quiet_gap_s)
        self._open.setdefault((convo.persona, convo.session), convo)

    def _entry(self, convo: _Conversation, text: str) -> JournalEntry:
        owner = next(iter(convo.owners)) if len(convo.owners) == 1 else None
        return JournalEntry(
            id=f"journal:{_digest(convo.persona, convo.session, *convo.source_ids)}",
            persona=convo.persona,
            day=self._day(convo.last_at).isoformat(),
            kind="entry",
            text=text,
            scope=convo.scope,
            created_at=self._clock(),
            owner=owner,
            source_ids=tuple(convo.source_ids),
        )


class Reflector:
    """Each morning: reads yesterday's entries and writes today's intentions.

    One reflection per scope (and per person for DMs), so what was said in a DM or in one room
    never flows into a reflection shown elsewhere.
    """

    def __init__(
        self,
        *,
        provider: LLMProvider,
        store: JournalStore,
        reader: JournalDayReader,
        files: JournalSink,
        model: str,
        settings: LearningSettings,
        clock: Callable[[], datetime],
        personas: Sequence[str],
    ) -> None:
        self._writer = _Writer(provider=provider, store=store, files=files, model=settings.model or model)
        self._reader = reader
        self._clock = clock
        self._personas = tuple(personas)

    async def reflect(self, today: date) -> int:
        """Write today's reflections for every persona; returns how many were written."""
        written = 0
        for persona in self._personas:
            written += await self._reflect_persona(persona, today)
        return written

    async def _reflect_persona(self, persona: str, today: date) -> int:
        yesterday = (today - timedelta(days=1)).isoformat()
        entries = [e for e in await self._reader.day(persona, yesterday) if e.kind == "entry"]
        done = {e.id for e in await self._reader.day(persona, today.isoformat())}
        groups: dict[tuple[str, str | None], list[JournalEntry]] = {}
        for entry in entries:
            owner = entry.owner if entry.scope == DM_SCOPE else None
            groups.setdefault((entry.scope, owner), []).append(entry)
        written = 0
        for (scope, owner), group in groups.items():
            entry_id = f"reflection:{_digest(persona, today.isoformat(), scope, owner or '')}"
            if entry_id in done:
                continue  # a restart after this morning's reflection: no second call
            text = await self._writer.compose(
                reflection_system(persona),
                reflection_user(day=yesterday, place=describe_place(scope), entries=group),
            )
            if text:
                entry = self._entry(
                    entry_id=entry_id,
                    persona=persona,
                    today=today,
                    scope=scope,
                    owner=owner,
                    text=text,
                    group=group,
                )
                await self._writer.save(entry)
                written += 1
        return written

    def _entry(
        self,
        *,
        entry_id: str,
        persona: str,
        today: date,
        scope: str,
        owner: str | None,
        text: str,
        group: list[JournalEntry],
    ) -> JournalEntry:
        owners = {e.owner for e in group}
        return JournalEntry(
            id=entry_id,
            persona=persona,
            day=today.isoformat(),
            kind="reflection",
            text=text,
            scope=scope,
            created_at=self._clock(),
            owner=owner if owner is not None else (owners.pop() if len(owners) == 1 else None),
            source_ids=tuple(e.id for e in group),
        )
